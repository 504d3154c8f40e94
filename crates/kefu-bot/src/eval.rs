//! The figures `kefu bot eval` reports for a knowledge base and a set of
//! test questions (docs/bot.md has the definitions in words).
//!
//! - **top-1 / top-3 accuracy** and **MRR**, over in-scope questions: where
//!   the expected entry is in the bot's ranking, whatever it then decided.
//! - **answered correctly / wrongly**, over in-scope questions: what a
//!   visitor would have seen.
//! - **hand-off precision and recall** on out-of-scope questions: the bot
//!   "declines" when it does not answer (it asks, says it did not
//!   understand, or hands off); precision is the share of declined
//!   questions that were out of scope, recall the share of out-of-scope
//!   questions declined; F1 is their harmonic mean.
//! - **latency** p50 and p99 of the decision (retrieval and policy).
//! - **most confused pairs**: the expected entry and what ranked first instead.

use serde::Serialize;
use std::collections::HashMap;

/// One test question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub question: String,
    /// The external id that should answer; `None` for out of scope.
    pub expected: Option<String>,
}

/// What the bot did with one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Entry ids by fused score, best first.
    pub ranked: Vec<String>,
    /// The entry it answered with, if it answered.
    pub answered: Option<String>,
    /// It asked "did you mean…".
    pub clarified: bool,
    pub micros: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    pub expected: String,
    pub got: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub questions: usize,
    pub in_scope: usize,
    pub out_of_scope: usize,
    pub top1: f64,
    pub top3: f64,
    pub mrr: f64,
    pub answered_correctly: f64,
    pub answered_wrongly: f64,
    pub clarified: f64,
    pub handoff_precision: f64,
    pub handoff_recall: f64,
    pub handoff_f1: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub confused: Vec<Confusion>,
}

/// The label of out-of-scope questions in confusion pairs.
pub const OUT_OF_SCOPE: &str = "(out of scope)";

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// The report of `outcomes` against `cases` (same order, same length).
pub fn report(cases: &[Case], outcomes: &[Outcome]) -> Report {
    let (mut in_scope, mut oos) = (0, 0);
    let (mut top1, mut top3, mut rr) = (0, 0, 0.0);
    let (mut right, mut wrong, mut clarified) = (0, 0, 0);
    let (mut declined, mut declined_oos) = (0, 0);
    let mut confused: HashMap<(String, String), usize> = HashMap::new();
    let mut times: Vec<u64> = Vec::with_capacity(outcomes.len());
    for (c, o) in cases.iter().zip(outcomes) {
        times.push(o.micros);
        let declines = o.answered.is_none();
        if declines {
            declined += 1;
        }
        if o.clarified {
            clarified += 1;
        }
        match &c.expected {
            Some(exp) => {
                in_scope += 1;
                if let Some(pos) = o.ranked.iter().position(|r| r == exp) {
                    rr += 1.0 / (pos + 1) as f64;
                    top1 += usize::from(pos == 0);
                    top3 += usize::from(pos < 3);
                }
                match &o.answered {
                    Some(a) if a == exp => right += 1,
                    Some(_) => wrong += 1,
                    None => {}
                }
                if let Some(first) = o.ranked.first()
                    && first != exp
                {
                    *confused.entry((exp.clone(), first.clone())).or_insert(0) += 1;
                }
            }
            None => {
                oos += 1;
                if declines {
                    declined_oos += 1;
                } else if let Some(a) = &o.answered {
                    *confused
                        .entry((OUT_OF_SCOPE.to_string(), a.clone()))
                        .or_insert(0) += 1;
                }
            }
        }
    }
    times.sort_unstable();
    let precision = ratio(declined_oos, declined);
    let recall = ratio(declined_oos, oos);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let mut confused: Vec<Confusion> = confused
        .into_iter()
        .map(|((expected, got), count)| Confusion {
            expected,
            got,
            count,
        })
        .collect();
    confused.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.expected.cmp(&b.expected))
            .then_with(|| a.got.cmp(&b.got))
    });
    confused.truncate(10);
    Report {
        questions: cases.len(),
        in_scope,
        out_of_scope: oos,
        top1: ratio(top1, in_scope),
        top3: ratio(top3, in_scope),
        mrr: if in_scope == 0 {
            0.0
        } else {
            rr / in_scope as f64
        },
        answered_correctly: ratio(right, in_scope),
        answered_wrongly: ratio(wrong, in_scope),
        clarified: ratio(clarified, cases.len()),
        handoff_precision: precision,
        handoff_recall: recall,
        handoff_f1: f1,
        latency_p50_ms: quantile(&times, 0.5),
        latency_p99_ms: quantile(&times, 0.99),
        confused,
    }
}

impl Report {
    /// The report as a Markdown page.
    pub fn to_markdown(&self, title: &str) -> String {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        let mut s = format!("# {title}\n\n");
        s.push_str(&format!(
            "{} questions: {} in scope, {} out of scope.\n\n| Metric | Value |\n|---|---|\n",
            self.questions, self.in_scope, self.out_of_scope
        ));
        for (k, v) in [
            ("Top-1 accuracy (in scope)", pct(self.top1)),
            ("Top-3 accuracy (in scope)", pct(self.top3)),
            ("MRR (in scope)", format!("{:.3}", self.mrr)),
            (
                "Answered correctly (in scope)",
                pct(self.answered_correctly),
            ),
            ("Answered wrongly (in scope)", pct(self.answered_wrongly)),
            ("Asked \"did you mean\" (all)", pct(self.clarified)),
            (
                "Hand-off precision (out of scope)",
                pct(self.handoff_precision),
            ),
            ("Hand-off recall (out of scope)", pct(self.handoff_recall)),
            ("Hand-off F1", format!("{:.3}", self.handoff_f1)),
            (
                "Decision latency p50",
                format!("{:.3} ms", self.latency_p50_ms),
            ),
            (
                "Decision latency p99",
                format!("{:.3} ms", self.latency_p99_ms),
            ),
        ] {
            s.push_str(&format!("| {k} | {v} |\n"));
        }
        if !self.confused.is_empty() {
            s.push_str("\n## Most confused\n\n| Expected | Ranked first instead | Times |\n|---|---|---|\n");
            for c in &self.confused {
                s.push_str(&format!("| {} | {} | {} |\n", c.expected, c.got, c.count));
            }
        }
        s
    }
}

/// Reads test questions: JSON lines or CSV, each with `question`,
/// `expected` (an external id; empty for out of scope) and an optional
/// `language`. Returns the cases or the first bad line (1-based) and why.
pub fn read_cases(text: &str, csv: bool) -> Result<Vec<Case>, (usize, String)> {
    let mut out = Vec::new();
    if csv {
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        let headers = r.headers().map_err(|e| (1, e.to_string()))?.clone();
        let col = |n: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(n))
        };
        let (Some(q), e) = (col("question"), col("expected")) else {
            return Err((1, "the header row needs a question column".into()));
        };
        for (i, row) in r.records().enumerate() {
            let row = row.map_err(|e| (i + 2, e.to_string()))?;
            let exp = e.and_then(|e| row.get(e)).unwrap_or("").trim();
            out.push(Case {
                question: row.get(q).unwrap_or("").to_string(),
                expected: (!exp.is_empty()).then(|| exp.to_string()),
            });
        }
        return Ok(out);
    }
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| (i + 1, e.to_string()))?;
        let Some(q) = v.get("question").and_then(|q| q.as_str()) else {
            return Err((i + 1, "no \"question\"".into()));
        };
        let exp = v
            .get("expected")
            .and_then(|e| e.as_str())
            .unwrap_or("")
            .trim();
        out.push(Case {
            question: q.to_string(),
            expected: (!exp.is_empty()).then(|| exp.to_string()),
        });
    }
    Ok(out)
}

/// Runs every case as a visitor's first message through the lexical
/// pipeline and the policy, timing each decision.
pub fn run(
    kb: &crate::pipeline::KnowledgeBase,
    analyzer: &crate::text::Analyzer,
    cases: &[Case],
    t: &crate::policy::Thresholds,
    p: &crate::policy::Patience,
) -> Vec<Outcome> {
    run_with(cases, t, p, |c, lang| {
        vec![kb.lexical(analyzer, &c.question, lang, 10)]
    })
}

/// Like [`run`] with any plugins: `retrieve` gives each question's plugin
/// results (the latency measured includes it).
pub fn run_with(
    cases: &[Case],
    t: &crate::policy::Thresholds,
    p: &crate::policy::Patience,
    mut retrieve: impl FnMut(&Case, crate::kb::Lang) -> Vec<crate::policy::PluginResult>,
) -> Vec<Outcome> {
    cases
        .iter()
        .map(|c| {
            let start = std::time::Instant::now();
            let lang = crate::text::detect(&c.question);
            let fused = crate::policy::fuse(&retrieve(c, lang));
            let d = crate::policy::decide(&fused, t, p, crate::policy::History::default(), false);
            outcome(&fused, &d, start.elapsed().as_micros() as u64)
        })
        .collect()
}

fn outcome(fused: &[crate::policy::Fused], d: &crate::policy::Decision, micros: u64) -> Outcome {
    use crate::policy::Decision;
    Outcome {
        ranked: fused.iter().map(|f| f.entry.clone()).collect(),
        answered: match d {
            Decision::Answer { entry, .. } => Some(entry.clone()),
            _ => None,
        },
        clarified: matches!(d, Decision::Clarify { .. }),
        micros,
    }
}

/// What threshold selection maximises on the validation split: questions
/// answered right, minus those answered wrong (a wrong answer costs as much
/// as a right one earns), plus the hand-off F1.
pub fn utility(r: &Report) -> f64 {
    r.answered_correctly - r.answered_wrongly + r.handoff_f1
}

/// The thresholds that maximise [`utility`] on `cases` over a grid
/// (answer 0.10–0.90, margin 0.00–0.20, clarify 0.05–answer), and the
/// report they give there.
pub fn choose_thresholds(
    kb: &crate::pipeline::KnowledgeBase,
    analyzer: &crate::text::Analyzer,
    cases: &[Case],
    p: &crate::policy::Patience,
) -> (crate::policy::Thresholds, Report) {
    choose_thresholds_with(cases, p, |c, lang| {
        vec![kb.lexical(analyzer, &c.question, lang, 10)]
    })
}

/// Like [`choose_thresholds`] with any plugins (see [`run_with`]).
pub fn choose_thresholds_with(
    cases: &[Case],
    p: &crate::policy::Patience,
    mut retrieve: impl FnMut(&Case, crate::kb::Lang) -> Vec<crate::policy::PluginResult>,
) -> (crate::policy::Thresholds, Report) {
    use crate::policy::{Thresholds, decide};
    // Retrieval does not depend on the thresholds: rank once, decide many times.
    let fused: Vec<Vec<crate::policy::Fused>> = cases
        .iter()
        .map(|c| {
            let lang = crate::text::detect(&c.question);
            crate::policy::fuse(&retrieve(c, lang))
        })
        .collect();
    let mut best: Option<(f64, Thresholds, Report)> = None;
    for a in (2..=18).map(|i| i as f32 * 0.05) {
        for m in (0..=10).map(|i| i as f32 * 0.02) {
            for cl in (1..=18).map(|i| i as f32 * 0.05).filter(|cl| *cl <= a) {
                let t = Thresholds {
                    answer: a,
                    margin: m,
                    clarify: cl,
                };
                let outs: Vec<Outcome> = fused
                    .iter()
                    .map(|f| {
                        outcome(
                            f,
                            &decide(f, &t, p, crate::policy::History::default(), false),
                            0,
                        )
                    })
                    .collect();
                let r = report(cases, &outs);
                let u = utility(&r);
                if best.as_ref().is_none_or(|(bu, ..)| u > *bu + 1e-12) {
                    best = Some((u, t, r));
                }
            }
        }
    }
    let (_, t, r) = best.unwrap_or_else(|| (0.0, Thresholds::default(), report(&[], &[])));
    (t, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(e: Option<&str>) -> Case {
        Case {
            question: "q".into(),
            expected: e.map(str::to_string),
        }
    }

    fn out(ranked: &[&str], answered: Option<&str>, micros: u64) -> Outcome {
        Outcome {
            ranked: ranked.iter().map(|s| s.to_string()).collect(),
            answered: answered.map(str::to_string),
            clarified: false,
            micros,
        }
    }

    #[test]
    fn computes_the_figures() {
        let cases = [
            case(Some("a")),
            case(Some("b")),
            case(Some("c")),
            case(None),
            case(None),
        ];
        let outs = [
            out(&["a", "b"], Some("a"), 1000), // right
            out(&["a", "b"], Some("a"), 2000), // wrong, b second
            out(&["x", "y", "z"], None, 3000), // missed entirely, declined
            out(&["a"], None, 4000),           // out of scope, declined
            out(&["b"], Some("b"), 100_000),   // out of scope, answered
        ];
        let r = report(&cases, &outs);
        assert_eq!((r.in_scope, r.out_of_scope), (3, 2));
        assert!((r.top1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((r.top3 - 2.0 / 3.0).abs() < 1e-9);
        assert!((r.mrr - (1.0 + 0.5) / 3.0).abs() < 1e-9);
        assert!((r.answered_correctly - 1.0 / 3.0).abs() < 1e-9);
        assert!((r.answered_wrongly - 1.0 / 3.0).abs() < 1e-9);
        assert!(
            (r.handoff_precision - 0.5).abs() < 1e-9,
            "declined: c (in scope) and one out of scope"
        );
        assert!((r.handoff_recall - 0.5).abs() < 1e-9);
        assert!((r.handoff_f1 - 0.5).abs() < 1e-9);
        assert_eq!(r.latency_p50_ms, 3.0);
        assert_eq!(r.latency_p99_ms, 100.0);
        assert!(r.confused.iter().any(|c| c.expected == "b" && c.got == "a"));
        assert!(
            r.confused
                .iter()
                .any(|c| c.expected == OUT_OF_SCOPE && c.got == "b")
        );
        let md = r.to_markdown("Sample");
        assert!(md.contains("| Top-1 accuracy (in scope) | 33.3% |"), "{md}");
        assert!(
            report(&[], &[])
                .to_markdown("empty")
                .contains("0 questions")
        );
    }
}
