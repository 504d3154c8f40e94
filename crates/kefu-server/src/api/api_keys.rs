//! Workspace API keys for server-to-server calls (admins manage them).

use super::Page;
use crate::{
    app::SharedState,
    auth::{Admin, Scope, tokens},
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_store::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    /// What the key may do; at least one. `admin` gives an admin's rights
    /// (keys made before scopes existed have every scope but `events:write`).
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedKey {
    /// Shown once: kefu stores only its hash.
    pub key: String,
    pub api_key: ApiKey,
}

#[utoipa::path(get, operation_id = "api_keys_list", path = "/api/v1/api-keys", tag = "api_keys", security(("bearer" = [])),
    responses((status = 200, description = "Every key, revoked ones too (the list comes whole)", body = Page<ApiKey>), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Admin(who): Admin,
) -> ApiResult<ApiJson<Page<ApiKey>>> {
    Ok(ApiJson(Page::whole(
        state.store.list_api_keys(who.workspace_id()).await?,
    )))
}

#[utoipa::path(post, operation_id = "api_keys_create", path = "/api/v1/api-keys", tag = "api_keys", security(("bearer" = [])), request_body = CreateKey,
    responses((status = 201, description = "Created", body = CreatedKey), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<CreateKey>,
) -> ApiResult<(StatusCode, ApiJson<CreatedKey>)> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation("name must be 1 to 100 characters"));
    }
    if req.scopes.is_empty() {
        return Err(ApiError::validation(format!(
            "scopes must name at least one of {}",
            Scope::ALL.map(Scope::as_str).join(", ")
        )));
    }
    // In the catalogue's order, each once.
    let scopes: Vec<String> = Scope::ALL
        .into_iter()
        .filter(|s| req.scopes.contains(s))
        .map(|s| s.as_str().to_string())
        .collect();
    let key = tokens::new_api_key();
    let prefix: String = key.chars().take(tokens::API_KEY_PREFIX.len() + 4).collect();
    let api_key = state
        .store
        .create_api_key(
            who.workspace_id(),
            name,
            &tokens::sha256_hex(&key),
            &prefix,
            &scopes,
        )
        .await?;
    Ok((StatusCode::CREATED, ApiJson(CreatedKey { key, api_key })))
}

#[utoipa::path(delete, operation_id = "api_keys_revoke", path = "/api/v1/api-keys/{id}", tag = "api_keys", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state
        .store
        .revoke_api_key(who.workspace_id(), &id)
        .await
        .map_err(|e| ApiError::from_store(e, "API key"))?;
    Ok(StatusCode::NO_CONTENT)
}
