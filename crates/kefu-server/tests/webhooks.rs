//! Outgoing webhooks end to end, over real sockets: kefu POSTs to a receiver
//! this test runs on 127.0.0.1 (so these apps set
//! `allow_private_networks = true`, except where the guard is the subject).
//! Signatures are verified by an implementation that is not ours: the PyPI
//! package `standardwebhooks`, in the virtualenv `scripts/py-venv.sh` makes.

mod common;

use axum::{body::Bytes, extract::State, http::HeaderMap, response::IntoResponse};
use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

// ---------------------------------------------------------------- receiver

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Status(u16),
    /// Answers 200 only after this long (past kefu's timeout: a timeout).
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    at: Instant,
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    got: Mutex<Vec<Received>>,
    /// Replies for the next requests, in order; then `otherwise`.
    plan: Mutex<VecDeque<Reply>>,
    otherwise: Mutex<Option<Reply>>,
    arrived: tokio::sync::Notify,
}

/// A webhook receiver on 127.0.0.1: records every request, answers by plan.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    async fn start_on(addr: SocketAddr) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, state, task }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/kefu", self.addr)
    }

    fn plan(&self, replies: &[Reply]) {
        self.state
            .plan
            .lock()
            .unwrap()
            .extend(replies.iter().copied());
    }

    fn otherwise(&self, r: Reply) {
        *self.state.otherwise.lock().unwrap() = Some(r);
    }

    fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for what arrived (or panics after `wait`).
    async fn wait_for(&self, wait: Duration, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.state.arrived.notified();
            let got = self.got();
            if pred(&got) {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let got = self.got();
                if pred(&got) {
                    return got;
                }
                panic!(
                    "the receiver did not get what was expected within {wait:?}; got {} requests: {:#?}",
                    got.len(),
                    got.iter()
                        .map(|r| (&r.id, r.json()["type"].clone()))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    async fn wait_count(&self, n: usize, wait: Duration) -> Vec<Received> {
        self.wait_for(wait, |g| g.len() >= n).await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(s): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    s.got.lock().unwrap().push(Received {
        at: Instant::now(),
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    s.arrived.notify_waiters();
    let reply = s
        .plan
        .lock()
        .unwrap()
        .pop_front()
        .or(*s.otherwise.lock().unwrap())
        .unwrap_or(Reply::Status(200));
    match reply {
        Reply::Status(code) => (
            axum::http::StatusCode::from_u16(code).unwrap(),
            format!("receiver says {code}"),
        ),
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            (axum::http::StatusCode::OK, "late".to_string())
        }
    }
}

// ------------------------------------------------- independent verification

/// The virtualenv's python, made by scripts/py-venv.sh if missing.
fn python() -> PathBuf {
    py_venv("the webhook tests verify signatures with the PyPI package standardwebhooks")
        .join("bin/python")
}

/// Verifies each (secret, request) with `standardwebhooks`; true or the error.
fn verify(items: &[(&str, &Received, Option<&str>)]) -> Vec<Value> {
    let input: Vec<Value> = items
        .iter()
        .map(|(secret, r, only_sig)| {
            json!({
                "secret": secret,
                "body": r.body,
                "headers": {
                    "webhook-id": r.id,
                    "webhook-timestamp": r.timestamp,
                    "webhook-signature": only_sig.unwrap_or(&r.signature),
                },
            })
        })
        .collect();
    let mut child = std::process::Command::new(python())
        .arg(repo_root().join("scripts/verify_webhooks.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(input).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "verify_webhooks.py failed");
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

// ------------------------------------------------------------------ helpers

const LONG: Duration = Duration::from_secs(15);

async fn webhooks_app(
    db: Db,
    tweak: impl FnOnce(&mut kefu_server::config::WebhooksConfig),
) -> TestApp {
    spawn_with(db, |c| {
        c.webhooks.allow_private_networks = true;
        c.webhooks.timeout_ms = 1000;
        c.webhooks.retry_jitter_percent = 0;
        c.webhooks.poll_ms = 100;
        c.outbox.poll_ms = 100;
        tweak(&mut c.webhooks);
    })
    .await
}

async fn subscribe(app: &TestApp, token: &str, url: &str, types: &[&str]) -> Value {
    let (s, v) = app
        .post(
            token,
            "/api/v1/webhooks",
            json!({"url": url, "event_types": types, "description": "test receiver"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v
}

/// Polls a subscription's delivery log until `pred` holds for its items.
async fn wait_log(
    app: &TestApp,
    token: &str,
    sub: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + LONG;
    loop {
        let (s, page) = app
            .get(token, &format!("/api/v1/webhooks/{sub}/deliveries"))
            .await;
        assert_eq!(s, 200, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if pred(&items) {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "delivery log never matched: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// -------------------------------------------------------------------- tests

/// Events of the picked types arrive, signed (verified by standardwebhooks),
/// with the outbox event's JSON as the body; the log shows each delivery.
async fn delivers_signed_events_of_the_chosen_types(db: Db) {
    let app = webhooks_app(db, |_| {}).await;
    let t = app.tenant(Role::Admin).await;
    let rx_msgs = Receiver::start().await;
    let rx_all = Receiver::start().await;

    let (s, types) = app.get(&t.token, "/api/v1/webhooks/event-types").await;
    assert_eq!(s, 200);
    assert_eq!(
        types["items"].as_array().unwrap().len(),
        kefu_core::event::ConversationEvent::TYPES.len()
    );
    let msgs = subscribe(&app, &t.token, &rx_msgs.url(), &["message_created"]).await;
    let all = subscribe(&app, &t.token, &rx_all.url(), &["*"]).await;
    let secret = msgs["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(msgs["event_types"], json!(["message_created"]));
    assert_eq!(msgs["active"], true);
    assert_eq!(msgs["paused"], false);
    // The secret is shown once: never in reads or lists.
    let (_, one) = app
        .get(
            &t.token,
            &format!("/api/v1/webhooks/{}", msgs["id"].as_str().unwrap()),
        )
        .await;
    let (_, list) = app.get(&t.token, "/api/v1/webhooks").await;
    assert!(one.get("secret").is_none());
    assert!(!list.to_string().contains(&secret));
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["next_cursor"], Value::Null);

    let (vtoken, contact) = app.visitor(&t.inbox).await;
    let m = app.visitor_send(&vtoken, "m-1", "我的订单在哪里？").await;

    let got = rx_msgs.wait_count(1, LONG).await;
    let r = &got[0];
    let body = r.json();
    assert_eq!(body["type"], "message_created");
    assert_eq!(body["data"]["message"]["content"], "我的订单在哪里？");
    assert_eq!(body["data"]["message"]["id"], m["message"]["id"]);
    assert_eq!(body["workspace_id"], t.ws.id.as_str());
    assert_eq!(body["contact_id"], contact.as_str());
    assert!(r.signature.starts_with("v1,") && !r.signature.contains(' '));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((r.timestamp.parse::<i64>().unwrap() - now).abs() < 60);
    // The body is the outbox row, byte for byte.
    let rows = app.store.outbox_after(0, 1000).await.unwrap();
    let row = rows
        .iter()
        .find(|row| row.event.id == body["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(row.payload, r.body);

    let all_got = rx_all
        .wait_for(LONG, |g| {
            let types: Vec<String> = g
                .iter()
                .map(|r| r.json()["type"].as_str().unwrap().to_string())
                .collect();
            ["contact_created", "conversation_created", "message_created"]
                .iter()
                .all(|t| types.iter().any(|x| x == t))
        })
        .await;
    assert!(
        rx_msgs
            .got()
            .iter()
            .all(|r| r.json()["type"] == "message_created"),
        "only the chosen type"
    );

    let all_secret = all["secret"].as_str().unwrap();
    let mut checks: Vec<(&str, &Received, Option<&str>)> = vec![(&secret, r, None)];
    checks.extend(all_got.iter().map(|r| (all_secret, r, None)));
    // A wrong secret must fail: the verifier is not a rubber stamp.
    checks.push((all_secret, r, None));
    let results = verify(&checks);
    let (last, ok) = results.split_last().unwrap();
    assert!(ok.iter().all(|v| v == &json!(true)), "{results:?}");
    assert!(
        last.as_str().unwrap().contains("WebhookVerificationError"),
        "{last}"
    );

    // The delivery log.
    let sub = msgs["id"].as_str().unwrap();
    let log = wait_log(&app, &t.token, sub, |items| {
        items.iter().any(|d| d["state"] == "delivered")
    })
    .await;
    let d = &log[0];
    assert_eq!(d["id"], r.id.as_str(), "the webhook-id is the delivery id");
    assert_eq!(
        (d["attempts"].clone(), d["last_status"].clone()),
        (json!(1), json!(200))
    );
    assert_eq!(d["last_response"], "receiver says 200");
    assert!(d["last_latency_ms"].as_i64().unwrap() >= 0);
    assert_eq!(d["next_attempt_at"], Value::Null);
    let (s, detail) = app
        .get(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/deliveries/{}", r.id),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(detail["payload"]["id"], body["id"]);
    assert_eq!(detail["attempts_log"][0]["status"], 200);

    // A test event reaches the receiver whatever types it picked.
    let (s, queued) = app
        .post(&t.token, &format!("/api/v1/webhooks/{sub}/test"), json!({}))
        .await;
    assert_eq!(s, 202, "{queued}");
    let got = rx_msgs.wait_count(2, LONG).await;
    assert_eq!(got[1].json()["type"], "webhook_test");
    assert_eq!(got[1].id, queued["id"].as_str().unwrap());
    assert_eq!(verify(&[(&secret, &got[1], None)]), [json!(true)]);

    // Admins only, and only their workspace's.
    let agent = app.tenant(Role::Agent).await;
    let (s, _) = app.get(&agent.token, "/api/v1/webhooks").await;
    assert_eq!(s, 403);
    let other = app.tenant(Role::Admin).await;
    let (s, _) = app
        .get(&other.token, &format!("/api/v1/webhooks/{sub}"))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get(&other.token, &format!("/api/v1/webhooks/{sub}/deliveries"))
        .await;
    assert_eq!(s, 404);
    let (s, v) = app
        .post(
            &t.token,
            "/api/v1/webhooks",
            json!({"url": rx_all.url(), "event_types": ["message.created"]}),
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation")));
    let (s, _) = app
        .get(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/deliveries?cursor=nope"),
        )
        .await;
    assert_eq!(s, 400);
    app.stop().await;
}

/// 500s and timeouts are retried after growing waits with the same
/// webhook-id; when the schedule runs out the delivery is dead; a replay
/// sends it again (same id), and so does a range replay.
async fn retries_with_growing_delays_then_dead_then_replay(db: Db) {
    let app = webhooks_app(db, |w| {
        w.retry_schedule_ms = vec![200, 400, 800];
        w.timeout_ms = 500;
    })
    .await;
    let t = app.tenant(Role::Admin).await;
    let rx = Receiver::start().await;
    rx.plan(&[
        Reply::Status(500),
        Reply::Hang(Duration::from_secs(3)),
        Reply::Status(503),
        Reply::Status(500),
    ]);
    let sub = subscribe(&app, &t.token, &rx.url(), &["message_created"]).await;
    let sub = sub["id"].as_str().unwrap();
    let (vtoken, _) = app.visitor(&t.inbox).await;
    app.visitor_send(&vtoken, "r-1", "retry me").await;

    let got = rx.wait_count(4, LONG).await;
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "one webhook-id across retries"
    );
    assert!(got.iter().all(|r| r.body == got[0].body));
    let gaps: Vec<u128> = got
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_millis())
        .collect();
    // 500 → 200 ms; a timeout (500 ms) → 400 ms; 503 → 800 ms.
    assert!(gaps[0] >= 200, "{gaps:?}");
    // (kefu starts its timeout a moment before the request arrives here)
    assert!(gaps[1] >= 500 + 400 - 50, "{gaps:?}");
    assert!(gaps[2] >= 800, "{gaps:?}");
    assert!(gaps[2] > gaps[0], "the waits grow: {gaps:?}");
    let log = wait_log(&app, &t.token, sub, |i| {
        i.first().is_some_and(|d| d["state"] == "dead")
    })
    .await;
    assert_eq!(log[0]["attempts"], 4);
    assert_eq!(log[0]["next_attempt_at"], Value::Null);
    let (_, detail) = app
        .get(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/deliveries/{}", got[0].id),
        )
        .await;
    let attempts = detail["attempts_log"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["status"].clone())
            .collect::<Vec<_>>(),
        [json!(500), Value::Null, json!(503), json!(500)]
    );
    assert!(
        attempts[1]["error"].as_str().unwrap().contains("timed out"),
        "{}",
        attempts[1]
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(rx.got().len(), 4, "nothing after the dead letter");

    // Replay one: the same id again, now answered 200.
    let (s, d) = app
        .post(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/deliveries/{}/replay", got[0].id),
            json!({}),
        )
        .await;
    assert_eq!((s, d["state"].as_str()), (202, Some("pending")));
    let again = rx.wait_count(5, LONG).await;
    assert_eq!(again[4].id, got[0].id);
    wait_log(&app, &t.token, sub, |i| {
        i[0]["state"] == "delivered" && i[0]["attempts"] == 5
    })
    .await;

    // Range replay (the delivered ones, asked for explicitly).
    let (s, n) = app
        .post(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/replay"),
            json!({"since": 0, "states": ["delivered"]}),
        )
        .await;
    assert_eq!((s, n["replayed"].as_u64()), (202, Some(1)));
    let again = rx.wait_count(6, LONG).await;
    assert_eq!(again[5].id, got[0].id);
    let (s, n) = app
        .post(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/replay"),
            json!({"since": 0}),
        )
        .await;
    assert_eq!(
        (s, n["replayed"].as_u64()),
        (202, Some(0)),
        "by default only failed and dead ones"
    );
    app.stop().await;
}

/// Failures in a row pause the subscription: nothing is sent, new events
/// wait; resuming sends what waited.
async fn failing_subscription_is_paused_then_resumed(db: Db) {
    let app = webhooks_app(db, |w| {
        w.retry_schedule_ms = vec![100; 10];
        w.pause_after_failures = 3;
    })
    .await;
    let t = app.tenant(Role::Admin).await;
    let rx = Receiver::start().await;
    rx.otherwise(Reply::Status(500));
    let sub = subscribe(&app, &t.token, &rx.url(), &["message_created"]).await;
    let sub = sub["id"].as_str().unwrap();
    let (vtoken, _) = app.visitor(&t.inbox).await;
    app.visitor_send(&vtoken, "p-1", "one").await;
    rx.wait_count(3, LONG).await;
    let deadline = Instant::now() + LONG;
    let w = loop {
        let (_, w) = app.get(&t.token, &format!("/api/v1/webhooks/{sub}")).await;
        if w["paused"] == true {
            break w;
        }
        assert!(Instant::now() < deadline, "never paused: {w}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(w["pause_reason"], "failing");
    assert_eq!(w["consecutive_failures"], 3);
    // Paused: events are still recorded, nothing is sent.
    app.visitor_send(&vtoken, "p-2", "two").await;
    wait_log(&app, &t.token, sub, |i| i.len() == 2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rx.got().len(), 3, "nothing sent while paused");

    rx.otherwise(Reply::Status(204));
    let (s, w) = app
        .post(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/resume"),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, w["paused"].clone(), w["consecutive_failures"].clone()),
        (200, json!(false), json!(0))
    );
    let got = rx
        .wait_for(LONG, |g| {
            g.iter()
                .filter(|r| r.json()["data"]["message"]["content"] == "two")
                .count()
                == 1
        })
        .await;
    assert!(
        got.iter()
            .any(|r| r.json()["data"]["message"]["content"] == "one")
    );
    wait_log(&app, &t.token, sub, |i| {
        i.iter().all(|d| d["state"] == "delivered")
    })
    .await;

    // An admin's pause holds sending the same way.
    let (s, w) = app
        .post(
            &t.token,
            &format!("/api/v1/webhooks/{sub}/pause"),
            json!({}),
        )
        .await;
    assert_eq!((s, w["pause_reason"].as_str()), (200, Some("manual")));
    let before = rx.got().len();
    let (s, _) = app
        .post(&t.token, &format!("/api/v1/webhooks/{sub}/test"), json!({}))
        .await;
    assert_eq!(s, 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.got().len(), before);
    app.post(
        &t.token,
        &format!("/api/v1/webhooks/{sub}/resume"),
        json!({}),
    )
    .await;
    rx.wait_count(before + 1, LONG).await;
    app.stop().await;
}

/// After a rotation both secrets sign (two signatures), each verifying with
/// standardwebhooks; the new secret is shown once.
async fn rotation_signs_with_both_secrets(db: Db) {
    let app = webhooks_app(db, |_| {}).await;
    let t = app.tenant(Role::Admin).await;
    let rx = Receiver::start().await;
    let sub = subscribe(&app, &t.token, &rx.url(), &["*"]).await;
    let id = sub["id"].as_str().unwrap();
    let old = sub["secret"].as_str().unwrap().to_string();
    let (s, rotated) = app
        .post(
            &t.token,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != old);
    assert!(
        rotated["previous_secret_until"].as_i64().unwrap()
            > kefu_store::now_ms() + 23 * 3600 * 1000
    );
    let (_, one) = app.get(&t.token, &format!("/api/v1/webhooks/{id}")).await;
    assert!(!one.to_string().contains(&new) && !one.to_string().contains(&old));

    app.post(&t.token, &format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    let got = rx.wait_count(1, LONG).await;
    let sigs: Vec<&str> = got[0].signature.split(' ').collect();
    assert_eq!(sigs.len(), 2, "{}", got[0].signature);
    let results = verify(&[
        (&new, &got[0], None),
        (&old, &got[0], None),
        (&new, &got[0], Some(sigs[0])),
        (&old, &got[0], Some(sigs[1])),
        (&new, &got[0], Some(sigs[1])),
    ]);
    assert_eq!(
        results[..4],
        [json!(true), json!(true), json!(true), json!(true)],
        "{results:?}"
    );
    assert_ne!(
        results[4],
        json!(true),
        "the second signature is the old secret's"
    );
    app.stop().await;
}

/// By default destinations in private ranges are refused: 422 for literal
/// addresses when saving, and a refusal when sending to one saved before.
async fn ssrf_guard_refuses_private_destinations(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Admin).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://[fd00:ec2::254]/",
        "http://localhost:8080/",
        "http://2130706433/",
    ] {
        let (s, v) = app
            .post(
                &t.token,
                "/api/v1/webhooks",
                json!({"url": url, "event_types": ["*"]}),
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (422, Some("blocked_destination")),
            "{url}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("allow_private_networks"),
            "{v}"
        );
    }
    let (s, v) = app
        .post(
            &t.token,
            "/api/v1/webhooks",
            json!({"url": "ftp://example.com/", "event_types": ["*"]}),
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation")));
    let (s, ok) = app
        .post(
            &t.token,
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/kefu", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, v) = app
        .patch(
            &t.token,
            &format!("/api/v1/webhooks/{}", ok["id"].as_str().unwrap()),
            json!({"url": "http://192.168.1.1/"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("blocked_destination"))
    );

    // Saved while the setting allowed it (here: straight into the store), a
    // loopback destination is still refused when sending: nothing arrives.
    let rx = Receiver::start().await;
    for url in [
        rx.url(),
        format!("http://localhost:{}/hooks", rx.addr.port()),
    ] {
        let w = app
            .store
            .create_webhook(kefu_store::NewWebhook {
                workspace_id: t.ws.id.clone(),
                url,
                description: String::new(),
                event_types: vec!["*".into()],
                secret: kefu_server::webhooks::sign::new_secret(),
            })
            .await
            .unwrap();
        let (s, _) = app
            .post(
                &t.token,
                &format!("/api/v1/webhooks/{}/test", w.id),
                json!({}),
            )
            .await;
        assert_eq!(s, 202);
        let log = wait_log(&app, &t.token, &w.id, |i| {
            i.first().is_some_and(|d| d["attempts"] == 1)
        })
        .await;
        let err = log[0]["last_error"].as_str().unwrap();
        assert!(err.contains("loopback"), "{err}");
        assert_eq!(log[0]["state"], "failed");
    }
    assert!(rx.got().is_empty(), "the receiver on 127.0.0.1 got nothing");
    app.stop().await;
}

// ------------------------------------------------------- the event catalogue

/// The JSON shape of a value: what the docs' examples must keep matching.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => json!([a.first().map(shape)]),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

const DOCS: &str = "docs/integrations.md";
const BEGIN: &str = "<!-- catalogue:begin (generated by `KEFU_UPDATE_DOCS=1 cargo test -p kefu-server --test webhooks event_catalogue`) -->";
const END: &str = "<!-- catalogue:end -->";

/// Parses the catalogue's `### \`type\`` sections: type → example JSON.
fn documented() -> std::collections::BTreeMap<String, Value> {
    let text = std::fs::read_to_string(repo_root().join(DOCS)).expect("docs/integrations.md");
    let part = text
        .split(BEGIN)
        .nth(1)
        .and_then(|t| t.split(END).next())
        .expect("catalogue markers in docs/integrations.md");
    let mut out = std::collections::BTreeMap::new();
    for sec in part.split("\n### `").skip(1) {
        let name = sec.split('`').next().unwrap().to_string();
        let json = sec
            .split("```json\n")
            .nth(1)
            .and_then(|t| t.split("\n```").next())
            .unwrap_or_else(|| panic!("no JSON example for {name}"));
        out.insert(
            name.clone(),
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}")),
        );
    }
    out
}

/// Drives a workspace through every kind of change, collects one webhook
/// body of each event type at a receiver, and checks that the examples in
/// docs/integrations.md have exactly their shape (with
/// `KEFU_UPDATE_DOCS=1` it rewrites them from these real events instead).
#[tokio::test]
async fn event_catalogue_matches_real_events() {
    let running = webhooks_app(Db::Sqlite, |_| {}).await;
    let app = &running;
    let owner = app.tenant(Role::Owner).await;
    let rx = Receiver::start().await;
    subscribe(app, &owner.token, &rx.url(), &["*"]).await;
    let (s, b) = app
        .post(&owner.token, "/api/v1/users", json!({"email": "li.lei@example.com", "name": "Li Lei", "password": PASSWORD, "role": "agent", "capacity": 5}))
        .await;
    assert_eq!(s, 201, "{b}");
    let b_id = b["id"].as_str().unwrap().to_string();
    let (b_token, _) = app.login("li.lei@example.com", PASSWORD).await;
    let (_b_ws, _) = app.ws(&b_token).await;
    let (_owner_ws, _) = app.ws(&owner.token).await;
    for g in [
        json!({"name": "billing", "members": [b_id]}),
        json!({"name": "vip", "members": []}),
    ] {
        let (s, v) = app.post(&owner.token, "/api/v1/groups", g).await;
        assert_eq!(s, 201, "{v}");
    }
    let rules = r#"rule "refunds" when conversation.first_message contains "refund" then route_to("billing"), set_priority("high") end
rule "vip" when conversation.first_message contains "vip" then route_to("vip") end
rule "later" when conversation.first_message contains "later" then offline() end
rule "bot" when conversation.first_message contains "talk to a human" then to_bot() end"#;
    let (s, v) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": rules}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let (vt, conv) = first_message(
        app,
        &owner.inbox,
        "I want a refund for order #1234 / 我要退款",
    )
    .await;
    let (s, _) = app
        .post(&vt, "/api/v1/widget/identify", json!({"name": "Han Meimei", "email": "han@example.com", "attributes": {"plan": "pro"}}))
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/conversations/{conv}"),
            json!({"add_tags": ["refund"]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &b_token,
            &format!("/api/v1/conversations/{conv}/transfer"),
            json!({"to_agent_id": owner.agent_id, "note": "Needs a manager"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"assignee_id": null}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"client_msg_id": "typo", "content": "Your refund is 19.90 (typo)"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let seq = v["message"]["seq"].as_i64().unwrap();
    let (s, v) = app
        .delete(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages/{seq}"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/snooze"),
            json!({"until": kefu_store::now_ms() + 3_600_000}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // The customer rates it (CSAT on for the inbox).
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({"widget": {"csat": {"enabled": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &vt,
            "/api/v1/widget/csat",
            json!({"conversation_id": conv, "rating": 5, "comment": "Quick and kind, 谢谢"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    first_message(app, &owner.inbox, "vip customer here").await;
    first_message(app, &owner.inbox, "please call me later").await;
    // The bot (people first: only the rule gives it this one) hands off when asked.
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({"bot": {"enabled": true, "mode": "humans_first"}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    first_message(app, &owner.inbox, "I want to talk to a human").await;
    // The contacts page: a duplicate merged, a contact blocked and unblocked.
    let (_, c) = app
        .get(&owner.token, &format!("/api/v1/conversations/{conv}"))
        .await;
    let contact = c["contact_id"]
        .as_str()
        .expect("the conversation's contact")
        .to_string();
    let (_, dup) = app.visitor(&owner.inbox).await;
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/contacts/{dup}"),
            json!({"email": "li.lei@example.com"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/contacts/{contact}/merge"),
            json!({"other_id": dup}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, spammer) = app.visitor(&owner.inbox).await;
    let block = format!("/api/v1/contacts/{spammer}/block");
    let (s, v) = app
        .post(&owner.token, &block, json!({"block_ip": false}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.delete(&owner.token, &block).await;
    assert_eq!(s, 200, "{v}");

    let mut examples: std::collections::BTreeMap<String, Value> = Default::default();
    let produced: Vec<&str> = kefu_core::event::ConversationEvent::TYPES
        .iter()
        .copied()
        .filter(|t| *t != "contact_event_recorded")
        .collect();
    let got = rx
        .wait_for(LONG, |g| {
            produced
                .iter()
                .all(|t| g.iter().any(|r| r.json()["type"] == *t))
        })
        .await;
    // The earliest of each type by commit (deliveries arrive in any order).
    let mut bodies: Vec<Value> = got.iter().map(Received::json).collect();
    bodies.sort_by_key(|v| {
        (
            v["occurred_at"].as_i64(),
            v["id"].as_str().map(str::to_string),
        )
    });
    for v in bodies {
        examples
            .entry(v["type"].as_str().unwrap().to_string())
            .or_insert(v);
    }
    // No endpoint records business events yet (the incoming events API is
    // another part of the events work): its example is the type serialized.
    let ev = kefu_core::event::Event {
        id: kefu_store::new_id(),
        workspace_id: owner.ws.id.clone(),
        occurred_at: 1_767_225_600_000,
        actor: kefu_core::event::Actor {
            kind: kefu_core::SenderKind::Api,
            id: kefu_store::new_id(),
        },
        conversation: None,
        contact_id: examples["contact_created"]["contact_id"]
            .as_str()
            .map(kefu_core::ContactId::from),
        change: kefu_core::event::ConversationEvent::ContactEventRecorded {
            event: kefu_core::event::BusinessEvent {
                id: kefu_store::new_id(),
                contact_id: examples["contact_created"]["contact_id"]
                    .as_str()
                    .unwrap()
                    .into(),
                event_type: "order.refunded".into(),
                title: "Order #1234 refunded".into(),
                data: json!({"order_id": "1234", "amount": "199.00", "currency": "CNY"}),
                occurred_at: 1_767_225_590_000,
                source: kefu_store::new_id(),
            },
        },
    };
    examples.insert(
        "contact_event_recorded".into(),
        serde_json::to_value(&ev).unwrap(),
    );
    assert_eq!(
        examples.len(),
        kefu_core::event::ConversationEvent::TYPES.len()
    );

    if std::env::var("KEFU_UPDATE_DOCS").is_ok() {
        let mut sections = String::new();
        for t in kefu_core::event::ConversationEvent::TYPES {
            sections.push_str(&format!(
                "\n### `{t}`\n\n{}\n\n```json\n{}\n```\n",
                catalogue_note(t),
                serde_json::to_string_pretty(&examples[t]).unwrap()
            ));
        }
        let path = repo_root().join(DOCS);
        let text = std::fs::read_to_string(&path).unwrap();
        let (head, rest) = text.split_once(BEGIN).expect("catalogue begin marker");
        let (_, tail) = rest.split_once(END).expect("catalogue end marker");
        std::fs::write(&path, format!("{head}{BEGIN}\n{sections}\n{END}{tail}")).unwrap();
    }
    let docs = documented();
    for t in kefu_core::event::ConversationEvent::TYPES {
        let doc = docs
            .get(t)
            .unwrap_or_else(|| panic!("docs/integrations.md has no example of {t}"));
        assert_eq!(
            shape(doc),
            shape(&examples[t]),
            "the example of {t} in docs/integrations.md no longer matches a real event (KEFU_UPDATE_DOCS=1 regenerates it)"
        );
    }
    assert_eq!(
        docs.len(),
        kefu_core::event::ConversationEvent::TYPES.len(),
        "no example of an unknown type"
    );
    running.stop().await;
}

/// A new visitor's first message, routed; returns their token and the conversation.
async fn first_message(app: &TestApp, inbox: &kefu_store::Inbox, text: &str) -> (String, String) {
    let (vt, _) = app.visitor(inbox).await;
    let (s, r) = app
        .post(
            &vt,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "first", "content": text}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    app.state.routing_idle().await;
    (
        vt,
        r["message"]["conversation_id"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

/// The line under each catalogue heading.
fn catalogue_note(t: &str) -> &'static str {
    match t {
        "conversation_created" => {
            "A visitor's first message opened a conversation (a `message_created` follows)."
        }
        "message_created" => {
            "A message was stored: from a visitor, an agent, the system, or an agent's private note (`kind: \"note\"`; integrations are staff and see notes)."
        }
        "conversation_status_changed" => {
            "The status moved (`open`, `pending`, `queued`, `resolved`, `closed`, `bot`): by an agent, a visitor's message reopening it, or routing."
        }
        "conversation_assigned" => {
            "Someone owns it now. `by`: `manual`, `routing`, `claim` or `reply` (an agent answered it while nobody had it); `group`: the group it came through."
        }
        "conversation_unassigned" => "Nobody owns it any more.",
        "conversation_transferred" => {
            "Handed to another agent or group (`reason`: `manual` or `queue_timeout`), with the internal note."
        }
        "conversation_queued" => "It waits in a group's line for an agent with room.",
        "conversation_labels_changed" => "Tags were added or removed.",
        "conversation_priority_changed" => {
            "The priority changed (`low`, `normal`, `high`, `urgent`)."
        }
        "message_deleted" => {
            "Its author (an agent) took a message back, within `limits.message_delete_secs`: clients show \"message deleted\"; `data.content` keeps the text for the audit."
        }
        "conversation_snoozed" => {
            "Put aside until `data.until` (status `pending`); it wakes by itself then (a `conversation_status_changed` to `open` by the system actor `snooze`) or when the customer writes."
        }
        "conversation_offline" => {
            "Left for offline follow-up: nobody can take it now (outside business hours, a queue timeout without fallback, a rule's `offline()`)."
        }
        "conversation_handed_off" => {
            "The bot gave the conversation to people (routing takes it next). `reason`: `asked` (the visitor asked for a person), `low_confidence` (it could not answer, turn after turn), `thumbs_down`, `max_turns`, `rule` (its inbox's bot was turned off meanwhile) or `agent`. A `conversation_status_changed` from `bot` to `open` comes with it (docs/bot.md)."
        }
        "conversation_rated" => {
            "The customer rated the conversation after a resolve (CSAT, when the inbox's `widget.csat` is on): `rating` 1 (bad) to 5 (good) and an optional `comment`; once per resolve (docs/reports.md)."
        }
        "contact_created" => "A new visitor or customer (the widget's first session).",
        "contact_updated" => {
            "Their name, e-mail or attributes changed (the widget's `identify`, the pre-chat form)."
        }
        "contact_event_recorded" => {
            "A business system recorded something about the contact (`POST /api/v1/events`, part of the incoming-events work; no endpoint emits it in this version, so this example is the type serialized rather than a captured event)."
        }
        "contact_merged" => {
            "An agent merged a duplicate (`merged`, now carrying `merged_into`) into `contact` (the kept contact as the merge left it): the duplicate's conversations, notes and business events now belong to `contact` (docs/contacts.md)."
        }
        "contact_blocked" => {
            "An agent blocked the contact: their widget sessions and messages are refused. `ip_blocked`: the address blocked with them, or `null` (docs/contacts.md)."
        }
        "contact_unblocked" => "An agent lifted the contact's block.",
        _ => "",
    }
}

// ------------------------------------------------------- kill -9 (real binary)

const BIN: &str = env!("CARGO_BIN_EXE_kefu");

fn kefu_cmd(
    dir: &std::path::Path,
    addr: SocketAddr,
    db_url: &Option<String>,
) -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    c.arg("--config")
        .arg(dir.join("kefu.toml"))
        .env("KEFU_DATA_DIR", dir.join("data"))
        .env("KEFU_LISTEN", addr.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(u) = db_url {
        c.env("KEFU_DATABASE_URL", u);
    }
    c
}

async fn start_kefu(
    dir: &std::path::Path,
    addr: SocketAddr,
    db_url: &Option<String>,
) -> std::process::Child {
    let mut cmd = kefu_cmd(dir, addr, db_url);
    cmd.arg("serve");
    common::spawn_ready(cmd, addr).await
}

/// kefu is killed with SIGKILL while a delivery is in flight (the receiver
/// holds the first request) and right after committing more events; after
/// the restart every committed event is delivered, the first one with the
/// webhook-id the receiver saw before the crash.
async fn kill9_between_commit_and_delivery(db_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kefu.toml"),
        "[webhooks]\nallow_private_networks = true\ntimeout_ms = 2000\nretry_schedule_ms = [300, 300, 300, 300, 300]\nretry_jitter_percent = 0\npoll_ms = 100\n",
    )
    .unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let status = kefu_cmd(dir.path(), addr, &db_url)
        .args([
            "user",
            "create",
            "--workspace",
            "hooks",
            "--email",
            "owner@example.com",
            "--role",
            "owner",
        ])
        .env("KEFU_USER_PASSWORD", "crash-test-pw")
        .status()
        .unwrap();
    assert!(status.success());
    let rx = Receiver::start().await;
    // The first request is held past the timeout: in flight when kefu dies.
    rx.plan(&[Reply::Hang(Duration::from_secs(30))]);
    rx.otherwise(Reply::Status(500));

    let mut server = start_kefu(dir.path(), addr, &db_url).await;
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let call = |method: reqwest::Method, path: &str, token: Option<&str>, body: Value| {
        let mut r = http.request(method, format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (_, login) = call(
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        json!({"email": "owner@example.com", "password": "crash-test-pw"}),
    )
    .await;
    let token = login["access_token"].as_str().unwrap().to_string();
    let (_, inbox) = call(
        reqwest::Method::POST,
        "/api/v1/inboxes",
        Some(&token),
        json!({"name": "Web"}),
    )
    .await;
    let (s, sub) = call(
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(&token),
        json!({"url": rx.url(), "event_types": ["message_created"]}),
    )
    .await;
    assert_eq!(s, 201, "{sub}");
    let (_, session) = call(
        reqwest::Method::POST,
        "/api/v1/widget/session",
        None,
        json!({"inbox_key": inbox["public_key"]}),
    )
    .await;
    let vtoken = session["visitor_token"].as_str().unwrap().to_string();
    let mut sent = Vec::new();
    let (s, m) = call(
        reqwest::Method::POST,
        "/api/v1/widget/messages",
        Some(&vtoken),
        json!({"client_msg_id": "k-0", "content": "before the crash"}),
    )
    .await;
    assert_eq!(s, 201);
    sent.push(m["message"]["id"].as_str().unwrap().to_string());
    let first = rx.wait_count(1, LONG).await[0].clone();
    // More events committed (acknowledged) just before the kill: their
    // deliveries may or may not have been recorded yet.
    for i in 1..=3 {
        let (s, m) = call(
            reqwest::Method::POST,
            "/api/v1/widget/messages",
            Some(&vtoken),
            json!({"client_msg_id": format!("k-{i}"), "content": format!("just before {i}")}),
        )
        .await;
        assert_eq!(s, 201);
        sent.push(m["message"]["id"].as_str().unwrap().to_string());
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let before = rx.got().len();

    rx.otherwise(Reply::Status(200));
    let mut server = start_kefu(dir.path(), addr, &db_url).await;
    // Every acknowledged message's event arrives and is answered 200 after
    // the restart (the first after its lease, timeout + margin).
    let got = rx
        .wait_for(Duration::from_secs(30), |g| {
            sent.iter().all(|id| {
                g[before..]
                    .iter()
                    .any(|r| r.json()["data"]["message"]["id"].as_str() == Some(id))
            })
        })
        .await;
    let after: Vec<&Received> = got[before..].iter().collect();
    let again = after
        .iter()
        .find(|r| r.json()["data"]["message"]["id"].as_str() == Some(&sent[0]))
        .unwrap();
    assert_eq!(again.id, first.id, "the same webhook-id after the restart");
    assert_eq!(again.body, first.body);
    // One webhook-id per event, across the crash.
    let mut ids: std::collections::HashMap<String, String> = Default::default();
    for r in &got {
        let ev = r.json()["id"].as_str().unwrap().to_string();
        let prev = ids.entry(ev.clone()).or_insert_with(|| r.id.clone());
        assert_eq!(prev, &r.id, "event {ev} went out under two webhook-ids");
    }
    assert_eq!(ids.len(), sent.len());
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_between_commit_and_delivery_still_delivers_sqlite() {
    kill9_between_commit_and_delivery(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_between_commit_and_delivery_still_delivers_postgres() {
    kill9_between_commit_and_delivery(Some(
        kefu_store::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL for the webhook crash test"),
    ))
    .await;
}

both_backends!(
    delivers_signed_events_of_the_chosen_types,
    retries_with_growing_delays_then_dead_then_replay,
    failing_subscription_is_paused_then_resumed,
    rotation_signs_with_both_secrets,
    ssrf_guard_refuses_private_destinations,
);

/// Every webhook endpoint is in the OpenAPI document (which
/// scripts/check-openapi.sh validates).
#[test]
fn every_webhook_endpoint_is_documented() {
    let doc = serde_json::to_value(kefu_server::openapi()).unwrap();
    for (path, methods) in [
        ("/api/v1/webhooks", &["get", "post"][..]),
        ("/api/v1/webhooks/event-types", &["get"]),
        ("/api/v1/webhooks/{id}", &["get", "patch", "delete"]),
        ("/api/v1/webhooks/{id}/rotate-secret", &["post"]),
        ("/api/v1/webhooks/{id}/pause", &["post"]),
        ("/api/v1/webhooks/{id}/resume", &["post"]),
        ("/api/v1/webhooks/{id}/test", &["post"]),
        ("/api/v1/webhooks/{id}/deliveries", &["get"]),
        ("/api/v1/webhooks/{id}/deliveries/{delivery_id}", &["get"]),
        (
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
            &["post"],
        ),
        ("/api/v1/webhooks/{id}/replay", &["post"]),
    ] {
        for m in methods {
            assert!(
                doc["paths"][path].get(*m).is_some(),
                "{m} {path} documented"
            );
        }
    }
}

/// How fast a backlog drains to one fast receiver (this build's profile): N events wait while the subscription is paused, then a resume
/// sends them all. Prints the rate; run with
/// `cargo test -p kefu-server --test webhooks delivery_rate -- --ignored --nocapture --test-threads 1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn delivery_rate_sqlite() {
    delivery_rate(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn delivery_rate_postgres() {
    delivery_rate(Db::Postgres).await
}

async fn delivery_rate(db: Db) {
    const N: usize = 2000;
    let app = spawn_with(db, |c| {
        c.webhooks.allow_private_networks = true;
        c.limits.visitor_messages_per_minute = 1_000_000;
    })
    .await;
    let t = app.tenant(Role::Admin).await;
    let rx = Receiver::start().await;
    let sub = subscribe(&app, &t.token, &rx.url(), &["message_created"]).await;
    let sub = sub["id"].as_str().unwrap().to_string();
    app.post(
        &t.token,
        &format!("/api/v1/webhooks/{sub}/pause"),
        json!({}),
    )
    .await;
    let (vt, _) = app.visitor(&t.inbox).await;
    for i in 0..N {
        app.visitor_send(&vt, &format!("b-{i}"), "x").await;
    }
    wait_log(&app, &t.token, &sub, |_| true).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while app
        .store
        .list_webhook_deliveries(&t.ws.id, &sub, None, None, N as i64)
        .await
        .unwrap()
        .len()
        < N
    {
        assert!(Instant::now() < deadline, "deliveries not all recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t0 = Instant::now();
    app.post(
        &t.token,
        &format!("/api/v1/webhooks/{sub}/resume"),
        json!({}),
    )
    .await;
    rx.wait_count(N, Duration::from_secs(300)).await;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "delivery_rate: {N} deliveries in {secs:.2} s = {:.0}/s (concurrency {}, {db:?})",
        N as f64 / secs,
        app.state.cfg.webhooks.concurrency
    );
    app.stop().await;
}
