//! Fast refusals: what a client past a cap is told, and which requests the
//! reserved headroom still serves.

use super::gate::Why;
use crate::{app::SharedState, auth::principal::bearer, error::ApiError};
use axum::{
    body::Body,
    extract::{
        FromRequestParts, WebSocketUpgrade,
        ws::{CloseFrame, Message},
    },
    http::{HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::net::TcpStream;

/// WebSocket close code for "try again later".
pub const TRY_AGAIN_LATER: u16 = 1013;

/// Requests served in the reserved headroom: health checks, the console's
/// pages and logins, and anything a staff member's access token asks for.
pub fn is_priority(state: &SharedState, req: &Request<Body>) -> bool {
    let path = req.uri().path();
    if matches!(path, "/healthz" | "/readyz")
        || path == "/console"
        || path.starts_with("/console/")
        || path.starts_with("/api/v1/auth/")
    {
        return true;
    }
    bearer(req.headers()).is_some_and(|t| state.keys.check_access(t).is_ok())
}

fn error(why: Why, retry_after: u64) -> ApiError {
    ApiError {
        retry_after: Some(retry_after.max(1)),
        ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why.code(), why.message())
    }
}

/// The answer to a refused request: a WebSocket handshake is accepted and
/// closed at once with 1013 (what WebSocket clients understand as "retry
/// later"); anything else gets 503 with `Retry-After`. The connection closes.
pub async fn answer(req: Request<Body>, why: Why, retry_after: u64) -> Response {
    let is_ws = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let mut res = if is_ws {
        let (mut parts, _) = req.into_parts();
        match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(ws) => ws
                .on_upgrade(move |mut socket| async move {
                    let frame = CloseFrame {
                        code: TRY_AGAIN_LATER,
                        reason: why.message().into(),
                    };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                })
                .into_response(),
            Err(_) => error(why, retry_after).into_response(),
        }
    } else {
        error(why, retry_after).into_response()
    };
    if res.status() != StatusCode::SWITCHING_PROTOCOLS {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// A request whose body came too slowly.
pub fn body_timeout() -> Response {
    let mut res = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        "the request body came too slowly",
    )
    .into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Past every budget: a 503 written straight to the socket without reading
/// the request, then closed. Costs no task and holds the descriptor for
/// microseconds.
pub fn answer_unread(stream: TcpStream, why: Why, retry_after: u64) {
    let body =
        serde_json::json!({"error": {"code": why.code(), "message": why.message()}}).to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        retry_after.max(1),
        body.len()
    );
    let _ = stream.try_write(format!("{head}{body}").as_bytes());
}
