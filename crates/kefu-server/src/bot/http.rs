//! What the bot's HTTP clients (embeddings server, LLM API) share: a client
//! with the operator's timeout, bearer authentication that never shows in
//! errors or logs, and a cap on how much of a reply is read.

use crate::config::Secret;
use std::time::Duration;

/// Most bytes read from one reply (64 batches of 4,096-dimension vectors fit).
pub const MAX_REPLY_BYTES: usize = 32 << 20;

/// Why a request to a model server failed; no variant carries the API key
/// or the request headers.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("no reply within {0} ms")]
    Timeout(u64),
    #[error("request failed: {0}")]
    Request(String),
    #[error("status {status}: {body}")]
    Status { status: u16, body: String },
    #[error("reply larger than {MAX_REPLY_BYTES} bytes")]
    TooLarge,
    #[error("unreadable reply: {0}")]
    Reply(String),
}

pub fn client(timeout_ms: u64) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .connect_timeout(Duration::from_millis(timeout_ms.min(5_000)))
        .build()
        .unwrap_or_default()
}

/// POSTs `body` as JSON and reads the JSON reply, all within `timeout_ms`.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    key: &Secret,
    timeout_ms: u64,
    body: &serde_json::Value,
) -> Result<serde_json::Value, HttpError> {
    let work = async {
        let mut req = http.post(url).json(body);
        if !key.is_empty() {
            req = req.bearer_auth(key.expose());
        }
        let err = |e| request_err(e, timeout_ms);
        let mut res = req.send().await.map_err(err)?;
        let status = res.status();
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(err)? {
            if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(HttpError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let body: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
            return Err(HttpError::Status {
                status: status.as_u16(),
                body,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| HttpError::Reply(e.to_string()))
    };
    match tokio::time::timeout(Duration::from_millis(timeout_ms), work).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout(timeout_ms)),
    }
}

fn request_err(e: reqwest::Error, timeout_ms: u64) -> HttpError {
    if e.is_timeout() {
        return HttpError::Timeout(timeout_ms);
    }
    // Without the URL: an operator may have put credentials in it.
    HttpError::Request(e.without_url().to_string())
}
