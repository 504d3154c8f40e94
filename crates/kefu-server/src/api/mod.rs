//! The REST API under `/api/v1`, its OpenAPI document (generated from the
//! handlers' annotations by utoipa) and the health endpoints.

pub mod account;
pub mod api_keys;
pub mod attachments;
pub mod auth;
pub mod avatars;
pub mod bot;
pub mod canned;
pub mod contacts;
pub mod conversations;
pub mod csat;
pub mod cursor;
pub mod events;
pub mod inboxes;
pub mod invitations;
pub mod kb;
pub mod macros;
pub mod mail;
pub mod notifications;
pub mod personal;
pub mod push;
pub mod reads;
pub mod reports;
pub mod routing;
pub mod search;
pub mod sensitive;
pub mod server;
pub mod users;
pub mod webhooks;
pub mod widget;
pub mod workspace;

use crate::{app::SharedState, error::ApiError};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
};
use serde::{Deserialize, Serialize};
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "kefu API", description = "REST API of kefu, the self-hosted customer-service system. Realtime messaging is on the WebSocket at /ws (see docs/protocol.md)."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "auth", description = "Agent login sessions"),
        (name = "users", description = "Members of the workspace"),
        (name = "inboxes", description = "Website widgets and other channels"),
        (name = "contacts", description = "Visitors and customers"),
        (name = "events", description = "Incoming business events from a company's own systems (docs/integrations.md)"),
        (name = "conversations", description = "Conversations and their messages"),
        (name = "search", description = "Full-text search over messages, conversations and contacts, in Chinese and English (docs/search.md)"),
        (name = "widget", description = "Endpoints the visitor widget calls"),
        (name = "attachments", description = "File uploads"),
        (name = "api_keys", description = "Keys for server-to-server calls"),
        (name = "routing", description = "Groups of agents, routing rules and the dry-run simulator"),
        (name = "bot", description = "The bot's knowledge base (entries, import and export) and trying it (docs/bot.md)"),
        (name = "sensitive", description = "Sensitive words (mask, block, flag) and the messages flagged for review (docs/sensitive-words.md)"),
        (name = "notifications", description = "An agent's mentions and assignments (the console's bell)"),
        (name = "canned_replies", description = "Saved answers agents insert with /shortcut (shared, or an agent's personal ones)"),
        (name = "macros", description = "Named lists of actions agents run on a conversation (docs/macros.md)"),
        (name = "workspace", description = "The caller's workspace and its settings"),
        (name = "webhooks", description = "Outgoing webhooks: subscriptions, delivery logs, tests and replays"),
        (name = "mail", description = "E-mail: replies coming back from a mail relay, transcripts, whether e-mail is on (docs/email.md)"),
        (name = "push", description = "Web Push: the browsers an agent gets notifications in (docs/push.md)"),
        (name = "reports", description = "Conversations, response and resolution times, queue waits, the bot and CSAT over a period (docs/reports.md)"),
        (name = "server", description = "The serving process: connections and what its defences cut"),
        (name = "health", description = "Liveness and readiness")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An agent access token, a visitor token, or a workspace API key (kefu_sk_…)"))
                    .build(),
            ),
        );
    }
}

/// A page of a list: every list endpoint answers this shape. Pass
/// `next_cursor` as `cursor` to get the next page; `null` means this was the
/// last. Lists that are small by nature (groups, queues, API keys) come whole,
/// with `next_cursor` always `null`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A list that comes whole: nothing follows.
    pub fn whole(items: Vec<T>) -> Self {
        Page {
            items,
            next_cursor: None,
        }
    }
}

/// Query of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Cursor from the previous page's `next_cursor`.
    #[param(value_type = Option<String>)]
    pub cursor: Option<cursor::IdCursor>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The effective page size.
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says
/// whether there is a next page.
pub fn page_of<T>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// All routes of the API, and the OpenAPI document describing them.
pub fn router(limits: &crate::config::Limits) -> (Router<SharedState>, utoipa::openapi::OpenApi) {
    // Uploads get their own body limit; everything else the JSON one.
    let uploads = OpenApiRouter::new()
        .routes(routes!(attachments::upload))
        .layer(DefaultBodyLimit::max(limits.max_upload_bytes + 64 * 1024));
    // A knowledge-base file may be far larger than a JSON request.
    let kb_import = OpenApiRouter::new()
        .routes(routes!(kb::import))
        .layer(DefaultBodyLimit::max(limits.max_kb_import_bytes));
    let sensitive_import = OpenApiRouter::new()
        .routes(routes!(sensitive::import))
        .layer(DefaultBodyLimit::max(limits.max_sensitive_import_bytes));
    let avatars = OpenApiRouter::new()
        .routes(routes!(avatars::put, avatars::delete))
        .layer(DefaultBodyLimit::max(limits.max_avatar_bytes + 64 * 1024));
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me, account::update_me))
        .routes(routes!(account::change_password))
        .routes(routes!(invitations::invitation))
        .routes(routes!(invitations::accept))
        .routes(routes!(account::forgot))
        .routes(routes!(account::reset))
        .routes(routes!(invitations::invite))
        .routes(routes!(account::reset_other))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get_one, users::update))
        .routes(routes!(inboxes::list, inboxes::create))
        .routes(routes!(inboxes::get_one, inboxes::update))
        .routes(routes!(contacts::list))
        .routes(routes!(contacts::merge))
        .routes(routes!(contacts::block, contacts::unblock))
        .routes(routes!(contacts::list_ip_blocks, contacts::add_ip_block))
        .routes(routes!(contacts::remove_ip_block))
        .routes(routes!(contacts::get_one, contacts::update))
        .routes(routes!(contacts::list_notes, contacts::add_note))
        .routes(routes!(contacts::delete_note))
        .routes(routes!(contacts::list_attributes))
        .routes(routes!(
            contacts::save_attribute,
            contacts::delete_attribute
        ))
        .routes(routes!(events::contact_events))
        .routes(routes!(events::record))
        .routes(routes!(
            events::signing_secret,
            events::rotate_signing_secret
        ))
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::get_one, conversations::update))
        .routes(routes!(conversations::set_status))
        .routes(routes!(conversations::snooze))
        .routes(routes!(conversations::counts))
        .routes(routes!(conversations::assign))
        .routes(routes!(conversations::events))
        .routes(routes!(conversations::read))
        .routes(routes!(conversations::typing))
        .routes(routes!(reads::reads))
        .routes(routes!(reads::limits))
        .routes(routes!(
            conversations::list_messages,
            conversations::send_message
        ))
        .routes(routes!(conversations::delete_message))
        .routes(routes!(search::search))
        .routes(routes!(widget::session))
        .routes(routes!(widget::my_conversations))
        .routes(routes!(widget::send))
        .routes(routes!(widget::identify))
        .routes(routes!(widget::agents))
        .routes(routes!(avatars::get))
        .routes(routes!(kb::list, kb::create))
        .routes(routes!(kb::get_one, kb::update, kb::delete))
        .routes(routes!(kb::export))
        .routes(routes!(kb::try_bot))
        .routes(routes!(bot::assist))
        .routes(routes!(bot::questions))
        .routes(routes!(bot::update_question))
        .routes(routes!(widget::bot_feedback))
        .routes(routes!(sensitive::list_words, sensitive::add_word))
        .routes(routes!(sensitive::delete_word))
        .routes(routes!(sensitive::export))
        .routes(routes!(sensitive::list_flags))
        .routes(routes!(sensitive::review))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::read))
        .routes(routes!(crate::sse::events))
        .routes(routes!(attachments::download))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(canned::list, canned::create))
        .routes(routes!(canned::update, canned::delete))
        .routes(routes!(macros::list, macros::create))
        .routes(routes!(macros::get_one, macros::update, macros::delete))
        .routes(routes!(macros::run))
        .routes(routes!(workspace::get, workspace::update))
        .routes(routes!(routing::list_groups, routing::create_group))
        .routes(routes!(routing::update_group, routing::delete_group))
        .routes(routes!(routing::get_rules, routing::put_rules))
        .routes(routes!(routing::simulate))
        .routes(routes!(routing::transfer))
        .routes(routes!(routing::claim))
        .routes(routes!(routing::queues))
        .routes(routes!(webhooks::event_types))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(
            webhooks::get_one,
            webhooks::update,
            webhooks::delete
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::pause))
        .routes(routes!(webhooks::resume))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::delivery))
        .routes(routes!(webhooks::replay_delivery))
        .routes(routes!(webhooks::replay_range))
        .routes(routes!(server::connections))
        .routes(routes!(reports::summary))
        .routes(routes!(reports::summary_csv))
        .routes(routes!(reports::live))
        .routes(routes!(csat::rate))
        .routes(routes!(csat::list))
        .routes(routes!(mail::status))
        .routes(routes!(mail::transcript))
        .routes(routes!(mail::widget_transcript))
        .routes(routes!(push::vapid_public_key))
        .routes(routes!(push::list, push::subscribe, push::unsubscribe))
        .routes(routes!(push::test))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .merge(uploads)
        .merge(avatars)
        .merge(kb_import)
        .merge(sensitive_import)
        // Reads its own body, up to `[mail] max_inbound_bytes`.
        .routes(routes!(mail::inbound))
        .split_for_parts();
    let doc = api.clone();
    let router = router.route(
        "/api/openapi.json",
        get(move || async move { Json(doc.clone()) }),
    );
    (router, api)
}

/// Liveness: the process is up.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "health", responses((status = 200, description = "The process is up")))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the store answers and the server is not draining.
#[utoipa::path(get, operation_id = "readyz", path = "/readyz", tag = "health", responses((status = 200, description = "Ready"), (status = 503, description = "Not ready", body = crate::error::ErrorBody)))]
async fn readyz(State(state): State<SharedState>) -> axum::response::Response {
    if state.shutdown.is_cancelled() {
        return ApiError::unavailable("draining").into_response();
    }
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => ApiError::unavailable(format!("store unreachable: {e}")).into_response(),
    }
}
