//! What an import did, per step: rows written, rows that were there already,
//! rows skipped and why. Skip counts are kept in the step's checkpoint, so
//! after an interruption the summary still covers the whole import.

use std::collections::BTreeMap;

/// One step's figures (agents, visitors, messages, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepSummary {
    /// Rows read from the source in this run.
    pub read: u64,
    /// Rows written in this run, by kind (`messages`, `conversations`, …).
    pub written: BTreeMap<String, u64>,
    /// Rows skipped over the whole import (this and earlier runs), by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl StepSummary {
    pub fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }

    pub fn wrote(&mut self, kind: &str, n: u64) {
        if n == 0 {
            return;
        }
        *self.written.entry(kind.to_string()).or_default() += n;
    }

    /// The skip counts as stored in a checkpoint.
    pub fn skipped_json(&self) -> serde_json::Value {
        serde_json::json!({ "skipped": self.skipped })
    }

    /// Takes the skip counts an earlier run stored.
    pub fn resume_from(&mut self, counts: &serde_json::Value) {
        if let Some(m) = counts.get("skipped").and_then(|s| s.as_object()) {
            for (k, v) in m {
                self.skipped.insert(k.clone(), v.as_u64().unwrap_or(0));
            }
        }
    }
}

/// The whole import's figures, steps in the order they ran, and the
/// sign-in links made for imported agents.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub steps: Vec<(String, StepSummary)>,
    /// `(e-mail, link)`: a password link per agent created in this run
    /// (empty links when they were e-mailed instead).
    pub links: Vec<(String, String)>,
    pub mailed: bool,
    pub seconds: f64,
}

impl Summary {
    pub fn step(&self, name: &str) -> Option<&StepSummary> {
        self.steps.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// A plain-text report for the operator.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, s) in &self.steps {
            let written: Vec<String> = s.written.iter().map(|(k, v)| format!("{v} {k}")).collect();
            out.push_str(&format!(
                "{name:<10} read {:>9}   imported: {}\n",
                s.read,
                if written.is_empty() {
                    "nothing new".into()
                } else {
                    written.join(", ")
                }
            ));
            for (reason, n) in &s.skipped {
                out.push_str(&format!("{:<10}   skipped {n:>7}: {reason}\n", ""));
            }
        }
        out.push_str(&format!("took {:.1} s\n", self.seconds));
        out
    }
}
