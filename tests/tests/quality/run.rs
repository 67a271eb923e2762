//! One prompt family's run: an in-process spark-lsp (real JSON-RPC framing over a duplex pipe,
//! the real provider, engine and post-processing) configured like a user would, against the
//! reference model server on loopback, told what to answer for each request.

use std::time::Duration;

use serde_json::{Value, json};
use spark_lsp::lsp::ServerOptions;
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};
use spark_tests::text_edits::{self, Units};

use crate::holes::{Fixture, Hole};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Chat,
    Fim,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Chat => "chat",
            Family::Fim => "FIM",
        }
    }

    fn endpoint(self) -> Endpoint {
        match self {
            Family::Chat => Endpoint::ChatCompletions,
            Family::Fim => Endpoint::LlamaInfill,
        }
    }
}

/// How the suggestion reaches the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Delivery {
    /// `textDocument/inlineCompletion`: `insertText` over `range` (VS Code, Neovim).
    Inline,
    /// `textDocument/completion`: the item's `textEdit` (Helix, eglot).
    CompletionEdit,
}

impl Delivery {
    pub const ALL: [Delivery; 2] = [Delivery::Inline, Delivery::CompletionEdit];

    pub fn name(self) -> &'static str {
        match self {
            Delivery::Inline => "inline item",
            Delivery::CompletionEdit => "completion textEdit",
        }
    }
}

pub struct Bench {
    server: ModelServer,
    client: LspClient,
    family: Family,
    documents: usize,
}

impl Bench {
    pub async fn start(family: Family) -> anyhow::Result<Bench> {
        let server = ModelServer::start(ModelServerConfig {
            cost: CostModel::instant(),
            ..ModelServerConfig::default()
        })
        .await?;
        let provider = match family {
            Family::Chat => {
                json!({"kind": "openai-chat", "baseUrl": server.http_base(), "model": "m"})
            }
            Family::Fim => {
                json!({"kind": "fim", "fimApi": "llama-cpp", "baseUrl": server.root_url()})
            }
        };
        let mut provider = provider;
        provider["maxOutputTokens"] = json!(4096);
        let mut client = LspClient::in_process(ServerOptions::default());
        let capabilities = json!({
            "general": {"positionEncodings": ["utf-16"]},
            "textDocument": {"inlineCompletion": {}, "completion": {}},
        });
        // The completion item waits for the whole suggestion: this measures what is suggested,
        // not how fast (the budget is for slow models on a live editor).
        let options = json!({"provider": provider, "completion": {"itemBudgetMs": 60_000}});
        client.initialize(capabilities, options).await?;
        let mut bench = Bench {
            server,
            client,
            family,
            documents: 0,
        };
        bench.wait_for_provider().await?;
        Ok(bench)
    }

    /// The provider is built in the background after `initialize`: asks until it answers.
    async fn wait_for_provider(&mut self) -> anyhow::Result<()> {
        let uri = "file:///quality/warm-up.py";
        self.client.open(uri, "python", 1, "x = 1\ny = \n").await?;
        self.server.push_answer_for(self.family.endpoint(), "2");
        for _ in 0..400 {
            let params = json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}, "context": {"triggerKind": 1}});
            let response = self
                .client
                .request("textDocument/inlineCompletion", params)
                .await?;
            if !response["result"].is_null() {
                anyhow::ensure!(self.server.answers_left() == 0, "warm-up answer not taken");
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        anyhow::bail!("the {} provider never answered", self.family.name())
    }

    /// The document after the editor applies the suggestion the server makes when the model
    /// answers `raw` at the hole; `None` when nothing is suggested.
    pub async fn suggest(
        &mut self,
        fixture: &Fixture,
        hole: &Hole,
        raw: &str,
        delivery: Delivery,
    ) -> anyhow::Result<Option<String>> {
        self.documents += 1;
        let extension = fixture.name.rsplit('.').next().unwrap_or("txt");
        let uri = format!("file:///quality/d{}.{extension}", self.documents);
        let text = format!("{}{}", hole.before, hole.after);
        self.client
            .open(&uri, fixture.language_id, 1, &text)
            .await?;
        self.server.push_answer_for(self.family.endpoint(), raw);
        let position = position(&hole.before);
        let params = json!({"textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": 1}});
        let method = match delivery {
            Delivery::Inline => "textDocument/inlineCompletion",
            Delivery::CompletionEdit => "textDocument/completion",
        };
        let response = self.client.request(method, params).await?;
        self.client
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri}}),
            )
            .await?;
        anyhow::ensure!(response.get("error").is_none(), "{method}: {response}");
        // Every request must have called the model with exactly this answer; a leftover
        // answer would be served to the next hole.
        anyhow::ensure!(
            self.server.answers_left() == 0,
            "{method} did not call the model for {} {:?}",
            fixture.name,
            hole.kind
        );
        let edit = match delivery {
            Delivery::Inline => response["result"]
                .get(0)
                .map(|item| json!({"range": item["range"], "newText": item["insertText"]})),
            Delivery::CompletionEdit => response["result"]["items"]
                .get(0)
                .map(|item| item["textEdit"].clone()),
        };
        Ok(edit.map(|edit| apply(&text, &edit, &position)))
    }
}

/// The LSP position (UTF-16) at the end of `before`.
fn position(before: &str) -> Value {
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": character})
}

/// `text` with `edit` applied as an editor applies it: its range replaced by its new text (at
/// the cursor when an inline item has no range).
fn apply(text: &str, edit: &Value, cursor: &Value) -> String {
    let mut edit = edit.clone();
    if edit["range"].is_null() {
        edit["range"] = json!({"start": cursor, "end": cursor});
    }
    text_edits::apply(text, &[edit], Units::Utf16)
}
