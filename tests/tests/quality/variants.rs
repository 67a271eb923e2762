//! What the reference model server answers for a hole: the truth, and the truth dressed in
//! the ways models get it wrong (fences, prose, repeats, overruns, doubled closers, blank
//! lines, the other line ending).

use crate::holes::Hole;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Truth,
    FencedTagged,
    FencedBare,
    Prose,
    PlusSuffix,
    RunsOn,
    DoubledCloser,
    RestatesPrefix,
    BlankLines,
    OtherLineEnding,
}

impl Variant {
    pub const ALL: [Variant; 10] = [
        Variant::Truth,
        Variant::FencedTagged,
        Variant::FencedBare,
        Variant::Prose,
        Variant::PlusSuffix,
        Variant::RunsOn,
        Variant::DoubledCloser,
        Variant::RestatesPrefix,
        Variant::BlankLines,
        Variant::OtherLineEnding,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Truth => "the truth",
            Variant::FencedTagged => "fenced, language tag",
            Variant::FencedBare => "fenced, no tag",
            Variant::Prose => "prose + fence + prose",
            Variant::PlusSuffix => "+ the text after the cursor",
            Variant::RunsOn => "runs on into the next block",
            Variant::DoubledCloser => "closing bracket doubled",
            Variant::RestatesPrefix => "restates the prefix's last line",
            Variant::BlankLines => "extra blank lines",
            Variant::OtherLineEnding => "the other line ending",
        }
    }
}

/// Lines of the text after the cursor a model that runs on repeats.
const RUN_ON_LINES: usize = 8;
/// ... and at most this many bytes of it, to stay under the output cap.
const RUN_ON_BYTES: usize = 400;

/// The raw answer for `variant`, or `None` where the variant does not apply: prose only from
/// chat models (a completion model writes no Markdown); a doubled closer only when the truth
/// ends with a closing bracket of code (in a string or comment it is text like any other); the other line ending only when the truth has a line break; and leading blank
/// lines only from chat models (a completion model's leading line breaks are the text it means
/// to insert, so only trailing ones are added for it).
pub fn answer(hole: &Hole, variant: Variant, chat: bool, fence_tag: &str) -> Option<String> {
    let truth = hole.truth.as_str();
    let fenced = |tag: &str| format!("```{tag}\n{truth}\n```\n");
    Some(match variant {
        Variant::Truth => truth.to_owned(),
        Variant::FencedTagged => fenced(fence_tag),
        Variant::FencedBare => fenced(""),
        Variant::Prose if chat => format!(
            "Here is the code to insert at the cursor:\n\n{}\nThis completes the code at the cursor.\n",
            fenced(fence_tag)
        ),
        Variant::Prose => return None,
        Variant::PlusSuffix => format!("{truth}{}", suffix_head(&hole.after)),
        Variant::RunsOn => format!("{truth}{}", run_on(&hole.after)),
        Variant::DoubledCloser if hole.ends_with_code_closer => {
            let closer = truth.trim_end().chars().last()?;
            format!("{}{closer}", truth.trim_end())
        }
        Variant::DoubledCloser => return None,
        Variant::RestatesPrefix => format!("{}{truth}", last_prefix_line(&hole.before)),
        Variant::BlankLines if chat => format!("\n\n{truth}\n\n"),
        Variant::BlankLines => format!("{truth}\n\n"),
        Variant::OtherLineEnding if truth.contains("\r\n") => truth.replace("\r\n", "\n"),
        Variant::OtherLineEnding if truth.contains('\n') => truth.replace('\n', "\r\n"),
        Variant::OtherLineEnding => return None,
    })
}

/// The text after the cursor through the first line with code: the rest of the cursor line
/// when it has any, else the line break and the next non-blank line.
fn suffix_head(after: &str) -> &str {
    let mut end = 0;
    for line in after.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if !content.trim().is_empty() {
            return &after[..end + content.len()];
        }
        end += line.len();
    }
    after
}

/// Up to [`RUN_ON_LINES`] lines of the text after the cursor, cut at a line end.
fn run_on(after: &str) -> &str {
    let mut end = 0;
    for line in after.split_inclusive('\n').take(RUN_ON_LINES) {
        if end + line.len() > RUN_ON_BYTES {
            break;
        }
        end += line.len();
    }
    &after[..end]
}

/// The prefix from the start of its last line with code: the cursor line's text before the
/// cursor, or, at a line start, the line above too.
fn last_prefix_line(before: &str) -> &str {
    let mut start = before.rfind('\n').map_or(0, |i| i + 1);
    while start > 0 && before[start..].trim().is_empty() {
        start = before[..start - 1].rfind('\n').map_or(0, |i| i + 1);
    }
    &before[start..]
}
