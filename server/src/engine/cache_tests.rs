//! The cache's matching rules on fixtures: `$0` marks the cursor where the suggestion was
//! asked for, `$1` the cursor of the later request.

use ropey::Rope;

use super::CachePoint;

/// The bytes of the suggestion typed at `$1`, for a suggestion `suggestion` shown at `$0` of
/// `before` (the document then) and `$1` of `after` (the document now).
fn check(before: &str, after: &str, suggestion: &str) -> Option<usize> {
    let cursor0 = before.find("$0").expect("$0 in before");
    let point = CachePoint::at(&Rope::from_str(&before.replace("$0", "")), cursor0);
    let cursor1 = after.find("$1").expect("$1 in after");
    let now = Rope::from_str(&after.replace("$1", ""));
    point.typed(&now, cursor1, suggestion)
}

#[test]
fn the_same_spot_matches_with_nothing_typed() {
    assert_eq!(
        check(
            "fn f() {\n    $0\n}\n",
            "fn f() {\n    $1\n}\n",
            "let x = 1;"
        ),
        Some(0)
    );
}

#[test]
fn typing_the_suggestions_characters_matches_them() {
    let suggestion = "let x = 1;\n    x + 1";
    assert_eq!(
        check(
            "fn f() {\n    $0\n}\n",
            "fn f() {\n    let$1\n}\n",
            suggestion
        ),
        Some(3)
    );
    assert_eq!(
        check(
            "fn f() {\n    $0\n}\n",
            "fn f() {\n    let x = 1;\n$1\n}\n",
            suggestion
        ),
        Some(11),
        "past a line break of the suggestion"
    );
}

#[test]
fn accepting_part_of_a_suggestion_is_typing_it_at_once() {
    let suggestion = "let x = 1;\n    x + 1";
    assert_eq!(
        check(
            "fn f() {\n    $0\n}\n",
            "fn f() {\n    let x = 1;$1\n}\n",
            suggestion
        ),
        Some(10)
    );
}

#[test]
fn typing_something_else_diverges() {
    let suggestion = "let x = 1;";
    assert_eq!(
        check(
            "fn f() {\n    $0\n}\n",
            "fn f() {\n    lex$1\n}\n",
            suggestion
        ),
        None
    );
    assert_eq!(
        check(
            "fn f() {\n    $0\n}\n",
            "fn f() {\n    let x = 1;;$1\n}\n",
            suggestion
        ),
        None,
        "beyond it"
    );
}

#[test]
fn deleting_before_the_spot_diverges() {
    assert_eq!(
        check("fn f() {\n    ab$0\n}\n", "fn f() {\n    a$1\n}\n", "cd"),
        None
    );
}

#[test]
fn an_edit_above_the_cursor_diverges_even_if_the_cursor_moves_with_it() {
    let before = "fn f() {\n    $0\n}\n";
    assert_eq!(check(before, "fn g() {\n    $1\n}\n", "x"), None);
    assert_eq!(check(before, "fn fg() {\n   $1\n}\n", "x"), None);
}

#[test]
fn a_change_to_the_rest_of_the_line_diverges() {
    assert_eq!(check("call($0)\n", "call($1))\n", "a, b"), None);
    assert_eq!(check("call($0)\n", "call(a$1)\n", "a, b"), Some(1));
    assert_eq!(
        check("call($0)\nnext", "call(a$1)\nchanged", "a, b"),
        Some(1),
        "later lines do not matter"
    );
}

#[test]
fn non_ascii_text_is_compared_by_bytes_on_char_boundaries() {
    let suggestion = "«é» 🦀";
    assert_eq!(
        check("s = $0\n", "s = «é$1\n", suggestion),
        Some("«é".len())
    );
    assert_eq!(check("s = $0\n", "s = «e$1\n", suggestion), None);
}

#[test]
fn a_cursor_past_the_end_of_the_text_never_matches() {
    assert_eq!(check("ab$0", "ab$1", "cd"), Some(0));
    let point = CachePoint::at(&Rope::from_str("ab"), 2);
    assert_eq!(point.typed(&Rope::from_str("ab"), 9, "cdefghijkl"), None);
}

mod lookup {
    use std::sync::Arc;

    use ropey::Rope;
    use tokio::sync::watch;

    use super::super::{CachePoint, SuggestionCache};
    use crate::engine::generation::{Progress, State};

    /// Whether a request at `$1` of `now` is a hit for a suggestion in `state` asked at `$0`.
    fn check(before: &str, now: &str, text: &str, state: State) -> Option<usize> {
        let cursor0 = before.find("$0").expect("$0");
        let point = CachePoint::at(&Rope::from_str(&before.replace("$0", "")), cursor0);
        let (tx, rx) = watch::channel(Progress {
            text: text.into(),
            state,
        });
        let cache = SuggestionCache::default();
        let uri: Arc<str> = "file:///a.rs".into();
        cache.insert(uri.clone(), point, rx);
        let cursor1 = now.find("$1").expect("$1");
        let hit = cache.lookup(&uri, &Rope::from_str(&now.replace("$1", "")), cursor1);
        drop(tx);
        hit.map(|hit| hit.typed)
    }

    #[test]
    fn a_finished_suggestion_typed_to_its_end_has_nothing_left() {
        assert_eq!(check("x = $0\n", "x = 1$1\n", "12", State::Done), Some(1));
        assert_eq!(check("x = $0\n", "x = 12$1\n", "12", State::Done), None);
    }

    #[test]
    fn a_streaming_suggestion_typed_to_its_end_is_waited_on() {
        assert_eq!(
            check("x = $0\n", "x = 12$1\n", "12", State::Streaming),
            Some(2)
        );
        assert_eq!(check("x = $0\n", "x = $1\n", "", State::Streaming), Some(0));
    }

    #[test]
    fn dropped_cancelled_and_failed_suggestions_never_hit() {
        for state in [
            State::Dropped,
            State::Cancelled,
            State::Failed(crate::providers::ProviderError::Timeout),
        ] {
            assert_eq!(check("x = $0\n", "x = $1\n", "12", state), None);
        }
    }
}
