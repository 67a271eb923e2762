//! Eagerness: how sure a next edit must be to be shown (`nextEdit.eagerness`). `high` shows
//! low-intent suggestions too, `medium` medium and high ones, `low` only high-intent ones.
//!
//! `auto` follows the user's last [`WINDOW`] next-edit outcomes (accepted 1, rejected 0): a
//! score of at least 0.7 means high eagerness, at least 0.4 medium, else low. Outcomes not seen
//! yet count as half, so a new session starts at medium and one rejection does not silence it.

use std::collections::VecDeque;

use super::Intent;
use crate::config::Eagerness;

/// How many recent outcomes `auto` scores.
pub const WINDOW: usize = 10;

/// The eagerness in effect, after `auto` is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Low,
    Medium,
    High,
}

#[derive(Default)]
pub struct Adaptive {
    setting: Eagerness,
    /// Accepted (true) or rejected, oldest first.
    outcomes: VecDeque<bool>,
}

impl Adaptive {
    pub fn set(&mut self, setting: Eagerness) {
        self.setting = setting;
    }

    pub fn record(&mut self, accepted: bool) {
        if self.outcomes.len() == WINDOW {
            self.outcomes.pop_front();
        }
        self.outcomes.push_back(accepted);
    }

    pub fn level(&self) -> Level {
        match self.setting {
            Eagerness::Low => Level::Low,
            Eagerness::Medium => Level::Medium,
            Eagerness::High => Level::High,
            Eagerness::Auto => {
                // In halves, to stay in integers: accepts count 2, unseen outcomes 1, of 20.
                let accepted = self.outcomes.iter().filter(|&&a| a).count();
                let halves = 2 * accepted + (WINDOW - self.outcomes.len());
                if halves * 10 >= 7 * 2 * WINDOW {
                    Level::High
                } else if halves * 10 >= 4 * 2 * WINDOW {
                    Level::Medium
                } else {
                    Level::Low
                }
            }
        }
    }

    /// Whether a suggestion of `intent` is shown at the level in effect.
    pub fn admits(&self, intent: Intent) -> bool {
        match self.level() {
            Level::High => matches!(intent, Intent::Low | Intent::Medium | Intent::High),
            Level::Medium => matches!(intent, Intent::Medium | Intent::High),
            Level::Low => matches!(intent, Intent::High),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(outcomes: &[bool]) -> Adaptive {
        let mut eagerness = Adaptive::default();
        for &accepted in outcomes {
            eagerness.record(accepted);
        }
        eagerness
    }

    #[test]
    fn auto_starts_at_medium_and_follows_the_last_ten_outcomes() {
        assert_eq!(auto(&[]).level(), Level::Medium);
        // One or two rejections of a fresh session: 0.45, 0.4.
        assert_eq!(auto(&[false]).level(), Level::Medium);
        assert_eq!(auto(&[false, false]).level(), Level::Medium);
        assert_eq!(auto(&[false; 3]).level(), Level::Low);
        // Four accepts: (8 + 6) / 20 = 0.7.
        assert_eq!(auto(&[true; 4]).level(), Level::High);
        assert_eq!(auto(&[true; 3]).level(), Level::Medium);
        // A full window: 7 of 10 is high, 4 medium, 3 low.
        let window = |accepts: usize| {
            let mut outcomes = vec![false; WINDOW - accepts];
            outcomes.extend(vec![true; accepts]);
            auto(&outcomes).level()
        };
        assert_eq!(window(7), Level::High);
        assert_eq!(window(6), Level::Medium);
        assert_eq!(window(4), Level::Medium);
        assert_eq!(window(3), Level::Low);
        // Only the latest ten count: ten rejections after many accepts.
        let mut outcomes = vec![true; 30];
        outcomes.extend([false; WINDOW]);
        assert_eq!(auto(&outcomes).level(), Level::Low);
    }

    #[test]
    fn intent_must_meet_the_level() {
        let mut eagerness = Adaptive::default();
        let admitted = |e: &Adaptive| {
            [Intent::Low, Intent::Medium, Intent::High]
                .into_iter()
                .filter(|&intent| e.admits(intent))
                .count()
        };
        eagerness.set(Eagerness::High);
        assert_eq!(admitted(&eagerness), 3);
        eagerness.set(Eagerness::Medium);
        assert_eq!(admitted(&eagerness), 2);
        assert!(!eagerness.admits(Intent::Low));
        eagerness.set(Eagerness::Low);
        assert_eq!(admitted(&eagerness), 1);
        assert!(eagerness.admits(Intent::High));
        // An explicit setting ignores the outcomes.
        for _ in 0..WINDOW {
            eagerness.record(true);
        }
        assert_eq!(eagerness.level(), Level::Low);
    }
}
