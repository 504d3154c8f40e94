//! Resolve, close, park (pending) or reopen a conversation. The line and
//! the bot are routing's: an agent puts a conversation in a line by
//! transferring it to a group.

use super::{after_commit, visible_conversation};
use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use kefu_core::ConversationId;
use kefu_core::ConversationStatus;
use kefu_store::{Changed, Conversation};

pub async fn change_status(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    to: ConversationStatus,
) -> ApiResult<Changed> {
    who.require_staff()?;
    if to.is_routing_only() {
        return Err(ApiError::validation(format!(
            "status {to} is set by routing: transfer the conversation to a group to put it in a line"
        )));
    }
    let conv = visible_conversation(state, who, id).await?;
    let (st, actor) = (state.clone(), who.actor());
    super::run(state, async move {
        let changed = st
            .store
            .change_status(&conv.workspace_id, &conv.id, to, actor)
            .await
            .map_err(|e| ApiError::from_store(e, "conversation"))?;
        // A resolved or closed conversation frees its agent's capacity: the
        // routing trigger is in `after_commit`.
        after_commit(&st, &changed.events);
        if to == ConversationStatus::Resolved && changed.before.status != to {
            closing_message(&st, &changed.after).await;
        }
        Ok(changed)
    })
    .await
}

/// Tells the visitor their conversation was resolved, in the inbox's words
/// and the visitor's language (the contact's, as their widget reported it;
/// English when unknown); none when that closing message is empty. After the
/// commit: a failure leaves the conversation resolved and is logged.
async fn closing_message(st: &SharedState, conv: &Conversation) {
    let language = match st
        .store
        .get_contact(&conv.workspace_id, &conv.contact_id)
        .await
    {
        Ok(c) => c.language,
        Err(e) => {
            tracing::debug!(conversation_id = %conv.id, error = %e, "closing message in English: the contact could not be read");
            None
        }
    };
    let text = match st
        .inboxes
        .get(&st.store, &conv.workspace_id, &conv.inbox_id)
        .await
    {
        Ok(inbox) => inbox
            .closing_message_for(language.as_deref())
            .trim()
            .to_string(),
        Err(e) => {
            tracing::warn!(conversation_id = %conv.id, error = %e, "no closing message: the inbox could not be read");
            return;
        }
    };
    if text.is_empty() {
        return;
    }
    // One per resolve: a later resolve of the same conversation says it again.
    let key = format!("closing-{}-{}", conv.id, conv.updated_at);
    if let Err(e) = super::send::store_system_message(st, conv, "closing", &key, &text).await {
        tracing::warn!(conversation_id = %conv.id, error = %e, "the closing message was not posted");
    }
}

/// Snoozes a conversation until `until` (epoch ms): it waits as `pending`
/// and wakes by itself then, or when the customer writes.
pub async fn snooze(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    until: i64,
) -> ApiResult<Changed> {
    who.require_staff()?;
    let conv = visible_conversation(state, who, id).await?;
    let (st, actor) = (state.clone(), who.actor());
    super::run(state, async move {
        let changed = st
            .store
            .snooze(&conv.workspace_id, &conv.id, until, actor)
            .await
            .map_err(|e| match e {
                kefu_store::StoreError::Invalid(m) => ApiError::validation(m),
                other => ApiError::from_store(other, "conversation"),
            })?;
        after_commit(&st, &changed.events);
        Ok(changed)
    })
    .await
}

/// Who wakes snoozed conversations, in their events.
pub const SNOOZE_ID: &str = "snooze";

/// Wakes the snoozed conversations whose time has come (run by the
/// routing clock): each is `open` again and agents see it.
pub async fn wake_snoozed(state: &SharedState) -> Result<(), kefu_store::StoreError> {
    let actor = kefu_store::Actor {
        kind: kefu_core::SenderKind::System,
        id: SNOOZE_ID.into(),
    };
    let st = state.clone();
    let woke = super::run(state, async move {
        let woke = st
            .store
            .wake_snoozed(kefu_store::now_ms(), 100, actor)
            .await
            .map_err(|e| ApiError::from_store(e, "conversation"))?;
        for changed in &woke {
            after_commit(&st, &changed.events);
        }
        Ok(woke.len())
    })
    .await;
    match woke {
        Ok(_) => Ok(()),
        Err(e) => Err(kefu_store::StoreError::Commit(e.message)),
    }
}
