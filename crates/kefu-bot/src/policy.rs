//! What the bot does with a visitor's message, given what its plugins found:
//! answer with the best entry, ask which of a few entries was meant, or hand
//! the conversation to a person, always with the reason.
//!
//! **Fusion.** Each plugin (lexical, semantic, LLM…) gives entries a
//! confidence in 0..=1. An entry's fused score is the weighted mean over the
//! plugins that answered in time (a plugin that timed out is left out, not
//! counted as zero, so a slow model never silences the bot).
//!
//! **Decision.** Answer when the best score reaches `answer` *and* leads the
//! runner-up by `margin` (two close entries mean the bot cannot tell them
//! apart); otherwise ask "did you mean…" with up to three entries above
//! `clarify`; otherwise the turn is a low-confidence one. Hand-off happens
//! when the visitor asks for a person, after `low_confidence_turns` such turns
//! in a row, after a thumbs-down, once the bot has taken `max_bot_turns`, or
//! when a rule says so. The policy never answers below its thresholds (a
//! property test holds it to that).

use serde::Serialize;
use std::collections::HashMap;

pub use kefu_core::bot::{HandOffReason, Patience, Thresholds};

/// What one plugin found for a message.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginResult {
    pub plugin: String,
    pub weight: f32,
    /// Entry id and confidence in 0..=1.
    pub candidates: Vec<(String, f32)>,
}

/// An entry with its fused score and each plugin's part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fused {
    pub entry: String,
    pub score: f32,
    pub by_plugin: Vec<(String, f32)>,
}

/// Merges the plugins' candidates, best first (ties by entry id, so the
/// order never depends on hashing).
pub fn fuse(results: &[PluginResult]) -> Vec<Fused> {
    let total: f32 = results.iter().map(|r| r.weight.max(0.0)).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let mut by_entry: HashMap<&str, Fused> = HashMap::new();
    for r in results {
        let w = r.weight.max(0.0) / total;
        for (entry, conf) in &r.candidates {
            let conf = if conf.is_finite() {
                conf.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let f = by_entry.entry(entry.as_str()).or_insert_with(|| Fused {
                entry: entry.clone(),
                score: 0.0,
                by_plugin: Vec::new(),
            });
            f.score += w * conf;
            f.by_plugin.push((r.plugin.clone(), conf));
        }
    }
    let mut out: Vec<Fused> = by_entry.into_values().collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.entry.cmp(&b.entry))
    });
    out
}

/// What the bot does now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    Answer {
        entry: String,
        score: f32,
    },
    /// "Did you mean…": up to three entries, best first.
    Clarify {
        choices: Vec<String>,
    },
    /// Not understood, not yet enough to give up: "please rephrase, or ask for a person".
    NotUnderstood,
    HandOff {
        reason: HandOffReason,
    },
}

/// The conversation so far, as the policy needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// Low-confidence turns in a row before this one.
    pub low_confidence_streak: u32,
    /// Turns the bot answered (or tried to) before this one.
    pub bot_turns: u32,
}

/// Most choices a clarification offers.
pub const MAX_CHOICES: usize = 3;

/// Decides one turn. `asked_for_person` comes from [`crate::handoff`].
pub fn decide(
    fused: &[Fused],
    t: &Thresholds,
    p: &Patience,
    h: History,
    asked_for_person: bool,
) -> Decision {
    if asked_for_person {
        return Decision::HandOff {
            reason: HandOffReason::Asked,
        };
    }
    if p.max_bot_turns > 0 && h.bot_turns >= p.max_bot_turns {
        return Decision::HandOff {
            reason: HandOffReason::MaxTurns,
        };
    }
    let top = fused.first().map_or(0.0, |f| f.score);
    let second = fused.get(1).map_or(0.0, |f| f.score);
    if let Some(best) = fused.first()
        && top >= t.answer
        && top - second >= t.margin
    {
        return Decision::Answer {
            entry: best.entry.clone(),
            score: top,
        };
    }
    let choices: Vec<String> = fused
        .iter()
        .take(MAX_CHOICES)
        .filter(|f| f.score >= t.clarify)
        .map(|f| f.entry.clone())
        .collect();
    if !choices.is_empty() {
        // One entry is still worth a question ("did you mean X?").
        return Decision::Clarify { choices };
    }
    if p.low_confidence_turns > 0 && h.low_confidence_streak + 1 >= p.low_confidence_turns {
        return Decision::HandOff {
            reason: HandOffReason::LowConfidence,
        };
    }
    Decision::NotUnderstood
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lex(c: &[(&str, f32)]) -> PluginResult {
        PluginResult {
            plugin: "lexical".into(),
            weight: 1.0,
            candidates: c.iter().map(|(e, s)| (e.to_string(), *s)).collect(),
        }
    }

    #[test]
    fn fuses_by_weighted_mean_and_sorts() {
        let sem = PluginResult {
            plugin: "semantic".into(),
            weight: 1.0,
            candidates: vec![("b".into(), 0.9), ("a".into(), 0.2)],
        };
        let f = fuse(&[lex(&[("a", 0.8), ("b", 0.4)]), sem]);
        assert_eq!(f[0].entry, "b");
        assert!((f[0].score - 0.65).abs() < 1e-6);
        assert!((f[1].score - 0.5).abs() < 1e-6);
        assert_eq!(f[0].by_plugin.len(), 2);
        assert!(fuse(&[]).is_empty());
        // Out-of-range scores are clamped, NaN is zero.
        let f = fuse(&[lex(&[("x", 7.0), ("y", f32::NAN)])]);
        assert_eq!((f[0].score, f[1].score), (1.0, 0.0));
    }

    #[test]
    fn answers_clarifies_or_hands_off_with_reasons() {
        let t = Thresholds {
            answer: 0.5,
            margin: 0.08,
            clarify: 0.3,
        };
        let p = Patience::default();
        let h = History::default();
        let d = decide(&fuse(&[lex(&[("a", 0.9), ("b", 0.3)])]), &t, &p, h, false);
        assert_eq!(
            d,
            Decision::Answer {
                entry: "a".into(),
                score: 0.9
            }
        );
        // Close runner-up: ask.
        let d = decide(
            &fuse(&[lex(&[("a", 0.6), ("b", 0.58), ("c", 0.35), ("d", 0.32)])]),
            &t,
            &p,
            h,
            false,
        );
        assert_eq!(
            d,
            Decision::Clarify {
                choices: vec!["a".into(), "b".into(), "c".into()]
            }
        );
        // Nothing good: first time "not understood", the second time a hand-off.
        let weak = fuse(&[lex(&[("a", 0.1)])]);
        assert_eq!(decide(&weak, &t, &p, h, false), Decision::NotUnderstood);
        let h1 = History {
            low_confidence_streak: 1,
            bot_turns: 1,
        };
        assert_eq!(
            decide(&weak, &t, &p, h1, false),
            Decision::HandOff {
                reason: HandOffReason::LowConfidence
            }
        );
        // Asking for a person wins over a good answer; so does the turn limit.
        let good = fuse(&[lex(&[("a", 0.95)])]);
        assert_eq!(
            decide(&good, &t, &p, h, true),
            Decision::HandOff {
                reason: HandOffReason::Asked
            }
        );
        let many = History {
            low_confidence_streak: 0,
            bot_turns: 10,
        };
        assert_eq!(
            decide(&good, &t, &p, many, false),
            Decision::HandOff {
                reason: HandOffReason::MaxTurns
            }
        );
    }

    proptest! {
        #[test]
        fn never_answers_below_its_thresholds(
            scores in proptest::collection::vec(0.0f32..=1.0, 0..6),
            answer in 0.0f32..=1.0, margin in 0.0f32..=0.5, clarify in 0.0f32..=1.0,
            streak in 0u32..5, turns in 0u32..12, asked in any::<bool>(),
        ) {
            let names: Vec<String> = (0..scores.len()).map(|i| format!("e{i}")).collect();
            let cands: Vec<(&str, f32)> = names.iter().map(String::as_str).zip(scores.iter().copied()).collect();
            let fused = fuse(&[lex(&cands)]);
            let t = Thresholds { answer, margin, clarify };
            let d = decide(&fused, &t, &Patience::default(), History { low_confidence_streak: streak, bot_turns: turns }, asked);
            match d {
                Decision::Answer { score, .. } => {
                    prop_assert!(!asked);
                    prop_assert!(score >= answer);
                    let second = fused.get(1).map_or(0.0, |f| f.score);
                    prop_assert!(score - second >= margin);
                }
                Decision::Clarify { choices } => {
                    prop_assert!(!choices.is_empty() && choices.len() <= MAX_CHOICES);
                    for c in &choices {
                        let s = fused.iter().find(|f| &f.entry == c).map_or(0.0, |f| f.score);
                        prop_assert!(s >= clarify);
                    }
                }
                Decision::HandOff { reason: HandOffReason::Asked } => prop_assert!(asked),
                _ => {}
            }
        }
    }
}
