//! The conversation service: everything that changes a conversation goes
//! through here, whether it came over REST or WebSocket, so validation,
//! persistence and fan-out happen the same way and in the same order:
//! check → store durably → publish.

use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
    hub::{contact_topic, workspace_topic},
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use kefu_core::{
    AgentStatus, AttachmentRef, ConversationStatus, MessageKind, protocol::ServerFrame,
};
use kefu_store::{Appended, Conversation, ConversationTarget, NewMessage, StoreError};
use std::num::NonZeroU32;

/// A message as a client asks to send it.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub client_msg_id: Option<String>,
    pub conversation_id: Option<String>,
    pub kind: MessageKind,
    pub content: String,
    pub attachment_id: Option<String>,
}

/// Per-key rate limits shared by every transport.
pub struct Limiters {
    pub visitor_messages: DefaultKeyedRateLimiter<String>,
    pub login: DefaultKeyedRateLimiter<String>,
    pub widget_sessions: DefaultKeyedRateLimiter<String>,
    /// Typing indicators over HTTP, per sender (WebSockets have their frame limit).
    pub http_typing: DefaultKeyedRateLimiter<String>,
}

impl Limiters {
    pub fn new(l: &crate::config::Limits) -> Self {
        let per_min = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Limiters {
            visitor_messages: RateLimiter::keyed(per_min(l.visitor_messages_per_minute)),
            login: RateLimiter::keyed(per_min(l.login_attempts_per_minute)),
            widget_sessions: RateLimiter::keyed(per_min(l.widget_sessions_per_minute)),
            http_typing: RateLimiter::keyed(per_min(l.http_typing_per_minute)),
        }
    }

    /// Forgets idle keys so the limiters' memory stays bounded.
    pub fn prune(&self) {
        self.visitor_messages.retain_recent();
        self.login.retain_recent();
        self.widget_sessions.retain_recent();
        self.http_typing.retain_recent();
    }
}

/// `Err(seconds to wait)` when `key` is over its limit.
pub fn check_rate(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), u64> {
    limiter.check_key(&key.to_string()).map_err(|not_until| {
        let clock = governor::clock::DefaultClock::default();
        not_until.wait_time_from(clock.now()).as_secs().max(1)
    })
}

/// Max length of a `client_msg_id`.
const MAX_CLIENT_MSG_ID: usize = 128;

/// Where frames about a conversation go: every agent of the workspace, and
/// the visitor unless `agents_only`.
pub fn topics(conv: &Conversation, agents_only: bool) -> Vec<String> {
    let mut t = vec![workspace_topic(&conv.workspace_id)];
    if !agents_only {
        t.push(contact_topic(&conv.contact_id));
    }
    t
}

/// Loads a conversation the principal may see, or "not found".
pub async fn visible_conversation(
    state: &SharedState,
    who: &Principal,
    id: &str,
) -> ApiResult<Conversation> {
    match state.store.get_conversation(who.workspace_id(), id).await {
        Ok(c) if who.can_see(&c) => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(ApiError::not_found("conversation")),
        Err(e) => Err(e.into()),
    }
}

/// Validates, stores and fans out a message. A resend of the same
/// `client_msg_id` returns the first result and publishes nothing.
pub async fn send(state: &SharedState, who: &Principal, req: SendRequest) -> ApiResult<Appended> {
    let new = match prepare(state, who, req).await? {
        Prepared::New(new) => new,
        Prepared::Done(a) => return Ok(a),
    };
    let appended = state.store.append_message(new).await.map_err(send_error)?;
    publish(state, &appended);
    Ok(appended)
}

/// [`send`] for several requests of one sender, stored in their order in as
/// few writes as possible (on SQLite, one transaction): a pipelining client
/// (an integration, a busy agent) is not held to one message per commit.
/// Answers one result per request, in order.
pub async fn send_many(
    state: &SharedState,
    who: &Principal,
    reqs: Vec<SendRequest>,
) -> Vec<ApiResult<Appended>> {
    let mut out: Vec<Option<ApiResult<Appended>>> = Vec::with_capacity(reqs.len());
    let mut news = Vec::with_capacity(reqs.len());
    let mut slots = Vec::with_capacity(reqs.len());
    for req in reqs {
        match prepare(state, who, req).await {
            Ok(Prepared::New(new)) => {
                slots.push(out.len());
                news.push(new);
                out.push(None);
            }
            Ok(Prepared::Done(a)) => out.push(Some(Ok(a))),
            Err(e) => out.push(Some(Err(e))),
        }
    }
    let stored = state.store.append_messages(news).await;
    for (slot, r) in slots.into_iter().zip(stored) {
        out[slot] = Some(r.map_err(send_error).inspect(|a| publish(state, a)));
    }
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ApiError::internal())))
        .collect()
}

/// A validated send, or the answer it already has.
enum Prepared {
    New(NewMessage),
    /// A retried attachment send whose first copy was stored.
    Done(Appended),
}

fn send_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => {
            ApiError::new(axum::http::StatusCode::CONFLICT, "conversation_closed", m)
        }
        other => ApiError::from_store(other, "conversation"),
    }
}

/// Tells everyone concerned about a stored message (nothing for a resend).
pub(crate) fn publish(state: &SharedState, appended: &Appended) {
    if appended.duplicate {
        return;
    }
    let conv = &appended.conversation;
    if appended.created || appended.reopened_from.is_some() {
        publish_conversation(state, conv, false);
    }
    let agents_only = !appended.message.kind.visible_to_visitor();
    state.hub.publish_many(
        &topics(conv, agents_only),
        &ServerFrame::Message {
            message: appended.message.clone(),
        },
    );
    if appended.created {
        crate::routing::spawn_route(state, conv.clone(), appended.message.content.clone());
    }
}

/// Checks a send request and turns it into the message to store.
async fn prepare(state: &SharedState, who: &Principal, req: SendRequest) -> ApiResult<Prepared> {
    let limits = &state.cfg.limits;
    let sender = who.sender();
    if !req.kind.allowed_for(sender.kind) {
        return Err(ApiError::validation(format!(
            "a {} cannot send {} messages",
            sender.kind.as_str(),
            req.kind.as_str()
        )));
    }
    if let Some(id) = &req.client_msg_id
        && (id.is_empty() || id.len() > MAX_CLIENT_MSG_ID)
    {
        return Err(ApiError::validation(format!(
            "client_msg_id must be 1 to {MAX_CLIENT_MSG_ID} bytes"
        )));
    }
    let chars = req.content.chars().count();
    if chars > limits.max_message_chars {
        return Err(ApiError::validation(format!(
            "message is {chars} characters; the limit is {}",
            limits.max_message_chars
        )));
    }
    if req.kind.needs_attachment() != req.attachment_id.is_some() {
        return Err(ApiError::validation(if req.kind.needs_attachment() {
            "image and file messages need an attachment_id"
        } else {
            "only image and file messages carry an attachment"
        }));
    }
    if !req.kind.needs_attachment() && req.content.trim().is_empty() {
        return Err(ApiError::validation("message text must not be empty"));
    }
    if let Principal::Visitor { contact_id, .. } = who {
        check_rate(&state.limiters.visitor_messages, contact_id).map_err(ApiError::rate_limited)?;
    }
    let target = match (&req.conversation_id, who) {
        // Access is checked inside the write (workspace, and the contact for
        // visitors): the hot path makes no separate read.
        (Some(id), _) => ConversationTarget::Existing(id.clone()),
        (
            None,
            Principal::Visitor {
                contact_id,
                inbox_id,
                ..
            },
        ) => ConversationTarget::VisitorActive {
            inbox_id: inbox_id.clone(),
            contact_id: contact_id.clone(),
        },
        (None, _) => return Err(ApiError::validation("conversation_id is required")),
    };
    let attachment = match &req.attachment_id {
        Some(id) => match own_attachment(state, who, id, req.kind).await {
            Ok(a) => Some(a),
            Err(e) if e.code == "conflict" => {
                return retried_send(state, who, &req.client_msg_id)
                    .await
                    .map(Prepared::Done)
                    .ok_or(e);
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let new = NewMessage {
        workspace_id: who.workspace_id().to_string(),
        target,
        sender,
        client_msg_id: req.client_msg_id,
        kind: req.kind,
        content: req.content,
        attachment,
        require_contact: match who {
            Principal::Visitor { contact_id, .. } => Some(contact_id.clone()),
            _ => None,
        },
    };
    Ok(Prepared::New(new))
}

/// The stored result of an earlier send with this `client_msg_id`: a client
/// retrying an attachment message whose ack it lost gets that ack again
/// rather than "already sent".
async fn retried_send(
    state: &SharedState,
    who: &Principal,
    client_msg_id: &Option<String>,
) -> Option<Appended> {
    let cmid = client_msg_id.as_deref()?;
    let (message, conversation) = state
        .store
        .find_sent(who.workspace_id(), &who.sender().id, cmid)
        .await
        .ok()??;
    Some(Appended {
        message,
        conversation,
        duplicate: true,
        created: false,
        reopened_from: None,
    })
}

/// An attachment the principal uploaded and has not sent elsewhere yet.
async fn own_attachment(
    state: &SharedState,
    who: &Principal,
    id: &str,
    kind: MessageKind,
) -> ApiResult<AttachmentRef> {
    let (a, sent_in) = state
        .store
        .get_attachment(who.workspace_id(), id)
        .await
        .map_err(|e| ApiError::from_store(e, "attachment"))?;
    if a.uploader_id != who.sender().id {
        return Err(ApiError::not_found("attachment"));
    }
    if sent_in.is_some() {
        return Err(ApiError::conflict("this attachment was already sent"));
    }
    if kind == MessageKind::Image && !crate::blob::is_inline_image(&a.content_type) {
        return Err(ApiError::validation(format!(
            "{} is not an image type kefu displays",
            a.content_type
        )));
    }
    Ok(AttachmentRef {
        id: a.id,
        name: a.name,
        content_type: a.content_type,
        size: a.size,
    })
}

/// The `conversation` frame agents get (with priority and tags).
pub fn conversation_frame(conv: &Conversation) -> ServerFrame {
    ServerFrame::Conversation {
        conversation_id: conv.id.clone(),
        status: conv.status,
        assignee_id: conv.assignee_id.clone(),
        priority: Some(conv.priority.clone()),
        tags: Some(conv.tags.clone()),
        updated_at: conv.updated_at,
    }
}

/// Tells the workspace's agents, and the visitor unless `agents_only`, that
/// `conv` changed. The visitor's frame leaves out the internal priority and tags.
pub fn publish_conversation(state: &SharedState, conv: &Conversation, agents_only: bool) {
    state.hub.publish_many(
        &[workspace_topic(&conv.workspace_id)],
        &conversation_frame(conv),
    );
    if !agents_only {
        state.hub.publish_many(
            &[contact_topic(&conv.contact_id)],
            &ServerFrame::Conversation {
                conversation_id: conv.id.clone(),
                status: conv.status,
                assignee_id: conv.assignee_id.clone(),
                priority: None,
                tags: None,
                updated_at: conv.updated_at,
            },
        );
    }
}

pub async fn change_status(
    state: &SharedState,
    who: &Principal,
    id: &str,
    to: ConversationStatus,
) -> ApiResult<Conversation> {
    who.require_staff()?;
    if to.is_routing_only() {
        return Err(ApiError::validation(format!(
            "status {to} is set by routing: transfer the conversation to a group to put it in a line"
        )));
    }
    let conv = visible_conversation(state, who, id).await?;
    let (_, after) = state
        .store
        .change_status(&conv.workspace_id, &conv.id, to, who.actor())
        .await
        .map_err(|e| ApiError::from_store(e, "conversation"))?;
    publish_conversation(state, &after, false);
    // A resolved or closed conversation frees its agent's capacity.
    crate::routing::spawn_drain(state, &after.workspace_id);
    Ok(after)
}

pub async fn assign(
    state: &SharedState,
    who: &Principal,
    id: &str,
    assignee: Option<String>,
) -> ApiResult<Conversation> {
    who.require_staff()?;
    let conv = visible_conversation(state, who, id).await?;
    if conv.assignee_id == assignee {
        return Ok(conv);
    }
    let after = state
        .store
        .assign(&conv.workspace_id, &conv.id, assignee, who.actor())
        .await
        .map_err(|e| ApiError::from_store(e, "conversation"))?;
    publish_conversation(state, &after, false);
    // Unassigning or moving it frees the previous agent's capacity; taking
    // it out of a line moves the others up.
    if conv.assignee_id.is_some() || conv.status == ConversationStatus::Queued {
        crate::routing::spawn_drain(state, &after.workspace_id);
    }
    Ok(after)
}

/// Sets a conversation's priority and/or tags (agents only; visitors never
/// see them). A waiting conversation moves to its new priority's place.
pub async fn set_labels(
    state: &SharedState,
    who: &Principal,
    id: &str,
    edit: kefu_store::LabelEdit,
) -> ApiResult<Conversation> {
    who.require_staff()?;
    let conv = visible_conversation(state, who, id).await?;
    let (before, after) = state
        .store
        .set_labels(&conv.workspace_id, &conv.id, edit, who.actor())
        .await
        .map_err(|e| ApiError::from_store(e, "conversation"))?;
    if before != after {
        publish_conversation(state, &after, true);
        if after.status == ConversationStatus::Queued && before.priority != after.priority {
            crate::routing::spawn_drain(state, &after.workspace_id);
        }
    }
    Ok(after)
}

/// Typing indicators are not stored; they go to the other side (and other agents).
pub async fn typing(state: &SharedState, who: &Principal, id: &str, on: bool) -> ApiResult<()> {
    let conv = visible_conversation(state, who, id).await?;
    let s = who.sender();
    let frame = ServerFrame::Typing {
        conversation_id: conv.id.clone(),
        sender_kind: s.kind.as_str().into(),
        sender_id: s.id,
        on,
    };
    state.hub.publish_many(&topics(&conv, false), &frame);
    Ok(())
}

/// Stores a read receipt (forward only) and tells the other side.
pub async fn read(state: &SharedState, who: &Principal, id: &str, seq: i64) -> ApiResult<()> {
    let conv = visible_conversation(state, who, id).await?;
    if seq < 0 || seq > conv.last_seq {
        return Err(ApiError::validation(format!(
            "seq must be between 0 and {}",
            conv.last_seq
        )));
    }
    let s = who.sender();
    if state
        .store
        .mark_read(&conv.id, s.kind.as_str(), &s.id, seq)
        .await?
    {
        let frame = ServerFrame::Read {
            conversation_id: conv.id.clone(),
            reader_kind: s.kind.as_str().into(),
            reader_id: s.id,
            seq,
        };
        state.hub.publish_many(&topics(&conv, false), &frame);
    }
    Ok(())
}

/// Stores an agent's availability and tells their colleagues.
pub async fn set_presence(
    state: &SharedState,
    who: &Principal,
    status: AgentStatus,
) -> ApiResult<()> {
    let Principal::Agent {
        user_id,
        workspace_id,
        ..
    } = who
    else {
        return Err(ApiError::forbidden("only agents have a presence"));
    };
    if state.store.set_user_status(user_id, status).await? {
        if status == AgentStatus::Online {
            crate::routing::spawn_drain(state, workspace_id);
        }
        state.hub.publish_many(
            &[workspace_topic(workspace_id)],
            &ServerFrame::Presence {
                user_id: user_id.clone(),
                status,
            },
        );
    }
    Ok(())
}
