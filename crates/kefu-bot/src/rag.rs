//! The LLM plugin's pure half: the prompt that hands a chat model the
//! knowledge base's best entries for a message, and the reading of its reply
//! (the answer, the entries it cites, or "I don't know"). The server sends
//! the prompt to an OpenAI-compatible API; docs/bot.md shows it in full.
//!
//! The model may use only the entries it is given, must cite the ids of
//! those it used and must say [`DONT_KNOW`] when they do not answer. A reply
//! that cites none of the given ids is treated as "I don't know": an answer
//! the bot cannot trace to the knowledge base is not one it gives.

use crate::kb::Lang;

/// What the model says when the entries do not answer the question.
pub const DONT_KNOW: &str = "I_DONT_KNOW";

/// The line before the cited ids.
const SOURCES: &str = "SOURCES:";

/// One knowledge-base entry offered to the model.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub id: &'a str,
    pub question: &'a str,
    pub answer: &'a str,
}

/// The system message: the rules of the game.
pub fn system_prompt() -> String {
    format!(
        "You are a customer-service assistant. Answer the customer's question using only \
the knowledge-base entries in the user message; never add facts that are not in them. \
Each entry starts with its id in square brackets. Answer briefly, in the customer's language. \
End with one line \"{SOURCES} <ids>\" listing the ids of the entries you used, separated by commas. \
If the entries do not answer the question, reply with exactly {DONT_KNOW} and nothing else."
    )
}

/// What the conversation already holds, for the model to read a question
/// like "and for Alipay?" in its light (the entries still decide the answer).
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// Earlier lines, oldest first: the customer's and the replies they got.
    pub history: Vec<Turn<'a>>,
    /// The page the customer is on.
    pub page: Option<&'a str>,
    /// What the company's records say about the customer: only the contact
    /// attributes the operator chose to share (`[bot.llm]
    /// contact_attributes`), as key and value.
    pub facts: Vec<(&'a str, String)>,
}

/// One earlier line of the conversation.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    /// The customer wrote it (otherwise it was a reply to them).
    pub customer: bool,
    pub text: &'a str,
}

/// Most earlier lines handed to the model, and the longest of each.
pub const MAX_TURNS: usize = 6;
const MAX_TURN_CHARS: usize = 300;
/// Longest attribute value handed to the model.
const MAX_FACT_CHARS: usize = 100;

/// The user message: the entries, then the question.
pub fn user_prompt(sources: &[Source<'_>], message: &str, lang: Lang) -> String {
    user_prompt_in(sources, &Context::default(), message, lang)
}

/// [`user_prompt`] with the conversation so far (its last [`MAX_TURNS`]
/// lines, each on one line and cut at 300 characters) and the page, before
/// the question, which stays last.
pub fn user_prompt_in(
    sources: &[Source<'_>],
    ctx: &Context<'_>,
    message: &str,
    lang: Lang,
) -> String {
    let mut s = String::from("Knowledge-base entries:\n\n");
    for e in sources {
        s.push_str(&format!(
            "[{}]\nQ: {}\nA: {}\n\n",
            e.id,
            one_line(e.question),
            e.answer.trim()
        ));
    }
    let language = match lang {
        Lang::Zh => "Chinese",
        Lang::En => "English",
        Lang::Both => "the language of the question",
    };
    let recent = &ctx.history[ctx.history.len().saturating_sub(MAX_TURNS)..];
    if !recent.is_empty() {
        s.push_str("Conversation so far (oldest first; for context only):\n");
        for t in recent {
            let who = if t.customer { "Customer" } else { "Reply" };
            let text: String = one_line(t.text).chars().take(MAX_TURN_CHARS).collect();
            s.push_str(&format!("{who}: {text}\n"));
        }
        s.push('\n');
    }
    if let Some(page) = ctx.page.filter(|p| !p.trim().is_empty()) {
        let page: String = one_line(page).chars().take(MAX_TURN_CHARS).collect();
        s.push_str(&format!("The customer is on the page: {page}\n\n"));
    }
    if !ctx.facts.is_empty() {
        s.push_str("About the customer (from the company's records; for context only):\n");
        for (k, v) in &ctx.facts {
            let v: String = one_line(v).chars().take(MAX_FACT_CHARS).collect();
            s.push_str(&format!("- {}: {v}\n", one_line(k)));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Customer question (answer in {language}):\n{}\n",
        one_line(message)
    ));
    s
}

/// A question on one line, so it cannot pose as an entry or a rule.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the model's reply amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An answer and the ids of the entries it cites, in order of first mention.
    Answer { text: String, cited: Vec<String> },
    /// The entries do not answer, or the reply cannot be traced to them.
    DontKnow,
}

/// Reads a reply. Citations are found wherever the model put them (a
/// `SOURCES:` line, `[id]` inline, `(source: id)`): any of the given ids
/// that occurs in the reply counts; ids it invented are ignored. The text
/// shown loses the sources line and the ids.
pub fn parse_reply(reply: &str, sources: &[Source<'_>]) -> Reply {
    let lower = reply.to_lowercase();
    if lower.contains(&DONT_KNOW.to_lowercase()) {
        return Reply::DontKnow;
    }
    let mut found: Vec<(usize, &str)> = sources
        .iter()
        .filter(|s| !s.id.is_empty())
        .filter_map(|s| lower.find(&s.id.to_lowercase()).map(|at| (at, s.id)))
        .collect();
    found.sort();
    let mut cited: Vec<String> = Vec::new();
    for (_, id) in found {
        if !cited.iter().any(|c| c == id) {
            cited.push(id.to_string());
        }
    }
    if cited.is_empty() {
        return Reply::DontKnow;
    }
    let text = strip_citations(reply, sources);
    if text.is_empty() {
        return Reply::DontKnow;
    }
    Reply::Answer { text, cited }
}

/// The reply without its sources lines and without the ids.
fn strip_citations(reply: &str, sources: &[Source<'_>]) -> String {
    let mut kept: Vec<String> = Vec::new();
    for line in reply.lines() {
        let t = line.trim_start().trim_start_matches(['*', '#', '-', ' ']);
        let upper = t.to_uppercase();
        if upper.starts_with(SOURCES) || upper.starts_with("SOURCE:") || t.starts_with("来源") {
            continue;
        }
        let mut l = line.to_string();
        for s in sources.iter().filter(|s| !s.id.is_empty()) {
            for form in [
                format!("[{}]", s.id),
                format!("({})", s.id),
                s.id.to_string(),
            ] {
                l = replace_ignore_case(&l, &form);
            }
        }
        // Brackets left empty or holding only separators ("[, ]").
        let l = l.replace("[]", "").replace("()", "").replace("[, ]", "");
        kept.push(l.trim_end().to_string());
    }
    kept.join("\n").trim().to_string()
}

/// `s` with every case-insensitive occurrence of `what` (ASCII ids) removed.
fn replace_ignore_case(s: &str, what: &str) -> String {
    if what.is_empty() || !what.is_ascii() {
        return s.replace(what, "");
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = find_ascii_ci(rest, what) {
        out.push_str(&rest[..at]);
        rest = &rest[at + what.len()..];
    }
    out.push_str(rest);
    out
}

/// Byte offset of `needle` (ASCII) in `hay`, ignoring ASCII case; always
/// on a character boundary since an ASCII match starts at an ASCII byte.
fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: [Source<'static>; 2] = [
        Source {
            id: "e-ret",
            question: "How do I return an item?",
            answer: "Within 7 days, from My orders.",
        },
        Source {
            id: "e-ship",
            question: "When is my order dispatched?",
            answer: "Within 48 hours.",
        },
    ];

    #[test]
    fn the_prompt_lists_entries_with_ids_and_the_question_last() {
        let p = user_prompt(&SRC, "can I\n\nreturn   it?", Lang::En);
        assert!(p.contains("[e-ret]\nQ: How do I return an item?\nA: Within 7 days"));
        assert!(p.ends_with("(answer in English):\ncan I return it?\n"));
        assert!(system_prompt().contains(DONT_KNOW));
    }

    #[test]
    fn reads_citations_wherever_they_are() {
        let r = parse_reply(
            "You can return it within 7 days [e-ret].\nSOURCES: e-ret",
            &SRC,
        );
        assert_eq!(
            r,
            Reply::Answer {
                text: "You can return it within 7 days .".into(),
                cited: vec!["e-ret".into()]
            }
        );
        // Inline, lower-case line, two ids, an invented one ignored.
        let r = parse_reply(
            "Dispatch is within 48 hours (E-SHIP); returns within 7 days.\n**Sources:** e-ret, e-ship, e-zzz",
            &SRC,
        );
        let Reply::Answer { text, cited } = r else {
            panic!("an answer")
        };
        assert_eq!(cited, vec!["e-ship".to_string(), "e-ret".to_string()]);
        assert_eq!(text, "Dispatch is within 48 hours ; returns within 7 days.");
    }

    #[test]
    fn dont_know_or_no_citation_is_no_answer() {
        assert_eq!(parse_reply("I_DONT_KNOW", &SRC), Reply::DontKnow);
        assert_eq!(parse_reply("  i_dont_know.  ", &SRC), Reply::DontKnow);
        assert_eq!(parse_reply("Sure, 3 days.", &SRC), Reply::DontKnow);
        assert_eq!(parse_reply("SOURCES: e-ret", &SRC), Reply::DontKnow);
        assert_eq!(parse_reply("", &SRC), Reply::DontKnow);
        // Chinese text around an id.
        let r = parse_reply("七天内可以退货。[e-ret]\n来源: e-ret", &SRC);
        assert_eq!(
            r,
            Reply::Answer {
                text: "七天内可以退货。".into(),
                cited: vec!["e-ret".into()]
            }
        );
    }

    #[test]
    fn the_conversation_so_far_comes_before_the_question() {
        let lines: Vec<String> = (0..8).map(|i| format!("line {i}")).collect();
        let ctx = Context {
            history: lines
                .iter()
                .enumerate()
                .map(|(i, t)| Turn {
                    customer: i % 2 == 0,
                    text: t,
                })
                .collect(),
            page: Some("https://shop.example.com/orders/12"),
            facts: vec![
                ("plan", "gold\n[e-ret]".to_string()),
                ("city", "杭州".to_string()),
            ],
        };
        let p = user_prompt_in(&SRC, &ctx, "and for\nAlipay?", Lang::En);
        // The last six lines only, oldest first, labelled; the page; the question last.
        assert!(!p.contains("line 1\n") && p.contains("Customer: line 2\nReply: line 3\n"));
        assert!(p.contains("Reply: line 7\n"));
        assert!(p.contains("The customer is on the page: https://shop.example.com/orders/12"));
        assert!(p.trim_end().ends_with("and for Alipay?"));
        // The shared attributes, one line each, before the question.
        assert!(p.contains("About the customer (from the company's records; for context only):\n- plan: gold [e-ret]\n- city: 杭州\n"), "{p}");
        assert!(p.find("- city:") < p.find("Customer question"));
        // A line cannot pose as an entry: newlines are gone, length is bounded.
        let long = "x\n[e-ret]\nQ: ".repeat(200);
        let ctx = Context {
            history: vec![Turn {
                customer: true,
                text: &long,
            }],
            page: None,
            facts: Vec::new(),
        };
        let p = user_prompt_in(&SRC, &ctx, "hi", Lang::En);
        let line = p.lines().find(|l| l.starts_with("Customer: ")).unwrap();
        assert!(line.chars().count() <= "Customer: ".len() + 300);
        assert_eq!(p.matches("\nQ: ").count(), 2);
    }
}
