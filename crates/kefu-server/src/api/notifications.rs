//! An agent's own notifications (the console's bell): mentions in notes and
//! conversations given to them (the `notify` module stores them).

use super::account::agent_of;
use crate::{
    app::SharedState,
    auth::Auth,
    error::{ApiError, ApiJson, ApiQuery, ApiResult, ErrorBody},
};
use axum::extract::State;
use kefu_core::ConversationId;
use kefu_store::{Notification, NotificationsToRead};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Older than this `created_at` (ms): the next page.
    pub before: Option<i64>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notifications {
    /// Newest first.
    pub items: Vec<Notification>,
    /// How many of all the agent's notifications are unread.
    pub unread: i64,
}

/// My notifications, newest first, with the unread count.
#[utoipa::path(get, operation_id = "notifications_list", path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])), params(NotificationsQuery),
    responses((status = 200, description = "Success", body = Notifications), (status = 403, description = "Not an agent", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<NotificationsQuery>,
) -> ApiResult<ApiJson<Notifications>> {
    let (uid, _) = agent_of(&who)?;
    let limit = super::page_limit(q.limit)?;
    let items = state
        .store
        .list_notifications(who.workspace_id(), uid, q.before, limit)
        .await?;
    let unread = state
        .store
        .unread_notifications(who.workspace_id(), uid)
        .await?;
    Ok(ApiJson(Notifications { items, unread }))
}

/// Which notifications to mark read: `ids`, those of `conversation_id`, or
/// `all`; exactly one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadNotifications {
    pub ids: Option<Vec<String>>,
    pub conversation_id: Option<ConversationId>,
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unread {
    pub unread: i64,
}

/// Most ids one request may mark read.
const MAX_IDS: usize = 200;

/// Marks my notifications read; answers how many stay unread.
#[utoipa::path(post, operation_id = "notifications_read", path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])), request_body = ReadNotifications,
    responses((status = 200, description = "Success", body = Unread), (status = 403, description = "Not an agent", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn read(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<ReadNotifications>,
) -> ApiResult<ApiJson<Unread>> {
    let (uid, _) = agent_of(&who)?;
    let which = match (req.ids, req.conversation_id, req.all) {
        (Some(ids), None, None | Some(false)) => {
            if ids.len() > MAX_IDS {
                return Err(ApiError::validation(format!(
                    "at most {MAX_IDS} ids at once"
                )));
            }
            NotificationsToRead::Ids(ids)
        }
        (None, Some(c), None | Some(false)) => NotificationsToRead::Conversation(c),
        (None, None, Some(true)) => NotificationsToRead::All,
        _ => {
            return Err(ApiError::validation(
                "give exactly one of ids, conversation_id or all: true",
            ));
        }
    };
    state
        .store
        .read_notifications(who.workspace_id(), uid, which)
        .await?;
    let unread = state
        .store
        .unread_notifications(who.workspace_id(), uid)
        .await?;
    Ok(ApiJson(Unread { unread }))
}
