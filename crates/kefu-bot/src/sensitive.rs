//! The sensitive-word filter: a workspace's word lists (Chinese and English)
//! matched in one pass with Aho-Corasick, each word with its action: mask it
//! (`***`), block the whole message, or flag the message for review. It
//! applies to visitors' and agents' messages and to the bot's answers; a new
//! list builds a new filter, so a change takes effect without a restart.
//!
//! Matching is leftmost-longest (of 傻 and 傻瓜, 傻瓜 is matched), ASCII
//! case-insensitive, and works inside words: Chinese has no spaces to
//! separate them.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a word does to a message that contains it (shared with the store
/// and the API, so it lives in kefu-core).
pub use kefu_core::sensitive::SensitiveAction as Action;

/// The most words one filter holds (explicit, like every limit).
pub const MAX_WORDS: usize = 100_000;
/// The longest word, in characters.
pub const MAX_WORD_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("more than {MAX_WORDS} words")]
    TooManyWords,
    #[error("the word {0:?} is longer than {MAX_WORD_CHARS} characters")]
    TooLong(String),
    #[error("building the matcher: {0}")]
    Build(String),
}

/// A compiled word list: one automaton finds every (overlapping) word for
/// block and flag, so a blocked word inside a longer flagged one still
/// blocks; another, leftmost-longest, decides what is starred.
#[derive(Debug, Clone)]
pub struct Filter {
    matcher: Option<AhoCorasick>,
    overlapping: Option<AhoCorasick>,
    actions: Vec<Action>,
}

/// What the filter made of a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// A `block` word was found: the message must not go out.
    pub blocked: bool,
    /// A `flag` word was found: keep the message for review.
    pub flagged: bool,
    /// The text with `mask` words starred, when any was found.
    pub masked: Option<String>,
    /// The words found (as written in the message), each once.
    pub found: Vec<String>,
    /// Of `found`, the ones whose action is `block` (what an agent is told).
    pub blocked_by: Vec<String>,
    /// Of `found`, the ones whose action is `flag` (what a review shows).
    pub flagged_by: Vec<String>,
}

impl Filter {
    /// An empty filter (finds nothing).
    pub fn empty() -> Filter {
        Filter {
            matcher: None,
            overlapping: None,
            actions: Vec::new(),
        }
    }

    /// Compiles `words`; blank ones are skipped, and a word listed twice
    /// keeps its strongest action.
    pub fn new(words: impl IntoIterator<Item = (String, Action)>) -> Result<Filter, FilterError> {
        let mut by_word: std::collections::BTreeMap<String, Action> =
            std::collections::BTreeMap::new();
        for (w, a) in words {
            let w = w.trim().to_string();
            if w.is_empty() {
                continue;
            }
            if w.chars().count() > MAX_WORD_CHARS {
                return Err(FilterError::TooLong(w));
            }
            let key = w.to_ascii_lowercase();
            let e = by_word.entry(key).or_insert(a);
            *e = (*e).max(a);
            if by_word.len() > MAX_WORDS {
                return Err(FilterError::TooManyWords);
            }
        }
        if by_word.is_empty() {
            return Ok(Filter::empty());
        }
        let (patterns, actions): (Vec<String>, Vec<Action>) = by_word.into_iter().unzip();
        let build = |kind: MatchKind| {
            AhoCorasickBuilder::new()
                .match_kind(kind)
                .ascii_case_insensitive(true)
                .build(&patterns)
                .map_err(|e| FilterError::Build(e.to_string()))
        };
        Ok(Filter {
            matcher: Some(build(MatchKind::LeftmostLongest)?),
            overlapping: Some(build(MatchKind::Standard)?),
            actions,
        })
    }

    /// How many words it holds.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Checks a message.
    pub fn check(&self, text: &str) -> Verdict {
        let (Some(m), Some(all)) = (&self.matcher, &self.overlapping) else {
            return Verdict::default();
        };
        let mut v = Verdict::default();
        for hit in all.find_overlapping_iter(text) {
            let word = &text[hit.start()..hit.end()];
            if !v.found.iter().any(|f| f == word) {
                v.found.push(word.to_string());
            }
            let (seen, list) = match self.actions[hit.pattern().as_usize()] {
                Action::Block => (&mut v.blocked, &mut v.blocked_by),
                Action::Flag => (&mut v.flagged, &mut v.flagged_by),
                Action::Mask => continue,
            };
            *seen = true;
            if !list.iter().any(|f| f == word) {
                list.push(word.to_string());
            }
        }
        let mut masked: Option<String> = None;
        let mut last = 0;
        for hit in m.find_iter(text) {
            let word = &text[hit.start()..hit.end()];
            match self.actions[hit.pattern().as_usize()] {
                Action::Block | Action::Flag => {}
                Action::Mask => {
                    let out = masked.get_or_insert_with(|| String::with_capacity(text.len()));
                    out.push_str(&text[last..hit.start()]);
                    out.extend(std::iter::repeat_n('*', word.chars().count()));
                    last = hit.end();
                }
            }
        }
        if let Some(mut out) = masked {
            out.push_str(&text[last..]);
            v.masked = Some(out);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Filter {
        Filter::new([
            ("傻瓜".to_string(), Action::Mask),
            ("傻".to_string(), Action::Flag),
            ("fraud".to_string(), Action::Block),
            ("damn".to_string(), Action::Mask),
            ("  ".to_string(), Action::Block),
            ("DAMN".to_string(), Action::Flag),
        ])
        .unwrap()
    }

    #[test]
    fn masks_blocks_and_flags() {
        let f = filter();
        assert_eq!(f.len(), 4, "blank skipped, damn/DAMN one word");
        let v = f.check("你这个傻瓜, damn it, Damn!");
        assert_eq!(v.masked.as_deref(), Some("你这个**, **** it, ****!"));
        assert!(!v.blocked);
        assert!(v.flagged, "傻 (flag) inside 傻瓜 (mask) is found too");
        assert_eq!(v.found, ["傻", "傻瓜", "damn", "Damn"]);
        assert_eq!(v.flagged_by, ["傻"]);
        assert!(v.blocked_by.is_empty());
        let v = f.check("this is FRAUD, fraud");
        assert!(v.blocked && v.masked.is_none());
        assert_eq!(v.blocked_by, ["FRAUD", "fraud"], "as written, each once");
        let v = f.check("有点傻");
        assert!(v.flagged && !v.blocked && v.masked.is_none());
        assert_eq!(f.check("hello 你好"), Verdict::default());
        assert_eq!(Filter::empty().check("fraud"), Verdict::default());
    }

    #[test]
    fn a_blocked_word_inside_a_longer_one_still_blocks() {
        let f = Filter::new([
            ("fraud".to_string(), Action::Block),
            ("fraudulent".to_string(), Action::Flag),
            ("网赌".to_string(), Action::Flag),
            ("赌博".to_string(), Action::Block),
        ])
        .unwrap();
        assert!(f.check("a fraudulent charge").blocked);
        assert!(f.check("网赌博彩").blocked);
    }

    #[test]
    fn limits() {
        assert!(matches!(
            Filter::new([("x".repeat(65), Action::Mask)]),
            Err(FilterError::TooLong(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn masking_keeps_length_in_characters_and_never_panics(s in "\\PC{0,60}") {
            let v = filter().check(&s);
            if let Some(m) = v.masked {
                proptest::prop_assert_eq!(m.chars().count(), s.chars().count());
            }
        }
    }
}
