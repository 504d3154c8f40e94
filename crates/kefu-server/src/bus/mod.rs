//! The event bus: every outbox event published to a message broker, NATS
//! JetStream (`nats.rs`) and RabbitMQ (`amqp.rs`), each switched on in
//! `[bus.*]`.
//!
//! Each broker is one outbox consumer (`bus:nats`, `bus:amqp`) run by
//! [`crate::outbox::follow`]: its adapter gets the rows after its cursor in
//! position (commit) order, publishes them in that order and waits for the
//! broker to confirm them; the cursor moves only past the leading rows the
//! broker confirmed. So delivery is at least once, and in commit order, which
//! keeps each conversation's events in order. While a broker is unreachable
//! its adapter waits inside `publish`, reconnecting, with nothing sent; the
//! events wait in the outbox, chat goes on, and the backlog goes out in order
//! within seconds of the broker's return. A publish that fails while
//! connected (no ack in time, a refusal) is retried with the outbox's
//! backoff (up to 30 s).
//!
//! Another broker (Kafka, say) is one more [`Publisher`]; docs/integrations.md
//! says how it would plug in.

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "nats")]
pub mod nats;
pub mod pipeline;

use crate::{
    app::SharedState,
    config::Secret,
    outbox::{self, Handled, Start},
};
use kefu_core::event::Event;
use kefu_store::OutboxRow;
use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::task::JoinHandle;

/// Why a batch stopped short.
#[derive(Debug)]
pub struct Failed {
    /// How many leading rows of the batch the broker confirmed before it
    /// failed (those are handed on; the rest are tried again).
    pub confirmed: usize,
    /// What went wrong, with any password masked.
    pub reason: String,
}

impl Failed {
    pub fn none(reason: impl Into<String>) -> Failed {
        Failed {
            confirmed: 0,
            reason: reason.into(),
        }
    }
}

/// A broker adapter. It owns its connection: it connects on first use and
/// connects again after losing it, waiting (inside `publish`) while the
/// broker is unreachable. It lives as long as its consumer task, which drops
/// a `publish` in progress at shutdown (nothing is lost: the cursor only
/// moves past what was confirmed).
pub trait Publisher: Send + 'static {
    /// The outbox consumer (and cursor) name: `bus:<broker>`.
    const CONSUMER: &'static str;

    /// Publishes `rows` in order and returns once the broker has confirmed
    /// every one; on failure, says how many leading rows it confirmed. A row
    /// must never be confirmed before the rows ahead of it.
    fn publish(&mut self, rows: &[OutboxRow]) -> impl Future<Output = Result<(), Failed>> + Send;
}

/// `<workspace id>.<event type>`: the AMQP routing key, and the NATS subject
/// after its prefix. Workspace ids are UUIDs and type names are
/// `[a-z_]+`, so both are single tokens for NATS and AMQP topic patterns.
pub fn route(event: &Event) -> String {
    format!("{}.{}", event.workspace_id, event.change.type_name())
}

/// A broker being unreachable, for the logs: a warning once it has lasted
/// a moment (so a first connection or a blip says nothing) and every 30 s
/// while it lasts, and a line when it is over. While it lasts an adapter
/// waits (and reconnects) inside `publish` rather than failing, so the
/// backlog goes out within seconds of the broker's return instead of after
/// the outbox's retry backoff (up to 30 s).
pub struct Outage {
    consumer: &'static str,
    since: Option<Instant>,
    /// When the last warning was logged (None: none yet in this outage).
    warned: Option<Instant>,
}

impl Outage {
    const GRACE: Duration = Duration::from_secs(2);
    const WARN_EVERY: Duration = Duration::from_secs(30);

    pub fn new(consumer: &'static str) -> Outage {
        Outage {
            consumer,
            since: None,
            warned: None,
        }
    }

    /// The broker is still unreachable, for `why`.
    pub fn still(&mut self, why: &str) {
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        let due = match self.warned {
            None => now - since >= Self::GRACE,
            Some(last) => now - last >= Self::WARN_EVERY,
        };
        if due {
            self.warned = Some(now);
            tracing::warn!(
                consumer = self.consumer,
                down_secs = (now - since).as_secs(),
                error = %why,
                "broker unreachable; events wait in the outbox"
            );
        }
    }

    /// The broker is reachable (again).
    pub fn over(&mut self) {
        if let (Some(since), Some(_)) = (self.since.take(), self.warned.take()) {
            tracing::info!(
                consumer = self.consumer,
                down_ms = since.elapsed().as_millis() as u64,
                "broker reachable again"
            );
        }
    }
}

/// The secret part of a broker URL: the password of `user:password@`, or a
/// lone token (`nats://token@host`).
fn url_secret(raw: &str) -> Option<&str> {
    let s = raw.find("://")?;
    let at = raw.rfind('@').filter(|&at| at > s)?;
    let creds = &raw[s + 3..at];
    let secret = creds.split_once(':').map_or(creds, |(_, p)| p);
    (!secret.is_empty()).then_some(secret)
}

/// The broker URL for logs, its password (or token) masked:
/// `amqp://kefu:***@mq:5672/%2f`, `nats://***@nats:4222`.
pub fn shown(url: &Secret) -> String {
    let raw = url.expose();
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s && !raw[s + 3..at].contains(':') => {
            format!("{}***{}", &raw[..s + 3], &raw[at..])
        }
        _ => kefu_store::backend::redact(raw),
    }
}

/// `text` with the URL's password (or token) masked, in case a client
/// library quoted it in an error.
pub fn scrub(text: String, url: &Secret) -> String {
    match url_secret(url.expose()) {
        Some(secret) => text.replace(secret, "***"),
        None => text,
    }
}

/// Starts a consumer for each enabled bus (call before serving, so a bus seen
/// for the first time hears of every change made from then on). A disabled
/// bus's cursor is forgotten, so it does not hold back outbox pruning; when
/// it is enabled again it starts with the events committed from then on.
/// Every task ends on `state.shutdown`.
pub async fn start(state: &SharedState) -> Vec<JoinHandle<()>> {
    let cfg = &state.cfg.bus;
    let tasks = [start_nats(state).await, start_amqp(state).await]
        .into_iter()
        .flatten()
        .collect();
    for (enabled, name) in [
        (cfg.nats.enabled, "bus:nats"),
        (cfg.amqp.enabled, "bus:amqp"),
    ] {
        if !enabled && let Err(e) = state.store.drop_outbox_cursor(name).await {
            tracing::warn!(consumer = name, error = %e, "forgetting a disabled bus's cursor failed");
        }
    }
    tasks
}

#[cfg(feature = "nats")]
async fn start_nats(state: &SharedState) -> Option<JoinHandle<()>> {
    let cfg = &state.cfg.bus.nats;
    if !cfg.enabled {
        return None;
    }
    tracing::info!(
        url = %shown(&cfg.url),
        stream = %cfg.stream,
        subjects = %format!("{}.>", cfg.subject_prefix),
        "event bus: NATS JetStream"
    );
    Some(spawn(state, nats::Nats::new(cfg.clone())).await)
}

/// Without the feature, config validation refuses `enabled = true`.
#[cfg(not(feature = "nats"))]
async fn start_nats(_: &SharedState) -> Option<JoinHandle<()>> {
    None
}

#[cfg(feature = "amqp")]
async fn start_amqp(state: &SharedState) -> Option<JoinHandle<()>> {
    let cfg = &state.cfg.bus.amqp;
    if !cfg.enabled {
        return None;
    }
    tracing::info!(
        url = %shown(&cfg.url),
        exchange = %cfg.exchange,
        "event bus: AMQP (RabbitMQ)"
    );
    Some(spawn(state, amqp::Amqp::new(cfg.clone())).await)
}

#[cfg(not(feature = "amqp"))]
async fn start_amqp(_: &SharedState) -> Option<JoinHandle<()>> {
    None
}

/// Registers `P`'s cursor and starts its consumer task.
#[cfg_attr(not(any(feature = "nats", feature = "amqp")), allow(dead_code))]
async fn spawn<P: Publisher>(state: &SharedState, publisher: P) -> JoinHandle<()> {
    register(state, P::CONSUMER).await;
    tokio::spawn(run(state.clone(), publisher))
}

/// Registers consumer `name` at the outbox head if it is new. On an error
/// [`outbox::follow`] registers it itself, a little later.
#[cfg_attr(not(any(feature = "nats", feature = "amqp")), allow(dead_code))]
async fn register(state: &SharedState, name: &str) {
    let registered = async {
        let head = state.store.outbox_head().await?;
        state.store.outbox_cursor(name, head).await
    };
    if let Err(e) = registered.await {
        tracing::warn!(consumer = name, error = %e, "registering the bus cursor failed; retrying");
    }
}

/// Feeds `publisher` the outbox until shutdown.
#[cfg_attr(not(any(feature = "nats", feature = "amqp")), allow(dead_code))]
async fn run<P: Publisher>(state: SharedState, publisher: P) {
    // `follow` takes a closure returning a future; the future needs the
    // publisher for as long as it runs, hence the (uncontended) mutex.
    let publisher = Arc::new(tokio::sync::Mutex::new(publisher));
    let shutdown = state.shutdown.clone();
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    outbox::follow(state, P::CONSUMER.to_string(), Start::Now, move |rows| {
        let publisher = publisher.clone();
        let shutdown = shutdown.clone();
        let failing = failing.clone();
        async move {
            let mut p = publisher.lock().await;
            let outcome = tokio::select! {
                biased;
                r = p.publish(&rows) => r,
                // Nothing is lost by stopping mid-batch: the cursor has not
                // moved. A position at or below the cursor moves nothing, and
                // `follow` then sees the shutdown.
                _ = shutdown.cancelled() => return Handled::Through(rows[0].position - 1),
            };
            handled(P::CONSUMER, &rows, outcome, &failing)
        }
    })
    .await;
}

/// What `follow` makes of a batch's outcome; logs the bus coming back.
#[cfg_attr(not(any(feature = "nats", feature = "amqp")), allow(dead_code))]
fn handled(
    consumer: &str,
    rows: &[OutboxRow],
    outcome: Result<(), Failed>,
    failing: &std::sync::atomic::AtomicBool,
) -> Handled {
    use std::sync::atomic::Ordering::Relaxed;
    match outcome {
        Ok(()) => {
            if failing.swap(false, Relaxed) {
                tracing::info!(consumer, "event bus delivering again");
            }
            Handled::Through(rows[rows.len() - 1].position)
        }
        Err(Failed { confirmed, reason }) => {
            failing.store(true, Relaxed);
            match confirmed.min(rows.len()) {
                // `follow` logs it and retries with backoff.
                0 => Handled::Retry(reason),
                n => {
                    tracing::warn!(consumer, confirmed = n, of = rows.len(), error = %reason, "event bus batch cut short");
                    Handled::Through(rows[n - 1].position)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_masks_the_password_or_token() {
        let u = Secret::new("amqp://kefu:hunter2@mq:5672/%2f");
        assert_eq!(
            scrub("auth failed for hunter2".into(), &u),
            "auth failed for ***"
        );
        assert_eq!(shown(&u), "amqp://kefu:***@mq:5672/%2f");
        let t = Secret::new("nats://s3cr3tt0ken@nats:4222");
        assert_eq!(scrub("bad s3cr3tt0ken".into(), &t), "bad ***");
        assert_eq!(shown(&t), "nats://***@nats:4222");
        let guest = Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(shown(&guest), "amqp://guest:***@127.0.0.1:5672/%2f");
        let plain = Secret::new("nats://127.0.0.1:4222");
        assert_eq!(scrub("refused".into(), &plain), "refused");
    }
}
