//! An agent takes back their own message, shortly after sending it.

use super::{after_commit, visible_conversation};
use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use axum::http::StatusCode;
use kefu_core::{ConversationId, Message};
use kefu_store::StoreError;

pub async fn delete_message(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    seq: i64,
) -> ApiResult<Message> {
    let Principal::Agent { user_id, .. } = who else {
        return Err(ApiError::forbidden("only agents delete their own messages"));
    };
    let window = state.cfg.limits.message_delete_secs;
    if window == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "delete_disabled",
            "deleting messages is turned off on this server",
        ));
    }
    let conv = visible_conversation(state, who, id).await?;
    let not_before = kefu_store::now_ms() - i64::try_from(window * 1000).unwrap_or(i64::MAX);
    let (st, uid, actor) = (state.clone(), user_id.clone(), who.actor());
    super::run(state, async move {
        let (message, events) = st
            .store
            .delete_message(&conv.workspace_id, &conv.id, seq, &uid, not_before, actor)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) => ApiError::new(StatusCode::CONFLICT, "cannot_delete", m),
                other => ApiError::from_store(other, "message"),
            })?;
        after_commit(&st, &events);
        Ok(message)
    })
    .await
}
