//! The widget's fallback transport: Server-Sent Events for receiving, when a
//! WebSocket cannot connect (a proxy or corporate network that blocks it).
//! Sending then goes over HTTP POST (`/api/v1/widget/messages`, `…/typing`,
//! `…/read`), with the same idempotency.
//!
//! `GET /api/v1/widget/events?sync=<conversation>:<after_seq>,…` streams the
//! same JSON frames as the WebSocket, one per SSE `data:` line: `hello`, then
//! the stored messages after each position and `synced` (exactly like a
//! `sync` frame), then live frames. The stream joins the visitor's hub topic
//! *before* reading history, and remembers the highest `seq` it sent per
//! conversation, so nothing falls between history and live frames and nothing
//! is sent twice; a live frame that overtakes another has its gap filled from
//! the store first. A resumed client dedupes by `(conversation_id, seq)`.
//!
//! Authentication is the visitor token in the `Authorization` header (the
//! widget reads the stream with `fetch`, so no token ever goes in the URL),
//! and the page's `Origin` must be allowed by the inbox, as everywhere.
//! A comment line (`: ping`) every `heartbeat_secs` keeps proxies from
//! closing an idle stream and lets the client notice a dead one. When the
//! server drains, the stream sends `reconnect` and ends; a slow consumer's
//! stream just ends. Either way the client reconnects with its positions.

use crate::{
    app::SharedState,
    auth::{Auth, Principal},
    error::{ApiError, ApiQuery, ApiResult},
    hub::{Outbound, contact_topic},
};
use axum::{
    extract::State,
    http::HeaderValue,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use kefu_core::ConversationId;
use kefu_core::protocol::{ConversationHead, Identity, PROTOCOL_VERSION, ServerFrame, SyncPoint};
use kefu_store::ConversationFilter;
use serde::Deserialize;
use std::{convert::Infallible, sync::Arc, time::Duration};
use tokio::sync::mpsc;

/// How long handing one event to the HTTP body may take before the client
/// counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Conversations one `sync` parameter may name (as in the `sync` frame).
const MAX_SYNC: usize = 200;
/// Messages read from the store per page while catching up.
const PAGE: i64 = 500;
/// Events buffered between the stream's task and the HTTP body.
const BODY_QUEUE: usize = 16;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Where to resume: `<conversation_id>:<after_seq>` pairs separated by
    /// commas, at most 200. Conversations listed in `hello` but not named
    /// here are sent from the start (so left out or empty: all of them).
    pub sync: Option<String>,
}

/// Parses the `sync` parameter.
pub fn parse_sync(s: Option<&str>) -> ApiResult<Vec<SyncPoint>> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut points = Vec::new();
    for part in s.split(',') {
        if points.len() == MAX_SYNC {
            return Err(ApiError::validation(format!(
                "at most {MAX_SYNC} conversations per sync"
            )));
        }
        let parsed = part.rsplit_once(':').and_then(|(id, seq)| {
            let id = id.trim();
            let seq: i64 = seq.trim().parse().ok()?;
            (!id.is_empty() && id.len() <= 64 && seq >= 0).then(|| SyncPoint {
                conversation_id: id.into(),
                after_seq: seq,
            })
        });
        match parsed {
            Some(p) => points.push(p),
            None => {
                return Err(ApiError::validation(format!(
                    "sync entry {:?} is not <conversation_id>:<after_seq>",
                    part.chars().take(80).collect::<String>()
                )));
            }
        }
    }
    Ok(points)
}

/// The visitor's realtime feed as Server-Sent Events (the WebSocket fallback).
#[utoipa::path(get, operation_id = "widget_events", path = "/api/v1/widget/events", tag = "widget", security(("bearer" = [])), params(EventsQuery),
    responses(
        (status = 200, description = "A `text/event-stream`: each event's data is one server frame (JSON) as on the WebSocket: `hello`, the missed messages and `synced`, then live `message`, `conversation`, `typing`, `read` and `reconnect` frames. A `: ping` comment line comes every heartbeat.", content_type = "text/event-stream", body = String),
        (status = 401, description = "Missing or invalid credentials", body = crate::error::ErrorBody),
        (status = 403, description = "Not a visitor token, or origin not allowed", body = crate::error::ErrorBody),
        (status = 422, description = "Malformed sync parameter", body = crate::error::ErrorBody),
        (status = 503, description = "Draining, or refused at a connection cap (`unavailable`, `too_many_connections`; see Retry-After)", body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Response> {
    let Principal::Visitor { contact_id, .. } = &who else {
        return Err(ApiError::forbidden("this needs a visitor token"));
    };
    let points = parse_sync(q.sync.as_deref())?;
    if state.shutdown.is_cancelled() {
        return Err(ApiError::unavailable("the server is shutting down"));
    }
    let l = &state.cfg.limits;
    let (tx, rx) = mpsc::channel::<Arc<Outbound>>(l.ws_queue_frames);
    // Joined before history is read: nothing can fall between the two.
    let (sub, _) = state
        .hub
        .subscribe(vec![contact_topic(contact_id)], tx, None);
    let (out, body) = mpsc::channel::<Event>(BODY_QUEUE);
    let heartbeat = Duration::from_secs(l.heartbeat_secs);
    let stream = Stream {
        state: state.clone(),
        who,
        out,
        delivered: Default::default(),
    };
    tokio::spawn(async move {
        let kicked = sub.kicked.clone();
        stream.run(points, rx, kicked).await;
        drop(sub);
    });
    let body = futures::stream::unfold(body, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    let mut res = Sse::new(body)
        .keep_alive(KeepAlive::new().interval(heartbeat).text("ping"))
        .into_response();
    let h = res.headers_mut();
    // Proxies such as nginx must pass events on at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// The client went away (or cannot keep up).
struct Gone;

/// One visitor's event stream, from `hello` to its end.
struct Stream {
    state: SharedState,
    who: Principal,
    out: mpsc::Sender<Event>,
    /// Highest `seq` sent per conversation.
    delivered: crate::delivered::Delivered,
}

impl Stream {
    async fn run(
        mut self,
        points: Vec<SyncPoint>,
        mut rx: mpsc::Receiver<Arc<Outbound>>,
        kicked: tokio_util::sync::CancellationToken,
    ) {
        let shutdown = self.state.shutdown.clone();
        let out = self.out.clone();
        tokio::select! {
            _ = self.session(points, &mut rx) => {}
            _ = shutdown.cancelled() => {
                let after_ms = rand::random_range(500..3000);
                let f = ServerFrame::Reconnect { reason: "server shutting down".into(), after_ms };
                let _ = out.try_send(Event::default().data(f.to_json()));
            }
            // A slow consumer: end the stream; the client resumes from its positions.
            _ = kicked.cancelled() => {}
        }
    }

    async fn session(&mut self, points: Vec<SyncPoint>, rx: &mut mpsc::Receiver<Arc<Outbound>>) {
        if self.catch_up(points).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                o = rx.recv() => match o {
                    Some(o) => if self.deliver(&o).await.is_err() { return },
                    None => return,
                },
                _ = self.out.closed() => return,
            }
        }
    }

    async fn text(&self, text: &str) -> Result<(), Gone> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.out.send(Event::default().data(text))).await
        {
            Ok(Ok(())) => Ok(()),
            _ => Err(Gone),
        }
    }

    async fn frame(&self, f: &ServerFrame) -> Result<(), Gone> {
        self.text(&f.to_json()).await
    }

    async fn visitor_conversations(&self) -> Vec<kefu_store::Conversation> {
        let Principal::Visitor {
            contact_id,
            workspace_id,
            ..
        } = &self.who
        else {
            return Vec::new();
        };
        let filter = ConversationFilter {
            contact_id: Some(contact_id.clone()),
            ..Default::default()
        };
        self.state
            .store
            .list_conversations(workspace_id, &filter, None, 50)
            .await
            .unwrap_or_default()
    }

    /// `hello`, then what was missed after each position, then `synced`.
    async fn catch_up(&mut self, mut points: Vec<SyncPoint>) -> Result<(), Gone> {
        let convs = self.visitor_conversations().await;
        let l = &self.state.cfg.limits;
        let hello = ServerFrame::Hello {
            v: PROTOCOL_VERSION,
            identity: Identity {
                kind: "visitor".into(),
                id: self.who.sender().id,
                workspace_id: self.who.workspace_id().into(),
            },
            heartbeat_ms: l.heartbeat_secs * 1000,
            idle_timeout_ms: l.idle_timeout_secs * 1000,
            conversations: convs
                .iter()
                .map(|c| ConversationHead {
                    id: c.id.clone(),
                    status: c.status,
                    last_seq: c.last_seq,
                })
                .collect(),
        };
        self.frame(&hello).await?;
        // Every conversation `hello` names is caught up: from the position
        // given for it, or from the start (a new one, opened in another tab).
        let named: std::collections::HashSet<ConversationId> =
            points.iter().map(|p| p.conversation_id.clone()).collect();
        points.extend(
            convs
                .into_iter()
                .filter(|c| !named.contains(&c.id))
                .map(|c| SyncPoint {
                    conversation_id: c.id,
                    after_seq: 0,
                }),
        );
        let mut done = Vec::with_capacity(points.len());
        for p in points {
            let conv = match crate::conversations::visible_conversation(
                &self.state,
                &self.who,
                &p.conversation_id,
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    let msg = format!(
                        "{}: {}",
                        p.conversation_id.chars().take(64).collect::<String>(),
                        e.message
                    );
                    self.frame(&ServerFrame::error(e.code, msg)).await?;
                    continue;
                }
            };
            let from = p.after_seq.clamp(0, conv.last_seq);
            let after = self.send_range(&conv.id, from, None).await?;
            self.delivered.synced(&conv.id, after);
            done.push(SyncPoint {
                conversation_id: conv.id,
                after_seq: after,
            });
        }
        self.frame(&ServerFrame::Synced {
            conversations: done,
        })
        .await
    }

    /// Sends stored messages with `after < seq <= upto`; returns the last `seq` sent.
    async fn send_range(
        &mut self,
        conv: &ConversationId,
        mut after: i64,
        upto: Option<i64>,
    ) -> Result<i64, Gone> {
        loop {
            let page = match self
                .state
                .store
                .list_messages(conv, after, upto, PAGE, false)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "reading history failed");
                    self.frame(&ServerFrame::error(
                        "unavailable",
                        "history is unavailable; reconnect",
                    ))
                    .await?;
                    return Err(Gone);
                }
            };
            let n = page.len() as i64;
            for m in page {
                after = m.seq;
                self.frame(&ServerFrame::Message { message: m }).await?;
            }
            if n < PAGE {
                return Ok(after);
            }
        }
    }

    /// A live frame: drops messages already sent, fills a gap first.
    async fn deliver(&mut self, out: &Outbound) -> Result<(), Gone> {
        if let (Some(conv), Some(seq)) = (&out.conversation_id, out.seq) {
            match self.delivered.admit(conv, seq) {
                crate::delivered::Admit::Duplicate => return Ok(()),
                crate::delivered::Admit::Send => {}
                crate::delivered::Admit::FillFirst { after, upto } => {
                    self.send_range(conv, after, Some(upto)).await?;
                }
                // Overtaken by later ones already sent: it and the rest
                // below them go out from the store, in order.
                crate::delivered::Admit::FillAfter { after, upto } => {
                    self.send_range(conv, after - 1, Some(upto)).await?;
                    return Ok(());
                }
            }
        }
        self.text(out.text.as_str()).await
    }
}

#[cfg(test)]
mod tests {
    use super::parse_sync;

    #[test]
    fn sync_parameter() {
        assert!(parse_sync(None).unwrap().is_empty());
        assert!(parse_sync(Some(" ")).unwrap().is_empty());
        let p = parse_sync(Some("a:3,b:0")).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].conversation_id.as_str(), p[0].after_seq), ("a", 3));
        for bad in ["a", "a:-1", ":3", "a:x", "a:3,", &"x".repeat(65)] {
            assert!(parse_sync(Some(bad)).is_err(), "{bad}");
        }
        let many = vec!["c:1"; 201].join(",");
        assert!(parse_sync(Some(&many)).is_err());
    }
}
