//! What the user sees of the provider: `spark/status` (busy/idle, ready/warning/error/inactive,
//! the provider and the last latency, for a status bar) and, once per failure class,
//! `window/showMessage` pointing at the log. The server keeps serving everything else.

use std::mem::discriminant;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use spark_protocol::{StatusKind, StatusParams};
use tower_lsp_server::ls_types::MessageType;
use tower_lsp_server::ls_types::notification::Notification;

use super::Backend;
use crate::providers::ProviderError;

/// `spark/status`.
enum SparkStatus {}

impl Notification for SparkStatus {
    type Params = StatusParams;
    const METHOD: &'static str = spark_protocol::methods::STATUS;
}

/// The status as it stands, and what the client was last told.
#[derive(Default)]
pub(super) struct Status {
    /// Everything but `busy`, which is counted.
    current: std::sync::Mutex<StatusParams>,
    /// Suggestion requests in progress.
    busy: AtomicUsize,
    /// Serialises sends, so the client's last notification is always the latest state.
    sent: tokio::sync::Mutex<Option<StatusParams>>,
    /// Whether the provider can be reached ([`super::health`]).
    pub(super) reach: super::health::Reach,
}

/// A suggestion request in progress: the status is busy until every guard is dropped.
pub(super) struct Busy {
    backend: Backend,
    started: Instant,
    answered: bool,
}

impl Busy {
    /// The request produced an answer: its latency becomes the status's last latency.
    pub(super) fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.answered {
            let ms = self.started.elapsed().as_secs_f64() * 1e3;
            self.backend
                .update_status(|s| s.last_latency_ms = Some((ms * 10.0).round() / 10.0));
        }
        self.backend.status.busy.fetch_sub(1, Ordering::SeqCst);
        self.backend.publish_status_soon();
    }
}

impl Backend {
    /// Marks the server busy until the guard is dropped, and tells the client off the
    /// request's path.
    pub(super) fn busy(&self) -> Busy {
        self.status.busy.fetch_add(1, Ordering::SeqCst);
        self.publish_status_soon();
        Busy {
            backend: self.clone(),
            started: Instant::now(),
            answered: false,
        }
    }

    pub(super) fn update_status<R>(&self, update: impl FnOnce(&mut StatusParams) -> R) -> R {
        update(
            &mut self
                .status
                .current
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// The provider's name as the status shows it.
    pub(super) fn status_provider(&self) -> Option<String> {
        self.update_status(|s| s.provider.clone())
    }

    /// The status as it stands (without `busy`).
    pub(super) fn current_status(&self) -> StatusParams {
        self.status
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// [`Backend::publish_status`] in a task of its own. The state is read when the task runs,
    /// so a request answered before then (a cache hit) shows no busy flicker.
    fn publish_status_soon(&self) {
        let backend = self.clone();
        tokio::spawn(async move { backend.publish_status().await });
    }

    /// Sends `spark/status` if it differs from what the client was told last.
    pub(super) async fn publish_status(&self) {
        let mut sent = self.status.sent.lock().await;
        let mut now = self
            .status
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        now.busy = self.status.busy.load(Ordering::SeqCst) > 0;
        if sent.as_ref() == Some(&now) {
            return;
        }
        self.client
            .send_notification::<SparkStatus>(now.clone())
            .await;
        *sent = Some(now);
    }

    /// A provider is in use (built, or handed in by the embedder): the status follows its
    /// health from now on.
    pub(super) async fn provider_ready(&self, name: &str) {
        self.update_status(|s| {
            s.kind = StatusKind::Normal;
            s.message = format!("spark-lsp: {name}");
            s.provider = Some(name.to_owned());
            s.offline = false;
            s.retry_at = None;
        });
        self.watch_health();
        self.publish_status().await;
    }

    /// No provider could be built from the settings: nothing is suggested until they change.
    pub(super) async fn no_provider(&self, err: &ProviderError) {
        self.update_status(|s| {
            s.kind = match err {
                ProviderError::Config(_) => StatusKind::Inactive,
                _ => StatusKind::Error,
            };
            s.message = format!("spark-lsp: {err}");
            s.provider = None;
            s.offline = false;
            s.retry_at = None;
        });
        self.watch_health();
        self.report_provider_error(err).await;
    }

    /// Shows `err` unless a failure of the same class was already shown since the provider last
    /// answered, and puts it in the status.
    pub(super) async fn report_provider_error(&self, err: &ProviderError) {
        if matches!(err, ProviderError::Unreachable(_)) && self.health_is_watched() {
            return;
        }
        let typ = match err {
            ProviderError::RateLimited { .. } | ProviderError::Timeout => MessageType::WARNING,
            _ => MessageType::ERROR,
        };
        let inactive = matches!(err, ProviderError::Config(_));
        self.update_status(|s| {
            if !(inactive && s.kind == StatusKind::Inactive) {
                s.kind = if typ == MessageType::WARNING {
                    StatusKind::Warning
                } else {
                    StatusKind::Error
                };
                s.message = format!("spark-lsp: {err}");
            }
        });
        self.publish_status().await;
        let first_time = self
            .reported_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(discriminant(err));
        if !first_time {
            return;
        }
        self.client
            .show_message(
                typ,
                format!("spark-lsp: {err}; see the spark-lsp log for details"),
            )
            .await;
    }

    /// A success: the next failure of any class is worth telling again, and the status is back
    /// to normal (sent with the request's busy → idle), unless the provider is offline: an
    /// answer from the cache says nothing about it, and its health task clears that.
    pub(super) fn provider_recovered(&self) {
        self.reported_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.update_status(|s| {
            if matches!(s.kind, StatusKind::Warning | StatusKind::Error) && !s.offline {
                s.kind = StatusKind::Normal;
                s.message = s
                    .provider
                    .as_ref()
                    .map_or_else(String::new, |name| format!("spark-lsp: {name}"));
            }
        });
    }
}
