//! An agent's account beyond logging in: forgotten and changed passwords,
//! and their own e-mail preference (invitations are in `invitations.rs`).
//!
//! Invitation and reset links carry a random single-use token; only its
//! SHA-256 is stored, with an expiry. A reset revokes every session of the
//! user; changing one's own password revokes every other session.

use crate::{
    app::{ClientIp, SharedState},
    auth::{
        Admin, Auth, Principal, password,
        tokens::{random_token, sha256_hex},
    },
    chat::check_rate,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::{Role, UserId};
use kefu_store::{NewMail, NewUserToken, StoreError, User, UserPatch, now_ms};
use serde::Deserialize;
use utoipa::ToSchema;

pub(super) fn agent_of(who: &Principal) -> ApiResult<(&UserId, &str)> {
    match who {
        Principal::Agent {
            user_id,
            session_id,
            ..
        } => Ok((user_id, session_id)),
        _ => Err(ApiError::forbidden("this needs an agent's login")),
    }
}

pub(super) fn bad_token() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_token",
        "this link is invalid, already used or expired; ask for a new one",
    )
}

/// Queues an invitation or reset mail carrying `token`.
pub(super) async fn queue_link_mail(
    state: &SharedState,
    ws: &kefu_core::WorkspaceId,
    kind: &str,
    email: &str,
    user_id: Option<UserId>,
    payload: serde_json::Value,
) -> ApiResult<()> {
    crate::mail::enqueue(
        state,
        vec![NewMail {
            workspace_id: ws.clone(),
            kind: kind.into(),
            recipient: email.to_string(),
            conversation_id: None,
            user_id,
            payload,
            batch_key: None,
            dedupe_key: None,
            due_at: now_ms(),
        }],
    )
    .await?;
    Ok(())
}

// --------------------------------------------------------------- passwords

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPassword {
    pub email: String,
}

/// Make and mail a reset link for `user`.
async fn send_reset(state: &SharedState, user: &User) -> ApiResult<()> {
    let token = random_token(32);
    state
        .store
        .create_user_token(NewUserToken {
            token_hash: sha256_hex(&token),
            purpose: "reset".into(),
            workspace_id: user.workspace_id.clone(),
            email: user.email.clone(),
            user_id: Some(user.id.clone()),
            role: None,
            created_by: None,
            expires_at: now_ms()
                + i64::try_from(state.cfg.mail.reset_ttl_minutes.saturating_mul(60_000))
                    .unwrap_or(i64::MAX / 2),
        })
        .await?;
    queue_link_mail(
        state,
        &user.workspace_id,
        "reset",
        &user.email,
        Some(user.id.clone()),
        serde_json::json!({"token": token}),
    )
    .await
}

/// "Forgot password": mails a reset link if the address belongs to an
/// active user. Answers 202 either way, so it tells nobody who has an account.
#[utoipa::path(post, operation_id = "password_forgot", path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotPassword,
    responses((status = 202, description = "If the address has an account, a link is on its way"), (status = 409, description = "mail_disabled", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody)))]
pub async fn forgot(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<ForgotPassword>,
) -> ApiResult<StatusCode> {
    if !state.mail.enabled() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "mail_disabled",
            "e-mail is off on this server; ask an owner to reset your password",
        ));
    }
    let email = kefu_store::normalize_email(&req.email);
    check_rate(&state.limiters.login, &format!("ip:{ip}")).map_err(ApiError::rate_limited)?;
    check_rate(&state.limiters.login, &format!("email:{email}")).map_err(ApiError::rate_limited)?;
    let recent = state
        .store
        .count_mails_to(&email, "reset", now_ms() - 3_600_000)
        .await?;
    if recent >= state.cfg.mail.resets_per_hour {
        // Quietly: a flood of requests must not flood the mailbox, and the
        // answer must not differ from an unknown address's.
        return Ok(StatusCode::ACCEPTED);
    }
    // In the background (a task shutdown waits for), so an address with an
    // account takes no longer to answer than one without.
    let st = state.clone();
    state.work.spawn(async move {
        match st.store.find_user_by_email(&email).await {
            Ok(Some(user)) if user.active => {
                if let Err(e) = send_reset(&st, &user).await {
                    tracing::warn!(user = %user.id, error = ?e, "queuing a password reset failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "looking up a password reset's address failed"),
        }
    });
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub token: String,
    /// At least 8 characters.
    pub password: String,
}

/// Set a new password with a reset link's token; every session of the user ends.
#[utoipa::path(post, operation_id = "password_reset", path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetPassword,
    responses((status = 204, description = "Changed"), (status = 404, description = "invalid_token", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn reset(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<ResetPassword>,
) -> ApiResult<StatusCode> {
    check_rate(&state.limiters.login, &format!("ip:{ip}")).map_err(ApiError::rate_limited)?;
    let hash = super::users::hash_password(req.password).await?;
    match state
        .store
        .reset_password(&sha256_hex(req.token.trim()), &hash)
        .await
    {
        Ok(u) => {
            tracing::info!(user = %u.id, "password reset; sessions revoked");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound) => Err(bad_token()),
        Err(e) => Err(e.into()),
    }
}

/// Send a member a password-reset link (admins; only owners for owners).
#[utoipa::path(post, operation_id = "users_password_reset", path = "/api/v1/users/{id}/password-reset", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, description = "Sent"), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "mail_disabled", body = ErrorBody)))]
pub async fn reset_other(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    if !state.mail.enabled() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "mail_disabled",
            "e-mail is off on this server; set the member's password instead",
        ));
    }
    let target = state
        .store
        .get_user(who.workspace_id(), &id)
        .await
        .map_err(|e| ApiError::from_store(e, "user"))?;
    if target.role == Role::Owner
        && !matches!(
            who,
            Principal::Agent {
                role: Role::Owner,
                ..
            }
        )
    {
        return Err(ApiError::forbidden(
            "only an owner can reset an owner's password",
        ));
    }
    if !target.active {
        return Err(ApiError::conflict("the member is deactivated"));
    }
    send_reset(&state, &target).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// At least 8 characters.
    pub new_password: String,
}

/// Change your own password; your other sessions end, this one stays.
#[utoipa::path(post, operation_id = "me_password", path = "/api/v1/me/password", tag = "auth", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 204, description = "Changed"), (status = 403, description = "wrong_password, or not an agent", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody)))]
pub async fn change_password(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    let (uid, sid) = agent_of(&who)?;
    check_rate(&state.limiters.login, &format!("user:{uid}")).map_err(ApiError::rate_limited)?;
    let user = state.store.get_user(who.workspace_id(), uid).await?;
    let (pw, hash) = (req.current_password, user.password_hash.clone());
    let ok = password::on_password_thread(move || password::verify(&pw, &hash))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        ));
    }
    let hash = super::users::hash_password(req.new_password).await?;
    state
        .store
        .change_password(who.workspace_id(), uid, &hash, Some(sid))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    /// E-mail me about conversations assigned to me and mentions while I am offline.
    pub email_on_assign: Option<bool>,
    /// Which conversations' visitor messages notify me in the console.
    pub notify_scope: Option<kefu_store::NotifyScope>,
    /// A sound for notifications in the console.
    pub notify_sound: Option<bool>,
    /// Desktop notifications while the console is in the background.
    pub notify_desktop: Option<bool>,
    /// Web Push for assignments and mentions while no console is open.
    pub notify_push: Option<bool>,
    /// My display name (what colleagues @mention and, where shown, visitors see).
    pub name: Option<String>,
}

/// Change your own preferences.
#[utoipa::path(patch, operation_id = "me_update", path = "/api/v1/me", tag = "auth", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, description = "Success", body = User), (status = 403, description = "Not an agent", body = ErrorBody)))]
pub async fn update_me(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<UpdateMe>,
) -> ApiResult<ApiJson<User>> {
    let (uid, _) = agent_of(&who)?;
    let name = match req.name.map(|n| n.trim().to_string()) {
        Some(n) if n.is_empty() || n.chars().count() > 100 => {
            return Err(ApiError::validation("a name has 1 to 100 characters"));
        }
        other => other,
    };
    let user = state
        .store
        .update_user(
            who.workspace_id(),
            uid,
            UserPatch {
                email_on_assign: req.email_on_assign,
                notify_scope: req.notify_scope,
                notify_sound: req.notify_sound,
                notify_desktop: req.notify_desktop,
                notify_push: req.notify_push,
                name,
                ..Default::default()
            },
        )
        .await?;
    Ok(ApiJson(user))
}
