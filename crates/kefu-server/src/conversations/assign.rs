//! Assign a conversation to an agent, or unassign it. Assigning takes it
//! out of a line (or from the bot).

use super::{after_commit, visible_conversation};
use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use kefu_core::{ConversationId, UserId};
use kefu_store::Changed;

pub async fn assign(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    assignee: Option<UserId>,
) -> ApiResult<Changed> {
    who.require_staff()?;
    let conv = visible_conversation(state, who, id).await?;
    if conv.assignee_id == assignee {
        return Ok(Changed::nothing(conv));
    }
    let (st, actor) = (state.clone(), who.actor());
    super::run(state, async move {
        let changed = st
            .store
            .assign(&conv.workspace_id, &conv.id, assignee, actor)
            .await
            .map_err(|e| ApiError::from_store(e, "conversation"))?;
        after_commit(&st, &changed.events);
        Ok(changed)
    })
    .await
}
