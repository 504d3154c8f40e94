//! Members of a workspace (admins manage them).

use super::{Page, PageQuery, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Admin, Scoped, need, password},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::Role;
use kefu_core::UserId;
use kefu_store::{NewUser, User, UserPatch};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    /// At least 8 characters.
    pub password: String,
    pub role: Role,
    /// Default 5.
    pub capacity: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<i64>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

const MAX_CAPACITY: i64 = 1000;

fn check_capacity(c: Option<i64>) -> ApiResult<()> {
    match c {
        Some(n) if !(0..=MAX_CAPACITY).contains(&n) => Err(ApiError::validation(format!(
            "capacity must be between 0 and {MAX_CAPACITY}"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn check_email(e: &str) -> ApiResult<()> {
    let e = e.trim();
    match e.split_once('@') {
        Some((l, d))
            if !l.is_empty()
                && d.contains('.')
                && e.len() <= 254
                && !e.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(ApiError::validation(format!(
            "{e:?} is not an email address"
        ))),
    }
}

pub(crate) async fn hash_password(pw: String) -> ApiResult<String> {
    password::on_password_thread(move || password::hash(&pw))
        .await
        .ok_or_else(ApiError::internal)?
        .map_err(|e| ApiError::validation(e.to_string()))
}

/// Members of the workspace, by id.
#[utoipa::path(get, operation_id = "users_list", path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Success", body = Page<User>), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<Page<User>>> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .list_users(
            who.workspace_id(),
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |u| u.id.to_string())))
}

/// Add a member (admins). Only owners may create owners.
#[utoipa::path(post, operation_id = "users_create", path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, description = "Created", body = User), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 409, description = "Conflict with the current state", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, ApiJson<User>)> {
    if req.role == Role::Owner
        && !matches!(
            who,
            crate::auth::Principal::Agent {
                role: Role::Owner,
                ..
            }
        )
    {
        return Err(ApiError::forbidden(
            "only an owner can create another owner",
        ));
    }
    check_email(&req.email)?;
    check_capacity(req.capacity)?;
    if req.name.trim().is_empty() {
        return Err(ApiError::validation("name must not be empty"));
    }
    let password_hash = hash_password(req.password).await?;
    let user = state
        .store
        .create_user(NewUser {
            workspace_id: who.workspace_id().clone(),
            email: req.email,
            name: req.name.trim().to_string(),
            password_hash,
            role: req.role,
            capacity: req.capacity.unwrap_or(5),
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(user)))
}

#[utoipa::path(get, operation_id = "users_get_one", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = User), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<ApiJson<User>> {
    Ok(ApiJson(
        state
            .store
            .get_user(who.workspace_id(), &id)
            .await
            .map_err(|e| ApiError::from_store(e, "user"))?,
    ))
}

/// Change a member's name, role, capacity, password or deactivate them (admins).
#[utoipa::path(patch, operation_id = "users_update", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path)), request_body = UpdateUser,
    responses((status = 200, description = "Success", body = User), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> ApiResult<ApiJson<User>> {
    check_capacity(req.capacity)?;
    let target = state
        .store
        .get_user(who.workspace_id(), &id)
        .await
        .map_err(|e| ApiError::from_store(e, "user"))?;
    let caller_is_owner = matches!(
        who,
        crate::auth::Principal::Agent {
            role: Role::Owner,
            ..
        }
    );
    if (target.role == Role::Owner || req.role == Some(Role::Owner)) && !caller_is_owner {
        return Err(ApiError::forbidden(
            "only an owner can change an owner or make one",
        ));
    }
    let password_hash = match req.password {
        Some(pw) => Some(hash_password(pw).await?),
        None => None,
    };
    let more_room = req.capacity.is_some() || req.active == Some(true);
    let patch = UserPatch {
        name: req.name,
        role: req.role,
        capacity: req.capacity,
        active: req.active,
        password_hash,
        ..Default::default()
    };
    let user = state
        .store
        .update_user(who.workspace_id(), &id, patch)
        .await
        .map_err(|e| ApiError::from_store(e, "user"))?;
    if more_room {
        // Raised capacity may let waiting conversations through.
        state.router.drain(who.workspace_id());
    }
    Ok(ApiJson(user))
}
