//! What changed: every committed change to a conversation or a contact is
//! one [`Event`], stored with the change (the audit trail and the outbox) and
//! handed to whoever listens: the realtime hub, routing, webhooks, the bus.
//!
//! The JSON of an [`Event`] is the public contract integrations read (webhook
//! bodies, bus messages): names follow Chatwoot's where one exists
//! (`conversation_created`, `message_created`, …), and a field is only ever
//! added, never renamed. docs/integrations.md shows an example of each type.

use crate::{
    ContactId, ConversationId, ConversationStatus, Message, Priority, SenderKind, UserId,
    WorkspaceId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A conversation as agents and integrations see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub inbox_id: String,
    pub contact_id: ContactId,
    pub status: ConversationStatus,
    /// At most one assignee at any time.
    pub assignee_id: Option<UserId>,
    /// The `seq` of the newest message.
    pub last_seq: i64,
    pub last_activity_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Orders the routing line.
    pub priority: Priority,
    /// Labels from rules and agents, for agents only (visitors never see them).
    pub tags: Vec<String>,
    /// Snoozed (status `pending`) until then (epoch ms), when it wakes by
    /// itself; `None` while pending: until the customer writes.
    #[serde(default)]
    pub snoozed_until: Option<i64>,
    /// Since when the customer has waited for an answer (their first
    /// unanswered message, epoch ms); `None`: nobody is waiting.
    #[serde(default)]
    pub waiting_since: Option<i64>,
}

impl Conversation {
    /// What a visitor may see of it: no internal priority, tags or timers.
    pub fn for_visitor(mut self) -> Self {
        self.priority = Priority::Normal;
        self.tags.clear();
        self.snoozed_until = None;
        self.waiting_since = None;
        self
    }
}

/// A visitor or customer, as agents and integrations see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub inbox_id: String,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub language: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub last_seen_at: i64,
    pub created_at: i64,
    /// When an agent blocked them (epoch ms): their widget sessions and
    /// messages are refused. `None`: not blocked.
    #[serde(default)]
    pub blocked_at: Option<i64>,
    /// The contact this one was merged into (it is then no longer listed;
    /// its visitor is taken to that contact at their next session).
    #[serde(default)]
    pub merged_into: Option<ContactId>,
}

/// Who caused a change: a visitor, an agent, an API key, or the system
/// (`id` names the part: `routing`, `queue_timeout`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    pub kind: SenderKind,
    pub id: String,
}

/// How a conversation came to its assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignedBy {
    /// An agent or admin chose the assignee.
    Manual,
    /// Routing picked them (a rule, a group's strategy, the line).
    Routing,
    /// They took it from a grab-mode line.
    Claim,
    /// They answered it while nobody had it (the workspace's reply-to-take).
    Reply,
}

/// Why a conversation moved to another agent or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferReason {
    /// An agent handed it over.
    Manual,
    /// It waited longer than its group allows and moved to the fallback group.
    QueueTimeout,
    /// Its group was deleted while it waited there: it left the line,
    /// unassigned, for agents to pick up by hand.
    GroupDeleted,
}

/// What changed. Serialized as `{"type": "<name>", "data": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ConversationEvent {
    /// A visitor's first message opened a conversation.
    ConversationCreated {
        inbox_id: String,
    },
    /// A message was stored (private notes included: integrations are staff).
    MessageCreated {
        message: Message,
    },
    /// Its author took a message back: clients show "message deleted"; the
    /// text stays here, in the audit trail and for integrations.
    MessageDeleted {
        message_id: String,
        seq: i64,
        kind: crate::MessageKind,
        content: String,
    },
    /// The status moved (by an agent, a visitor's message reopening it, routing).
    ConversationStatusChanged {
        from: ConversationStatus,
        to: ConversationStatus,
    },
    /// Someone now owns it.
    ConversationAssigned {
        from: Option<UserId>,
        to: UserId,
        /// The group it was routed or claimed through, if any.
        group: Option<String>,
        by: AssignedBy,
    },
    /// Nobody owns it any more.
    ConversationUnassigned {
        from: UserId,
    },
    /// Handed to another agent or group.
    ConversationTransferred {
        from_agent: Option<UserId>,
        to_agent: Option<UserId>,
        from_group: Option<String>,
        to_group: Option<String>,
        reason: TransferReason,
        note: Option<String>,
    },
    /// It waits in a group's line for an agent with room.
    ConversationQueued {
        group: String,
    },
    /// Tags added or removed.
    ConversationLabelsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    ConversationPriorityChanged {
        from: Priority,
        to: Priority,
    },
    /// Put aside until `until` (epoch ms; status `pending`). It wakes by
    /// itself then (a `conversation_status_changed` to `open` by the system)
    /// or earlier when the customer writes.
    ConversationSnoozed {
        until: i64,
    },
    /// Left for offline follow-up: nobody can take it now (closed hours, a
    /// queue timeout without fallback, a rule's `offline()`).
    ConversationOffline {
        reason: String,
        group: Option<String>,
    },
    /// The bot gave the conversation to people (it is routed next), with
    /// why: the visitor asked, it could not answer, a thumbs-down, its
    /// turns ran out, a rule, or an agent took it over.
    ConversationHandedOff {
        reason: crate::bot::HandOffReason,
    },
    /// The customer rated the conversation after it was resolved (CSAT):
    /// once per resolve, 1 (bad) to 5 (good), with an optional comment.
    ConversationRated {
        rating: u8,
        comment: Option<String>,
    },
    /// A new visitor or customer.
    ContactCreated {
        contact: Contact,
    },
    /// Their name, e-mail or attributes changed.
    ContactUpdated {
        contact: Contact,
    },
    /// A business system told kefu something about the contact (an order
    /// refunded, a plan upgraded): see `POST /api/v1/events`.
    ContactEventRecorded {
        event: BusinessEvent,
    },
    /// An agent merged `merged` (a duplicate) into `contact`: its
    /// conversations, notes and business events now belong to `contact`,
    /// which kept its own details and took the duplicate's where it had none.
    ContactMerged {
        contact: Contact,
        /// Boxed: the enum's other variants are far smaller.
        merged: Box<Contact>,
    },
    /// An agent blocked the contact: their widget sessions and messages are
    /// refused; `ip_blocked` names an address blocked with them, if any.
    ContactBlocked {
        contact: Contact,
        ip_blocked: Option<String>,
    },
    /// An agent lifted the block.
    ContactUnblocked {
        contact: Contact,
    },
}

/// Something a company's own system recorded on a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BusinessEvent {
    pub id: String,
    pub contact_id: ContactId,
    /// A dotted name chosen by the sender, e.g. `order.refunded`.
    pub event_type: String,
    pub title: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When it happened in the sender's system (epoch ms).
    pub occurred_at: i64,
    /// Who recorded it: `api_key:<key id>`, or `signed` for a request
    /// signed with the workspace's inbound secret.
    pub source: String,
}

impl ConversationEvent {
    /// Every event type, in catalogue order (what a webhook subscription may pick).
    pub const TYPES: [&'static str; 20] = [
        "conversation_created",
        "message_created",
        "message_deleted",
        "conversation_status_changed",
        "conversation_assigned",
        "conversation_unassigned",
        "conversation_transferred",
        "conversation_queued",
        "conversation_labels_changed",
        "conversation_priority_changed",
        "conversation_snoozed",
        "conversation_offline",
        "conversation_handed_off",
        "conversation_rated",
        "contact_created",
        "contact_updated",
        "contact_event_recorded",
        "contact_merged",
        "contact_blocked",
        "contact_unblocked",
    ];

    /// The type's name on the wire, one of [`ConversationEvent::TYPES`].
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ConversationCreated { .. } => "conversation_created",
            Self::MessageCreated { .. } => "message_created",
            Self::MessageDeleted { .. } => "message_deleted",
            Self::ConversationStatusChanged { .. } => "conversation_status_changed",
            Self::ConversationAssigned { .. } => "conversation_assigned",
            Self::ConversationUnassigned { .. } => "conversation_unassigned",
            Self::ConversationTransferred { .. } => "conversation_transferred",
            Self::ConversationQueued { .. } => "conversation_queued",
            Self::ConversationLabelsChanged { .. } => "conversation_labels_changed",
            Self::ConversationPriorityChanged { .. } => "conversation_priority_changed",
            Self::ConversationSnoozed { .. } => "conversation_snoozed",
            Self::ConversationOffline { .. } => "conversation_offline",
            Self::ConversationHandedOff { .. } => "conversation_handed_off",
            Self::ConversationRated { .. } => "conversation_rated",
            Self::ContactCreated { .. } => "contact_created",
            Self::ContactUpdated { .. } => "contact_updated",
            Self::ContactEventRecorded { .. } => "contact_event_recorded",
            Self::ContactMerged { .. } => "contact_merged",
            Self::ContactBlocked { .. } => "contact_blocked",
            Self::ContactUnblocked { .. } => "contact_unblocked",
        }
    }

    /// The `data` object alone (what the audit trail keeps per row).
    pub fn data(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut m)) => {
                m.remove("data").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// Whether it belongs in a conversation's audit trail (messages have
    /// their own table; contact events have no conversation).
    pub fn is_audited(&self) -> bool {
        !matches!(
            self,
            Self::MessageCreated { .. }
                | Self::ContactCreated { .. }
                | Self::ContactUpdated { .. }
                | Self::ContactEventRecorded { .. }
                | Self::ContactMerged { .. }
                | Self::ContactBlocked { .. }
                | Self::ContactUnblocked { .. }
        )
    }
}

/// One committed change with its context: the JSON integrations receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Unique per event (UUIDv7, so it sorts by time): the idempotency key a
    /// receiver dedupes on.
    pub id: String,
    pub workspace_id: WorkspaceId,
    /// Epoch milliseconds of the commit.
    pub occurred_at: i64,
    pub actor: Actor,
    /// The conversation as the change left it (none for contact events).
    pub conversation: Option<Conversation>,
    /// The contact concerned (the conversation's, or the event's own).
    pub contact_id: Option<ContactId>,
    #[serde(flatten)]
    pub change: ConversationEvent,
}

impl Event {
    /// The conversation's id, if the event is about one.
    pub fn conversation_id(&self) -> Option<&ConversationId> {
        self.conversation.as_ref().map(|c| &c.id)
    }
}

/// The statuses a message may be appended to without reopening anything,
/// as an SQL list (one place for every query of the hot path).
#[macro_export]
macro_rules! appendable_statuses_sql {
    () => {
        "('bot', 'queued', 'open')"
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageKind, Sender};

    fn conv() -> Conversation {
        Conversation {
            id: "c1".into(),
            workspace_id: "w1".into(),
            inbox_id: "i1".into(),
            contact_id: "k1".into(),
            status: ConversationStatus::Open,
            assignee_id: None,
            last_seq: 1,
            last_activity_at: 5,
            created_at: 5,
            updated_at: 5,
            priority: Priority::Normal,
            snoozed_until: None,
            waiting_since: None,
            tags: vec![],
        }
    }

    #[test]
    fn an_event_is_flat_json_with_type_and_data() {
        let e = Event {
            id: "e1".into(),
            workspace_id: "w1".into(),
            occurred_at: 5,
            actor: Actor {
                kind: SenderKind::Visitor,
                id: "k1".into(),
            },
            conversation: Some(conv()),
            contact_id: Some("k1".into()),
            change: ConversationEvent::MessageCreated {
                message: Message {
                    id: "m1".into(),
                    conversation_id: "c1".into(),
                    seq: 1,
                    client_msg_id: None,
                    sender: Sender {
                        kind: SenderKind::Visitor,
                        id: "k1".into(),
                    },
                    kind: MessageKind::Text,
                    content: "你好".into(),
                    attachment: None,
                    created_at: 5,
                    deleted_at: None,
                    bot: None,
                },
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "message_created");
        assert_eq!(v["data"]["message"]["content"], "你好");
        assert_eq!(v["conversation"]["id"], "c1");
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn type_names_match_serde_and_the_catalogue() {
        let samples = [
            ConversationEvent::ConversationCreated {
                inbox_id: "i".into(),
            },
            ConversationEvent::ConversationStatusChanged {
                from: ConversationStatus::Open,
                to: ConversationStatus::Resolved,
            },
            ConversationEvent::ConversationUnassigned { from: "u".into() },
            ConversationEvent::ConversationQueued { group: "g".into() },
            ConversationEvent::ConversationOffline {
                reason: "closed".into(),
                group: None,
            },
            ConversationEvent::ConversationHandedOff {
                reason: crate::bot::HandOffReason::Asked,
            },
            ConversationEvent::ConversationRated {
                rating: 5,
                comment: Some("快".into()),
            },
        ];
        for s in samples {
            let v = serde_json::to_value(&s).unwrap();
            assert_eq!(v["type"], s.type_name());
            assert!(ConversationEvent::TYPES.contains(&s.type_name()));
            assert_eq!(v["data"], s.data());
        }
    }

    #[test]
    fn appendable_statuses_are_those_that_take_messages_without_a_change() {
        let listed: Vec<ConversationStatus> = ConversationStatus::ALL
            .into_iter()
            .filter(|s| appendable_statuses_sql!().contains(&format!("'{}'", s.as_str())))
            .collect();
        for s in ConversationStatus::ALL {
            let plain = s.accepts_messages() && s.on_visitor_message().is_none();
            assert_eq!(listed.contains(&s), plain, "{s}");
        }
    }
}
