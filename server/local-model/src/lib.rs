//! The embedded model of spark-lsp's provider `local`: a quantized llama-family GGUF run on the
//! CPU with nothing but `std`.
//!
//! - [`gguf`] reads the file: metadata, tensor table, tensor data.
//! - [`tokenizer`] (with `pretokenize`) is the byte-level BPE tokenizer stored in the file.
//! - [`kernels`] holds the block formats, the SIMD and scalar dot products and the worker pool;
//!   it is the only module allowed `unsafe`.
//! - [`model`] is the transformer and its forward pass over a KV [`model::Cache`].
//! - [`engine`] generates: prefix reuse, sampling, stop strings, streaming UTF-8.
//!
//! It is a crate of its own so that it is compiled with optimizations even in dev builds (see
//! the workspace's `Cargo.toml`): an unoptimized forward pass is some 30 times slower, too slow
//! for the end-to-end tests, while the rest of the server builds fastest unoptimized.

pub mod engine;
pub mod gguf;
pub mod kernels;
pub mod model;
mod pretokenize;
pub mod tokenizer;

pub use engine::{Engine, Flow, Params, Stats};
pub use gguf::Header;
pub use model::{Config, Model};
pub use tokenizer::{TokenId, Tokenizer, Utf8Stream};

/// Reads the GGUF at `path` far enough to know it can be run: the header, the hyper-parameters
/// and the tokenizer. The weights are read by [`Model::load`].
pub fn open(path: &std::path::Path) -> Result<(Header, Config, Tokenizer), String> {
    let (header, _) = Header::read(path)?;
    let at = |e: String| format!("{}: {e}", path.display());
    let config = Config::from_header(&header).map_err(at)?;
    let tokenizer = Tokenizer::from_gguf(&header).map_err(at)?;
    Ok((header, config, tokenizer))
}

#[cfg(test)]
mod tests;
