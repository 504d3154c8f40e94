//! Reports: conversations, response and resolution times, queue waits, the
//! bot's share and CSAT over a period, by day, hour of the week, agent,
//! group or inbox, in wall-clock or business time, as JSON or CSV
//! (definitions: docs/reports.md).
//!
//! **Who sees what.** Owners, admins and API keys with `conversations:read`
//! see the whole workspace and may filter by agent, group or inbox. An agent
//! sees their own figures only: every query is narrowed to facts that name
//! them (their first responses, replies, resolutions, queue waits they
//! ended, transfers away from them), and asking for another agent is 403.

use crate::{
    app::SharedState,
    auth::{Principal, Scoped, need},
    error::{ApiError, ApiQuery, ApiResult, ErrorBody},
};
use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use kefu_core::Role;
use kefu_reports::{GroupBy, Range, SummaryRow, range::BUCKET_MS, summarize, summary::to_csv};
use kefu_store::{LiveSnapshot, ReportFilter, ReportKey};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// How long a report waits for the reports consumer to count the events
/// committed before it was asked (so a report right after a change shows it).
const FRESH_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// First day (`YYYY-MM-DD` in `tz`) or epoch milliseconds.
    pub from: String,
    /// Last day, included (`YYYY-MM-DD`), or epoch milliseconds, excluded.
    pub to: String,
    /// IANA time zone of days and hours; default: the workspace's.
    pub tz: Option<String>,
    /// `day` (default), `hour_of_week`, `agent`, `group` or `inbox`.
    pub group_by: Option<String>,
    /// Durations counted in the inbox's business hours only (default false).
    pub business_hours: Option<bool>,
    /// Only facts of this agent (user id).
    pub agent: Option<String>,
    /// Only facts of this group (name).
    pub group: Option<String>,
    /// Only facts of this inbox (id).
    pub inbox: Option<String>,
}

/// A report: one row per key, and the total over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSummary {
    /// The period, epoch ms, `[from, to)`.
    pub from: i64,
    pub to: i64,
    pub tz: String,
    pub group_by: String,
    pub business_hours: bool,
    /// False when the report could not wait for the newest events to be
    /// counted (they will be in a moment).
    pub complete: bool,
    pub rows: Vec<SummaryRow>,
    pub total: SummaryRow,
    /// How many CSAT ratings of 1, 2, 3, 4 and 5 the period has.
    pub csat_distribution: [i64; 5],
}

fn is_agent_only(who: &Principal) -> bool {
    matches!(
        who,
        Principal::Agent {
            role: Role::Agent,
            ..
        }
    )
}

/// Waits (bounded) until the consumer has counted every event committed so far.
async fn fresh(state: &SharedState) -> ApiResult<bool> {
    let head = state.store.outbox_head().await?;
    let mut progress = state.reports.subscribe();
    let counted = |p: i64| p >= head;
    if counted(*progress.borrow_and_update()) {
        return Ok(true);
    }
    let cursor = state
        .store
        .outbox_consumer_position(crate::reports::CONSUMER)
        .await?;
    if cursor.is_some_and(counted) {
        return Ok(true);
    }
    let waited = tokio::time::timeout(FRESH_WAIT, progress.wait_for(|p| counted(*p))).await;
    Ok(matches!(waited, Ok(Ok(_))))
}

async fn build(state: &SharedState, who: &Principal, q: SummaryQuery) -> ApiResult<ReportSummary> {
    let ws = state.store.get_workspace(who.workspace_id()).await?;
    let tz = q.tz.clone().unwrap_or_else(|| ws.timezone.clone());
    let bad = |e: kefu_reports::RangeError| ApiError::validation(e.to_string());
    let range = Range::parse(&q.from, &q.to, &tz).map_err(bad)?;
    let by: GroupBy = q
        .group_by
        .as_deref()
        .unwrap_or("day")
        .parse()
        .map_err(bad)?;
    let business = q.business_hours.unwrap_or(false);
    let mut filter = ReportFilter {
        agent_id: q.agent,
        group: q.group,
        inbox_id: q.inbox,
    };
    if is_agent_only(who) {
        let me = who.agent_id().map(|u| u.to_string());
        if filter.agent_id.is_some() && filter.agent_id != me {
            return Err(ApiError::forbidden(
                "agents see their own reports only (ask an admin for others')",
            ));
        }
        filter.agent_id = me;
    }
    let complete = fresh(state).await?;
    let unfiltered =
        filter.agent_id.is_none() && filter.group.is_none() && filter.inbox_id.is_none();
    let key = match by {
        // The hourly sums where they fall exactly into the zone's days and hours.
        GroupBy::Day | GroupBy::HourOfWeek if unfiltered && range.whole_hours() => {
            match (by, range.fixed_offset_hours()) {
                // No daylight-saving change in the period: the database sums the days.
                (GroupBy::Day, Some(offset)) => ReportKey::LocalDays { offset },
                (_, Some(offset)) => ReportKey::LocalWeekHours { offset },
                (_, None) => ReportKey::Hourly,
            }
        }
        GroupBy::Day | GroupBy::HourOfWeek => ReportKey::Bucket(BUCKET_MS),
        GroupBy::Agent => ReportKey::Agent,
        GroupBy::Group => ReportKey::Group,
        GroupBy::Inbox => ReportKey::Inbox,
    };
    let sums = state
        .store
        .report_sums(&ws.id, range.from, range.to, key, &filter)
        .await?;
    let (rows, total) = summarize(&sums, &range, by, business);
    let csat_distribution = state
        .store
        .report_csat_distribution(&ws.id, range.from, range.to, &filter)
        .await?;
    Ok(ReportSummary {
        from: range.from,
        to: range.to,
        tz,
        group_by: by.as_str().into(),
        business_hours: business,
        complete,
        rows,
        total,
        csat_distribution,
    })
}

/// The report over a period (docs/reports.md defines every figure).
#[utoipa::path(get, operation_id = "reports_summary", path = "/api/v1/reports/summary", tag = "reports", security(("bearer" = [])), params(SummaryQuery),
    responses((status = 200, description = "The report", body = ReportSummary), (status = 400, description = "Bad period, time zone or grouping", body = ErrorBody), (status = 403, description = "An agent asking for another agent", body = ErrorBody)))]
pub async fn summary(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> ApiResult<Json<ReportSummary>> {
    Ok(Json(build(&state, &who, q).await?))
}

/// The same report as CSV: a header, one line per row, the total last.
#[utoipa::path(get, operation_id = "reports_summary_csv", path = "/api/v1/reports/summary.csv", tag = "reports", security(("bearer" = [])), params(SummaryQuery),
    responses((status = 200, description = "text/csv", content_type = "text/csv", body = String), (status = 400, description = "Bad period, time zone or grouping", body = ErrorBody), (status = 403, description = "An agent asking for another agent", body = ErrorBody)))]
pub async fn summary_csv(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> ApiResult<Response> {
    let r = build(&state, &who, q).await?;
    let mut res = to_csv(&r.rows, &r.total).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"kefu-report-{}.csv\"",
        r.group_by
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The workspace now, for the live dashboard: agents online and their
/// load, open and waiting conversations, the longest wait, each group's
/// line. The console reads it again whenever a realtime frame says
/// something changed.
#[utoipa::path(get, operation_id = "reports_live", path = "/api/v1/reports/live", tag = "reports", security(("bearer" = [])),
    responses((status = 200, description = "The workspace now", body = LiveSnapshot), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn live(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
) -> ApiResult<Json<LiveSnapshot>> {
    Ok(Json(state.store.live_snapshot(who.workspace_id()).await?))
}
