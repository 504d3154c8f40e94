//! What follows a committed change, in one place: realtime frames to the
//! hub, routing triggers, and waking the outbox's consumers (webhooks, the
//! bus). Synchronous and cheap: it never waits on I/O, so once a command has
//! its events nothing can stop it halfway.

use crate::{
    app::SharedState,
    hub::{contact_topic, workspace_topic},
};
use kefu_core::{
    ConversationStatus, SenderKind,
    event::{ConversationEvent as Ev, Event},
    protocol::ServerFrame,
};
use kefu_store::Conversation;

/// Does everything that follows the commit of `events` (one command's, in order).
pub fn after_commit(state: &SharedState, events: &[kefu_store::Event]) {
    if events.is_empty() {
        return;
    }
    publish(state, events);
    trigger_routing(state, events);
    state.outbox.wake();
}

/// Where frames about a conversation go: every agent of the workspace, and
/// the visitor unless `agents_only`.
pub fn topics(conv: &Conversation, agents_only: bool) -> Vec<String> {
    let mut t = vec![workspace_topic(&conv.workspace_id)];
    if !agents_only {
        t.push(contact_topic(&conv.contact_id));
    }
    t
}

/// The `conversation` frame agents get (with priority and tags).
pub fn conversation_frame(conv: &Conversation) -> ServerFrame {
    ServerFrame::Conversation {
        conversation_id: conv.id.clone(),
        status: conv.status,
        assignee_id: conv.assignee_id.clone(),
        priority: Some(conv.priority),
        tags: Some(conv.tags.clone()),
        snoozed_until: conv.snoozed_until,
        waiting_since: conv.waiting_since,
        updated_at: conv.updated_at,
    }
}

/// Whether the visitor hears of this change (priority and tags are internal).
fn visitor_sees(change: &Ev) -> bool {
    !matches!(
        change,
        Ev::ConversationLabelsChanged { .. } | Ev::ConversationPriorityChanged { .. }
    )
}

/// The hub frames of one command: one `conversation` frame with the state
/// the command left (before its messages, so a client sees a new or reopened
/// conversation before what was said in it), then each message.
fn publish(state: &SharedState, events: &[Event]) {
    let conv_change = events
        .iter()
        .find(|e| !matches!(e.change, Ev::MessageCreated { .. }) && e.conversation.is_some());
    if let Some(conv) = conv_change.and_then(|e| e.conversation.as_ref()) {
        let visitor = events
            .iter()
            .any(|e| !matches!(e.change, Ev::MessageCreated { .. }) && visitor_sees(&e.change));
        state.hub.publish_many(
            &[workspace_topic(&conv.workspace_id)],
            &conversation_frame(conv),
        );
        if visitor {
            state.hub.publish_many(
                &[contact_topic(&conv.contact_id)],
                &ServerFrame::Conversation {
                    conversation_id: conv.id.clone(),
                    status: conv.status,
                    assignee_id: conv.assignee_id.clone(),
                    priority: None,
                    tags: None,
                    snoozed_until: None,
                    waiting_since: None,
                    updated_at: conv.updated_at,
                },
            );
        }
    }
    for e in events {
        if let Ev::ContactUpdated { contact }
        | Ev::ContactMerged { contact, .. }
        | Ev::ContactBlocked { contact, .. }
        | Ev::ContactUnblocked { contact } = &e.change
        {
            state.hub.publish_many(
                &[workspace_topic(&e.workspace_id)],
                &ServerFrame::Contact {
                    contact: contact.clone(),
                },
            );
        }
        // The visitor's live connections end now (their next session is
        // refused, or continues as the merged contact), not at the next
        // heartbeat's check.
        let ended = match &e.change {
            Ev::ContactBlocked { contact, .. } => Some(&contact.id),
            Ev::ContactMerged { merged, .. } => Some(&merged.id),
            _ => None,
        };
        if let Some(id) = ended {
            state.hub.publish_many(
                &[contact_topic(id)],
                &ServerFrame::error("session_ended", "start a new session"),
            );
        }
        if let Ev::ContactEventRecorded { event } = &e.change {
            // Agents only: business events are never a visitor's to see.
            state.hub.publish_many(
                &[workspace_topic(&e.workspace_id)],
                &ServerFrame::ContactEvent {
                    event: event.clone(),
                },
            );
        }
        if let (Ev::MessageDeleted { seq, kind, .. }, Some(conv)) = (&e.change, &e.conversation) {
            state.hub.publish_many(
                &topics(conv, !kind.visible_to_visitor()),
                &ServerFrame::MessageDeleted {
                    conversation_id: conv.id.clone(),
                    seq: *seq,
                    deleted_at: e.occurred_at,
                },
            );
        }
        if let (Ev::MessageCreated { message }, Some(conv)) = (&e.change, &e.conversation) {
            state.hub.publish_many(
                &topics(conv, !message.kind.visible_to_visitor()),
                &ServerFrame::Message {
                    message: message.clone(),
                },
            );
        }
    }
}

/// Routing's part: a new conversation is routed; a change that frees an
/// agent or moves a line lets the workspace's lines move up. Routing's own
/// changes trigger nothing (it follows up on them itself).
fn trigger_routing(state: &SharedState, events: &[Event]) {
    let by_router = events
        .iter()
        .all(|e| e.actor.kind == SenderKind::System && e.actor.id == crate::routing::ROUTER_ID);
    if by_router {
        return;
    }
    let mut drain = None;
    for e in events {
        let Some(conv) = &e.conversation else {
            continue;
        };
        let first = || {
            events
                .iter()
                .find_map(|m| match &m.change {
                    Ev::MessageCreated { message } => Some(message.content.clone()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        match &e.change {
            Ev::ConversationCreated { .. } => state.router.route(conv.clone(), first()),
            // The bot gave it to people: routed like a new one (never back to the bot).
            Ev::ConversationHandedOff { .. } => state.router.route(conv.clone(), String::new()),
            // The visitor wrote again after a resolve and the agent who had
            // it is gone (or nobody had it): routed like a new one.
            Ev::ConversationStatusChanged {
                from: ConversationStatus::Resolved,
                to: ConversationStatus::Open,
            } if e.actor.kind == SenderKind::Visitor && conv.assignee_id.is_none() => {
                state.router.route(conv.clone(), first())
            }
            Ev::ConversationStatusChanged { from, to }
                if matches!(
                    to,
                    ConversationStatus::Resolved | ConversationStatus::Closed
                ) || *from == ConversationStatus::Queued =>
            {
                drain = Some(conv.workspace_id.clone());
            }
            Ev::ConversationUnassigned { .. }
            | Ev::ConversationTransferred { .. }
            | Ev::ConversationQueued { .. } => drain = Some(conv.workspace_id.clone()),
            Ev::ConversationAssigned { from: Some(_), .. } => {
                drain = Some(conv.workspace_id.clone())
            }
            Ev::ConversationPriorityChanged { .. } if conv.status == ConversationStatus::Queued => {
                drain = Some(conv.workspace_id.clone())
            }
            _ => {}
        }
    }
    if let Some(ws) = drain {
        state.router.drain(&ws);
    }
}
