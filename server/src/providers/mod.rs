//! Model providers: one trait, one file per wire protocol (added by the provider work).
//!
//! A provider turns a typed [`ModelRequest`] into a [`TextStream`] of text deltas. Dropping the
//! stream cancels the work: the producing task sees its channel close and stops reading from
//! the model, so an abandoned request stops consuming tokens.

use std::time::Duration;

use tokio::sync::mpsc;

/// What the model is asked, independent of any wire format.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRequest {
    pub instructions: String,
    pub input: ModelInput,
    pub stop: Vec<String>,
    pub max_output_tokens: u32,
    pub temperature: Option<f32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelInput {
    /// A prompt for instruction-following models, with the cursor marked in the text.
    Text(String),
    /// Fill-in-the-middle: the text before and after the cursor.
    Fim { prefix: String, suffix: String },
}

/// Why a provider could not answer; callers branch on the case (retry, tell the user, drop).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("authentication failed: {0}; check the API key")]
    Auth(String),
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("unexpected answer from the provider: {0}")]
    Protocol(String),
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

/// A stream of text deltas from one model call. Dropping it cancels the call.
#[derive(Debug)]
pub struct TextStream {
    rx: mpsc::Receiver<Result<String, ProviderError>>,
}

/// The producing end of a [`TextStream`].
pub type TextSink = mpsc::Sender<Result<String, ProviderError>>;

impl TextStream {
    /// A connected pair; the provider's task writes deltas into the sink.
    pub fn channel() -> (TextSink, TextStream) {
        let (tx, rx) = mpsc::channel(64);
        (tx, TextStream { rx })
    }

    /// The next delta, or `None` once the answer is complete.
    pub async fn next(&mut self) -> Option<Result<String, ProviderError>> {
        self.rx.recv().await
    }
}

/// A model behind one wire protocol.
pub trait Provider: Send + Sync + 'static {
    /// A short name for logs and status, e.g. `openai-responses (websocket)`.
    fn name(&self) -> &str;
    /// Starts a call; the answer streams into the returned [`TextStream`].
    fn stream(&self, request: ModelRequest) -> TextStream;
}
