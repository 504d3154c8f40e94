//! Agents' pictures: uploaded by the agent (or an admin), shown in the
//! console and, where an inbox says so, beside the agent's replies in the
//! widget. Served publicly by a random key, because the widget runs on the
//! customer's site without an agent's credentials; a new upload gets a new
//! key, so the picture can be cached forever.

use crate::{
    app::SharedState,
    auth::{Auth, Principal},
    blob::{BlobError, is_inline_image, sniff},
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};
use axum::{
    extract::{Multipart, State, multipart::MultipartError},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use kefu_core::{Role, UserId};
use kefu_store::User;

/// Whether `who` may change `user`'s picture: their own, or an admin's
/// (an owner's only by an owner, as for every other change to an owner).
async fn may_edit(state: &SharedState, who: &Principal, user: &UserId) -> ApiResult<()> {
    if let Principal::Agent { user_id, .. } = who
        && user_id == user
    {
        return Ok(());
    }
    who.require_admin()?;
    let target = state
        .store
        .get_user(who.workspace_id(), user)
        .await
        .map_err(|e| ApiError::from_store(e, "user"))?;
    let caller_is_owner = matches!(
        who,
        Principal::Agent {
            role: Role::Owner,
            ..
        }
    );
    if target.role == Role::Owner && !caller_is_owner {
        return Err(ApiError::forbidden("only an owner can change an owner"));
    }
    Ok(())
}

fn multipart_error(e: MultipartError, max: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        ApiError::bad_request("bad_multipart", e.body_text())
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "avatar_too_large",
        format!("an avatar may be at most {max} bytes"),
    )
}

/// Upload a user's avatar (multipart field `file`: PNG, JPEG, GIF or WebP,
/// at most `limits.max_avatar_bytes`). Agents set their own; admins anyone's.
#[utoipa::path(put, operation_id = "users_avatar_put", path = "/api/v1/users/{id}/avatar", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "A form with one `file` field"),
    responses((status = 200, description = "The user with the new `avatar_url`", body = User), (status = 403, description = "Neither this user nor an admin", body = ErrorBody), (status = 404, description = "No such user", body = ErrorBody), (status = 413, description = "Larger than the avatar limit", body = ErrorBody), (status = 422, description = "Not a picture", body = ErrorBody)))]
pub async fn put(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<UserId>,
    mut form: Multipart,
) -> ApiResult<ApiJson<User>> {
    may_edit(&state, &who, &id).await?;
    let max = state.cfg.limits.max_avatar_bytes;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e, max))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let bytes = field.bytes().await.map_err(|e| multipart_error(e, max))?;
        if bytes.len() > max {
            return Err(too_large(max));
        }
        if !is_inline_image(&sniff(&bytes)) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_an_image",
                "an avatar must be a PNG, JPEG, GIF or WebP picture",
            ));
        }
        // The user must exist before anything is stored for them.
        state
            .store
            .get_user(who.workspace_id(), &id)
            .await
            .map_err(|e| ApiError::from_store(e, "user"))?;
        let key = state.blobs.put(bytes).await.map_err(|e| {
            tracing::error!(error = %e, "storing an avatar failed");
            ApiError::internal()
        })?;
        let (user, _old) = state
            .store
            .set_avatar(who.workspace_id(), &id, Some(key))
            .await
            .map_err(|e| ApiError::from_store(e, "user"))?;
        return Ok(ApiJson(user));
    }
    Err(ApiError::validation("the form has no `file` field"))
}

/// Remove a user's avatar (initials are shown instead).
#[utoipa::path(delete, operation_id = "users_avatar_delete", path = "/api/v1/users/{id}/avatar", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The user without `avatar_url`", body = User), (status = 403, description = "Neither this user nor an admin", body = ErrorBody), (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn delete(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<ApiJson<User>> {
    may_edit(&state, &who, &id).await?;
    let (user, _old) = state
        .store
        .set_avatar(who.workspace_id(), &id, None)
        .await
        .map_err(|e| ApiError::from_store(e, "user"))?;
    Ok(ApiJson(user))
}

/// An avatar picture (public: the key is random and changes on upload).
#[utoipa::path(get, operation_id = "avatars_get", path = "/api/v1/avatars/{key}", tag = "users", params(("key" = String, Path)),
    responses((status = 200, description = "The picture"), (status = 404, description = "No such avatar", body = ErrorBody)))]
pub async fn get(
    State(state): State<SharedState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    // Only a current avatar's key: never any other upload of the blob store.
    if !state.store.avatar_exists(&key).await? {
        return Err(ApiError::not_found("avatar"));
    }
    let bytes = state.blobs.get(&key).await.map_err(|e| match e {
        BlobError::NotFound => ApiError::not_found("avatar"),
        other => {
            tracing::error!(error = %other, "reading an avatar failed");
            ApiError::internal()
        }
    })?;
    let content_type = sniff(&bytes);
    if !is_inline_image(&content_type) {
        return Err(ApiError::not_found("avatar"));
    }
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    // The widget shows it on the customer's own site.
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    Ok(res)
}
