//! Test support for spark-lsp: the LSP test client, a fake in-process provider, the reference
//! model server (every provider wire protocol on loopback), a latency proxy, a minimal HTTP/1.1
//! client for raw-socket tests, TLS helpers and the next-edit replay. The end-to-end tests live
//! in `tests/tests/`.

pub mod editors;
pub mod fake_provider;
pub mod http_client;
pub mod latency_proxy;
pub mod lsp_client;
pub mod model_server;
pub mod replay;
pub mod text_edits;
pub mod tls;

use anyhow::Context;

/// The messages a real editor sent, from `tests/fixtures/clients/NAME` (one JSON object a line,
/// the message under `msg`; recorded from real Helix and Neovim, see the README there).
pub fn recorded_session(name: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/clients")
        .join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line)?;
            let mut message = record["msg"].take();
            // The recording's editor is long gone; the server watches `processId` and would
            // exit, so the live editor is this test process.
            if let Some(pid) = message.pointer_mut("/params/processId") {
                if pid.is_number() {
                    *pid = std::process::id().into();
                }
            }
            Ok(message)
        })
        .collect()
}
