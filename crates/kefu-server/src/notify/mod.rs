//! Personal notifications: an agent mentioned in a colleague's note
//! (`@name`, see `kefu_core::mention`), or given a conversation by someone
//! else. An outbox consumer (named [`CONSUMER`]) turns those events into
//! stored notifications (the console's bell), a live `notification` frame
//! to the agent's tabs, and, while they have no console open, a Web Push
//! and (mentions; assignments are mailed by the mail listener) an e-mail,
//! each as the agent's preferences allow.
//!
//! A stored notification is keyed by its event, so a batch handed on again
//! after a crash stores, shows and pushes nothing twice. A transfer to an
//! agent is told through the `conversation_assigned` event stored with it
//! (the `conversation_transferred` one is not, or it would be told twice).

use crate::{
    app::SharedState,
    hub::user_topic,
    outbox::{Handled, Start},
};
use kefu_core::{
    ConversationId, MessageKind, SenderKind, UserId, WorkspaceId,
    event::Event,
    mention::{Mentionable, mentioned},
    protocol::ServerFrame,
};
use kefu_store::{
    ConversationEvent, NewNotification, Notification, NotificationKind, StoreError, User,
};

/// The outbox consumer name.
pub const CONSUMER: &str = "notify";

/// Longest excerpt of a note kept in a notification.
const EXCERPT_CHARS: usize = 200;

/// Starts the consumer; the handle resolves after `state.shutdown`.
pub fn spawn(state: &SharedState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let st = state.clone();
        crate::outbox::follow(state, CONSUMER.into(), Start::Now, move |rows| {
            let st = st.clone();
            async move {
                let Some(through) = rows.last().map(|r| r.position) else {
                    return Handled::Through(0);
                };
                for row in &rows {
                    if let Err(e) = handle(&st, &row.event).await {
                        return Handled::Retry(e.to_string());
                    }
                }
                Handled::Through(through)
            }
        })
        .await
    })
}

/// Who is told what about one event.
async fn handle(state: &SharedState, ev: &Event) -> Result<(), StoreError> {
    let Some(conv) = &ev.conversation else {
        return Ok(());
    };
    match &ev.change {
        ConversationEvent::MessageCreated { message }
            if message.kind == MessageKind::Note && message.sender.kind == SenderKind::Agent =>
        {
            let users = active_users(state, &conv.workspace_id).await?;
            let people: Vec<Mentionable> = users
                .iter()
                .map(|u| Mentionable {
                    id: u.id.as_str(),
                    name: &u.name,
                })
                .collect();
            let author = name_of(&users, &message.sender.id);
            for id in mentioned(&message.content, &people) {
                if id == message.sender.id {
                    continue;
                }
                let Some(user) = users.iter().find(|u| u.id.as_str() == id) else {
                    continue;
                };
                let new = NewNotification {
                    workspace_id: conv.workspace_id.clone(),
                    user_id: user.id.clone(),
                    kind: NotificationKind::Mention,
                    conversation_id: conv.id.clone(),
                    seq: Some(message.seq),
                    actor_id: message.sender.id.clone(),
                    actor_name: author.clone(),
                    excerpt: message.content.chars().take(EXCERPT_CHARS).collect(),
                    source: ev.id.clone(),
                };
                let excerpt = new.excerpt.clone();
                if let Some(n) = state.store.add_notification(new).await? {
                    deliver(state, user, &n).await;
                }
                // Also when the notification was stored by an earlier try of
                // this batch: the mail may not have been queued then (it has
                // its own dedupe key, so it is never queued twice).
                crate::mail::notify_mention(
                    state,
                    &conv.workspace_id,
                    &user.id,
                    &conv.id,
                    &author,
                    &excerpt,
                    &message.id,
                )
                .await?;
            }
            Ok(())
        }
        ConversationEvent::ConversationAssigned { to, .. } => {
            assigned(
                state,
                ev,
                &conv.workspace_id,
                &conv.id,
                &conv.contact_id,
                to,
            )
            .await
        }
        _ => Ok(()),
    }
}

/// A conversation given to `to` by someone else (routing included).
async fn assigned(
    state: &SharedState,
    ev: &Event,
    ws: &WorkspaceId,
    conversation: &ConversationId,
    contact: &kefu_core::ContactId,
    to: &UserId,
) -> Result<(), StoreError> {
    // Nobody is told of what they did themselves.
    if ev.actor.kind == SenderKind::Agent && ev.actor.id == to.as_str() {
        return Ok(());
    }
    let user = match state.store.get_user(ws, to).await {
        Ok(u) if u.active => u,
        Ok(_) | Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let actor_name = if ev.actor.kind == SenderKind::Agent {
        match state
            .store
            .get_user(ws, &UserId::from(ev.actor.id.as_str()))
            .await
        {
            Ok(u) => u.name,
            Err(StoreError::NotFound) => String::new(),
            Err(e) => return Err(e),
        }
    } else {
        String::new()
    };
    let customer = match state.store.get_contact(ws, contact).await {
        Ok(c) => c.name.unwrap_or_default(),
        Err(StoreError::NotFound) => String::new(),
        Err(e) => return Err(e),
    };
    let new = NewNotification {
        workspace_id: ws.clone(),
        user_id: user.id.clone(),
        kind: NotificationKind::Assigned,
        conversation_id: conversation.clone(),
        seq: None,
        actor_id: ev.actor.id.clone(),
        actor_name,
        excerpt: customer,
        source: ev.id.clone(),
    };
    if let Some(n) = state.store.add_notification(new).await? {
        deliver(state, &user, &n).await;
    }
    Ok(())
}

/// Shows a stored notification on the agent's open consoles, or pushes it
/// to their devices when none is open.
async fn deliver(state: &SharedState, user: &User, n: &Notification) {
    let topic = user_topic(user.id.as_str());
    state
        .hub
        .publish_many(std::slice::from_ref(&topic), &frame(n));
    if state.hub.has_subscribers(&topic) || !user.notify_push {
        return;
    }
    push(state, user, n).await;
}

/// The live frame of a notification.
pub fn frame(n: &Notification) -> ServerFrame {
    ServerFrame::Notification {
        id: n.id.clone(),
        kind: n.kind.as_str().to_string(),
        conversation_id: n.conversation_id.clone(),
        seq: n.seq,
        actor_id: n.actor_id.clone(),
        actor_name: n.actor_name.clone(),
        excerpt: n.excerpt.clone(),
        created_at: n.created_at,
    }
}

/// Web Push of a notification to the agent's devices (`push` module). A
/// push that cannot be handed on is logged, not retried: the notification
/// is stored and the bell shows it at the next login.
async fn push(state: &SharedState, user: &User, n: &Notification) {
    let zh = match state.store.get_workspace(&user.workspace_id).await {
        Ok(ws) => {
            crate::mail::templates::Lang::of_workspace(&ws.language)
                == crate::mail::templates::Lang::Zh
        }
        Err(_) => false,
    };
    let (title, body) = push_text(zh, n);
    let msg = crate::push::PushMessage {
        title,
        body,
        url: crate::mail::conversation_link(state, &n.conversation_id),
        tag: format!("conversation-{}", n.conversation_id),
    };
    if let Err(e) = crate::push::send_to_user(state, &user.workspace_id, &user.id, &msg).await {
        tracing::warn!(error = %e, user = %user.id, "pushing a notification failed");
    }
}

/// A push's words, in the workspace's language (the console's own strings
/// are not on the device).
fn push_text(zh: bool, n: &Notification) -> (String, String) {
    let who = if n.actor_name.is_empty() {
        if zh { "有人" } else { "Someone" }.to_string()
    } else {
        n.actor_name.clone()
    };
    match (n.kind, zh) {
        (NotificationKind::Mention, true) => (format!("{who} 在备注中提到了你"), n.excerpt.clone()),
        (NotificationKind::Mention, false) => (format!("{who} mentioned you"), n.excerpt.clone()),
        (NotificationKind::Assigned, true) => (
            "有会话分配给了你".to_string(),
            if n.excerpt.is_empty() {
                String::new()
            } else {
                format!("访客：{}", n.excerpt)
            },
        ),
        (NotificationKind::Assigned, false) => (
            "A conversation was assigned to you".to_string(),
            if n.excerpt.is_empty() {
                String::new()
            } else {
                format!("With {}", n.excerpt)
            },
        ),
    }
}

async fn active_users(state: &SharedState, ws: &WorkspaceId) -> Result<Vec<User>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = state.store.list_users(ws, after.as_deref(), 500).await?;
        let last = page.last().map(|u| u.id.to_string());
        out.extend(page.into_iter().filter(|u| u.active));
        match last {
            Some(l) => after = Some(l),
            None => return Ok(out),
        }
    }
}

fn name_of(users: &[User], id: &str) -> String {
    users
        .iter()
        .find(|u| u.id.as_str() == id)
        .map(|u| u.name.clone())
        .unwrap_or_default()
}
