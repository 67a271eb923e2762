//! Renames and changed calls found from real edit histories (the document store records them
//! as an editor sends them), in Rust, Python and TypeScript.

use super::*;
use crate::documents::{DocumentStore, PositionEncoding, Snapshot, TextChange, to_line_col};

/// A document edited through the store as an editor would, keystroke by keystroke.
struct Doc {
    store: DocumentStore,
    uri: String,
    version: i32,
}

impl Doc {
    fn open(uri: &str, language_id: &str, text: &str) -> Self {
        let store = DocumentStore::default();
        store.open(uri, language_id, 1, text);
        Self {
            store,
            uri: uri.into(),
            version: 1,
        }
    }

    fn text(&self) -> String {
        self.snapshot().rope.to_string()
    }

    fn snapshot(&self) -> Snapshot {
        self.store.snapshot(&self.uri).expect("open")
    }

    fn edit(&mut self, start: usize, end: usize, text: &str) {
        let rope = self.snapshot().rope.clone();
        let range = (
            to_line_col(&rope, start, PositionEncoding::Utf8),
            to_line_col(&rope, end, PositionEncoding::Utf8),
        );
        self.version += 1;
        let change = TextChange {
            range: Some(range),
            text: text.into(),
        };
        self.store
            .change(&self.uri, self.version, &[change], PositionEncoding::Utf8)
            .expect("change");
    }

    /// Renames the `nth` whole-word `old` by backspacing it and typing `new` one key at a time.
    fn retype(&mut self, old: &str, nth: usize, new: &str) {
        let at = self.find(old, nth);
        for i in (0..old.len()).rev() {
            self.edit(at + i, at + i + 1, "");
        }
        for (i, c) in new.char_indices() {
            self.edit(at + i, at + i, &c.to_string());
        }
    }

    /// Types `typed` at the end of the `nth` `anchor`.
    fn type_after(&mut self, anchor: &str, nth: usize, typed: &str) {
        let at = self.find(anchor, nth) + anchor.len();
        for (i, c) in typed.char_indices() {
            self.edit(at + i, at + i, &c.to_string());
        }
    }

    fn find(&self, pattern: &str, nth: usize) -> usize {
        let text = self.text();
        text.match_indices(pattern).nth(nth).expect("pattern").0
    }

    /// The lines (0-based) of the places and their reasons.
    fn places(&self) -> Vec<(usize, Reason)> {
        let snapshot = self.snapshot();
        let tree = snapshot.tree_or_parse();
        places(&snapshot.rope, tree.as_ref(), &snapshot.recent_edits)
            .into_iter()
            .map(|p| (snapshot.rope.byte_to_line(p.byte), p.reason))
            .collect()
    }
}

const RUST: &str = "fn total(items: &[u32]) -> u32 {
    let count = items.len() as u32;
    // count is used twice; \"count\" is a string
    let mean = sum(items) / count;
    mean + count
}

fn sum(items: &[u32]) -> u32 {
    items.iter().sum()
}

fn main() {
    let a = total(&[1]);
    let b = sum(&[1, 2]);
}
";

#[test]
fn a_rust_rename_points_at_the_remaining_uses_not_at_comments_or_strings() {
    let mut doc = Doc::open("file:///p/a.rs", "rust", RUST);
    doc.retype("count", 0, "n");
    let places = doc.places();
    assert_eq!(places, [(3, Reason::Rename), (4, Reason::Rename)]);
    assert!(doc.text().contains("let n = items"));
}

#[test]
fn appending_to_a_name_is_a_rename_too() {
    let mut doc = Doc::open("file:///p/a.rs", "rust", RUST);
    doc.type_after("fn sum", 0, "_all");
    // Without types, the iterator's `.sum()` on line 8 is a use by name too: the model
    // asked there answers that nothing needs to change.
    assert_eq!(
        doc.places(),
        [
            (3, Reason::Rename),
            (8, Reason::Rename),
            (13, Reason::Rename)
        ]
    );
}

#[test]
fn a_rust_argument_added_to_a_call_points_at_the_other_calls() {
    let mut doc = Doc::open("file:///p/a.rs", "rust", RUST);
    doc.type_after("sum(items", 0, ", 0");
    // `sum(&[1, 2])` has one argument (holding a comma); the definition is no call.
    assert_eq!(doc.places(), [(13, Reason::CallPattern)]);
}

#[test]
fn a_rust_parameter_added_to_a_definition_points_at_its_calls() {
    let mut doc = Doc::open("file:///p/a.rs", "rust", RUST);
    doc.type_after("fn sum(items: &[u32]", 0, ", start: u32");
    assert_eq!(
        doc.places(),
        [(3, Reason::CallPattern), (13, Reason::CallPattern)]
    );
}

const PYTHON: &str = "class Cart:
    def add(self, item):
        self.items.append(item)

    def fill(self, things):
        for thing in things:
            self.add(thing)
        total = len(things)
        return total


def main(cart):
    cart.add('x')
    cart.add('y')
    print('total', cart)
";

#[test]
fn a_python_rename_of_a_local_points_at_its_uses() {
    let mut doc = Doc::open("file:///p/cart.py", "python", PYTHON);
    doc.retype("total", 0, "count");
    assert_eq!(doc.places(), [(8, Reason::Rename)]);
}

#[test]
fn a_python_method_parameter_added_points_at_calls_passing_the_old_count() {
    let mut doc = Doc::open("file:///p/cart.py", "python", PYTHON);
    doc.type_after("def add(self, item", 0, ", qty=1");
    // `self` is not passed: calls with one argument are the old pattern.
    assert_eq!(
        doc.places(),
        [
            (6, Reason::CallPattern),
            (12, Reason::CallPattern),
            (13, Reason::CallPattern)
        ]
    );
}

const TYPESCRIPT: &str = "export function greet(name: string): string {
  return `hello ${name}`;
}

const user = { name: 'ada' };
const first = greet(user.name);
const second = greet('bob');
console.log(first, second, user.name);
";

#[test]
fn a_typescript_rename_finds_identifiers_and_properties_by_name() {
    let mut doc = Doc::open("file:///p/greet.ts", "typescript", TYPESCRIPT);
    doc.retype("greet", 0, "welcome");
    assert_eq!(doc.places(), [(5, Reason::Rename), (6, Reason::Rename)]);
}

#[test]
fn a_typescript_call_given_another_argument_points_at_the_others() {
    let mut doc = Doc::open("file:///p/greet.ts", "typescript", TYPESCRIPT);
    doc.type_after("greet(user.name", 0, ", 'hi'");
    assert_eq!(doc.places(), [(6, Reason::CallPattern)]);
}

#[test]
fn typing_new_code_or_a_replaced_statement_is_no_repeat() {
    let mut doc = Doc::open("file:///p/a.rs", "rust", RUST);
    doc.type_after("fn main() {", 0, "\n    let fresh = 1;");
    assert_eq!(doc.places(), []);
    // A whole-line replacement is not a rename.
    let at = doc.find("let a = total(&[1]);", 0);
    doc.edit(at, at + "let a = total(&[1]);".len(), "let a = 2 + 3;");
    assert_eq!(doc.places(), []);
}

#[test]
fn without_a_grammar_whole_words_count() {
    let mut doc = Doc::open(
        "file:///p/notes.txt",
        "plaintext",
        "alpha beta\nalphabet alpha\n",
    );
    doc.retype("alpha", 0, "gamma");
    assert_eq!(doc.places(), [(1, Reason::Rename)]);
}

#[test]
fn later_edits_elsewhere_move_an_earlier_rename() {
    let mut doc = Doc::open("file:///p/a.rs", "rust", RUST);
    doc.retype("count", 0, "n");
    // Then a line inserted above it, and a keystroke below.
    doc.edit(0, 0, "// header\n");
    let end = doc.find("fn main() {", 0) + "fn main() {".len();
    doc.edit(end, end, " ");
    assert_eq!(doc.places(), [(4, Reason::Rename), (5, Reason::Rename)]);
}

#[test]
fn composed_changes_and_item_counts() {
    let edit = |start: usize, old: &str, new: &str| RecentEdit {
        version: 0,
        start_byte: start,
        old_text: old.into(),
        new_text: new.into(),
    };
    // "foo" selected and replaced by "b", then "ar" typed, then "x" typed elsewhere before.
    let composed = changes(&[edit(4, "foo", "b"), edit(5, "", "ar"), edit(0, "", "x")]);
    assert_eq!(
        composed,
        [
            Change {
                start: 5,
                old: "foo".into(),
                new: "bar".into()
            },
            Change {
                start: 0,
                old: String::new(),
                new: "x".into()
            }
        ]
    );
    assert_eq!(count_items("()"), 0);
    assert_eq!(count_items("(a, f(b, c), \"x,y\", [1, 2],)"), 4);
    assert_eq!(count_items("(a: &str, b: Vec<u8>)"), 2);
}
