//! Sending a message: validate, screen with the workspace's sensitive words
//! (block, mask, flag: docs/sensitive-words.md), store once per
//! `client_msg_id` (the store gives it its `seq`), then [`after_commit`] and,
//! for a flagged message, its review record. A resend of the same
//! `client_msg_id` returns the first result and publishes nothing: the
//! first send's publishing ran to completion whatever happened to its caller.

use super::after_commit;
use crate::{
    app::SharedState,
    auth::Principal,
    chat::check_rate,
    error::{ApiError, ApiResult},
    sensitive::{self, Screened},
};
use kefu_core::ConversationId;
use kefu_core::{AttachmentRef, MessageKind, SenderKind};
use kefu_store::{Appended, Conversation, ConversationTarget, NewMessage, StoreError};

/// A message as a client asks to send it.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub client_msg_id: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub kind: MessageKind,
    pub content: String,
    pub attachment_id: Option<String>,
}

/// Max length of a `client_msg_id`.
const MAX_CLIENT_MSG_ID: usize = 128;

/// Validates, stores and fans out a message. A resend of the same
/// `client_msg_id` returns the first result and publishes nothing.
pub async fn send(state: &SharedState, who: &Principal, req: SendRequest) -> ApiResult<Appended> {
    let (new, screened) = match prepare(state, who, req).await? {
        Prepared::New(new, screened) => (new, screened),
        Prepared::Done(a) => return Ok(a),
    };
    let (st, who) = (state.clone(), who.clone());
    super::run(state, async move {
        let mut appended = st.store.append_message(new).await.map_err(send_error)?;
        after_commit(&st, &appended.events);
        review(&st, &appended, &screened).await;
        if let Some(conv) = take_on_reply(&st, &who, &appended).await {
            appended.conversation = conv;
        }
        Ok(appended)
    })
    .await
}

/// Reply-to-take: an agent who answers a conversation nobody has takes it
/// (unless the workspace turned that off). Part of the send command, after
/// its commit; a failure leaves the message sent and the conversation as it was.
async fn take_on_reply(st: &SharedState, who: &Principal, a: &Appended) -> Option<Conversation> {
    let Principal::Agent { user_id, .. } = who else {
        return None;
    };
    if a.duplicate
        || a.conversation.assignee_id.is_some()
        || kefu_core::Waiting::of(SenderKind::Agent, a.message.kind) != kefu_core::Waiting::Ends
    {
        return None;
    }
    let ws = &a.conversation.workspace_id;
    match st.store.get_workspace(ws).await {
        Ok(w) if w.reply_takes => {}
        _ => return None,
    }
    match st
        .store
        .take_on_reply(ws, &a.conversation.id, user_id, who.actor())
        .await
    {
        Ok(Some(changed)) => {
            after_commit(st, &changed.events);
            Some(changed.after)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(conversation_id = %a.conversation.id, error = %e, "reply-to-take failed; the message was sent");
            None
        }
    }
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
    let mut screens = Vec::with_capacity(reqs.len());
    let mut slots = Vec::with_capacity(reqs.len());
    for req in reqs {
        match prepare(state, who, req).await {
            Ok(Prepared::New(new, screened)) => {
                slots.push(out.len());
                news.push(new);
                screens.push(screened);
                out.push(None);
            }
            Ok(Prepared::Done(a)) => out.push(Some(Ok(a))),
            Err(e) => out.push(Some(Err(e))),
        }
    }
    let (st, who) = (state.clone(), who.clone());
    let stored = super::run(state, async move {
        let mut stored = st.store.append_messages(news).await;
        for (r, screened) in stored.iter_mut().zip(&screens) {
            let Ok(a) = r else { continue };
            after_commit(&st, &a.events);
            review(&st, a, screened).await;
            if let Some(conv) = take_on_reply(&st, &who, a).await {
                a.conversation = conv;
            }
        }
        Ok(stored)
    })
    .await;
    let stored = match stored {
        Ok(s) => s,
        Err(_) => (0..slots.len())
            .map(|_| Err(StoreError::Commit("the send did not complete".into())))
            .collect(),
    };
    for (slot, r) in slots.into_iter().zip(stored) {
        out[slot] = Some(r.map_err(send_error));
    }
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ApiError::internal())))
        .collect()
}

/// Keeps a newly stored message with `flag` words for review (not a
/// resend: its first send did).
async fn review(st: &SharedState, a: &Appended, screened: &Option<Screened>) {
    if let Some(s) = screened
        && !a.duplicate
    {
        sensitive::keep_for_review(st, &a.conversation.workspace_id, &a.message, s).await;
    }
}

/// A validated send, or the answer it already has. Lives for one request,
/// so the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Prepared {
    /// The message to store, and what the sensitive-word filter found in it
    /// (`None`: not screened, see [`screens`]).
    New(NewMessage, Option<Screened>),
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
    let (content, screened) = if screens(req.kind, &req.content) {
        let s = sensitive::screen(state, who.workspace_id(), &req.content).await?;
        if s.is_blocked() {
            // A retry of a send stored before a word was blocked gets its ack.
            return match retried_send(state, who, &req.client_msg_id).await {
                Some(a) => Ok(Prepared::Done(a)),
                None => Err(sensitive::blocked_error(who, &s)),
            };
        }
        (s.text.clone(), Some(s))
    } else {
        (req.content, None)
    };
    let new = NewMessage {
        workspace_id: who.workspace_id().clone(),
        target,
        sender,
        client_msg_id: req.client_msg_id,
        kind: req.kind,
        content,
        attachment,
        require_contact: match who {
            Principal::Visitor { contact_id, .. } => Some(contact_id.clone()),
            _ => None,
        },
        bot: None,
        only_while: None,
    };
    Ok(Prepared::New(new, screened))
}

/// Which messages the sensitive-word filter reads: every text a visitor can
/// see (text, and the caption of an image or a file). Private notes are not
/// screened: they never reach the visitor, and agents quoting what a
/// visitor wrote there must not be refused or masked.
fn screens(kind: MessageKind, content: &str) -> bool {
    kind.visible_to_visitor() && kind != MessageKind::Event && !content.is_empty()
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
        events: Vec::new(),
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

/// A message from the system (a rule's auto-reply, an offline notice),
/// which the visitor sees, from part `by` (`routing`, …). `key` makes it
/// idempotent per conversation: a retried decision does not say it twice.
pub async fn system_message(
    state: &SharedState,
    conv: &Conversation,
    by: &str,
    key: &str,
    text: &str,
) -> Result<Appended, StoreError> {
    let (st, conv, by, key, text) = (
        state.clone(),
        conv.clone(),
        by.to_string(),
        key.to_string(),
        text.to_string(),
    );
    let done = super::run(state, async move {
        Ok(store_system_message(&st, &conv, &by, &key, &text).await?)
    })
    .await;
    done.map_err(|e| StoreError::Commit(e.message))
}

/// [`system_message`] from inside a command that already runs to
/// completion (no second task).
pub(super) async fn store_system_message(
    st: &SharedState,
    conv: &Conversation,
    by: &str,
    key: &str,
    text: &str,
) -> Result<Appended, StoreError> {
    let appended = st
        .store
        .append_message(NewMessage {
            workspace_id: conv.workspace_id.clone(),
            target: ConversationTarget::Existing(conv.id.clone()),
            sender: kefu_core::Sender {
                kind: SenderKind::System,
                id: by.to_string(),
            },
            client_msg_id: Some(key.to_string()),
            kind: MessageKind::Text,
            content: text.to_string(),
            attachment: None,
            require_contact: None,
            bot: None,
            only_while: None,
        })
        .await?;
    after_commit(st, &appended.events);
    Ok(appended)
}
