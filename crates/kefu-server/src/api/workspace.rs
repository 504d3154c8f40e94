//! The caller's workspace and its settings.

use crate::{
    app::SharedState,
    auth::{Admin, Scoped, need},
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};
use axum::extract::State;
use kefu_store::Workspace;
use serde::Deserialize;
use utoipa::ToSchema;

/// Languages the console and widget speak.
pub const LANGUAGES: [&str; 2] = ["zh-CN", "en"];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspacePatch {
    pub name: Option<String>,
    /// An IANA time zone name, e.g. `Asia/Shanghai` or `UTC`.
    pub timezone: Option<String>,
    /// `zh-CN` or `en`.
    pub language: Option<String>,
    /// Public holidays, `YYYY-MM-DD` (routing rules read `time.holiday`); replaces the list.
    pub holidays: Option<Vec<String>>,
    /// The group that gets what no routing rule routes; `null`: such
    /// conversations stay unassigned for agents to pick up.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub default_group: Option<Option<String>>,
    /// Whether an agent who replies to an unassigned conversation takes it.
    pub reply_takes: Option<bool>,
}

/// A field given as `null` (`Some(None)`) rather than left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Most holidays a workspace keeps.
const MAX_HOLIDAYS: usize = 366;

#[utoipa::path(get, operation_id = "workspace_get", path = "/api/v1/workspace", tag = "workspace", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Workspace), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn get(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
) -> ApiResult<ApiJson<Workspace>> {
    Ok(ApiJson(
        state.store.get_workspace(who.workspace_id()).await?,
    ))
}

#[utoipa::path(patch, operation_id = "workspace_update", path = "/api/v1/workspace", tag = "workspace", security(("bearer" = [])), request_body = WorkspacePatch,
    responses((status = 200, description = "Success", body = Workspace), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<WorkspacePatch>,
) -> ApiResult<ApiJson<Workspace>> {
    if let Some(tz) = &req.timezone
        && jiff::tz::TimeZone::get(tz).is_err()
    {
        return Err(ApiError::validation(format!(
            "{tz:?} is not a known IANA time zone (e.g. Asia/Shanghai, UTC)"
        )));
    }
    if let Some(lang) = &req.language
        && !LANGUAGES.contains(&lang.as_str())
    {
        return Err(ApiError::validation("language must be zh-CN or en"));
    }
    if let Some(name) = &req.name
        && (name.trim().is_empty() || name.chars().count() > 100)
    {
        return Err(ApiError::validation("name must be 1 to 100 characters"));
    }
    if let Some(h) = &req.holidays {
        if h.len() > MAX_HOLIDAYS {
            return Err(ApiError::validation(format!(
                "at most {MAX_HOLIDAYS} holidays"
            )));
        }
        if let Some(bad) = h
            .iter()
            .find(|d| d.len() != 10 || d.parse::<jiff::civil::Date>().is_err())
        {
            return Err(ApiError::validation(format!(
                "{bad:?} is not a date like 2026-10-01"
            )));
        }
    }
    let ws = state
        .store
        .update_workspace(
            who.workspace_id(),
            req.name.as_deref(),
            req.timezone.as_deref(),
            req.language.as_deref(),
            req.holidays.map(|mut h| {
                h.sort();
                h.dedup();
                h
            }),
        )
        .await
        .map_err(|e| match e {
            kefu_store::StoreError::Conflict(_) => {
                ApiError::conflict("another workspace has this name")
            }
            other => other.into(),
        })?;
    if req.default_group.is_none() && req.reply_takes.is_none() {
        return Ok(ApiJson(ws));
    }
    let ws = state
        .store
        .set_assignment(
            who.workspace_id(),
            req.default_group
                .map(|g| g.filter(|g| !g.trim().is_empty())),
            req.reply_takes,
        )
        .await
        .map_err(|e| match e {
            kefu_store::StoreError::Invalid(m) => ApiError::validation(m),
            other => other.into(),
        })?;
    Ok(ApiJson(ws))
}
