//! Scopes recovered from ERROR nodes.
//!
//! Half-typed code is the normal state of a buffer during completion, and
//! tree-sitter often cannot build a `function_item` out of `fn f() {` with
//! nothing after it: it leaves a flat ERROR node of tokens instead. Inside
//! such a node, a scope keyword (`fn`, `def`, `class`, ...) whose braces are
//! still open at the cursor is the best guess of the scope being written.

use ropey::Rope;
use tree_sitter::Node;

use super::Language;
use super::scope::{Scope, ScopeKind};

/// Keywords that open a scope of `kind`, as tree-sitter token kinds.
fn keywords(language: Language, kind: ScopeKind) -> &'static [&'static str] {
    use Language as L;
    use ScopeKind as K;
    match (language, kind) {
        (L::Rust, K::Function) => &["fn"],
        (L::Rust, K::Class) => &["impl", "trait", "struct", "enum", "mod"],
        (L::Python, K::Function) => &["def"],
        (L::Python, K::Class) => &["class"],
        (L::TypeScript | L::Tsx | L::JavaScript | L::Lua | L::Bash, K::Function) => &["function"],
        (L::TypeScript | L::Tsx, K::Class) => &["class", "interface", "enum", "namespace"],
        (L::JavaScript, K::Class) => &["class"],
        (L::Go, K::Function) => &["func"],
        (L::C, K::Class) => &["struct", "union", "enum"],
        (L::Cpp, K::Class) => &["class", "struct", "union", "enum", "namespace"],
        (L::Java, K::Class) => &["class", "interface", "enum", "record"],
        _ => &[],
    }
}

/// The scopes an ERROR node seems to be in the middle of at `byte`, outer
/// first. Each has `node_kind` "ERROR" and runs from its keyword to the end
/// of the ERROR node.
pub(crate) fn scopes_in_error(
    error: Node<'_>,
    language: Language,
    rope: &Rope,
    byte: usize,
) -> Vec<Scope> {
    let mut open: Vec<(ScopeKind, Node<'_>, i32)> = Vec::new();
    let mut cursor = error.walk();
    for child in error.children(&mut cursor) {
        if child.start_byte() >= byte {
            break;
        }
        let kind = child.kind();
        // Braces close the innermost open candidate once back at depth zero.
        match kind {
            "{" => {
                if let Some(last) = open.last_mut() {
                    last.2 += 1;
                }
            }
            "}" => {
                if let Some(last) = open.last_mut() {
                    last.2 -= 1;
                    if last.2 <= 0 {
                        open.pop();
                    }
                }
            }
            _ => {}
        }
        if child.is_named() {
            continue;
        }
        for scope_kind in [ScopeKind::Function, ScopeKind::Class] {
            if keywords(language, scope_kind).contains(&kind) {
                open.push((scope_kind, child, 0));
            }
        }
    }
    open.into_iter()
        .map(|(kind, keyword, _)| Scope {
            kind,
            node_kind: "ERROR",
            byte_range: keyword.start_byte()..error.end_byte(),
            name: keyword
                .next_named_sibling()
                .filter(|name| name.kind().contains("identifier") || name.kind() == "name")
                .and_then(|name| super::scope::node_text(rope, name)),
        })
        .collect()
}
