//! Conversations and their messages.

use super::{Page, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Caller, Principal, Scoped, need},
    chat,
    conversations::{self as commands, SendRequest, visible_conversation},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::{ContactId, ConversationId, UserId};
use kefu_core::{ConversationStatus, Message, MessageKind};
use kefu_store::{
    ActivityCursor, AuditEntry, Conversation, ConversationFilter, ConversationPreview, ListSort,
    ViewCounts,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// One status or several, comma-separated (`open,queued`).
    pub status: Option<String>,
    pub inbox_id: Option<String>,
    /// A user id, `me`, or `none` for unassigned conversations.
    pub assignee: Option<String>,
    pub contact_id: Option<ContactId>,
    /// Routed through (or waiting in) this group.
    pub group: Option<String>,
    /// Carrying this tag (label).
    pub label: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<kefu_core::Priority>,
    /// `activity` (default: most recent first), `created` (newest first),
    /// `priority` (most urgent first) or `waiting` (longest-waiting customer first).
    #[param(inline)]
    pub sort: Option<ListSort>,
    /// Cursor from the previous page's `next_cursor` (of the same `sort`).
    #[param(value_type = Option<String>)]
    pub cursor: Option<super::cursor::ActivityCursor>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

/// The filters of a list query, for the counts of its views.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountQuery {
    pub status: Option<String>,
    pub inbox_id: Option<String>,
    pub group: Option<String>,
    pub label: Option<String>,
    pub priority: Option<kefu_core::Priority>,
}

/// A conversation with what a list shows about it: the contact, the newest
/// message and the caller's unread count.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConversationItem {
    #[serde(flatten)]
    pub conversation: Conversation,
    #[serde(flatten)]
    pub preview: ConversationPreview,
}

/// Adds previews (one query for the whole page).
async fn with_previews(
    state: &SharedState,
    who: &Principal,
    rows: Vec<Conversation>,
) -> ApiResult<Vec<ConversationItem>> {
    let ids: Vec<ConversationId> = rows.iter().map(|c| c.id.clone()).collect();
    let mut previews = state
        .store
        .conversation_previews(
            who.workspace_id(),
            &who.sender().id,
            &ids,
            !who.is_visitor(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let preview = previews.remove(&c.id).unwrap_or(ConversationPreview {
                contact_name: None,
                contact_email: None,
                last_message: None,
                unread: 0,
            });
            let mut preview = preview;
            // Visitors never see private notes, not even as an excerpt.
            if who.is_visitor()
                && preview
                    .last_message
                    .as_ref()
                    .is_some_and(|m| !m.kind.visible_to_visitor())
            {
                preview.last_message = None;
            }
            ConversationItem {
                conversation: c,
                preview,
            }
        })
        .collect())
}

/// Conversations by most recent activity, with filters.
#[utoipa::path(get, operation_id = "conversations_list", path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Success", body = Page<ConversationItem>), (status = 400, description = "Malformed request", body = ErrorBody), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Page<ConversationItem>>> {
    let limit = page_limit(q.limit)?;
    let mut filter = ConversationFilter {
        statuses: statuses(q.status.as_deref())?,
        inbox_id: q.inbox_id,
        contact_id: q.contact_id,
        group: q.group.filter(|g| !g.is_empty()),
        tag: q.label.filter(|l| !l.trim().is_empty()),
        priority: q.priority,
        ..Default::default()
    };
    let sort = q.sort.unwrap_or_default();
    match q.assignee.as_deref() {
        None => {}
        Some("none") => filter.unassigned = true,
        Some("me") => match &who {
            Principal::Agent { user_id, .. } => filter.assignee_id = Some(user_id.clone()),
            _ => return Err(ApiError::validation("assignee=me needs an agent token")),
        },
        Some(id) => filter.assignee_id = Some(id.into()),
    }
    let cursor = q.cursor.map(|c| c.0);
    let rows = state
        .store
        .list_conversations_by(
            who.workspace_id(),
            &filter,
            sort,
            cursor.as_ref(),
            limit + 1,
        )
        .await?;
    let page = page_of(rows, limit, |c| {
        ActivityCursor {
            key: sort.key(c),
            id: c.id.clone(),
        }
        .encode()
    });
    Ok(ApiJson(Page {
        items: with_previews(&state, &who, page.items).await?,
        next_cursor: page.next_cursor,
    }))
}

/// `open,queued`: the statuses of a list query.
pub(crate) fn statuses(s: Option<&str>) -> ApiResult<Vec<ConversationStatus>> {
    Ok(s.map(|s| {
        s.split(',')
            .map(|one| one.trim().parse::<ConversationStatus>())
            .collect::<Result<Vec<_>, _>>()
    })
    .transpose()
    .map_err(|e| ApiError::bad_request("bad_query", e.to_string()))?
    .unwrap_or_default())
}

/// How many conversations the list's filters find in each view (mine,
/// unassigned, all): the counts on the inbox's tabs.
#[utoipa::path(get, operation_id = "conversations_counts", path = "/api/v1/conversations/counts", tag = "conversations", security(("bearer" = [])), params(CountQuery),
    responses((status = 200, description = "Success", body = ViewCounts), (status = 400, description = "Malformed request", body = ErrorBody), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn counts(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiQuery(q): ApiQuery<CountQuery>,
) -> ApiResult<ApiJson<ViewCounts>> {
    who.require_staff()?;
    let filter = ConversationFilter {
        statuses: statuses(q.status.as_deref())?,
        inbox_id: q.inbox_id,
        group: q.group.filter(|g| !g.is_empty()),
        tag: q.label.filter(|l| !l.trim().is_empty()),
        priority: q.priority,
        ..Default::default()
    };
    let me = match &who {
        Principal::Agent { user_id, .. } => Some(user_id),
        _ => None,
    };
    Ok(ApiJson(
        state
            .store
            .count_conversations(who.workspace_id(), &filter, me)
            .await?,
    ))
}

#[utoipa::path(get, operation_id = "conversations_get_one", path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = ConversationItem), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::ConversationsRead>,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<ApiJson<ConversationItem>> {
    let mut conv = visible_conversation(&state, &who, &id).await?;
    if who.is_visitor() {
        conv = conv.for_visitor();
    }
    let mut items = with_previews(&state, &who, vec![conv]).await?;
    items.pop().map(ApiJson).ok_or_else(ApiError::internal)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: ConversationStatus,
}

/// Move a conversation through its state machine: open, pending, resolved or
/// closed (`queued` and `bot` are routing's: transfer to a group instead).
#[utoipa::path(post, operation_id = "conversations_set_status", path = "/api/v1/conversations/{id}/status", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = StatusChange,
    responses((status = 200, description = "Success", body = Conversation), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 409, body = ErrorBody, description = "invalid_transition")))]
pub async fn set_status(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<StatusChange>,
) -> ApiResult<ApiJson<Conversation>> {
    Ok(ApiJson(
        commands::change_status(&state, &who, &id, req.status)
            .await?
            .after,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeInput {
    /// When it wakes by itself (epoch ms, in the future). To wait for the
    /// customer's reply instead, set the status to `pending`.
    pub until: i64,
}

/// Put a conversation aside until a time: it waits as `pending` and wakes
/// (`open`, a `conversation_status_changed` event by `snooze`) by itself
/// then, or earlier when the customer writes.
#[utoipa::path(post, operation_id = "conversations_snooze", path = "/api/v1/conversations/{id}/snooze", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = SnoozeInput,
    responses((status = 200, description = "Snoozed", body = Conversation), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, body = ErrorBody, description = "A time in the past, or a conversation that is not open or pending")))]
pub async fn snooze(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<SnoozeInput>,
) -> ApiResult<ApiJson<Conversation>> {
    Ok(ApiJson(
        commands::snooze(&state, &who, &id, req.until).await?.after,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelsChange {
    /// `low`, `normal`, `high` or `urgent`; absent: unchanged.
    pub priority: Option<kefu_core::Priority>,
    /// The whole new set (at most 20, each 1 to 32 characters); absent: unchanged.
    pub tags: Option<Vec<String>>,
    /// Tags to add to the current set (after `tags`, if given). Prefer
    /// `add_tags`/`remove_tags` to `tags` when editing: they apply to the set
    /// as it is, so concurrent edits by rules and other agents are kept.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags to take away from the current set.
    #[serde(default)]
    pub remove_tags: Vec<String>,
}

/// Set a conversation's priority and/or tags (agents only). A conversation
/// waiting in a routing line moves to its new priority's place.
#[utoipa::path(patch, operation_id = "conversations_update", path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = LabelsChange,
    responses((status = 200, description = "Success", body = Conversation), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<LabelsChange>,
) -> ApiResult<ApiJson<Conversation>> {
    Ok(ApiJson(
        commands::set_labels(
            &state,
            &who,
            &id,
            kefu_store::LabelEdit {
                priority: req.priority,
                tags: req.tags,
                add: req.add_tags,
                remove: req.remove_tags,
            },
        )
        .await?
        .after,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// An agent of the workspace, or null to unassign.
    pub assignee_id: Option<UserId>,
}

/// Assign a conversation to an agent (or unassign).
#[utoipa::path(post, operation_id = "conversations_assign", path = "/api/v1/conversations/{id}/assign", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = Assignment,
    responses((status = 200, description = "Success", body = Conversation), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn assign(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<Assignment>,
) -> ApiResult<ApiJson<Conversation>> {
    Ok(ApiJson(
        commands::assign(&state, &who, &id, req.assignee_id)
            .await?
            .after,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Cursor from the previous page's `next_cursor`.
    #[param(value_type = Option<String>)]
    pub cursor: Option<super::cursor::IdCursor>,
    pub limit: Option<i64>,
}

/// The audit trail: creation, status changes, assignments.
#[utoipa::path(get, operation_id = "conversations_events", path = "/api/v1/conversations/{id}/events", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path), EventQuery),
    responses((status = 200, description = "Success", body = Page<AuditEntry>), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn events(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<ApiJson<Page<AuditEntry>>> {
    let conv = visible_conversation(&state, &who, &id).await?;
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .list_events(
            &conv.workspace_id,
            &conv.id,
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |e| e.id.clone())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Messages with a greater `seq` (resume / read forward). Default 0.
    pub after_seq: Option<i64>,
    /// Messages with a smaller `seq` (scroll back). Exclusive with `after_seq`.
    pub before_seq: Option<i64>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    /// Oldest first.
    pub items: Vec<Message>,
    /// Whether more messages exist in the requested direction.
    pub has_more: bool,
}

/// Messages by `seq`. Visitors never see private notes.
#[utoipa::path(get, operation_id = "conversations_list_messages", path = "/api/v1/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path), MessageQuery),
    responses((status = 200, description = "Success", body = MessagePage), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn list_messages(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::ConversationsRead>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<ApiJson<MessagePage>> {
    let conv = visible_conversation(&state, &who, &id).await?;
    let limit = page_limit(q.limit)?;
    let notes = who.sees_notes();
    let mut items = match (q.after_seq, q.before_seq) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "give after_seq or before_seq, not both",
            ));
        }
        (_, Some(before)) => {
            state
                .store
                .list_messages_before(&conv.id, before, limit + 1, notes)
                .await?
        }
        (after, None) => {
            state
                .store
                .list_messages(&conv.id, after.unwrap_or(0).max(0), None, limit + 1, notes)
                .await?
        }
    };
    let has_more = items.len() as i64 > limit;
    if has_more {
        if q.before_seq.is_some() {
            items.remove(0);
        } else {
            items.truncate(limit as usize);
        }
    }
    Ok(ApiJson(MessagePage { items, has_more }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Idempotency key: a retry with the same key is stored once and answered the same.
    pub client_msg_id: Option<String>,
    #[serde(default = "text_kind")]
    pub kind: MessageKind,
    #[serde(default)]
    pub content: String,
    pub attachment_id: Option<String>,
}

fn text_kind() -> MessageKind {
    MessageKind::Text
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SendResult {
    pub message: Message,
    /// True when `client_msg_id` was seen before and nothing new was stored.
    pub duplicate: bool,
}

impl SendResult {
    /// 201 for a newly stored message, 200 for a resend of a stored one.
    pub fn reply(a: kefu_store::Appended) -> (StatusCode, ApiJson<SendResult>) {
        let status = if a.duplicate {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        (
            status,
            ApiJson(SendResult {
                message: a.message,
                duplicate: a.duplicate,
            }),
        )
    }
}

/// Take back one's own message shortly after sending it (agents;
/// `limits.message_delete_secs`, default 120). Everyone who saw it gets a
/// `message_deleted` frame; the audit keeps the text.
#[utoipa::path(delete, operation_id = "conversations_delete_message", path = "/api/v1/conversations/{id}/messages/{seq}", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path), ("seq" = i64, Path)),
    responses((status = 200, description = "Deleted: the message as it is now", body = kefu_core::Message), (status = 403, description = "Only agents delete their own messages", body = ErrorBody),
        (status = 404, description = "No such message of yours here", body = ErrorBody), (status = 409, description = "cannot_delete: too late, or deleted already; delete_disabled", body = ErrorBody)))]
pub async fn delete_message(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::MessagesWrite>,
    ApiPath((id, seq)): ApiPath<(ConversationId, i64)>,
) -> ApiResult<ApiJson<kefu_core::Message>> {
    Ok(ApiJson(
        commands::delete_message(&state, &who, &id, seq).await?,
    ))
}

/// Send a message (the HTTP alternative to the WebSocket `send` frame).
#[utoipa::path(post, operation_id = "conversations_send_message", path = "/api/v1/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = SendMessage,
    responses((status = 201, description = "Created", body = SendResult), (status = 200, body = SendResult, description = "Duplicate of an earlier send"),
        (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 409, description = "Conflict with the current state", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody), (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody)))]
pub async fn send_message(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::MessagesWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<SendMessage>,
) -> ApiResult<(StatusCode, ApiJson<SendResult>)> {
    let r = commands::send(
        &state,
        &who,
        SendRequest {
            client_msg_id: req.client_msg_id,
            conversation_id: Some(id),
            kind: req.kind,
            content: req.content,
            attachment_id: req.attachment_id,
        },
    )
    .await?;
    Ok(SendResult::reply(r))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadReceipt {
    /// Read up to and including this `seq`.
    pub seq: i64,
}

/// Record a read receipt.
#[utoipa::path(post, operation_id = "conversations_read", path = "/api/v1/conversations/{id}/read", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = ReadReceipt, responses((status = 204, description = "Recorded"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn read(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<ReadReceipt>,
) -> ApiResult<StatusCode> {
    commands::read(&state, &who, &id, req.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypingState {
    /// True while typing; send false when the writer stops or sends.
    pub on: bool,
}

/// Tell the other side you are typing (not stored). The HTTP twin of the
/// WebSocket `typing` frame, for clients on the SSE fallback.
#[utoipa::path(post, operation_id = "conversations_typing", path = "/api/v1/conversations/{id}/typing", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = TypingState, responses((status = 204, description = "Relayed"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody),
        (status = 429, description = "Rate limited (`http_typing_per_minute`); see Retry-After", body = ErrorBody)))]
pub async fn typing(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<TypingState>,
) -> ApiResult<StatusCode> {
    chat::check_rate(&state.limiters.http_typing, &who.sender().id)
        .map_err(ApiError::rate_limited)?;
    commands::typing(&state, &who, &id, req.on).await?;
    Ok(StatusCode::NO_CONTENT)
}
