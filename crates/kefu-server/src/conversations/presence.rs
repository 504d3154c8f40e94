//! An agent's availability: stored, told to colleagues, and an agent coming
//! online lets the lines move up.

use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
    hub::workspace_topic,
};
use kefu_core::{AgentStatus, protocol::ServerFrame};

pub async fn set_presence(
    state: &SharedState,
    who: &Principal,
    status: AgentStatus,
) -> ApiResult<()> {
    let Principal::Agent {
        user_id,
        workspace_id,
        ..
    } = who
    else {
        return Err(ApiError::forbidden("only agents have a presence"));
    };
    if state.store.set_user_status(user_id, status).await? {
        if status == AgentStatus::Online {
            state.router.drain(workspace_id);
        }
        state.hub.publish_many(
            &[workspace_topic(workspace_id)],
            &ServerFrame::Presence {
                user_id: user_id.clone(),
                status,
            },
        );
    }
    Ok(())
}
