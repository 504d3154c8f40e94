//! The serving process itself, for operators: its connections and what its
//! defences cut (docs/operations.md, "Hostile clients").

use crate::{
    app::SharedState,
    auth::Auth,
    error::{ApiJson, ApiResult, ErrorBody},
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use utoipa::ToSchema;

/// This process's connections (not the workspace's: every workspace on the
/// node shares them). Counters run from the process's start.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConnectionStats {
    /// Open TCP connections now, of every kind.
    pub open: usize,
    /// The effective cap (`limits.max_connections`, held below the open-file limit).
    pub max: usize,
    /// Of `max`, kept for health checks, the console and logins.
    pub reserved: usize,
    /// The process's open-file limit, if it has one.
    pub open_file_limit: Option<u64>,
    /// Client addresses being counted (open connections or a recent burst).
    pub tracked_addresses: usize,
    pub accepted: u64,
    /// Refused (503 / close 1013): the process was full, an address had too
    /// many open, or opened them too fast.
    pub refused_full: u64,
    pub refused_ip_open: u64,
    pub refused_ip_rate: u64,
    /// Accepted in the reserved headroom (served health checks and the console only).
    pub priority_only: u64,
    /// Closed past a budget: silent after connecting, head too slow, idle
    /// keep-alive, request body too slow, client not reading (HTTP, SSE or WebSocket).
    pub cut_first_byte: u64,
    pub cut_header: u64,
    pub cut_keep_alive: u64,
    pub cut_body: u64,
    pub cut_write_stall: u64,
    /// WebSockets that never sent their `auth` frame (closed with 4001).
    pub cut_auth: u64,
    /// Connections that had not sent a byte, closed when the process was
    /// full to make room for a new one.
    pub evicted_silent: u64,
    /// Realtime sessions (WebSocket and SSE) open now.
    pub realtime: u64,
}

#[utoipa::path(get, operation_id = "server_connections", path = "/api/v1/server/connections", tag = "server", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = ConnectionStats), (status = 403, description = "Owners and admins only", body = ErrorBody)))]
pub async fn connections(
    State(state): State<SharedState>,
    Auth(who): Auth,
) -> ApiResult<ApiJson<ConnectionStats>> {
    who.require_admin()?;
    let g = &state.gate;
    let c = &g.counters;
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    Ok(ApiJson(ConnectionStats {
        open: g.open(),
        max: g.caps().max,
        reserved: g.caps().reserved,
        open_file_limit: crate::net::fd_limit(),
        tracked_addresses: g.tracked_ips(),
        accepted: n(&c.accepted),
        refused_full: n(&c.refused_full),
        refused_ip_open: n(&c.refused_ip_open),
        refused_ip_rate: n(&c.refused_ip_rate),
        priority_only: n(&c.priority_only),
        cut_first_byte: n(&c.cut_first_byte),
        cut_header: n(&c.cut_header),
        cut_keep_alive: n(&c.cut_keep_alive),
        cut_body: n(&c.cut_body),
        cut_write_stall: n(&c.cut_write_stall),
        cut_auth: n(&c.cut_auth),
        evicted_silent: n(&c.evicted_silent),
        realtime: state.hub.connection_count(),
    }))
}
