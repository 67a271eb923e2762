//! One model call, streamed through post-processing in its own task.
//!
//! The call is started before the task (the request goes out before anything else: the
//! task's start, the syntax check's preparation, post-processing's reading of the document
//! around the cursor); the task owns its [`TextStream`](crate::providers::TextStream) and
//! publishes the settled suggestion (whole lines the [`StreamFilter`] will not change) on a
//! `watch` channel after every delta, then the final suggestion. Requests wait on the channel
//! for what they need: the first complete line (automatic triggers, the early answer) or the
//! whole suggestion. Because the task, not a request, drives the stream, generation continues
//! into the cache after an early answer. The finished suggestion is dropped if it raises the document's syntax-error count.
//!
//! The task stops, dropping the stream and so cancelling the model call, when the filter says
//! the suggestion is complete, when its scheduler ticket is superseded (the document's next
//! request did not match the suggestion), or when nobody holds the channel any more.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use ropey::Rope;

use super::postprocess::{Decision, PostContext, StreamFilter, SyntaxCheck, document_around};
use super::scheduler::Ticket;
use super::stats::Stats;
use crate::providers::{ModelRequest, Provider, ProviderError, TextStream};
use crate::syntax::Language;

/// Where a model call is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum State {
    #[default]
    Streaming,
    /// `text` is the final suggestion.
    Done,
    /// Post-processing dropped the answer: nothing to show.
    Dropped,
    /// Superseded before it ended.
    Cancelled,
    Failed(ProviderError),
}

/// What a model call has produced so far.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Settled lines while streaming; the final suggestion once [`State::Done`].
    pub text: String,
    pub state: State,
}

/// What a request waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// The first complete line (automatic triggers).
    FirstLine,
    /// The whole suggestion.
    Whole,
}

/// Everything a model call needs, owned.
pub struct Job {
    /// The model call to start.
    pub provider: Arc<dyn Provider>,
    pub request: ModelRequest,
    pub post: PostJob,
}

/// What the task that reads the answer needs, owned.
pub struct PostJob {
    pub ticket: Ticket,
    /// The document and the cursor, for post-processing.
    pub rope: Rope,
    pub cursor_byte: usize,
    pub language: Option<Language>,
    pub is_chat_model: bool,
    /// The syntax-error check of the finished suggestion; none without a grammar.
    pub check: Option<Arc<SyntaxCheck>>,
    pub started: Instant,
}

/// Starts the model call and the task that reads it; the receiver is the suggestion's progress.
pub fn spawn(job: Job, stats: Arc<Stats>) -> watch::Receiver<Progress> {
    let (tx, rx) = watch::channel(Progress::default());
    // The request goes out from here, before the task exists: the task's start (on two cores
    // often a thread switch) then overlaps the request's trip to the model.
    let mut stream = job.provider.stream(job.request);
    stream.start();
    tokio::spawn(run(job.post, stream, tx, stats));
    rx
}

async fn run(job: PostJob, mut stream: TextStream, tx: watch::Sender<Progress>, stats: Arc<Stats>) {
    let PostJob {
        ticket,
        rope,
        cursor_byte,
        language,
        is_chat_model,
        check,
        started,
    } = job;
    // Superseded before this task ran: the call is abandoned at once.
    if ticket.is_superseded() || tx.is_closed() {
        return cancel(&tx, &stats);
    }
    // What follows runs while the model answers, after the HTTP connection's task wrote the
    // request at this yield.
    tokio::task::yield_now().await;
    if let Some(check) = check.clone() {
        // Its costly half (the text as it is, parsed) runs on a thread of its own: not on
        // the path of the answer either.
        tokio::task::spawn_blocking(move || check.prepare());
    }
    let (before, after) = document_around(&rope, cursor_byte);
    drop(rope);
    let mut post = PostContext::new(&before, &after, language);
    post.is_chat_model = is_chat_model;
    post.syntax = check.as_deref();
    let mut filter = StreamFilter::new(&post);
    let mut first_token = None;
    loop {
        let delta = tokio::select! {
            biased;
            () = ticket.superseded() => return cancel(&tx, &stats),
            () = tx.closed() => return cancel(&tx, &stats),
            delta = stream.next() => delta,
        };
        let delta = match delta {
            None => break,
            Some(Ok(delta)) => delta,
            Some(Err(err)) => {
                // The breaker logs an unreachable provider once, not per keystroke.
                if matches!(err, ProviderError::Unreachable(_)) {
                    tracing::debug!("completion failed: {err}");
                } else {
                    tracing::warn!("completion failed: {err}");
                }
                stats.error();
                tx.send_modify(|p| p.state = State::Failed(err));
                return;
            }
        };
        first_token.get_or_insert_with(|| started.elapsed());
        let decision = filter.push(&delta);
        tx.send_if_modified(|p| {
            let settled = filter.settled();
            let grew = settled.len() != p.text.len();
            if grew {
                settled.clone_into(&mut p.text);
            }
            grew
        });
        if matches!(decision, Decision::Stop(_)) {
            break;
        }
    }
    // Cancels the model call at once when the filter stopped it early, and frees the call's
    // slot before anyone hears it ended.
    drop(stream);
    drop(ticket);
    let text = filter.finish();
    tracing::trace!(cleaned = ?text, "completion");
    stats.model_call_ended(first_token, started.elapsed());
    tx.send_modify(|p| match text {
        Some(text) => {
            p.text = text;
            p.state = State::Done;
        }
        None => p.state = State::Dropped,
    });
}

fn cancel(tx: &watch::Sender<Progress>, stats: &Stats) {
    stats.cancelled();
    tx.send_modify(|p| p.state = State::Cancelled);
}

/// Waits until `progress`, from byte `typed` on, has what `want` asks for. `Ok(None)` when there
/// is nothing to show. While waiting for the whole suggestion, `partial` gets the settled text
/// each time it grows.
pub async fn wait(
    progress: &mut watch::Receiver<Progress>,
    typed: usize,
    want: Want,
    partial: Option<&(dyn Fn(&str) + Sync)>,
) -> Result<Option<String>, ProviderError> {
    loop {
        {
            let p = progress.borrow_and_update();
            let rest = p.text.get(typed..).unwrap_or("");
            match &p.state {
                State::Streaming if want == Want::FirstLine => {
                    if let Some(line) = first_line(rest) {
                        return Ok(Some(line.to_owned()));
                    }
                }
                State::Streaming => {
                    if let Some(partial) = partial.filter(|_| !rest.trim().is_empty()) {
                        partial(rest);
                    }
                }
                State::Done if rest.trim().is_empty() => return Ok(None),
                State::Done => return Ok(Some(rest.to_owned())),
                State::Dropped | State::Cancelled => return Ok(None),
                State::Failed(err) => return Err(err.clone()),
            }
        }
        if progress.changed().await.is_err() {
            return Ok(None);
        }
    }
}

/// `text` through its first complete non-blank line (without the line break), once it has one.
pub fn first_line(text: &str) -> Option<&str> {
    let content = text.find(|c: char| !c.is_whitespace())?;
    let end = content + text[content..].find('\n')?;
    Some(text[..end].trim_end())
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::{Arc, Mutex};
    use std::task::Poll;

    use super::first_line;
    use crate::documents::DocumentStore;
    use crate::engine::{Engine, RequestSettings, Trigger};
    use crate::providers::{ModelRequest, Provider, TextSink, TextStream};

    /// Counts its calls; none of them ever answers.
    #[derive(Default)]
    struct Silent {
        calls: Mutex<Vec<TextSink>>,
    }

    impl Provider for Silent {
        fn name(&self) -> &str {
            "silent"
        }
        fn stream(&self, _: ModelRequest) -> TextStream {
            let (sink, stream) = TextStream::channel();
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(sink);
            stream
        }
    }

    /// Polls `future` once.
    async fn poll_once<F: Future>(mut future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
    }

    #[tokio::test]
    async fn a_call_superseded_before_its_task_ran_is_abandoned_when_it_runs() {
        let uri = "file:///p/main.rs";
        let documents = DocumentStore::default();
        documents.open(
            uri,
            "rust",
            1,
            "fn main() {\n    \n}\n\nfn other() {\n    \n}\n",
        );
        let engine = Engine::new(4, documents.clone());
        let provider = Arc::new(Silent::default());
        engine.set_provider(Some(provider.clone()));
        let snapshot = documents.snapshot(uri).expect("open");
        let settings = RequestSettings::default();
        // One thread: the calls' tasks run only when this test yields. The second request (in
        // another function) supersedes the first before the first call's task has run; each
        // request sent its call before its task existed.
        let first = engine.complete(&snapshot, 16, Trigger::Invoked, &settings);
        let second = engine.complete(&snapshot, 34, Trigger::Invoked, &settings);
        let (mut first, mut second) = (Box::pin(first), Box::pin(second));
        assert!(poll_once(first.as_mut()).await.is_pending());
        assert!(poll_once(second.as_mut()).await.is_pending());
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let calls = provider.calls.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(calls.len(), 2);
        assert!(
            calls[0].is_closed(),
            "the superseded call was not abandoned"
        );
        assert!(!calls[1].is_closed(), "the current call was abandoned");
    }

    #[test]
    fn the_first_line_needs_its_line_break_and_skips_blank_lines() {
        assert_eq!(first_line("let a = 1;"), None);
        assert_eq!(first_line("let a = 1;\n  b"), Some("let a = 1;"));
        assert_eq!(first_line("\n    next();\n"), Some("\n    next();"));
        assert_eq!(first_line(" \n\n"), None);
        assert_eq!(first_line("rest of line  \n"), Some("rest of line"));
    }
}
