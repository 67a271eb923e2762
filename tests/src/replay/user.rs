//! The simulated user: opens a commit's file in the real server, types the commit's hunks top
//! to bottom keystroke by keystroke, and after each hunk asks `spark/nextEdit` at the cursor.
//! A suggestion is shown (`spark/didShow`) and judged: one that makes true edits still to come
//! is accepted (applied with `didChange`, then its accept command), Tab after Tab while they
//! last; any other is rejected (`spark/didReject`) and remembered, and the user stays where it
//! was and asks once more. The oracle always knows the text and the true edits left.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use super::figures::Tally;
use super::history::{self, Commit};
use super::memory::{Rejections, apply_all};
use crate::lsp_client::LspClient;
use crate::model_server::{
    CostModel, Hunk, ModelServer, ModelServerConfig, Oracle, Question, QuestionKind,
};
use crate::text_edits::{Units, byte_of};

const KEY: &str = "sk-replay-0123456789";
/// How long the user waits for the model's last byte after a shown edit (for the timing).
const WHOLE_ANSWER_WAIT: Duration = Duration::from_secs(5);

/// How the server is set up for a replay.
#[derive(Clone, Debug)]
pub struct Options {
    pub cost: CostModel,
    /// The model name the server is configured with (`nextEdit.format: auto` picks the Sweep
    /// format for a name containing `sweep`).
    pub model: String,
    /// The `nextEdit` settings section.
    pub next_edit: Value,
}

/// One server and its oracle-backed model server, replaying commits one after another.
pub struct Replayer {
    client: LspClient,
    server: ModelServer,
    oracle: Arc<Oracle>,
    /// The oracle's questions already attributed to an ask: those after it belong to the next
    /// one (a chain's prefetch after an accept included).
    attributed: usize,
    pub tally: Tally,
}

/// The user's copy of one document.
struct Doc {
    uri: String,
    version: i32,
    text: String,
    after: String,
    cursor: usize,
    rejections: Rejections,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Nothing,
    Accepted,
    Rejected,
}

impl Replayer {
    /// Starts the model server with the oracle and the real binary configured for it, and
    /// waits until the provider is ready.
    pub async fn start(options: &Options) -> Result<Self> {
        let server = ModelServer::start(ModelServerConfig {
            cost: options.cost,
            api_key: Some(KEY.into()),
            default_max_tokens: 4096,
            ..ModelServerConfig::default()
        })
        .await?;
        let oracle = Arc::new(Oracle::new());
        server.set_oracle(Some(oracle.clone()));
        let mut client = LspClient::spawn(&[], &[("SPARK_REPLAY_KEY", KEY)]).await?;
        let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base(),
            "apiKeyEnv": "SPARK_REPLAY_KEY", "model": options.model});
        let settings = json!({"provider": provider, "nextEdit": options.next_edit});
        let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}});
        client.initialize(capabilities, settings).await?;
        let status = client.notification("spark/status").await?;
        ensure!(
            status["kind"] == "Normal",
            "the provider is not ready: {status}"
        );
        Ok(Self {
            client,
            server,
            oracle,
            attributed: 0,
            tally: Tally::default(),
        })
    }

    /// The model server (a test queues a scripted answer ahead of the oracle's).
    pub fn model_server(&self) -> &ModelServer {
        &self.server
    }

    /// Replays `commit`; fails when the user's text does not end as the commit's.
    pub async fn replay(&mut self, commit: &Commit) -> Result<()> {
        let mut doc = Doc {
            uri: commit.uri(),
            version: 1,
            text: commit.before.clone(),
            after: commit.after.clone(),
            cursor: 0,
            rejections: Rejections::default(),
        };
        self.client
            .open(&doc.uri, commit.language, doc.version, &doc.text)
            .await?;
        self.tally.commits += 1;
        self.tally.hunks += history::hunks(&commit.before, &commit.after).len();
        while let Some(next) = history::hunks(&doc.text, &doc.after).into_iter().next() {
            for key in history::keystrokes(&doc.text, &next) {
                doc.cursor = key.start + key.new_text.len();
                self.edit(&mut doc, &[key]).await?;
                self.tally.keystrokes += 1;
            }
            self.ask_until_nothing(&mut doc).await?;
        }
        ensure!(
            doc.text == doc.after,
            "{}: the replay did not end as the commit",
            commit.name
        );
        let close = json!({"textDocument": {"uri": doc.uri}});
        self.client.notify("textDocument/didClose", close).await
    }

    /// The server's `spark/stats`, the tokens the oracle counted; then shuts the server down.
    pub async fn finish(mut self) -> Result<(Tally, Value)> {
        let stats = self.client.request("spark/stats", Value::Null).await?;
        let questions = self.oracle.questions();
        self.tally.model_calls = questions.len();
        self.tally.prompt_tokens = questions.iter().map(|q| q.prompt_tokens).sum();
        self.tally.output_tokens = questions.iter().map(|q| q.output_tokens).sum();
        self.tally.cached_prompt_tokens = self.server.cached_chat_tokens();
        self.client.shutdown_and_exit().await?;
        Ok((self.tally, stats["result"].clone()))
    }

    /// Asks at the cursor, accepting while true edits come; after a rejection, asks once more
    /// from the same place.
    async fn ask_until_nothing(&mut self, doc: &mut Doc) -> Result<()> {
        loop {
            let outcome = match self.ask(doc, false).await? {
                Outcome::Rejected => self.ask(doc, true).await?,
                outcome => outcome,
            };
            if outcome != Outcome::Accepted {
                return Ok(());
            }
        }
    }

    async fn ask(&mut self, doc: &mut Doc, stay: bool) -> Result<Outcome> {
        let remaining = history::hunks(&doc.text, &doc.after);
        self.oracle.set(&doc.text, &remaining, doc.cursor);
        let started = Instant::now();
        let params = json!({"textDocument": {"uri": doc.uri, "version": doc.version},
            "position": position(&doc.text, doc.cursor)});
        let response = self.client.request("spark/nextEdit", params).await?;
        check(&response)?;
        let answered = Instant::now();
        let result = &response["result"];
        let mut questions = self.oracle.questions();
        let questions = questions.split_off(self.attributed.min(questions.len()));
        self.attributed += questions.len();
        self.tally.asks += 1;
        self.tally.stay_asks += usize::from(stay);
        let jump_case = self.count_questions(&questions, stay, &remaining);
        let tally = &mut self.tally;
        let edits = suggested_edits(&doc.text, &doc.uri, result);
        if edits.is_empty() {
            return Ok(Outcome::Nothing);
        }
        tally.shown += 1;
        if jump_case && locates(&doc.text, result, &edits, &remaining[0]) {
            tally.jump_hits += 1;
        }
        let uri = doc.uri.clone();
        let signal =
            move |id: &Value| json!({"textDocument": {"uri": uri}, "kind": "nextEdit", "id": id});
        self.client
            .notify("spark/didShow", signal(&result["id"]))
            .await?;
        let shown = apply_all(&doc.text, &edits);
        if shown
            .as_ref()
            .is_some_and(|s| doc.rejections.holds(&doc.text, s))
        {
            self.tally.rejected_reshown += 1;
        }
        // Timed: multi-hunk answers the model started after the ask (not a prefetch's).
        let fresh: Vec<&Question> = questions.iter().filter(|q| q.at >= started).collect();
        if let Some(last) = fresh.last().filter(|q| q.hunks >= 2) {
            self.time_whole_answer(started, answered, last.at).await;
        }
        let accepted = shown
            .as_ref()
            .and_then(|s| true_run(&doc.text, &remaining, s).map(|n| (s.clone(), n)));
        let Some((shown, hunks)) = accepted else {
            log_rejection(&doc.uri, doc.version, stay, &edits, &remaining);
            self.client
                .notify("spark/didReject", signal(&result["id"]))
                .await?;
            doc.rejections.remember(edits);
            self.tally.rejected += 1;
            return Ok(Outcome::Rejected);
        };
        // The cursor ends after the last edit's new text.
        let last = &edits[edits.len() - 1];
        let before_last: usize = edits[..edits.len() - 1]
            .iter()
            .map(|e| e.new_text.len())
            .sum();
        let removed_before: usize = edits[..edits.len() - 1]
            .iter()
            .map(|e| e.end - e.start)
            .sum();
        doc.cursor = last.start - removed_before + before_last + last.new_text.len();
        self.oracle
            .set(&shown, &history::hunks(&shown, &doc.after), doc.cursor);
        let bottom_up: Vec<Hunk> = edits.iter().rev().cloned().collect();
        self.edit(doc, &bottom_up).await?;
        ensure!(
            doc.text == shown,
            "an accepted suggestion applied differently"
        );
        match result["command"].as_object() {
            Some(command) => {
                let params = json!({"command": command["command"], "arguments": command.get("arguments").cloned().unwrap_or(json!([]))});
                self.client
                    .request("workspace/executeCommand", params)
                    .await?;
            }
            None => {
                self.client
                    .notify("spark/didAccept", signal(&result["id"]))
                    .await?;
            }
        }
        self.tally.accepted += 1;
        self.tally.hunks_accepted += hunks;
        Ok(Outcome::Accepted)
    }

    /// Counts an ask's model questions: none at all, regions not found, and whether the
    /// first region asked about held the true next edit (true: it did not, a jump case).
    fn count_questions(&mut self, questions: &[Question], stay: bool, remaining: &[Hunk]) -> bool {
        let tally = &mut self.tally;
        tally.without_model_call += usize::from(questions.is_empty());
        let is_region = |q: &&Question| {
            matches!(
                q.kind,
                QuestionKind::Chat | QuestionKind::Sweep | QuestionKind::Legacy
            )
        };
        tally.region_missing += questions
            .iter()
            .filter(is_region)
            .filter(|q| q.region.is_none() && !q.late)
            .count();
        let first = questions
            .iter()
            .find(is_region)
            .filter(|q| q.region.is_some());
        match first {
            Some(first) if !stay && !remaining.is_empty() => {
                tally.region_asks += 1;
                tally.covered += usize::from(first.next_inside);
                tally.outside += usize::from(!first.next_inside);
                !first.next_inside
            }
            _ => false,
        }
    }

    /// Records the time to the shown edit and to the model's last byte of the answer it came
    /// from: the ask's last model call, the one received at `asked` (calls within an ask are
    /// one after another; the earlier ones said "no edit" or named a place).
    async fn time_whole_answer(&mut self, started: Instant, answered: Instant, asked: Instant) {
        let deadline = Instant::now() + WHOLE_ANSWER_WAIT;
        let finished = loop {
            let finished = self
                .server
                .finished_at()
                .into_iter()
                .filter(|t| *t >= asked)
                .min();
            if finished.is_some() || Instant::now() >= deadline {
                break finished;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        if let Some(last) = finished {
            let ms = |t: Instant| t.saturating_duration_since(started).as_secs_f64() * 1e3;
            self.tally.first_edit_ms.push(ms(answered));
            self.tally.whole_answer_ms.push(ms(last));
        }
    }

    /// One `didChange` with `changes`, each at the text the ones before it left.
    async fn edit(&mut self, doc: &mut Doc, changes: &[Hunk]) -> Result<()> {
        let mut content = Vec::new();
        for change in changes {
            let range = json!({"start": position(&doc.text, change.start), "end": position(&doc.text, change.end)});
            content.push(json!({"range": range, "text": change.new_text}));
            doc.text = history::apply(&doc.text, change);
            doc.rejections.rebase(change);
        }
        doc.version += 1;
        let params = json!({"textDocument": {"uri": doc.uri, "version": doc.version}, "contentChanges": content});
        self.client
            .notify("textDocument/didChange", params)
            .await
            .context("sending didChange")
    }
}

/// With `SPARK_REPLAY_DEBUG` set, what the user rejected and what was still to come.
#[allow(
    clippy::print_stderr,
    reason = "asked for: the benchmark's log of what the user rejected"
)]
fn log_rejection(uri: &str, version: i32, stay: bool, edits: &[Hunk], remaining: &[Hunk]) {
    if std::env::var_os("SPARK_REPLAY_DEBUG").is_some() {
        eprintln!(
            "rejected at {uri} v{version} (stay: {stay}): {edits:?}\nremaining: {remaining:?}"
        );
    }
}

/// The answer's edits to `uri` at `text`'s byte offsets, sorted.
fn suggested_edits(text: &str, uri: &str, result: &Value) -> Vec<Hunk> {
    let mut edits: Vec<Hunk> = result["edits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["textDocument"]["uri"].as_str().is_none_or(|u| u == uri))
        .map(|e| Hunk {
            start: byte_of(text, &e["range"]["start"], Units::Utf16),
            end: byte_of(text, &e["range"]["end"], Units::Utf16),
            new_text: e["newText"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    edits.sort_by_key(|e| (e.start, e.end));
    edits
}

/// How many true hunks the shown text makes: a run of the remaining ones, applied together.
fn true_run(text: &str, remaining: &[Hunk], shown: &str) -> Option<usize> {
    (0..remaining.len()).find_map(|i| {
        (i + 1..=remaining.len())
            .find(|&j| apply_all(text, &remaining[i..j]).as_deref() == Some(shown))
            .map(|j| j - i)
    })
}

/// Whether the answer's location (or its edits' lines) meets the true next hunk's lines, give
/// or take a line.
fn locates(text: &str, result: &Value, edits: &[Hunk], next: &Hunk) -> bool {
    let line_of = |byte: usize| text[..byte.min(text.len())].matches('\n').count();
    let hunk_lines = (
        line_of(next.start),
        line_of(next.end.max(next.start + 1) - 1),
    );
    let range = &result["location"]["range"];
    let shown_lines = match (
        range["start"]["line"].as_u64(),
        range["end"]["line"].as_u64(),
    ) {
        (Some(start), Some(end)) => (start as usize, end as usize),
        _ => (line_of(edits[0].start), line_of(edits[edits.len() - 1].end)),
    };
    shown_lines.0 <= hunk_lines.1 + 1 && hunk_lines.0 <= shown_lines.1 + 1
}

/// The LSP position (UTF-16) of `byte` in `text`.
pub fn position(text: &str, byte: usize) -> Value {
    let before = &text[..byte];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    json!({"line": before.matches('\n').count(), "character": character})
}

/// Fails when `response` is an error response.
fn check(response: &Value) -> Result<()> {
    if let Some(error) = response.get("error") {
        bail!("the server answered an error: {error}");
    }
    Ok(())
}
