//! Invitations by e-mail: an owner or admin invites an address, the mailed
//! link (a single-use token, stored as its SHA-256, expiring after
//! `[mail] invite_ttl_hours`) leads to a page where the invitee sets name
//! and password. With e-mail off, the answer carries the link to hand over.

use super::account::{bad_token, queue_link_mail};
use crate::{
    app::{ClientIp, SharedState},
    auth::{
        Admin, Principal,
        tokens::{random_token, sha256_hex},
    },
    chat::check_rate,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::Role;
use kefu_store::{NewUserToken, StoreError, User, now_ms};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    /// Default `agent`.
    pub role: Option<Role>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
    /// Whether the invitation went out by e-mail.
    pub mailed: bool,
    /// The link to hand over yourself, only when e-mail is off.
    pub link: Option<String>,
}

/// Invite someone by e-mail to join the workspace (admins; only owners invite owners).
#[utoipa::path(post, operation_id = "users_invite", path = "/api/v1/users/invitations", tag = "users", security(("bearer" = [])), request_body = InviteRequest,
    responses((status = 201, description = "Invited", body = Invitation), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 409, description = "A user with this e-mail exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn invite(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<InviteRequest>,
) -> ApiResult<(StatusCode, ApiJson<Invitation>)> {
    let role = req.role.unwrap_or(Role::Agent);
    if role == Role::Owner
        && !matches!(
            who,
            Principal::Agent {
                role: Role::Owner,
                ..
            }
        )
    {
        return Err(ApiError::forbidden(
            "only an owner can invite another owner",
        ));
    }
    super::users::check_email(&req.email)?;
    let email = kefu_store::normalize_email(&req.email);
    if state.store.find_user_by_email(&email).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let inviter = match &who {
        Principal::Agent {
            user_id,
            workspace_id,
            ..
        } => state.store.get_user(workspace_id, user_id).await?.name,
        _ => String::new(),
    };
    let token = random_token(32);
    let expires_at = now_ms()
        + i64::try_from(state.cfg.mail.invite_ttl_hours.saturating_mul(3_600_000))
            .unwrap_or(i64::MAX / 2);
    state
        .store
        .create_user_token(NewUserToken {
            token_hash: sha256_hex(&token),
            purpose: "invite".into(),
            workspace_id: who.workspace_id().clone(),
            email: email.clone(),
            user_id: None,
            role: Some(role),
            created_by: Some(who.sender().id),
            expires_at,
        })
        .await?;
    let mailed = state.mail.enabled();
    let link = if mailed {
        queue_link_mail(
            &state,
            who.workspace_id(),
            "invite",
            &email,
            None,
            serde_json::json!({"token": token, "inviter": inviter}),
        )
        .await?;
        None
    } else {
        Some(format!(
            "{}/console/#/invite/{token}",
            crate::mail::base_url(&state)
        ))
    };
    Ok((
        StatusCode::CREATED,
        ApiJson(Invitation {
            email,
            role,
            expires_at,
            mailed,
            link,
        }),
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationInfo {
    pub email: String,
    pub workspace: String,
    pub role: Role,
}

/// What an invitation link is for (the accept page shows it).
#[utoipa::path(get, operation_id = "invitation_get", path = "/api/v1/auth/invitations/{token}", tag = "auth", params(("token" = String, Path)),
    responses((status = 200, description = "Success", body = InvitationInfo), (status = 404, description = "invalid_token", body = ErrorBody)))]
pub async fn invitation(
    State(state): State<SharedState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<ApiJson<InvitationInfo>> {
    let t = match state
        .store
        .peek_user_token(&sha256_hex(&token), "invite")
        .await
    {
        Ok(t) => t,
        Err(StoreError::NotFound) => return Err(bad_token()),
        Err(e) => return Err(e.into()),
    };
    let ws = state.store.get_workspace(&t.workspace_id).await?;
    Ok(ApiJson(InvitationInfo {
        email: t.email,
        workspace: ws.name,
        role: t.role.unwrap_or(Role::Agent),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
    pub name: String,
    /// At least 8 characters.
    pub password: String,
}

/// Accept an invitation: set your name and password; then log in.
#[utoipa::path(post, operation_id = "invitation_accept", path = "/api/v1/auth/invitations/accept", tag = "auth", request_body = AcceptInvitation,
    responses((status = 201, description = "The new user", body = User), (status = 404, description = "invalid_token", body = ErrorBody),
        (status = 409, description = "The e-mail is taken", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn accept(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<AcceptInvitation>,
) -> ApiResult<(StatusCode, ApiJson<User>)> {
    check_rate(&state.limiters.login, &format!("ip:{ip}")).map_err(ApiError::rate_limited)?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "name must be 1 to 100 characters, without control characters",
        ));
    }
    let hash = super::users::hash_password(req.password).await?;
    match state
        .store
        .accept_invitation(&sha256_hex(req.token.trim()), &name, &hash)
        .await
    {
        Ok(u) => {
            // A new member may take waiting conversations.
            state.router.drain(&u.workspace_id);
            Ok((StatusCode::CREATED, ApiJson(u)))
        }
        Err(StoreError::NotFound) => Err(bad_token()),
        Err(e) => Err(e.into()),
    }
}
