//! Scoring a suggestion against the original file, the tables, and the targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ropey::Rope;
use spark_lsp::syntax::{self, Language};

use crate::holes::{Fixture, Hole, Kind};
use crate::run::{Delivery, Family};
use crate::variants::Variant;

/// What a suggestion did to the document.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// The document is byte for byte the original file.
    pub exact: bool,
    /// Nothing was suggested.
    pub empty: bool,
    /// The document has no more syntax errors than it had with the hole.
    pub syntax_ok: bool,
}

pub struct Case {
    pub hole: usize,
    pub variant: Variant,
    pub family: Family,
    pub delivery: Delivery,
    pub outcome: Outcome,
    /// Whether the answer inserted at the cursor as the model gave it is exact.
    pub raw_exact: bool,
    /// What the editor inserted, for the failure list.
    pub inserted: Option<String>,
}

/// Judges documents against their hole's original, counting syntax errors with the server's
/// own grammars (a tree-sitter parse of the whole document).
pub struct Judge<'a> {
    fixtures: &'a [Fixture],
    holes: &'a [Hole],
    /// Syntax errors of each holed document, counted once.
    holed_errors: BTreeMap<usize, usize>,
}

impl<'a> Judge<'a> {
    pub fn new(fixtures: &'a [Fixture], holes: &'a [Hole]) -> Self {
        Self {
            fixtures,
            holes,
            holed_errors: BTreeMap::new(),
        }
    }

    pub fn judge(&mut self, hole_index: usize, document: Option<&str>) -> Outcome {
        let hole = &self.holes[hole_index];
        let Some(document) = document else {
            return Outcome {
                empty: true,
                syntax_ok: true,
                ..Outcome::default()
            };
        };
        if *document == hole.original() {
            return Outcome {
                exact: true,
                syntax_ok: true,
                empty: false,
            };
        }
        let language = Language::from_language_id(self.fixtures[hole.fixture].language_id);
        let holed = *self
            .holed_errors
            .entry(hole_index)
            .or_insert_with(|| errors(language, &format!("{}{}", hole.before, hole.after)));
        Outcome {
            exact: false,
            empty: false,
            syntax_ok: errors(language, document) <= holed,
        }
    }
}

fn errors(language: Option<Language>, text: &str) -> usize {
    let rope = Rope::from_str(text);
    language
        .and_then(|language| syntax::parse(language, &rope, None))
        .map_or(0, |tree| syntax::error_count(&tree, 0..text.len()))
}

/// Counts of a group of cases.
#[derive(Clone, Copy, Default)]
struct Tally {
    cases: usize,
    exact: usize,
    syntax_ok: usize,
    empty: usize,
    raw_exact: usize,
}

impl Tally {
    fn add(&mut self, case: &Case) {
        self.cases += 1;
        self.exact += usize::from(case.outcome.exact);
        self.syntax_ok += usize::from(case.outcome.syntax_ok);
        self.empty += usize::from(case.outcome.empty);
        self.raw_exact += usize::from(case.raw_exact);
    }

    fn percent(part: usize, whole: usize) -> f64 {
        if whole == 0 {
            100.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    }

    fn exact_pct(&self) -> f64 {
        Self::percent(self.exact, self.cases)
    }

    fn columns(&self) -> String {
        format!(
            "{} | {:.1}% | {:.1}% | {:.1}%",
            self.cases,
            self.exact_pct(),
            Self::percent(self.syntax_ok, self.cases),
            Self::percent(self.empty, self.cases),
        )
    }
}

fn tally_by<K: Ord>(cases: &[Case], key: impl Fn(&Case) -> K) -> BTreeMap<K, Tally> {
    let mut groups: BTreeMap<K, Tally> = BTreeMap::new();
    for case in cases {
        groups.entry(key(case)).or_default().add(case);
    }
    groups
}

/// The tables, in Markdown.
pub fn tables(cases: &[Case], holes: &[Hole]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| model answer | cases | exact | syntax ok | empty | raw insert exact |\n|---|---|---|---|---|---|"
    );
    for (variant, tally) in tally_by(cases, |c| c.variant) {
        let raw = Tally::percent(tally.raw_exact, tally.cases);
        let _ = writeln!(
            out,
            "| {} | {} | {raw:.1}% |",
            variant.name(),
            tally.columns()
        );
    }
    let total: Tally = cases.iter().fold(Tally::default(), |mut t, c| {
        t.add(c);
        t
    });
    let raw = Tally::percent(total.raw_exact, total.cases);
    let _ = writeln!(out, "| **all** | {} | {raw:.1}% |", total.columns());
    let _ = writeln!(
        out,
        "\n| hole kind | holes | cases | exact | syntax ok | empty |\n|---|---|---|---|---|---|"
    );
    for (kind, tally) in tally_by(cases, |c| holes[c.hole].kind) {
        let count = holes.iter().filter(|h| h.kind == kind).count();
        let _ = writeln!(out, "| {} | {count} | {} |", kind.name(), tally.columns());
    }
    let _ = writeln!(
        out,
        "\n| prompt family, delivery | cases | exact | syntax ok | empty |\n|---|---|---|---|---|"
    );
    for ((family, delivery), tally) in tally_by(cases, |c| (c.family, c.delivery)) {
        let _ = writeln!(
            out,
            "| {}, {} | {} |",
            family.name(),
            delivery.name(),
            tally.columns()
        );
    }
    out
}

/// The cases that were not exact, for the log: where, what the model said, what was inserted.
pub fn misses(cases: &[Case], holes: &[Hole], fixtures: &[Fixture], limit: usize) -> String {
    let mut out = String::new();
    let missed: Vec<&Case> = cases.iter().filter(|c| !c.outcome.exact).collect();
    for case in missed.iter().take(limit) {
        let hole = &holes[case.hole];
        let _ = writeln!(
            out,
            "- {} / {} / {} / {}, {}: truth {:?}, inserted {:?}{}",
            fixtures[hole.fixture].name,
            hole.kind.name(),
            case.variant.name(),
            case.family.name(),
            case.delivery.name(),
            hole.truth,
            case.inserted,
            if case.outcome.syntax_ok {
                ""
            } else {
                " (adds a syntax error)"
            },
        );
    }
    if missed.len() > limit {
        let _ = writeln!(out, "- … and {} more", missed.len() - limit);
    }
    out
}

/// The targets; every one missed is listed.
pub fn check(cases: &[Case], min_exact_pct: f64) -> Result<(), String> {
    let mut failures = Vec::new();
    let truth = tally_by(cases, |c| {
        (c.variant == Variant::Truth, c.family, c.delivery)
    });
    for ((_, family, delivery), tally) in truth.into_iter().filter(|((truth, ..), _)| *truth) {
        if tally.exact != tally.cases {
            failures.push(format!(
                "the truth is exact in {} of {} cases ({}, {}): it must be all",
                tally.exact,
                tally.cases,
                family.name(),
                delivery.name()
            ));
        }
    }
    for ((variant, family), tally) in tally_by(cases, |c| (c.variant, c.family)) {
        if tally.exact_pct() < min_exact_pct {
            failures.push(format!(
                "{} ({}): {:.1}% exact, under {min_exact_pct}%",
                variant.name(),
                family.name(),
                tally.exact_pct()
            ));
        }
        if tally.exact < tally.raw_exact {
            failures.push(format!(
                "{} ({}): {} exact, fewer than inserting the raw answer ({})",
                variant.name(),
                family.name(),
                tally.exact,
                tally.raw_exact
            ));
        }
    }
    let damaged = cases
        .iter()
        .filter(|c| c.raw_exact && !c.outcome.exact)
        .count();
    if damaged > 0 {
        failures.push(format!(
            "{damaged} answers that were right as given were changed"
        ));
    }
    let broken = cases.iter().filter(|c| !c.outcome.syntax_ok).count();
    if broken > 0 {
        failures.push(format!("{broken} suggestions add a syntax error"));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// The hole kinds the fixtures gave holes of.
pub fn kinds_present(holes: &[Hole]) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = holes.iter().map(|h| h.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}
