//! Enclosing functions, classes and blocks at a byte offset.
//!
//! Each language lists the node kinds that count as a scope. The chain of
//! nodes around the cursor is found by walking down from the root, which is
//! O(depth) child scans, rather than up with `Node::parent`, which
//! tree-sitter recomputes from the root on every call.

use std::ops::Range;

use ropey::Rope;
use tree_sitter::{Node, Tree};

use super::{Language, recovery};

/// What a scope is, coarsely, across languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// Functions, methods, closures and lambdas.
    Function,
    /// Class-like containers: class, struct, impl, trait, interface, enum,
    /// module, namespace, and tables or objects in data languages.
    Class,
    /// Brace or indentation blocks.
    Block,
}

/// One scope around a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub kind: ScopeKind,
    /// The tree-sitter node kind, e.g. "function_item".
    pub node_kind: &'static str,
    pub byte_range: Range<usize>,
    /// The scope's name, when the grammar makes it cheap to find.
    pub name: Option<String>,
}

/// Names longer than this are not names but, say, a whole type expression.
const MAX_NAME_BYTES: usize = 256;

/// The node kinds of each scope kind, per language.
pub(crate) fn scope_kinds(language: Language, kind: ScopeKind) -> &'static [&'static str] {
    use Language as L;
    use ScopeKind as K;
    match (language, kind) {
        (L::Rust, K::Function) => &[
            "function_item",
            "function_signature_item",
            "closure_expression",
        ],
        (L::Rust, K::Class) => &[
            "impl_item",
            "trait_item",
            "struct_item",
            "enum_item",
            "union_item",
            "mod_item",
            "foreign_mod_item",
        ],
        (L::Rust, K::Block) => &[
            "block",
            "async_block",
            "unsafe_block",
            "const_block",
            "try_block",
        ],
        (L::Python, K::Function) => &["function_definition", "lambda"],
        (L::Python, K::Class) => &["class_definition"],
        (L::Python, K::Block) => &["block"],
        (L::TypeScript | L::Tsx, K::Function) => &[
            "function_declaration",
            "function_expression",
            "arrow_function",
            "method_definition",
            "generator_function",
            "generator_function_declaration",
            "function_signature",
            "method_signature",
            "abstract_method_signature",
        ],
        (L::TypeScript | L::Tsx, K::Class) => &[
            "class_declaration",
            "abstract_class_declaration",
            "class",
            "interface_declaration",
            "enum_declaration",
            "internal_module",
            "module",
        ],
        (L::JavaScript, K::Function) => &[
            "function_declaration",
            "function_expression",
            "arrow_function",
            "method_definition",
            "generator_function",
            "generator_function_declaration",
        ],
        (L::JavaScript, K::Class) => &["class_declaration", "class"],
        (L::TypeScript | L::Tsx | L::JavaScript, K::Block) => {
            &["statement_block", "class_static_block"]
        }
        (L::Go, K::Function) => &["function_declaration", "method_declaration", "func_literal"],
        (L::Go, K::Class) => &["type_spec"],
        (L::Go, K::Block) => &["block"],
        (L::C, K::Function) => &["function_definition"],
        (L::C, K::Class) => &["struct_specifier", "union_specifier", "enum_specifier"],
        (L::Cpp, K::Function) => &["function_definition", "lambda_expression"],
        (L::Cpp, K::Class) => &[
            "class_specifier",
            "struct_specifier",
            "union_specifier",
            "enum_specifier",
            "namespace_definition",
        ],
        (L::C | L::Cpp, K::Block) => &["compound_statement"],
        (L::Java, K::Function) => &[
            "method_declaration",
            "constructor_declaration",
            "compact_constructor_declaration",
            "lambda_expression",
        ],
        (L::Java, K::Class) => &[
            "class_declaration",
            "interface_declaration",
            "enum_declaration",
            "record_declaration",
            "annotation_type_declaration",
            "module_declaration",
        ],
        (L::Java, K::Block) => &["block", "constructor_body"],
        (L::Lua, K::Function) => &["function_declaration", "function_definition"],
        (L::Lua, K::Class) => &["table_constructor"],
        (L::Lua, K::Block) => &["block"],
        (L::Json, K::Class) => &["object"],
        (L::Bash, K::Function) => &["function_definition"],
        (L::Bash, K::Class) => &[],
        (L::Bash, K::Block) => &["compound_statement", "do_group"],
        (L::Toml, K::Class) => &["table", "table_array_element", "inline_table"],
        (L::Json | L::Toml, K::Function) | (L::Json | L::Toml, K::Block) => &[],
    }
}

/// The innermost scope of `kind` around `byte`.
pub fn enclosing_scope(
    tree: &Tree,
    language: Language,
    rope: &Rope,
    byte: usize,
    kind: ScopeKind,
) -> Option<Scope> {
    enclosing_scopes_with_blocks(tree, language, rope, byte, kind == ScopeKind::Block)
        .into_iter()
        .find(|scope| scope.kind == kind)
}

/// The functions and classes around `byte`, innermost first. Blocks are
/// left out: every function has one, and they carry no name.
pub fn enclosing_scopes(tree: &Tree, language: Language, rope: &Rope, byte: usize) -> Vec<Scope> {
    enclosing_scopes_with_blocks(tree, language, rope, byte, false)
}

/// All scopes around `byte`, innermost first, including those recovered
/// from ERROR nodes.
fn enclosing_scopes_with_blocks(
    tree: &Tree,
    language: Language,
    rope: &Rope,
    byte: usize,
    with_blocks: bool,
) -> Vec<Scope> {
    let kinds: &[ScopeKind] = if with_blocks {
        &[ScopeKind::Function, ScopeKind::Class, ScopeKind::Block]
    } else {
        &[ScopeKind::Function, ScopeKind::Class]
    };
    let mut scopes = Vec::new();
    for node in nodes_around(tree, language, rope, byte).into_iter().rev() {
        if node.is_error() {
            scopes.extend(
                recovery::scopes_in_error(node, language, rope, byte)
                    .into_iter()
                    .rev(),
            );
            continue;
        }
        let entry = kinds
            .iter()
            .find_map(|&kind| Some((kind, table_entry(scope_kinds(language, kind), node)?)));
        if let Some((kind, node_kind)) = entry {
            scopes.push(make_scope(node, kind, node_kind, language, rope));
        }
    }
    scopes
}

/// The nodes containing a cursor at `byte`, outermost first, from the root.
///
/// A node contains the cursor if it starts at or before it and ends after
/// it. A node ending at or before the cursor still contains it when text
/// typed there would extend the node (see [`extends_to`]); that case wins
/// over a node starting right at the cursor, because typing continues the
/// text before the cursor.
fn nodes_around<'tree>(
    tree: &'tree Tree,
    language: Language,
    rope: &Rope,
    byte: usize,
) -> Vec<Node<'tree>> {
    let root = tree.root_node();
    // Clamp, but not below the rope's end: the root may stop before
    // trailing whitespace, where the cursor can still be inside a scope.
    let byte = byte.min(root.end_byte().max(rope.len_bytes()));
    // The root is included: when the whole file is one ERROR node, the
    // root is where a half-typed scope is recovered from.
    let mut chain = vec![root];
    let mut cursor = root.walk();
    loop {
        // The first child ending after the cursor and the one before it. tree-sitter finds
        // the first in its own loop: a 9,000-line file's root has ~1,500 children, and
        // stepping through them one by one here was most of a completion's scope lookup.
        let (before, after) = if cursor.goto_first_child_for_byte(byte).is_some() {
            let after = cursor.node();
            let before = cursor.goto_previous_sibling().then(|| cursor.node());
            (before, Some(after).filter(|node| node.start_byte() <= byte))
        } else if cursor.goto_last_child() {
            (Some(cursor.node()), None)
        } else {
            break;
        };
        let next = match after {
            Some(node) if node.start_byte() < byte => Some(node),
            _ => before
                .filter(|node| extends_to(*node, language, rope, byte))
                .or(after),
        };
        let Some(node) = next else { break };
        chain.push(node);
        cursor.reset(node);
    }
    chain
}

/// How a node's text ends, as far as typing right after it is concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// By its own closing delimiter: `}` of `fn f() {}`, `end`, `;`.
    Closed,
    /// By a delimiter the parser invented because it was missing: the node
    /// runs on to wherever the user types next.
    Unterminated,
    /// By an expression or statement: `return x` in a Python body.
    Open,
}

fn tail(node: Node<'_>) -> Tail {
    if node.is_error() {
        return Tail::Unterminated;
    }
    // Two levels reach the `}` of `fn f() {}` (function_item > block > `}`)
    // without mistaking the `)` of a trailing call for the scope's end.
    let mut current = node;
    for _ in 0..2 {
        let Some(last) = current.child(current.child_count().saturating_sub(1)) else {
            return Tail::Open;
        };
        if last.is_missing() || last.is_error() {
            return Tail::Unterminated;
        }
        if !last.is_named() {
            return Tail::Closed;
        }
        current = last;
    }
    Tail::Open
}

/// Whether text typed at `byte`, at or after `node`'s end, would belong to
/// `node`. Only whitespace may lie between; then an unterminated node
/// always extends, an open one extends on its own last line, and in
/// languages where indentation or the next header ends a scope (Python,
/// TOML) it extends further on while the cursor is indented deeper than
/// the node's first line.
fn extends_to(node: Node<'_>, language: Language, rope: &Rope, byte: usize) -> bool {
    let end_byte = node.end_byte();
    if node.start_byte() == end_byte || byte < end_byte {
        return false;
    }
    let tail = tail(node);
    if tail == Tail::Closed {
        return false;
    }
    let Some(gap) = rope.get_byte_slice(end_byte..byte) else {
        return false;
    };
    if !gap.chars().all(char::is_whitespace) {
        return false;
    }
    let gap_has_line_break = gap.len_lines() > 1;
    match tail {
        Tail::Unterminated => true,
        _ if !gap_has_line_break => true,
        _ => match language {
            Language::Toml => true,
            Language::Python => column_byte(rope, byte) > column_byte(rope, node.start_byte()),
            _ => false,
        },
    }
}

/// Bytes from the start of `byte`'s line to `byte`.
fn column_byte(rope: &Rope, byte: usize) -> usize {
    let line = rope.try_byte_to_line(byte).unwrap_or(0);
    byte.saturating_sub(rope.try_line_to_byte(line).unwrap_or(0))
}

/// The table's entry for `node`'s kind. The table's `&'static str` is what a
/// `Scope` keeps: `Node::kind` borrows from the tree.
fn table_entry(kinds: &'static [&'static str], node: Node<'_>) -> Option<&'static str> {
    kinds.iter().copied().find(|kind| *kind == node.kind())
}

fn make_scope(
    node: Node<'_>,
    kind: ScopeKind,
    node_kind: &'static str,
    language: Language,
    rope: &Rope,
) -> Scope {
    Scope {
        kind,
        node_kind,
        byte_range: node.byte_range(),
        name: name_node(node, language).and_then(|name| node_text(rope, name)),
    }
}

/// The node holding a scope's name, if the grammar makes it easy to find.
fn name_node(node: Node<'_>, language: Language) -> Option<Node<'_>> {
    if let Some(name) = node.child_by_field_name("name") {
        return Some(name);
    }
    match (language, node.kind()) {
        // `impl Trait for Type`: the type is what the impl is about.
        (Language::Rust, "impl_item") => node.child_by_field_name("type"),
        // `int *f(void) {...}`: the name is nested inside declarators.
        (Language::C | Language::Cpp, "function_definition") => declarator_name(node),
        // `const f = () => ...`: the binding names the function.
        (
            _,
            "arrow_function"
            | "function_expression"
            | "func_literal"
            | "lambda"
            | "function_definition",
        ) => {
            let parent = node.parent()?;
            match parent.kind() {
                "variable_declarator" | "pair" => parent
                    .child_by_field_name("name")
                    .or_else(|| parent.child_by_field_name("key")),
                _ => None,
            }
        }
        // `"key": { ... }`: an object is named by its key.
        (Language::Json, "object") => node.parent()?.child_by_field_name("key"),
        // `[table]` / `[[array]]`: the first key child is the header.
        (Language::Toml, "table" | "table_array_element") => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor)
                .find(|child| matches!(child.kind(), "bare_key" | "dotted_key" | "quoted_key"))
        }
        _ => None,
    }
}

/// Follows C's nested `declarator` fields down to the declared name.
fn declarator_name(node: Node<'_>) -> Option<Node<'_>> {
    let mut current = node;
    // Declarators nest a handful of levels at most (pointer, function,
    // parenthesised); the bound only guards against a malformed tree.
    for _ in 0..8 {
        match current.child_by_field_name("declarator") {
            Some(inner) => current = inner,
            None => break,
        }
    }
    (current.id() != node.id()).then_some(current)
}

/// The text of `node` read from the rope, if short and in bounds.
pub(crate) fn node_text(rope: &Rope, node: Node<'_>) -> Option<String> {
    let range = node.byte_range();
    if range.is_empty() || range.len() > MAX_NAME_BYTES {
        return None;
    }
    // `get_byte_slice` also refuses a tree that is stale for this rope.
    Some(rope.get_byte_slice(range)?.to_string())
}
