//! Read positions and the limits a client should check before it sends:
//! what a client that just (re)loaded cannot learn from frames it never saw.

use crate::{
    app::SharedState,
    auth::{Caller, Staff, need},
    conversations::visible_conversation,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};
use axum::extract::State;
use kefu_core::ConversationId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How far each side has read a conversation (`seq`, 0 when not at all).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadPositions {
    /// The visitor's read position.
    pub visitor: i64,
    /// The furthest any agent has read.
    pub agent: i64,
}

/// Read positions, so that "Read" marks survive a reload. The visitor may
/// ask about their own conversations, agents about their workspace's.
#[utoipa::path(get, operation_id = "conversations_reads", path = "/api/v1/conversations/{id}/reads", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = ReadPositions), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn reads(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::ConversationsRead>,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<ApiJson<ReadPositions>> {
    let conv = visible_conversation(&state, &who, &id).await?;
    let (visitor, agent) = state.store.read_positions(&conv.id).await?;
    Ok(ApiJson(ReadPositions { visitor, agent }))
}

/// The limits the console checks before sending, so that it can refuse (and
/// say why) instead of losing a message to a server error.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientLimits {
    /// Longest message text, in characters (`limits.max_message_chars`).
    pub max_message_chars: usize,
    /// Largest upload, in bytes (`limits.max_upload_bytes`).
    pub max_upload_bytes: usize,
    /// Largest avatar, in bytes (`limits.max_avatar_bytes`).
    pub max_avatar_bytes: usize,
    /// How long after sending an agent may delete their own message (0: never).
    pub message_delete_secs: u64,
}

/// The message and upload limits of this server.
#[utoipa::path(get, operation_id = "limits_get", path = "/api/v1/limits", tag = "server", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = ClientLimits), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub async fn limits(
    State(state): State<SharedState>,
    Staff(_who): Staff,
) -> Result<ApiJson<ClientLimits>, ApiError> {
    let l = &state.cfg.limits;
    Ok(ApiJson(ClientLimits {
        max_message_chars: l.max_message_chars,
        max_upload_bytes: l.max_upload_bytes,
        max_avatar_bytes: l.max_avatar_bytes,
        message_delete_secs: l.message_delete_secs,
    }))
}
