//! An in-process provider for tests that need the model to behave in one exact way: answer a
//! fixed text and record what it was asked, or stall until the request is dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use spark_lsp::providers::{ModelInput, ModelRequest, Provider, ProviderError, TextStream};

/// Answers `answer`, except that a request whose prompt contains `stall_marker` never answers.
/// Records every request and counts the streams the server still holds, so tests can check
/// that superseded and cancelled requests really let go of the model.
#[derive(Default)]
pub struct FakeProvider {
    pub answer: String,
    /// Answers for the next requests, in order, before `answer` is used.
    pub scripted: Mutex<VecDeque<String>>,
    pub stall_marker: Option<String>,
    /// When set, every request fails with this error.
    pub fail_with: Option<ProviderError>,
    pub requests: Mutex<Vec<ModelRequest>>,
    pub live: Arc<AtomicUsize>,
}

impl FakeProvider {
    pub fn answering(answer: &str) -> Arc<Self> {
        Arc::new(Self {
            answer: answer.into(),
            ..Self::default()
        })
    }

    pub fn stalling_on(marker: &str, answer: &str) -> Arc<Self> {
        Arc::new(Self {
            answer: answer.into(),
            stall_marker: Some(marker.into()),
            ..Self::default()
        })
    }

    pub fn failing(err: ProviderError) -> Arc<Self> {
        Arc::new(Self {
            fail_with: Some(err),
            ..Self::default()
        })
    }

    /// Answers `answers` in order, then `answers`' last one.
    pub fn scripted(answers: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            answer: answers.last().copied().unwrap_or_default().into(),
            scripted: Mutex::new(answers.iter().map(|a| (*a).to_owned()).collect()),
            ..Self::default()
        })
    }

    /// How many model calls the server made.
    pub fn request_count(&self) -> usize {
        self.requests.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// The prefix and suffix of the last fill-in-the-middle request.
    pub fn last_fim(&self) -> Option<(String, String)> {
        let requests = self.requests.lock().ok()?;
        match &requests.last()?.input {
            ModelInput::Fim { prefix, suffix, .. } => Some((prefix.clone(), suffix.clone())),
            ModelInput::Chat { .. } | ModelInput::Completion { .. } => None,
        }
    }

    /// Streams the server has not dropped yet.
    pub fn live_streams(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

impl Provider for FakeProvider {
    fn name(&self) -> &str {
        "fake"
    }

    /// Fill-in-the-middle, so tests can read back exactly the text around the cursor.
    fn wants_fim(&self) -> bool {
        true
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        let prompt = match &request.input {
            ModelInput::Fim { prefix, suffix, .. } => format!("{prefix}{suffix}"),
            ModelInput::Chat { context, query } => format!("{context}{query}"),
            ModelInput::Completion { prompt } => prompt.clone(),
        };
        let stall = self
            .stall_marker
            .as_ref()
            .is_some_and(|marker| prompt.contains(marker.as_str()));
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(request);
        }
        let (tx, stream) = TextStream::channel();
        let answer = match &self.fail_with {
            Some(err) => Err(err.clone()),
            None => {
                let next = self.scripted.lock().ok().and_then(|mut s| s.pop_front());
                Ok(next.unwrap_or_else(|| self.answer.clone()))
            }
        };
        let live = self.live.clone();
        live.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            if stall {
                // Holds the sink until the server drops its stream.
                tx.closed().await;
            } else {
                let _ = tx.send(answer).await;
            }
            live.fetch_sub(1, Ordering::SeqCst);
        });
        stream
    }
}
