//! Syntax trees for open documents: language detection, incremental
//! parsing of a rope, and the structural queries the context builder needs
//! (enclosing scopes, syntax errors).
//!
//! **Architecture invariant:** this module knows nothing about LSP. It works
//! on byte offsets into a `ropey::Rope`; converting LSP positions is the job
//! of `documents/`. Nothing here panics on any input: offsets beyond the
//! text are clamped.

mod errors;
mod language;
mod parse;
mod recovery;
mod scope;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_incremental;
#[cfg(test)]
mod tests_scope;

pub use errors::error_count;
pub use language::Language;
pub use parse::{input_edit, parse, parse_with_cancel};
pub(crate) use scope::scope_kinds;
pub use scope::{Scope, ScopeKind, enclosing_scope, enclosing_scopes};
