//! Incoming business events: a company's systems tell kefu what happened to
//! a customer (`POST /api/v1/events`), agents and integrations read them
//! back per contact, and admins manage the secret signed requests use.
//! Handlers parse and call `contacts::record_event`; docs/integrations.md
//! ("Incoming events") is the guide.

use super::{Page, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{
        Admin, Scope, Scoped, need,
        principal::{authenticate, bearer},
        signature::{self, Refused, Signed},
    },
    contacts::{EventSource, IncomingEvent, record_event},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{
    extract::{FromRequest, Request, State},
    http::{HeaderMap, StatusCode},
};
use bytes::Bytes;
use kefu_core::event::BusinessEvent;
use kefu_core::{ContactId, ConversationId, WorkspaceId};
use kefu_store::{ContactRef, InboundSecretInfo};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Which contact the event is about. At least one; looked up in the order
/// `id`, `external_id`, `email`, and the first that names a contact wins.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventContact {
    /// The company's own id for the customer (the contact's `external_id`).
    pub external_id: Option<String>,
    /// Compared ignoring case; among several contacts with it, the one seen most recently.
    pub email: Option<String>,
    /// kefu's contact id.
    pub id: Option<String>,
}

/// When it happened: epoch milliseconds, or an RFC 3339 time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventTime {
    Millis(i64),
    Text(String),
}

/// A business event, as a company's system sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    pub contact: EventContact,
    /// `[a-z0-9_.-]{1,64}`, e.g. `order.refunded`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// One line for people, e.g. "Order 6610 refunded" (at most `events.max_title_chars`).
    pub title: String,
    /// Any JSON object (at most `events.max_data_bytes` as JSON); default `{}`.
    #[schema(value_type = Object)]
    #[serde(default = "empty_object")]
    pub data: serde_json::Value,
    /// Default: now.
    #[schema(value_type = Option<EventTime>)]
    pub occurred_at: Option<serde_json::Value>,
    /// Idempotency key: a retry with the same one is stored once (also
    /// accepted as the `Idempotency-Key` header; a signed request without
    /// either uses its `webhook-id`).
    pub id: Option<String>,
    /// Merged into the contact's attributes (a `null` value removes a key),
    /// which routing rules read as `customer.<name>`.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub set_attributes: serde_json::Map<String, serde_json::Value>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordedOut {
    pub event: BusinessEvent,
    /// True when the idempotency key was seen before and nothing new was stored.
    pub duplicate: bool,
    /// The conversations that show the event's line (the contact's active one).
    pub conversation_ids: Vec<ConversationId>,
}

/// Query of `POST /api/v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// For signed requests: the workspace whose secret signed it (ignored with an API key).
    pub workspace_id: Option<WorkspaceId>,
}

/// The sender of an incoming event and its body, authenticated: an API key
/// with `events:write` (checked before the body is read), or a signature
/// over the body with the workspace's inbound secret.
pub struct Inbound {
    pub workspace_id: WorkspaceId,
    pub source: EventSource,
    pub body: Bytes,
    /// A signed request's `webhook-id`.
    pub webhook_id: Option<String>,
    pub headers: HeaderMap,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn bad_signature(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", msg)
}

impl FromRequest<SharedState> for Inbound {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let headers = parts.headers;
        let max = state.cfg.events.max_body_bytes;
        let read = |body: axum::body::Body| async move {
            axum::body::to_bytes(body, max).await.map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("an event's body is at most {max} bytes"),
                )
            })
        };
        if let Some(token) = bearer(&headers) {
            let who = authenticate(state, token).await?;
            let crate::auth::Principal::ApiKey {
                key_id,
                workspace_id,
                ..
            } = &who
            else {
                return Err(ApiError::forbidden(
                    "events come from an API key with events:write or a signed request",
                ));
            };
            who.require_scope(Scope::EventsWrite)?;
            let (key_id, workspace_id) = (key_id.clone(), workspace_id.clone());
            let body = read(body).await?;
            return Ok(Inbound {
                workspace_id,
                source: EventSource::ApiKey(key_id),
                body,
                webhook_id: None,
                headers,
            });
        }
        let Some(sig) = header(&headers, signature::SIGNATURE_HEADER) else {
            return Err(ApiError::unauthorized(
                "send Authorization: Bearer <API key>, or sign the request (webhook-id, webhook-timestamp, webhook-signature)",
            ));
        };
        let (Some(id), Some(ts)) = (
            header(&headers, signature::ID_HEADER),
            header(&headers, signature::TIMESTAMP_HEADER),
        ) else {
            return Err(bad_signature(
                "a signed request needs webhook-id and webhook-timestamp too",
            ));
        };
        let axum::extract::Query(q) = axum::extract::Query::<EventsQuery>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
        let Some(workspace_id) = q.workspace_id.filter(|w| !w.is_empty()) else {
            return Err(ApiError::bad_request(
                "missing_workspace",
                "a signed request names its workspace: POST /api/v1/events?workspace_id=<id>",
            ));
        };
        let body = read(body).await?;
        let now = kefu_store::now_ms();
        // An unknown workspace and one without a secret answer like a bad
        // signature: a stranger learns nothing about which workspaces exist.
        let keys = state.store.inbound_keys(&workspace_id, now).await?;
        let secrets: Vec<&str> = keys
            .iter()
            .flat_map(|k| std::iter::once(k.current.as_str()).chain(k.previous.as_deref()))
            .collect();
        let signed = Signed {
            id,
            timestamp: ts,
            signature: sig,
        };
        let tolerance = i64::try_from(state.cfg.events.signature_tolerance_secs).unwrap_or(300);
        match signature::verify(&secrets, signed, &body, now / 1000, tolerance) {
            Ok(()) => {}
            Err(Refused::Stale) => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "stale_signature",
                    format!("webhook-timestamp must be within {tolerance} seconds of now"),
                ));
            }
            Err(Refused::BadSignature) => {
                return Err(bad_signature(
                    "the signature does not verify with the workspace's inbound secret",
                ));
            }
        }
        Ok(Inbound {
            workspace_id,
            source: EventSource::Signed,
            body,
            webhook_id: Some(id.to_string()),
            headers,
        })
    }
}

/// The body as JSON: the answers `ApiJson` gives (415, 400 `bad_json`,
/// 422 `validation`), for a body read and checked by [`Inbound`].
fn parse_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<EventBody> {
    if !crate::input::json_content_type(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ));
    }
    let axum::Json(v) = axum::Json::<EventBody>::from_bytes(body)?;
    if kefu_core::text::json_has_nul(body) {
        return Err(ApiError::validation(kefu_core::text::NUL_REFUSED));
    }
    Ok(v)
}

/// Epoch ms from either form of [`EventTime`]; `None`: not a time.
fn parse_time(t: &serde_json::Value) -> Option<i64> {
    match t {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s
            .trim()
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|ts| ts.as_millisecond()),
        _ => None,
    }
}

/// Record a business event on a contact ("order 6610 refunded"). It shows in
/// the console's contact panel and as a private line in the contact's
/// active conversation, is emitted as `contact_event_recorded`, and routing
/// rules see it (`customer.recent_events`, and attributes it sets).
#[utoipa::path(post, operation_id = "events_record", path = "/api/v1/events", tag = "events",
    security(("bearer" = []), ()), params(EventsQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Idempotency key, when the body has no `id`"),
        ("webhook-id" = Option<String>, Header, description = "Signed requests: the message id (also the idempotency key when none is given)"),
        ("webhook-timestamp" = Option<String>, Header, description = "Signed requests: unix seconds, within `events.signature_tolerance_secs` of now"),
        ("webhook-signature" = Option<String>, Header, description = "Signed requests: `v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` with the workspace's inbound secret")),
    request_body = EventBody,
    responses((status = 201, description = "Recorded", body = RecordedOut), (status = 200, description = "A retry of a recorded event (same idempotency key): nothing new stored", body = RecordedOut),
        (status = 400, description = "bad_json, missing_workspace (signed without ?workspace_id=)", body = ErrorBody),
        (status = 401, description = "unauthorized (no or bad credentials), bad_signature, stale_signature", body = ErrorBody),
        (status = 403, description = "missing_scope (an API key without events:write), forbidden (not an API key)", body = ErrorBody),
        (status = 404, description = "contact_not_found", body = ErrorBody),
        (status = 413, description = "payload_too_large (above events.max_body_bytes)", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 422, description = "validation, bad_contact, bad_event_type, bad_title, bad_data, data_too_large, bad_time, bad_attributes, bad_idempotency_key", body = ErrorBody)))]
pub async fn record(
    State(state): State<SharedState>,
    inbound: Inbound,
) -> ApiResult<(StatusCode, ApiJson<RecordedOut>)> {
    let body = parse_body(&inbound.headers, &inbound.body)?;
    let occurred_at = match body.occurred_at {
        None => kefu_store::now_ms(),
        Some(t) => parse_time(&t).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_time",
                "occurred_at must be epoch milliseconds or an RFC 3339 time (2026-01-31T09:30:00+08:00)",
            )
        })?,
    };
    let idempotency_key = body
        .id
        .or_else(|| header(&inbound.headers, "idempotency-key").map(str::to_string))
        .or(inbound.webhook_id);
    let r = record_event(
        &state,
        &inbound.workspace_id,
        inbound.source,
        IncomingEvent {
            contact: ContactRef {
                id: body.contact.id,
                external_id: body.contact.external_id,
                email: body.contact.email.map(|e| e.trim().to_string()),
            },
            event_type: body.event_type,
            title: body.title,
            data: body.data,
            occurred_at,
            idempotency_key,
            set_attributes: body.set_attributes,
        },
    )
    .await?;
    let status = if r.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        ApiJson(RecordedOut {
            event: r.event,
            duplicate: r.duplicate,
            conversation_ids: r.conversation_ids,
        }),
    ))
}

/// A contact's business events, newest first.
#[utoipa::path(get, operation_id = "contacts_events", path = "/api/v1/contacts/{id}/events", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path), super::PageQuery),
    responses((status = 200, description = "Success", body = Page<BusinessEvent>), (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 403, description = "Not allowed for this principal (missing_scope: contacts:read)", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn contact_events(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsRead>,
    ApiPath(id): ApiPath<ContactId>,
    ApiQuery(q): ApiQuery<super::PageQuery>,
) -> ApiResult<ApiJson<Page<BusinessEvent>>> {
    let limit = page_limit(q.limit)?;
    // 404 for a contact of another workspace, like every other lookup.
    state
        .store
        .get_contact(who.workspace_id(), &id)
        .await
        .map_err(|e| ApiError::from_store(e, "contact"))?;
    let rows = state
        .store
        .list_contact_events(
            who.workspace_id(),
            &id,
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |e| e.id.clone())))
}

/// The inbound signing secret as admins see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SigningSecretOut {
    /// `null`: there is none yet; only API keys can send events.
    pub secret: Option<InboundSecretInfo>,
}

/// A new signing secret, shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewSigningSecret {
    /// `whsec_…`: give it to the sending system; kefu shows it only now.
    pub secret: String,
    pub info: InboundSecretInfo,
}

/// Whether the workspace has an inbound signing secret (never the secret).
#[utoipa::path(get, operation_id = "events_signing_secret", path = "/api/v1/events/signing-secret", tag = "events", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = SigningSecretOut), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn signing_secret(
    State(state): State<SharedState>,
    Admin(who): Admin,
) -> ApiResult<ApiJson<SigningSecretOut>> {
    Ok(ApiJson(SigningSecretOut {
        secret: state.store.inbound_secret_info(who.workspace_id()).await?,
    }))
}

/// Create the workspace's inbound signing secret, or rotate it: the
/// previous one keeps verifying for `events.secret_grace_secs` (24 h).
#[utoipa::path(post, operation_id = "events_rotate_signing_secret", path = "/api/v1/events/signing-secret", tag = "events", security(("bearer" = [])),
    responses((status = 201, description = "Created; the secret is shown this once", body = NewSigningSecret), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn rotate_signing_secret(
    State(state): State<SharedState>,
    Admin(who): Admin,
) -> ApiResult<(StatusCode, ApiJson<NewSigningSecret>)> {
    let secret = signature::new_secret();
    let prefix: String = secret
        .chars()
        .take(signature::SECRET_PREFIX.len() + 4)
        .collect();
    let grace =
        i64::try_from(state.cfg.events.secret_grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let info = state
        .store
        .rotate_inbound_secret(who.workspace_id(), &secret, &prefix, grace)
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(NewSigningSecret { secret, info }),
    ))
}
