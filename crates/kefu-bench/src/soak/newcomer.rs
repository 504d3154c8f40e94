//! A new visitor arriving during the soak: widget session, WebSocket, first
//! message acknowledged, from the normal visitors' addresses. Established
//! visitors keep their sockets through an attack; this is what someone
//! opening the chat at that moment sees. Like the widget, it retries after a
//! refusal until its deadline.

use crate::client;
use futures::StreamExt;
use kefu_core::protocol::ServerFrame;
use serde::Serialize;
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

/// One newcomer's result.
#[derive(Debug, Clone, Serialize)]
pub struct Newcomer {
    /// The phase it arrived in.
    pub phase: usize,
    pub ok: bool,
    /// Arrival → first message acknowledged (or → giving up).
    pub secs: f64,
    pub attempts: u32,
    /// The last attempt's error, if it failed.
    pub error: Option<String>,
}

/// Pause between a newcomer's attempts.
const RETRY: Duration = Duration::from_millis(500);

/// Tries until the first message is acknowledged or `timeout` passes.
pub async fn arrive(
    http: &reqwest::Client,
    base: &str,
    server: SocketAddr,
    inbox_key: &str,
    idx: usize,
    phase: usize,
    timeout: Duration,
) -> Newcomer {
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempts = 0;
    let mut error = None;
    while tokio::time::Instant::now() < deadline {
        attempts += 1;
        let attempt = tokio::time::timeout_at(deadline, once(http, base, server, inbox_key, idx));
        match attempt.await {
            Ok(Ok(())) => {
                return Newcomer {
                    phase,
                    ok: true,
                    secs: start.elapsed().as_secs_f64(),
                    attempts,
                    error: None,
                };
            }
            Ok(Err(e)) => error = Some(format!("{e:#}")),
            Err(_) => error = Some("timed out".into()),
        }
        tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + RETRY)).await;
    }
    Newcomer {
        phase,
        ok: false,
        secs: start.elapsed().as_secs_f64(),
        attempts,
        error,
    }
}

async fn once(
    http: &reqwest::Client,
    base: &str,
    server: SocketAddr,
    inbox_key: &str,
    idx: usize,
) -> anyhow::Result<()> {
    let token = client::visitor_session(http, base, inbox_key).await?;
    let (ws, _) = client::connect(server, client::source_for(idx), &token).await?;
    let (mut tx, mut rx) = ws.split();
    let cmid = format!("newcomer-{idx}");
    client::send(
        &mut tx,
        client::send_frame(&cmid, None, client::Stamp::UNTIMED, "hello, anyone there?"),
    )
    .await?;
    loop {
        match client::next_frame(&mut rx).await? {
            Some(ServerFrame::Ack { client_msg_id, .. }) if client_msg_id == cmid => return Ok(()),
            Some(ServerFrame::Error { code, .. }) => anyhow::bail!("error frame {code}"),
            Some(_) => continue,
            None => anyhow::bail!("closed before the ack"),
        }
    }
}
