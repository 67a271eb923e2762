//! Telling the user about provider failures: once per failure class, through
//! `window/showMessage`, pointing at the log. The server keeps serving everything else.

use std::mem::discriminant;

use tower_lsp_server::ls_types::MessageType;

use super::Backend;
use crate::providers::ProviderError;

impl Backend {
    /// Shows `err` unless a failure of the same class was already shown since the provider last
    /// answered.
    pub(super) async fn report_provider_error(&self, err: &ProviderError) {
        let first_time = self
            .reported_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(discriminant(err));
        if !first_time {
            return;
        }
        let typ = match err {
            ProviderError::RateLimited { .. } | ProviderError::Timeout => MessageType::WARNING,
            _ => MessageType::ERROR,
        };
        self.client
            .show_message(
                typ,
                format!("spark-lsp: {err}; see the spark-lsp log for details"),
            )
            .await;
    }

    /// A success: the next failure of any class is worth telling again.
    pub(super) fn provider_recovered(&self) {
        self.reported_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
