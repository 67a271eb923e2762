//! The next-edit flow over a scripted provider: the first hunk answers before the answer ends,
//! the rest is served after each accept without another model call, `no_edit` gives nothing.

use std::sync::{Arc, Mutex};

use ropey::Rope;
use tokio::sync::{mpsc, watch};

use super::call::Progress;
use super::*;
use crate::documents::{DocumentStore, LineCol, PositionEncoding, TextChange};
use crate::providers::{ModelRequest, Provider, TextSink, TextStream};

fn edit(start_byte: usize, end_byte: usize, new_text: &str) -> TextEdit {
    TextEdit {
        start_byte,
        end_byte,
        new_text: new_text.into(),
    }
}

#[test]
fn edits_merge_into_one_span_with_the_text_between() {
    let rope = Rope::from_str("let a = b + c;\n");
    let edits = [edit(4, 5, "x"), edit(8, 9, "y")];
    assert_eq!(as_one_edit(&rope, &edits), Some(edit(4, 9, "x = y")));
    assert_eq!(as_one_edit(&rope, &[]), None);
}

#[test]
fn an_edit_touches_the_lines_it_spans() {
    let rope = Rope::from_str("a\nb\nc\n");
    let edits = [edit(2, 3, "B")];
    assert!(touches_line(&rope, &edits, 2));
    assert!(touches_line(&rope, &edits, 3));
    assert!(!touches_line(&rope, &edits, 0));
    assert!(!touches_line(&rope, &edits, 4));
}

/// A provider whose answers the test writes delta by delta.
struct Scripted {
    sinks: mpsc::UnboundedSender<TextSink>,
    requests: Mutex<Vec<ModelRequest>>,
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn stream(&self, request: ModelRequest) -> TextStream {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
        let (sink, stream) = TextStream::channel();
        let _ = self.sinks.send(sink);
        stream
    }
}

const URI: &str = "file:///p/lib.rs";
const TEXT: &str = "let a = 1;\nlet b = 2;\nlet c = 3;\nlet d = 4;\nlet e = 5;\nlet f = 6;\n";

fn engine() -> (
    Engine,
    DocumentStore,
    Arc<Scripted>,
    mpsc::UnboundedReceiver<TextSink>,
) {
    let documents = DocumentStore::default();
    documents.open(URI, "rust", 1, TEXT);
    let engine = Engine::new(4, documents.clone());
    let (tx, rx) = mpsc::unbounded_channel();
    let provider = Arc::new(Scripted {
        sinks: tx,
        requests: Mutex::default(),
    });
    engine.set_provider(Some(provider.clone()));
    (engine, documents, provider, rx)
}

/// Applies `edits` to the document as the editor would, as version `version`.
fn apply(documents: &DocumentStore, version: i32, edits: &[TextEdit]) -> Snapshot {
    let rope = documents.snapshot(URI).expect("open").rope.clone();
    let changes: Vec<TextChange> = edits
        .iter()
        .rev()
        .map(|e| {
            let at = |byte: usize| {
                let line = rope.byte_to_line(byte);
                LineCol {
                    line: line as u32,
                    col: (byte - rope.line_to_byte(line)) as u32,
                }
            };
            TextChange {
                range: Some((at(e.start_byte), at(e.end_byte))),
                text: e.new_text.clone(),
            }
        })
        .collect();
    documents
        .change(URI, version, &changes, PositionEncoding::Utf8)
        .expect("change");
    documents.snapshot(URI).expect("open")
}

/// Asks at line 1 of the document as opened and lets the model rewrite its first line: the
/// first hunk, settled while the answer (whose sink is returned) is still open.
async fn first_hunk_mid_stream(
    engine: &Engine,
    documents: &DocumentStore,
    sinks: &mut mpsc::UnboundedReceiver<TextSink>,
) -> (Suggestion, TextSink) {
    let snapshot = documents.snapshot(URI).expect("open");
    let settings = RequestSettings::default();
    let ask = engine.next_edit(&snapshot, snapshot.rope.line_to_byte(1), &settings);
    tokio::pin!(ask);
    // The region is lines 0..=6 (2 above line 1, 5 below): the whole text.
    let sink = tokio::select! {
        sink = sinks.recv() => sink.expect("a call"),
        _ = &mut ask => panic!("answered before the model was asked"),
    };
    sink.send(Ok(
        "intent: high\nlet a = 10;\nlet b = 2;\nlet c = 3;\n".into()
    ))
    .await
    .expect("open");
    let first = ask.await.expect("no error").expect("an edit");
    (first, sink)
}

#[tokio::test]
async fn the_first_hunk_answers_mid_stream_and_the_rest_follows_accepts_without_a_call() {
    let (engine, documents, provider, mut sinks) = engine();
    let settings = RequestSettings::default();
    // Settled while the rest of the answer is still to come.
    let (first, sink) = first_hunk_mid_stream(&engine, &documents, &mut sinks).await;
    assert_eq!(first.intent, Intent::High);
    assert_eq!(first.edits, [edit(8, 9, "10")]);
    sink.send(Ok("let d = 4;\nlet e = 50;\nlet f = 6;\n".into()))
        .await
        .expect("open");
    drop(sink);
    // The user takes the first edit: the second is served at once, moved by the first.
    let snapshot = apply(&documents, 2, &first.edits);
    // An inline request finds it ready too, without waiting, once the call's task read it.
    let mut ready = None;
    for _ in 0..1_000 {
        ready = engine.ready_next_edit(&snapshot).map(|s| s.edits);
        if ready.is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let second = engine
        .next_edit(&snapshot, 0, &settings)
        .await
        .expect("ok")
        .expect("edit");
    assert_eq!(second.edits, [edit(53, 54, "50")]);
    assert_eq!(ready.as_ref(), Some(&second.edits));
    assert_eq!(engine.ready_next_edit(&snapshot), Some(second.clone()));
    let snapshot = apply(&documents, 3, &second.edits);
    assert_eq!(
        snapshot.rope.to_string(),
        TEXT.replace("= 1;", "= 10;").replace("= 5;", "= 50;")
    );
    assert_eq!(provider.requests.lock().map(|r| r.len()).unwrap_or(0), 1);
    // None left: the next ask is a new call right after an accept, with a region reaching 10
    // lines below.
    let ask = engine.next_edit(&snapshot, 0, &settings);
    tokio::pin!(ask);
    let sink = tokio::select! {
        sink = sinks.recv() => sink.expect("a call"),
        _ = &mut ask => panic!("answered without a call"),
    };
    sink.send(Ok("intent: no_edit\n".into()))
        .await
        .expect("open");
    assert_eq!(ask.await, Ok(None));
    let requests = provider
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    assert_eq!(requests.len(), 2);
    let stats = engine.stats.snapshot().next_edit;
    assert_eq!(
        (stats.first_edit_ms.samples, stats.whole_answer_ms.samples),
        (1, 2)
    );
}

#[tokio::test]
async fn an_accept_before_its_call_ends_with_nothing_more_asks_about_the_text_after_it() {
    let (engine, documents, provider, mut sinks) = engine();
    let settings = RequestSettings::default();
    let (first, sink) = first_hunk_mid_stream(&engine, &documents, &mut sinks).await;
    // The user takes the first edit while the answer is still streaming, and the editor asks
    // again: the ask waits on the call for a second hunk.
    let snapshot = apply(&documents, 2, &first.edits);
    let ask = engine.next_edit(&snapshot, first.edits[0].end_byte, &settings);
    tokio::pin!(ask);
    tokio::select! {
        _ = &mut ask => panic!("answered before the call ended"),
        () = tokio::task::yield_now() => {}
    }
    // The call ends with the rest of the region unchanged: nothing more in it. The text after
    // the accept is asked about, as when the call had ended before the accept.
    sink.send(Ok("let d = 4;\nlet e = 5;\nlet f = 6;\n".into()))
        .await
        .expect("open");
    drop(sink);
    let sink = tokio::select! {
        sink = sinks.recv() => sink.expect("a second call"),
        _ = &mut ask => panic!("answered without asking about the text after the accept"),
    };
    let rewrite =
        "intent: high\nlet a = 10;\nlet b = 20;\nlet c = 3;\nlet d = 4;\nlet e = 5;\nlet f = 6;\n";
    sink.send(Ok(rewrite.into())).await.expect("open");
    drop(sink);
    let second = ask.await.expect("no error").expect("an edit");
    assert_eq!(second.edits, [edit(20, 21, "20")]);
    assert_eq!(provider.requests.lock().map(|r| r.len()).unwrap_or(0), 2);
}

#[tokio::test]
async fn a_provider_error_before_any_hunk_is_an_error_and_no_edit_is_none() {
    let (engine, documents, _provider, mut sinks) = engine();
    let snapshot = documents.snapshot(URI).expect("open");
    let settings = RequestSettings::default();
    let ask = engine.next_edit(&snapshot, 0, &settings);
    tokio::pin!(ask);
    let sink = tokio::select! {
        sink = sinks.recv() => sink.expect("a call"),
        _ = &mut ask => panic!("answered early"),
    };
    sink.send(Err(ProviderError::Timeout)).await.expect("open");
    assert_eq!(ask.await, Err(ProviderError::Timeout));
    // The same version asks again: the failed entry is reused, not a new call.
    assert_eq!(
        engine.next_edit(&snapshot, 0, &settings).await,
        Err(ProviderError::Timeout)
    );
}

#[tokio::test]
async fn askers_at_one_version_share_one_call() {
    let (engine, documents, provider, mut sinks) = engine();
    let snapshot = documents.snapshot(URI).expect("open");
    let settings = RequestSettings::default();
    let both = async {
        tokio::join!(
            engine.next_edit(&snapshot, 0, &settings),
            engine.next_edit(&snapshot, 3, &settings)
        )
    };
    tokio::pin!(both);
    let sink = tokio::select! {
        sink = sinks.recv() => sink.expect("a call"),
        _ = &mut both => panic!("answered before the model was asked"),
    };
    sink.send(Ok("intent: low\nlet a = 9;\n".into()))
        .await
        .expect("open");
    drop(sink);
    let (first, second) = both.await;
    assert_eq!(first, second);
    let first = first.expect("ok").expect("an edit");
    assert_eq!(first.intent, Intent::Low);
    // The rewrite is one line: the region's other lines are gone from it.
    let mut text = TEXT.to_owned();
    for e in first.edits.iter().rev() {
        text.replace_range(e.start_byte..e.end_byte, &e.new_text);
    }
    assert_eq!(text, "let a = 9;\n");
    assert_eq!(provider.requests.lock().map(|r| r.len()).unwrap_or(0), 1);
}

#[tokio::test]
async fn no_edit_stops_reading_the_answer() {
    let (engine, documents, _provider, mut sinks) = engine();
    let snapshot = documents.snapshot(URI).expect("open");
    let settings = RequestSettings::default();
    let ask = engine.next_edit(&snapshot, 0, &settings);
    tokio::pin!(ask);
    let sink = tokio::select! {
        sink = sinks.recv() => sink.expect("a call"),
        _ = &mut ask => panic!("answered early"),
    };
    sink.send(Ok("intent: no_edit\n".into()))
        .await
        .expect("open");
    assert_eq!(ask.await, Ok(None));
    // The call dropped its stream: the model's connection is let go, whatever it had left.
    sink.closed().await;
    assert!(sink.send(Ok("let a = 2;\n".into())).await.is_err());
}

/// The hunks of rewriting `region` (a whole document) into `answer`, at its offsets.
fn hunks_of(region: &str, answer: &str) -> Vec<Vec<TextEdit>> {
    let (old, starts) = stream::lines_of(region);
    let mut splitter = stream::Splitter::new(old);
    let mut hunks: Vec<stream::Hunk> = Vec::new();
    let (new, _) = stream::lines_of(answer);
    let last = (!answer.ends_with('\n'))
        .then(|| new.last().cloned())
        .flatten();
    let complete = new.len() - usize::from(last.is_some());
    for line in new.into_iter().take(complete) {
        hunks.extend(splitter.push(line));
    }
    hunks.extend(splitter.finish(last));
    let ending = stream::line_break(region);
    hunks
        .iter()
        .map(|h| stream::hunk_edits(region, &starts, h, ending, 0))
        .filter(|edits| !edits.is_empty())
        .collect()
}

fn applied(text: &str, edits: &[TextEdit]) -> String {
    let mut text = text.to_owned();
    for e in edits.iter().rev() {
        text.replace_range(e.start_byte..e.end_byte, &e.new_text);
    }
    text
}

proptest::proptest! {
    /// Accepting the served hunks one after the other, each rebased by the ones before, ends
    /// at the same text as applying every hunk at once.
    #[test]
    fn accepting_served_hunks_in_turn_gives_the_whole_rewrite(
        region in proptest::collection::vec(
            proptest::prop_oneof!["", "}", "a1", "b2", "c3"], 1..10),
        answer in proptest::collection::vec(
            proptest::prop_oneof!["", "}", "a1", "b2", "c3", "d4"], 1..10),
    ) {
        let region = region.join("\n") + "\n";
        let answer = answer.join("\n") + "\n";
        let hunks = hunks_of(&region, &answer);
        let whole = applied(&region, &hunks.concat());
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let _guard = runtime.enter();
        let (tx, progress) = watch::channel(Progress { intent: Some(Intent::High), hunks, done: true, error: None });
        let documents = DocumentStore::default();
        documents.open(URI, "rust", 1, &region);
        let mut entry = Entry {
            version: 1,
            rope: Rope::from_str(&region),
            region: 0..region.len(),
            accepted: 0,
            shift: 0,
            progress,
            task: runtime.spawn(async {}).abort_handle(),
            shown_from: None,
        };
        let mut version = 1;
        while let Some(served) = entry.current() {
            let text = applied(&entry.rope.to_string(), &served.edits);
            version += 1;
            let change = TextChange { range: None, text };
            documents.change(URI, version, &[change], PositionEncoding::Utf8).expect("change");
            let snapshot = documents.snapshot(URI).expect("open");
            proptest::prop_assert!(entry.follow_accept(&snapshot));
        }
        proptest::prop_assert!(entry.exhausted());
        proptest::prop_assert_eq!(entry.rope.to_string(), whole);
        drop(tx);
    }
}
