//! The bot's vocabulary shared by every layer: an inbox's bot settings (the
//! store keeps them, the API checks them, the bot decides with them), why a
//! conversation leaves the bot, and the mark a bot message carries (its
//! quick-reply buttons, which entry it answered with) so widgets can draw
//! them. The deciding itself is kefu-bot's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The thresholds an inbox sets (defaults chosen by `kefu bot eval` on the
/// validation split of the sample set; docs/bot.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// The least fused score that answers.
    pub answer: f32,
    /// How far the best must lead the runner-up to answer.
    pub margin: f32,
    /// The least score offered as a "did you mean" choice.
    pub clarify: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        // `kefu bot eval --validation bot/samples/questions-validation.jsonl`
        // with the lexical plugin alone (docs/bot.md).
        Thresholds {
            answer: 0.1,
            margin: 0.02,
            clarify: 0.05,
        }
    }
}

impl Thresholds {
    /// Every threshold is a score in 0..=1.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("answer", self.answer),
            ("margin", self.margin),
            ("clarify", self.clarify),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("bot.thresholds.{name} must be between 0 and 1"));
            }
        }
        Ok(())
    }
}

/// When the bot gives up on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Patience {
    /// Low-confidence turns in a row before a hand-off (0: never for that).
    pub low_confidence_turns: u32,
    /// Bot answers in one conversation before a hand-off (0: no limit).
    pub max_bot_turns: u32,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            low_confidence_turns: 2,
            max_bot_turns: 10,
        }
    }
}

/// Why a conversation leaves the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandOffReason {
    /// The visitor asked for a person.
    Asked,
    /// Too many turns in a row the bot could not answer.
    LowConfidence,
    /// The visitor gave an answer a thumbs-down.
    ThumbsDown,
    /// The bot has answered as often as the inbox allows.
    MaxTurns,
    /// A routing rule sent it to people.
    Rule,
    /// An agent took the conversation over.
    Agent,
}

impl HandOffReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HandOffReason::Asked => "asked",
            HandOffReason::LowConfidence => "low_confidence",
            HandOffReason::ThumbsDown => "thumbs_down",
            HandOffReason::MaxTurns => "max_turns",
            HandOffReason::Rule => "rule",
            HandOffReason::Agent => "agent",
        }
    }
}

/// Who speaks first in an inbox whose bot is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BotMode {
    /// Every new conversation starts with the bot.
    #[default]
    BotFirst,
    /// People first: the bot takes a conversation only when a rule says
    /// `to_bot()`, when it timed out in a line (`take_timeouts`), or when
    /// nobody could answer it (out of hours, nobody online).
    HumansFirst,
}

/// Which retrieval and answering plugins run (docs/bot.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BotPlugins {
    /// BM25 over the knowledge base (jieba words and bigrams, stemmed English).
    pub lexical: bool,
    /// Sentence embeddings (the in-process model or an embeddings server).
    pub semantic: bool,
    /// An OpenAI-compatible chat model answering from the top entries.
    pub llm: bool,
}

impl Default for BotPlugins {
    fn default() -> Self {
        BotPlugins {
            lexical: true,
            semantic: false,
            llm: false,
        }
    }
}

/// Most hand-off words an inbox may list.
pub const MAX_HANDOFF_WORDS: usize = 100;
/// Longest greeting, in characters.
pub const MAX_GREETING_CHARS: usize = 1000;

/// An inbox's bot. Every field has a default, so `{}` is valid (bot off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BotSettings {
    pub enabled: bool,
    pub mode: BotMode,
    /// The name visitors see on the bot's messages; empty: "Assistant"/"智能助手".
    pub name: String,
    /// Said when the bot takes a conversation; empty: nothing.
    pub greeting: String,
    pub thresholds: Thresholds,
    pub patience: Patience,
    /// Words with which a visitor asks for a person; empty: the built-in
    /// list (人工, 转人工, 真人, 客服, human, agent, operator, …).
    pub handoff_words: Vec<String>,
    pub plugins: BotPlugins,
    /// A conversation that waited too long in a line with no fallback group
    /// goes to the bot instead of offline follow-up.
    pub take_timeouts: bool,
}

impl Default for BotSettings {
    fn default() -> Self {
        BotSettings {
            enabled: false,
            mode: BotMode::BotFirst,
            name: String::new(),
            greeting: String::new(),
            thresholds: Thresholds::default(),
            patience: Patience::default(),
            handoff_words: Vec::new(),
            plugins: BotPlugins::default(),
            take_timeouts: false,
        }
    }
}

impl BotSettings {
    /// Checks settings as an admin gives them.
    pub fn check(&self) -> Result<(), String> {
        self.thresholds.check()?;
        if self.greeting.chars().count() > MAX_GREETING_CHARS {
            return Err(format!(
                "bot.greeting is longer than {MAX_GREETING_CHARS} characters"
            ));
        }
        if self.name.chars().count() > 64 {
            return Err("bot.name is longer than 64 characters".into());
        }
        if self.handoff_words.len() > MAX_HANDOFF_WORDS {
            return Err(format!(
                "bot.handoff_words holds more than {MAX_HANDOFF_WORDS} words"
            ));
        }
        if self
            .handoff_words
            .iter()
            .any(|w| w.trim().is_empty() || w.chars().count() > 50)
        {
            return Err("each of bot.handoff_words must be 1 to 50 characters".into());
        }
        if !(self.plugins.lexical || self.plugins.semantic || self.plugins.llm) {
            return Err("bot.plugins must turn on at least one plugin".into());
        }
        Ok(())
    }
}

/// A "did you mean" choice: the entry and the question shown on its button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BotChoice {
    pub entry: String,
    pub label: String,
}

/// What a bot message carries besides its text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BotMark {
    /// The knowledge-base entry it answered with (thumbs up/down rate it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// "Did you mean…" buttons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<BotChoice>,
    /// Show a "talk to a person" button.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub offer_person: bool,
    /// The knowledge-base entries an LLM answer was written from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cited: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_settings_are_valid_and_off() {
        let s: BotSettings = serde_json::from_str("{}").unwrap();
        assert!(!s.enabled);
        assert!(s.check().is_ok());
        assert!(serde_json::from_str::<BotSettings>(r#"{"enable":true}"#).is_err());
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut s = BotSettings::default();
        s.thresholds.answer = 1.5;
        assert!(s.check().is_err());
        let s = BotSettings {
            handoff_words: vec![" ".into()],
            ..Default::default()
        };
        assert!(s.check().is_err());
        let s = BotSettings {
            plugins: BotPlugins {
                lexical: false,
                semantic: false,
                llm: false,
            },
            ..Default::default()
        };
        assert!(s.check().is_err());
    }

    #[test]
    fn a_plain_mark_serializes_small() {
        let m = BotMark {
            entry: Some("e1".into()),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"entry":"e1"}"#);
    }
}
