//! The sender: claims due deliveries, POSTs them signed, records how each
//! attempt went, and schedules the next one.

use super::{guard, sign};
use crate::{app::SharedState, config::WebhooksConfig};
use kefu_store::{AttemptOutcome, DeliveryState, DueDelivery, now_ms};
use rand::Rng;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Added to the timeout for a claim's lease: an attempt still running after
/// that is taken for dead (its process crashed) and tried again.
const LEASE_MARGIN_MS: i64 = 5_000;

/// How long in-flight attempts may finish after shutdown starts; the rest
/// are abandoned and retried after their lease, by this or another process.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs until shutdown.
pub(super) async fn run(state: SharedState) {
    let cfg = state.cfg.webhooks.clone();
    let poll = Duration::from_millis(cfg.poll_ms);
    let mut tasks: JoinSet<()> = JoinSet::new();
    loop {
        if state.shutdown.is_cancelled() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let free = cfg.concurrency.saturating_sub(tasks.len());
        // A read first: an idle sender makes no writes.
        let mut next = match state.store.next_webhook_due().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "reading the next webhook delivery failed");
                None
            }
        };
        if free > 0 && next.is_some_and(|t| t <= now_ms()) {
            let now = now_ms();
            let lease = now + cfg.timeout_ms as i64 + LEASE_MARGIN_MS;
            match state
                .store
                .claim_webhook_deliveries(now, lease, free as i64)
                .await
            {
                Ok(due) => {
                    let claimed = due.len();
                    for d in due {
                        tasks.spawn(attempt(state.clone(), d));
                    }
                    if claimed == free {
                        // There may be more due: claim again once a slot frees.
                        continue;
                    }
                    next = state.store.next_webhook_due().await.ok().flatten();
                }
                Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
            }
        }
        let wait = if tasks.len() >= cfg.concurrency {
            None
        } else {
            Some(match next {
                Some(t) => Duration::from_millis((t - now_ms()).max(10) as u64).min(poll),
                None => poll,
            })
        };
        tokio::select! {
            _ = state.webhooks.wake.notified() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = tokio::time::sleep(wait.unwrap_or(poll)), if wait.is_some() => {}
            _ = state.shutdown.cancelled() => break,
        }
    }
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
}

/// The wait before the next attempt after `done` failed attempts in this
/// round, with jitter; `None` when the schedule is used up (dead letter).
pub(crate) fn retry_delay(cfg: &WebhooksConfig, done: i64) -> Option<Duration> {
    let base = *cfg.retry_schedule_ms.get(usize::try_from(done - 1).ok()?)? as f64;
    let j = cfg.retry_jitter_percent.min(100) as f64 / 100.0;
    let factor = if j > 0.0 {
        rand::rng().random_range(1.0 - j..=1.0 + j)
    } else {
        1.0
    };
    Some(Duration::from_millis((base * factor).round() as u64))
}

/// One attempt of `d`, recorded.
async fn attempt(state: SharedState, d: DueDelivery) {
    let cfg = &state.cfg.webhooks;
    let started_at = now_ms();
    let t0 = Instant::now();
    let answer = post(&state, &d).await;
    let latency_ms = t0.elapsed().as_millis() as i64;
    let outcome = match answer {
        Ok((status, body)) => AttemptOutcome {
            started_at,
            status: Some(i64::from(status)),
            latency_ms,
            error: None,
            response: Some(body),
            success: (200..300).contains(&status),
        },
        Err(error) => AttemptOutcome {
            started_at,
            status: None,
            latency_ms,
            error: Some(error),
            response: None,
            success: false,
        },
    };
    let retry_at = if outcome.success {
        None
    } else {
        retry_delay(cfg, d.round_attempts + 1).map(|w| now_ms() + w.as_millis() as i64)
    };
    let (status, error) = (outcome.status, outcome.error.clone());
    match state
        .store
        .record_webhook_attempt(&d.id, outcome, retry_at, cfg.pause_after_failures)
        .await
    {
        Ok(Some(r)) => {
            if r.state == DeliveryState::Dead {
                tracing::warn!(delivery = %d.id, subscription = %d.subscription_id, ?status, ?error, "webhook delivery is dead: out of retries");
            }
            if r.paused {
                tracing::warn!(subscription = %d.subscription_id, failures = cfg.pause_after_failures, "webhook subscription paused: its deliveries keep failing");
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(delivery = %d.id, error = %e, "recording a webhook attempt failed")
        }
    }
}

/// POSTs `d`; the status and the start of the answer's body, or why no
/// answer came.
async fn post(state: &SharedState, d: &DueDelivery) -> Result<(u16, String), String> {
    let cfg = &state.cfg.webhooks;
    let url = guard::check_url(&d.url, cfg.allow_private_networks).map_err(|e| e.to_string())?;
    let ts = now_ms() / 1000;
    let signature = sign::header(&d.keys, &d.id, ts, d.payload.as_bytes());
    let res = state
        .webhooks
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone())
        .send()
        .await
        .map_err(|e| describe(&e, cfg.timeout_ms))?;
    let status = res.status().as_u16();
    Ok((status, excerpt(res, cfg.max_response_bytes).await))
}

/// The first `max` bytes of the body (as text; a cut character is dropped).
async fn excerpt(mut res: reqwest::Response, max: usize) -> String {
    let mut buf = Vec::new();
    while buf.len() < max {
        match res.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            _ => break,
        }
    }
    buf.truncate(max);
    let s = String::from_utf8_lossy(&buf).into_owned();
    s.trim_end_matches('\u{FFFD}').to_string()
}

/// An error as the delivery log shows it: what happened, with the cause.
fn describe(e: &reqwest::Error, timeout_ms: u64) -> String {
    if e.is_timeout() {
        return format!("timed out after {timeout_ms} ms");
    }
    let mut msg = if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_with_jitter_then_dead() {
        let cfg = WebhooksConfig {
            retry_schedule_ms: vec![1000, 4000],
            retry_jitter_percent: 20,
            ..Default::default()
        };
        for _ in 0..100 {
            let a = retry_delay(&cfg, 1).unwrap().as_millis();
            let b = retry_delay(&cfg, 2).unwrap().as_millis();
            assert!((800..=1200).contains(&a), "{a}");
            assert!((3200..=4800).contains(&b), "{b}");
        }
        assert_eq!(retry_delay(&cfg, 3), None);
        let d = WebhooksConfig::default();
        let total: u64 = d.retry_schedule_ms.iter().sum();
        assert!(
            (70 * 3_600_000..74 * 3_600_000).contains(&total),
            "about three days: {total}"
        );
    }
}
