//! Watching the editor process named by `initialize`'s `processId`, as the LSP specification asks:
//! "If the parent process is not alive then the server should exit". An editor that crashes or
//! is killed may leave the server's stdin open (a grandchild holds it), and the server would then
//! run, and hold its model session, forever.
//!
//! Liveness is checked every [`POLL_INTERVAL`] without `unsafe`: on Linux by the existence of
//! `/proc/<pid>`, on other Unix systems with `kill -0 <pid>`. Elsewhere the process is not
//! watched (logged); the server still exits at `exit` or end of input.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the editor process is checked.
const POLL_INTERVAL: Duration = Duration::from_secs(3);

/// Watches `pid` from a task, cancelling `gone` once the process no longer exists. The first
/// check is immediate, so a `processId` that is already dead stops the server at once.
pub(super) fn watch(pid: u32, gone: CancellationToken) {
    if !can_check() {
        tracing::info!(pid, "the editor process cannot be watched on this system");
        return;
    }
    tokio::spawn(async move {
        loop {
            if !alive(pid).await {
                tracing::warn!(pid, "the editor process is gone; exiting");
                gone.cancel();
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                () = gone.cancelled() => return,
            }
        }
    });
}

fn can_check() -> bool {
    cfg!(unix)
}

/// Whether process `pid` exists.
async fn alive(pid: u32) -> bool {
    if std::path::Path::new("/proc/self").exists() {
        // A zombie (exited, not yet reaped by its parent) still has its directory.
        return match tokio::fs::read_to_string(format!("/proc/{pid}/stat")).await {
            Ok(stat) => stat
                .rsplit_once(')')
                .is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
            Err(err) => err.kind() != std::io::ErrorKind::NotFound,
        };
    }
    // `kill -0` sends no signal: it only says whether the process exists (and may be signalled;
    // the editor runs as the same user). If `kill` cannot run, assume the editor is alive.
    tokio::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .map_or(true, |status| status.success())
}
