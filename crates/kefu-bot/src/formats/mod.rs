//! Importing and exporting a knowledge base as JSON, CSV or a Markdown FAQ.
//!
//! An import never stops at a bad entry: it returns the good ones and, for
//! each bad one, its position (1-based: the item, the CSV row after the
//! header, or the Markdown question) and what is wrong, so an admin fixes
//! the file once. A file that cannot be read at all (not JSON, a CSV without
//! the required columns) is an error of its own.

mod csv;
mod json;
mod markdown;

use crate::kb::{Entry, EntryError};

/// A knowledge-base file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Markdown,
}

impl Format {
    /// By name (`json`, `csv`, `md`/`markdown`) or a file name's extension.
    pub fn from_name(name: &str) -> Option<Format> {
        let ext = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
        }
    }
}

/// A file that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("CSV: {0}")]
    Csv(String),
}

/// One refused entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// 1-based position in the file.
    pub item: usize,
    pub message: String,
}

/// The outcome of reading a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    pub entries: Vec<Entry>,
    pub errors: Vec<ItemError>,
}

impl Imported {
    fn push(&mut self, item: usize, e: Result<Entry, EntryError>) {
        match e.and_then(Entry::normalized) {
            Ok(e) => self.entries.push(e),
            Err(err) => self.errors.push(ItemError {
                item,
                message: err.to_string(),
            }),
        }
    }
}

/// Reads a knowledge base.
pub fn import(format: Format, text: &str) -> Result<Imported, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Json => json::import(text),
        Format::Csv => csv::import(text),
        Format::Markdown => Ok(markdown::import(text)),
    }
}

/// Writes a knowledge base; reading the result back gives the same entries.
pub fn export(format: Format, entries: &[Entry]) -> String {
    match format {
        Format::Json => json::export(entries),
        Format::Csv => csv::export(entries),
        Format::Markdown => markdown::export(entries),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::Lang;
    use proptest::prelude::*;

    fn sample() -> Vec<Entry> {
        vec![
            Entry {
                external_id: Some("returns.zh".into()),
                question: "支持七天无理由退货吗？".into(),
                alternatives: vec!["买了不喜欢可以退吗".into(), "7天内能退 | 换吗".into()],
                answer: "支持。签收 7 天内可申请。\n\n详见 https://shop.example.com/help/returns\n![退货流程](https://shop.example.com/img/r.png)".into(),
                category: "returns".into(),
                language: Lang::Zh,
                enabled: true,
            },
            Entry {
                external_id: None,
                question: "Do you ship abroad, e.g. \"EU\"?".into(),
                alternatives: vec![],
                answer: "Yes, to 40 countries; see the list, item #3.".into(),
                category: String::new(),
                language: Lang::Both,
                enabled: false,
            },
        ]
    }

    #[test]
    fn every_format_reads_back_what_it_wrote() {
        for f in [Format::Json, Format::Csv, Format::Markdown] {
            let text = export(f, &sample());
            let back = import(f, &text).unwrap();
            assert_eq!(back.errors, vec![], "{f:?}:\n{text}");
            assert_eq!(back.entries, sample(), "{f:?}:\n{text}");
        }
    }

    #[test]
    fn bad_items_are_reported_and_the_rest_imported() {
        let json = r#"{"entries":[{"question":"q","answer":"a"},{"question":"","answer":"a"},{"question":"q2"},{"question":"q3","answer":"a","language":"fr"}]}"#;
        let r = import(Format::Json, json).unwrap();
        assert_eq!(r.entries.len(), 1);
        assert_eq!(
            r.errors.iter().map(|e| e.item).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        assert!(import(Format::Json, "{nope").is_err());
        let csv = "question,answer,language\nq,a,zh\n,a,zh\nq3,a,xx\n";
        let r = import(Format::Csv, csv).unwrap();
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.errors.iter().map(|e| e.item).collect::<Vec<_>>(), [2, 3]);
        assert!(
            import(Format::Csv, "title,body\nx,y\n").is_err(),
            "no question column"
        );
        let md = "# FAQ\n\n## Q1\n\nA1\n\n## Q2\n\n- lang: fr\n\nA2\n\n## Q3\n";
        let r = import(Format::Markdown, md).unwrap();
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.errors.iter().map(|e| e.item).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn names() {
        assert_eq!(Format::from_name("faq.MD"), Some(Format::Markdown));
        assert_eq!(Format::from_name("csv"), Some(Format::Csv));
        assert_eq!(Format::from_name("kb.xlsx"), None);
    }

    fn text() -> impl Strategy<Value = String> {
        // Printable text with the characters each format treats specially.
        "[a-zA-Z0-9 退货#|,\"\\-:*!\\[\\]()\n]{1,40}".prop_map(|s| s)
    }

    proptest! {
        #[test]
        fn round_trips_arbitrary_entries(q in text(), a in text(), alts in proptest::collection::vec(text(), 0..3), cat in "[a-z]{0,8}") {
            let e = Entry { external_id: Some("x-1".into()), question: q, alternatives: alts, answer: a, category: cat, language: Lang::En, enabled: true };
            let Ok(e) = e.normalized() else { return Ok(()) };
            for f in [Format::Json, Format::Csv, Format::Markdown] {
                let back = import(f, &export(f, std::slice::from_ref(&e))).unwrap();
                prop_assert_eq!(&back.entries, &vec![e.clone()], "{:?}", f);
            }
        }
    }
}
