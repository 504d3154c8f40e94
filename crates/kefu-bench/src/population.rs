//! Bringing up simulated visitors: widget sessions, then WebSockets, with a
//! bounded number of handshakes in flight; reports the connect rate.

use crate::client;
use anyhow::Result;
use futures::{StreamExt, stream};
use kefu_core::protocol::ServerFrame;
use serde::Serialize;
use std::{net::SocketAddr, time::Instant};

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectReport {
    pub attempted: usize,
    pub connected: usize,
    pub errors: usize,
    pub secs: f64,
    pub per_sec: f64,
    pub first_error: Option<String>,
}

/// Creates `n` visitor sessions (HTTP), `concurrency` at a time.
pub async fn sessions(
    http: &reqwest::Client,
    base: &str,
    inbox_key: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<String>> {
    let tokens: Vec<Result<String>> = stream::iter(0..n)
        .map(|_| client::visitor_session(http, base, inbox_key))
        .buffer_unordered(concurrency.clamp(1, 128))
        .collect()
        .await;
    tokens.into_iter().collect()
}

/// Connects a WebSocket per token, `concurrency` handshakes in flight.
/// Returns the connections in token order (None where it failed).
pub async fn connect_all(
    server: SocketAddr,
    tokens: &[String],
    concurrency: usize,
) -> (Vec<Option<(client::Ws, ServerFrame)>>, ConnectReport) {
    let start = Instant::now();
    let results: Vec<(usize, Result<(client::Ws, ServerFrame)>)> = stream::iter(
        tokens.iter().enumerate(),
    )
    .map(|(i, t)| async move { (i, client::connect(server, client::source_for(i), t).await) })
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    let secs = start.elapsed().as_secs_f64();
    let mut out: Vec<Option<(client::Ws, ServerFrame)>> = (0..tokens.len()).map(|_| None).collect();
    let mut report = ConnectReport {
        attempted: tokens.len(),
        secs,
        ..Default::default()
    };
    for (i, r) in results {
        match r {
            Ok(c) => {
                out[i] = Some(c);
                report.connected += 1;
            }
            Err(e) => {
                report.errors += 1;
                report.first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    report.per_sec = report.connected as f64 / secs.max(1e-9);
    (out, report)
}
