//! Incoming business events (`POST /api/v1/events`) over the real server,
//! on both backends: who may send them (API key scopes, signed requests),
//! what is refused and with which code, that a retry is stored once, what an
//! event does (the line in the open conversation for agents only, the
//! `contact_event` frame, the outbox rows, the contact's attributes) and
//! that routing rules route on it.

mod common;

use common::*;
use kefu_core::Role;
use kefu_server::auth::signature;
use serde_json::{Value, json};
use std::time::Duration;

/// A new API key of the tenant's workspace with these scopes.
async fn key(app: &TestApp, t: &Tenant, scopes: &[&str]) -> String {
    let (s, r) = app
        .post(
            &t.token,
            "/api/v1/api-keys",
            json!({"name": "ERP", "scopes": scopes}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    r["key"].as_str().unwrap().to_string()
}

/// A visitor who told their e-mail; returns (token, contact id).
async fn visitor_with_email(app: &TestApp, t: &Tenant, email: &str) -> (String, String) {
    let (vt, contact) = app.visitor(&t.inbox).await;
    let (s, r) = app
        .post(&vt, "/api/v1/widget/identify", json!({"email": email}))
        .await;
    assert_eq!(s, 200, "{r}");
    (vt, contact)
}

/// The visitor's first message; returns the conversation id.
async fn visitor_says(app: &TestApp, vt: &str, text: &str) -> String {
    let (s, r) = app
        .post(
            vt,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "first", "content": text}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    r["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn refund(email: &str) -> Value {
    json!({
        "contact": {"email": email},
        "type": "order.refunded",
        "title": "Order 6610 refunded",
        "data": {"order_id": "6610", "amount": "299.00", "currency": "CNY"},
    })
}

/// A request without a bearer token: raw body, extra headers.
async fn post_raw(
    app: &TestApp,
    path: &str,
    headers: &[(&str, String)],
    body: String,
) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A request signed with `secret`, as a Standard Webhooks sender makes it.
async fn post_signed(
    app: &TestApp,
    ws: &str,
    secret: &str,
    id: &str,
    ts: i64,
    body: &Value,
) -> (u16, Value) {
    let body = body.to_string();
    let sig = signature::sign(secret, id, ts, body.as_bytes());
    post_raw(
        app,
        &format!("/api/v1/events?workspace_id={ws}"),
        &[
            ("webhook-id", id.to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig),
        ],
        body,
    )
    .await
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

fn now_secs() -> i64 {
    kefu_store::now_ms() / 1000
}

async fn events_of(app: &TestApp, token: &str, contact: &str) -> Vec<Value> {
    let (s, page) = app
        .get(
            token,
            &format!("/api/v1/contacts/{contact}/events?limit=200"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Who may post: an API key with events:write, nobody else; and keys are
/// held to their scopes everywhere else too.
async fn api_keys_and_scopes(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (vt, contact) = visitor_with_email(&app, &owner, "wang.fang@example.com").await;
    let writer = key(&app, &owner, &["events:write"]).await;
    let reader = key(&app, &owner, &["contacts:read"]).await;

    // No credentials, a bad key, an agent, a visitor.
    let (s, e) = post_raw(
        &app,
        "/api/v1/events",
        &[],
        refund("wang.fang@example.com").to_string(),
    )
    .await;
    assert_eq!((s, code(&e)), (401, Some("unauthorized")), "{e}");
    let (s, e) = app
        .post(
            "kefu_sk_nope",
            "/api/v1/events",
            refund("wang.fang@example.com"),
        )
        .await;
    assert_eq!((s, code(&e)), (401, Some("unauthorized")), "{e}");
    for token in [&owner.token, &vt] {
        let (s, e) = app
            .post(token, "/api/v1/events", refund("wang.fang@example.com"))
            .await;
        assert_eq!((s, code(&e)), (403, Some("forbidden")), "{e}");
    }
    // A key without the scope: 403 naming it, before the body is looked at.
    let (s, e) = app
        .post(&reader, "/api/v1/events", json!({"garbage": true}))
        .await;
    assert_eq!((s, code(&e)), (403, Some("missing_scope")), "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("events:write"),
        "{e}"
    );

    // The right key: 201, and the event is the contact's.
    let (s, r) = app
        .post(&writer, "/api/v1/events", refund("Wang.Fang@EXAMPLE.com"))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["duplicate"], false);
    assert_eq!(r["event"]["contact_id"], contact.as_str());
    assert_eq!(r["event"]["event_type"], "order.refunded");
    assert_eq!(r["event"]["data"]["order_id"], "6610");
    assert!(
        r["event"]["source"]
            .as_str()
            .unwrap()
            .starts_with("api_key:"),
        "{r}"
    );
    assert_eq!(r["conversation_ids"], json!([]), "no conversation yet");

    // Reading them needs contacts:read.
    let (s, e) = app
        .get(&writer, &format!("/api/v1/contacts/{contact}/events"))
        .await;
    assert_eq!((s, code(&e)), (403, Some("missing_scope")), "{e}");
    assert_eq!(events_of(&app, &reader, &contact).await.len(), 1);
    assert_eq!(events_of(&app, &owner.token, &contact).await.len(), 1);
    // Another workspace's contact is not found.
    let other = app.tenant(Role::Owner).await;
    let (s, _) = app
        .get(&other.token, &format!("/api/v1/contacts/{contact}/events"))
        .await;
    assert_eq!(s, 404);

    // Scopes hold on every endpoint a key can call, before the body.
    for (path, scope) in [
        ("/api/v1/conversations", "conversations:read"),
        ("/api/v1/contacts", "contacts:read"),
        ("/api/v1/users", "settings:read"),
        ("/api/v1/routing/queues", "conversations:read"),
        ("/api/v1/api-keys", "admin"),
    ] {
        let (s, e) = app.get(&writer, path).await;
        assert_eq!((s, code(&e)), (403, Some("missing_scope")), "{path}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().ends_with(scope),
            "{path}: {e}"
        );
    }
    let (s, e) = app
        .post(&reader, "/api/v1/inboxes", json!({"bad": 1}))
        .await;
    assert_eq!((s, code(&e)), (403, Some("missing_scope")), "{e}");
    let (s, _) = app.get(&reader, "/api/v1/contacts").await;
    assert_eq!(s, 200);
    // The WebSocket feed needs conversations:read.
    let (mut ws, _) = {
        let mut ws = Ws::connect(app.addr).await;
        ws.send(json!({"type": "auth", "v": 1, "token": writer}))
            .await;
        (ws, ())
    };
    let f = ws.expect("error").await;
    assert_eq!(f["code"], "missing_scope", "{f}");
    assert_eq!(ws.close_code().await, Some(1008));
    // With conversations:read it connects, but sending and typing need their own scopes.
    let conv = visitor_says(&app, &vt, "hello").await;
    let watcher = key(&app, &owner, &["conversations:read"]).await;
    let (mut ws, hello) = app.ws(&watcher).await;
    assert_eq!(hello["identity"]["kind"], "api");
    ws.send(
        json!({"type": "send", "client_msg_id": "k1", "conversation_id": conv, "content": "hi"}),
    )
    .await;
    let f = ws.expect("error").await;
    assert_eq!(
        (f["code"].as_str(), f["client_msg_id"].as_str()),
        (Some("missing_scope"), Some("k1")),
        "{f}"
    );
    assert!(
        f["message"].as_str().unwrap().ends_with("messages:write"),
        "{f}"
    );
    ws.send(json!({"type": "typing", "conversation_id": conv, "on": true}))
        .await;
    let f = ws.expect("error").await;
    assert_eq!(f["code"], "missing_scope", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .ends_with("conversations:write"),
        "{f}"
    );
    // It still sees the conversation's messages live, but no contact events without contacts:read.
    let (s, _) = app
        .post(&writer, "/api/v1/events", refund("wang.fang@example.com"))
        .await;
    assert_eq!(s, 201);
    let line = ws.expect("message").await;
    assert_eq!(line["message"]["kind"], "note", "the event's line: {line}");
    while let Some(f) = ws.next_frame(Duration::from_millis(300)).await {
        assert_ne!(f["type"], "contact_event", "{f}");
    }

    // A revoked key stops at once.
    let (_, keys) = app.get(&owner.token, "/api/v1/api-keys").await;
    let writer_id = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"] == json!(["events:write"]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/api-keys/{writer_id}")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, _) = app
        .post(&writer, "/api/v1/events", refund("wang.fang@example.com"))
        .await;
    assert_eq!(s, 401);
    app.stop().await;
}

/// Signed requests: a secret made (and rotated) by an admin; good, bad,
/// stale and replayed signatures.
async fn signed_requests(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let agent = app.tenant(Role::Agent).await;
    let ws = owner.ws.id.clone();
    let (_, contact) = visitor_with_email(&app, &owner, "li.lei@example.com").await;
    let body = refund("li.lei@example.com");

    // No secret yet: nothing verifies (and nothing says whether the workspace exists).
    let (s, e) = post_signed(
        &app,
        &ws,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_1",
        now_secs(),
        &body,
    )
    .await;
    assert_eq!((s, code(&e)), (401, Some("bad_signature")), "{e}");
    let (s, e) = app.get(&owner.token, "/api/v1/events/signing-secret").await;
    assert_eq!((s, &e["secret"]), (200, &Value::Null), "{e}");
    // Admins only.
    let (s, _) = app
        .post(&agent.token, "/api/v1/events/signing-secret", json!({}))
        .await;
    assert_eq!(s, 403);
    let (s, made) = app
        .post(&owner.token, "/api/v1/events/signing-secret", json!({}))
        .await;
    assert_eq!(s, 201, "{made}");
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{made}");
    let (_, shown) = app.get(&owner.token, "/api/v1/events/signing-secret").await;
    assert!(!shown.to_string().contains(&secret), "shown once: {shown}");
    assert!(
        secret.starts_with(shown["secret"]["prefix"].as_str().unwrap()),
        "{shown}"
    );

    // Good.
    let ts = now_secs();
    let (s, r) = post_signed(&app, &ws, &secret, "msg_1", ts, &body).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["event"]["source"], "signed");
    // Replayed (same webhook-id, same body): stored once.
    let (s, again) = post_signed(&app, &ws, &secret, "msg_1", ts, &body).await;
    assert_eq!(
        (s, again["duplicate"].as_bool()),
        (200, Some(true)),
        "{again}"
    );
    assert_eq!(again["event"]["id"], r["event"]["id"]);
    assert_eq!(events_of(&app, &owner.token, &contact).await.len(), 1);

    // Bad: another secret, a changed body, a changed id, no signature headers but one.
    let (s, e) = post_signed(
        &app,
        &ws,
        &signature::new_secret(),
        "msg_2",
        now_secs(),
        &body,
    )
    .await;
    assert_eq!((s, code(&e)), (401, Some("bad_signature")), "{e}");
    let sig = signature::sign(&secret, "msg_3", now_secs(), body.to_string().as_bytes());
    let tampered = json!({"contact": {"email": "li.lei@example.com"}, "type": "order.refunded", "title": "Order 6610 refunded twice"});
    let (s, e) = post_raw(
        &app,
        &format!("/api/v1/events?workspace_id={ws}"),
        &[
            ("webhook-id", "msg_3".into()),
            ("webhook-timestamp", now_secs().to_string()),
            ("webhook-signature", sig.clone()),
        ],
        tampered.to_string(),
    )
    .await;
    assert_eq!((s, code(&e)), (401, Some("bad_signature")), "{e}");
    let (s, e) = post_raw(
        &app,
        &format!("/api/v1/events?workspace_id={ws}"),
        &[
            ("webhook-id", "msg_4".into()),
            ("webhook-timestamp", now_secs().to_string()),
            ("webhook-signature", sig.clone()),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (401, Some("bad_signature")),
        "another id: {e}"
    );
    let (s, e) = post_raw(
        &app,
        &format!("/api/v1/events?workspace_id={ws}"),
        &[("webhook-signature", sig)],
        body.to_string(),
    )
    .await;
    assert_eq!((s, code(&e)), (401, Some("bad_signature")), "{e}");
    // Expired (and from the future): beyond the 5 minutes.
    for off in [-301, 301] {
        let (s, e) = post_signed(&app, &ws, &secret, "msg_5", now_secs() + off, &body).await;
        assert_eq!((s, code(&e)), (401, Some("stale_signature")), "{off}: {e}");
    }
    // Without its workspace; with another workspace.
    let sig = signature::sign(&secret, "msg_6", now_secs(), body.to_string().as_bytes());
    let (s, e) = post_raw(
        &app,
        "/api/v1/events",
        &[
            ("webhook-id", "msg_6".into()),
            ("webhook-timestamp", now_secs().to_string()),
            ("webhook-signature", sig),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!((s, code(&e)), (400, Some("missing_workspace")), "{e}");
    let (s, e) = post_signed(&app, &agent.ws.id, &secret, "msg_7", now_secs(), &body).await;
    assert_eq!((s, code(&e)), (401, Some("bad_signature")), "{e}");

    // Rotation: the new secret verifies, and the old one during its grace period.
    let (_, rotated) = app
        .post(&owner.token, "/api/v1/events/signing-secret", json!({}))
        .await;
    let fresh = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(fresh, secret);
    assert!(rotated["info"]["previous_until"].as_i64().unwrap() > kefu_store::now_ms());
    for (s, id) in [(&fresh, "msg_8"), (&secret, "msg_9")] {
        let (status, r) = post_signed(&app, &ws, s, id, now_secs(), &body).await;
        assert_eq!(status, 201, "{r}");
    }
    assert_eq!(events_of(&app, &owner.token, &contact).await.len(), 3);
    app.stop().await;
}

/// What is refused, with which code; nothing refused is stored.
async fn bad_input(db: Db) {
    let app = spawn_with(db, |c| {
        c.events.max_data_bytes = 1024;
        c.events.max_body_bytes = 4096;
        c.events.max_title_chars = 50;
    })
    .await;
    let owner = app.tenant(Role::Owner).await;
    let (_, contact) = visitor_with_email(&app, &owner, "han.meimei@example.com").await;
    let k = key(&app, &owner, &["events:write"]).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = refund("han.meimei@example.com");
        f(&mut b);
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            with(&|b| b["contact"] = json!({"email": "nobody@example.com"})),
            404,
            "contact_not_found",
        ),
        (
            with(&|b| b["contact"] = json!({"external_id": "cust-42"})),
            404,
            "contact_not_found",
        ),
        (with(&|b| b["contact"] = json!({})), 422, "bad_contact"),
        (
            with(&|b| b["contact"] = json!({"email": "  "})),
            422,
            "bad_contact",
        ),
        (
            with(&|b| b["contact"] = json!({"phone": "110"})),
            422,
            "validation",
        ),
        (
            with(&|b| b["type"] = json!("Order.Refunded")),
            422,
            "bad_event_type",
        ),
        (
            with(&|b| b["type"] = json!("order refunded")),
            422,
            "bad_event_type",
        ),
        (
            with(&|b| b["type"] = json!("x".repeat(65))),
            422,
            "bad_event_type",
        ),
        (with(&|b| b["type"] = json!("")), 422, "bad_event_type"),
        (with(&|b| b["title"] = json!(" ")), 422, "bad_title"),
        (
            with(&|b| b["title"] = json!("t".repeat(51))),
            422,
            "bad_title",
        ),
        (with(&|b| b["title"] = json!("a\u{7}b")), 422, "bad_title"),
        (with(&|b| b["data"] = json!([1, 2])), 422, "bad_data"),
        (
            with(&|b| b["data"] = json!({"blob": "x".repeat(1100)})),
            422,
            "data_too_large",
        ),
        (
            with(&|b| b["occurred_at"] = json!("yesterday")),
            422,
            "bad_time",
        ),
        (
            with(&|b| b["occurred_at"] = json!(1_767_225_600)),
            422,
            "bad_time",
        ),
        (
            with(&|b| b["occurred_at"] = json!(kefu_store::now_ms() + 3 * 86_400_000)),
            422,
            "bad_time",
        ),
        (with(&|b| b["occurred_at"] = json!(1.5)), 422, "bad_time"),
        (
            with(&|b| b["occurred_at"] = json!("2026-13-01T00:00:00Z")),
            422,
            "bad_time",
        ),
        (
            with(&|b| b["set_attributes"] = json!({"nested": {"a": 1}})),
            422,
            "bad_attributes",
        ),
        (
            with(&|b| b["set_attributes"] = json!({"": 1})),
            422,
            "bad_attributes",
        ),
        (with(&|b| b["id"] = json!("")), 422, "bad_idempotency_key"),
        (with(&|b| b["colour"] = json!("red")), 422, "validation"),
        (with(&|b| b["title"] = json!(5)), 422, "validation"),
    ];
    for (body, status, want) in cases {
        let (s, e) = app.post(&k, "/api/v1/events", body.clone()).await;
        assert_eq!((s, code(&e)), (status, Some(want)), "{body}: {e}");
    }
    // A body over the limit, bad JSON, another content type.
    let big = with(&|b| b["data"] = json!({"blob": "x".repeat(5000)}));
    let (s, e) = app.post(&k, "/api/v1/events", big).await;
    assert_eq!((s, code(&e)), (413, Some("payload_too_large")), "{e}");
    let r = app
        .http
        .post(app.url("/api/v1/events"))
        .bearer_auth(&k)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(code(&r.json().await.unwrap()), Some("bad_json"));
    let r = app
        .http
        .post(app.url("/api/v1/events"))
        .bearer_auth(&k)
        .header("content-type", "text/plain")
        .body(refund("han.meimei@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(
        events_of(&app, &owner.token, &contact).await.is_empty(),
        "nothing refused is stored"
    );

    // The accepted forms of time, and a cursor that was never handed out.
    for (t, want) in [
        (json!("2026-01-31T09:30:00+08:00"), 1_769_823_000_000_i64),
        (json!(1_769_823_000_000_i64), 1_769_823_000_000),
        (json!("2026-01-31T01:30:00Z"), 1_769_823_000_000),
    ] {
        let (s, r) = app
            .post(
                &k,
                "/api/v1/events",
                with(&|b| b["occurred_at"] = t.clone()),
            )
            .await;
        assert_eq!(
            (s, r["event"]["occurred_at"].as_i64()),
            (201, Some(want)),
            "{t}: {r}"
        );
    }
    let (s, e) = app
        .get(
            &owner.token,
            &format!("/api/v1/contacts/{contact}/events?cursor=abc"),
        )
        .await;
    assert_eq!((s, code(&e)), (400, Some("bad_query")), "{e}");
    app.stop().await;
}

/// What one event does: stored once per key; its line in the open
/// conversation for agents only (never the visitor); a `contact_event`
/// frame to the workspace's agents; `contact_updated` and
/// `contact_event_recorded` in the outbox; attributes merged.
async fn event_effects_and_idempotency(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (vt, contact) = visitor_with_email(&app, &owner, "zhang.wei@example.com").await;
    let conv = visitor_says(&app, &vt, "where is my money?").await;
    let k = key(&app, &owner, &["events:write"]).await;
    let (mut agent_ws, _) = app.ws(&owner.token).await;
    let (mut visitor_ws, _) = app.ws(&vt).await;
    let head = app.store.outbox_head().await.unwrap();

    let mut body = refund("zhang.wei@example.com");
    body["id"] = json!("erp-refund-6610");
    body["set_attributes"] = json!({"plan": "enterprise", "ltv": 1280, "vip": null});
    let (s, r) = app.post(&k, "/api/v1/events", body.clone()).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["conversation_ids"], json!([conv]));
    let event_id = r["event"]["id"].as_str().unwrap().to_string();

    // Agents: the frame, then the line (a private note from the system).
    let f = agent_ws.expect("contact_event").await;
    assert_eq!(f["event"]["id"], event_id.as_str());
    assert_eq!(f["event"]["title"], "Order 6610 refunded");
    let line = agent_ws
        .expect_message("📦 Order 6610 refunded · order.refunded")
        .await;
    assert_eq!(line["message"]["kind"], "note");
    assert_eq!(line["message"]["sender"]["kind"], "system");
    // The visitor: nothing, live or over REST.
    while let Some(f) = visitor_ws.next_frame(Duration::from_millis(300)).await {
        assert!(
            f["type"] != "message" && f["type"] != "contact_event",
            "the visitor got {f}"
        );
    }
    let (_, seen) = app
        .get(&vt, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert!(!seen.to_string().contains("6610"), "{seen}");
    let (_, agents_see) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages"),
        )
        .await;
    let lines: Vec<&Value> = agents_see["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "note")
        .collect();
    assert_eq!(lines.len(), 1, "{agents_see}");

    // Attributes merged (null removes), as routing will read them.
    let (_, c) = app
        .get(&owner.token, &format!("/api/v1/contacts/{contact}"))
        .await;
    assert_eq!(c["attributes"]["plan"], "enterprise");
    assert_eq!(c["attributes"]["ltv"], 1280);

    // The outbox: contact_updated, then contact_event_recorded, with the event.
    let rows = app.store.outbox_after(head, 100).await.unwrap();
    let kinds: Vec<&str> = rows
        .iter()
        .map(|r| r.event.change.type_name())
        .filter(|t| t.starts_with("contact_"))
        .collect();
    assert_eq!(kinds, ["contact_updated", "contact_event_recorded"]);
    let recorded = rows
        .iter()
        .find(|r| r.event.change.type_name() == "contact_event_recorded")
        .unwrap();
    let payload: Value = serde_json::from_str(&recorded.payload).unwrap();
    assert_eq!(payload["type"], "contact_event_recorded");
    assert_eq!(payload["contact_id"], contact.as_str());
    assert_eq!(payload["data"]["event"]["id"], event_id.as_str());
    assert_eq!(payload["data"]["event"]["data"]["amount"], "299.00");
    assert_eq!(payload["actor"]["kind"], "api");

    // The same key again: 200, the first event, nothing new anywhere.
    body["title"] = json!("changed on the retry");
    let (s, again) = app.post(&k, "/api/v1/events", body.clone()).await;
    assert_eq!(
        (s, again["duplicate"].as_bool()),
        (200, Some(true)),
        "{again}"
    );
    assert_eq!(again["event"]["id"], event_id.as_str());
    assert_eq!(again["event"]["title"], "Order 6610 refunded");
    assert_eq!(events_of(&app, &owner.token, &contact).await.len(), 1);
    let rows = app.store.outbox_after(head, 100).await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.event.change.type_name() == "contact_event_recorded")
            .count(),
        1
    );
    let (_, agents_see) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages"),
        )
        .await;
    assert_eq!(
        agents_see["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "note")
            .count(),
        1
    );
    // The Idempotency-Key header is a key too.
    let mut shipped = refund("zhang.wei@example.com");
    shipped["type"] = json!("order.shipped");
    shipped["title"] = json!("Order 6611 shipped");
    for want in [201, 200] {
        let r = app
            .http
            .post(app.url("/api/v1/events"))
            .bearer_auth(&k)
            .header("idempotency-key", "ship-6611")
            .json(&shipped)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want);
    }

    // Newest first, in pages.
    let all = events_of(&app, &owner.token, &contact).await;
    let titles: Vec<&str> = all.iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Order 6611 shipped", "Order 6610 refunded"]);
    let (_, p1) = app
        .get(
            &owner.token,
            &format!("/api/v1/contacts/{contact}/events?limit=1"),
        )
        .await;
    assert_eq!(p1["items"][0]["title"], "Order 6611 shipped");
    let next = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = app
        .get(
            &owner.token,
            &format!("/api/v1/contacts/{contact}/events?limit=1&cursor={next}"),
        )
        .await;
    assert_eq!(p2["items"][0]["title"], "Order 6610 refunded");
    assert!(p2["next_cursor"].is_null());

    // Resolved: the next event leaves no line.
    let (s, _) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200);
    let mut later = refund("zhang.wei@example.com");
    later["title"] = json!("Order 6612 refunded");
    let (s, r) = app.post(&k, "/api/v1/events", later).await;
    assert_eq!((s, &r["conversation_ids"]), (201, &json!([])), "{r}");
    app.stop().await;
}

async fn assignee(app: &TestApp, token: &str, conv: &str) -> Option<String> {
    app.state.routing_idle().await;
    let (_, c) = app
        .get(token, &format!("/api/v1/conversations/{conv}"))
        .await;
    c["assignee_id"].as_str().map(str::to_string)
}

/// A rule on recent events routes the contact's next conversation; an
/// attribute an event set works like any other.
async fn routing_on_incoming_events(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (refunds_agent, rt) = app.agent(&owner, "refunds@example.com", 5).await;
    let (vip_agent, vt_) = app.agent(&owner, "vip@example.com", 5).await;
    let (general_agent, gt) = app.agent(&owner, "general@example.com", 5).await;
    let _online: Vec<_> = futures::future::join_all([&rt, &vt_, &gt].map(|t| app.ws(t))).await;
    for (name, who) in [
        ("refunds", &refunds_agent),
        ("vip", &vip_agent),
        ("general", &general_agent),
    ] {
        let (s, g) = app
            .post(
                &owner.token,
                "/api/v1/groups",
                json!({"name": name, "members": [who]}),
            )
            .await;
        assert_eq!(s, 201, "{g}");
    }
    let rules = r#"
rule "refunds" priority 10
when customer.recent_events contains "order.refunded"
then route_to("refunds")
end
rule "vip" when customer.plan == "enterprise" then route_to("vip") end
rule "everyone else" priority -1 when true then route_to("general") end
"#;
    let (s, r) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": rules}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let k = key(&app, &owner, &["events:write"]).await;

    // A refund recorded before the customer writes: their conversation goes to refunds.
    let (v1, _) = visitor_with_email(&app, &owner, "refunded@example.com").await;
    let (s, r) = app
        .post(&k, "/api/v1/events", refund("refunded@example.com"))
        .await;
    assert_eq!(s, 201, "{r}");
    let c1 = visitor_says(&app, &v1, "hello").await;
    assert_eq!(
        assignee(&app, &owner.token, &c1).await.as_deref(),
        Some(refunds_agent.as_str())
    );

    // An attribute set by an event.
    let (v2, _) = visitor_with_email(&app, &owner, "big@example.com").await;
    let mut upgraded = refund("big@example.com");
    upgraded["type"] = json!("plan.upgraded");
    upgraded["title"] = json!("Upgraded to Enterprise");
    upgraded["set_attributes"] = json!({"plan": "enterprise"});
    let (s, r) = app.post(&k, "/api/v1/events", upgraded).await;
    assert_eq!(s, 201, "{r}");
    let c2 = visitor_says(&app, &v2, "hello").await;
    assert_eq!(
        assignee(&app, &owner.token, &c2).await.as_deref(),
        Some(vip_agent.as_str())
    );

    // A refund long ago (before the recent-events window) and no event: general.
    let (v3, _) = visitor_with_email(&app, &owner, "old@example.com").await;
    let mut old = refund("old@example.com");
    old["occurred_at"] = json!(kefu_store::now_ms() - 30 * 86_400_000);
    let (s, _) = app.post(&k, "/api/v1/events", old).await;
    assert_eq!(s, 201);
    let c3 = visitor_says(&app, &v3, "hello").await;
    assert_eq!(
        assignee(&app, &owner.token, &c3).await.as_deref(),
        Some(general_agent.as_str())
    );
    let (v4, _) = app.visitor(&owner.inbox).await;
    let c4 = visitor_says(&app, &v4, "hello").await;
    assert_eq!(
        assignee(&app, &owner.token, &c4).await.as_deref(),
        Some(general_agent.as_str())
    );

    // The simulator shows the same variable.
    let (s, sim) = app
        .post(
            &owner.token,
            "/api/v1/routing/simulate",
            json!({"context": {"customer": {"recent_events": ["order.refunded"]}}}),
        )
        .await;
    assert_eq!(s, 200, "{sim}");
    assert_eq!(
        sim["decision"]["route"],
        json!({"kind": "group", "name": "refunds"})
    );
    app.stop().await;
}

both_backends!(
    api_keys_and_scopes,
    signed_requests,
    bad_input,
    event_effects_and_idempotency,
    routing_on_incoming_events,
);
