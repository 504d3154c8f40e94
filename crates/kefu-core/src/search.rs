//! Full-text search's words: how a text becomes the tokens it is indexed
//! under, how a query becomes the same tokens, and the highlighted snippet a
//! result shows (docs/search.md).
//!
//! Chinese has no spaces between words, so neither database's own
//! tokenizers work for it: SQLite's `unicode61` keeps a whole run of
//! characters as one token, its `trigram` cannot match words of one or two
//! characters (most Chinese words), and PostgreSQL's parser depends on the
//! server's locale. So the application derives the tokens itself, the same
//! way for the text and for the query, and hands the databases nothing but
//! space-separated tokens (SQLite FTS5) or a ready `tsvector`/`tsquery`
//! (PostgreSQL):
//!
//! - a run of CJK characters becomes its overlapping bigrams in order
//!   (`申请退款` → `申请 请退 退款`; a lone character stays itself), and every
//!   distinct character is also indexed alone, so a one-character query
//!   finds it;
//! - any other run of letters and digits is one word, lowercased, with
//!   full-width forms folded to ASCII (`ＲＥＦＵＮＤ` → `refund`);
//! - everything else separates.
//!
//! A query is split on spaces into chunks; each chunk's tokens must appear
//! next to each other (a phrase: `退款申请` is `"退款 款申 申请"`), every
//! chunk must match (AND), and a chunk that ends in a word of two or more
//! letters matches words that start with it (`refund` finds `refunded`).
//! Any substring of one or more Chinese characters is found this way,
//! without a dictionary, whatever the segmentation of the text would be.

/// The longest query read (characters); the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// Chunks of a query used (the rest is ignored).
pub const MAX_CHUNKS: usize = 8;
/// Tokens of one chunk used (a very long pasted sentence is cut).
pub const MAX_PHRASE_TOKENS: usize = 24;
/// Longest token kept (characters): a URL or a hash stays searchable by its start.
pub const MAX_TOKEN_CHARS: usize = 48;
/// PostgreSQL keeps word positions up to this; later ones share it.
const MAX_TS_POSITION: usize = 16383;
/// Tokens of one document kept (the rest of a very long text is not
/// indexed): bounds the index row, and PostgreSQL's `tsvector` (1 MB).
pub const MAX_DOCUMENT_TOKENS: usize = 16_000;
/// Bytes of one document's tokens kept, for the same reason.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Whether `c` is written without spaces between words: Han ideographs,
/// kana and Hangul syllables.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F
        | 0x3040..=0x309F | 0x30A0..=0x30FF | 0xAC00..=0xD7AF | 0x3005 | 0x3007)
}

/// One character as searched: full-width ASCII folded, lowercased. Always
/// one character for one, so positions in the folded text are positions in
/// the original.
pub fn fold(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Cjk,
    Word,
    Sep,
}

fn class(c: char) -> Class {
    if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Sep
    }
}

/// A run of characters of one class in folded text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Cjk(Vec<char>),
    Word(String),
}

fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    let mut cur_class = Class::Sep;
    let mut flush = |cur: &mut Vec<char>, cls: Class| {
        match cls {
            Class::Cjk => out.push(Segment::Cjk(std::mem::take(cur))),
            Class::Word => out.push(Segment::Word(
                cur.drain(..).take(MAX_TOKEN_CHARS).collect::<String>(),
            )),
            Class::Sep => cur.clear(),
        }
        cur.clear();
    };
    for c in text.chars().map(fold) {
        let cls = class(c);
        if cls != cur_class && !cur.is_empty() {
            flush(&mut cur, cur_class);
        }
        cur_class = cls;
        if cls != Class::Sep {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        flush(&mut cur, cur_class);
    }
    out
}

/// The tokens of a text in order: CJK runs as bigrams, words as themselves.
///
/// A CJK run of two or more characters next to another run (a word, or
/// Chinese after punctuation) also has its edge character alone at that
/// edge: `iPhone15屏幕` is `iphone15 屏 屏幕`. A query cut inside the run
/// ends (or starts) on a lone character, `iPhone15屏` → `iphone15 屏`, and
/// the text holds no bigram for it (`屏` alone is only among the characters
/// after the tokens, not next to `iphone15`): without the edge character
/// such a query found nothing. The query is cut the same way, so
/// `iPhone15屏幕` → `iphone15 屏 屏幕` still lines up with the text.
fn stream(segs: &[Segment]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        match s {
            Segment::Word(w) => out.push(w.clone()),
            Segment::Cjk(cs) if cs.len() == 1 => out.push(cs[0].to_string()),
            Segment::Cjk(cs) => {
                if i > 0 {
                    out.push(cs[0].to_string());
                }
                out.extend(cs.windows(2).map(|p| p.iter().collect::<String>()));
                if i + 1 < segs.len() {
                    out.push(cs[cs.len() - 1].to_string());
                }
            }
        }
    }
    out
}

/// A token no query holds, between the parts of a document whose tokens are
/// not next to each other in the text: two fields (a contact's name and
/// e-mail), and the tokens and the characters listed after them. Without it
/// a phrase matched across the join, `abc退` finding "退款 abc" (tokens
/// `退款 abc`, then the characters `退 款`). A private-use character: FTS5's
/// `unicode61` keeps it as a token (category `Co`), while the query side
/// treats it as a separator, so no query token ever equals it. PostgreSQL
/// gets a skipped position instead ([`Document::tsvector`]).
pub const GAP: &str = "\u{E000}";

/// What a text is indexed under: the tokens in order (phrases match on
/// their positions) and then each CJK character alone (for one-character
/// queries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub tokens: Vec<String>,
    pub chars: Vec<String>,
    /// Bytes of all the tokens.
    bytes: usize,
    /// The characters in `chars`, for a constant-time "already there" (a
    /// scan of `chars` made a long text quadratic inside the store's writer).
    seen: std::collections::HashSet<char>,
}

impl Document {
    /// The document of `text`.
    pub fn of(text: &str) -> Document {
        let mut d = Document::default();
        d.add(text);
        d
    }

    /// Appends `text` (another field of the same record, not adjacent to
    /// the previous one: a [`GAP`] separates them), up to
    /// [`MAX_DOCUMENT_TOKENS`] and [`MAX_DOCUMENT_BYTES`] in all.
    pub fn add(&mut self, text: &str) {
        let segs = segments(text);
        let tokens = stream(&segs);
        if !tokens.is_empty()
            && self.tokens.last().is_some_and(|t| t != GAP)
            && !self.push_token(GAP.to_string())
        {
            return;
        }
        for t in tokens {
            if !self.push_token(t) {
                return;
            }
        }
        for s in &segs {
            if let Segment::Cjk(cs) = s {
                for &c in cs {
                    if !self.seen.contains(&c) {
                        if self.full(c.len_utf8()) {
                            return;
                        }
                        self.seen.insert(c);
                        self.bytes += c.len_utf8();
                        self.chars.push(c.to_string());
                    }
                }
            }
        }
    }

    /// Whether a token of `len` bytes would go over the limits.
    fn full(&self, len: usize) -> bool {
        self.tokens.len() + self.chars.len() >= MAX_DOCUMENT_TOKENS
            || self.bytes + len > MAX_DOCUMENT_BYTES
    }

    fn push_token(&mut self, t: String) -> bool {
        if self.full(t.len()) {
            return false;
        }
        self.bytes += t.len();
        self.tokens.push(t);
        true
    }

    /// Appends a phone number's digits and every ending of them of three or
    /// more digits, so that any part of the number typed without its
    /// separators (`13800138000` in `+86 138-0013-8000`) finds it.
    pub fn add_phone(&mut self, phone: &str) {
        self.add(phone);
        if self.tokens.last().is_some_and(|t| t != GAP) && !self.push_token(GAP.to_string()) {
            return;
        }
        let digits: String = phone
            .chars()
            .map(fold)
            .filter(|c| c.is_ascii_digit())
            .collect();
        for i in 0..digits.len().saturating_sub(2) {
            if !self.push_token(digits[i..].to_string()) {
                return;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.chars.is_empty()
    }

    /// Every token at its position: the tokens, a [`GAP`], then the
    /// characters (a phrase never spans from the tokens into them).
    pub fn positions(&self) -> impl Iterator<Item = &str> {
        let gap = (!self.tokens.is_empty() && !self.chars.is_empty()).then_some(GAP);
        self.tokens
            .iter()
            .map(String::as_str)
            .chain(gap)
            .chain(self.chars.iter().map(String::as_str))
    }

    /// The text SQLite's FTS5 (`unicode61`) indexes: tokens separated by spaces.
    pub fn fts5_text(&self) -> String {
        self.positions().collect::<Vec<_>>().join(" ")
    }

    /// A PostgreSQL `tsvector` literal with each token's position (cast
    /// with `CAST($1 AS tsvector)`: no parser, no locale involved); a
    /// [`GAP`] is a position left empty.
    pub fn tsvector(&self) -> String {
        let mut s = String::new();
        for (i, t) in self.positions().enumerate() {
            if t == GAP {
                continue;
            }
            if !s.is_empty() {
                s.push(' ');
            }
            s.push('\'');
            s.push_str(t);
            s.push_str("':");
            s.push_str(&(i + 1).min(MAX_TS_POSITION).to_string());
        }
        s
    }

    /// Whether the index finds this document by `query`, as FTS5 and
    /// PostgreSQL do: each phrase's tokens at consecutive positions, the
    /// last one a prefix when the phrase says so. For tests that check the
    /// tokens against the text they came from.
    pub fn matches(&self, query: &Query) -> bool {
        let pos: Vec<&str> = self.positions().collect();
        query.phrases.iter().all(|p| {
            let n = p.tokens.len();
            n <= pos.len()
                && pos.windows(n).any(|w| {
                    w.iter().zip(&p.tokens).enumerate().all(|(i, (d, q))| {
                        if p.prefix && i + 1 == n {
                            d.starts_with(q.as_str()) && *d != GAP
                        } else {
                            d == q
                        }
                    })
                })
        })
    }
}

/// One chunk of a query: tokens that must appear in this order, the last
/// one as a prefix when `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub tokens: Vec<String>,
    pub prefix: bool,
}

/// A parsed query: every phrase must match. Also keeps what to highlight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub phrases: Vec<Phrase>,
    /// The folded runs of the query (whole CJK runs and words), for snippets.
    needles: Vec<Needle>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Needle {
    chars: Vec<char>,
    /// A word: matched only where a word starts.
    word: bool,
}

impl Query {
    /// The query of what a user typed; `None` when nothing in it can be
    /// searched (only punctuation or spaces).
    pub fn parse(q: &str) -> Option<Query> {
        let q: String = q.chars().take(MAX_QUERY_CHARS).collect();
        let mut phrases = Vec::new();
        let mut needles: Vec<Needle> = Vec::new();
        for chunk in q
            .split(|c: char| c.is_whitespace() || c == '\u{3000}')
            .filter(|s| !s.is_empty())
        {
            let segs = segments(chunk);
            let mut tokens = stream(&segs);
            if tokens.is_empty() {
                continue;
            }
            let cut = tokens.len() > MAX_PHRASE_TOKENS;
            tokens.truncate(MAX_PHRASE_TOKENS);
            let prefix =
                !cut && matches!(segs.last(), Some(Segment::Word(w)) if w.chars().count() >= 2);
            for s in &segs {
                let n = match s {
                    Segment::Cjk(cs) => Needle {
                        chars: cs.clone(),
                        word: false,
                    },
                    Segment::Word(w) => Needle {
                        chars: w.chars().collect(),
                        word: true,
                    },
                };
                if !needles.contains(&n) {
                    needles.push(n);
                }
            }
            let p = Phrase { tokens, prefix };
            if !phrases.contains(&p) {
                phrases.push(p);
            }
            if phrases.len() == MAX_CHUNKS {
                break;
            }
        }
        if phrases.is_empty() {
            None
        } else {
            Some(Query { phrases, needles })
        }
    }

    /// The FTS5 MATCH expression: `"t1 t2" AND "w"*`. Tokens hold only
    /// letters and digits, so quoting them is all the escaping needed.
    pub fn fts5(&self) -> String {
        self.phrases
            .iter()
            .map(|p| {
                let star = if p.prefix { "*" } else { "" };
                format!("\"{}\"{star}", p.tokens.join(" "))
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The PostgreSQL `tsquery` literal: `'t1' <-> 't2' & 'w':*`.
    pub fn tsquery(&self) -> String {
        self.phrases
            .iter()
            .map(|p| {
                let n = p.tokens.len();
                let inner = p
                    .tokens
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let star = if p.prefix && i + 1 == n { ":*" } else { "" };
                        format!("'{t}'{star}")
                    })
                    .collect::<Vec<_>>()
                    .join(" <-> ");
                if n > 1 { format!("({inner})") } else { inner }
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// Where the query's runs occur in `text`, as merged character ranges.
    fn hits(&self, folded: &[char]) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        for n in &self.needles {
            let len = n.chars.len();
            if len == 0 || len > folded.len() {
                continue;
            }
            for i in 0..=folded.len() - len {
                if folded[i..i + len] != n.chars[..] {
                    continue;
                }
                if n.word && i > 0 && class(folded[i - 1]) == Class::Word {
                    continue;
                }
                ranges.push((i, i + len));
            }
        }
        ranges.sort();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// An excerpt of `text` of about `max_chars` characters around the first
    /// place the query occurs, HTML-escaped, with each occurrence inside
    /// `<mark>…</mark>` (the only markup in it). `…` marks a cut.
    pub fn snippet(&self, text: &str, max_chars: usize) -> String {
        let orig: Vec<char> = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let folded: Vec<char> = orig.iter().map(|&c| fold(c)).collect();
        let hits = self.hits(&folded);
        let lead = max_chars / 4;
        let start = match hits.first() {
            Some(&(s, _)) if s > lead => {
                // Leave room to show the end of a long text too.
                let s = s - lead;
                s.min(orig.len().saturating_sub(max_chars))
            }
            _ => 0,
        };
        let end = (start + max_chars).min(orig.len());
        let mut out = String::new();
        if start > 0 {
            out.push('…');
        }
        let mut i = start;
        for &(s, e) in hits.iter().filter(|(s, e)| *e > start && *s < end) {
            let (s, e) = (s.max(start), e.min(end));
            escape_into(&mut out, &orig[i..s]);
            out.push_str("<mark>");
            escape_into(&mut out, &orig[s..e]);
            out.push_str("</mark>");
            i = e;
        }
        escape_into(&mut out, &orig[i..end]);
        if end < orig.len() {
            out.push('…');
        }
        out
    }
}

fn escape_into(out: &mut String, chars: &[char]) {
    for &c in chars {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Query {
        Query::parse(s).unwrap()
    }

    #[test]
    fn chinese_becomes_bigrams_and_characters() {
        let d = Document::of("我要申请退款！");
        assert_eq!(d.tokens, ["我要", "要申", "申请", "请退", "退款"]);
        assert_eq!(d.chars, ["我", "要", "申", "请", "退", "款"]);
        assert_eq!(Document::of("好").tokens, ["好"]);
    }

    #[test]
    fn words_are_folded_and_split_on_punctuation() {
        let d = Document::of("Hello, ＷＯＲＬＤ! li.lei@Example.com 订单12345号");
        assert_eq!(
            d.tokens,
            [
                "hello", "world", "li", "lei", "example", "com", "订", "订单", "单", "12345", "号"
            ]
        );
    }

    #[test]
    fn phones_match_any_ending() {
        let mut d = Document::default();
        d.add_phone("+86 138-0013-8000");
        assert!(d.tokens.contains(&"13800138000".to_string()));
        assert!(d.tokens.contains(&"8000".to_string()));
        assert!(d.tokens.contains(&"138".to_string()));
    }

    #[test]
    fn queries_become_phrases_and_prefixes() {
        assert_eq!(q("退款申请").fts5(), "\"退款 款申 申请\"");
        assert_eq!(q("退").fts5(), "\"退\"");
        assert_eq!(q("refund 退款").fts5(), "\"refund\"* AND \"退款\"");
        assert_eq!(q("li.lei@example.com").fts5(), "\"li lei example com\"*");
        assert_eq!(q("a").fts5(), "\"a\"", "one letter is not a prefix");
        assert_eq!(
            q("退款申请 Refund").tsquery(),
            "('退款' <-> '款申' <-> '申请') & 'refund':*"
        );
        assert_eq!(
            q("iphone15退款").tsquery(),
            "('iphone15' <-> '退' <-> '退款')"
        );
        assert!(Query::parse("  ,.!? ").is_none());
        assert!(Query::parse("").is_none());
    }

    #[test]
    fn long_texts_are_indexed_up_to_a_limit() {
        let d = Document::of(&"word ".repeat(100_000));
        assert_eq!(d.tokens.len(), MAX_DOCUMENT_TOKENS);
        let d = Document::of(&"一二三四五六七八九十".repeat(20_000));
        assert!(d.tokens.len() + d.chars.len() <= MAX_DOCUMENT_TOKENS);
        assert!(d.tsvector().len() < 1024 * 1024);
        let d = Document::of(&format!("{} ", "x".repeat(48)).repeat(10_000));
        assert!(d.tokens.iter().map(String::len).sum::<usize>() <= MAX_DOCUMENT_BYTES);
    }

    #[test]
    fn tsvector_positions_follow_the_tokens() {
        assert_eq!(
            Document::of("退款了 ok").tsvector(),
            "'退款':1 '款了':2 '了':3 'ok':4 '退':6 '款':7 '了':8"
        );
        assert_eq!(
            Document::of("退款了 ok").fts5_text(),
            "退款 款了 了 ok \u{E000} 退 款 了"
        );
    }

    /// A lone character where Chinese meets a word, on either side, finds
    /// the text: the text's edge characters stand at the edge.
    #[test]
    fn a_lone_character_next_to_a_word_is_found() {
        let d = Document::of("iPhone15屏幕碎了");
        assert_eq!(d.tokens, ["iphone15", "屏", "屏幕", "幕碎", "碎了"]);
        for found in [
            "iPhone15屏",
            "iphone15屏幕",
            "iphone15屏幕碎",
            "屏幕碎了",
            "屏",
        ] {
            assert!(d.matches(&q(found)), "{found}");
        }
        let d = Document::of("换个手机屏cd吧");
        for found in ["屏cd", "机屏cd", "cd吧", "屏cd吧", "手机屏cd"] {
            assert!(d.matches(&q(found)), "{found}");
        }
        assert!(!d.matches(&q("机cd")));
    }

    /// A phrase never spans the join of two parts that are not next to each
    /// other: the tokens and the characters after them, or two fields.
    #[test]
    fn phrases_do_not_span_the_joins() {
        let d = Document::of("退款 abc");
        assert!(d.matches(&q("退款abc")), "punctuation and spaces join");
        assert!(!d.matches(&q("abc退")), "abc is followed by nothing");
        let mut k = Document::of("张三");
        k.add("abc@example.com");
        assert!(k.matches(&q("张三")) && k.matches(&q("abc@example")));
        assert!(!k.matches(&q("张三abc")), "name and e-mail are two fields");
        k.add_phone("138 0013");
        assert!(k.matches(&q("0013")) && k.matches(&q("138-0013")));
        assert!(!k.matches(&q("com.138")), "nor e-mail and phone");
    }

    #[test]
    fn snippets_escape_and_mark() {
        let s = q("退款").snippet("<b>我要退款</b> & 谢谢", 100);
        assert_eq!(s, "&lt;b&gt;我要<mark>退款</mark>&lt;/b&gt; &amp; 谢谢");
        // Words match where a word starts, ignoring case.
        let s = q("ref").snippet("Prefer a REFUND please", 100);
        assert_eq!(s, "Prefer a <mark>REF</mark>UND please");
        // A long text is cut around the first hit.
        let long = format!("{}退款{}", "啊".repeat(300), "呀".repeat(300));
        let s = q("退款").snippet(&long, 40);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>退款</mark>"));
        assert_eq!(s.chars().count(), 40 + 2 + "<mark></mark>".len());
        // No hit (the match was elsewhere): the start.
        assert_eq!(q("x").snippet("abc", 2), "ab…");
    }

    proptest! {
        /// Every substring of a Chinese text, of any length, finds it: the
        /// query's tokens are among the document's, in the same order.
        #[test]
        fn any_chinese_substring_is_found(text in "[一-龥]{1,12}", a in 0usize..12, len in 1usize..6) {
            let chars: Vec<char> = text.chars().collect();
            let a = a % chars.len();
            let b = (a + len).min(chars.len());
            let sub: String = chars[a..b].iter().collect();
            let d = Document::of(&text);
            let query = Query::parse(&sub).unwrap();
            let p = &query.phrases[0];
            if p.tokens.len() == 1 && sub.chars().count() == 1 {
                prop_assert!(d.chars.contains(&p.tokens[0]));
            } else {
                let found = d.tokens.windows(p.tokens.len()).any(|w| w == &p.tokens[..]);
                prop_assert!(found, "{:?} in {:?}", p.tokens, d.tokens);
            }
        }

        /// A mixed text (Chinese, words, digits, no spaces) is found by any
        /// part of it that starts where a word starts and ends on a Chinese
        /// character, a whole word or two letters of one; and nothing is
        /// found that is not in the text.
        #[test]
        fn mixed_substrings_are_found_and_only_they(
            text in "[一二三四ab1]{1,14}", a in 0usize..14, len in 1usize..8,
        ) {
            let chars: Vec<char> = text.chars().collect();
            let a = a % chars.len();
            let b = (a + len).min(chars.len());
            let sub: String = chars[a..b].iter().collect();
            let d = Document::of(&text);
            let query = Query::parse(&sub).unwrap();
            let word = |c: char| !is_cjk(c);
            let starts_word = a == 0 || !(word(chars[a - 1]) && word(chars[a]));
            let ends_ok = b == chars.len()
                || !word(chars[b - 1])
                || !word(chars[b])
                || (b - a >= 2 && word(chars[b - 2]));
            if starts_word && ends_ok {
                prop_assert!(d.matches(&query), "{sub} in {text}: {:?} {:?}", query.phrases, d.tokens);
            }
            // Any query (a random one too) is found only where it is.
            let other: String = chars.iter().rev().take(len).collect();
            for s in [sub, other] {
                let query = Query::parse(&s).unwrap();
                if d.matches(&query) {
                    prop_assert!(text.contains(&s), "{s} wrongly in {text}");
                }
            }
        }

        /// Snippets never carry markup other than <mark>.
        #[test]
        fn snippets_hold_no_other_markup(text in ".{0,80}", query in "[a-z<>&\"']{1,4}") {
            if let Some(qq) = Query::parse(&query) {
                let s = qq.snippet(&text, 60);
                let stripped = s.replace("<mark>", "").replace("</mark>", "");
                prop_assert!(!stripped.contains('<') && !stripped.contains('>'));
            }
        }
    }
}
