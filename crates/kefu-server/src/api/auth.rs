//! Agent login, token refresh (rotating) and logout.

use crate::{
    app::{ClientIp, SharedState},
    auth::{
        Auth, Principal, password,
        tokens::{new_refresh_token, sha256_hex},
    },
    chat::check_rate,
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};
use axum::extract::State;
use kefu_store::{StoreError, User, now_ms};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer …`; expires at `expires_at` (epoch seconds).
    pub access_token: String,
    pub token_type: String,
    pub expires_at: i64,
    /// Exchange at /api/v1/auth/refresh for a new pair; single use.
    pub refresh_token: String,
    pub user: User,
}

async fn issue(
    state: &SharedState,
    user: User,
    session_id: &str,
    refresh: String,
) -> TokenResponse {
    let (access_token, expires_at) = state.keys.access(
        &user.id,
        &user.workspace_id,
        session_id,
        user.role,
        state.cfg.auth.access_ttl_secs,
    );
    TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_at,
        refresh_token: refresh,
        user,
    }
}

fn refresh_expiry(state: &SharedState) -> i64 {
    now_ms() + state.cfg.auth.refresh_ttl_secs as i64 * 1000
}

/// Log in with email and password.
#[utoipa::path(post, operation_id = "auth_login", path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Success", body = TokenResponse), (status = 401, description = "Missing or invalid credentials", body = ErrorBody), (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody)))]
pub async fn login(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<ApiJson<TokenResponse>> {
    let email = kefu_store::normalize_email(&req.email);
    check_rate(&state.limiters.login, &format!("ip:{ip}")).map_err(ApiError::rate_limited)?;
    check_rate(&state.limiters.login, &format!("email:{email}")).map_err(ApiError::rate_limited)?;
    let user = state.store.find_user_by_email(&email).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_string());
    let pw = req.password;
    // Argon2 is deliberately slow: keep it off the async workers.
    let ok = password::on_password_thread(move || password::verify(&pw, &hash))
        .await
        .unwrap_or(false);
    let user = match user {
        Some(u) if ok && u.active => u,
        _ => return Err(ApiError::unauthorized("wrong email or password")),
    };
    let refresh = new_refresh_token();
    let session = state
        .store
        .create_session(&user.id, &sha256_hex(&refresh), refresh_expiry(&state))
        .await?;
    tracing::info!(user = %user.id, "agent logged in");
    Ok(ApiJson(issue(&state, user, &session.id, refresh).await))
}

/// Exchange a refresh token for a new access token and refresh token.
#[utoipa::path(post, operation_id = "auth_refresh", path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "Success", body = TokenResponse), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn refresh(
    State(state): State<SharedState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<TokenResponse>> {
    let next = new_refresh_token();
    let session = match state
        .store
        .rotate_session(
            &sha256_hex(req.refresh_token.trim()),
            &sha256_hex(&next),
            refresh_expiry(&state),
        )
        .await
    {
        Ok(s) => s,
        Err(StoreError::NotFound) => {
            return Err(ApiError::unauthorized(
                "refresh token is invalid, used or expired",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let user = state.store.find_user(&session.user_id).await?;
    match user {
        Some(u) if u.active => Ok(ApiJson(issue(&state, u, &session.id, next).await)),
        _ => Err(ApiError::unauthorized("account is deactivated")),
    }
}

/// End the current session: its access and refresh tokens stop working.
#[utoipa::path(post, operation_id = "auth_logout", path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn logout(
    State(state): State<SharedState>,
    Auth(who): Auth,
) -> ApiResult<axum::http::StatusCode> {
    let Principal::Agent { session_id, .. } = &who else {
        return Err(ApiError::forbidden("only agent sessions log out"));
    };
    state.store.revoke_session(session_id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// `agent`, `visitor` or `api`.
    pub kind: String,
    pub workspace_id: String,
    /// Present for agents.
    pub user: Option<User>,
    /// The contact id for visitors, the key id for API keys.
    pub id: String,
}

/// Who the bearer token belongs to.
#[utoipa::path(get, operation_id = "auth_me", path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Me), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn me(State(state): State<SharedState>, Auth(who): Auth) -> ApiResult<ApiJson<Me>> {
    let ws = who.workspace_id().to_string();
    Ok(ApiJson(match who {
        Principal::Agent {
            user_id,
            workspace_id,
            ..
        } => {
            let user = state.store.get_user(&workspace_id, &user_id).await?;
            Me {
                kind: "agent".into(),
                workspace_id: ws,
                id: user.id.to_string(),
                user: Some(user),
            }
        }
        Principal::Visitor { contact_id, .. } => Me {
            kind: "visitor".into(),
            workspace_id: ws,
            user: None,
            id: contact_id.to_string(),
        },
        Principal::ApiKey { key_id, .. } => Me {
            kind: "api".into(),
            workspace_id: ws,
            user: None,
            id: key_id,
        },
    }))
}
