//! Message kinds and senders.

use crate::ConversationId;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;

/// What a message is. A `note` is private to agents and never reaches the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    File,
    /// Written by the system (status changes, assignment) for the transcript.
    Event,
    /// Private note between agents.
    Note,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    Visitor,
    Agent,
    /// A server-to-server integration using a workspace API key.
    Api,
    System,
    /// The inbox's bot (docs/bot.md).
    Bot,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($s => Ok(Self::$v),)* other => Err(format!("unknown {} {other:?}", stringify!($t))) }
            }
        }
    };
}

str_enum!(MessageKind { Text => "text", Image => "image", File => "file", Event => "event", Note => "note" });
str_enum!(SenderKind { Visitor => "visitor", Agent => "agent", Api => "api", System => "system", Bot => "bot" });

impl MessageKind {
    /// Visitors see everything but private notes.
    pub fn visible_to_visitor(self) -> bool {
        self != MessageKind::Note
    }

    /// Kinds that carry an attachment instead of (or besides) text.
    pub fn needs_attachment(self) -> bool {
        matches!(self, MessageKind::Image | MessageKind::File)
    }

    /// Whether a sender of this kind may write this kind of message.
    pub fn allowed_for(self, sender: SenderKind) -> bool {
        match sender {
            SenderKind::Visitor => matches!(self, Self::Text | Self::Image | Self::File),
            SenderKind::Agent | SenderKind::Api => !matches!(self, Self::Event),
            SenderKind::System => true,
            SenderKind::Bot => matches!(self, Self::Text | Self::Note),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitors_cannot_write_notes_or_events() {
        assert!(!MessageKind::Note.allowed_for(SenderKind::Visitor));
        assert!(!MessageKind::Event.allowed_for(SenderKind::Visitor));
        assert!(MessageKind::Note.allowed_for(SenderKind::Agent));
        assert!(!MessageKind::Note.visible_to_visitor());
        assert_eq!("image".parse::<MessageKind>().unwrap(), MessageKind::Image);
        assert!("html".parse::<MessageKind>().is_err());
    }
}

/// A file attached to a message, as stored with the message and sent on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachmentRef {
    pub id: String,
    pub name: String,
    /// Detected from the content, never taken from the uploader.
    pub content_type: String,
    pub size: i64,
}

/// Who wrote a message, on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sender {
    pub kind: SenderKind,
    /// Contact id for visitors, user id for agents, key id for API keys, empty for the system.
    pub id: String,
}

/// A stored message. `seq` is dense and increasing per conversation and is the
/// position clients resume from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: String,
    pub conversation_id: ConversationId,
    pub seq: i64,
    /// The sender's idempotency key; a resend with the same key is stored once.
    pub client_msg_id: Option<String>,
    pub sender: Sender,
    pub kind: MessageKind,
    pub content: String,
    pub attachment: Option<AttachmentRef>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When its author took it back (its text and attachment are gone);
    /// absent for a message that stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    /// A bot message's buttons and the entry it answered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<crate::bot::BotMark>,
}

/// What a new message does to the customer's wait
/// ([`crate::event::Conversation::waiting_since`]): a visitor's message
/// starts it (if it was not running), a visible answer by a person or an
/// integration ends it, notes and system lines leave it as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    Starts,
    Ends,
    Unchanged,
}

impl Waiting {
    pub fn of(sender: SenderKind, kind: MessageKind) -> Waiting {
        match (sender, kind) {
            (SenderKind::Visitor, _) => Waiting::Starts,
            (SenderKind::Agent | SenderKind::Api, MessageKind::Text)
            | (SenderKind::Agent | SenderKind::Api, MessageKind::Image)
            | (SenderKind::Agent | SenderKind::Api, MessageKind::File)
            | (SenderKind::Bot, MessageKind::Text) => Waiting::Ends,
            _ => Waiting::Unchanged,
        }
    }

    /// The word the append statements bind (see `waiting_sql!`).
    pub fn as_str(self) -> &'static str {
        match self {
            Waiting::Starts => "start",
            Waiting::Ends => "end",
            Waiting::Unchanged => "keep",
        }
    }
}

/// The `waiting_since` assignment of an append statement, given the
/// placeholders of the [`Waiting`] word and of the current time.
#[macro_export]
macro_rules! waiting_sql {
    ($w:literal, $now:literal) => {
        concat!(
            "waiting_since = CASE ",
            $w,
            " WHEN 'start' THEN COALESCE(waiting_since, ",
            $now,
            ") WHEN 'end' THEN NULL ELSE waiting_since END"
        )
    };
}

#[cfg(test)]
mod waiting_tests {
    use super::*;

    #[test]
    fn visitors_start_the_wait_and_answers_end_it() {
        assert_eq!(
            Waiting::of(SenderKind::Visitor, MessageKind::Text),
            Waiting::Starts
        );
        assert_eq!(
            Waiting::of(SenderKind::Agent, MessageKind::Image),
            Waiting::Ends
        );
        assert_eq!(
            Waiting::of(SenderKind::Api, MessageKind::Text),
            Waiting::Ends
        );
        assert_eq!(
            Waiting::of(SenderKind::Agent, MessageKind::Note),
            Waiting::Unchanged
        );
        assert_eq!(
            Waiting::of(SenderKind::System, MessageKind::Text),
            Waiting::Unchanged
        );
    }
}
