//! [`Guarded`]: any [`Provider`] behind a [`Breaker`], and the [`Watch`] a request's stream
//! carries to report its outcome.

use std::sync::Arc;

use tokio::sync::watch;

use super::{Admission, Breaker, Health, Mode};
use crate::providers::{ModelRequest, Provider, ProviderError, TextStream};

/// A provider whose requests the breaker admits: rejected ones are answered at once with
/// [`ProviderError::Unreachable`] and never reach the provider.
pub struct Guarded {
    inner: Arc<dyn Provider>,
    breaker: Breaker,
}

impl Guarded {
    pub fn new(inner: Arc<dyn Provider>, breaker: Breaker) -> Arc<Self> {
        Arc::new(Self { inner, breaker })
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}

impl Provider for Guarded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        let admission = self.breaker.admit();
        if let Admission::Reject { retry_at } = admission {
            return TextStream::failed(self.breaker.offline_error(retry_at));
        }
        let stream = self.inner.stream(request);
        // A supervisor reports its own dials; the requests' outcomes would count them twice.
        if self.breaker.mode() == Mode::Supervised {
            return stream;
        }
        stream.watched(Watch {
            breaker: self.breaker.clone(),
            admission,
            reported: false,
        })
    }

    fn wants_fim(&self) -> bool {
        self.inner.wants_fim()
    }

    fn prompt_tokens(&self) -> Option<usize> {
        self.inner.prompt_tokens()
    }

    fn prewarm(&self, request: ModelRequest) {
        // A warm-up would dial, and it is nobody's probe.
        if self.breaker.is_closed() {
            self.inner.prewarm(request);
        }
    }

    fn health(&self) -> Option<watch::Receiver<Health>> {
        Some(self.breaker.health())
    }
}

/// Reports a request's outcome to its breaker: its first item, or its end, or (for a probe)
/// that it was dropped before either.
#[derive(Debug)]
pub struct Watch {
    breaker: Breaker,
    admission: Admission,
    reported: bool,
}

impl Watch {
    /// `item` is what the stream yielded first (`None`: it ended without a word, a success).
    pub(crate) fn report(mut self, item: Option<&Result<String, ProviderError>>) {
        self.reported = true;
        let outcome = match item {
            Some(Err(error)) => Err(error),
            _ => Ok(()),
        };
        self.breaker.report(self.admission, outcome);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.reported && self.admission == Admission::Probe {
            self.breaker.abandon();
        }
    }
}
