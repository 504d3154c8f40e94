//! Outgoing webhooks: a workspace's subscriptions (where to send which
//! events, signed with whose secret) and their deliveries (one per
//! subscription and event, with every attempt).
//!
//! A delivery's life: the dispatcher creates it `pending` in the same write
//! that moves its outbox cursor ([`Store::dispatch_webhooks`]); the sender
//! claims it when due ([`Store::claim_webhook_deliveries`], which pushes
//! `next_attempt_at` forward as a lease, so a sender that dies mid-attempt
//! is retried once the lease runs out); each attempt is recorded with its
//! outcome ([`Store::record_webhook_attempt`]): `delivered`, `failed` (due
//! again later) or `dead` (out of retries). A replay starts a new round.
//! The delivery's id never changes: it is the `webhook-id` receivers see.

use crate::{OutboxRow, Result, Store, StoreError, new_id, now_ms};
use kefu_core::WorkspaceId;
use kefu_core::event::ConversationEvent;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use std::fmt;
use utoipa::ToSchema;

/// What an event-type list holding only this means: every type.
pub const ALL_EVENTS: &str = "*";

/// The type of test deliveries (`POST /api/v1/webhooks/{id}/test`).
pub const TEST_EVENT: &str = "webhook_test";

/// Longest URL and description a subscription may have.
pub const MAX_URL_CHARS: usize = 2000;
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A webhook subscription as admins see it; its secrets are never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub workspace_id: WorkspaceId,
    /// Where events are POSTed (http or https).
    pub url: String,
    pub description: String,
    /// Event type names (see `GET /api/v1/webhooks/event-types`), or `["*"]` for all.
    pub event_types: Vec<String>,
    /// Inactive: events are not recorded for it at all.
    pub active: bool,
    /// Sending is held (deliveries wait) until an admin resumes it.
    pub paused: bool,
    pub paused_at: Option<i64>,
    /// `failing` (too many failed attempts in a row) or `manual`.
    pub pause_reason: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    /// During a secret rotation: until when (epoch ms) the previous secret signs too.
    pub previous_secret_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Webhook {
    /// Whether events of type `t` go to it.
    pub fn wants(&self, t: &str) -> bool {
        wants(&self.event_types, t)
    }
}

fn wants(types: &[String], t: &str) -> bool {
    types.iter().any(|x| x == ALL_EVENTS || x == t)
}

/// A subscription to create. `secret` is a `whsec_…` string the caller made.
#[derive(Clone)]
pub struct NewWebhook {
    pub workspace_id: WorkspaceId,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub secret: String,
}

/// Changes to a subscription; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// The secrets that sign a delivery now: the current one, and the previous
/// one while a rotation's overlap lasts. `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeys {
    pub current: String,
    pub previous: Option<String>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKeys {{ current: ***, previous: {} }}",
            if self.previous.is_some() {
                "***"
            } else {
                "none"
            }
        )
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not tried yet (or replayed and not tried again yet).
    Pending,
    /// The last attempt failed; another is scheduled.
    Failed,
    /// The receiver answered 2xx.
    Delivered,
    /// Out of retries (the dead letter): only a replay sends it again.
    Dead,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Failed,
        DeliveryState::Delivered,
        DeliveryState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Failed => "failed",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One delivery of one event to one subscription: a line of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header: the same on every attempt and replay.
    pub id: String,
    pub subscription_id: String,
    /// The event's id (`null` for test deliveries).
    pub event_id: Option<String>,
    pub event_type: String,
    pub state: DeliveryState,
    /// Attempts made so far (replays included).
    pub attempts: i64,
    /// When the next attempt is due (epoch ms); `null` once delivered or dead.
    pub next_attempt_at: Option<i64>,
    /// The last attempt's HTTP status (`null`: no answer).
    pub last_status: Option<i64>,
    pub last_latency_ms: Option<i64>,
    /// Why the last attempt failed, when it did without an answer (timeout, refused, blocked).
    pub last_error: Option<String>,
    /// The start of the last answer's body (at most `webhooks.max_response_bytes`).
    pub last_response: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One attempt to send a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub attempt: i64,
    pub started_at: i64,
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// A delivery with what was sent and every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDeliveryDetail {
    #[serde(flatten)]
    pub delivery: WebhookDelivery,
    /// The body sent (the event's JSON).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts_log: Vec<WebhookAttempt>,
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: String,
    pub subscription_id: String,
    pub url: String,
    /// The exact body to send.
    pub payload: String,
    /// Attempts in this round so far (the retry schedule's step).
    pub round_attempts: i64,
    pub keys: SigningKeys,
}

/// How an attempt went.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub started_at: i64,
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response: Option<String>,
    /// A 2xx answer.
    pub success: bool,
}

/// What recording an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub state: DeliveryState,
    /// This failure paused the subscription.
    pub paused: bool,
}

macro_rules! sub_cols {
    () => {
        "id, workspace_id, url, description, event_types, active, paused_at, pause_reason, consecutive_failures, previous_secret_until, created_at, updated_at"
    };
}

macro_rules! delivery_cols {
    () => {
        "id, subscription_id, event_id, event_type, state, attempts, next_attempt_at, last_status, last_latency_ms, last_error, last_response, created_at, updated_at"
    };
}

fn sub_from_row(r: &AnyRow) -> Result<Webhook> {
    let types: String = r.try_get("event_types")?;
    let paused_at: Option<i64> = r.try_get("paused_at")?;
    Ok(Webhook {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        event_types: serde_json::from_str(&types)
            .map_err(|e| StoreError::Corrupt(format!("webhook event_types: {e}")))?,
        active: r.try_get::<i64, _>("active")? != 0,
        paused: paused_at.is_some(),
        paused_at,
        pause_reason: r.try_get("pause_reason")?,
        consecutive_failures: r.try_get("consecutive_failures")?,
        previous_secret_until: r.try_get("previous_secret_until")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn delivery_from_row(r: &AnyRow) -> Result<WebhookDelivery> {
    let state: String = r.try_get("state")?;
    Ok(WebhookDelivery {
        id: r.try_get("id")?,
        subscription_id: r.try_get("subscription_id")?,
        event_id: r.try_get("event_id")?,
        event_type: r.try_get("event_type")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_status: r.try_get("last_status")?,
        last_latency_ms: r.try_get("last_latency_ms")?,
        last_error: r.try_get("last_error")?,
        last_response: r.try_get("last_response")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The event types a subscription may pick: [`ConversationEvent::TYPES`],
/// or `*` alone for all. Returns them deduplicated, in catalogue order.
pub fn check_event_types(types: &[String]) -> Result<Vec<String>> {
    if types.is_empty() {
        return Err(StoreError::Invalid(
            "event_types must name at least one event type, or be [\"*\"] for all".into(),
        ));
    }
    if types.iter().any(|t| t == ALL_EVENTS) {
        if types.len() > 1 {
            return Err(StoreError::Invalid(
                "\"*\" (all events) cannot be combined with other types".into(),
            ));
        }
        return Ok(vec![ALL_EVENTS.into()]);
    }
    if let Some(bad) = types
        .iter()
        .find(|t| !ConversationEvent::TYPES.contains(&t.as_str()))
    {
        return Err(StoreError::Invalid(format!(
            "unknown event type {bad:?}; known: {}",
            ConversationEvent::TYPES.join(", ")
        )));
    }
    Ok(ConversationEvent::TYPES
        .iter()
        .filter(|t| types.iter().any(|x| x == *t))
        .map(|t| t.to_string())
        .collect())
}

fn check_url(url: &str) -> Result<String> {
    let u = url.trim();
    if u.is_empty() || u.chars().count() > MAX_URL_CHARS {
        return Err(StoreError::Invalid(format!(
            "url must be 1 to {MAX_URL_CHARS} characters"
        )));
    }
    Ok(u.to_string())
}

fn check_description(d: &str) -> Result<String> {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION_CHARS || d.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters, without control characters"
        )));
    }
    Ok(d.to_string())
}

async fn sub_in(c: &mut AnyConnection, ws: &WorkspaceId, id: &str) -> Result<Webhook> {
    let r = sqlx::query(concat!(
        "SELECT ",
        sub_cols!(),
        " FROM webhook_subscriptions WHERE id = $1 AND workspace_id = $2"
    ))
    .bind(id)
    .bind(ws)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref()
        .map(sub_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

impl Store {
    /// Creates a subscription; it hears of events committed from now on.
    pub async fn create_webhook(&self, new: NewWebhook) -> Result<Webhook> {
        let url = check_url(&new.url)?;
        let description = check_description(&new.description)?;
        let types = check_event_types(&new.event_types)?;
        let types_json =
            serde_json::to_string(&types).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let id = new_id();
        let ws = new.workspace_id.clone();
        let secret = new.secret;
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                // Read inside the write: a dispatcher batch that commits
                // before this sees positions up to here only, and one that
                // commits after sees this subscription.
                let head: i64 = sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM outbox")
                    .fetch_one(&mut *c)
                    .await?
                    .try_get("p")?;
                sqlx::query(
                    "INSERT INTO webhook_subscriptions (id, workspace_id, url, description, event_types, secret, active,
                        consecutive_failures, start_position, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 1, 0, $7, $8, $9)",
                )
                .bind(&id)
                .bind(&ws)
                .bind(&url)
                .bind(&description)
                .bind(&types_json)
                .bind(&secret)
                .bind(head)
                .bind(now)
                .bind(now)
                .execute(&mut *c)
                .await?;
                sub_in(c, &ws, &id).await
            })
        })
        .await
    }

    /// The workspace's subscriptions in creation order, after the cursor `after` (an id).
    pub async fn list_webhooks(
        &self,
        workspace_id: &WorkspaceId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sub_cols!(),
            " FROM webhook_subscriptions WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(workspace_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(sub_from_row).collect()
    }

    pub async fn get_webhook(&self, workspace_id: &WorkspaceId, id: &str) -> Result<Webhook> {
        let r = sqlx::query(concat!(
            "SELECT ",
            sub_cols!(),
            " FROM webhook_subscriptions WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(self.reader())
        .await?;
        r.as_ref()
            .map(sub_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    pub async fn update_webhook(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        patch: WebhookPatch,
    ) -> Result<Webhook> {
        let url = patch.url.as_deref().map(check_url).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(check_description)
            .transpose()?;
        let types = patch
            .event_types
            .as_deref()
            .map(check_event_types)
            .transpose()?
            .map(|t| serde_json::to_string(&t).unwrap_or_default());
        let active = patch.active.map(i64::from);
        let (ws, id) = (workspace_id.clone(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE webhook_subscriptions SET url = COALESCE($3, url), description = COALESCE($4, description),
                        event_types = COALESCE($5, event_types), active = COALESCE($6, active), updated_at = $7
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&id)
                .bind(&ws)
                .bind(url.as_deref())
                .bind(description.as_deref())
                .bind(types.as_deref())
                .bind(active)
                .bind(now_ms())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                sub_in(c, &ws, &id).await
            })
        })
        .await
    }

    /// Deletes a subscription with its deliveries and their attempts.
    pub async fn delete_webhook(&self, workspace_id: &WorkspaceId, id: &str) -> Result<()> {
        let (ws, id) = (workspace_id.clone(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN
                        (SELECT id FROM webhook_deliveries WHERE subscription_id = $1 AND workspace_id = $2)",
                )
                .bind(&id)
                .bind(&ws)
                .execute(&mut *c)
                .await?;
                sqlx::query("DELETE FROM webhook_deliveries WHERE subscription_id = $1 AND workspace_id = $2")
                    .bind(&id)
                    .bind(&ws)
                    .execute(&mut *c)
                    .await?;
                let n = sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1 AND workspace_id = $2")
                    .bind(&id)
                    .bind(&ws)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }

    /// Replaces the secret with `new_secret`; the old one keeps signing
    /// (beside the new) until `previous_until` (epoch ms).
    pub async fn rotate_webhook_secret(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        new_secret: String,
        previous_until: i64,
    ) -> Result<Webhook> {
        let (ws, id) = (workspace_id.clone(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE webhook_subscriptions SET previous_secret = secret, previous_secret_until = $3,
                        secret = $4, updated_at = $5
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&id)
                .bind(&ws)
                .bind(previous_until)
                .bind(&new_secret)
                .bind(now_ms())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                sub_in(c, &ws, &id).await
            })
        })
        .await
    }

    /// Holds sending (`reason`: `manual`, `failing`); deliveries keep being recorded.
    pub async fn pause_webhook(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        reason: &str,
    ) -> Result<Webhook> {
        let (ws, id, reason) = (workspace_id.clone(), id.to_string(), reason.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let n = sqlx::query(
                    "UPDATE webhook_subscriptions SET paused_at = COALESCE(paused_at, $3), pause_reason = COALESCE(pause_reason, $4), updated_at = $5
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&id)
                .bind(&ws)
                .bind(now)
                .bind(&reason)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                sub_in(c, &ws, &id).await
            })
        })
        .await
    }

    /// Sends again: clears the pause and the failure count, and makes every
    /// delivery still waiting due now.
    pub async fn resume_webhook(&self, workspace_id: &WorkspaceId, id: &str) -> Result<Webhook> {
        let (ws, id) = (workspace_id.clone(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let n = sqlx::query(
                    "UPDATE webhook_subscriptions SET paused_at = NULL, pause_reason = NULL, consecutive_failures = 0, updated_at = $3
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&id)
                .bind(&ws)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(
                    "UPDATE webhook_deliveries SET next_attempt_at = $2
                     WHERE subscription_id = $1 AND next_attempt_at IS NOT NULL AND next_attempt_at > $3",
                )
                .bind(&id)
                .bind(now)
                .bind(now)
                .execute(&mut *c)
                .await?;
                sub_in(c, &ws, &id).await
            })
        })
        .await
    }

    /// The dispatcher's step: records a delivery of each event in `rows` for
    /// every active subscription that wants it (and was created before it),
    /// and moves consumer `consumer`'s cursor to `through`, in one write.
    /// Returns how many deliveries were created. Running it twice for the
    /// same rows creates nothing twice.
    pub async fn dispatch_webhooks(
        &self,
        consumer: &str,
        rows: Vec<OutboxRow>,
        through: i64,
    ) -> Result<usize> {
        let consumer = consumer.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let mut subs: std::collections::HashMap<WorkspaceId, Vec<(String, Vec<String>, i64)>> =
                    Default::default();
                let mut created = 0;
                for row in &rows {
                    let ws = &row.event.workspace_id;
                    if !subs.contains_key(ws) {
                        let found = sqlx::query(
                            "SELECT id, event_types, start_position FROM webhook_subscriptions
                             WHERE workspace_id = $1 AND active = 1",
                        )
                        .bind(ws)
                        .fetch_all(&mut *c)
                        .await?;
                        let mut list = Vec::with_capacity(found.len());
                        for r in &found {
                            let types: String = r.try_get("event_types")?;
                            let types: Vec<String> = serde_json::from_str(&types)
                                .map_err(|e| StoreError::Corrupt(format!("webhook event_types: {e}")))?;
                            list.push((r.try_get("id")?, types, r.try_get("start_position")?));
                        }
                        subs.insert(ws.clone(), list);
                    }
                    let type_name = row.event.change.type_name();
                    for (sub_id, types, start) in &subs[ws] {
                        if row.position <= *start || !wants(types, type_name) {
                            continue;
                        }
                        created += sqlx::query(
                            "INSERT INTO webhook_deliveries (id, workspace_id, subscription_id, event_id, event_type, payload,
                                state, attempts, round_attempts, next_attempt_at, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, 0, $7, $8, $9)
                             ON CONFLICT (subscription_id, event_id) DO NOTHING",
                        )
                        .bind(new_id())
                        .bind(ws)
                        .bind(sub_id)
                        .bind(&row.event.id)
                        .bind(type_name)
                        .bind(&row.payload)
                        .bind(now)
                        .bind(now)
                        .bind(now)
                        .execute(&mut *c)
                        .await?
                        .rows_affected() as usize;
                    }
                }
                sqlx::query(
                    "UPDATE outbox_consumers SET position = $2, updated_at = $3 WHERE name = $1 AND position < $2",
                )
                .bind(&consumer)
                .bind(through)
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(created)
            })
        })
        .await
    }

    /// Records a delivery that is not an outbox event (a test), due now.
    pub async fn create_webhook_delivery(
        &self,
        workspace_id: &WorkspaceId,
        subscription_id: &str,
        event_type: &str,
        payload: String,
    ) -> Result<WebhookDelivery> {
        let (ws, sub, t) = (
            workspace_id.clone(),
            subscription_id.to_string(),
            event_type.to_string(),
        );
        let id = new_id();
        self.write(move |c| {
            Box::pin(async move {
                sub_in(c, &ws, &sub).await?;
                let now = now_ms();
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, workspace_id, subscription_id, event_id, event_type, payload,
                        state, attempts, round_attempts, next_attempt_at, created_at, updated_at)
                     VALUES ($1, $2, $3, NULL, $4, $5, 'pending', 0, 0, $6, $7, $8)",
                )
                .bind(&id)
                .bind(&ws)
                .bind(&sub)
                .bind(&t)
                .bind(&payload)
                .bind(now)
                .bind(now)
                .bind(now)
                .execute(&mut *c)
                .await?;
                delivery_in(c, &ws, &sub, &id).await
            })
        })
        .await
    }

    /// A subscription's deliveries, newest first, before the cursor `before`
    /// (a delivery id), optionally only those in `state`.
    pub async fn list_webhook_deliveries(
        &self,
        workspace_id: &WorkspaceId,
        subscription_id: &str,
        state: Option<DeliveryState>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>> {
        // "~" sorts after every id kefu writes: no cursor means the newest.
        let rows = sqlx::query(concat!(
            "SELECT ",
            delivery_cols!(),
            " FROM webhook_deliveries WHERE subscription_id = $1 AND workspace_id = $2 AND id < $3
              AND ($4 = '' OR state = $5) ORDER BY id DESC LIMIT $6"
        ))
        .bind(subscription_id)
        .bind(workspace_id)
        .bind(before.unwrap_or("~"))
        .bind(state.map_or("", DeliveryState::as_str))
        .bind(state.map_or("", DeliveryState::as_str))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// One delivery with its body and attempts.
    pub async fn get_webhook_delivery(
        &self,
        workspace_id: &WorkspaceId,
        subscription_id: &str,
        id: &str,
    ) -> Result<WebhookDeliveryDetail> {
        let r = sqlx::query(concat!(
            "SELECT ",
            delivery_cols!(),
            ", payload FROM webhook_deliveries WHERE id = $1 AND subscription_id = $2 AND workspace_id = $3"
        ))
        .bind(id)
        .bind(subscription_id)
        .bind(workspace_id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        let delivery = delivery_from_row(&r)?;
        let payload: String = r.try_get("payload")?;
        let attempts = sqlx::query(
            "SELECT attempt, started_at, status, latency_ms, error, response FROM webhook_attempts
             WHERE delivery_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        Ok(WebhookDeliveryDetail {
            delivery,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
            attempts_log: attempts
                .iter()
                .map(|a| {
                    Ok(WebhookAttempt {
                        attempt: a.try_get("attempt")?,
                        started_at: a.try_get("started_at")?,
                        status: a.try_get("status")?,
                        latency_ms: a.try_get("latency_ms")?,
                        error: a.try_get("error")?,
                        response: a.try_get("response")?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// Sends one delivery again, now, with a new round of retries (same id).
    pub async fn replay_webhook_delivery(
        &self,
        workspace_id: &WorkspaceId,
        subscription_id: &str,
        id: &str,
    ) -> Result<WebhookDelivery> {
        let (ws, sub, id) = (
            workspace_id.clone(),
            subscription_id.to_string(),
            id.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let n = sqlx::query(
                    "UPDATE webhook_deliveries SET state = 'pending', round_attempts = 0, next_attempt_at = $4, updated_at = $5
                     WHERE id = $1 AND subscription_id = $2 AND workspace_id = $3",
                )
                .bind(&id)
                .bind(&sub)
                .bind(&ws)
                .bind(now)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                delivery_in(c, &ws, &sub, &id).await
            })
        })
        .await
    }

    /// Replays every delivery of the subscription created in `[since, until]`
    /// (epoch ms) that is in one of `states`; returns how many.
    pub async fn replay_webhook_range(
        &self,
        workspace_id: &WorkspaceId,
        subscription_id: &str,
        since: i64,
        until: i64,
        states: Vec<DeliveryState>,
    ) -> Result<u64> {
        let (ws, sub) = (workspace_id.clone(), subscription_id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                sub_in(c, &ws, &sub).await?;
                let now = now_ms();
                let mut n = 0;
                for s in states {
                    n += sqlx::query(
                        "UPDATE webhook_deliveries SET state = 'pending', round_attempts = 0, next_attempt_at = $5, updated_at = $6
                         WHERE subscription_id = $1 AND workspace_id = $2 AND created_at >= $3 AND created_at <= $4 AND state = $7",
                    )
                    .bind(&sub)
                    .bind(&ws)
                    .bind(since)
                    .bind(until)
                    .bind(now)
                    .bind(now)
                    .bind(s.as_str())
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                }
                Ok(n)
            })
        })
        .await
    }

    /// Claims up to `limit` deliveries due at `now` of active, unpaused
    /// subscriptions, leasing them until `lease_until` (a sender that dies
    /// leaves them to be retried then).
    pub async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<DueDelivery>> {
        self.write(move |c| {
            Box::pin(async move {
                // The outer `next_attempt_at <= $3` re-checks each row after
                // its lock: of two nodes claiming at once, one gets it.
                let rows = sqlx::query(
                    "UPDATE webhook_deliveries SET next_attempt_at = $1, updated_at = $2
                     WHERE id IN (
                        SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
                        WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= $3 AND s.active = 1 AND s.paused_at IS NULL
                        ORDER BY d.next_attempt_at LIMIT $4)
                       AND next_attempt_at <= $5
                     RETURNING id, subscription_id, payload, round_attempts",
                )
                .bind(lease_until)
                .bind(now)
                .bind(now)
                .bind(limit)
                .bind(now)
                .fetch_all(&mut *c)
                .await?;
                let mut subs: std::collections::HashMap<String, (String, SigningKeys)> = Default::default();
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let sub_id: String = r.try_get("subscription_id")?;
                    if !subs.contains_key(&sub_id) {
                        let s = sqlx::query(
                            "SELECT url, secret, previous_secret, previous_secret_until FROM webhook_subscriptions WHERE id = $1",
                        )
                        .bind(&sub_id)
                        .fetch_one(&mut *c)
                        .await?;
                        let until: Option<i64> = s.try_get("previous_secret_until")?;
                        let previous: Option<String> = s.try_get("previous_secret")?;
                        subs.insert(
                            sub_id.clone(),
                            (
                                s.try_get("url")?,
                                SigningKeys {
                                    current: s.try_get("secret")?,
                                    previous: previous.filter(|_| until.is_some_and(|u| u > now)),
                                },
                            ),
                        );
                    }
                    let (url, keys) = subs[&sub_id].clone();
                    out.push(DueDelivery {
                        id: r.try_get("id")?,
                        subscription_id: sub_id,
                        url,
                        payload: r.try_get("payload")?,
                        round_attempts: r.try_get("round_attempts")?,
                        keys,
                    });
                }
                Ok(out)
            })
        })
        .await
    }

    /// When the next delivery of an active, unpaused subscription is due.
    pub async fn next_webhook_due(&self) -> Result<Option<i64>> {
        let r = sqlx::query(
            "SELECT MIN(d.next_attempt_at) AS t FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
             WHERE d.next_attempt_at IS NOT NULL AND s.active = 1 AND s.paused_at IS NULL",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(r.try_get("t")?)
    }

    /// Records an attempt of delivery `id`: delivered on success; otherwise
    /// failed and due again at `retry_at`, or dead when that is `None`. A
    /// failure that makes `pause_after` in a row pauses the subscription.
    /// A delivery deleted meanwhile (its subscription was) is ignored.
    pub async fn record_webhook_attempt(
        &self,
        id: &str,
        outcome: AttemptOutcome,
        retry_at: Option<i64>,
        pause_after: i64,
    ) -> Result<Option<Recorded>> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let Some(d) = sqlx::query("SELECT subscription_id, attempts FROM webhook_deliveries WHERE id = $1")
                    .bind(&id)
                    .fetch_optional(&mut *c)
                    .await?
                else {
                    return Ok(None);
                };
                let sub: String = d.try_get("subscription_id")?;
                let attempt: i64 = d.try_get::<i64, _>("attempts")? + 1;
                let now = now_ms();
                let (state, next) = match (outcome.success, retry_at) {
                    (true, _) => (DeliveryState::Delivered, None),
                    (false, Some(t)) => (DeliveryState::Failed, Some(t)),
                    (false, None) => (DeliveryState::Dead, None),
                };
                sqlx::query(
                    "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status, latency_ms, error, response)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(attempt)
                .bind(outcome.started_at)
                .bind(outcome.status)
                .bind(outcome.latency_ms)
                .bind(outcome.error.as_deref())
                .bind(outcome.response.as_deref())
                .execute(&mut *c)
                .await?;
                sqlx::query(
                    "UPDATE webhook_deliveries SET state = $2, attempts = $3, round_attempts = round_attempts + 1,
                        next_attempt_at = $4, last_status = $5, last_latency_ms = $6, last_error = $7, last_response = $8, updated_at = $9
                     WHERE id = $1",
                )
                .bind(&id)
                .bind(state.as_str())
                .bind(attempt)
                .bind(next)
                .bind(outcome.status)
                .bind(outcome.latency_ms)
                .bind(outcome.error.as_deref())
                .bind(outcome.response.as_deref())
                .bind(now)
                .execute(&mut *c)
                .await?;
                let mut paused = false;
                if outcome.success {
                    sqlx::query("UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = $1")
                        .bind(&sub)
                        .execute(&mut *c)
                        .await?;
                } else {
                    let n = sqlx::query(
                        "UPDATE webhook_subscriptions SET paused_at = $2, pause_reason = 'failing', updated_at = $3,
                            consecutive_failures = consecutive_failures + 1
                         WHERE id = $1 AND paused_at IS NULL AND consecutive_failures + 1 >= $4",
                    )
                    .bind(&sub)
                    .bind(now)
                    .bind(now)
                    .bind(pause_after)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                    paused = n > 0;
                    if !paused {
                        sqlx::query(
                            "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1 WHERE id = $1",
                        )
                        .bind(&sub)
                        .execute(&mut *c)
                        .await?;
                    }
                }
                Ok(Some(Recorded { state, paused }))
            })
        })
        .await
    }
}

impl Store {
    /// Deletes up to `limit` settled deliveries (delivered or dead) last
    /// changed before `before_ms`, with their attempts; returns how many.
    pub async fn prune_webhook_deliveries(&self, before_ms: i64, limit: i64) -> Result<u64> {
        self.write(move |c| {
            Box::pin(async move {
                // Attempts go with their delivery (ON DELETE CASCADE).
                let n = sqlx::query(
                    "DELETE FROM webhook_deliveries WHERE id IN (
                        SELECT id FROM webhook_deliveries
                        WHERE state IN ('delivered', 'dead') AND updated_at < $1
                        ORDER BY updated_at LIMIT $2)
                      AND state IN ('delivered', 'dead')",
                )
                .bind(before_ms)
                .bind(limit)
                .execute(&mut *c)
                .await?
                .rows_affected();
                Ok(n)
            })
        })
        .await
    }
}

async fn delivery_in(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    sub: &str,
    id: &str,
) -> Result<WebhookDelivery> {
    let r = sqlx::query(concat!(
        "SELECT ",
        delivery_cols!(),
        " FROM webhook_deliveries WHERE id = $1 AND subscription_id = $2 AND workspace_id = $3"
    ))
    .bind(id)
    .bind(sub)
    .bind(ws)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref()
        .map(delivery_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_checked_and_ordered() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_event_types(&s(&[
                "contact_created",
                "message_created",
                "message_created"
            ]))
            .unwrap(),
            s(&["message_created", "contact_created"])
        );
        assert_eq!(check_event_types(&s(&["*"])).unwrap(), s(&["*"]));
        assert!(check_event_types(&[]).is_err());
        assert!(check_event_types(&s(&["*", "message_created"])).is_err());
        assert!(check_event_types(&s(&["message.created"])).is_err());
        assert!(wants(&s(&["*"]), "anything"));
        assert!(!wants(&s(&["message_created"]), "contact_created"));
    }

    #[test]
    fn keys_do_not_leak_through_debug() {
        let k = SigningKeys {
            current: "whsec_abc".into(),
            previous: Some("whsec_old".into()),
        };
        let d = format!("{k:?}");
        assert!(!d.contains("abc") && !d.contains("old"), "{d}");
    }
}
