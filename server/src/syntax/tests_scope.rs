//! Fixture tests for enclosing scopes: `$0` marks the cursor, and the
//! expectation is a snapshot (`UPDATE_EXPECT=1` rewrites it).

use std::fmt::Write as _;

use expect_test::{Expect, expect};
use ropey::Rope;

use super::tests::parse_str;
use super::*;

/// Parses `fixture` with `$0` marking the cursor and lists the scopes of
/// `kind` around it: the innermost one, then the whole chain.
fn check_scope(language: Language, fixture: &str, kind: ScopeKind, expected: Expect) {
    let Some(cursor_byte) = fixture.find("$0") else {
        panic!("fixture has no $0");
    };
    let text = fixture.replacen("$0", "", 1);
    let (rope, tree) = parse_str(language, &text);
    let mut actual = String::new();
    let innermost = enclosing_scope(&tree, language, &rope, cursor_byte, kind);
    let _ = writeln!(actual, "innermost: {}", describe(&rope, innermost.as_ref()));
    for scope in enclosing_scopes(&tree, language, &rope, cursor_byte) {
        let _ = writeln!(actual, "  {}", describe(&rope, Some(&scope)));
    }
    expected.assert_eq(&actual);
}

fn describe(rope: &Rope, scope: Option<&Scope>) -> String {
    let Some(scope) = scope else {
        return "none".to_owned();
    };
    let start_line = rope.byte_to_line(scope.byte_range.start);
    let end_line = rope.byte_to_line(scope.byte_range.end);
    let name = scope.name.as_deref().unwrap_or("?");
    format!(
        "{:?} {} {name} lines {start_line}..={end_line}",
        scope.kind, scope.node_kind
    )
}

#[test]
fn rust_scopes() {
    let source = "mod m {\n    impl Foo for Bar {\n        fn go(&self) {\n            let f = |x| { x$0 };\n        }\n    }\n}\n";
    check_scope(
        Language::Rust,
        source,
        ScopeKind::Function,
        expect![[r#"
        innermost: Function closure_expression ? lines 3..=3
          Function closure_expression ? lines 3..=3
          Function function_item go lines 2..=4
          Class impl_item Bar lines 1..=5
          Class mod_item m lines 0..=6
    "#]],
    );
    check_scope(
        Language::Rust,
        source,
        ScopeKind::Class,
        expect![[r#"
        innermost: Class impl_item Bar lines 1..=5
          Function closure_expression ? lines 3..=3
          Function function_item go lines 2..=4
          Class impl_item Bar lines 1..=5
          Class mod_item m lines 0..=6
    "#]],
    );
    // Right after a closed function the cursor is outside it.
    check_scope(
        Language::Rust,
        "fn a() {}$0\nfn b() {}\n",
        ScopeKind::Function,
        expect![[r#"
        innermost: none
    "#]],
    );
    // tree-sitter leaves a half-typed function at the end of the file as a
    // flat ERROR node; the scope is recovered from its `fn` keyword.
    check_scope(
        Language::Rust,
        "struct S;\nfn half(x: u8) {\n    let y = x$0",
        ScopeKind::Function,
        expect![[r#"
            innermost: Function ERROR half lines 1..=2
              Function ERROR half lines 1..=2
        "#]],
    );
    // On a fresh line of an unterminated function, too.
    check_scope(
        Language::Rust,
        "fn open() {\n    $0\n",
        ScopeKind::Function,
        expect![[r#"
            innermost: Function ERROR open lines 0..=0
              Function ERROR open lines 0..=0
        "#]],
    );
    check_scope(
        Language::Rust,
        "fn f() {\n    if x {\n        $0\n    }\n}\n",
        ScopeKind::Block,
        expect![[r#"
            innermost: Block block ? lines 1..=3
              Function function_item f lines 0..=4
        "#]],
    );
}

#[test]
fn python_scopes() {
    let source = "class A:\n    def m(self):\n        return self.x$0\n\n\ndef g():\n    pass\n";
    check_scope(
        Language::Python,
        source,
        ScopeKind::Function,
        expect![[r#"
        innermost: Function function_definition m lines 1..=2
          Function function_definition m lines 1..=2
          Class class_definition A lines 0..=2
    "#]],
    );
    check_scope(
        Language::Python,
        "def g():\n    pass\n$0",
        ScopeKind::Function,
        expect![[r#"
        innermost: none
    "#]],
    );
    // A blank line is in whichever scope its indentation says.
    let nested = "class A:\n    def m(self):\n        x = 1\n\n";
    check_scope(
        Language::Python,
        &format!("{nested}        $0\n"),
        ScopeKind::Function,
        expect![[r#"
            innermost: Function function_definition m lines 1..=2
              Function function_definition m lines 1..=2
              Class class_definition A lines 0..=2
        "#]],
    );
    check_scope(
        Language::Python,
        &format!("{nested}    $0\n"),
        ScopeKind::Class,
        expect![[r#"
            innermost: Class class_definition A lines 0..=2
              Class class_definition A lines 0..=2
        "#]],
    );
    check_scope(
        Language::Python,
        "def g():\n    pass\n    f = lambda y: y$0",
        ScopeKind::Function,
        expect![[r#"
            innermost: Function lambda ? lines 2..=2
              Function lambda ? lines 2..=2
              Function function_definition g lines 0..=2
        "#]],
    );
}

#[test]
fn typescript_scopes() {
    let source = "export class Shop {\n  total(items: Item[]): number {\n    return items.reduce((a, i) => a + i.price$0, 0);\n  }\n}\ninterface Item { price: number }\n";
    check_scope(
        Language::TypeScript,
        source,
        ScopeKind::Function,
        expect![[r#"
        innermost: Function arrow_function ? lines 2..=2
          Function arrow_function ? lines 2..=2
          Function method_definition total lines 1..=3
          Class class_declaration Shop lines 0..=4
    "#]],
    );
    check_scope(
        Language::TypeScript,
        "const load = async () => {\n  $0\n};\n",
        ScopeKind::Function,
        expect![[r#"
        innermost: Function arrow_function load lines 0..=2
          Function arrow_function load lines 0..=2
    "#]],
    );
    check_scope(
        Language::TypeScript,
        "interface Item { price$0: number }\n",
        ScopeKind::Class,
        expect![[r#"
        innermost: Class interface_declaration Item lines 0..=0
          Class interface_declaration Item lines 0..=0
    "#]],
    );
}

#[test]
fn other_language_scopes() {
    check_scope(
        Language::C,
        "static int *make(int n) {\n  return $0;\n}\n",
        ScopeKind::Function,
        expect![[r#"
        innermost: Function function_definition make lines 0..=2
          Function function_definition make lines 0..=2
    "#]],
    );
    check_scope(
        Language::Go,
        "package p\n\nfunc (s *S) Run() {\n\t$0\n}\n",
        ScopeKind::Function,
        expect![[r#"
        innermost: Function method_declaration Run lines 2..=4
          Function method_declaration Run lines 2..=4
    "#]],
    );
    check_scope(
        Language::Toml,
        "[a]\nx = 1\n[dependencies]\nserde = $0\n",
        ScopeKind::Class,
        expect![[r#"
        innermost: Class table dependencies lines 2..=4
          Class table dependencies lines 2..=4
    "#]],
    );
    check_scope(
        Language::Json,
        "{\"outer\": {\"inner\": $0}}",
        ScopeKind::Class,
        expect![[r#"
        innermost: Class object "outer" lines 0..=0
          Class object "outer" lines 0..=0
          Class object ? lines 0..=0
    "#]],
    );
}
