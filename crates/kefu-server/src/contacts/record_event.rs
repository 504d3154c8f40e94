//! Recording a business event on a contact (`POST /api/v1/events`): check
//! it, find the contact, store it once per idempotency key (with its
//! attributes and its `contact_event_recorded` / `contact_updated` events in
//! one transaction), hand the events to `after_commit`, tell the
//! workspace's agents (a `contact_event` frame), and leave a line in the
//! contact's active conversation.
//!
//! The line is a private note from the system, so only agents see it.
//! Business events are internal: they come from the company's own systems,
//! may carry data it never meant to show the customer (amounts, internal
//! reasons, risk flags), and a line the customer did not expect in their
//! chat would read as if someone wrote to them. Agents see the context; a
//! rule's `auto_reply` or an agent can still tell the customer.

use crate::{
    app::SharedState,
    conversations::{after_commit, run},
    error::{ApiError, ApiResult},
};
use axum::http::StatusCode;
use kefu_core::{ConversationId, WorkspaceId};
use kefu_core::{ConversationStatus, MessageKind, Sender, SenderKind, event::BusinessEvent};
use kefu_store::{
    Actor, ContactRef, ConversationFilter, ConversationTarget, NewContactEvent, NewMessage,
    RecordedEvent, StoreError,
};
use serde_json::{Map, Value};

/// The system sender of the lines events leave in conversations.
pub const EVENT_LINES_SENDER: &str = "contact_events";
/// Longest event type; the format is `[a-z0-9_.-]{1,64}`.
const MAX_TYPE: usize = 64;
/// Longest idempotency key, and longest contact reference.
const MAX_KEY: usize = 255;
/// `occurred_at` before this (2000-01-01) is refused: almost always seconds
/// sent where milliseconds were meant.
const EARLIEST: i64 = 946_684_800_000;
/// How far ahead of the server's clock `occurred_at` may be.
const FUTURE_SLACK_MS: i64 = 24 * 3600 * 1000;

/// How the request proved who it is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSource {
    /// An API key with the `events:write` scope (its id).
    ApiKey(String),
    /// Signed with the workspace's inbound secret.
    Signed,
}

impl EventSource {
    /// The event's `source`: `api_key:<id>` or `signed`.
    fn name(&self) -> String {
        match self {
            EventSource::ApiKey(id) => format!("api_key:{id}"),
            EventSource::Signed => "signed".into(),
        }
    }

    /// Who the stored events name as their cause.
    fn actor(&self) -> Actor {
        match self {
            EventSource::ApiKey(id) => Actor {
                kind: SenderKind::Api,
                id: id.clone(),
            },
            EventSource::Signed => Actor {
                kind: SenderKind::System,
                id: "signed_request".into(),
            },
        }
    }
}

/// An event as the sender gave it (parsed, not yet checked).
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    pub contact: ContactRef,
    pub event_type: String,
    pub title: String,
    pub data: Value,
    /// Epoch ms.
    pub occurred_at: i64,
    pub idempotency_key: Option<String>,
    pub set_attributes: Map<String, Value>,
}

/// What recording did.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// As stored (for a duplicate: the first one).
    pub event: BusinessEvent,
    /// The idempotency key was seen before: nothing new was stored.
    pub duplicate: bool,
    /// The conversations whose timeline has the event's line.
    pub conversation_ids: Vec<ConversationId>,
}

fn refuse(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg)
}

/// Whether `t` is a valid event type: `[a-z0-9_.-]{1,64}`.
pub fn valid_type(t: &str) -> bool {
    (1..=MAX_TYPE).contains(&t.len())
        && t.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// The checks that need no contact: each failure has its own code.
fn check(state: &SharedState, ev: &IncomingEvent, now: i64) -> ApiResult<()> {
    let cfg = &state.cfg.events;
    let refs = [&ev.contact.id, &ev.contact.external_id, &ev.contact.email];
    if refs.iter().all(|r| r.is_none()) {
        return Err(refuse(
            "bad_contact",
            "contact needs external_id, email or id",
        ));
    }
    if refs
        .iter()
        .flat_map(|r| r.as_deref())
        .any(|r| r.trim().is_empty() || r.len() > MAX_KEY || !printable(r))
    {
        return Err(refuse(
            "bad_contact",
            format!("contact references are 1 to {MAX_KEY} bytes of printable text"),
        ));
    }
    if !valid_type(&ev.event_type) {
        return Err(refuse(
            "bad_event_type",
            format!(
                "type must be 1 to {MAX_TYPE} of a-z, 0-9, '_', '.', '-' (e.g. order.refunded), not {:?}",
                ev.event_type.chars().take(80).collect::<String>()
            ),
        ));
    }
    let chars = ev.title.chars().count();
    if ev.title.trim().is_empty() || chars > cfg.max_title_chars || !printable(&ev.title) {
        return Err(refuse(
            "bad_title",
            format!(
                "title must be 1 to {} characters, without control characters",
                cfg.max_title_chars
            ),
        ));
    }
    if !ev.data.is_object() {
        return Err(refuse("bad_data", "data must be a JSON object"));
    }
    let size = ev.data.to_string().len();
    if size > cfg.max_data_bytes {
        return Err(refuse(
            "data_too_large",
            format!(
                "data is {size} bytes as JSON; the limit is {}",
                cfg.max_data_bytes
            ),
        ));
    }
    if ev.occurred_at < EARLIEST || ev.occurred_at > now + FUTURE_SLACK_MS {
        return Err(refuse(
            "bad_time",
            "occurred_at must be epoch milliseconds (or RFC 3339) from 2000-01-01 to a day from now",
        ));
    }
    if let Some(k) = &ev.idempotency_key
        && (k.is_empty() || k.len() > MAX_KEY || !printable(k))
    {
        return Err(refuse(
            "bad_idempotency_key",
            format!("the idempotency key is 1 to {MAX_KEY} bytes of printable text"),
        ));
    }
    Ok(())
}

/// Records `ev` on its contact in `workspace_id`. A second request with the
/// same idempotency key stores nothing and answers with the first event.
pub async fn record_event(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    source: EventSource,
    ev: IncomingEvent,
) -> ApiResult<Recorded> {
    check(state, &ev, kefu_store::now_ms())?;
    let contact = match state
        .store
        .find_contact_for_event(workspace_id, &ev.contact)
        .await
    {
        Ok(c) => c,
        Err(StoreError::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "contact_not_found",
                "no contact has this external_id, email or id",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    super::check_attributes(&state.cfg.limits, &contact.attributes, &ev.set_attributes)
        .map_err(|m| refuse("bad_attributes", m))?;
    let new = NewContactEvent {
        workspace_id: workspace_id.clone(),
        contact_id: contact.id,
        event_type: ev.event_type,
        title: ev.title,
        data: ev.data,
        occurred_at: ev.occurred_at,
        source: source.name(),
        idempotency_key: ev.idempotency_key,
        set_attributes: ev.set_attributes,
        actor: source.actor(),
    };
    let st = state.clone();
    run(state, async move {
        let r = st
            .store
            .record_contact_event(new)
            .await
            .map_err(|e| ApiError::from_store(e, "contact"))?;
        // The `contact_event` frame to agents comes from `after_commit`.
        after_commit(&st, &r.events);
        // A retry posts the line too (once: the key below is the event's),
        // in case the first attempt stopped between the two writes.
        let conversation_ids = leave_line(&st, &r).await;
        Ok(Recorded {
            event: r.event,
            duplicate: r.duplicate,
            conversation_ids,
        })
    })
    .await
}

/// The event's line in the contact's active conversation (a contact is one
/// visitor of one inbox, so there is at most one): a private note from
/// the system, once per event. A conversation closed meanwhile is skipped.
async fn leave_line(state: &SharedState, r: &RecordedEvent) -> Vec<ConversationId> {
    let filter = ConversationFilter {
        statuses: vec![
            ConversationStatus::Bot,
            ConversationStatus::Queued,
            ConversationStatus::Open,
            ConversationStatus::Pending,
        ],
        contact_id: Some(r.contact.id.clone()),
        ..Default::default()
    };
    let active = match state
        .store
        .list_conversations(&r.contact.workspace_id, &filter, None, 10)
        .await
    {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, event = %r.event.id, "could not look up the contact's conversations");
            return Vec::new();
        }
    };
    let mut ids = Vec::new();
    for conv in active {
        let line = NewMessage {
            workspace_id: conv.workspace_id.clone(),
            target: ConversationTarget::Existing(conv.id.clone()),
            sender: Sender {
                kind: SenderKind::System,
                id: EVENT_LINES_SENDER.into(),
            },
            client_msg_id: Some(format!("event-{}", r.event.id)),
            kind: MessageKind::Note,
            content: format!("📦 {} · {}", r.event.title, r.event.event_type),
            attachment: None,
            require_contact: None,
            bot: None,
            only_while: None,
        };
        match state.store.append_message(line).await {
            Ok(a) => {
                after_commit(state, &a.events);
                ids.push(a.message.conversation_id);
            }
            Err(e) => {
                tracing::warn!(error = %e, conversation = %conv.id, event = %r.event.id, "the event's line was not posted");
            }
        }
    }
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::valid_type;

    #[test]
    fn event_types() {
        for ok in ["order.refunded", "a", "plan_v2-upgraded", &"x".repeat(64)] {
            assert!(valid_type(ok), "{ok}");
        }
        for bad in [
            "",
            "Order.Refunded",
            "order refunded",
            "订单",
            "a/b",
            &"x".repeat(65),
        ] {
            assert!(!valid_type(bad), "{bad}");
        }
    }
}
