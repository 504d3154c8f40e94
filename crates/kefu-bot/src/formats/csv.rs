//! One entry per row: `external_id, question, alternatives, answer,
//! category, language, enabled`. Only `question` and `answer` are required;
//! alternative phrasings are separated by new lines (a cell may hold
//! several lines), so a phrasing may contain `|` or commas.

use super::{FormatError, Imported, ItemError};
use crate::kb::{Entry, Lang};

const COLUMNS: [&str; 7] = [
    "external_id",
    "question",
    "alternatives",
    "answer",
    "category",
    "language",
    "enabled",
];

pub fn import(text: &str) -> Result<Imported, FormatError> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| FormatError::Csv(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(q), Some(a)) = (col("question"), col("answer")) else {
        return Err(FormatError::Csv(format!(
            "the header row needs the columns question and answer (all: {})",
            COLUMNS.join(", ")
        )));
    };
    let (id, alts, cat, lang, enabled) = (
        col("external_id"),
        col("alternatives"),
        col("category"),
        col("language"),
        col("enabled"),
    );
    let mut out = Imported::default();
    for (i, row) in r.records().enumerate() {
        let item = i + 1;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(ItemError {
                    item,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("").to_string();
        let language = match get(lang).parse::<Lang>() {
            Ok(l) => l,
            Err(e) => {
                out.errors.push(ItemError {
                    item,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let enabled = match get(enabled).trim().to_ascii_lowercase().as_str() {
            "" | "true" | "1" | "yes" | "y" | "on" | "是" => true,
            "false" | "0" | "no" | "n" | "off" | "否" => false,
            other => {
                out.errors.push(ItemError {
                    item,
                    message: format!("enabled must be true or false, not {other:?}"),
                });
                continue;
            }
        };
        let e = Entry {
            external_id: Some(get(id)),
            question: get(Some(q)),
            alternatives: get(alts).lines().map(str::to_string).collect(),
            answer: get(Some(a)),
            category: get(cat),
            language,
            enabled,
        };
        out.push(item, Ok(e));
    }
    Ok(out)
}

pub fn export(entries: &[Entry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![COLUMNS.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for e in entries {
        rows.push(vec![
            e.external_id.clone().unwrap_or_default(),
            e.question.clone(),
            e.alternatives.join("\n"),
            e.answer.clone(),
            e.category.clone(),
            e.language.as_str().to_string(),
            e.enabled.to_string(),
        ]);
    }
    for r in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(&r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
