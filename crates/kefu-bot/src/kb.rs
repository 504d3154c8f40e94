//! Knowledge-base entries: a question, its other phrasings, the answer (plain
//! text with links and images, always rendered as text), a category, a
//! language, and an optional external id that keeps re-imports idempotent.

use serde::{Deserialize, Serialize};

/// The language of an entry (or of a visitor's message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
    /// The entry serves both (its text is bilingual or language-neutral).
    #[default]
    Both,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
            Lang::Both => "both",
        }
    }

    /// Whether an entry in `self` may answer a message in `msg`.
    pub fn serves(self, msg: Lang) -> bool {
        self == Lang::Both || msg == Lang::Both || self == msg
    }
}

impl std::str::FromStr for Lang {
    type Err = EntryError;
    fn from_str(s: &str) -> Result<Self, EntryError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh_cn" | "cn" | "中文" => Ok(Lang::Zh),
            "en" | "en-us" | "en-gb" | "english" => Ok(Lang::En),
            "" | "both" | "all" | "*" => Ok(Lang::Both),
            other => Err(EntryError::Language(other.to_string())),
        }
    }
}

/// One entry as imported, exported and edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Stable across imports (an import updates the entry with the same
    /// external id instead of adding a second one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub question: String,
    #[serde(default)]
    pub alternatives: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub language: Lang,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Limits of an entry, explicit so an import says exactly what it refused.
pub const MAX_QUESTION_CHARS: usize = 500;
pub const MAX_ANSWER_CHARS: usize = 5000;
pub const MAX_ALTERNATIVES: usize = 50;
pub const MAX_CATEGORY_CHARS: usize = 64;
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("the answer is empty")]
    EmptyAnswer,
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("more than {MAX_ALTERNATIVES} alternative phrasings")]
    TooManyAlternatives,
    #[error("unknown language {0:?} (zh, en or both)")]
    Language(String),
    #[error("the external id {0:?} has spaces or control characters")]
    ExternalId(String),
}

fn check_len(field: &'static str, s: &str, max: usize) -> Result<(), EntryError> {
    if s.chars().count() > max {
        Err(EntryError::TooLong { field, max })
    } else {
        Ok(())
    }
}

impl Entry {
    /// Trims every field, drops empty and repeated phrasings, and checks
    /// the limits; the entry as it will be stored.
    pub fn normalized(mut self) -> Result<Entry, EntryError> {
        // Phrasings are one line: runs of white space (new lines too) become one space.
        let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        self.question = one_line(&self.question);
        self.answer = self.answer.trim().to_string();
        self.category = self.category.trim().to_string();
        self.external_id = self
            .external_id
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let mut seen = vec![self.question.to_lowercase()];
        self.alternatives = std::mem::take(&mut self.alternatives)
            .into_iter()
            .map(|a| one_line(&a))
            .filter(|a| {
                let k = a.to_lowercase();
                if a.is_empty() || seen.contains(&k) {
                    false
                } else {
                    seen.push(k);
                    true
                }
            })
            .collect();
        if self.question.is_empty() {
            return Err(EntryError::EmptyQuestion);
        }
        if self.answer.is_empty() {
            return Err(EntryError::EmptyAnswer);
        }
        check_len("question", &self.question, MAX_QUESTION_CHARS)?;
        check_len("answer", &self.answer, MAX_ANSWER_CHARS)?;
        check_len("category", &self.category, MAX_CATEGORY_CHARS)?;
        if self.alternatives.len() > MAX_ALTERNATIVES {
            return Err(EntryError::TooManyAlternatives);
        }
        for a in &self.alternatives {
            check_len("an alternative phrasing", a, MAX_QUESTION_CHARS)?;
        }
        if let Some(id) = &self.external_id {
            check_len("external_id", id, MAX_EXTERNAL_ID_CHARS)?;
            if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(EntryError::ExternalId(id.clone()));
            }
        }
        Ok(self)
    }

    /// The question and every alternative phrasing.
    pub fn phrasings(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.question.as_str()).chain(self.alternatives.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            external_id: Some(" returns.zh ".into()),
            question: " 可以退货吗？ ".into(),
            alternatives: vec![
                "".into(),
                "可以退货吗？".into(),
                "能退吗".into(),
                "能退吗".into(),
            ],
            answer: "可以，7 天内。".into(),
            category: "returns".into(),
            language: Lang::Zh,
            enabled: true,
        }
    }

    #[test]
    fn normalizes_and_dedupes() {
        let e = entry().normalized().unwrap();
        assert_eq!(e.external_id.as_deref(), Some("returns.zh"));
        assert_eq!(e.question, "可以退货吗？");
        assert_eq!(e.alternatives, ["能退吗"]);
        assert_eq!(e.phrasings().count(), 2);
    }

    #[test]
    fn refuses_what_cannot_answer() {
        let mut e = entry();
        e.answer = "  ".into();
        assert_eq!(e.normalized(), Err(EntryError::EmptyAnswer));
        let mut e = entry();
        e.external_id = Some("a b".into());
        assert!(matches!(e.normalized(), Err(EntryError::ExternalId(_))));
        let mut e = entry();
        e.question = "问".repeat(MAX_QUESTION_CHARS + 1);
        assert!(matches!(e.normalized(), Err(EntryError::TooLong { .. })));
    }

    #[test]
    fn languages() {
        assert_eq!("zh-CN".parse::<Lang>().unwrap(), Lang::Zh);
        assert_eq!("".parse::<Lang>().unwrap(), Lang::Both);
        assert!("fr".parse::<Lang>().is_err());
        assert!(
            Lang::Both.serves(Lang::Zh) && Lang::Zh.serves(Lang::Zh) && !Lang::En.serves(Lang::Zh)
        );
    }
}
