//! Outgoing webhooks: each workspace's subscriptions receive the events
//! they picked as signed HTTP POSTs (Standard Webhooks, see [`sign`]).
//!
//! Two tasks per process (and a retention sweep every ten minutes of the
//! delivery log), started by `app::serve` and stopped by its shutdown token:
//!
//! - **The dispatcher** ([`dispatch`]) is ONE outbox consumer for all
//!   subscriptions (named [`CONSUMER`]), not one per subscription. Each
//!   batch of events becomes delivery rows for every active subscription
//!   that wants them, written in the same transaction that moves the
//!   consumer's cursor ([`kefu_store::Store::dispatch_webhooks`]), so an
//!   event committed before a `kill -9` is delivered after the restart,
//!   and a batch handed on twice records nothing twice. Why one consumer:
//!   the outbox is read once per batch however many subscriptions there
//!   are (a consumer per subscription reads every event N times), creating,
//!   pausing or deleting a subscription starts or stops no task, and a
//!   deleted subscription leaves no cursor behind holding back pruning. A
//!   new subscription records the outbox head when it is created and hears
//!   only of later events, as a consumer of its own starting at the head would.
//! - **The sender** ([`send::run`]) claims due deliveries (a lease of the
//!   timeout plus a margin, so an attempt cut by a crash is retried once the
//!   lease runs out, with the same `webhook-id`), POSTs them through a client
//!   whose DNS resolver refuses private destinations ([`guard`]), and
//!   records each attempt: delivered on 2xx; otherwise retried after the
//!   next wait of `[webhooks] retry_schedule_ms` (with jitter) and dead when
//!   the schedule runs out. `pause_after_failures` failed attempts in a row
//!   pause the subscription: its deliveries wait until an admin resumes it.
//!
//! Delivery is at least once and unordered: receivers dedupe on
//! `webhook-id` and order by the event's `occurred_at`.

pub mod guard;
mod send;
pub mod sign;

use crate::{
    app::SharedState,
    config::WebhooksConfig,
    outbox::{Handled, Start},
};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;

/// The outbox consumer name of the dispatcher.
pub const CONSUMER: &str = "webhooks";

/// What the API shares with the sender: the HTTP client and a wake-up for
/// deliveries that became due (new events, tests, replays, a resume).
pub struct Webhooks {
    wake: Notify,
    client: reqwest::Client,
}

impl Webhooks {
    /// Builds the sending client: the guarded resolver, no redirects, no
    /// proxies from the environment, the configured timeout.
    pub fn new(cfg: &WebhooksConfig) -> Result<Webhooks, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard::GuardedResolver {
                allow_private: cfg.allow_private_networks,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms.min(10_000)))
            .user_agent(concat!("kefu-webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Webhooks {
            wake: Notify::new(),
            client,
        })
    }

    /// Tells the sender to look for due deliveries now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the dispatcher, the sender and the log's retention; the handle
/// resolves once all have stopped after `state.shutdown`.
pub fn spawn(state: &SharedState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        tokio::join!(
            dispatch(state.clone()),
            send::run(state.clone()),
            prune(state)
        );
    })
}

/// Deletes settled deliveries older than `delivery_retention_days`, every
/// ten minutes until shutdown, in slices so the writer is never held long.
async fn prune(state: SharedState) {
    let keep = state
        .cfg
        .webhooks
        .delivery_retention_days
        .saturating_mul(86_400_000);
    loop {
        let before = kefu_store::now_ms().saturating_sub(i64::try_from(keep).unwrap_or(i64::MAX));
        loop {
            match state.store.prune_webhook_deliveries(before, 1000).await {
                Ok(1000) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning the webhook delivery log failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = state.shutdown.cancelled() => return,
        }
    }
}

/// Follows the outbox and records deliveries (see the module doc).
async fn dispatch(state: SharedState) {
    let st = state.clone();
    // From the oldest event still kept: on a fresh install that is before
    // any subscription exists, and each subscription skips events before
    // its own creation anyway.
    crate::outbox::follow(state, CONSUMER.into(), Start::Oldest, move |rows| {
        let st = st.clone();
        async move {
            let Some(through) = rows.last().map(|r| r.position) else {
                return Handled::Through(0);
            };
            match st.store.dispatch_webhooks(CONSUMER, rows, through).await {
                Ok(created) => {
                    if created > 0 {
                        st.webhooks.wake();
                    }
                    Handled::Through(through)
                }
                Err(e) => Handled::Retry(e.to_string()),
            }
        }
    })
    .await
}
