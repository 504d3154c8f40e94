//! Web Push endpoints (docs/push.md): the console fetches our VAPID public
//! key, subscribes the browser and posts the subscription here; an agent
//! lists, removes and tests their own. Every endpoint works on the caller's
//! own subscriptions only (workspace and user), so an endpoint URL, a
//! capability to push to a browser, is never shown to anyone else.

use crate::{
    app::SharedState,
    auth::{Auth, Principal},
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
    mail::templates::Lang,
    push::{
        PushMessage, TestReport,
        subscription::{self, SubscriptionProblem},
    },
};
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use kefu_core::{UserId, WorkspaceId};
use kefu_store::{NewPushSubscription, PushSubscription};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Page;

/// Longest `User-Agent` kept with a subscription (to tell devices apart).
const MAX_USER_AGENT_CHARS: usize = 200;

fn push_disabled() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "push_disabled",
        "push notifications are off on this server ([push] enabled = false, docs/push.md)",
    )
}

/// The caller as an agent: push notifications are for people.
fn agent(who: &Principal) -> ApiResult<(&WorkspaceId, &UserId)> {
    agent_session(who).map(|(ws, uid, _)| (ws, uid))
}

/// The agent and their login session (a subscription lives as long as it).
fn agent_session(who: &Principal) -> ApiResult<(&WorkspaceId, &UserId, &str)> {
    match who {
        Principal::Agent {
            user_id,
            workspace_id,
            session_id,
            ..
        } => Ok((workspace_id, user_id, session_id)),
        _ => Err(ApiError::forbidden("this needs an agent's login")),
    }
}

impl From<SubscriptionProblem> for ApiError {
    fn from(p: SubscriptionProblem) -> Self {
        ApiError::bad_request(p.code(), p.to_string())
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VapidPublicKey {
    /// base64url (no padding) of the server's P-256 public key, 65 bytes
    /// uncompressed: pass it to `pushManager.subscribe` as `applicationServerKey`.
    pub public_key: String,
}

/// The browser's keys of a subscription.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubscriptionKeys {
    /// base64url of the browser's P-256 public key (65 bytes).
    pub p256dh: String,
    /// base64url of the browser's auth secret (16 bytes).
    pub auth: String,
}

/// A browser's `PushSubscription`, as `JSON.stringify(subscription)` gives it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BrowserSubscription {
    /// The push service URL: `https:`, not into private networks.
    pub endpoint: String,
    /// When the browser will end it (epoch ms), if it says; not used.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<f64>,
    pub keys: SubscriptionKeys,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRef {
    /// The `endpoint` of the subscription to remove.
    pub endpoint: String,
}

/// One of the caller's subscriptions (its keys are not shown).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushSubscriptionView {
    pub id: String,
    /// The console compares it with its browser's subscription to tell
    /// "this device" apart.
    pub endpoint: String,
    /// The browser that subscribed, as it named itself.
    pub user_agent: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// When a push service last took a notification for it (epoch ms).
    pub last_success_at: Option<i64>,
    /// Notifications that failed in a row.
    pub failures: i64,
}

impl From<PushSubscription> for PushSubscriptionView {
    fn from(s: PushSubscription) -> Self {
        PushSubscriptionView {
            id: s.id,
            endpoint: s.endpoint,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_success_at: s.last_success_at,
            failures: s.failures,
        }
    }
}

/// The server's VAPID public key (409 `push_disabled` when push is off).
#[utoipa::path(get, operation_id = "push_vapid_public_key", path = "/api/v1/push/vapid_public_key", tag = "push", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = VapidPublicKey), (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not an agent", body = ErrorBody), (status = 409, description = "push_disabled", body = ErrorBody)))]
pub async fn vapid_public_key(
    State(state): State<SharedState>,
    Auth(who): Auth,
) -> ApiResult<ApiJson<VapidPublicKey>> {
    agent(&who)?;
    let key = state.push.public_key().ok_or_else(push_disabled)?;
    Ok(ApiJson(VapidPublicKey {
        public_key: key.to_string(),
    }))
}

/// Stores the caller's browser subscription (or renews it: same endpoint,
/// new keys; a browser another agent had subscribed becomes the caller's).
/// It lasts as long as the caller's login session: after a logout that
/// browser gets no more notifications.
/// 400 `bad_endpoint`, `endpoint_not_allowed`, `bad_p256dh` or `bad_auth`
/// for a subscription that cannot be used.
#[utoipa::path(post, operation_id = "push_subscribe", path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])), request_body = BrowserSubscription,
    responses((status = 201, description = "Stored", body = PushSubscriptionView), (status = 400, description = "bad_endpoint, endpoint_not_allowed, bad_p256dh or bad_auth", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody), (status = 403, description = "Not an agent", body = ErrorBody),
        (status = 409, description = "push_disabled", body = ErrorBody), (status = 422, description = "Fields missing", body = ErrorBody)))]
pub async fn subscribe(
    State(state): State<SharedState>,
    Auth(who): Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<BrowserSubscription>,
) -> ApiResult<(StatusCode, ApiJson<PushSubscriptionView>)> {
    let (ws, uid, session) = agent_session(&who)?;
    if !state.push.enabled() {
        return Err(push_disabled());
    }
    let checked = subscription::check(
        &req.endpoint,
        &req.keys.p256dh,
        &req.keys.auth,
        state.cfg.push.allow_private_endpoints,
    )?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(MAX_USER_AGENT_CHARS).collect::<String>())
        .filter(|s| !s.is_empty());
    let saved = state
        .store
        .save_push_subscription(
            NewPushSubscription {
                workspace_id: ws.clone(),
                user_id: uid.clone(),
                endpoint: checked.endpoint,
                p256dh: checked.p256dh,
                auth: checked.auth,
                user_agent,
                session_id: Some(session.to_string()),
            },
            state.cfg.push.max_subscriptions_per_user,
        )
        .await?;
    Ok((StatusCode::CREATED, ApiJson(saved.into())))
}

/// The caller's subscriptions, oldest first (a short list: it comes whole).
#[utoipa::path(get, operation_id = "push_subscriptions", path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Page<PushSubscriptionView>), (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not an agent", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Auth(who): Auth,
) -> ApiResult<ApiJson<Page<PushSubscriptionView>>> {
    let (ws, uid) = agent(&who)?;
    let subs = state.store.list_push_subscriptions(ws, uid).await?;
    Ok(ApiJson(Page::whole(
        subs.into_iter().map(PushSubscriptionView::from).collect(),
    )))
}

/// Removes one of the caller's subscriptions by its endpoint (the console
/// does when the agent turns notifications off in that browser).
#[utoipa::path(delete, operation_id = "push_unsubscribe", path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])), request_body = EndpointRef,
    responses((status = 204, description = "Removed"), (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not an agent", body = ErrorBody), (status = 404, description = "The caller has no subscription with this endpoint", body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<EndpointRef>,
) -> ApiResult<StatusCode> {
    let (ws, uid) = agent(&who)?;
    state
        .store
        .delete_push_subscription(ws, uid, &req.endpoint)
        .await
        .map_err(|e| ApiError::from_store(e, "push subscription"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test notification to each of the caller's subscriptions and
/// says how each went (a gone one is deleted, as with any push).
#[utoipa::path(post, operation_id = "push_test", path = "/api/v1/push/test", tag = "push", security(("bearer" = [])),
    responses((status = 200, description = "Tried every subscription of the caller", body = TestReport), (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not an agent", body = ErrorBody), (status = 409, description = "push_disabled", body = ErrorBody),
        (status = 429, description = "More than six tests a minute; see Retry-After", body = ErrorBody)))]
pub async fn test(
    State(state): State<SharedState>,
    Auth(who): Auth,
    headers: HeaderMap,
) -> ApiResult<ApiJson<TestReport>> {
    let (ws, uid) = agent(&who)?;
    if !state.push.enabled() {
        return Err(push_disabled());
    }
    crate::chat::check_rate(&state.push.tests, uid.as_str()).map_err(ApiError::rate_limited)?;
    let workspace = state.store.get_workspace(ws).await?;
    let lang = Lang::pick(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        Lang::of_workspace(&workspace.language),
    );
    let (title, body) = match lang {
        Lang::Zh => ("kefu 测试通知", "推送通知在此设备上可用。"),
        Lang::En => (
            "kefu test notification",
            "Push notifications work on this device.",
        ),
    };
    let msg = PushMessage {
        title: title.into(),
        body: body.into(),
        url: format!("{}/console/#/settings", crate::mail::base_url(&state)),
        tag: "kefu-test".into(),
    };
    Ok(ApiJson(
        crate::push::send_test(&state, ws, uid, &msg).await?,
    ))
}
