//! The metrics a fact can be, with their stored names.

use serde::{Deserialize, Serialize};

/// What one fact records. Counts have no value; durations have one in
/// milliseconds (wall clock and business time); `Csat` has the rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// A conversation was created (counted when and where it started).
    ConversationsOpened,
    /// A resolved or closed conversation became active again.
    ConversationsReopened,
    /// A conversation was resolved (or closed without a resolve first);
    /// value: the resolution time, from its creation.
    ConversationsResolved,
    /// The first reply of a person; value: from creation, or from the bot's
    /// hand-off, to that reply.
    FirstResponse,
    /// A person's reply to a customer who was waiting (after the first
    /// response); value: from the customer's first unanswered message.
    ReplyTime,
    /// A wait in a group's line that ended with an agent; value: its length.
    QueueWait,
    /// A wait in a group's line that ended some other way (resolved,
    /// offline follow-up, moved to another group); value: its length.
    QueueAbandoned,
    /// The bot took a conversation (once per conversation).
    BotConversations,
    /// Resolved with the bot only: never handed off, no person replied.
    BotResolved,
    /// The bot gave the conversation to people (once per conversation).
    HandedOff,
    /// Handed to another agent or group.
    Transfers,
    /// A customer's satisfaction rating; value: 1 to 5.
    Csat,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::ConversationsOpened,
        Metric::ConversationsReopened,
        Metric::ConversationsResolved,
        Metric::FirstResponse,
        Metric::ReplyTime,
        Metric::QueueWait,
        Metric::QueueAbandoned,
        Metric::BotConversations,
        Metric::BotResolved,
        Metric::HandedOff,
        Metric::Transfers,
        Metric::Csat,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ConversationsOpened => "conversations_opened",
            Metric::ConversationsReopened => "conversations_reopened",
            Metric::ConversationsResolved => "conversations_resolved",
            Metric::FirstResponse => "first_response",
            Metric::ReplyTime => "reply_time",
            Metric::QueueWait => "queue_wait",
            Metric::QueueAbandoned => "queue_abandoned",
            Metric::BotConversations => "bot_conversations",
            Metric::BotResolved => "bot_resolved",
            Metric::HandedOff => "handed_off",
            Metric::Transfers => "transfers",
            Metric::Csat => "csat",
        }
    }

    /// The metric a stored name stands for; `None` for a name this version
    /// does not know (a row from a newer version is skipped, not an error).
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Some(m));
            assert_eq!(
                serde_json::to_value(m).unwrap(),
                serde_json::Value::String(m.as_str().into())
            );
        }
        assert_eq!(Metric::parse("nope"), None);
    }
}
