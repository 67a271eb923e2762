//! End-to-end over an in-process server and a fake provider: typing through a suggestion is
//! answered from memory, typing something else asks the model again, an accept starts the next
//! suggestion before the editor asks, and `spark/stats` counts it all.

use std::sync::Arc;

use serde_json::{Value, json};
use spark_lsp::lsp::ServerOptions;
use spark_tests::fake_provider::FakeProvider;
use spark_tests::lsp_client::LspClient;

const URI: &str = "file:///w/add.rs";
const DOC: &str = "fn add(a: u32, b: u32) -> u32 {\n    \n}\n";

/// A one-line editor: the document above, typed into on line 1.
struct Editor {
    client: LspClient,
    version: i32,
    col: u32,
}

impl Editor {
    async fn start(provider: Arc<FakeProvider>) -> anyhow::Result<Self> {
        let mut client = LspClient::in_process(ServerOptions {
            provider: Some(provider),
            ..ServerOptions::default()
        });
        client
            .initialize(
                json!({"general": {"positionEncodings": ["utf-16"]}}),
                Value::Null,
            )
            .await?;
        client.open(URI, "rust", 1, DOC).await?;
        Ok(Self {
            client,
            version: 1,
            col: 4,
        })
    }

    /// Inserts `text` (ASCII, no line break) at the cursor.
    async fn type_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.version += 1;
        let at = json!({"line": 1, "character": self.col});
        let change = json!({"textDocument": {"uri": URI, "version": self.version},
            "contentChanges": [{"range": {"start": at, "end": at}, "text": text}]});
        self.client.notify("textDocument/didChange", change).await?;
        self.col += u32::try_from(text.len())?;
        Ok(())
    }

    /// Deletes the character before the cursor.
    async fn backspace(&mut self) -> anyhow::Result<()> {
        self.version += 1;
        let start = json!({"line": 1, "character": self.col - 1});
        let end = json!({"line": 1, "character": self.col});
        let change = json!({"textDocument": {"uri": URI, "version": self.version},
            "contentChanges": [{"range": {"start": start, "end": end}, "text": ""}]});
        self.client.notify("textDocument/didChange", change).await?;
        self.col -= 1;
        Ok(())
    }

    /// The inline suggestion at the cursor (`triggerKind` 2: automatic), or `None`.
    async fn suggestion(&mut self) -> anyhow::Result<Option<String>> {
        let params = json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": self.col}, "context": {"triggerKind": 2}});
        let response = self
            .client
            .request("textDocument/inlineCompletion", params)
            .await?;
        anyhow::ensure!(response.get("error").is_none(), "{response}");
        Ok(response["result"][0]["insertText"]
            .as_str()
            .map(str::to_owned))
    }

    async fn stats(&mut self) -> anyhow::Result<Value> {
        let response = self.client.request("spark/stats", Value::Null).await?;
        Ok(response["result"].clone())
    }
}

#[tokio::test]
async fn typing_through_a_suggestion_is_answered_from_memory() -> anyhow::Result<()> {
    let suggestion = "let sum = a + b;";
    let provider = FakeProvider::answering(suggestion);
    let mut editor = Editor::start(provider.clone()).await?;
    assert_eq!(editor.suggestion().await?.as_deref(), Some(suggestion));
    assert_eq!(provider.request_count(), 1);

    // One character at a time, each answer is the rest of the suggestion.
    for (typed, ch) in suggestion.char_indices().take(7) {
        editor.type_text(&ch.to_string()).await?;
        let rest = &suggestion[typed + 1..];
        assert_eq!(editor.suggestion().await?.as_deref(), Some(rest));
    }
    // A word accepted at once is typing too.
    editor.type_text(" = a").await?;
    assert_eq!(editor.suggestion().await?.as_deref(), Some(" + b;"));
    assert_eq!(
        provider.request_count(),
        1,
        "no model call while typing through"
    );

    let stats = editor.stats().await?;
    assert_eq!(stats["requests"], 9, "{stats}");
    assert_eq!(stats["cacheHits"], 8, "{stats}");
    assert_eq!(stats["cacheMisses"], 1, "{stats}");
    assert_eq!(stats["modelCalls"], 1, "{stats}");
    assert_eq!(stats["answerMs"]["samples"], 9, "{stats}");
    assert!(stats["firstTokenMs"]["p50"].is_number(), "{stats}");
    editor.client.assert_clean_framing()?;
    Ok(())
}

#[tokio::test]
async fn typing_something_else_or_deleting_asks_the_model_again() -> anyhow::Result<()> {
    let provider = FakeProvider::scripted(&["let sum = a + b;", "x = 1;", "a * b"]);
    let mut editor = Editor::start(provider.clone()).await?;
    assert_eq!(
        editor.suggestion().await?.as_deref(),
        Some("let sum = a + b;")
    );
    editor.type_text("le").await?;
    assert_eq!(
        editor.suggestion().await?.as_deref(),
        Some("t sum = a + b;")
    );

    editor.type_text("x").await?;
    assert_eq!(editor.suggestion().await?.as_deref(), Some("x = 1;"));
    assert_eq!(
        provider.request_count(),
        2,
        "diverging text is a new request"
    );
    let (prefix, _) = provider.last_fim().unwrap_or_default();
    assert!(prefix.ends_with("    lex"), "{prefix:?}");

    editor.backspace().await?;
    assert_eq!(editor.suggestion().await?.as_deref(), Some("a * b"));
    assert_eq!(provider.request_count(), 3, "deleting is a new request");

    let stats = editor.stats().await?;
    assert_eq!(
        (stats["cacheHits"].as_u64(), stats["cacheMisses"].as_u64()),
        (Some(1), Some(3))
    );
    Ok(())
}

#[tokio::test]
async fn an_accept_asks_for_the_next_suggestion_before_the_editor_does() -> anyhow::Result<()> {
    let provider = FakeProvider::scripted(&["let sum = a + b;", "\n    sum", "never asked"]);
    let mut editor = Editor::start(provider.clone()).await?;
    let shown = editor.suggestion().await?.unwrap_or_default();
    assert_eq!(shown, "let sum = a + b;");

    // The editor inserts the item, then tells the server (a `spark/didAccept` notification).
    editor.type_text(&shown).await?;
    let accept = json!({"textDocument": {"uri": URI}});
    editor.client.notify("spark/didAccept", accept).await?;
    let stats = editor.stats().await?;
    assert_eq!(stats["speculations"], 1, "{stats}");
    assert_eq!(provider.request_count(), 2, "the speculative call");
    let (prefix, _) = provider.last_fim().unwrap_or_default();
    assert!(
        prefix.ends_with("    let sum = a + b;"),
        "asked at the new cursor: {prefix:?}"
    );

    // The editor's request finds it in the cache (or attaches to it while it streams).
    assert_eq!(editor.suggestion().await?.as_deref(), Some("\n    sum"));
    assert_eq!(provider.request_count(), 2, "one model request for it");
    let stats = editor.stats().await?;
    assert_eq!(
        (stats["cacheHits"].as_u64(), stats["modelCalls"].as_u64()),
        (Some(1), Some(2))
    );
    Ok(())
}

#[tokio::test]
async fn the_items_command_is_the_accept_signal_too() -> anyhow::Result<()> {
    let provider = FakeProvider::scripted(&["let sum = a + b;", "\n    sum"]);
    let mut editor = Editor::start(provider.clone()).await?;
    let params = json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 4}, "context": {"triggerKind": 1}});
    let response = editor
        .client
        .request("textDocument/inlineCompletion", params)
        .await?;
    let item = &response["result"][0];
    assert_eq!(item["command"]["command"], "spark.didAccept", "{item}");
    assert_eq!(item["command"]["arguments"], json!([URI, "in-1"]), "{item}");

    // Neovim inserts the item and runs its command through `workspace/executeCommand`.
    editor
        .type_text(item["insertText"].as_str().unwrap_or_default())
        .await?;
    let execute =
        json!({"command": item["command"]["command"], "arguments": item["command"]["arguments"]});
    let done = editor
        .client
        .request("workspace/executeCommand", execute)
        .await?;
    assert!(done.get("error").is_none(), "{done}");
    assert_eq!(provider.request_count(), 2);
    assert_eq!(editor.suggestion().await?.as_deref(), Some("\n    sum"));
    assert_eq!(provider.request_count(), 2);

    let bad = json!({"command": "spark.didAccept", "arguments": []});
    let response = editor
        .client
        .request("workspace/executeCommand", bad)
        .await?;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    Ok(())
}

#[tokio::test]
async fn a_request_joins_the_call_in_flight_and_a_diverging_one_stops_it() -> anyhow::Result<()> {
    let provider = FakeProvider::stalling_on("fn add", "unused");
    let mut editor = Editor::start(provider.clone()).await?;
    let here = json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 4}, "context": {"triggerKind": 2}});
    let first = editor
        .client
        .start_request("textDocument/inlineCompletion", here.clone())
        .await?;
    // Asked again at the same spot: the newer request waits on the same model call, and the
    // older one is answered empty (supersession is the server's job).
    let second = editor
        .client
        .start_request("textDocument/inlineCompletion", here)
        .await?;
    let older = editor.client.response(first).await?;
    assert_eq!(older["result"], Value::Null, "{older}");
    assert_eq!(provider.request_count(), 1, "joined, not asked again");
    assert_eq!(provider.live_streams(), 1);

    // Typing something the (empty) suggestion does not hold supersedes the call upstream.
    editor.type_text("x").await?;
    let third = editor
        .client
        .start_request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 5}, "context": {"triggerKind": 2}}),
        )
        .await?;
    let superseded = editor.client.response(second).await?;
    assert_eq!(superseded["result"], Value::Null, "{superseded}");
    assert_eq!(provider.request_count(), 2);
    let mut released = false;
    for _ in 0..500 {
        if provider.live_streams() == 1 {
            released = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(released, "the first call let go of the model");
    editor
        .client
        .notify("$/cancelRequest", json!({"id": third}))
        .await?;
    let stats = editor.stats().await?;
    assert_eq!(stats["cancelled"], 1, "{stats}");
    assert_eq!(stats["superseded"], 2, "{stats}");
    Ok(())
}

#[tokio::test]
async fn an_accept_shows_in_the_text_for_editors_without_a_signal() -> anyhow::Result<()> {
    let provider = FakeProvider::scripted(&["let sum = a + b;", "\n    sum", "never asked"]);
    let mut editor = Editor::start(provider.clone()).await?;
    let shown = editor.suggestion().await?.unwrap_or_default();
    // The whole suggestion arrives in one change, and no command or notification follows.
    editor.type_text(&shown).await?;
    assert_eq!(editor.suggestion().await?.as_deref(), Some("\n    sum"));
    assert_eq!(provider.request_count(), 2);
    let stats = editor.stats().await?;
    assert_eq!(stats["speculations"], 1, "{stats}");
    assert_eq!(stats["cacheHits"], 1, "{stats}");
    Ok(())
}

/// Runs the item's command, as VS Code and Neovim do after inserting it.
async fn run_accept_command(editor: &mut Editor) -> anyhow::Result<()> {
    let execute = json!({"command": "spark.didAccept", "arguments": [URI]});
    let done = editor
        .client
        .request("workspace/executeCommand", execute)
        .await?;
    anyhow::ensure!(done.get("error").is_none(), "{done}");
    Ok(())
}

#[tokio::test]
async fn one_tab_is_one_accept_whichever_signal_comes_first() -> anyhow::Result<()> {
    let provider = FakeProvider::scripted(&["let sum = a + b;", "\n    sum", "never asked"]);
    let mut editor = Editor::start(provider.clone()).await?;

    // VS Code: the insertion (which shows the accept in the text), then the item's command.
    let shown = editor.suggestion().await?.unwrap_or_default();
    editor.type_text(&shown).await?;
    run_accept_command(&mut editor).await?;
    let stats = editor.stats().await?;
    assert_eq!(stats["accepts"], 1, "{stats}");
    assert_eq!(stats["speculations"], 1, "one speculation too: {stats}");
    assert_eq!(provider.request_count(), 2);

    // The other order: the command reaches the server before the edit does. The accept is
    // counted on the command and the speculation starts once the text is there.
    let provider = FakeProvider::scripted(&["let sum = a + b;", "\n    sum", "never asked"]);
    let mut editor = Editor::start(provider.clone()).await?;
    let shown = editor.suggestion().await?.unwrap_or_default();
    run_accept_command(&mut editor).await?;
    assert_eq!(editor.stats().await?["accepts"], 1);
    assert_eq!(provider.request_count(), 1, "the text is not there yet");
    editor.type_text(&shown).await?;
    let stats = editor.stats().await?;
    assert_eq!(stats["accepts"], 1, "{stats}");
    assert_eq!(stats["speculations"], 1, "{stats}");
    assert_eq!(editor.suggestion().await?.as_deref(), Some("\n    sum"));
    assert_eq!(provider.request_count(), 2);
    Ok(())
}

#[tokio::test]
async fn each_suggestion_accepted_counts_and_a_stray_signal_does_not() -> anyhow::Result<()> {
    let provider = FakeProvider::scripted(&["let sum = a + b;", "\n    sum", "never asked"]);
    let mut editor = Editor::start(provider.clone()).await?;
    run_accept_command(&mut editor).await?;
    assert_eq!(editor.stats().await?["accepts"], 0, "nothing was shown");

    // Two suggestions accepted in a row, each with both signals: two accepts.
    let first = editor.suggestion().await?.unwrap_or_default();
    editor.type_text(&first).await?;
    run_accept_command(&mut editor).await?;
    assert_eq!(editor.suggestion().await?.as_deref(), Some("\n    sum"));
    run_accept_command(&mut editor).await?;
    let stats = editor.stats().await?;
    assert_eq!(stats["accepts"], 2, "{stats}");

    // A repeated command for the same suggestion is not another accept.
    run_accept_command(&mut editor).await?;
    assert_eq!(editor.stats().await?["accepts"], 2);
    Ok(())
}
