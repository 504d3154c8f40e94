//! The OpenAI chat completions API over a [`LocalLlm`] (`kefu bot
//! serve-llm`): `POST /v1/chat/completions` (no streaming), `GET
//! /v1/models`, `GET /health`. Errors use OpenAI's shape
//! (`{"error": {"message", "type", "code"}}`) so any client reads them.

use super::{LocalLlm, LocalLlmError, MAX_ANSWER_TOKENS, Sampling};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use std::sync::Arc;

/// Largest request body: a retrieval prompt is a few kilobytes.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone)]
struct Served {
    llm: Arc<LocalLlm>,
    /// `Authorization: Bearer <key>` required when set.
    api_key: Option<String>,
}

/// The router; `api_key` makes every `/v1` request need it.
pub fn router(llm: Arc<LocalLlm>, api_key: Option<String>) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(completions))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Served { llm, api_key })
}

fn error(status: StatusCode, kind: &str, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"message": message.into(), "type": kind, "code": code}});
    (status, Json(body)).into_response()
}

fn bad_request(code: &str, message: impl Into<String>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        code,
        message,
    )
}

fn authorized(s: &Served, headers: &HeaderMap) -> bool {
    let Some(key) = &s.api_key else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Digests compared, so the time taken says nothing about the key.
    given.is_some_and(|g| {
        use sha2::{Digest, Sha256};
        Sha256::digest(g.as_bytes()) == Sha256::digest(key.as_bytes())
    })
}

async fn models(State(s): State<Served>, headers: HeaderMap) -> Response {
    if !authorized(&s, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            "missing or wrong API key",
        );
    }
    Json(json!({"object": "list", "data": [
        {"id": s.llm.name, "object": "model", "owned_by": "kefu"}
    ]}))
    .into_response()
}

/// A message's text: a string, or an array of `{"type": "text", "text"}` parts.
fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => parts
            .iter()
            .map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Option<Vec<_>>>()
            .map(|t| t.concat()),
        _ => None,
    }
}

async fn completions(
    State(s): State<Served>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    if !authorized(&s, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            "missing or wrong API key",
        );
    }
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("invalid_json", e.body_text()),
    };
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        return bad_request("stream_unsupported", "streaming is not supported");
    }
    let Some(list) = req.get("messages").and_then(Value::as_array) else {
        return bad_request("messages_missing", "'messages' must be an array");
    };
    let mut messages = Vec::with_capacity(list.len());
    for m in list {
        let role = m.get("role").and_then(Value::as_str);
        let content = m.get("content").and_then(text_of);
        let (Some(role), Some(content)) = (role, content) else {
            return bad_request(
                "message_invalid",
                "each message needs a 'role' string and a text 'content'",
            );
        };
        messages.push((role.to_string(), content));
    }
    if messages.is_empty() {
        return bad_request("messages_missing", "'messages' is empty");
    }
    let max_tokens = match req
        .get("max_tokens")
        .or_else(|| req.get("max_completion_tokens"))
    {
        None | Some(Value::Null) => 256,
        Some(v) => match v.as_u64() {
            Some(n @ 1..) if n as usize <= MAX_ANSWER_TOKENS => n as usize,
            _ => {
                return bad_request(
                    "max_tokens_invalid",
                    format!("'max_tokens' must be 1..={MAX_ANSWER_TOKENS}"),
                );
            }
        },
    };
    let temperature = req
        .get("temperature")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    if !(0.0..=2.0).contains(&temperature) {
        return bad_request("temperature_invalid", "'temperature' must be 0..=2");
    }
    let seed = req.get("seed").and_then(Value::as_u64).unwrap_or(0);
    let llm = s.llm.clone();
    let sampling = Sampling {
        max_tokens,
        temperature,
        seed,
    };
    let done = tokio::task::spawn_blocking(move || llm.chat(&messages, sampling, None)).await;
    let g = match done {
        Ok(Ok(g)) => g,
        Ok(Err(e @ (LocalLlmError::PromptTooLong { .. } | LocalLlmError::Role(_)))) => {
            return bad_request("prompt_invalid", e.to_string());
        }
        Ok(Err(e)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "model_failed",
                e.to_string(),
            );
        }
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "model_failed",
                e.to_string(),
            );
        }
    };
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Json(json!({
        "id": format!("chatcmpl-{}", crate::auth::tokens::random_token(12)),
        "object": "chat.completion",
        "created": created,
        "model": s.llm.name,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": g.text},
            "finish_reason": g.finish.as_str(),
        }],
        "usage": {
            "prompt_tokens": g.prompt_tokens,
            "completion_tokens": g.completion_tokens,
            "total_tokens": g.prompt_tokens + g.completion_tokens,
        },
    }))
    .into_response()
}
