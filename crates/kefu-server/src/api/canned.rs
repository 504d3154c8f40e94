//! Canned replies: every agent reads the shared ones (the composer's
//! `/shortcut`) and admins manage them; each agent also keeps personal
//! ones that only they see (`personal: true`; see `personal.rs`).

use super::{Page, PageQuery, page_limit, page_of, personal};
use crate::{
    app::SharedState,
    auth::{Scoped, Staff, need},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_store::CannedReply;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCanned {
    /// What the agent types after `/`: 1 to 32 letters, digits, `-` or `_`.
    pub shortcut: String,
    pub content: String,
    /// True: the caller's own reply, which only they see (agents only; any
    /// role). False (the default): shared with the workspace (admins).
    /// A personal shortcut may repeat a shared one: it wins in its owner's composer.
    #[serde(default)]
    pub personal: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedPatch {
    pub shortcut: Option<String>,
    pub content: Option<String>,
}

/// The workspace's shared canned replies and the caller's personal ones, in
/// creation order (clients sort them for display).
#[utoipa::path(get, operation_id = "canned_list", path = "/api/v1/canned-replies", tag = "canned_replies", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Success", body = Page<CannedReply>), (status = 400, description = "Malformed request", body = ErrorBody), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<Page<CannedReply>>> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .list_canned(
            who.workspace_id(),
            who.agent_id(),
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |c| c.id.clone())))
}

/// Create a shared reply (admins) or, with `personal: true`, one of the caller's own (any agent).
#[utoipa::path(post, operation_id = "canned_create", path = "/api/v1/canned-replies", tag = "canned_replies", security(("bearer" = [])), request_body = NewCanned,
    responses((status = 201, description = "Created", body = CannedReply), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 409, description = "The shortcut exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Staff(who): Staff,
    ApiJson(req): ApiJson<NewCanned>,
) -> ApiResult<(StatusCode, ApiJson<CannedReply>)> {
    let owner = personal::owner_for_new(&who, req.personal)?;
    let reply = state
        .store
        .create_canned(
            who.workspace_id(),
            &req.shortcut,
            &req.content,
            &who.sender().id,
            owner.as_ref(),
        )
        .await
        .map_err(shortcut_taken)?;
    Ok((StatusCode::CREATED, ApiJson(reply)))
}

/// Change a reply: one's own personal ones (any agent), shared ones (admins).
#[utoipa::path(patch, operation_id = "canned_update", path = "/api/v1/canned-replies/{id}", tag = "canned_replies", security(("bearer" = [])), params(("id" = String, Path)), request_body = CannedPatch,
    responses((status = 200, description = "Success", body = CannedReply), (status = 403, description = "A shared reply, and the caller is no admin", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 409, description = "The shortcut exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Staff(who): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CannedPatch>,
) -> ApiResult<ApiJson<CannedReply>> {
    let owner = changeable(&state, &who, &id).await?;
    let reply = state
        .store
        .update_canned(
            who.workspace_id(),
            &id,
            owner.as_ref(),
            req.shortcut.as_deref(),
            req.content.as_deref(),
        )
        .await
        .map_err(shortcut_taken)?;
    Ok(ApiJson(reply))
}

/// Delete a reply: one's own personal ones (any agent), shared ones (admins).
#[utoipa::path(delete, operation_id = "canned_delete", path = "/api/v1/canned-replies/{id}", tag = "canned_replies", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, description = "A shared reply, and the caller is no admin", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn delete(
    State(state): State<SharedState>,
    Staff(who): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let owner = changeable(&state, &who, &id).await?;
    state
        .store
        .delete_canned(who.workspace_id(), &id, owner.as_ref())
        .await
        .map_err(|e| ApiError::from_store(e, "canned reply"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The owner of reply `id` if the caller may change it (see `personal.rs`).
async fn changeable(
    state: &SharedState,
    who: &crate::auth::Principal,
    id: &str,
) -> ApiResult<Option<kefu_core::UserId>> {
    let reply = state
        .store
        .get_canned(who.workspace_id(), id)
        .await
        .map_err(|e| ApiError::from_store(e, "canned reply"))?;
    personal::may_change(who, reply.owner_id.as_ref(), "canned reply")?;
    Ok(reply.owner_id)
}

fn shortcut_taken(e: kefu_store::StoreError) -> ApiError {
    match e {
        kefu_store::StoreError::Conflict(_) => {
            ApiError::conflict("a canned reply with this shortcut exists")
        }
        other => other.into(),
    }
}
