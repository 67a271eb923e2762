//! spark-lsp: a language server that brings real-time AI edits to every LSP editor.
//!
//! See ARCHITECTURE.md for the bird's-eye view and the code map.

pub mod syntax;
