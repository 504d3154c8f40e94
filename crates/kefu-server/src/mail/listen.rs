//! The outbox consumer that turns events into queued mails (see the
//! module doc of `mail`).

use super::CONSUMER;
use crate::{
    app::SharedState,
    hub::contact_topic,
    outbox::{Handled, Start},
};
use kefu_core::{AgentStatus, MessageKind, SenderKind};
use kefu_store::{ConversationEvent, Event};
use kefu_store::{NewMail, OutboxRow, StoreError, now_ms};

pub async fn run(state: SharedState) {
    let st = state.clone();
    // From now on: a server that just got `[mail]` does not mail the past.
    crate::outbox::follow(state, CONSUMER.into(), Start::Now, move |rows| {
        let st = st.clone();
        async move {
            let Some(through) = rows.last().map(|r| r.position) else {
                return Handled::Through(0);
            };
            match mails_for(&st, &rows).await {
                Ok(mails) => match super::enqueue(&st, mails).await {
                    Ok(_) => Handled::Through(through),
                    Err(e) => Handled::Retry(e.to_string()),
                },
                Err(e) => Handled::Retry(e.to_string()),
            }
        }
    })
    .await
}

async fn mails_for(state: &SharedState, rows: &[OutboxRow]) -> Result<Vec<NewMail>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        if let Some(m) = mail_for(state, &row.event).await? {
            out.push(m);
        }
    }
    Ok(out)
}

async fn mail_for(state: &SharedState, ev: &Event) -> Result<Option<NewMail>, StoreError> {
    let Some(conv) = &ev.conversation else {
        return Ok(None);
    };
    match &ev.change {
        ConversationEvent::MessageCreated { message } => {
            let from_staff = matches!(message.sender.kind, SenderKind::Agent | SenderKind::Api);
            let visible = matches!(
                message.kind,
                MessageKind::Text | MessageKind::Image | MessageKind::File
            );
            if !from_staff || !visible {
                return Ok(None);
            }
            // A tab open: the reply is on their screen now.
            if state
                .hub
                .has_subscribers(&contact_topic(conv.contact_id.as_str()))
            {
                return Ok(None);
            }
            let contact = match state
                .store
                .get_contact(&conv.workspace_id, &conv.contact_id)
                .await
            {
                Ok(c) => c,
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            let Some(email) = contact.email.filter(|e| e.contains('@')) else {
                return Ok(None);
            };
            let delay = i64::try_from(state.cfg.mail.reply_delay_secs.saturating_mul(1000))
                .unwrap_or(i64::MAX);
            Ok(Some(NewMail {
                workspace_id: conv.workspace_id.clone(),
                kind: "visitor_reply".into(),
                recipient: email,
                conversation_id: Some(conv.id.clone()),
                user_id: None,
                payload: serde_json::json!({}),
                batch_key: Some(format!("reply:{}", conv.id)),
                dedupe_key: None,
                due_at: now_ms().saturating_add(delay),
            }))
        }
        ConversationEvent::ConversationAssigned { to, .. } => {
            // Nobody is told of what they did themselves (took it by replying,
            // claimed it, assigned it to themselves).
            if ev.actor.kind == SenderKind::Agent && ev.actor.id == to.as_str() {
                return Ok(None);
            }
            let user = match state.store.get_user(&conv.workspace_id, to).await {
                Ok(u) => u,
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            if !user.active || !user.email_on_assign || user.status == AgentStatus::Online {
                return Ok(None);
            }
            Ok(Some(NewMail {
                workspace_id: conv.workspace_id.clone(),
                kind: "assigned".into(),
                recipient: user.email,
                conversation_id: Some(conv.id.clone()),
                user_id: Some(user.id),
                payload: serde_json::json!({}),
                batch_key: None,
                dedupe_key: Some(format!("assigned:{}", ev.id)),
                due_at: now_ms(),
            }))
        }
        _ => Ok(None),
    }
}
