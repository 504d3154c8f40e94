//! A Markdown FAQ, the form people write by hand:
//!
//! ```markdown
//! # Returns                       <- optional: the category of what follows
//!
//! ## 支持七天无理由退货吗？          <- the question
//! - id: returns.zh                <- optional lines right under it
//! - lang: zh
//! - also: 买了不喜欢可以退吗        <- an alternative phrasing (repeatable)
//! - category: returns             <- overrides the `#` heading
//! - enabled: false
//!
//! 支持。签收 7 天内……               <- the answer, up to the next heading
//! ```
//!
//! Lines of an answer that start with `#` or `\` are written with a `\`
//! before them, so an answer never ends an entry by accident.

use super::Imported;
use crate::kb::{Entry, EntryError, Lang};

struct Draft {
    item: usize,
    saw_meta: bool,
    meta_done: bool,
    entry: Result<Entry, EntryError>,
    answer: Vec<String>,
}

pub fn import(text: &str) -> Imported {
    let mut out = Imported::default();
    let mut category = String::new();
    let mut draft: Option<Draft> = None;
    let mut items = 0;
    let finish = |d: Draft, out: &mut Imported| {
        let answer = d.answer.join("\n");
        out.push(
            d.item,
            d.entry.map(|mut e| {
                e.answer = answer;
                e
            }),
        );
    };
    for line in text.lines() {
        if let Some(q) = line.strip_prefix("## ") {
            if let Some(d) = draft.take() {
                finish(d, &mut out);
            }
            items += 1;
            draft = Some(Draft {
                item: items,
                saw_meta: false,
                meta_done: false,
                entry: Ok(Entry {
                    external_id: None,
                    question: q.trim().to_string(),
                    alternatives: Vec::new(),
                    answer: String::new(),
                    category: category.clone(),
                    language: Lang::Both,
                    enabled: true,
                }),
                answer: Vec::new(),
            });
            continue;
        }
        if let Some(c) = line.strip_prefix("# ") {
            if let Some(d) = draft.take() {
                finish(d, &mut out);
            }
            category = c.trim().to_string();
            continue;
        }
        let Some(d) = draft.as_mut() else { continue };
        if !d.meta_done {
            if line.trim().is_empty() {
                // Blank lines before the metadata; the one after it starts the answer.
                d.meta_done = d.saw_meta;
                continue;
            }
            if let Some((k, v)) = meta(line) {
                d.saw_meta = true;
                if let Ok(e) = d.entry.as_mut() {
                    match k {
                        "id" => e.external_id = Some(v.to_string()),
                        "lang" | "language" => match v.parse() {
                            Ok(l) => e.language = l,
                            Err(err) => d.entry = Err(err),
                        },
                        "also" | "alt" => e.alternatives.push(v.to_string()),
                        "category" => e.category = v.to_string(),
                        "enabled" => {
                            e.enabled = !matches!(
                                v.to_ascii_lowercase().as_str(),
                                "false" | "no" | "0" | "off"
                            )
                        }
                        _ => {}
                    }
                }
                continue;
            }
            d.meta_done = true;
        }
        d.answer
            .push(line.strip_prefix('\\').unwrap_or(line).to_string());
    }
    if let Some(d) = draft.take() {
        finish(d, &mut out);
    }
    out
}

/// A `- key: value` line with a key this format knows.
fn meta(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("- ")?;
    let (k, v) = rest.split_once(':')?;
    let k = k.trim();
    matches!(
        k,
        "id" | "lang" | "language" | "also" | "alt" | "category" | "enabled"
    )
    .then(|| (k, v.trim()))
}

pub fn export(entries: &[Entry]) -> String {
    let mut s = String::new();
    for e in entries {
        s.push_str("## ");
        s.push_str(&e.question);
        s.push('\n');
        if let Some(id) = &e.external_id {
            s.push_str(&format!("- id: {id}\n"));
        }
        s.push_str(&format!("- lang: {}\n", e.language.as_str()));
        for a in &e.alternatives {
            s.push_str(&format!("- also: {a}\n"));
        }
        if !e.category.is_empty() {
            s.push_str(&format!("- category: {}\n", e.category));
        }
        if !e.enabled {
            s.push_str("- enabled: false\n");
        }
        s.push('\n');
        for line in e.answer.lines() {
            if line.starts_with('#') || line.starts_with('\\') {
                s.push('\\');
            }
            s.push_str(line);
            s.push('\n');
        }
        s.push('\n');
    }
    s
}
