//! Grab mode (抢单): an agent claims a conversation offered to their group.
//! Exactly one claim wins (one conditional write in the store).

use super::{after_commit, visible_conversation};
use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use axum::http::StatusCode;
use kefu_core::ConversationId;
use kefu_store::Changed;

pub async fn claim(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
) -> ApiResult<Changed> {
    let Principal::Agent { user_id, .. } = who else {
        return Err(ApiError::forbidden("only agents claim conversations"));
    };
    let conv = visible_conversation(state, who, id).await?;
    let (st, actor, uid) = (state.clone(), who.actor(), user_id.clone());
    super::run(state, async move {
        let (changed, _group) = st
            .store
            .claim(&conv.workspace_id, &conv.id, &uid, actor)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "already_taken",
                    "someone else took it first (or you are not in its group, or you are full)",
                )
            })?;
        // The others in that line move up: leaving a line triggers a drain.
        after_commit(&st, &changed.events);
        Ok(changed)
    })
    .await
}
