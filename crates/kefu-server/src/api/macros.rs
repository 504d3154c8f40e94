//! Macros (docs/macros.md): named lists of actions. Every agent lists the
//! shared ones and their own, keeps personal ones, and runs them on a
//! conversation; admins manage the shared ones (the same rules as canned
//! replies, see `personal.rs`). The run itself is a conversation command
//! (`conversations/run_macro.rs`).

use super::{Page, PageQuery, page_limit, page_of, personal};
use crate::{
    app::SharedState,
    auth::{Principal, Scoped, Staff, need},
    conversations::{self as commands, MacroRun},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::ConversationId;
use kefu_core::macros::MacroAction;
use kefu_store::{Macro, NewMacro, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMacroInput {
    /// 1 to 80 characters; unique among the shared macros (or the caller's own).
    pub name: String,
    /// 1 to 20 actions, run in this order.
    pub actions: Vec<MacroAction>,
    /// True: the caller's own macro, which only they see (agents only).
    /// False (the default): shared with the workspace (admins).
    #[serde(default)]
    pub personal: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroPatch {
    pub name: Option<String>,
    /// The whole new list (replaces the old one).
    pub actions: Option<Vec<MacroAction>>,
}

/// The shared macros and the caller's own, in creation order.
#[utoipa::path(get, operation_id = "macros_list", path = "/api/v1/macros", tag = "macros", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Success", body = Page<Macro>), (status = 400, description = "Malformed request", body = ErrorBody), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<Page<Macro>>> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .list_macros(
            who.workspace_id(),
            who.agent_id(),
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |m| m.id.clone())))
}

/// Create a shared macro (admins) or, with `personal: true`, one of the caller's own (any agent).
#[utoipa::path(post, operation_id = "macros_create", path = "/api/v1/macros", tag = "macros", security(("bearer" = [])), request_body = NewMacroInput,
    responses((status = 201, description = "Created", body = Macro), (status = 403, description = "A shared macro, and the caller is no admin", body = ErrorBody),
        (status = 409, description = "A macro of this name exists", body = ErrorBody), (status = 422, description = "Invalid input: the message names the action at fault (`actions[2] (assign): …`)", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Staff(who): Staff,
    ApiJson(req): ApiJson<NewMacroInput>,
) -> ApiResult<(StatusCode, ApiJson<Macro>)> {
    let owner_id = personal::owner_for_new(&who, req.personal)?;
    let m = state
        .store
        .create_macro(NewMacro {
            workspace_id: who.workspace_id().clone(),
            name: req.name,
            actions: req.actions,
            owner_id,
            created_by: who.sender().id,
        })
        .await
        .map_err(store_error)?;
    Ok((StatusCode::CREATED, ApiJson(m)))
}

#[utoipa::path(get, operation_id = "macros_get_one", path = "/api/v1/macros/{id}", tag = "macros", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = Macro), (status = 404, description = "Not found (or another agent's)", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<Macro>> {
    Ok(ApiJson(visible_macro(&state, &who, &id).await?))
}

/// Rename a macro or replace its actions: one's own (any agent), shared ones (admins).
#[utoipa::path(patch, operation_id = "macros_update", path = "/api/v1/macros/{id}", tag = "macros", security(("bearer" = [])), params(("id" = String, Path)), request_body = MacroPatch,
    responses((status = 200, description = "Success", body = Macro), (status = 403, description = "A shared macro, and the caller is no admin", body = ErrorBody), (status = 404, description = "Not found (or another agent's)", body = ErrorBody),
        (status = 409, description = "A macro of this name exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Staff(who): Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<MacroPatch>,
) -> ApiResult<ApiJson<Macro>> {
    let m = visible_macro(&state, &who, &id).await?;
    personal::may_change(&who, m.owner_id.as_ref(), "macro")?;
    let m = state
        .store
        .update_macro(
            who.workspace_id(),
            &id,
            m.owner_id.as_ref(),
            req.name.as_deref(),
            req.actions,
        )
        .await
        .map_err(store_error)?;
    Ok(ApiJson(m))
}

/// Delete a macro: one's own (any agent), shared ones (admins).
#[utoipa::path(delete, operation_id = "macros_delete", path = "/api/v1/macros/{id}", tag = "macros", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, description = "A shared macro, and the caller is no admin", body = ErrorBody), (status = 404, description = "Not found (or another agent's)", body = ErrorBody)))]
pub async fn delete(
    State(state): State<SharedState>,
    Staff(who): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let m = visible_macro(&state, &who, &id).await?;
    personal::may_change(&who, m.owner_id.as_ref(), "macro")?;
    state
        .store
        .delete_macro(who.workspace_id(), &id, m.owner_id.as_ref())
        .await
        .map_err(store_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run a macro on a conversation: its actions in order, each as the caller
/// would do it by hand (the same checks, events, webhooks and audit lines,
/// by the caller). Stops at the first action that fails: the ones before it
/// stay done, the rest are skipped; the answer is still 200, with
/// `completed: false` and the failed action's error code in `outcomes`.
/// A run is not idempotent: running it again repeats its replies.
#[utoipa::path(post, operation_id = "macros_run", path = "/api/v1/conversations/{id}/macros/{macro_id}/run", tag = "macros", security(("bearer" = [])),
    params(("id" = String, Path, description = "The conversation"), ("macro_id" = String, Path)),
    responses((status = 200, description = "Ran: each action's outcome (see `completed`)", body = MacroRun), (status = 403, description = "Not allowed for this principal (an API key needs `conversations:write`, and `messages:write` for replies and notes)", body = ErrorBody),
        (status = 404, description = "No such conversation or macro (or another agent's macro)", body = ErrorBody)))]
pub async fn run(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath((id, macro_id)): ApiPath<(ConversationId, String)>,
) -> ApiResult<ApiJson<MacroRun>> {
    let m = visible_macro(&state, &who, &macro_id).await?;
    Ok(ApiJson(commands::run_macro(&state, &who, &id, m).await?))
}

/// A macro the caller sees (shared, or their own), or "not found".
async fn visible_macro(state: &SharedState, who: &Principal, id: &str) -> ApiResult<Macro> {
    let m = state
        .store
        .get_macro(who.workspace_id(), id)
        .await
        .map_err(store_error)?;
    if !personal::visible(who, m.owner_id.as_ref()) {
        return Err(ApiError::not_found("macro"));
    }
    Ok(m)
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::conflict("a macro with this name exists"),
        other => ApiError::from_store(other, "macro"),
    }
}
