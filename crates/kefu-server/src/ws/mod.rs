//! The realtime gateway: `GET /ws` upgrades to a WebSocket speaking the
//! protocol in docs/protocol.md. The token comes in the first frame (browsers)
//! or an `Authorization` header (apps), never in the URL.

mod connection;

use crate::{
    app::SharedState,
    auth::principal::{authenticate, bearer},
    error::ApiError,
};
use axum::{
    extract::{State, WebSocketUpgrade},
    http::HeaderMap,
    response::{IntoResponse, Response},
};

/// Close codes the server uses besides the standard ones.
pub mod close_code {
    /// Authentication missing, invalid or too late.
    pub const UNAUTHORIZED: u16 = 4001;
}

pub async fn upgrade(
    State(state): State<SharedState>,
    headers: HeaderMap,
    hold: Option<axum::Extension<crate::net::ClientHold>>,
    ws: WebSocketUpgrade,
) -> Response {
    let pre_auth = match bearer(&headers) {
        Some(token) => match authenticate(&state, token).await {
            Ok(p) => Some(p),
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    let origin = crate::api::widget::page_origin(&headers).map(str::to_string);
    if state.shutdown.is_cancelled() {
        return ApiError::unavailable("the server is shutting down").into_response();
    }
    let l = &state.cfg.limits;
    ws.read_buffer_size(l.ws_read_buffer_bytes)
        .write_buffer_size(l.ws_write_buffer_bytes)
        .max_write_buffer_size(l.ws_write_buffer_bytes + 4 * l.max_frame_bytes.max(64 * 1024))
        .max_message_size(l.max_frame_bytes)
        .max_frame_size(l.max_frame_bytes)
        .on_upgrade(move |socket| async move {
            // A client behind a trusted proxy keeps its open slot while connected.
            let _hold = hold;
            connection::run(socket, state, pre_auth, origin).await
        })
}
