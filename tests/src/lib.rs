//! spark-tests: the LSP test client, fake providers and (with the provider work) the reference
//! model server, shared by the end-to-end tests in `tests/tests/`.

pub mod fake_provider;
pub mod lsp_client;

use anyhow::Context;

/// The messages a real editor sent, from `shared/clients/NAME` (one JSON object a line, the
/// message under `msg`).
pub fn recorded_session(name: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/clients")
        .join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line)?;
            Ok(record["msg"].take())
        })
        .collect()
}
