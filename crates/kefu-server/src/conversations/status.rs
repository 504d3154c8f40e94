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
use kefu_store::Changed;

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
        Ok(changed)
    })
    .await
}
