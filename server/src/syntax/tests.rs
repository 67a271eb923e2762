//! Table and fixture tests for languages, parsing, scopes and errors.

use std::sync::atomic::AtomicBool;

use ropey::Rope;

use super::scope::scope_kinds;
use super::*;

/// (language, a small valid snippet, a broken one).
const SNIPPETS: &[(Language, &str, &str)] = &[
    (
        Language::Rust,
        "fn main() {\n    let x = 1;\n}\n",
        "fn main( {\n    let x = ;\n",
    ),
    (
        Language::Python,
        "def f(x):\n    return x + 1\n",
        "def f(x:\n    return x +\n",
    ),
    (
        Language::TypeScript,
        "function f(x: number): number { return x; }\n",
        "function f(x: number { return x; \n",
    ),
    (
        Language::Tsx,
        "const A = () => <div>{1}</div>;\n",
        "const A = () => <div>{1</div>;\n",
    ),
    (
        Language::JavaScript,
        "const f = (a) => a * 2;\n",
        "const f = (a => a * ;\n",
    ),
    (
        Language::Go,
        "package main\n\nfunc main() {\n\tx := 1\n\t_ = x\n}\n",
        "package main\n\nfunc main( {\n\tx := \n",
    ),
    (
        Language::C,
        "int main(void) { return 0; }\n",
        "int main(void { return 0 }\n",
    ),
    (
        Language::Cpp,
        "namespace n { class A { int x; }; }\n",
        "namespace n { class A { int x; \n",
    ),
    (
        Language::Java,
        "class A { void f() { int x = 1; } }\n",
        "class A { void f( { int x = ; }\n",
    ),
    (
        Language::Lua,
        "local function f(x)\n  return x\nend\n",
        "local function f(x\n  return x\n",
    ),
    (
        Language::Json,
        "{\"a\": [1, 2, {\"b\": null}]}\n",
        "{\"a\": [1, 2, {\"b\": }\n",
    ),
    (
        Language::Bash,
        "f() {\n  echo \"$1\"\n}\n",
        "f() {\n  echo \"$1\n",
    ),
    (
        Language::Toml,
        "[package]\nname = \"x\"\n",
        "[package\nname = \n",
    ),
];

pub(super) fn parse_str(language: Language, text: &str) -> (Rope, tree_sitter::Tree) {
    let rope = Rope::from_str(text);
    let Some(tree) = parse(language, &rope, None) else {
        panic!("{} did not parse", language.name());
    };
    (rope, tree)
}

#[test]
fn every_language_parses_good_and_flags_broken_snippets() {
    for language in Language::ALL {
        let Some((_, good, broken)) = SNIPPETS.iter().find(|(l, _, _)| *l == language) else {
            panic!("no snippet for {}", language.name());
        };
        let (rope, tree) = parse_str(language, good);
        let errors = error_count(&tree, 0..rope.len_bytes());
        assert_eq!(
            errors,
            0,
            "{}: {}",
            language.name(),
            tree.root_node().to_sexp()
        );
        let (rope, tree) = parse_str(language, broken);
        let errors = error_count(&tree, 0..rope.len_bytes());
        assert!(
            errors > 0,
            "{}: {}",
            language.name(),
            tree.root_node().to_sexp()
        );
    }
}

#[test]
fn scope_tables_name_real_node_kinds() {
    for language in Language::ALL {
        let ts_language = language.ts_language();
        for kind in [ScopeKind::Function, ScopeKind::Class, ScopeKind::Block] {
            for node_kind in scope_kinds(language, kind) {
                let id = ts_language.id_for_node_kind(node_kind, true);
                assert_ne!(id, 0, "{}: no node kind {node_kind}", language.name());
            }
        }
    }
}

#[test]
fn detect_table() {
    let cases: &[(&str, &str, Option<Language>)] = &[
        ("rust", "", Some(Language::Rust)),
        ("Rust", "", Some(Language::Rust)),
        ("typescriptreact", "", Some(Language::Tsx)),
        ("javascriptreact", "", Some(Language::JavaScript)),
        ("jsonc", "", Some(Language::Json)),
        ("shellscript", "", Some(Language::Bash)),
        ("sh", "", Some(Language::Bash)),
        ("cpp", "a.h", Some(Language::Cpp)),
        ("plaintext", "src/main.rs", Some(Language::Rust)),
        ("", "file:///home/u/app.tsx", Some(Language::Tsx)),
        ("", ".tsx", Some(Language::Tsx)),
        ("", "x.mjs", Some(Language::JavaScript)),
        ("", "x.cjs", Some(Language::JavaScript)),
        ("", "x.mts", Some(Language::TypeScript)),
        ("", "inc/x.h", Some(Language::C)),
        ("", "x.hpp", Some(Language::Cpp)),
        ("", "x.cc", Some(Language::Cpp)),
        ("", "X.CXX", Some(Language::Cpp)),
        ("", "/home/u/.bashrc", Some(Language::Bash)),
        ("", "C:\\proj\\Cargo.toml", Some(Language::Toml)),
        ("", "Cargo.lock", Some(Language::Toml)),
        ("", "a/b.py?x=1#frag", Some(Language::Python)),
        ("", "init.lua", Some(Language::Lua)),
        ("", "Main.java", Some(Language::Java)),
        ("", "main.go", Some(Language::Go)),
        ("", "Makefile", None),
        ("", ".gitignore", None),
        ("", "", None),
        ("", "noext", None),
        ("", "dir.rs/file", None),
    ];
    for (id, path, expected) in cases {
        assert_eq!(
            Language::detect(id, path),
            *expected,
            "detect({id:?}, {path:?})"
        );
    }
    for language in Language::ALL {
        assert_eq!(Language::from_language_id(language.name()), Some(language));
    }
}

#[test]
fn queries_clamp_offsets_beyond_the_text() {
    let (rope, tree) = parse_str(Language::Rust, "fn f() {\n");
    let far = usize::MAX;
    assert!(enclosing_scope(&tree, Language::Rust, &rope, far, ScopeKind::Function).is_some());
    assert!(error_count(&tree, 0..far) > 0);
    assert_eq!(error_count(&tree, far..far), 0);
    let edit = input_edit(&rope, far, 3, "x");
    assert_eq!(
        (edit.start_byte, edit.old_end_byte),
        (rope.len_bytes(), rope.len_bytes())
    );
    // A tree that is stale for the rope must not panic either.
    let short = Rope::from_str("f");
    let scopes = enclosing_scopes(&tree, Language::Rust, &short, 5);
    assert_eq!(scopes.len(), 1);
    assert_eq!(scopes[0].name, None);
}

#[test]
fn error_count_is_limited_to_the_range() {
    let text = "fn ok() {}\nfn bad( {}\nfn ok2() {}\n";
    let (_, tree) = parse_str(Language::Rust, text);
    let bad_line = text.find("fn bad").unwrap_or_default();
    assert_eq!(error_count(&tree, 0..10), 0);
    assert!(error_count(&tree, bad_line..bad_line + 10) > 0);
}

#[test]
fn parse_with_cancel_stops_when_the_flag_is_set() {
    let big = "fn f() { let x = (1 + 2) * 3; }\n".repeat(2_000);
    let rope = Rope::from_str(&big);
    let cancel = AtomicBool::new(true);
    assert!(parse_with_cancel(Language::Rust, &rope, None, &cancel).is_none());
    // The parser is reset after a stop, so the next parse starts afresh on
    // new text instead of resuming the abandoned one.
    let small = Rope::from_str("fn g() {}\n");
    let Some(tree) = parse(Language::Rust, &small, None) else {
        panic!("no tree")
    };
    assert_eq!(
        tree.root_node().to_sexp(),
        "(source_file (function_item name: (identifier) parameters: (parameters) body: (block)))"
    );
}

#[test]
fn a_tree_of_another_language_is_not_reused() {
    let rope = Rope::from_str("x = 1\n");
    let (_, rust_tree) = parse_str(Language::Rust, "fn f() {}\n");
    let tree = parse(Language::Python, &rope, Some(&rust_tree));
    assert_eq!(
        tree.map(|t| t.root_node().kind().to_owned()).as_deref(),
        Some("module")
    );
}

#[test]
fn input_edit_points_follow_rope_lines() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("ab\ncd", 1, 4, "x\r\ny"),
        ("a\r\nb", 1, 1, "\n"),
        ("a\rb", 2, 2, "\nz"),
        ("a\r\nb", 2, 2, "z"),
        ("ab", 1, 1, "\r"),
        ("a\nb", 2, 3, "é😀\r"),
        ("", 0, 0, "x\ny"),
    ];
    for (text, start_byte, old_end_byte, new_text) in cases {
        let old_rope = Rope::from_str(text);
        let edit = input_edit(&old_rope, *start_byte, *old_end_byte, new_text);
        let mut new_string = text.to_string();
        new_string.replace_range(start_byte..old_end_byte, new_text);
        let new_rope = Rope::from_str(&new_string);
        let end_row = new_rope.byte_to_line(edit.new_end_byte);
        let end_column = edit.new_end_byte - new_rope.line_to_byte(end_row);
        assert_eq!(
            (edit.new_end_position.row, edit.new_end_position.column),
            (end_row, end_column),
            "{text:?} [{start_byte}..{old_end_byte}] <- {new_text:?}"
        );
    }
}
