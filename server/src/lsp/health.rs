//! Whether the provider can be reached, as the user sees it: a task follows the provider's
//! breaker and puts "offline, retrying at …" into `spark/status`, tells the user once when the
//! provider goes away and, only then, once more when it is back. Requests that the breaker
//! answers meanwhile are not told one by one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use spark_protocol::StatusKind;
use tower_lsp_server::ls_types::MessageType;

use super::Backend;
use crate::providers::breaker::Health;

/// What the health task shares with the request path.
#[derive(Default)]
pub(super) struct Reach {
    /// Bumped whenever the provider changes, so an old provider's task stops.
    generation: AtomicU64,
    /// The current provider has a breaker whose task tells the user about unreachability.
    watched: AtomicBool,
    /// The user was told the provider is offline (and so will be told when it is back).
    told: AtomicBool,
}

impl Backend {
    /// Follows the current provider's health, replacing the previous provider's task.
    pub(super) fn watch_health(&self) {
        let reach = &self.status.reach;
        let generation = reach.generation.fetch_add(1, Ordering::SeqCst) + 1;
        reach.told.store(false, Ordering::SeqCst);
        let health = self.engine.provider().and_then(|p| p.health());
        reach.watched.store(health.is_some(), Ordering::SeqCst);
        let Some(mut health) = health else {
            return;
        };
        // Weak: the provider lives in the state, and its breaker's sender ends this task only
        // once the state (and so the provider) is gone.
        let state = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            loop {
                let now = health.borrow_and_update().clone();
                let Some(state) = state.upgrade() else {
                    return;
                };
                let backend = Backend(state);
                if backend.status.reach.generation.load(Ordering::SeqCst) != generation {
                    return;
                }
                backend.apply_health(now).await;
                drop(backend);
                if health.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    /// Unreachability is told by the health task, not by each request it fails.
    pub(super) fn health_is_watched(&self) -> bool {
        self.status.reach.watched.load(Ordering::SeqCst)
    }

    async fn apply_health(&self, health: Health) {
        let reach = &self.status.reach;
        match health {
            Health::Offline { reason, retry_at } => {
                let wait = retry_at.saturating_duration_since(Instant::now());
                let at = (SystemTime::now() + wait)
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                // The message stays the same from one retry to the next (clients that notify on a
                // new message would repeat it); `retryAt` carries the time.
                self.update_status(|s| {
                    s.kind = StatusKind::Warning;
                    s.offline = true;
                    s.retry_at = Some(at);
                    s.message = format!("spark-lsp: offline ({reason}); retrying by itself");
                });
                self.publish_status().await;
                if !reach.told.swap(true, Ordering::SeqCst) {
                    let message = format!(
                        "spark-lsp: the provider is offline ({reason}); suggestions are paused and come back by themselves when it answers again"
                    );
                    self.client
                        .show_message(MessageType::WARNING, message)
                        .await;
                }
            }
            Health::Online => {
                let was_offline = self.update_status(|s| {
                    let was = s.offline;
                    if was {
                        s.offline = false;
                        s.retry_at = None;
                        s.kind = StatusKind::Normal;
                        s.message = s
                            .provider
                            .as_ref()
                            .map_or_else(String::new, |name| format!("spark-lsp: {name}"));
                    }
                    was
                });
                if was_offline {
                    self.publish_status().await;
                }
                if reach.told.swap(false, Ordering::SeqCst) {
                    let name = self
                        .status_provider()
                        .unwrap_or_else(|| "the provider".into());
                    self.client
                        .show_message(
                            MessageType::INFO,
                            format!("spark-lsp: {name} is reachable again; suggestions are back"),
                        )
                        .await;
                }
            }
        }
    }
}
