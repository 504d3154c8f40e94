//! Chat traffic for the bus tests: visitors over WebSocket, an agent over
//! REST, routing; and waiting for a bus consumer to pass the outbox head.

use crate::common::*;
use kefu_store::OutboxRow;
use serde_json::json;
use std::{
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::{Duration, Instant},
};

/// A visitor's session, with an identify call (contact events, which have no
/// conversation), then `messages` sends over WebSocket, each acknowledged;
/// the agent answers once over REST while the visitor goes on, and resolves
/// the conversation at the end. Returns the conversation id.
pub async fn visitor_chat(app: &TestApp, t: &Tenant, n: usize, messages: usize) -> String {
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (s, _) = app
        .post(
            &vtoken,
            "/api/v1/widget/identify",
            json!({"name": format!("访客 {n}"), "attributes": {"n": n}}),
        )
        .await;
    assert_eq!(s, 200);
    let (mut ws, _) = app.ws(&vtoken).await;
    let ack = ws.send_text(None, &format!("v{n}-0"), "你好").await;
    let conv = ack["conversation_id"].as_str().unwrap().to_string();
    let agent_reply = async {
        let (s, r) = app
            .post(
                &t.token,
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"client_msg_id": format!("a{n}"), "content": "您好，请讲"}),
            )
            .await;
        assert!(s == 200 || s == 201, "agent reply: {s} {r}");
    };
    let visitor_goes_on = async {
        for i in 1..messages {
            ws.send_text(Some(&conv), &format!("v{n}-{i}"), &format!("消息 {i}"))
                .await;
        }
    };
    tokio::join!(agent_reply, visitor_goes_on);
    let (s, r) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "resolve: {r}");
    conv
}

/// `visitors` chats at once; returns when every send is acknowledged and
/// routing has settled.
pub async fn chat(app: &TestApp, t: &Tenant, visitors: usize, messages: usize) {
    futures::future::join_all((0..visitors).map(|n| visitor_chat(app, t, n, messages))).await;
    app.state.routing_idle().await;
}

/// Waits until consumer `name` has passed every event in the outbox.
pub async fn drained(app: &TestApp, name: &str, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let head = app.store.outbox_head().await.unwrap();
        let cursor = app.store.outbox_cursor(name, 0).await.unwrap();
        if cursor >= head {
            return head;
        }
        assert!(
            Instant::now() < deadline,
            "{name} still at {cursor} of {head} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn all_events(app: &TestApp) -> Vec<OutboxRow> {
    app.store.outbox_after(0, 1_000_000).await.unwrap()
}

/// Visitors sending without pause until `stop`; counts the acknowledged
/// sends, and those acknowledged while `down` is set.
pub struct Load {
    pub stop: AtomicBool,
    pub down: AtomicBool,
    pub acked: AtomicUsize,
    pub acked_while_down: AtomicUsize,
    pub slowest_ms: AtomicUsize,
}

impl Load {
    pub fn new() -> Load {
        Load {
            stop: AtomicBool::new(false),
            down: AtomicBool::new(false),
            acked: AtomicUsize::new(0),
            acked_while_down: AtomicUsize::new(0),
            slowest_ms: AtomicUsize::new(0),
        }
    }

    pub async fn visitor(&self, app: &TestApp, t: &Tenant, n: usize) {
        let (vtoken, _) = app.visitor(&t.inbox).await;
        let (mut ws, _) = app.ws(&vtoken).await;
        let mut conv: Option<String> = None;
        let mut i = 0;
        while !self.stop.load(Ordering::Relaxed) {
            let began = Instant::now();
            // send_text fails the test if no ack comes within 5 s.
            let ack = ws
                .send_text(conv.as_deref(), &format!("v{n}-{i}"), &format!("消息 {i}"))
                .await;
            let ms = began.elapsed().as_millis() as usize;
            self.slowest_ms.fetch_max(ms, Ordering::Relaxed);
            conv.get_or_insert_with(|| ack["conversation_id"].as_str().unwrap().to_string());
            self.acked.fetch_add(1, Ordering::Relaxed);
            if self.down.load(Ordering::Relaxed) {
                self.acked_while_down.fetch_add(1, Ordering::Relaxed);
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Where consumer `name` is.
pub async fn cursor(app: &TestApp, name: &str) -> i64 {
    app.store.outbox_cursor(name, 0).await.unwrap()
}
