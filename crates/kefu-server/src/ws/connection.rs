//! One WebSocket connection, from handshake to close.
//!
//! A single task owns the socket: it reads client frames, writes frames the
//! hub queued for it, and pings. Per conversation it remembers the highest
//! `seq` it delivered, so a live frame that arrives twice or overtakes another
//! (two senders finishing out of order) is neither duplicated nor lost: a gap
//! is filled from the store before the newer frame goes out.
//!
//! A send's `ack` comes before its own `message` frame on the connection that
//! sent it. The send worker publishes a stored message (to every connection,
//! this one included) before it posts the ack, so the message may be queued
//! here first; the connection therefore remembers which of its sends await
//! their ack, and before it writes one of them as a `message` it writes the
//! worker's replies up to that send's ack.

use super::close_code;
use crate::delivered::Admit;
use crate::{
    app::SharedState,
    auth::{
        Principal, Scope,
        principal::{authenticate, still_valid},
    },
    conversations::{self as commands, SendRequest},
    error::ApiError,
    hub::{Outbound, contact_topic, user_topic, workspace_topic},
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use kefu_core::{
    AgentStatus,
    protocol::{
        ClientFrame, ConversationHead, Identity, PROTOCOL_VERSION, ServerFrame, SyncPoint,
        parse_client_frame,
    },
};
use kefu_core::{ContactId, ConversationId, UserId, WorkspaceId};
use kefu_store::ConversationFilter;
use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::mpsc;

/// How long one write to the socket may take before the peer counts as dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const SLOW_CONSUMER: (u16, &str) = (1013, "slow consumer; reconnect and resume");
/// Sends a connection may have waiting for their ack (pipelining); beyond
/// it the client gets `busy` for that send.
const MAX_PENDING_SENDS: usize = 64;
/// Most queued frames written before one flush.
const MAX_WRITE_BATCH: usize = 64;
/// How long to wait for the client's answer to our Close.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Rate-limit violations in a row before the connection is closed as abusive.
const MAX_STRIKES: u32 = 20;
/// Conversations one `sync` frame may name.
const MAX_SYNC: usize = 200;
const PAGE: i64 = 500;

/// The connection is over; `Some` carries the close frame to send.
struct Closed(Option<(u16, &'static str)>);

type Step = Result<(), Closed>;

pub async fn run(
    mut socket: WebSocket,
    state: SharedState,
    pre_auth: Option<Principal>,
    origin: Option<String>,
) {
    let who = match pre_auth {
        Some(p) => p,
        None => match handshake(&mut socket, &state).await {
            Ok(p) => p,
            Err(Closed(close)) => return finish(socket, close).await,
        },
    };
    if let Principal::Visitor {
        workspace_id,
        inbox_id,
        ..
    } = &who
        && !origin_allowed(&state, workspace_id, inbox_id, origin.as_deref()).await
    {
        let _ = send_frame(
            &mut socket,
            &ServerFrame::error("origin_not_allowed", "this site may not embed the chat"),
        )
        .await;
        return finish(socket, Some((1008, "origin not allowed"))).await;
    }
    // An API key's feed is the whole workspace's conversations.
    if let Err(e) = who.require_scope(crate::auth::Scope::ConversationsRead) {
        let _ = send_frame(&mut socket, &ServerFrame::error(e.code, e.message)).await;
        return finish(socket, Some((1008, "missing scope"))).await;
    }
    let mut conn = Connection::new(state, who);
    let close = conn.serve(&mut socket).await;
    finish(socket, close.0).await;
}

async fn finish(mut socket: WebSocket, close: Option<(u16, &'static str)>) {
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // Short: a peer that cannot take a Close frame (a slow consumer) is dropped anyway.
        let _ = tokio::time::timeout(CLOSE_GRACE, socket.send(Message::Close(Some(frame)))).await;
        // Complete the closing handshake: read (and drop) what the client still
        // sends until its Close. Closing a TCP socket with unread input makes
        // the kernel send a reset, which can destroy our Close frame in flight.
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(m)) = socket.recv().await {
                if let Message::Close(_) = m {
                    break;
                }
            }
        })
        .await;
    }
}

async fn origin_allowed(
    state: &SharedState,
    ws: &WorkspaceId,
    inbox_id: &str,
    origin: Option<&str>,
) -> bool {
    if origin.is_none() {
        // Not a browser page embedding the widget (an app or a server).
        return true;
    }
    match state.inboxes.get(&state.store, ws, inbox_id).await {
        Ok(inbox) => crate::api::widget::origin_allowed(&inbox, origin),
        Err(_) => false,
    }
}

async fn send_frame(socket: &mut WebSocket, frame: &ServerFrame) -> Step {
    send_text(socket, Utf8Bytes::from(frame.to_json())).await
}

async fn send_text(socket: &mut WebSocket, text: Utf8Bytes) -> Step {
    match tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Closed(None)),
    }
}

/// Waits for the `auth` frame.
async fn handshake(socket: &mut WebSocket, state: &SharedState) -> Result<Principal, Closed> {
    let timeout = Duration::from_secs(state.cfg.limits.auth_timeout_secs);
    let first = match tokio::time::timeout(timeout, socket.recv()).await {
        Err(_) => {
            state
                .gate
                .counters
                .cut_auth
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            send_frame(
                socket,
                &ServerFrame::error("auth_timeout", "no auth frame in time"),
            )
            .await?;
            return Err(Closed(Some((close_code::UNAUTHORIZED, "auth timeout"))));
        }
        Ok(None) => return Err(Closed(None)),
        Ok(Some(Err(e))) => return Err(Closed(read_error_close(&e))),
        Ok(Some(Ok(m))) => m,
    };
    let Message::Text(text) = first else {
        send_frame(
            socket,
            &ServerFrame::error("unauthorized", "the first frame must be a text auth frame"),
        )
        .await?;
        return Err(Closed(Some((close_code::UNAUTHORIZED, "auth required"))));
    };
    match parse_client_frame(&text) {
        Ok(ClientFrame::Auth { v, token }) => {
            if v != PROTOCOL_VERSION {
                let msg = format!(
                    "protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}"
                );
                send_frame(socket, &ServerFrame::error("unsupported_version", msg)).await?;
                return Err(Closed(Some((1002, "unsupported protocol version"))));
            }
            match authenticate(state, &token).await {
                Ok(p) => Ok(p),
                Err(e) => {
                    send_frame(socket, &ServerFrame::error(e.code, e.message)).await?;
                    Err(Closed(Some((close_code::UNAUTHORIZED, "unauthorized"))))
                }
            }
        }
        Ok(_) => {
            send_frame(
                socket,
                &ServerFrame::error("unauthorized", "authenticate first with an auth frame"),
            )
            .await?;
            Err(Closed(Some((close_code::UNAUTHORIZED, "auth required"))))
        }
        Err(e) => {
            send_frame(socket, &ServerFrame::error(e.code(), e.to_string())).await?;
            Err(Closed(Some((close_code::UNAUTHORIZED, "auth required"))))
        }
    }
}

/// The close a read error calls for: too big → 1009, bad UTF-8 → 1007.
fn read_error_close(e: &axum::Error) -> Option<(u16, &'static str)> {
    let inner = std::error::Error::source(e);
    match inner.and_then(|s| s.downcast_ref::<tungstenite::Error>()) {
        Some(tungstenite::Error::Capacity(_)) => Some((1009, "frame too large")),
        Some(tungstenite::Error::Utf8(_)) => Some((1007, "invalid UTF-8")),
        Some(tungstenite::Error::Protocol(_)) => Some((1002, "protocol error")),
        _ => None,
    }
}

struct Connection {
    state: SharedState,
    who: Principal,
    /// Highest `seq` sent per conversation.
    delivered: crate::delivered::Delivered,
    limiter: DefaultDirectRateLimiter,
    strikes: u32,
    last_heard: Instant,
    /// Sends go to this connection's send worker, so a slow store never
    /// stops outbound delivery (which would make the connection a slow consumer).
    /// Created on the first send, so connections that only listen (most
    /// visitors, most of the time) pay nothing for it. Boxed items keep the
    /// channels' slot blocks small.
    sends: Option<mpsc::Sender<Box<SendRequest>>>,
    /// The worker's replies (`ack` or `error`, one per send, in order).
    acks: Option<mpsc::Receiver<Box<ServerFrame>>>,
    /// `client_msg_id`s handed to the worker whose reply is not written yet
    /// (with how many times, for a resend while the first is in flight).
    awaiting_ack: HashMap<String, usize>,
    /// This principal's sender id: a message with it and an awaited
    /// `client_msg_id` is this connection's own send.
    me: String,
}

/// What woke the session loop.
enum Event {
    Shutdown,
    Read(Option<Result<Message, axum::Error>>),
    Queued(Arc<Outbound>),
    Reply(Box<ServerFrame>),
    Tick,
}

impl Connection {
    fn new(state: SharedState, who: Principal) -> Self {
        let l = &state.cfg.limits;
        let quota =
            Quota::per_second(NonZeroU32::new(l.ws_frames_per_second).unwrap_or(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(l.ws_frame_burst).unwrap_or(NonZeroU32::MIN));
        let me = who.sender().id;
        Connection {
            state,
            who,
            delivered: Default::default(),
            limiter: RateLimiter::direct(quota),
            strikes: 0,
            last_heard: Instant::now(),
            sends: None,
            acks: None,
            awaiting_ack: HashMap::new(),
            me,
        }
    }

    async fn serve(&mut self, socket: &mut WebSocket) -> Closed {
        let state = self.state.clone();
        let l = &state.cfg.limits;
        // Agents receive the workspace-wide feed, so their queue is deeper.
        let queue = if self.who.is_visitor() {
            l.ws_queue_frames
        } else {
            l.ws_agent_queue_frames
        };
        let (tx, mut rx) = mpsc::channel::<Arc<Outbound>>(queue);
        let (topics, agent) = match &self.who {
            Principal::Visitor { contact_id, .. } => (vec![contact_topic(contact_id)], None),
            Principal::Agent {
                user_id,
                workspace_id,
                ..
            } => (
                vec![workspace_topic(workspace_id), user_topic(user_id)],
                Some(user_id.clone()),
            ),
            Principal::ApiKey { workspace_id, .. } => (vec![workspace_topic(workspace_id)], None),
        };
        let (sub, first) = state.hub.subscribe(topics, tx, agent.clone());
        if first && let Some(uid) = &agent {
            self.came_online(uid).await;
        }
        // The kick also interrupts a write stuck on the slow peer's full socket.
        let result = tokio::select! {
            r = self.session(socket, &mut rx) => r,
            _ = sub.kicked.cancelled() => Err(Closed(Some(SLOW_CONSUMER))),
        };
        if sub.close() && agent.is_some() {
            // The agent's last connection is gone.
            let _ = commands::set_presence(&state, &self.who, AgentStatus::Offline).await;
        }
        match result {
            Ok(()) => Closed(None),
            Err(c) => c,
        }
    }

    async fn came_online(&self, user_id: &UserId) {
        if let Ok(u) = self
            .state
            .store
            .get_user(self.who.workspace_id(), user_id)
            .await
            && u.status == AgentStatus::Offline
        {
            let _ = commands::set_presence(&self.state, &self.who, AgentStatus::Online).await;
        }
    }

    async fn session(
        &mut self,
        socket: &mut WebSocket,
        rx: &mut mpsc::Receiver<Arc<Outbound>>,
    ) -> Step {
        let l = self.state.cfg.limits.clone();
        self.hello(socket).await?;
        let idle = Duration::from_secs(l.idle_timeout_secs);
        let mut ticker = tokio::time::interval(Duration::from_secs(l.heartbeat_secs));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let shutdown = self.state.shutdown.clone();
        loop {
            // Only the waiting happens inside select!: the handling below
            // needs the whole connection (a delivery may write acks first).
            let event = tokio::select! {
                biased;
                _ = shutdown.cancelled() => Event::Shutdown,
                msg = socket.recv() => Event::Read(msg),
                Some(out) = rx.recv() => Event::Queued(out),
                Some(reply) = next_ack(&mut self.acks) => Event::Reply(reply),
                _ = ticker.tick() => Event::Tick,
            };
            match event {
                Event::Shutdown => {
                    // Spread the reconnects so the clients do not all return at once.
                    let after_ms = rand::random_range(500..3000);
                    send_frame(
                        socket,
                        &ServerFrame::Reconnect {
                            reason: "server shutting down".into(),
                            after_ms,
                        },
                    )
                    .await?;
                    return Err(Closed(Some((1012, "server restart"))));
                }
                Event::Read(msg) => match msg {
                    None | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Err(e)) => return Err(Closed(read_error_close(&e))),
                    Some(Ok(m)) => {
                        self.last_heard = Instant::now();
                        self.inbound(socket, m).await?;
                    }
                },
                Event::Queued(out) => self.deliver(socket, out, rx).await?,
                Event::Reply(reply) => self.reply(socket, &reply).await?,
                Event::Tick => {
                    if self.last_heard.elapsed() > idle {
                        return Err(Closed(Some((1001, "idle timeout"))));
                    }
                    if tokio::time::timeout(
                        WRITE_TIMEOUT,
                        socket.send(Message::Ping(Default::default())),
                    )
                    .await
                    .map_or(true, |r| r.is_err())
                    {
                        return Err(Closed(None));
                    }
                    // Logout, deactivation and key revocation end live connections too.
                    if !still_valid(&self.state, &self.who).await {
                        send_frame(
                            socket,
                            &ServerFrame::error("unauthorized", "the session has ended"),
                        )
                        .await?;
                        return Err(Closed(Some((close_code::UNAUTHORIZED, "session ended"))));
                    }
                }
            }
        }
    }

    /// Writes a reply of the send worker, and forgets that its send awaits one.
    async fn reply(&mut self, socket: &mut WebSocket, reply: &ServerFrame) -> Step {
        if let ServerFrame::Ack { client_msg_id, .. }
        | ServerFrame::Error {
            client_msg_id: Some(client_msg_id),
            ..
        } = reply
            && let Some(n) = self.awaiting_ack.get_mut(client_msg_id)
        {
            *n -= 1;
            if *n == 0 {
                self.awaiting_ack.remove(client_msg_id);
            }
        }
        send_frame(socket, reply).await
    }

    /// Before a `message` frame goes out: if it is one of this connection's
    /// sends still awaiting its ack, writes the worker's replies up to that
    /// ack first. The message is stored, so its ack is at most one batch away.
    async fn ack_first(
        &mut self,
        socket: &mut WebSocket,
        sender_id: Option<&str>,
        client_msg_id: Option<&str>,
    ) -> Step {
        let Some(cmid) = client_msg_id else {
            return Ok(());
        };
        if sender_id != Some(self.me.as_str()) {
            return Ok(());
        }
        while self.awaiting_ack.contains_key(cmid) {
            let Some(reply) = next_ack(&mut self.acks).await else {
                // The worker is gone; no ack will come.
                self.awaiting_ack.clear();
                break;
            };
            self.reply(socket, &reply).await?;
        }
        Ok(())
    }

    async fn hello(&mut self, socket: &mut WebSocket) -> Step {
        let (kind, id) = match &self.who {
            Principal::Agent { user_id, .. } => ("agent", user_id.to_string()),
            Principal::Visitor { contact_id, .. } => ("visitor", contact_id.to_string()),
            Principal::ApiKey { key_id, .. } => ("api", key_id.clone()),
        };
        let conversations = match &self.who {
            Principal::Visitor {
                contact_id,
                workspace_id,
                ..
            } => self
                .visitor_conversations(workspace_id, contact_id)
                .await
                .into_iter()
                .map(|c| ConversationHead {
                    id: c.id,
                    status: c.status,
                    last_seq: c.last_seq,
                })
                .collect(),
            _ => Vec::new(),
        };
        let l = &self.state.cfg.limits;
        let hello = ServerFrame::Hello {
            v: PROTOCOL_VERSION,
            identity: Identity {
                kind: kind.into(),
                id,
                workspace_id: self.who.workspace_id().into(),
            },
            heartbeat_ms: l.heartbeat_secs * 1000,
            idle_timeout_ms: l.idle_timeout_secs * 1000,
            conversations,
        };
        send_frame(socket, &hello).await
    }

    async fn visitor_conversations(
        &self,
        ws: &WorkspaceId,
        contact_id: &ContactId,
    ) -> Vec<kefu_store::Conversation> {
        let filter = ConversationFilter {
            contact_id: Some(contact_id.into()),
            ..Default::default()
        };
        self.state
            .store
            .list_conversations(ws, &filter, None, 50)
            .await
            .unwrap_or_default()
    }

    async fn inbound(&mut self, socket: &mut WebSocket, m: Message) -> Step {
        if matches!(m, Message::Text(_) | Message::Binary(_)) && self.limiter.check().is_err() {
            self.strikes += 1;
            if self.strikes > MAX_STRIKES {
                send_frame(
                    socket,
                    &ServerFrame::error("rate_limited", "too many frames; closing"),
                )
                .await?;
                return Err(Closed(Some((1008, "flooding"))));
            }
            // Name the send that was dropped, so the client knows what to retry.
            let client_msg_id = match &m {
                Message::Text(t) => match parse_client_frame(t) {
                    Ok(ClientFrame::Send { client_msg_id, .. }) => Some(client_msg_id),
                    _ => None,
                },
                _ => None,
            };
            let frame = ServerFrame::Error {
                code: "rate_limited".into(),
                message: "too many frames; slow down".into(),
                client_msg_id,
            };
            return send_frame(socket, &frame).await;
        }
        self.strikes = 0;
        let text = match m {
            Message::Text(t) => t,
            Message::Binary(_) => {
                return send_frame(
                    socket,
                    &ServerFrame::error(
                        "unsupported",
                        "binary frames are not supported; send JSON text",
                    ),
                )
                .await;
            }
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return Ok(()),
        };
        let frame = match parse_client_frame(&text) {
            Ok(f) => f,
            Err(e) => {
                return send_frame(socket, &ServerFrame::error(e.code(), e.to_string())).await;
            }
        };
        if kefu_core::text::json_has_nul(text.as_bytes()) {
            // PostgreSQL cannot store it; refused here so both backends answer alike.
            let client_msg_id = match &frame {
                ClientFrame::Send { client_msg_id, .. } => Some(client_msg_id.clone()),
                _ => None,
            };
            let refused = ServerFrame::Error {
                code: "validation".into(),
                message: kefu_core::text::NUL_REFUSED.into(),
                client_msg_id,
            };
            return send_frame(socket, &refused).await;
        }
        let state = self.state.clone();
        let result: Result<(), ApiError> = match frame {
            ClientFrame::Auth { .. } => Err(ApiError::bad_request(
                "already_authenticated",
                "this connection is already authenticated",
            )),
            ClientFrame::Send {
                client_msg_id,
                conversation_id,
                kind,
                content,
                attachment_id,
            } => {
                if let Err(e) = self.who.require_scope(Scope::MessagesWrite) {
                    let refused = ServerFrame::Error {
                        code: e.code.into(),
                        message: e.message,
                        client_msg_id: Some(client_msg_id),
                    };
                    return send_frame(socket, &refused).await;
                }
                let req = SendRequest {
                    client_msg_id: Some(client_msg_id.clone()),
                    conversation_id,
                    kind,
                    content,
                    attachment_id,
                };
                if self.sends.is_none() {
                    let (send_tx, send_rx) = mpsc::channel(MAX_PENDING_SENDS);
                    let (ack_tx, ack_rx) = mpsc::channel(MAX_PENDING_SENDS);
                    // Dropped with the connection: the worker stores what it accepted, then ends.
                    tokio::spawn(send_worker(
                        state.clone(),
                        self.who.clone(),
                        send_rx,
                        ack_tx,
                    ));
                    self.sends = Some(send_tx);
                    self.acks = Some(ack_rx);
                }
                if let Some(Ok(())) = self.sends.as_ref().map(|s| s.try_send(Box::new(req))) {
                    *self.awaiting_ack.entry(client_msg_id).or_default() += 1;
                    return Ok(());
                }
                let busy = ServerFrame::Error {
                    code: "busy".into(),
                    message: format!(
                        "more than {MAX_PENDING_SENDS} sends await their ack; wait for acks, then resend"
                    ),
                    client_msg_id: Some(client_msg_id),
                };
                return send_frame(socket, &busy).await;
            }
            ClientFrame::Sync { conversations } => return self.sync(socket, conversations).await,
            ClientFrame::Typing {
                conversation_id,
                on,
            } => match self.who.require_scope(Scope::ConversationsWrite) {
                Ok(()) => commands::typing(&state, &self.who, &conversation_id, on).await,
                Err(e) => Err(e),
            },
            ClientFrame::Read {
                conversation_id,
                seq,
            } => match self.who.require_scope(Scope::ConversationsWrite) {
                Ok(()) => commands::read(&state, &self.who, &conversation_id, seq).await,
                Err(e) => Err(e),
            },
            ClientFrame::Presence { status } => {
                commands::set_presence(&state, &self.who, status).await
            }
            ClientFrame::Ping { id } => return send_frame(socket, &ServerFrame::Pong { id }).await,
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => send_frame(socket, &ServerFrame::error(e.code, e.message)).await,
        }
    }

    /// Sends what the client missed after each sync point, in order, then `synced`.
    async fn sync(&mut self, socket: &mut WebSocket, mut points: Vec<SyncPoint>) -> Step {
        if points.len() > MAX_SYNC {
            return send_frame(
                socket,
                &ServerFrame::error(
                    "validation",
                    format!("at most {MAX_SYNC} conversations per sync"),
                ),
            )
            .await;
        }
        if points.is_empty()
            && let Principal::Visitor {
                contact_id,
                workspace_id,
                ..
            } = &self.who
        {
            let (ws, cid) = (workspace_id.clone(), contact_id.clone());
            points = self
                .visitor_conversations(&ws, &cid)
                .await
                .into_iter()
                .map(|c| SyncPoint {
                    conversation_id: c.id,
                    after_seq: 0,
                })
                .collect();
        }
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
                    send_frame(socket, &ServerFrame::error(e.code, msg)).await?;
                    continue;
                }
            };
            // A position beyond the end (stale client, restored backup) must
            // not make this connection skip live messages up to it.
            let from = p.after_seq.clamp(0, conv.last_seq);
            let after = self.send_range(socket, &conv.id, from, None).await?;
            self.delivered.synced(&conv.id, after);
            done.push(SyncPoint {
                conversation_id: conv.id,
                after_seq: after,
            });
        }
        send_frame(
            socket,
            &ServerFrame::Synced {
                conversations: done,
            },
        )
        .await
    }

    /// Sends stored messages with `after < seq <= upto` in pages; returns the
    /// last `seq` sent (or `after`).
    async fn send_range(
        &mut self,
        socket: &mut WebSocket,
        conv: &ConversationId,
        mut after: i64,
        upto: Option<i64>,
    ) -> Result<i64, Closed> {
        let notes = self.who.sees_notes();
        loop {
            let page = match self
                .state
                .store
                .list_messages(conv, after, upto, PAGE, notes)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "reading history failed");
                    send_frame(
                        socket,
                        &ServerFrame::error("unavailable", "history is unavailable; retry sync"),
                    )
                    .await?;
                    return Ok(after);
                }
            };
            let n = page.len() as i64;
            for m in page {
                after = m.seq;
                self.ack_first(socket, Some(&m.sender.id), m.client_msg_id.as_deref())
                    .await?;
                send_frame(socket, &ServerFrame::Message { message: m }).await?;
            }
            if n < PAGE {
                return Ok(after);
            }
        }
    }

    /// Writes a frame the hub queued, keeping per-conversation order.
    /// Writes `first` and whatever else is already queued (up to a batch)
    /// with one flush: one write syscall for many frames under load.
    async fn deliver(
        &mut self,
        socket: &mut WebSocket,
        first: Arc<Outbound>,
        rx: &mut mpsc::Receiver<Arc<Outbound>>,
    ) -> Step {
        let mut next = Some(first);
        let mut batch = 0;
        while let Some(out) = next {
            if self.admit(socket, &out).await? {
                match tokio::time::timeout(
                    WRITE_TIMEOUT,
                    socket.feed(Message::Text(out.text.clone())),
                )
                .await
                {
                    Ok(Ok(())) => batch += 1,
                    _ => return Err(Closed(None)),
                }
            }
            next = if batch < MAX_WRITE_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        match tokio::time::timeout(WRITE_TIMEOUT, socket.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Closed(None)),
        }
    }

    /// Whether a queued frame goes out: drops a message this connection
    /// already has, and first fills a gap (from the store) if it overtook others.
    async fn admit(&mut self, socket: &mut WebSocket, out: &Outbound) -> Result<bool, Closed> {
        if out.contact_data && self.who.require_scope(Scope::ContactsRead).is_err() {
            return Ok(false);
        }
        if let (Some(conv), Some(seq)) = (&out.conversation_id, out.seq) {
            match self.delivered.admit(conv, seq) {
                Admit::Duplicate => return Ok(false),
                Admit::Send => {}
                Admit::FillFirst { after, upto } => {
                    self.send_range(socket, conv, after, Some(upto)).await?;
                }
                // Overtaken by later ones already sent: it and the rest
                // below them go out from the store, in order.
                Admit::FillAfter { after, upto } => {
                    self.send_range(socket, conv, after - 1, Some(upto)).await?;
                    return Ok(false);
                }
            }
            self.ack_first(
                socket,
                out.sender_id.as_deref(),
                out.client_msg_id.as_deref(),
            )
            .await?;
        }
        Ok(true)
    }
}

/// Stores one connection's sends in the order they came and posts the acks
/// back. It outlives its connection just long enough to store what was
/// accepted (the client learns the result by resending: dedupe).
async fn send_worker(
    state: SharedState,
    who: Principal,
    mut sends: mpsc::Receiver<Box<SendRequest>>,
    acks: mpsc::Sender<Box<ServerFrame>>,
) {
    let mut reqs = Vec::with_capacity(MAX_PENDING_SENDS);
    while sends.recv_many(&mut reqs, MAX_PENDING_SENDS).await > 0 {
        // Everything waiting is stored together, in order (one commit on SQLite).
        let batch: Vec<SendRequest> = reqs.drain(..).map(|r| *r).collect();
        let ids: Vec<String> = batch
            .iter()
            .map(|r| r.client_msg_id.clone().unwrap_or_default())
            .collect();
        let results = commands::send_many(&state, &who, batch).await;
        for (client_msg_id, result) in ids.into_iter().zip(results) {
            let reply = match result {
                Ok(a) => ServerFrame::Ack {
                    client_msg_id,
                    id: a.message.id,
                    conversation_id: a.message.conversation_id,
                    seq: a.message.seq,
                    created_at: a.message.created_at,
                },
                Err(e) => ServerFrame::Error {
                    code: e.code.into(),
                    message: e.message,
                    client_msg_id: Some(client_msg_id),
                },
            };
            let _ = acks.send(Box::new(reply)).await;
        }
    }
}

/// The next reply from the send worker; never ready before there is a worker.
async fn next_ack(acks: &mut Option<mpsc::Receiver<Box<ServerFrame>>>) -> Option<Box<ServerFrame>> {
    match acks {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
