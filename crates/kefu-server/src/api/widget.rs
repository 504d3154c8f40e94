//! What the visitor widget calls: start or resume a visitor session.

use super::{Page, conversations::SendResult};
use crate::conversations::SendRequest;
use crate::{
    app::{ClientIp, SharedState},
    auth::{Auth, Principal},
    error::{ApiError, ApiJson, ApiQuery, ApiResult, ErrorBody},
};
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use kefu_core::MessageKind;
use kefu_core::{ContactId, ConversationId};
use kefu_store::{
    Contact, Conversation, ConversationFilter, Inbox, StoreError, VisitInfo, WidgetSettings,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The inbox's public key from the widget snippet.
    pub inbox_key: String,
    /// A token from an earlier session, to resume the same visitor.
    pub visitor_token: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub language: Option<String>,
}

/// What the widget shows about its inbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WidgetInbox {
    pub display_name: String,
    pub welcome_text: String,
    /// Color, position, pre-chat form, business hours, offline behaviour.
    pub widget: WidgetSettings,
    /// An agent is online and it is within business hours. When false the
    /// widget offers its offline form (or says replies may take a while).
    pub available: bool,
    /// The inbox's bot answers (its name; `None`: no bot). A bot answers
    /// whether or not an agent is online, so the widget offers the chat.
    pub bot: Option<WidgetBot>,
    /// The workspace's attribute definitions whose key is a pre-chat field's
    /// key: the form asks for such a field under the definition's label and
    /// with an input of its type (a number, a date, a yes/no), so the answer
    /// is stored as the agents' contact panel shows and edits it.
    #[serde(default)]
    pub attributes: Vec<kefu_store::AttributeDefinition>,
}

/// The inbox's bot as the widget shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WidgetBot {
    /// Empty: the widget's own word for it ("Assistant" / "智能助手").
    pub name: String,
}

/// Limits the widget checks before sending, to fail early and clearly.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WidgetLimits {
    pub max_message_chars: usize,
    pub max_upload_bytes: usize,
}

/// What the visitor has told about themselves so far.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VisitorProfile {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    /// Bearer token for this visitor (REST and WebSocket); keep it to resume.
    pub visitor_token: String,
    pub contact_id: ContactId,
    /// True when an earlier visitor was resumed.
    pub resumed: bool,
    pub inbox: WidgetInbox,
    pub limits: WidgetLimits,
    pub visitor: VisitorProfile,
    /// Whether the server sends e-mail (the widget then offers "email me
    /// this conversation").
    pub mail: bool,
}

/// The `Origin` of a request, for the embedding check: `None` when there is
/// none (apps, servers) or when the page is kefu's own (its host is the
/// request's `Host`: the standalone chat page and /demo). A browser cannot
/// forge `Origin`, so another site cannot pass for kefu's own.
pub fn page_origin(headers: &HeaderMap) -> Option<&str> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, h)| h.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => None,
        _ => Some(origin),
    }
}

/// Whether a page at `origin` may embed this inbox's widget. Requests without
/// an Origin header (apps, servers) are not browsers embedding the widget.
pub fn origin_allowed(inbox: &Inbox, origin: Option<&str>) -> bool {
    match origin {
        _ if inbox.allowed_origins.is_empty() => true,
        None => true,
        Some(o) => inbox.allowed_origins.iter().any(|a| {
            a.trim_end_matches('/')
                .eq_ignore_ascii_case(o.trim_end_matches('/'))
        }),
    }
}

fn clip(v: Option<String>, max: usize) -> Option<String> {
    v.map(|s| s.chars().take(max).collect::<String>())
        .filter(|s| !s.is_empty())
}

/// Start (or resume) a visitor session for the widget.
#[utoipa::path(post, operation_id = "widget_session", path = "/api/v1/widget/session", tag = "widget", request_body = SessionRequest,
    responses((status = 200, description = "Success", body = SessionResponse), (status = 403, body = ErrorBody, description = "origin_not_allowed, contact_blocked (the visitor's contact is blocked) or ip_blocked (their address is)"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn session(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SessionRequest>,
) -> ApiResult<ApiJson<SessionResponse>> {
    // One spelling per address (an IPv4 client of a dual-stack listener is
    // `::ffff:a.b.c.d`), as blocked addresses are written.
    let ip = ip.to_canonical();
    crate::chat::check_rate(&state.limiters.widget_sessions, &ip.to_string())
        .map_err(ApiError::rate_limited)?;
    let inbox = state
        .store
        .find_inbox_by_key(req.inbox_key.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("inbox"))?;
    if !origin_allowed(&inbox, page_origin(&headers)) {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this site may not embed the chat",
        ));
    }
    let visit = VisitInfo {
        page_url: clip(req.page_url, 2048),
        referrer: clip(req.referrer, 2048),
        language: clip(req.language, 35),
        user_agent: clip(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            512,
        ),
        ip: Some(ip.to_string()),
    };
    let previous = req
        .visitor_token
        .as_deref()
        .and_then(|t| state.keys.check_visitor(t).ok())
        .filter(|c| c.inbox == inbox.id && c.ws == inbox.workspace_id);
    // A visitor whose contact was merged continues as the merged contact.
    let previous = match previous {
        Some(c) => match state
            .store
            .resolve_contact(&inbox.workspace_id, &c.sub)
            .await
        {
            Ok(k) => Some(k),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    if previous.as_ref().is_some_and(|k| k.blocked_at.is_some()) {
        return Err(StoreError::ContactBlocked.into());
    }
    if state
        .store
        .ip_blocked(&inbox.workspace_id, &ip.to_string())
        .await?
    {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "ip_blocked",
            "this chat is not available from your network",
        ));
    }
    let (contact, resumed) = match previous {
        Some(k) => match state
            .store
            .touch_contact(&inbox.workspace_id, &k.id, visit.clone())
            .await
        {
            Ok(contact) => (contact, true),
            Err(StoreError::NotFound) => (new_contact(&state, &inbox, visit).await?, false),
            Err(e) => return Err(e.into()),
        },
        None => (new_contact(&state, &inbox, visit).await?, false),
    };
    let visitor_token = state.keys.visitor(
        &contact.id,
        &inbox.workspace_id,
        &inbox.id,
        state.cfg.auth.visitor_ttl_secs,
    );
    let open = match &inbox.widget.business_hours {
        None => true,
        Some(bh) => {
            let ws = state.store.get_workspace(&inbox.workspace_id).await?;
            crate::routing::hours_open(bh, &ws, kefu_store::now_ms())
        }
    };
    let available = open && state.store.any_agent_online(&inbox.workspace_id).await?;
    let prechat = &inbox.widget.prechat;
    let attributes = if prechat.enabled && !prechat.fields.is_empty() {
        let mut defs = state
            .store
            .list_attribute_definitions(&inbox.workspace_id)
            .await?;
        defs.retain(|d| prechat.fields.iter().any(|f| f.key == d.key));
        defs
    } else {
        Vec::new()
    };
    let l = &state.cfg.limits;
    Ok(ApiJson(SessionResponse {
        visitor_token,
        contact_id: contact.id,
        resumed,
        inbox: WidgetInbox {
            display_name: inbox.display_name,
            welcome_text: inbox.welcome_text,
            bot: inbox.bot.enabled.then(|| WidgetBot {
                name: inbox.bot.name.clone(),
            }),
            widget: inbox.widget,
            available,
            attributes,
        },
        limits: WidgetLimits {
            max_message_chars: l.max_message_chars,
            max_upload_bytes: l.max_upload_bytes,
        },
        visitor: VisitorProfile {
            name: contact.name,
            email: contact.email,
        },
        mail: state.mail.enabled(),
    }))
}

/// The visitor's own conversations, newest first.
/// Query of the visitor's conversation list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyConversationsQuery {
    /// Cursor from the previous page's `next_cursor`.
    #[param(value_type = Option<String>)]
    pub cursor: Option<super::cursor::ActivityCursor>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

/// The visitor's conversations, most recent activity first.
#[utoipa::path(get, operation_id = "widget_my_conversations", path = "/api/v1/widget/conversations", tag = "widget", security(("bearer" = [])), params(MyConversationsQuery),
    responses((status = 200, description = "Success", body = Page<Conversation>), (status = 400, description = "Malformed request", body = ErrorBody), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn my_conversations(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<MyConversationsQuery>,
) -> ApiResult<ApiJson<Page<Conversation>>> {
    let Principal::Visitor {
        contact_id,
        workspace_id,
        ..
    } = &who
    else {
        return Err(ApiError::forbidden("this needs a visitor token"));
    };
    let limit = super::page_limit(q.limit)?;
    let filter = ConversationFilter {
        contact_id: Some(contact_id.clone()),
        ..Default::default()
    };
    let cursor = q.cursor.map(|c| c.0);
    let rows = state
        .store
        .list_conversations(workspace_id, &filter, cursor.as_ref(), limit + 1)
        .await?;
    let page = super::page_of(rows, limit, |c| {
        kefu_store::ActivityCursor {
            key: c.last_activity_at,
            id: c.id.clone(),
        }
        .encode()
    });
    Ok(ApiJson(Page {
        items: page
            .items
            .into_iter()
            .map(Conversation::for_visitor)
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorSend {
    /// Idempotency key: a retry with the same key is stored once and answered the same.
    pub client_msg_id: Option<String>,
    /// Omit for the visitor's active conversation (opened by the first message).
    pub conversation_id: Option<ConversationId>,
    #[serde(default = "text_kind")]
    pub kind: MessageKind,
    #[serde(default)]
    pub content: String,
    pub attachment_id: Option<String>,
}

fn text_kind() -> MessageKind {
    MessageKind::Text
}

/// Send as the visitor over HTTP (the fallback when WebSocket is blocked);
/// like the WebSocket `send`, the first message opens a conversation.
#[utoipa::path(post, operation_id = "widget_send", path = "/api/v1/widget/messages", tag = "widget", security(("bearer" = [])), request_body = VisitorSend,
    responses((status = 201, description = "Stored", body = SendResult), (status = 200, description = "Duplicate of an earlier send", body = SendResult),
        (status = 403, description = "Not a visitor token", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 409, description = "Conflict with the current state", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody)))]
pub async fn send(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<VisitorSend>,
) -> ApiResult<(StatusCode, ApiJson<SendResult>)> {
    if !who.is_visitor() {
        return Err(ApiError::forbidden(
            "this needs a visitor token; agents post to /api/v1/conversations/{id}/messages",
        ));
    }
    let r = crate::conversations::send(
        &state,
        &who,
        SendRequest {
            client_msg_id: req.client_msg_id,
            conversation_id: req.conversation_id,
            kind: req.kind,
            content: req.content,
            attachment_id: req.attachment_id,
        },
    )
    .await?;
    Ok(SendResult::reply(r))
}

/// What a visitor tells about themselves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifyRequest {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Merged into the contact's attributes; a `null` value removes a key.
    /// Values are strings, numbers or booleans.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A visitor tells who they are (the pre-chat form, or the page calling
/// `kefu('identify', {...})`). Not verified: agents see it as the visitor's
/// own claim.
#[utoipa::path(post, operation_id = "widget_identify", path = "/api/v1/widget/identify", tag = "widget", security(("bearer" = [])), request_body = IdentifyRequest,
    responses((status = 200, description = "The updated contact", body = Contact), (status = 403, description = "Not a visitor token, or origin not allowed", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn identify(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<IdentifyRequest>,
) -> ApiResult<ApiJson<Contact>> {
    let Principal::Visitor {
        contact_id,
        workspace_id,
        ..
    } = &who
    else {
        return Err(ApiError::forbidden("this needs a visitor token"));
    };
    let l = &state.cfg.limits;
    let max_chars = l.max_attribute_chars;
    let name = req
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if let Some(n) = &name
        && (n.chars().count() > max_chars || n.chars().any(char::is_control))
    {
        return Err(ApiError::validation(format!(
            "name must be at most {max_chars} characters, without control characters"
        )));
    }
    let email = req
        .email
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    if let Some(e) = &email {
        let ok = e.len() <= 254
            && !e.contains(|c: char| c.is_whitespace() || c.is_control())
            && matches!(e.split_once('@'), Some((user, host)) if !user.is_empty() && host.contains('.') && !host.contains('@'));
        if !ok {
            return Err(ApiError::validation(format!(
                "{e:?} is not an email address"
            )));
        }
    }
    let current = state.store.get_contact(workspace_id, contact_id).await?;
    crate::contacts::check_attributes(l, &current.attributes, &req.attributes)
        .map_err(ApiError::validation)?;
    let (contact, events) = state
        .store
        .identify_contact(workspace_id, contact_id, name, email, req.attributes)
        .await
        .map_err(|e| ApiError::from_store(e, "contact"))?;
    crate::conversations::after_commit(&state, &events);
    Ok(ApiJson(contact))
}

/// A new anonymous visitor of `inbox` (a `contact_created` event).
async fn new_contact(
    state: &SharedState,
    inbox: &kefu_store::Inbox,
    visit: kefu_store::VisitInfo,
) -> ApiResult<kefu_store::Contact> {
    let (contact, events) = state
        .store
        .create_contact(&inbox.workspace_id, &inbox.id, visit)
        .await?;
    crate::conversations::after_commit(state, &events);
    Ok(contact)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentsQuery {
    /// Agent (user) ids from the senders of replies, comma-separated; at most 20.
    pub ids: String,
}

/// What a visitor sees of an agent who answered them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentCard {
    pub id: String,
    pub name: String,
    /// Relative to the server (`/api/v1/avatars/{key}`); none: initials.
    pub avatar_url: Option<String>,
}

/// Most ids one request of [`agents`] may ask for.
const MAX_AGENT_IDS: usize = 20;

/// The name and avatar of the agents who answered, for the widget to show
/// beside their replies. Empty unless the visitor's inbox shows agents
/// (`widget.show_agents`).
#[utoipa::path(get, operation_id = "widget_agents", path = "/api/v1/widget/agents", tag = "widget", security(("bearer" = [])), params(AgentsQuery),
    responses((status = 200, description = "Success", body = Vec<AgentCard>), (status = 403, description = "Not a visitor", body = ErrorBody), (status = 422, description = "Too many ids", body = ErrorBody)))]
pub async fn agents(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<AgentsQuery>,
) -> ApiResult<ApiJson<Vec<AgentCard>>> {
    let Principal::Visitor {
        workspace_id,
        inbox_id,
        ..
    } = &who
    else {
        return Err(ApiError::forbidden("this needs a visitor token"));
    };
    let ids: Vec<&str> = q
        .ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.len() > MAX_AGENT_IDS {
        return Err(ApiError::validation(format!(
            "at most {MAX_AGENT_IDS} ids at once"
        )));
    }
    let inbox = state
        .inboxes
        .get(&state.store, workspace_id, inbox_id)
        .await?;
    if !inbox.widget.show_agents {
        return Ok(ApiJson(Vec::new()));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match state
            .store
            .get_user(workspace_id, &kefu_core::UserId::from(id))
            .await
        {
            Ok(u) => out.push(AgentCard {
                id: u.id.to_string(),
                name: u.name,
                avatar_url: u.avatar_url,
            }),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ApiJson(out))
}

/// A visitor's thumbs on one of the bot's answers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotFeedback {
    /// The bot message rated.
    pub message_id: String,
    /// Thumbs up (`true`) or down (`false`). Down hands the conversation to
    /// a person while it is with the bot.
    pub helpful: bool,
}

/// Rate a bot answer (thumbs up or down); the last rating counts.
#[utoipa::path(post, operation_id = "widget_bot_feedback", path = "/api/v1/widget/bot-feedback", tag = "widget", security(("bearer" = [])), request_body = BotFeedback,
    responses((status = 204, description = "Recorded"), (status = 403, description = "Not a visitor", body = ErrorBody), (status = 404, description = "No such bot message in the visitor's conversations", body = ErrorBody)))]
pub async fn bot_feedback(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<BotFeedback>,
) -> ApiResult<StatusCode> {
    let Principal::Visitor {
        workspace_id,
        contact_id,
        ..
    } = &who
    else {
        return Err(ApiError::forbidden("this needs a visitor token"));
    };
    if req.message_id.is_empty() || req.message_id.len() > 64 {
        return Err(ApiError::not_found("message"));
    }
    let (st, ws, contact) = (state.clone(), workspace_id.clone(), contact_id.clone());
    crate::conversations::run(&state, async move {
        crate::bot::runner::feedback(&st, &ws, &contact, &req.message_id, req.helpful)
            .await
            .map_err(|e| ApiError::from_store(e, "message"))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
