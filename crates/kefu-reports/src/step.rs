//! What an event means for reports: the few kinds of change the metrics
//! read, with everything else dropped.

use kefu_core::{
    ConversationStatus, MessageKind, SenderKind,
    event::{ConversationEvent as Ev, Event},
};
use serde::{Deserialize, Serialize};

/// One change in a conversation's life, as reports see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// It was created (with its status then: `bot` when the bot took it at once).
    Created {
        inbox_id: String,
        status: ConversationStatus,
    },
    /// The customer wrote something visible (text, image, file).
    CustomerMessage,
    /// A person (an agent) wrote something the customer sees. Notes, system
    /// lines, the bot's and integrations' messages are not replies.
    AgentReply {
        agent: String,
    },
    StatusChanged {
        from: ConversationStatus,
        to: ConversationStatus,
    },
    Assigned {
        to: String,
        group: Option<String>,
    },
    Unassigned,
    Transferred {
        to_group: Option<String>,
    },
    Queued {
        group: String,
    },
    /// Left for offline follow-up: nobody can take it now.
    Offline,
    /// The bot gave it to people.
    HandedOff,
    /// The customer rated it (CSAT, 1 to 5).
    Rated {
        rating: u8,
    },
}

impl Step {
    /// The step an event is, if reports care about it.
    pub fn of(event: &Event) -> Option<Step> {
        let conv = event.conversation.as_ref()?;
        Some(match &event.change {
            Ev::ConversationCreated { inbox_id } => Step::Created {
                inbox_id: inbox_id.clone(),
                status: conv.status,
            },
            Ev::MessageCreated { message } => {
                let visible = matches!(
                    message.kind,
                    MessageKind::Text | MessageKind::Image | MessageKind::File
                );
                match message.sender.kind {
                    SenderKind::Visitor if visible => Step::CustomerMessage,
                    SenderKind::Agent if visible => Step::AgentReply {
                        agent: message.sender.id.clone(),
                    },
                    _ => return None,
                }
            }
            Ev::ConversationStatusChanged { from, to } => Step::StatusChanged {
                from: *from,
                to: *to,
            },
            Ev::ConversationAssigned { to, group, .. } => Step::Assigned {
                to: to.to_string(),
                group: group.clone(),
            },
            Ev::ConversationUnassigned { .. } => Step::Unassigned,
            Ev::ConversationTransferred { to_group, .. } => Step::Transferred {
                to_group: to_group.clone(),
            },
            Ev::ConversationQueued { group } => Step::Queued {
                group: group.clone(),
            },
            Ev::ConversationOffline { .. } => Step::Offline,
            Ev::ConversationHandedOff { .. } => Step::HandedOff,
            Ev::ConversationRated { rating, .. } => Step::Rated { rating: *rating },
            _ => return None,
        })
    }
}

/// When a step happened: a message's own time, else the commit's.
pub fn time_of(event: &Event) -> i64 {
    match &event.change {
        Ev::MessageCreated { message } => message.created_at,
        _ => event.occurred_at,
    }
}
