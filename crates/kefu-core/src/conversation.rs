//! The conversation state machine.
//!
//! Every status change goes through [`ConversationStatus::transition`], so the
//! rules live in one place and the store only ever records legal moves (each
//! as an event in the conversation's history).

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

/// Where a conversation stands. Later phases add `bot` and `queued`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting for or being handled by an agent.
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
    pub const ALL: [ConversationStatus; 4] =
        [Self::Open, Self::Pending, Self::Resolved, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Active conversations are the ones a visitor's next message lands in.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Open | Self::Pending)
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
            (Open, Pending | Resolved | Closed)
                | (Pending, Open | Resolved | Closed)
                | (Resolved, Open | Closed)
        );
        if ok {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// The status a conversation moves to when the visitor writes in it, if
    /// that changes anything: a parked or resolved conversation reopens.
    pub fn on_visitor_message(self) -> Option<ConversationStatus> {
        match self {
            Self::Pending | Self::Resolved => Some(Self::Open),
            Self::Open | Self::Closed => None,
        }
    }
}

impl fmt::Display for ConversationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown conversation status {0:?} (expected open, pending, resolved or closed)")]
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
