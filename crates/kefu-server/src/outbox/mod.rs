//! Consumers of the outbox: each (a webhook subscription's dispatcher, a
//! bus publisher) follows the events after its own cursor, in position
//! order, and moves its cursor only once it has handed them on, so an event
//! is never skipped, across `kill -9` too (at least once: a consumer that
//! dies between handing on and moving its cursor hands those on again).
//!
//! [`follow`] is the loop they share: wake on a commit (or poll, for other
//! nodes' commits on a shared PostgreSQL), read a batch, hand it to the
//! consumer, retry with backoff while it fails.

use crate::app::SharedState;
use kefu_store::OutboxRow;
use std::{future::Future, time::Duration};
use tokio::sync::watch;

/// Rings after every commit that stored events; consumers wait on it.
pub struct Wake {
    tx: watch::Sender<u64>,
}

impl Default for Wake {
    fn default() -> Self {
        Wake {
            tx: watch::channel(0).0,
        }
    }
}

impl Wake {
    pub fn wake(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// Where a consumer seen for the first time starts.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// With the events committed from now on.
    Now,
    /// With every event still in the outbox.
    Oldest,
}

/// What a consumer made of a batch.
pub enum Handled {
    /// Everything up to and including this position is handed on.
    Through(i64),
    /// Nothing could be handed on now (a broker is down): try again after
    /// the backoff, from the same cursor.
    Retry(String),
}

/// Longest wait between retries of a failing consumer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs consumer `name` until shutdown: `handle` gets each batch of rows
/// after the cursor, in order.
pub async fn follow<F, Fut>(state: SharedState, name: String, start: Start, mut handle: F)
where
    F: FnMut(Vec<OutboxRow>) -> Fut,
    Fut: Future<Output = Handled>,
{
    let cfg = state.cfg.outbox.clone();
    let mut woken = state.outbox.subscribe();
    let poll = Duration::from_millis(cfg.poll_ms.max(10));
    let mut backoff = Duration::from_millis(200);
    let mut cursor = loop {
        let head = match start {
            Start::Now => match state.store.outbox_head().await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(consumer = %name, error = %e, "reading the outbox head failed");
                    if pause(&state, backoff).await {
                        return;
                    }
                    continue;
                }
            },
            Start::Oldest => 0,
        };
        match state.store.outbox_cursor(&name, head).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(consumer = %name, error = %e, "reading the outbox cursor failed");
                if pause(&state, backoff).await {
                    return;
                }
            }
        }
    };
    loop {
        if state.shutdown.is_cancelled() {
            return;
        }
        woken.borrow_and_update();
        let rows = match state.store.outbox_after(cursor, cfg.batch.max(1)).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(consumer = %name, error = %e, "reading the outbox failed");
                if pause(&state, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if rows.is_empty() {
            tokio::select! {
                _ = woken.changed() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = state.shutdown.cancelled() => return,
            }
            continue;
        }
        match handle(rows).await {
            Handled::Through(position) => {
                backoff = Duration::from_millis(200);
                if position > cursor {
                    cursor = position;
                    if let Err(e) = state.store.advance_outbox_cursor(&name, position).await {
                        // Handed on again after a restart: at least once.
                        tracing::warn!(consumer = %name, error = %e, "saving the outbox cursor failed");
                    }
                }
            }
            Handled::Retry(why) => {
                tracing::warn!(consumer = %name, retry_in_ms = backoff.as_millis() as u64, error = %why, "consumer failed; retrying");
                if pause(&state, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Sleeps `d`; true when shutdown came first.
async fn pause(state: &SharedState, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = state.shutdown.cancelled() => true,
    }
}

/// Deletes events every consumer has passed once they are older than the
/// retention period, every minute until shutdown.
pub async fn prune(state: SharedState) {
    let keep = Duration::from_secs(state.cfg.outbox.retention_hours.saturating_mul(3600));
    loop {
        let before = kefu_store::now_ms() - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        // In slices, so one prune never holds the writer for long.
        loop {
            match state.store.prune_outbox(before, 5000).await {
                Ok(5000) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning the outbox failed");
                    break;
                }
            }
        }
        if pause(&state, Duration::from_secs(60)).await {
            return;
        }
    }
}
