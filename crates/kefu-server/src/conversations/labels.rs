//! Priority and tags (agents only; visitors never see them). A waiting
//! conversation moves to its new priority's place in line.

use super::{after_commit, visible_conversation};
use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use kefu_core::ConversationId;
use kefu_store::{Changed, LabelEdit};

pub async fn set_labels(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    edit: LabelEdit,
) -> ApiResult<Changed> {
    who.require_staff()?;
    let conv = visible_conversation(state, who, id).await?;
    let (st, actor) = (state.clone(), who.actor());
    super::run(state, async move {
        let changed = st
            .store
            .set_labels(&conv.workspace_id, &conv.id, edit, actor)
            .await
            .map_err(|e| ApiError::from_store(e, "conversation"))?;
        after_commit(&st, &changed.events);
        Ok(changed)
    })
    .await
}
