//! Inboxes (website widgets).

use super::{Page, PageQuery, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Admin, Scoped, need},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_store::{Inbox, InboxPatch, NewInbox, WidgetSettings};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInbox {
    pub name: String,
    /// Origins allowed to embed the widget, e.g. `https://shop.example.com`. Empty: any.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Title the widget shows; defaults to `name`.
    pub display_name: Option<String>,
    #[serde(default)]
    pub welcome_text: String,
    /// Look and behaviour of the widget; defaults apply to what is left out.
    #[serde(default)]
    pub widget: WidgetSettings,
    /// The inbox's bot (off unless given; docs/bot.md).
    #[serde(default)]
    pub bot: kefu_core::bot::BotSettings,
}

/// The longest reopen window an inbox may set: 30 days.
const MAX_REOPEN_WINDOW_SECS: i64 = 30 * 86_400;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInbox {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub welcome_text: Option<String>,
    /// Replaces all widget settings (fields left out get their defaults).
    pub widget: Option<WidgetSettings>,
    /// Seconds after a resolve during which a visitor's message reopens the
    /// conversation with the same agent (0 to 2,592,000; 0: never).
    pub reopen_window_secs: Option<i64>,
    /// Posted to the visitor when their conversation is resolved, in
    /// English: visitors of any language but Chinese (up to 1,000
    /// characters; empty: nothing).
    pub closing_message: Option<String>,
    /// The same for visitors whose language is Chinese.
    pub closing_message_zh: Option<String>,
    /// Replaces all bot settings.
    pub bot: Option<kefu_core::bot::BotSettings>,
}

fn check_origins(origins: &[String]) -> ApiResult<()> {
    for o in origins {
        let ok = (o.starts_with("https://") || o.starts_with("http://"))
            && !o
                .trim_end_matches('/')
                .contains(|c: char| c.is_whitespace())
            && o.len() <= 255;
        let path = o.splitn(4, '/').nth(3).unwrap_or("");
        if !ok || !path.is_empty() {
            return Err(ApiError::validation(format!(
                "{o:?} is not an origin like https://shop.example.com"
            )));
        }
    }
    Ok(())
}

/// Most pre-chat fields an inbox may ask for.
const MAX_PRECHAT_FIELDS: usize = 10;

fn check_widget(w: &WidgetSettings) -> ApiResult<()> {
    let c = w.color.as_bytes();
    if c.len() != 7 || c[0] != b'#' || !c[1..].iter().all(u8::is_ascii_hexdigit) {
        return Err(ApiError::validation(format!(
            "widget.color {:?} is not a color like #1f6feb",
            w.color
        )));
    }
    if w.prechat.fields.len() > MAX_PRECHAT_FIELDS {
        return Err(ApiError::validation(format!(
            "widget.prechat has more than {MAX_PRECHAT_FIELDS} fields"
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for f in &w.prechat.fields {
        let ok_key = !f.key.is_empty()
            && f.key.len() <= 32
            && f.key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok_key {
            return Err(ApiError::validation(format!(
                "widget.prechat field key {:?} must be 1 to 32 of a-z, 0-9, _",
                f.key
            )));
        }
        if !keys.insert(f.key.as_str()) {
            return Err(ApiError::validation(format!(
                "widget.prechat field key {:?} appears twice",
                f.key
            )));
        }
        if f.label.trim().is_empty() {
            return Err(ApiError::validation(
                "widget.prechat field labels must not be empty",
            ));
        }
        check_text("widget.prechat field label", &f.label, 100)?;
    }
    if let Some(bh) = &w.business_hours {
        crate::routing::check_hours(bh).map_err(|m| ApiError::validation(format!("widget.{m}")))?;
    }
    w.csat
        .check()
        .map_err(|m| ApiError::validation(format!("widget.{m}")))?;
    Ok(())
}

fn check_text(name: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.chars().count() > max {
        return Err(ApiError::validation(format!(
            "{name} is longer than {max} characters"
        )));
    }
    Ok(())
}

#[utoipa::path(get, operation_id = "inboxes_list", path = "/api/v1/inboxes", tag = "inboxes", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Success", body = Page<Inbox>), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<Page<Inbox>>> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .list_inboxes(
            who.workspace_id(),
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |i| i.id.clone())))
}

/// Create an inbox (admins). The response's `public_key` goes in the widget snippet.
#[utoipa::path(post, operation_id = "inboxes_create", path = "/api/v1/inboxes", tag = "inboxes", security(("bearer" = [])), request_body = CreateInbox,
    responses((status = 201, description = "Created", body = Inbox), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<CreateInbox>,
) -> ApiResult<(StatusCode, ApiJson<Inbox>)> {
    if req.name.trim().is_empty() {
        return Err(ApiError::validation("name must not be empty"));
    }
    check_text("name", &req.name, 100)?;
    check_text("welcome_text", &req.welcome_text, 1000)?;
    if let Some(d) = &req.display_name {
        check_text("display_name", d, 100)?;
    }
    check_origins(&req.allowed_origins)?;
    check_widget(&req.widget)?;
    req.bot.check().map_err(ApiError::validation)?;
    let inbox = state
        .store
        .create_inbox(NewInbox {
            workspace_id: who.workspace_id().clone(),
            display_name: req.display_name.unwrap_or_else(|| req.name.clone()),
            name: req.name,
            allowed_origins: req.allowed_origins,
            welcome_text: req.welcome_text,
            widget: req.widget,
            bot: req.bot,
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(inbox)))
}

#[utoipa::path(get, operation_id = "inboxes_get_one", path = "/api/v1/inboxes/{id}", tag = "inboxes", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = Inbox), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<Inbox>> {
    Ok(ApiJson(
        state
            .store
            .get_inbox(who.workspace_id(), &id)
            .await
            .map_err(|e| ApiError::from_store(e, "inbox"))?,
    ))
}

#[utoipa::path(patch, operation_id = "inboxes_update", path = "/api/v1/inboxes/{id}", tag = "inboxes", security(("bearer" = [])), params(("id" = String, Path)), request_body = UpdateInbox,
    responses((status = 200, description = "Success", body = Inbox), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateInbox>,
) -> ApiResult<ApiJson<Inbox>> {
    if let Some(o) = &req.allowed_origins {
        check_origins(o)?;
    }
    if let Some(n) = &req.name {
        check_text("name", n, 100)?;
    }
    if let Some(w) = &req.welcome_text {
        check_text("welcome_text", w, 1000)?;
    }
    if let Some(d) = &req.display_name {
        check_text("display_name", d, 100)?;
    }
    if let Some(w) = &req.widget {
        check_widget(w)?;
    }
    if let Some(b) = &req.bot {
        b.check().map_err(ApiError::validation)?;
    }
    if let Some(c) = &req.closing_message {
        check_text("closing_message", c, 1000)?;
    }
    if let Some(c) = &req.closing_message_zh {
        check_text("closing_message_zh", c, 1000)?;
    }
    if req
        .reopen_window_secs
        .is_some_and(|s| !(0..=MAX_REOPEN_WINDOW_SECS).contains(&s))
    {
        return Err(ApiError::validation(format!(
            "reopen_window_secs must be 0 to {MAX_REOPEN_WINDOW_SECS} (30 days)"
        )));
    }
    let patch = InboxPatch {
        name: req.name,
        allowed_origins: req.allowed_origins,
        display_name: req.display_name,
        welcome_text: req.welcome_text,
        widget: req.widget,
        reopen_window_secs: req.reopen_window_secs,
        closing_message: req.closing_message.map(|c| c.trim().to_string()),
        closing_message_zh: req.closing_message_zh.map(|c| c.trim().to_string()),
        bot: req.bot,
    };
    let inbox = state
        .store
        .update_inbox(who.workspace_id(), &id, patch)
        .await
        .map_err(|e| ApiError::from_store(e, "inbox"))?;
    // Realtime handshakes check origins against the cached copy.
    state.inboxes.put(std::sync::Arc::new(inbox.clone()));
    Ok(ApiJson(inbox))
}
