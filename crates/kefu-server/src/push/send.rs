//! One notification to one browser: encrypted to the browser's keys
//! (RFC 8291, aes128gcm), signed with our VAPID key (RFC 8292), POSTed to
//! its push service (RFC 8030), and the answer recorded on the subscription.

use super::subscription::check_endpoint;
use crate::app::SharedState;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use kefu_store::PushSubscription;
use std::{sync::Arc, time::Duration};

/// How one POST went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The push service took it (2xx).
    Delivered,
    /// The push service says the subscription is gone (404, 410): it was deleted.
    Gone,
    /// Not delivered; `retry` when trying again later may help (network,
    /// 429, 5xx), not when the request itself is refused (400, 403, 413).
    Failed { retry: bool, why: String },
}

/// Longest answer body read from a push service (for the log only).
const MAX_ANSWER_BYTES: usize = 512;

/// Encrypts and POSTs `payload` to `sub` once, recording nothing.
pub async fn post(state: &SharedState, sub: &PushSubscription, payload: &[u8]) -> Outcome {
    let failed = |retry, why: String| Outcome::Failed { retry, why };
    let Some(key) = state.push.key.as_ref() else {
        return failed(false, "push is off".into());
    };
    // Checked again at each push: the setting may have changed since.
    let url = match check_endpoint(&sub.endpoint, state.cfg.push.allow_private_endpoints) {
        Ok(u) => u,
        Err(e) => return failed(false, e.to_string()),
    };
    let ua_public = URL_SAFE_NO_PAD
        .decode(&sub.p256dh)
        .ok()
        .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok());
    let auth = URL_SAFE_NO_PAD
        .decode(&sub.auth)
        .ok()
        .and_then(|a| <[u8; 16]>::try_from(a.as_slice()).ok())
        .map(web_push_native::Auth::from);
    let (Some(ua_public), Some(auth)) = (ua_public, auth) else {
        return failed(false, "the stored browser keys are unusable".into());
    };
    let body = match web_push_native::encrypt(payload.to_vec(), &ua_public, &auth) {
        Ok(b) => b,
        Err(e) => return failed(false, format!("encrypting: {e}")),
    };
    let origin = url.origin().ascii_serialization();
    let answer = state
        .push
        .client
        .post(url)
        .header("TTL", state.cfg.push.ttl_secs.to_string())
        .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .header(
            reqwest::header::AUTHORIZATION,
            key.authorization(&origin, &state.push.subject),
        )
        .body(body)
        .send()
        .await;
    let mut res = match answer {
        Ok(r) => r,
        Err(e) => return failed(true, error_chain(&e)),
    };
    let status = res.status().as_u16();
    match status {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        _ => {
            // The start of the answer only: a hostile endpoint could send without end.
            let mut head = Vec::new();
            while head.len() < MAX_ANSWER_BYTES {
                match res.chunk().await {
                    Ok(Some(c)) => head.extend_from_slice(&c),
                    _ => break,
                }
            }
            head.truncate(MAX_ANSWER_BYTES);
            let text = String::from_utf8_lossy(&head);
            failed(
                status == 429 || status >= 500,
                format!("{origin} answered {status}: {text}"),
            )
        }
    }
}

/// The error and its causes (reqwest's own message hides the cause, such
/// as the SSRF guard's refusal).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Records what became of a notification to `sub`: a success clears its
/// failures, gone deletes it, a failure counts (and deletes it after
/// `drop_after_failures` in a row).
pub async fn record(state: &SharedState, sub: &PushSubscription, outcome: &Outcome) {
    let host = host_of(&sub.endpoint);
    let done = match outcome {
        Outcome::Delivered => state.store.record_push_success(&sub.id).await,
        Outcome::Gone => {
            tracing::info!(subscription = %sub.id, %host, "push subscription gone; deleted");
            state
                .store
                .remove_push_subscription(&sub.id)
                .await
                .map(drop)
        }
        Outcome::Failed { why, .. } => {
            tracing::warn!(subscription = %sub.id, %host, error = %why, "push failed");
            match state.store.record_push_failure(&sub.id).await {
                Ok(n) if n >= state.cfg.push.drop_after_failures => {
                    tracing::info!(subscription = %sub.id, failures = n, "push subscription failing for good; deleted");
                    state
                        .store
                        .remove_push_subscription(&sub.id)
                        .await
                        .map(drop)
                }
                Ok(_) | Err(kefu_store::StoreError::NotFound) => Ok(()),
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = done {
        tracing::warn!(subscription = %sub.id, error = %e, "recording a push outcome failed");
    }
}

/// The push service's host, for logs: the endpoint's path is a capability
/// (whoever has it can push to that browser) and stays out of them.
fn host_of(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// Delivers one notification to `sub`: up to `max_attempts` POSTs,
/// `retry_base_ms` apart and doubling, then records the outcome. Stops
/// waiting when the server shuts down (the failure is recorded).
pub async fn deliver(state: SharedState, sub: PushSubscription, payload: Arc<[u8]>) {
    let cfg = &state.cfg.push;
    let mut wait = Duration::from_millis(cfg.retry_base_ms);
    let mut attempt = 1;
    let outcome = loop {
        let o = post(&state, &sub, &payload).await;
        match o {
            Outcome::Failed { retry: true, .. } if attempt < cfg.max_attempts => {
                attempt += 1;
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = state.shutdown.cancelled() => break o,
                }
                wait = wait.saturating_mul(2);
            }
            o => break o,
        }
    };
    record(&state, &sub, &outcome).await;
}
