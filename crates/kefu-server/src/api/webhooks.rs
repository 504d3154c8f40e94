//! Webhook subscriptions, their delivery logs, tests and replays. Admins
//! only, scoped to the caller's workspace. A secret is shown twice at most:
//! in the answer that creates it and in the one that rotates it.

use super::{Page, cursor::IdCursor, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::Admin,
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
    webhooks::{guard, sign},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::event::ConversationEvent;
use kefu_store::{
    DeliveryState, NewWebhook, StoreError, Webhook, WebhookDelivery, WebhookDeliveryDetail,
    WebhookPatch, now_ms, webhooks::TEST_EVENT,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// Where to POST events: `http://` or `https://`. Private and loopback
    /// addresses are refused unless the operator allows them.
    pub url: String,
    /// Event types to receive (see `GET /api/v1/webhooks/event-types`), or `["*"]` for all.
    pub event_types: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchRequest {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// `false` stops recording events for it (unlike a pause, nothing waits).
    pub active: Option<bool>,
}

/// A subscription with its secret: only in the answers to create and rotate.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: verify `webhook-signature` with it. Shown only now; store it.
    pub secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Cursor from the previous page's `next_cursor` (pages go newest first).
    #[param(value_type = Option<String>)]
    pub cursor: Option<IdCursor>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
    /// Only deliveries in this state: `pending`, `failed`, `delivered`, `dead`.
    #[param(value_type = Option<String>)]
    pub state: Option<DeliveryState>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRange {
    /// Deliveries created at or after this time (epoch ms).
    pub since: i64,
    /// …and at or before this one (epoch ms); default now.
    pub until: Option<i64>,
    /// Which to send again; default `["failed", "dead"]`.
    pub states: Option<Vec<DeliveryState>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// How many deliveries are due again now.
    pub replayed: u64,
}

fn not_found(e: StoreError) -> ApiError {
    ApiError::from_store(e, "webhook")
}

/// Checks a URL as the guard will (422 `blocked_destination` for a literal
/// private address, 422 `validation` for anything else wrong).
fn checked_url(state: &SharedState, url: &str) -> ApiResult<String> {
    match guard::check_url(url.trim(), state.cfg.webhooks.allow_private_networks) {
        Ok(_) => Ok(url.trim().to_string()),
        Err(guard::UrlProblem::Blocked(m)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "blocked_destination",
            m,
        )),
        Err(guard::UrlProblem::Invalid(m)) => Err(ApiError::validation(m)),
    }
}

/// Every event type a subscription may pick, in catalogue order.
#[utoipa::path(get, operation_id = "webhooks_event_types", path = "/api/v1/webhooks/event-types", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Page<String>), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn event_types(Admin(_who): Admin) -> ApiJson<Page<String>> {
    ApiJson(Page::whole(
        ConversationEvent::TYPES
            .iter()
            .map(|t| t.to_string())
            .collect(),
    ))
}

/// The workspace's subscriptions in creation order (never their secrets).
#[utoipa::path(get, operation_id = "webhooks_list", path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), params(super::PageQuery),
    responses((status = 200, description = "Success", body = Page<Webhook>), (status = 400, description = "Malformed request", body = ErrorBody), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiQuery(q): ApiQuery<super::PageQuery>,
) -> ApiResult<ApiJson<Page<Webhook>>> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .list_webhooks(
            who.workspace_id(),
            q.cursor.as_ref().map(IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |w| w.id.clone())))
}

/// Creates a subscription; it receives events committed from now on. The
/// answer carries the signing secret, shown this once.
#[utoipa::path(post, operation_id = "webhooks_create", path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = NewWebhookRequest,
    responses((status = 201, description = "Created", body = WebhookWithSecret), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 422, description = "Invalid input; `blocked_destination` for a private or loopback address", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<NewWebhookRequest>,
) -> ApiResult<(StatusCode, ApiJson<WebhookWithSecret>)> {
    let url = checked_url(&state, &req.url)?;
    let secret = sign::new_secret();
    let webhook = state
        .store
        .create_webhook(NewWebhook {
            workspace_id: who.workspace_id().clone(),
            url,
            description: req.description,
            event_types: req.event_types,
            secret: secret.clone(),
        })
        .await?;
    tracing::info!(webhook = %webhook.id, workspace = %webhook.workspace_id, "webhook subscription created");
    Ok((
        StatusCode::CREATED,
        ApiJson(WebhookWithSecret { webhook, secret }),
    ))
}

#[utoipa::path(get, operation_id = "webhooks_get", path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = Webhook), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<Webhook>> {
    Ok(ApiJson(
        state
            .store
            .get_webhook(who.workspace_id(), &id)
            .await
            .map_err(not_found)?,
    ))
}

/// Changes the URL, event types, description or whether it is active.
#[utoipa::path(patch, operation_id = "webhooks_update", path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)), request_body = WebhookPatchRequest,
    responses((status = 200, description = "Success", body = Webhook), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 422, description = "Invalid input; `blocked_destination` for a private or loopback address", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<WebhookPatchRequest>,
) -> ApiResult<ApiJson<Webhook>> {
    let url = req
        .url
        .as_deref()
        .map(|u| checked_url(&state, u))
        .transpose()?;
    let w = state
        .store
        .update_webhook(
            who.workspace_id(),
            &id,
            WebhookPatch {
                url,
                description: req.description,
                event_types: req.event_types,
                active: req.active,
            },
        )
        .await
        .map_err(not_found)?;
    state.webhooks.wake();
    Ok(ApiJson(w))
}

/// Deletes the subscription with its delivery log.
#[utoipa::path(delete, operation_id = "webhooks_delete", path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn delete(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_webhook(who.workspace_id(), &id)
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret, shown this once. The previous one keeps signing beside it
/// (a second signature) for `[webhooks] rotation_overlap_secs`.
#[utoipa::path(post, operation_id = "webhooks_rotate_secret", path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Rotated", body = WebhookWithSecret), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<WebhookWithSecret>> {
    let secret = sign::new_secret();
    let overlap = i64::try_from(
        state
            .cfg
            .webhooks
            .rotation_overlap_secs
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX / 2);
    let webhook = state
        .store
        .rotate_webhook_secret(who.workspace_id(), &id, secret.clone(), now_ms() + overlap)
        .await
        .map_err(not_found)?;
    tracing::info!(webhook = %webhook.id, "webhook secret rotated");
    Ok(ApiJson(WebhookWithSecret { webhook, secret }))
}

/// Holds sending: deliveries keep being recorded and wait for a resume.
#[utoipa::path(post, operation_id = "webhooks_pause", path = "/api/v1/webhooks/{id}/pause", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Paused", body = Webhook), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn pause(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<Webhook>> {
    Ok(ApiJson(
        state
            .store
            .pause_webhook(who.workspace_id(), &id, "manual")
            .await
            .map_err(not_found)?,
    ))
}

/// Sends again (after a pause by an admin or by failures): what waited is due now.
#[utoipa::path(post, operation_id = "webhooks_resume", path = "/api/v1/webhooks/{id}/resume", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Resumed", body = Webhook), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn resume(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<Webhook>> {
    let w = state
        .store
        .resume_webhook(who.workspace_id(), &id)
        .await
        .map_err(not_found)?;
    state.webhooks.wake();
    Ok(ApiJson(w))
}

/// Sends a `webhook_test` event to the subscription now (whatever types it picked).
#[utoipa::path(post, operation_id = "webhooks_test", path = "/api/v1/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, description = "Queued; follow it in the delivery log", body = WebhookDelivery), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn test(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, ApiJson<WebhookDelivery>)> {
    let sender = who.sender();
    let payload = json!({
        "id": kefu_store::new_id(),
        "workspace_id": who.workspace_id(),
        "occurred_at": now_ms(),
        "actor": {"kind": sender.kind, "id": sender.id},
        "conversation": null,
        "contact_id": null,
        "type": TEST_EVENT,
        "data": {"subscription_id": id, "message": "A test event from kefu: your endpoint is reachable."},
    });
    let d = state
        .store
        .create_webhook_delivery(who.workspace_id(), &id, TEST_EVENT, payload.to_string())
        .await
        .map_err(not_found)?;
    state.webhooks.wake();
    Ok((StatusCode::ACCEPTED, ApiJson(d)))
}

/// The delivery log, newest first.
#[utoipa::path(get, operation_id = "webhooks_deliveries", path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path), DeliveriesQuery),
    responses((status = 200, description = "Success", body = Page<WebhookDelivery>), (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<ApiJson<Page<WebhookDelivery>>> {
    let limit = page_limit(q.limit)?;
    // 404 for another workspace's subscription rather than an empty page.
    state
        .store
        .get_webhook(who.workspace_id(), &id)
        .await
        .map_err(not_found)?;
    let rows = state
        .store
        .list_webhook_deliveries(
            who.workspace_id(),
            &id,
            q.state,
            q.cursor.as_ref().map(IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |d| d.id.clone())))
}

/// One delivery: what was sent and every attempt.
#[utoipa::path(get, operation_id = "webhooks_delivery", path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 200, description = "Success", body = WebhookDeliveryDetail), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn delivery(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath((id, delivery_id)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<WebhookDeliveryDetail>> {
    Ok(ApiJson(
        state
            .store
            .get_webhook_delivery(who.workspace_id(), &id, &delivery_id)
            .await
            .map_err(|e| ApiError::from_store(e, "delivery"))?,
    ))
}

/// Sends one delivery again now, with the same `webhook-id` and a new round of retries.
#[utoipa::path(post, operation_id = "webhooks_replay_delivery", path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 202, description = "Due again now", body = WebhookDelivery), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn replay_delivery(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath((id, delivery_id)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, ApiJson<WebhookDelivery>)> {
    let d = state
        .store
        .replay_webhook_delivery(who.workspace_id(), &id, &delivery_id)
        .await
        .map_err(|e| ApiError::from_store(e, "delivery"))?;
    state.webhooks.wake();
    Ok((StatusCode::ACCEPTED, ApiJson(d)))
}

/// Sends again every delivery created in a time range (by default the failed and dead ones).
#[utoipa::path(post, operation_id = "webhooks_replay_range", path = "/api/v1/webhooks/{id}/replay", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)), request_body = ReplayRange,
    responses((status = 202, description = "Due again now", body = Replayed), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn replay_range(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ReplayRange>,
) -> ApiResult<(StatusCode, ApiJson<Replayed>)> {
    let until = req.until.unwrap_or_else(now_ms);
    if req.since < 0 || until < req.since {
        return Err(ApiError::validation(
            "since must be >= 0 and not after until",
        ));
    }
    let states = req
        .states
        .unwrap_or_else(|| vec![DeliveryState::Failed, DeliveryState::Dead]);
    if states.is_empty() {
        return Err(ApiError::validation("states must name at least one state"));
    }
    let replayed = state
        .store
        .replay_webhook_range(who.workspace_id(), &id, req.since, until, states)
        .await
        .map_err(not_found)?;
    state.webhooks.wake();
    Ok((StatusCode::ACCEPTED, ApiJson(Replayed { replayed })))
}
