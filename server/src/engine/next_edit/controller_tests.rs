//! The controller with a clock the tests step: no sleeping, no timing assertions.

use std::sync::Mutex;

use super::*;

struct FakeClock(Mutex<Instant>);

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Setup {
    clock: Arc<FakeClock>,
    stats: Arc<Stats>,
    controller: Controller,
    uri: Arc<str>,
    text: String,
    version: i32,
}

const TEXT: &str = "fn main() {\n    let foo = 1;\n    println!(\"{}\", foo);\n}\n";

fn setup() -> Setup {
    let clock = Arc::new(FakeClock(Mutex::new(Instant::now())));
    let stats = Arc::new(Stats::default());
    let controller = Controller::new(stats.clone(), clock.clone());
    Setup {
        clock,
        stats,
        controller,
        uri: "file:///a.rs".into(),
        text: TEXT.into(),
        version: 1,
    }
}

fn replace(text: &str, old: &str, new: &str) -> TextEdit {
    let start = text.find(old).unwrap_or_default();
    TextEdit {
        start_byte: start,
        end_byte: start + old.len(),
        new_text: new.into(),
    }
}

impl Setup {
    fn wait(&self, millis: u64) {
        let mut now = self.clock.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += Duration::from_millis(millis);
    }

    fn offer_as(&self, kind: SuggestionKind, edits: &[TextEdit], intent: Intent) -> Option<String> {
        let rope = Rope::from_str(&self.text);
        self.controller.offer(&Offer {
            uri: &self.uri,
            version: self.version,
            rope: &rope,
            kind,
            edits,
            intent,
            displayed: true,
        })
    }

    /// The next edit renaming `foo` (its first occurrence) to `bar`.
    fn offer_rename(&self) -> Option<String> {
        let edit = replace(&self.text, "foo", "bar");
        self.offer_as(SuggestionKind::NextEdit, &[edit], Intent::Medium)
    }

    /// The user replaces the first `old` with `new`.
    fn type_over(&mut self, old: &str, new: &str) {
        let start = self.text.find(old).unwrap_or_default();
        let change = ByteChange {
            start_byte: start,
            end_byte: start + old.len(),
            old_text: old.into(),
            new_text: new.into(),
        };
        self.text.replace_range(start..start + old.len(), new);
        self.version += 1;
        self.controller
            .document_changed(&self.uri, self.version, &[change]);
    }

    /// The user types `new` right before the first `before`.
    fn insert_before(&mut self, before: &str, new: &str) {
        let at = self.text.find(before).unwrap_or_default();
        let change = ByteChange {
            start_byte: at,
            end_byte: at,
            old_text: String::new(),
            new_text: new.into(),
        };
        self.text.insert_str(at, new);
        self.version += 1;
        self.controller
            .document_changed(&self.uri, self.version, &[change]);
    }

    fn kind(&self, kind: SuggestionKind) -> spark_protocol::KindStats {
        let report = self.stats.snapshot();
        match kind {
            SuggestionKind::Inline => report.kinds.inline,
            SuggestionKind::NextEdit => report.kinds.next_edit,
        }
    }
}

#[test]
fn ids_are_per_kind_and_kept_by_the_same_suggestion() {
    let s = setup();
    let first = s.offer_rename();
    assert_eq!(first.as_deref(), Some("ne-1"));
    assert_eq!(
        s.offer_rename(),
        first,
        "offered again: the same suggestion"
    );
    let ghost = TextEdit {
        start_byte: 12,
        end_byte: 12,
        new_text: "    let x".into(),
    };
    let inline = s.offer_as(SuggestionKind::Inline, &[ghost], Intent::High);
    assert_eq!(inline.as_deref(), Some("in-1"));
    // The first line of ghost text, then the whole of it: one suggestion.
    let whole = TextEdit {
        start_byte: 12,
        end_byte: 12,
        new_text: "    let x = 2;\n".into(),
    };
    assert_eq!(
        s.offer_as(SuggestionKind::Inline, &[whole], Intent::High),
        inline
    );
    // Helix-like (no show signals): each counted shown once, when answered.
    assert_eq!(s.kind(SuggestionKind::NextEdit).shown, 1);
    assert_eq!(s.kind(SuggestionKind::Inline).shown, 1);
    // An empty suggestion gets no id.
    let no_op = replace(&s.text, "foo", "foo");
    assert_eq!(
        s.offer_as(SuggestionKind::NextEdit, &[no_op], Intent::High),
        None
    );
}

#[test]
fn a_client_that_signals_shows_counts_them_when_signalled() {
    let s = setup();
    s.controller
        .shown(&s.uri, SuggestionKind::NextEdit, Some("ne-404"));
    let id = s.offer_rename();
    assert_eq!(
        s.kind(SuggestionKind::NextEdit).shown,
        0,
        "answered, not shown yet"
    );
    s.controller
        .shown(&s.uri, SuggestionKind::NextEdit, id.as_deref());
    s.controller
        .shown(&s.uri, SuggestionKind::NextEdit, id.as_deref());
    assert_eq!(s.kind(SuggestionKind::NextEdit).shown, 1);
}

#[test]
fn a_rejected_suggestion_is_not_shown_again_through_unrelated_edits() {
    let mut s = setup();
    let id = s.offer_rename();
    s.wait(1_500);
    // The user edits elsewhere: after 1.5 s on screen, that is a rejection.
    s.type_over("fn main()", "fn main2()");
    let stats = s.kind(SuggestionKind::NextEdit);
    assert_eq!((stats.shown, stats.rejected), (1, 1));
    assert_eq!(stats.acceptance_rate, Some(0.0));
    s.type_over("println", "eprintln");
    s.wait(60_000);
    assert_eq!(
        s.offer_rename(),
        None,
        "the same rename, moved by both edits"
    );
    assert_eq!(s.stats.snapshot().next_edit.suppressed, 1);
    // Another suggestion is shown.
    let other = replace(&s.text, "1;", "2;");
    let other = s.offer_as(SuggestionKind::NextEdit, &[other], Intent::Medium);
    assert!(other.is_some_and(|other| Some(other) != id));
    // Once the user changed what it replaces, it no longer applies: a rename of that is new.
    s.type_over("foo", "fob");
    let edit = replace(&s.text, "fob", "bar");
    assert!(
        s.offer_as(SuggestionKind::NextEdit, &[edit], Intent::Medium)
            .is_some()
    );
    assert_eq!(s.stats.snapshot().next_edit.rejected_reshown, 0);
}

#[test]
fn a_suggestion_for_a_version_the_document_left_is_not_offered() {
    let mut s = setup();
    s.type_over("fn main()", "fn main2()");
    let rope = Rope::from_str(TEXT);
    let stale = s.controller.offer(&Offer {
        uri: &s.uri,
        version: 1,
        rope: &rope,
        kind: SuggestionKind::NextEdit,
        edits: &[replace(TEXT, "foo", "bar")],
        intent: Intent::High,
        displayed: true,
    });
    assert_eq!(stale, None);
    assert!(s.offer_rename().is_some(), "at the current version");
}

#[test]
fn leaving_a_suggestion_within_a_second_is_no_rejection() {
    let mut s = setup();
    s.offer_rename();
    s.wait(400);
    s.type_over("fn main()", "fn main2()");
    assert_eq!(s.kind(SuggestionKind::NextEdit).rejected, 0);
    assert!(s.offer_rename().is_some(), "not remembered");
}

#[test]
fn dismissing_rejects_at_once_and_cools_next_edits_down() {
    let s = setup();
    let id = s.offer_rename();
    s.wait(100);
    s.controller
        .rejected(&s.uri, SuggestionKind::NextEdit, id.as_deref());
    assert_eq!(s.kind(SuggestionKind::NextEdit).rejected, 1);
    assert_eq!(s.controller.gate(&s.uri, 1, 9), Gate::Cooling);
    s.wait(4_999);
    assert_eq!(s.controller.gate(&s.uri, 1, 9), Gate::Cooling);
    s.wait(1);
    assert_eq!(s.controller.gate(&s.uri, 1, 9), Gate::Open, "5 s after");
    // A late show of the rejected suggestion is a re-show, and counted as such.
    s.controller
        .shown(&s.uri, SuggestionKind::NextEdit, id.as_deref());
    assert_eq!(s.stats.snapshot().next_edit.rejected_reshown, 1);
}

#[test]
fn asking_again_on_the_same_line_and_version_waits_five_seconds() {
    let s = setup();
    let uri = &s.uri;
    let asked = |version, line| {
        let gate = s.controller.gate(uri, version, line);
        if gate == Gate::Open {
            s.controller.answered(uri, version, line);
        }
        gate
    };
    assert_eq!(asked(1, 3), Gate::Open);
    assert_eq!(asked(1, 3), Gate::SameLine);
    assert_eq!(asked(2, 3), Gate::Open, "the text changed");
    assert_eq!(asked(2, 4), Gate::Open, "another line");
    assert_eq!(asked(2, 3), Gate::Open, "not the latest line");
    s.wait(4_999);
    assert_eq!(asked(2, 3), Gate::SameLine);
    s.wait(2);
    assert_eq!(asked(2, 3), Gate::Open);
    // While the first request is in flight, a second one joins it (the engine's doing).
    assert_eq!(s.controller.gate(uri, 3, 0), Gate::Open);
    assert_eq!(s.controller.gate(uri, 3, 0), Gate::Open);
    // Configured off.
    s.controller.configure(Eagerness::Auto, Duration::ZERO);
    assert_eq!(asked(2, 3), Gate::Open);
    assert_eq!(asked(2, 3), Gate::Open);
}

#[test]
fn intent_must_meet_the_eagerness_and_auto_follows_the_user() {
    let s = setup();
    s.controller.configure(Eagerness::Low, Duration::ZERO);
    let rename = replace(&s.text, "foo", "bar");
    let medium = s.offer_as(
        SuggestionKind::NextEdit,
        std::slice::from_ref(&rename),
        Intent::Medium,
    );
    assert_eq!(medium, None);
    assert!(
        s.offer_as(SuggestionKind::NextEdit, &[rename], Intent::High)
            .is_some()
    );
    // Auto: three rejections bring it down to low, where a medium suggestion is not shown.
    s.controller.configure(Eagerness::Auto, Duration::ZERO);
    for n in 0..3 {
        let edit = replace(&s.text, "1;", &format!("{n}0;"));
        let id = s.offer_as(SuggestionKind::NextEdit, &[edit], Intent::Medium);
        s.controller
            .rejected(&s.uri, SuggestionKind::NextEdit, id.as_deref());
    }
    let edit = replace(&s.text, "main", "start");
    assert_eq!(
        s.offer_as(
            SuggestionKind::NextEdit,
            std::slice::from_ref(&edit),
            Intent::Medium
        ),
        None
    );
    // Accepting high-intent ones brings it back up.
    for n in 0..4 {
        let edit = replace(&s.text, "{}", &format!("{{{n}}}"));
        let id = s.offer_as(SuggestionKind::NextEdit, &[edit], Intent::High);
        s.controller
            .accepted(&s.uri, SuggestionKind::NextEdit, id.as_deref(), false);
    }
    let edit = replace(&s.text, "main", "start");
    assert!(
        s.offer_as(SuggestionKind::NextEdit, &[edit], Intent::Medium)
            .is_some()
    );
}

#[test]
fn an_edit_that_applies_the_suggestion_accepts_it_once() {
    let mut s = setup();
    let id = s.offer_rename();
    s.type_over("foo", "bar");
    // The editor's accept command comes after the edit: the same accept.
    s.controller
        .accepted(&s.uri, SuggestionKind::NextEdit, id.as_deref(), false);
    let stats = s.kind(SuggestionKind::NextEdit);
    assert_eq!((stats.shown, stats.accepted, stats.rejected), (1, 1, 0));
    assert_eq!(stats.acceptance_rate, Some(1.0));
}

#[test]
fn a_partial_accept_counts_once_and_the_rest_may_follow() {
    let mut s = setup();
    let at = s.text.find("    let").unwrap_or_default();
    let ghost = TextEdit {
        start_byte: at,
        end_byte: at,
        new_text: "    let x = 2;\n".into(),
    };
    let id = s.offer_as(SuggestionKind::Inline, &[ghost], Intent::High);
    s.type_over("    let foo", "    let x = 2;\n    let foo");
    let stats = s.kind(SuggestionKind::Inline);
    assert_eq!((stats.accepted, stats.partially_accepted), (1, 0));

    let id2 = {
        let at = s.text.find("}\n").unwrap_or_default();
        let ghost = TextEdit {
            start_byte: at,
            end_byte: at,
            new_text: "drop(x);\n".into(),
        };
        s.offer_as(SuggestionKind::Inline, &[ghost], Intent::High)
    };
    assert_ne!(id, id2);
    assert_eq!(
        s.controller
            .suggested_text(&s.uri, SuggestionKind::Inline, None)
            .as_deref(),
        Some("drop(x);\n")
    );
    // A word accepted, then typed: a partial accept, and progress on the same suggestion.
    s.controller
        .accepted(&s.uri, SuggestionKind::Inline, id2.as_deref(), true);
    s.insert_before("}\n", "drop");
    assert!(
        s.controller
            .suggested_text(&s.uri, SuggestionKind::Inline, None)
            .is_some_and(|rest| rest == "(x);\n"),
        "typed through, the rest is still suggested"
    );
    s.insert_before("}\n", "(x);\n");
    assert_eq!(s.text.matches("drop(x);").count(), 1);
    let stats = s.kind(SuggestionKind::Inline);
    assert_eq!((stats.accepted, stats.partially_accepted), (2, 1));
    assert_eq!(stats.rejected, 0);
}

#[test]
fn ghost_text_on_screen_holds_back_a_next_edit_on_its_line() {
    let s = setup();
    let at = s.text.find("foo").unwrap_or_default() + 3;
    let ghost = TextEdit {
        start_byte: at,
        end_byte: at,
        new_text: "_count".into(),
    };
    assert!(
        s.offer_as(SuggestionKind::Inline, &[ghost], Intent::High)
            .is_some()
    );
    assert_eq!(s.offer_rename(), None, "the ghost text is on its line");
    // As the inline list's second item, behind the ghost text, it is offered.
    let rope = Rope::from_str(&s.text);
    let rename = replace(&s.text, "foo", "bar");
    let alternative = s.controller.offer(&Offer {
        uri: &s.uri,
        version: s.version,
        rope: &rope,
        kind: SuggestionKind::NextEdit,
        edits: &[rename],
        intent: Intent::Medium,
        displayed: false,
    });
    assert!(alternative.is_some());
    assert_eq!(s.kind(SuggestionKind::NextEdit).shown, 0);
    // A next edit elsewhere is not at the cursor.
    let elsewhere = replace(&s.text, "main", "start");
    assert!(
        s.offer_as(SuggestionKind::NextEdit, &[elsewhere], Intent::Medium)
            .is_some()
    );
}

#[test]
fn showing_another_suggestion_leaves_the_previous_one_behind() {
    let s = setup();
    let first = s.offer_rename();
    s.wait(2_000);
    let second = replace(&s.text, "main", "start");
    s.offer_as(SuggestionKind::NextEdit, &[second], Intent::Medium);
    assert_eq!(s.kind(SuggestionKind::NextEdit).rejected, 1);
    // Closing the document forgets its rejections.
    s.controller.closed(&s.uri);
    s.wait(10_000);
    assert!(first.is_some());
    assert!(s.offer_rename().is_some());
}

proptest::proptest! {
    /// A rejected suggestion is never offered again while it applies, whatever edits that do not
    /// touch it follow: carried through them, it is still recognised at its new place.
    #[test]
    fn a_rejected_suggestion_stays_rejected_through_unrelated_edits(
        before in "[a-z\n]{0,20}",
        after in "[a-z\n]{0,20}",
        changes in proptest::collection::vec(
            (proptest::sample::select(vec![true, false]), proptest::prelude::any::<proptest::sample::Index>(), 0usize..3, "[a-z\n]{0,3}"),
            0..10,
        ),
    ) {
        let mut s = setup();
        s.text = format!("{before}§foo§{after}");
        let rename = |text: &str| replace(text, "§foo§", "§bar§");
        let id = s.offer_as(SuggestionKind::NextEdit, &[rename(&s.text)], Intent::High);
        s.controller.rejected(&s.uri, SuggestionKind::NextEdit, id.as_deref());
        for (in_front, at, len, new) in changes {
            // Somewhere in the text before the suggestion's target, or after it.
            let (low, high) = match (s.text.find('§'), s.text.rfind('§')) {
                (Some(open), Some(_)) if in_front => (0, open),
                (Some(_), Some(close)) => (close + '§'.len_utf8(), s.text.len()),
                _ => (0, 0),
            };
            let start = low + at.index(high - low + 1);
            let end = (start + len).min(high);
            let old: String = s.text[start..end].to_owned();
            let change = ByteChange { start_byte: start, end_byte: end, old_text: old, new_text: new.clone() };
            s.text.replace_range(start..end, &new);
            s.version += 1;
            s.controller.document_changed(&s.uri, s.version, &[change]);
        }
        s.wait(60_000);
        let again = s.offer_as(SuggestionKind::NextEdit, &[rename(&s.text)], Intent::High);
        proptest::prop_assert_eq!(again, None);
        proptest::prop_assert_eq!(s.stats.snapshot().next_edit.rejected_reshown, 0);
    }
}

#[test]
fn dismissed_ghost_text_is_not_offered_again_until_its_place_is_edited() {
    let mut s = setup();
    let at = s.text.find("\n}").unwrap_or_default();
    let ghost = |s: &Setup, text: &str| {
        let edit = TextEdit {
            start_byte: at + s.text.len() - TEXT.len(),
            end_byte: at + s.text.len() - TEXT.len(),
            new_text: text.into(),
        };
        s.offer_as(SuggestionKind::Inline, &[edit], Intent::High)
    };
    let id = ghost(&s, "\n    return;");
    assert_eq!(id.as_deref(), Some("in-1"));
    s.controller
        .rejected(&s.uri, SuggestionKind::Inline, id.as_deref());
    assert_eq!(s.kind(SuggestionKind::Inline).rejected, 1);
    // Asked again at the same place (the cache or the model gives the same answer): held back,
    // also after edits elsewhere have moved it.
    assert_eq!(ghost(&s, "\n    return;"), None);
    s.type_over("fn main()", "fn main2()");
    assert_eq!(ghost(&s, "\n    return;"), None);
    // Another suggestion there is shown; ghost text never cools next edits down.
    assert!(ghost(&s, "\n    exit(0);").is_some());
    assert_eq!(s.controller.gate(&s.uri, s.version, 3), Gate::Open);
    // Once the user types at that place, the rejection no longer applies.
    s.insert_before("\n}", " ");
    assert!(ghost(&s, "\n    return;").is_some());
    assert_eq!(s.stats.snapshot().next_edit.rejected_reshown, 0);
}

#[test]
fn ghost_text_left_behind_after_a_second_on_screen_is_remembered_as_rejected() {
    for signals_shows in [true, false] {
        let mut s = setup();
        let at = s.text.find("\n}").unwrap_or_default();
        let edit = TextEdit {
            start_byte: at,
            end_byte: at,
            new_text: "\n    return;".into(),
        };
        let id = s.offer_as(
            SuggestionKind::Inline,
            std::slice::from_ref(&edit),
            Intent::High,
        );
        if signals_shows {
            s.controller
                .shown(&s.uri, SuggestionKind::Inline, id.as_deref());
        }
        s.wait(1_500);
        // The user went on typing elsewhere: rejected.
        s.insert_before("fn main", "// x\n");
        assert_eq!(s.kind(SuggestionKind::Inline).rejected, 1);
        let moved = TextEdit {
            start_byte: at + 5,
            end_byte: at + 5,
            ..edit
        };
        // Remembered only when the client said it was on screen: without show signals, ghost
        // text counts as shown when answered, seen or not.
        let again = s.offer_as(SuggestionKind::Inline, &[moved], Intent::High);
        assert_eq!(again.is_none(), signals_shows);
    }
}
