//! What the bot says in a conversation besides knowledge-base answers, in
//! the visitor's language, and how a visitor's reply picks one of its
//! "did you mean" choices (a button sends the choice's question; typing its
//! number works too).

use crate::kb::Lang;

/// The bot's own lines in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lines {
    /// Before the "did you mean" buttons.
    pub did_you_mean: &'static str,
    /// When nothing matched well enough.
    pub not_understood: &'static str,
    /// Said as the conversation goes to people.
    pub handing_off: &'static str,
    /// The "talk to a person" button; sending it asks for a person.
    pub person_button: &'static str,
    /// The name on the bot's messages when the inbox gives none.
    pub default_name: &'static str,
}

const ZH: Lines = Lines {
    did_you_mean: "您是想问以下哪个问题？",
    not_understood: "抱歉，我没有理解您的问题。您可以换个说法，或者点击“转人工”联系客服。",
    handing_off: "正在为您转接人工客服，请稍候。",
    person_button: "转人工",
    default_name: "智能助手",
};

const EN: Lines = Lines {
    did_you_mean: "Did you mean one of these?",
    not_understood: "Sorry, I did not understand that. Try asking another way, or talk to a person.",
    handing_off: "Connecting you to a person, one moment please.",
    person_button: "Talk to a person",
    default_name: "Assistant",
};

/// The lines for a message in `lang` (Chinese unless it is English).
pub fn lines(lang: Lang) -> &'static Lines {
    match lang {
        Lang::En => &EN,
        Lang::Zh | Lang::Both => &ZH,
    }
}

/// Which of `labels` (the choices offered, in order) the visitor's reply
/// picks: the label itself (as a button sends it), or its number.
pub fn pick_choice(reply: &str, labels: &[&str]) -> Option<usize> {
    let r = normalize(reply);
    if r.is_empty() {
        return None;
    }
    if let Some(i) = labels.iter().position(|l| normalize(l) == r) {
        return Some(i);
    }
    let digits: String = r
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect();
    match digits.parse::<usize>() {
        Ok(n) if (1..=labels.len()).contains(&n) => Some(n - 1),
        _ => None,
    }
}

/// Lower case, surrounding spaces and trailing punctuation gone.
fn normalize(s: &str) -> String {
    s.trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || "？！。，".contains(c))
        .trim()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_picks_by_label_or_number() {
        let labels = ["How do I return an item?", "退货运费谁承担"];
        assert_eq!(pick_choice("How do I return an item?", &labels), Some(0));
        assert_eq!(pick_choice(" how do i return an item ", &labels), Some(0));
        assert_eq!(pick_choice("退货运费谁承担？", &labels), Some(1));
        assert_eq!(pick_choice("2", &labels), Some(1));
        assert_eq!(pick_choice("２", &labels), Some(1));
        assert_eq!(pick_choice("3", &labels), None);
        assert_eq!(pick_choice("0", &labels), None);
        assert_eq!(pick_choice("return", &labels), None);
        assert_eq!(pick_choice("", &labels), None);
    }

    #[test]
    fn lines_follow_the_language() {
        assert_eq!(lines(Lang::En).person_button, "Talk to a person");
        assert_eq!(lines(Lang::Zh).person_button, "转人工");
        // The buttons' words are hand-off words, so pressing one hands off.
        let words: Vec<String> = crate::handoff::DEFAULT_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect();
        for l in [lines(Lang::En), lines(Lang::Zh)] {
            assert!(crate::handoff::asks_for_person(l.person_button, &words));
        }
    }
}
