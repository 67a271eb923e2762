//! spark-lsp's own LSP surface: custom method names, command ids and their payloads.
//!
//! Serde types only, no I/O, so that editor clients and tests can share the exact wire shapes.
//! Every custom method is documented with a JSON example in `docs/protocol.md`.

/// Standard LSP 3.18 methods that the `ls-types` version in use does not route natively.
pub mod methods {
    /// LSP 3.18 `textDocument/inlineCompletion`.
    pub const INLINE_COMPLETION: &str = "textDocument/inlineCompletion";
    /// `$/setTrace`: the client changes the trace level.
    pub const SET_TRACE: &str = "$/setTrace";
}

/// Commands the server executes through `workspace/executeCommand`.
pub mod commands {
    /// Every command the server advertises, in a stable order. The refactor commands join this
    /// list with the code-action work; until then the server advertises the capability with
    /// no commands.
    pub const ALL: &[&str] = &[];
}
