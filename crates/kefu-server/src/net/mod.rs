//! The listener and every connection's life, with the defences a server on
//! the public internet needs: each accepted socket is counted ([`gate`]),
//! each stage of a connection has a time budget ([`activity`], [`io`],
//! [`body`]), and past a cap a client gets a fast refusal (503 with
//! `Retry-After`, or WebSocket close 1013) instead of a wait. docs/operations.md
//! ("Hostile clients") describes the behaviour and the settings.
//!
//! `axum::serve` has none of this (it never times out a silent socket), so
//! the accept loop is ours, on hyper-util's connection builder.

pub mod activity;
pub mod body;
pub mod gate;
pub mod io;
mod refuse;

use crate::{app::SharedState, config::Limits};
use activity::{Activity, Stage, StageTimeouts, next_deadline};
use axum::{Router, body::Body, extract::ConnectInfo, http::Request, response::Response};
use gate::{Caps, Mode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The read buffer of one connection (request head and body chunks): bounds
/// what a slow head can pin (hyper's default is about 400 KiB).
const MAX_HEAD_BUFFER: usize = 64 * 1024;

/// How long shutdown waits for HTTP connections to finish their requests.
const DRAIN: Duration = Duration::from_secs(10);

/// The gate's caps from the configuration and the process's open-file limit.
pub fn caps(l: &Limits, fd_limit: Option<u64>) -> Caps {
    let max = effective_max(l.max_connections, l.reserved_file_descriptors, fd_limit);
    Caps {
        max,
        reserved: l.reserved_connections.min(max.saturating_sub(1)),
        per_ip: l.max_connections_per_ip,
        per_ip_per_sec: l.connections_per_ip_per_second as f64,
        per_ip_burst: l.connections_per_ip_burst.max(1) as f64,
        polite_refusals: (l.reserved_connections / 2).max(1),
    }
}

/// `max_connections`, held below the open-file limit minus the descriptors
/// kept for files and the database.
pub fn effective_max(configured: usize, reserved_fds: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(n) => configured.min((n as usize).saturating_sub(reserved_fds).max(1)),
        None => configured,
    }
}

/// The soft open-file limit (`ulimit -n`) of this process.
pub fn fd_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
    (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur)
}

/// Raises the soft open-file limit to the hard one (what most servers do at
/// start); returns the limit in force afterwards.
pub fn raise_fd_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &want);
        }
    }
    fd_limit()
}

/// What every connection of this server shares.
struct Shared {
    state: SharedState,
    router: Router,
    timeouts: StageTimeouts,
    refusal_timeouts: StageTimeouts,
    pace: body::Pace,
    write_stall: Duration,
    /// Cancelled when the drain period is over: connections still busy close.
    hard_stop: tokio_util::sync::CancellationToken,
}

/// Accepts and serves until `state.shutdown` is cancelled, then stops
/// accepting, lets HTTP connections finish what they are doing (up to
/// [`DRAIN`]) and returns.
pub async fn serve(state: SharedState, listener: TcpListener, router: Router) {
    let l = &state.cfg.limits;
    let secs = Duration::from_secs;
    let pressed = secs(l.pressure_idle_secs);
    let timeouts = StageTimeouts {
        first_byte: secs(l.first_byte_timeout_secs),
        header: secs(l.header_timeout_secs),
        keep_alive_idle: secs(l.keep_alive_idle_secs),
    };
    let shared = Arc::new(Shared {
        timeouts,
        refusal_timeouts: StageTimeouts {
            first_byte: timeouts.first_byte.min(pressed),
            header: timeouts.header.min(pressed),
            keep_alive_idle: timeouts.keep_alive_idle.min(pressed),
        },
        pace: body::Pace {
            stall: secs(l.body_stall_secs),
            min_rate: l.body_min_bytes_per_sec,
            grace: secs(l.body_grace_secs),
        },
        write_stall: secs(l.write_stall_secs),
        hard_stop: tokio_util::sync::CancellationToken::new(),
        router,
        state: state.clone(),
    });
    let tracker = TaskTracker::new();
    let shutdown = state.shutdown.clone();
    let mut emfile_warned = Instant::now() - Duration::from_secs(60);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // Out of file descriptors (or similar): back off instead of spinning.
                if emfile_warned.elapsed() > Duration::from_secs(10) {
                    tracing::warn!(error = %e, open = state.gate.open(), "accept failed; backing off");
                    emfile_warned = Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let proxied = state.is_trusted_proxy(peer.ip());
        let activity = Arc::new(Activity::new());
        let (mode, permit) = state
            .gate
            .admit(peer.ip(), !proxied, Instant::now(), &activity);
        if let Mode::Drop(why) = mode {
            refuse::answer_unread(stream, why, l.retry_after_secs);
            drop(permit);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let io = io::ConnIo::new(
            stream,
            activity,
            shared.write_stall,
            state.gate.clone(),
            permit,
        );
        tracker.spawn(connection(shared.clone(), io, peer, mode, proxied));
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!(
            left = tracker.len(),
            "HTTP connections still busy after the drain period: closing them"
        );
        shared.hard_stop.cancel();
        tracker.wait().await;
    }
}

/// Errors that concern one connection only; the listener is fine.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted | WouldBlock
    )
}

/// One connection from its first byte to its close (or to its upgrade: a
/// WebSocket then lives on in its own task, still owning the socket's permit).
async fn connection(
    shared: Arc<Shared>,
    io: io::ConnIo,
    peer: SocketAddr,
    mode: Mode,
    proxied: bool,
) {
    let activity = io.activity();
    let timeouts = match mode {
        Mode::Serve => shared.timeouts,
        _ => shared.refusal_timeouts,
    };
    // HTTP/1.1 only: browsers never speak cleartext HTTP/2, a TLS proxy talks
    // HTTP/1.1 to its upstream, and HTTP/2's flow control would let a client
    // hold a response (and its socket) without a write ever stalling.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD_BUFFER);
    let svc = {
        let shared = shared.clone();
        let activity = activity.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            handle(shared.clone(), activity.clone(), req, peer, mode, proxied)
        })
    };
    let conn = builder
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    tokio::pin!(conn);
    let watchdog = watchdog(
        &activity,
        timeouts,
        shared.refusal_timeouts,
        shared.state.gate.pressure(),
    );
    tokio::pin!(watchdog);
    let shutdown = shared.state.shutdown.clone();
    let mut draining = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            stage = &mut watchdog => {
                let c = &shared.state.gate.counters;
                match stage {
                    // Counted by the gate when it chose the connection.
                    Stage::Evicted => return,
                    Stage::FirstByte => &c.cut_first_byte,
                    Stage::Header => &c.cut_header,
                    Stage::KeepAlive => &c.cut_keep_alive,
                }
                .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%peer, ?stage, "connection past its budget: closed");
                return;
            }
            _ = shared.hard_stop.cancelled() => return,
            _ = shutdown.cancelled(), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

/// Resolves when the connection has been silent past the budget of the
/// stage it is in; under pressure (see `Gate::pressure`) the budgets are
/// the short `pressed` ones.
async fn watchdog(
    a: &Activity,
    normal: StageTimeouts,
    pressed: StageTimeouts,
    mut pressure: tokio::sync::watch::Receiver<bool>,
) -> Stage {
    let mut watching = true;
    loop {
        let changed = a.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if a.is_evicted() {
            return Stage::Evicted;
        }
        let t = if *pressure.borrow_and_update() {
            pressed
        } else {
            normal
        };
        let deadline = next_deadline(&a.snapshot(), &t);
        let at = match deadline {
            Some((ms, stage)) => {
                let at = a.start() + Duration::from_millis(ms);
                if Instant::now() >= at {
                    return stage;
                }
                Some(at)
            }
            None => None,
        };
        tokio::select! {
            _ = async { match at { Some(at) => tokio::time::sleep_until(at.into()).await, None => std::future::pending().await } } => {}
            _ = changed => {}
            // A closed channel only means the gate is gone with the server.
            r = pressure.changed(), if watching => watching = r.is_ok(),
        }
    }
}

/// Held by a response body: the request is finished when it is dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// One request: refusal or the router, with the body paced and the
/// request's end reported to the watchdog.
async fn handle(
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    req: Request<Incoming>,
    peer: SocketAddr,
    mode: Mode,
    proxied: bool,
) -> Result<Response, Infallible> {
    activity.request_started();
    let in_flight = InFlight(activity);
    let state = &shared.state;
    let retry = state.cfg.limits.retry_after_secs;
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(peer));
    let mut refusal = match mode {
        Mode::Refuse(why) | Mode::Drop(why) => Some(why),
        Mode::Priority if !refuse::is_priority(state, &req) => Some(gate::Why::Full),
        _ => None,
    };
    // Refusals by mode in the headroom are counted here; the others were
    // counted where they were decided (the gate, or `admit_proxied`).
    let count_here = mode == Mode::Priority && refusal.is_some();
    let mut slot = None;
    if refusal.is_none() && proxied {
        let client: IpAddr =
            crate::client_ip::client_ip(peer.ip(), req.headers(), &state.trusted_proxies);
        match state.gate.admit_proxied(client) {
            Ok(s) => {
                let s = Arc::new(s);
                req.extensions_mut().insert(ClientHold(s.clone()));
                slot = Some(s);
            }
            Err(why) => refusal = Some(why),
        }
    }
    let res = match refusal {
        Some(why) => {
            if count_here {
                state.gate.count_refusal(why);
            }
            refuse::answer(req, why, retry).await
        }
        None => {
            let timed_out = Arc::new(AtomicBool::new(false));
            let req =
                req.map(|b| Body::new(body::PacedBody::new(b, shared.pace, timed_out.clone())));
            let res = match shared.router.clone().oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if timed_out.load(Ordering::Relaxed) {
                state.gate.counters.cut_body.fetch_add(1, Ordering::Relaxed);
                refuse::body_timeout()
            } else {
                res
            }
        }
    };
    let mut res = res;
    if mode != Mode::Serve && res.status() != axum::http::StatusCode::SWITCHING_PROTOCOLS {
        // One request per headroom or refused connection: the next comes on a
        // new socket and is admitted afresh, so nobody keeps a reserved slot.
        res.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    Ok(res.map(|b| {
        Body::new(Held {
            inner: b,
            _in_flight: in_flight,
            _slot: slot,
        })
    }))
}

/// A proxied client's open slot, kept by whatever outlives the request (the
/// WebSocket task takes it from the request's extensions).
#[derive(Clone)]
pub struct ClientHold(pub Arc<gate::ClientSlot>);

/// A response body that ends the request (and its client slot) when dropped.
struct Held {
    inner: Body,
    _in_flight: InFlight,
    _slot: Option<Arc<gate::ClientSlot>>,
}

impl http_body::Body for Held {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The start-up line about the open-file limit; `true` when it is a warning
/// (the limit holds the connection cap below the configured one).
pub fn capacity_line(l: &Limits, fd: Option<u64>, effective: usize) -> (String, bool) {
    let configured = l.max_connections;
    match fd {
        Some(n) if effective < configured => (
            format!(
                "open-file limit {n}: kefu will hold at most {effective} connections, not limits.max_connections = {configured} (that needs ulimit -n >= {}); raise the limit or lower the setting",
                configured + l.reserved_file_descriptors
            ),
            true,
        ),
        Some(n) => (
            format!("open-file limit {n}: up to {effective} connections (limits.max_connections)"),
            false,
        ),
        None => (
            format!("no open-file limit: up to {effective} connections (limits.max_connections)"),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_stays_below_the_fd_limit() {
        assert_eq!(effective_max(19_000, 128, Some(1024)), 896);
        assert_eq!(effective_max(19_000, 128, Some(65_536)), 19_000);
        assert_eq!(effective_max(500, 128, None), 500);
        assert_eq!(effective_max(500, 128, Some(10)), 1);
        let l = Limits::default();
        let (line, warn) = capacity_line(&l, Some(1024), 896);
        assert!(
            warn && line.contains("896") && line.contains("19128"),
            "{line}"
        );
        assert!(!capacity_line(&l, Some(65_536), 19_000).1);
    }
}
