//! E-mail endpoints: replies coming back from a mail relay, transcripts on
//! request, and whether e-mail is on (docs/email.md).

use crate::{
    app::SharedState,
    auth::{
        Auth, Principal, Scope, Scoped, need,
        principal::{authenticate, bearer},
        tokens::sha256_hex,
    },
    conversations::{SendRequest, visible_conversation},
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
    mail::{
        inbound::{InboundJson, parse_json, parse_raw},
        quote, reply_token,
    },
};
use axum::{
    extract::{FromRequest, Request, State},
    http::{HeaderMap, StatusCode, header},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use kefu_core::Message;
use kefu_core::{ConversationId, MessageKind, WorkspaceId};
use kefu_store::{NewMail, now_ms};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn mail_disabled() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "mail_disabled",
        "e-mail is off on this server: an operator sets [mail] in the configuration (docs/email.md)",
    )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MailStatus {
    /// Whether `[mail]` is configured.
    pub enabled: bool,
}

/// Whether this server sends e-mail (the console says so when it does not).
#[utoipa::path(get, operation_id = "mail_status", path = "/api/v1/mail/status", tag = "mail", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = MailStatus), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn status(
    State(state): State<SharedState>,
    Scoped(_who, ..): Scoped<need::SettingsRead>,
) -> ApiJson<MailStatus> {
    ApiJson(MailStatus {
        enabled: state.mail.enabled(),
    })
}

// ------------------------------------------------------------ transcripts

/// Queues a transcript of `conv` to its contact's e-mail, at most one per
/// `transcript_interval_secs` per conversation.
async fn queue_transcript(
    state: &SharedState,
    ws: &WorkspaceId,
    conv_id: &ConversationId,
) -> ApiResult<()> {
    if !state.mail.enabled() {
        return Err(mail_disabled());
    }
    let conv = state.store.get_conversation(ws, conv_id).await?;
    let contact = state.store.get_contact(ws, &conv.contact_id).await?;
    let Some(email) = contact.email.filter(|e| e.contains('@')) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_email",
            "the contact has not left an e-mail address",
        ));
    };
    let interval = i64::try_from(state.cfg.mail.transcript_interval_secs.saturating_mul(1000))
        .unwrap_or(i64::MAX);
    if let Some(t) = state
        .store
        .last_mail_queued_at(&conv.id, "transcript")
        .await?
    {
        let wait = t.saturating_add(interval) - now_ms();
        if wait > 0 {
            return Err(ApiError::rate_limited((wait as u64).div_ceil(1000)));
        }
    }
    crate::mail::enqueue(
        state,
        vec![NewMail {
            workspace_id: ws.clone(),
            kind: "transcript".into(),
            recipient: email,
            conversation_id: Some(conv.id.clone()),
            user_id: None,
            payload: serde_json::json!({}),
            batch_key: None,
            dedupe_key: None,
            due_at: now_ms(),
        }],
    )
    .await?;
    Ok(())
}

/// E-mail the conversation's transcript to its contact (agents).
#[utoipa::path(post, operation_id = "conversations_transcript", path = "/api/v1/conversations/{id}/transcript", tag = "mail", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, description = "Queued"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 409, description = "mail_disabled", body = ErrorBody), (status = 422, description = "no_email: the contact left no e-mail", body = ErrorBody),
        (status = 429, description = "A transcript was sent recently; see Retry-After", body = ErrorBody)))]
pub async fn transcript(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<StatusCode> {
    let conv = visible_conversation(&state, &who, &id).await?;
    queue_transcript(&state, who.workspace_id(), &conv.id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetTranscript {
    pub conversation_id: ConversationId,
}

/// E-mail me this conversation (visitors; to the e-mail they left).
#[utoipa::path(post, operation_id = "widget_transcript", path = "/api/v1/widget/transcript", tag = "widget", security(("bearer" = [])), request_body = WidgetTranscript,
    responses((status = 202, description = "Queued"), (status = 403, description = "Not a visitor token", body = ErrorBody), (status = 404, description = "Not found (or not theirs)", body = ErrorBody),
        (status = 409, description = "mail_disabled", body = ErrorBody), (status = 422, description = "no_email", body = ErrorBody), (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody)))]
pub async fn widget_transcript(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<WidgetTranscript>,
) -> ApiResult<StatusCode> {
    if !who.is_visitor() {
        return Err(ApiError::forbidden("this needs a visitor token"));
    }
    let conv = visible_conversation(&state, &who, &req.conversation_id).await?;
    queue_transcript(&state, who.workspace_id(), &conv.id).await?;
    Ok(StatusCode::ACCEPTED)
}

// ---------------------------------------------------------------- inbound

/// The relay, authenticated: an API key with `mail:inbound`, as a bearer
/// token or as the password of HTTP Basic auth (for relays whose webhook
/// URL carries credentials: `https://api:<key>@kefu.example.com/…`).
pub struct InboundRequest {
    pub workspace_id: WorkspaceId,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl FromRequest<SharedState> for InboundRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let headers = parts.headers;
        let key = bearer(&headers).map(str::to_string).or_else(|| {
            let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
            let b64 = v
                .strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))?;
            let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
            decoded.split_once(':').map(|(_, pw)| pw.to_string())
        });
        let Some(key) = key else {
            return Err(ApiError::unauthorized(
                "send an API key with the scope mail:inbound (Authorization: Bearer, or as the Basic auth password)",
            ));
        };
        let who = authenticate(state, &key).await?;
        let Principal::ApiKey { workspace_id, .. } = &who else {
            return Err(ApiError::forbidden(
                "inbound mail comes from an API key with mail:inbound",
            ));
        };
        who.require_scope(Scope::MailInbound)?;
        let workspace_id = workspace_id.clone();
        let max = state.cfg.mail.max_inbound_bytes;
        let body = axum::body::to_bytes(body, max).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("an inbound mail is at most {max} bytes (mail.max_inbound_bytes)"),
            )
        })?;
        Ok(InboundRequest {
            workspace_id,
            headers,
            body,
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboundResult {
    /// True for auto-replies, which are dropped.
    pub ignored: bool,
    pub conversation_id: Option<ConversationId>,
    pub message: Option<Message>,
    /// True when this mail was posted before (a relay retrying).
    pub duplicate: bool,
}

fn unprocessable(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg)
}

/// A visitor's e-mail reply: appended to the conversation its reply address
/// names, as the visitor's message (what a mail relay calls; docs/email.md).
#[utoipa::path(post, operation_id = "mail_inbound", path = "/api/v1/mail/inbound", tag = "mail", security(("bearer" = [])),
    request_body(content = InboundJson, description = "`message/rfc822` (the raw mail) or JSON (`raw`, or `from`, `to`, `text`/`html`, `in_reply_to`, `references`, `headers`)"),
    responses((status = 201, description = "Appended", body = InboundResult), (status = 200, description = "An auto-reply (ignored) or a repeat", body = InboundResult),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody), (status = 403, description = "missing_scope (mail:inbound)", body = ErrorBody),
        (status = 404, description = "conversation_not_found: no valid reply token, or another workspace's", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody), (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 422, description = "bad_mail, sender_mismatch, empty_reply", body = ErrorBody)))]
pub async fn inbound(
    State(state): State<SharedState>,
    req: InboundRequest,
) -> ApiResult<(StatusCode, ApiJson<InboundResult>)> {
    let ctype = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mail = match ctype.as_str() {
        "message/rfc822" | "text/plain" => parse_raw(&req.body),
        "application/json" => {
            let j: InboundJson = serde_json::from_slice(&req.body)
                .map_err(|e| ApiError::bad_request("bad_json", e.to_string()))?;
            parse_json(j)
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send message/rfc822 (the raw mail) or application/json",
            ));
        }
    }
    .ok_or_else(|| {
        unprocessable(
            "bad_mail",
            "this is not a mail kefu can read (no sender or no text)",
        )
    })?;
    if mail.automatic {
        return Ok((
            StatusCode::OK,
            ApiJson(InboundResult {
                ignored: true,
                conversation_id: None,
                message: None,
                duplicate: false,
            }),
        ));
    }
    let key = state.mail.reply_key();
    let candidates = reply_token::find(key, &mail.recipients)
        .into_iter()
        .chain(reply_token::find(key, &mail.thread));
    let mut conv = None;
    for id in candidates {
        if let Ok(c) = state.store.get_conversation(&req.workspace_id, &id).await {
            conv = Some(c);
            break;
        }
    }
    let Some(conv) = conv else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "conversation_not_found",
            "no reply address or Message-ID of this workspace's mails was found in the mail",
        ));
    };
    let contact = state
        .store
        .get_contact(&req.workspace_id, &conv.contact_id)
        .await?;
    let known = contact.email.as_deref().map(|e| e.trim().to_lowercase());
    if known.as_deref() != Some(mail.from.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "sender_mismatch",
            "the mail does not come from the address the visitor left",
        ));
    }
    let text = quote::strip(&mail.text);
    if text.is_empty() {
        return Err(unprocessable(
            "empty_reply",
            "the mail holds nothing above the quoted part",
        ));
    }
    let max = state.cfg.limits.max_message_chars;
    let text: String = text.chars().take(max).collect();
    let visitor = Principal::Visitor {
        contact_id: contact.id.clone(),
        workspace_id: req.workspace_id.clone(),
        inbox_id: conv.inbox_id.clone(),
    };
    // A relay retrying posts the same Message-ID: stored once.
    let seed = if mail.message_id.is_empty() {
        format!("{}\n{}", mail.from, mail.text)
    } else {
        mail.message_id.clone()
    };
    let appended = crate::conversations::send(
        &state,
        &visitor,
        SendRequest {
            client_msg_id: Some(format!("mail-{}", &sha256_hex(&seed)[..40])),
            conversation_id: Some(conv.id.clone()),
            kind: MessageKind::Text,
            content: text,
            attachment_id: None,
        },
    )
    .await?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        ApiJson(InboundResult {
            ignored: false,
            conversation_id: Some(conv.id),
            duplicate: appended.duplicate,
            message: Some(appended.message),
        }),
    ))
}
