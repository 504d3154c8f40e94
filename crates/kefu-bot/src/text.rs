//! Text analysis for retrieval: the language of a message, and the terms
//! BM25 compares.
//!
//! Chinese runs are segmented by jieba (search mode, so 七天无理由退货 also
//! yields 无理由 and 退货) and also give character bigrams: a misspelt or
//! differently segmented word still shares bigrams with the entry. Latin
//! runs are lower-cased, stripped of stop words and stemmed (Snowball), so
//! "returned" meets "return". Full-width letters and digits count as ASCII.
//! Long digit runs (order numbers, phone numbers) are dropped: they never
//! say what a question is about.

use crate::kb::Lang;
use jieba_rs::Jieba;
use rust_stemmers::{Algorithm, Stemmer};

/// Chinese words that carry no topic.
const ZH_STOP: &[&str] = &[
    "的", "了", "吗", "呢", "吧", "啊", "呀", "哦", "嗯", "我", "你", "您", "他", "她", "它",
    "我们", "你们", "是", "在", "有", "就", "都", "也", "和", "与", "或", "这", "那", "这个",
    "那个", "一下", "请", "请问", "亲", "你好", "您好", "谢谢", "麻烦", "想", "要", "能", "可以",
    "会", "怎么", "怎样", "如何", "什么", "吗？", "一个", "个", "把", "被", "给", "还", "又", "很",
    "太", "得", "地", "着", "过", "么", "啥", "咋", "嘛", "哈", "哎", "诶",
];

/// English words that carry no topic.
const EN_STOP: &[&str] = &[
    "a", "an", "the", "i", "me", "my", "we", "our", "you", "your", "it", "its", "is", "are", "was",
    "were", "be", "been", "am", "do", "does", "did", "to", "of", "in", "on", "at", "for", "with",
    "and", "or", "but", "if", "so", "can", "could", "would", "should", "will", "shall", "may",
    "might", "must", "this", "that", "these", "those", "there", "here", "what", "how", "which",
    "who", "whom", "please", "hi", "hello", "hey", "thanks", "thank", "just", "get", "got", "have",
    "has", "had", "any", "some", "about", "from", "by", "as", "into", "up", "out", "im", "i'm",
    "it's", "dont", "don't", "pls", "plz", "u", "ur", "quick", "question", "there's", "s", "t",
];

/// The longest digit run kept as a term (sizes, days; not order numbers).
const MAX_DIGITS: usize = 4;

/// Whether `c` is a Han character (CJK Unified Ideographs and extension A).
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// Full-width ASCII (ＡＢＣ１２３) as ASCII, lower-cased.
fn fold(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    c.to_lowercase().next().unwrap_or(c)
}

/// The language a message is mostly written in: Chinese when Han
/// characters outnumber a third of its letters (a Chinese sentence with an
/// English word or order id is still Chinese), else English; `Both` when
/// it has no letters at all.
pub fn detect(text: &str) -> Lang {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_han(c) {
            han += 1;
        } else if fold(c).is_ascii_alphabetic() {
            latin += 1;
        }
    }
    if han == 0 && latin == 0 {
        Lang::Both
    } else if han * 3 >= latin {
        // One Han character is worth about three Latin letters of meaning.
        Lang::Zh
    } else {
        Lang::En
    }
}

/// Blanks numbers longer than [`MAX_DIGITS`], with the `-`, `/` and `.`
/// inside them (20231108-4471, 138-0013-8000).
fn drop_long_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut last_digit = i;
        while j < chars.len() && (chars[j].is_ascii_digit() || matches!(chars[j], '-' | '/' | '.'))
        {
            if chars[j].is_ascii_digit() {
                last_digit = j;
            }
            j += 1;
        }
        let digits = chars[i..=last_digit]
            .iter()
            .filter(|c| c.is_ascii_digit())
            .count();
        if digits > MAX_DIGITS {
            for c in &mut out[i..=last_digit] {
                *c = ' ';
            }
        }
        i = last_digit + 1;
    }
    out.into_iter().collect()
}

/// Turns text into terms. Building one loads jieba's dictionary (tens of
/// milliseconds): make one and share it.
pub struct Analyzer {
    jieba: Jieba,
    stemmer: Stemmer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new()
    }
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analyzer")
    }
}

impl Analyzer {
    pub fn new() -> Analyzer {
        Analyzer {
            jieba: Jieba::new(),
            stemmer: Stemmer::create(Algorithm::English),
        }
    }

    /// The terms of `text`, in order, repeats kept (BM25 counts them).
    pub fn terms(&self, text: &str) -> Vec<String> {
        let folded = drop_long_numbers(&text.chars().map(fold).collect::<String>());
        let mut out = Vec::new();
        let mut run = String::new();
        let mut han_run = false;
        for c in folded.chars().chain(std::iter::once(' ')) {
            let han = is_han(c);
            let word = c.is_alphanumeric() && !han || c == '\'';
            if (han && !han_run || word && han_run || !han && !word) && !run.is_empty() {
                if han_run {
                    self.han_terms(&run, &mut out);
                } else {
                    self.latin_terms(&run, &mut out);
                }
                run.clear();
            }
            if han || word {
                han_run = han;
                run.push(c);
            }
        }
        out
    }

    fn han_terms(&self, run: &str, out: &mut Vec<String>) {
        for t in self.jieba.cut_for_search(run, true) {
            if !ZH_STOP.contains(&t.word) {
                out.push(t.word.to_string());
            }
        }
        let chars: Vec<char> = run.chars().collect();
        for pair in chars.windows(2) {
            // Bigrams are marked so that they never equal a two-character word.
            out.push(format!("~{}{}", pair[0], pair[1]));
        }
    }

    fn latin_terms(&self, run: &str, out: &mut Vec<String>) {
        for w in run.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
            let w = w.trim_matches('\'');
            if w.is_empty() || EN_STOP.contains(&w) {
                continue;
            }
            if w.chars().all(|c| c.is_ascii_digit()) {
                if w.len() <= MAX_DIGITS {
                    out.push(w.to_string());
                }
                continue;
            }
            let w = w.replace('\'', "");
            out.push(self.stemmer.stem(&w).into_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static ANALYZER: std::sync::LazyLock<Analyzer> = std::sync::LazyLock::new(Analyzer::new);

    #[test]
    fn detects_the_main_language() {
        assert_eq!(detect("支持七天无理由退货吗"), Lang::Zh);
        assert_eq!(detect("这个 order 什么时候到"), Lang::Zh);
        assert_eq!(detect("can I return shoes I wore once?"), Lang::En);
        assert_eq!(detect("order 20231108-4471 没动静"), Lang::Zh);
        assert_eq!(detect("12345 ？！"), Lang::Both);
        assert_eq!(detect("ＯＲＤＥＲ status"), Lang::En);
    }

    #[test]
    fn english_is_stemmed_without_stop_words_or_order_numbers() {
        let a = Analyzer::new();
        assert_eq!(
            a.terms("Can I RETURN the shoes I returned? Order 20231108-4471, size 42"),
            ["return", "shoe", "return", "order", "size", "42"]
        );
        assert_eq!(a.terms("don't ship"), ["ship"]);
    }

    #[test]
    fn chinese_gets_words_and_bigrams() {
        let a = Analyzer::new();
        let t = a.terms("我想退货");
        assert!(t.contains(&"退货".to_string()), "{t:?}");
        assert!(t.contains(&"~退货".to_string()), "{t:?}");
        assert!(!t.contains(&"我".to_string()));
        // Mixed: both analyzers, split at the script boundary.
        let t = a.terms("这个order什么时候到");
        assert!(t.contains(&"order".to_string()), "{t:?}");
        assert!(
            t.contains(&"时候".to_string()) || t.contains(&"什么时候".to_string()),
            "{t:?}"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_terms_are_non_empty(s in "\\PC{0,80}") {
            for t in ANALYZER.terms(&s) {
                proptest::prop_assert!(!t.is_empty());
            }
            let _ = detect(&s);
        }
    }
}
