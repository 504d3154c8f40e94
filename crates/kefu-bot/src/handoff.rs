//! Does the visitor ask for a person? ("转人工", "I want to talk to a human").
//!
//! A message asks for a person when, once the words around such a request
//! are taken away (greetings, "please", "I want", "转", "找", "talk to a"),
//! nothing but a hand-off word is left. So "人工", "转人工客服", "can I speak
//! with an agent please" hand off, while "客服几点上班" (a question about
//! the service hours, which the knowledge base should answer) and "what does
//! your agent programme pay" do not.

use crate::text::is_han;

/// The hand-off words of a new inbox (settable per inbox).
pub const DEFAULT_WORDS: &[&str] = &[
    "人工",
    "转人工",
    "人工客服",
    "真人",
    "客服",
    "人工服务",
    "human",
    "agent",
    "operator",
    "person",
    "real person",
    "live agent",
    "representative",
    "customer service",
];

/// What may surround a request for a person, Chinese.
const ZH_FILLER: &[&str] = &[
    "你好",
    "您好",
    "请问",
    "麻烦",
    "帮我",
    "给我",
    "我要",
    "我想",
    "我需要",
    "需要",
    "想要",
    "可以",
    "能不能",
    "能否",
    "请",
    "转接",
    "转到",
    "转",
    "找",
    "接",
    "呼叫",
    "联系",
    "叫",
    "要",
    "一个",
    "一下",
    "在吗",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "的",
    "了",
    "亲",
    "快",
    "马上",
    "立刻",
    "现在",
    "我",
    "给",
    "帮",
    "有没有",
    "有",
    "没有",
    "服务",
];

/// What may surround a request for a person, English (whole words).
const EN_FILLER: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "please",
    "pls",
    "plz",
    "i",
    "i'd",
    "id",
    "want",
    "need",
    "would",
    "like",
    "can",
    "could",
    "may",
    "let",
    "me",
    "to",
    "talk",
    "speak",
    "chat",
    "with",
    "a",
    "an",
    "the",
    "real",
    "live",
    "get",
    "connect",
    "transfer",
    "put",
    "through",
    "some",
    "someone",
    "somebody",
    "actual",
    "now",
    "your",
    "is",
    "there",
    "any",
    "available",
    "give",
    "just",
];

/// Whether `message` asks for a person, given the inbox's hand-off words.
pub fn asks_for_person(message: &str, words: &[String]) -> bool {
    let text: String = message
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect();
    let text = format!(
        " {} ",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    let mut words: Vec<String> = words
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    // Longest first: "人工客服" before "客服", "real person" before "person".
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let mut rest = text.clone();
    let mut found = false;
    for w in &words {
        let latin = !w.chars().any(is_han);
        let needle = if latin { format!(" {w} ") } else { w.clone() };
        while let Some(i) = rest.find(&needle) {
            found = true;
            rest.replace_range(i..i + needle.len(), " ");
        }
    }
    if !found {
        return false;
    }
    only_filler(&rest)
}

/// Whether nothing but request filler remains.
fn only_filler(rest: &str) -> bool {
    for token in rest.split_whitespace() {
        if token.chars().any(is_han) {
            // Chinese has no spaces: peel filler off the run greedily, longest first.
            let mut run = token.to_string();
            'peel: while !run.is_empty() {
                let mut filler: Vec<&&str> = ZH_FILLER.iter().collect();
                filler.sort_by_key(|f| std::cmp::Reverse(f.chars().count()));
                for f in filler {
                    if let Some(r) = run.strip_prefix(*f) {
                        run = r.to_string();
                        continue 'peel;
                    }
                }
                return false;
            }
        } else if !EN_FILLER.contains(&token) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_WORDS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn requests_for_a_person() {
        let w = defaults();
        for m in [
            "人工",
            "转人工",
            "转人工！",
            "我要转人工客服",
            "你好，请帮我转接人工",
            "找客服",
            "真人在吗",
            "客服",
            "human",
            "Human please",
            "I want to talk to a human",
            "can I speak with an agent please",
            "connect me to a real person",
            "OPERATOR!!",
            "customer service please",
        ] {
            assert!(asks_for_person(m, &w), "{m}");
        }
    }

    #[test]
    fn questions_that_merely_contain_the_words() {
        let w = defaults();
        for m in [
            "客服几点上班",
            "人工智能手表有货吗",
            "what does your agent programme pay",
            "is this a human hair wig",
            "退货",
            "my order has not arrived",
            "",
            "personal data deletion",
        ] {
            assert!(!asks_for_person(m, &w), "{m}");
        }
    }

    #[test]
    fn the_inbox_decides_the_words() {
        assert!(asks_for_person("我要找小王", &["小王".to_string()]));
        assert!(!asks_for_person("人工", &[]));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = asks_for_person(&s, &defaults());
        }
    }
}
