//! Hand a conversation to another agent (who must be active and below
//! capacity) or to a group's line, with an internal note that travels with
//! it as a private message.

use super::{SendRequest, after_commit, send, visible_conversation};
use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use axum::http::StatusCode;
use kefu_core::{ConversationId, UserId};
use kefu_store::{Changed, StoreError};

/// Where a conversation goes.
#[derive(Debug, Clone)]
pub enum Transfer {
    Agent(UserId),
    Group(String),
}

pub async fn transfer(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    to: Transfer,
    note: String,
) -> ApiResult<Changed> {
    who.require_staff()?;
    let conv = visible_conversation(state, who, id).await?;
    if note.chars().count() > state.cfg.limits.max_message_chars {
        return Err(ApiError::validation("the note is too long"));
    }
    let to_err = |e: StoreError| match e {
        StoreError::Invalid(m) => ApiError::validation(m),
        other => ApiError::from_store(other, "conversation"),
    };
    let (st, actor, ws) = (state.clone(), who.actor(), conv.workspace_id.clone());
    let target = to.clone();
    let n = note.clone();
    let changed = super::run(state, async move {
        let changed = match &target {
            Transfer::Agent(agent) => st
                .store
                .transfer_to_agent(&ws, &conv.id, agent, &n, actor)
                .await
                .map_err(to_err)?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::CONFLICT,
                        "at_capacity",
                        "that agent cannot take another conversation now",
                    )
                })?,
            // Queued in the group's line; the routing worker hands it to
            // whoever has room (the trigger is in `after_commit`).
            Transfer::Group(group) => st
                .store
                .transfer_to_group(&ws, &conv.id, group, &n, actor)
                .await
                .map_err(to_err)?,
        };
        after_commit(&st, &changed.events);
        Ok(changed)
    })
    .await?;
    let target = match to {
        Transfer::Agent(agent) => state
            .store
            .get_user(&changed.after.workspace_id, &agent)
            .await
            .map(|u| u.name)
            .unwrap_or_else(|_| agent.to_string()),
        Transfer::Group(group) => group,
    };
    // The note travels with the conversation, for agents only.
    let text = if note.trim().is_empty() {
        format!("→ {target}")
    } else {
        format!("→ {target}: {}", note.trim())
    };
    let note = SendRequest {
        client_msg_id: Some(kefu_store::new_id()),
        conversation_id: Some(changed.after.id.clone()),
        kind: kefu_core::MessageKind::Note,
        content: text,
        attachment_id: None,
    };
    if let Err(e) = send(state, who, note).await {
        tracing::warn!(error = %e.message, "the transfer note was not stored");
    }
    if changed.after.status == kefu_core::ConversationStatus::Queued {
        // Answer with the outcome: taken by a member with room, or waiting.
        state.router.drained(&changed.after.workspace_id).await;
        if let Ok(now) = state
            .store
            .get_conversation(&changed.after.workspace_id, &changed.after.id)
            .await
        {
            return Ok(Changed {
                after: now,
                ..changed
            });
        }
    }
    Ok(changed)
}
