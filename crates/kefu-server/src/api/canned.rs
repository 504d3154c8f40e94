//! Canned replies: every agent reads them (the composer's `/shortcut`);
//! admins manage them.

use super::{Page, PageQuery, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Admin, Scoped, need},
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
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedPatch {
    pub shortcut: Option<String>,
    pub content: Option<String>,
}

/// The workspace's canned replies in creation order (clients sort them for display).
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
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |c| c.id.clone())))
}

#[utoipa::path(post, operation_id = "canned_create", path = "/api/v1/canned-replies", tag = "canned_replies", security(("bearer" = [])), request_body = NewCanned,
    responses((status = 201, description = "Created", body = CannedReply), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 409, description = "The shortcut exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<NewCanned>,
) -> ApiResult<(StatusCode, ApiJson<CannedReply>)> {
    let reply = state
        .store
        .create_canned(
            who.workspace_id(),
            &req.shortcut,
            &req.content,
            &who.sender().id,
        )
        .await
        .map_err(shortcut_taken)?;
    Ok((StatusCode::CREATED, ApiJson(reply)))
}

#[utoipa::path(patch, operation_id = "canned_update", path = "/api/v1/canned-replies/{id}", tag = "canned_replies", security(("bearer" = [])), params(("id" = String, Path)), request_body = CannedPatch,
    responses((status = 200, description = "Success", body = CannedReply), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 409, description = "The shortcut exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CannedPatch>,
) -> ApiResult<ApiJson<CannedReply>> {
    let reply = state
        .store
        .update_canned(
            who.workspace_id(),
            &id,
            req.shortcut.as_deref(),
            req.content.as_deref(),
        )
        .await
        .map_err(shortcut_taken)?;
    Ok(ApiJson(reply))
}

#[utoipa::path(delete, operation_id = "canned_delete", path = "/api/v1/canned-replies/{id}", tag = "canned_replies", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn delete(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_canned(who.workspace_id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn shortcut_taken(e: kefu_store::StoreError) -> ApiError {
    match e {
        kefu_store::StoreError::Conflict(_) => {
            ApiError::conflict("a canned reply with this shortcut exists")
        }
        other => other.into(),
    }
}
