//! spark-lsp: a language server that brings real-time AI edits to every LSP editor.
//!
//! See ARCHITECTURE.md for the bird's-eye view and the code map. Dependencies point one way:
//! `lsp → engine → {context, providers} → {documents, syntax}`, and `lsp → transport`.

pub mod config;
pub mod context;
pub mod documents;
pub mod edits;
pub mod engine;
pub mod lsp;
pub mod providers;
pub mod syntax;
pub mod transport;
pub mod trust;
