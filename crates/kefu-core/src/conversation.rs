//! The conversation state machine.
//!
//! Every status change goes through [`ConversationStatus::transition`], so the
//! rules live in one place and the store only ever records legal moves (each
//! as an event in the conversation's history).

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

/// Where a conversation stands. Routing moves it from `bot` or `open` into
/// a group's line (`queued`) and out again when an agent gets it (`open`);
/// agents park, resolve and close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Handled by the bot until it or the visitor asks for a human.
    Bot,
    /// Waiting, unassigned, in a group's line for an agent with room.
    Queued,
    /// Being handled by an agent, or waiting for one outside any line
    /// (unassigned: no rules, an offline follow-up).
    Open,
    /// Parked: waiting on the visitor or snoozed. A visitor message reopens it.
    Pending,
    /// Done from the agent's point of view; the visitor can still reopen it.
    Resolved,
    /// Final: archived, accepts no more messages.
    Closed,
}

/// A status change the state machine refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} conversation cannot become {to}")]
pub struct TransitionError {
    pub from: ConversationStatus,
    pub to: ConversationStatus,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 6] = [
        Self::Bot,
        Self::Queued,
        Self::Open,
        Self::Pending,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Queued => "queued",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Active conversations are the ones a visitor's next message lands in.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Bot | Self::Queued | Self::Open | Self::Pending)
    }

    /// Statuses only routing sets: an agent puts a conversation in a line by
    /// transferring it to a group, and the bot takes one by a rule.
    pub fn is_routing_only(self) -> bool {
        matches!(self, Self::Bot | Self::Queued)
    }

    /// Whether messages may still be added.
    pub fn accepts_messages(self) -> bool {
        self != Self::Closed
    }

    /// Checks a requested change. Setting the current status again is refused
    /// so that every stored transition is a real change.
    pub fn transition(self, to: ConversationStatus) -> Result<ConversationStatus, TransitionError> {
        use ConversationStatus::*;
        let ok = matches!(
            (self, to),
            (Bot, Queued | Open | Resolved | Closed)
                | (Queued, Open | Bot | Resolved | Closed)
                | (Open, Queued | Pending | Resolved | Closed | Bot)
                | (Pending, Open | Queued | Resolved | Closed)
                | (Resolved, Open | Queued | Closed)
        );
        if ok {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// The status a conversation moves to when the visitor writes in it, if
    /// that changes anything: a parked or resolved conversation reopens; one
    /// with the bot or in a line stays where it is.
    pub fn on_visitor_message(self) -> Option<ConversationStatus> {
        match self {
            Self::Pending | Self::Resolved => Some(Self::Open),
            Self::Bot | Self::Queued | Self::Open | Self::Closed => None,
        }
    }
}

impl fmt::Display for ConversationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown conversation status {0:?} (expected bot, queued, open, pending, resolved or closed)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for ConversationStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::ConversationStatus::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn closed_is_terminal() {
        for to in ConversationStatus::ALL {
            assert!(Closed.transition(to).is_err());
        }
    }

    #[test]
    fn reopen_and_resolve() {
        assert_eq!(Resolved.transition(Open), Ok(Open));
        assert_eq!(Open.transition(Resolved), Ok(Resolved));
        assert!(Resolved.transition(Pending).is_err());
        assert_eq!(Pending.on_visitor_message(), Some(Open));
        assert_eq!(Closed.on_visitor_message(), None);
    }

    #[test]
    fn routing_moves() {
        // new → queued → assigned (open) → transferred to a group (queued again) → resolved
        assert_eq!(Open.transition(Queued), Ok(Queued));
        assert_eq!(Queued.transition(Open), Ok(Open));
        assert_eq!(Bot.transition(Queued), Ok(Queued));
        assert_eq!(Resolved.transition(Queued), Ok(Queued));
        assert!(Queued.transition(Pending).is_err());
        assert!(Bot.transition(Pending).is_err());
        assert_eq!(Queued.on_visitor_message(), None);
        assert_eq!(Bot.on_visitor_message(), None);
        assert!(Queued.is_active() && Bot.is_active());
    }

    fn status() -> impl Strategy<Value = ConversationStatus> {
        prop::sample::select(ConversationStatus::ALL.to_vec())
    }

    proptest! {
        /// Any sequence of requested changes leaves a conversation in a status
        /// reachable only through legal moves, and never "changes" to itself.
        #[test]
        fn transitions_are_real_changes(start in status(), moves in prop::collection::vec(status(), 0..20)) {
            let mut cur = start;
            for to in moves {
                match cur.transition(to) {
                    Ok(next) => { prop_assert_ne!(next, cur); prop_assert_ne!(cur, Closed); cur = next; }
                    Err(e) => { prop_assert_eq!(e.from, cur); }
                }
            }
        }

        #[test]
        fn parse_round_trip(s in status()) {
            prop_assert_eq!(s.as_str().parse::<ConversationStatus>().unwrap(), s);
        }
    }
}
