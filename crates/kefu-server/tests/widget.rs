//! What the visitor widget uses beyond the WebSocket: the SSE fallback
//! stream, typing over HTTP, identify, the inbox's widget settings, and the
//! pages that serve the widget.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::time::Duration;

/// A Server-Sent Events client reading JSON frames from `data:` lines.
struct Sse {
    resp: reqwest::Response,
    buf: String,
    /// Comment lines seen (`: ping`).
    comments: usize,
}

impl Sse {
    async fn open(app: &TestApp, token: &str, query: &str) -> Sse {
        let r = sse_request(app, token, query, None).await;
        assert_eq!(r.status(), 200, "events: {:?}", r.status());
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Sse {
            resp: r,
            buf: String::new(),
            comments: 0,
        }
    }

    async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(nl) = self.buf.find('\n') {
                let line = self.buf[..nl].trim_end_matches('\r').to_string();
                self.buf.drain(..=nl);
                if let Some(data) = line.strip_prefix("data:") {
                    return Some(serde_json::from_str(data.trim()).unwrap());
                }
                if line.starts_with(':') {
                    self.comments += 1;
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .ok()??;
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn next(&mut self) -> Value {
        self.next_within(WAIT).await.expect("an event in time")
    }

    async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let v = self.next().await;
            if v["type"] == kind {
                return v;
            }
        }
    }
}

async fn sse_request(
    app: &TestApp,
    token: &str,
    query: &str,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .get(app.url(&format!("/api/v1/widget/events{query}")))
        .bearer_auth(token);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    req.send().await.unwrap()
}

/// A visitor message over HTTP; returns the stored message.
async fn visitor_says(app: &TestApp, token: &str, cmid: &str, text: &str) -> Value {
    app.visitor_send(token, cmid, text).await["message"].clone()
}

async fn sse_catch_up_live_and_resume(db: Db) {
    let app = spawn_with(db, |c| c.limits.heartbeat_secs = 1).await;
    let t = app.tenant(Role::Agent).await;
    let (vt, contact) = app.visitor(&t.inbox).await;
    let m1 = visitor_says(&app, &vt, "v1", "hello").await;
    let conv = m1["conversation_id"].as_str().unwrap().to_string();
    visitor_says(&app, &vt, "v2", "anyone?").await;
    let msgs = format!("/api/v1/conversations/{conv}/messages");
    let (s, _) = app
        .post(
            &t.token,
            &msgs,
            json!({"client_msg_id": "n1", "kind": "note", "content": "private"}),
        )
        .await;
    assert_eq!(s, 201);
    app.post(
        &t.token,
        &msgs,
        json!({"client_msg_id": "a1", "content": "hi!"}),
    )
    .await;

    // A new stream: hello, everything from the start (no notes), synced.
    let mut sse = Sse::open(&app, &vt, "").await;
    let hello = sse.next().await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["identity"]["kind"], "visitor");
    assert_eq!(hello["identity"]["id"], contact.as_str());
    assert_eq!(hello["conversations"][0]["id"], conv.as_str());
    let mut seqs = Vec::new();
    let synced = loop {
        let f = sse.next().await;
        match f["type"].as_str() {
            Some("message") => {
                assert_ne!(f["message"]["kind"], "note", "visitors never see notes");
                seqs.push(f["message"]["seq"].as_i64().unwrap());
            }
            Some("synced") => break f,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(seqs, vec![1, 2, 4]);
    assert_eq!(synced["conversations"][0]["after_seq"], 4);

    // Live frames follow: a message, typing, heartbeats as comments.
    app.post(
        &t.token,
        &msgs,
        json!({"client_msg_id": "a2", "content": "live"}),
    )
    .await;
    let live = sse.expect("message").await;
    assert_eq!(live["message"]["content"], "live");
    assert_eq!(live["message"]["seq"], 5);
    let (s, _) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/typing"),
            json!({"on": true}),
        )
        .await;
    assert_eq!(s, 204);
    let typing = sse.expect("typing").await;
    assert_eq!(typing["sender_kind"], "agent");
    assert_eq!(typing["on"], true);
    assert!(
        sse.next_within(Duration::from_millis(2500)).await.is_none(),
        "nothing but heartbeats"
    );
    assert!(
        sse.comments >= 1,
        "heartbeat comments keep the stream alive"
    );

    // Resume from a position: exactly what was missed, then synced.
    let mut again = Sse::open(&app, &vt, &format!("?sync={conv}:2")).await;
    again.expect("hello").await;
    let a = again.expect("message").await;
    let b = again.expect("message").await;
    assert_eq!(
        (a["message"]["seq"].as_i64(), b["message"]["seq"].as_i64()),
        (Some(4), Some(5))
    );
    assert_eq!(again.next().await["type"], "synced");
    // A visitor's own send reaches every stream of theirs.
    visitor_says(&app, &vt, "v3", "from another tab").await;
    assert_eq!(
        again.expect("message").await["message"]["content"],
        "from another tab"
    );
    assert_eq!(
        sse.expect("message").await["message"]["content"],
        "from another tab"
    );
    // A resend of the same client_msg_id is answered, stored once, not streamed again.
    let dup = visitor_says(&app, &vt, "v3", "from another tab").await;
    assert_eq!(dup["seq"], 6);
    assert!(
        sse.next_within(Duration::from_millis(300)).await.is_none(),
        "a duplicate is not streamed again"
    );
    app.stop().await;
}

async fn sse_refuses_bad_requests(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Agent).await;
    let (vt, _) = app.visitor(&t.inbox).await;
    let (other, _) = app.visitor(&t.inbox).await;
    let theirs = visitor_says(&app, &other, "o1", "mine").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();

    let r = app
        .http
        .get(app.url("/api/v1/widget/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = sse_request(&app, &t.token, "", None).await;
    assert_eq!(r.status(), 403, "agents use the WebSocket");
    for bad in ["?sync=nope", "?sync=a:-1", "?sync=a:1,", "?other=1"] {
        let r = sse_request(&app, &vt, bad, None).await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert!(status == 422 || status == 400, "{bad}: {status}");
        assert!(body["error"]["code"].is_string(), "{bad}: {body}");
    }
    // Someone else's conversation: not_found, left out of synced.
    let mut sse = Sse::open(&app, &vt, &format!("?sync={theirs}:0")).await;
    sse.expect("hello").await;
    let e = sse.next().await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["code"], "not_found");
    let synced = sse.next().await;
    assert_eq!(synced["type"], "synced");
    assert_eq!(synced["conversations"], json!([]));

    // Origins: only the inbox's allowed ones, for the stream and every visitor request.
    let (s, _) = app
        .http
        .patch(app.url(&format!("/api/v1/inboxes/{}", t.inbox.id)))
        .bearer_auth(&t.token)
        .json(&json!({"allowed_origins": ["https://shop.example.com"]}))
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(s, 403, "agents are not admins");
    let admin = app.tenant(Role::Admin).await;
    let (vt, _) = app.visitor(&admin.inbox).await;
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/inboxes/{}", admin.inbox.id)))
        .bearer_auth(&admin.token)
        .json(&json!({"allowed_origins": ["https://shop.example.com"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = sse_request(&app, &vt, "", Some("https://evil.example.com")).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "origin_not_allowed");
    let r = sse_request(&app, &vt, "", Some("https://shop.example.com")).await;
    assert_eq!(r.status(), 200);
    // kefu's own pages (the standalone chat page) are always allowed.
    let r = sse_request(&app, &vt, "", Some(&app.base)).await;
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .post(app.url("/api/v1/widget/messages"))
        .bearer_auth(&vt)
        .header("origin", "https://evil.example.com")
        .json(&json!({"client_msg_id": "x", "content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "HTTP sends are origin-checked too");
    app.stop().await;
}

async fn typing_over_http(db: Db) {
    let app = spawn_with(db, |c| c.limits.http_typing_per_minute = 2).await;
    let t = app.tenant(Role::Agent).await;
    let (vt, contact) = app.visitor(&t.inbox).await;
    let conv = visitor_says(&app, &vt, "v1", "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut agent, _) = app.ws(&t.token).await;
    let path = format!("/api/v1/conversations/{conv}/typing");
    let (s, _) = app.post(&vt, &path, json!({"on": true})).await;
    assert_eq!(s, 204);
    let f = agent.expect("typing").await;
    assert_eq!(f["sender_kind"], "visitor");
    assert_eq!(f["sender_id"], contact.as_str());
    assert_eq!(f["conversation_id"], conv.as_str());

    let (s, v) = app.post(&vt, &path, json!({"on": "yes"})).await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = app.post(&vt, &path, json!({"on": true, "x": 1})).await;
    assert_eq!(s, 422);
    let (s, _) = app
        .post(
            &vt,
            "/api/v1/conversations/nope/typing",
            json!({"on": true}),
        )
        .await;
    assert_eq!(s, 404);
    let (other, _) = app.visitor(&t.inbox).await;
    let (s, _) = app.post(&other, &path, json!({"on": true})).await;
    assert_eq!(
        s, 404,
        "another visitor's conversation does not exist for them"
    );
    let foreign = app.tenant(Role::Agent).await;
    let (s, _) = app.post(&foreign.token, &path, json!({"on": true})).await;
    assert_eq!(s, 404, "nor for another workspace");
    // A flood is refused (limits.http_typing_per_minute), with Retry-After.
    let r = app
        .http
        .post(app.url(&path))
        .bearer_auth(&vt)
        .json(&json!({"on": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    app.stop().await;
}

async fn identify_merges_attributes(db: Db) {
    let app = spawn_with(db, |c| c.limits.max_contact_attributes = 3).await;
    let t = app.tenant(Role::Agent).await;
    let (vt, contact) = app.visitor(&t.inbox).await;
    let (s, c) = app
        .post(
            &vt,
            "/api/v1/widget/identify",
            json!({"name": " 李雷 ", "email": "li.lei@example.com", "attributes": {"plan": "pro", "orders": 3}}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["name"], "李雷");
    let (s, c) = app
        .post(
            &vt,
            "/api/v1/widget/identify",
            json!({"attributes": {"plan": null, "vip": true}}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(c["email"], "li.lei@example.com", "kept");
    assert_eq!(c["attributes"], json!({"orders": 3, "vip": true}));
    let (s, seen) = app
        .get(&t.token, &format!("/api/v1/contacts/{contact}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(seen["attributes"]["vip"], true);

    for bad in [
        json!({"email": "not-an-email"}),
        json!({"email": "a@b"}),
        json!({"attributes": {"x": {"nested": 1}}}),
        json!({"attributes": {"x": [1]}}),
        json!({"attributes": {"": 1}}),
        json!({"attributes": {"a": 1, "b": 2}}),
        json!({"name": "x".repeat(1001)}),
        json!({"unknown": 1}),
    ] {
        let (s, v) = app.post(&vt, "/api/v1/widget/identify", bad.clone()).await;
        assert_eq!(s, 422, "{bad}: {v}");
    }
    let (s, _) = app
        .post(&t.token, "/api/v1/widget/identify", json!({"name": "x"}))
        .await;
    assert_eq!(s, 403, "agents are not visitors");
    // The session tells the widget what it already knows.
    let r: Value = app
        .http
        .post(app.url("/api/v1/widget/session"))
        .json(&json!({"inbox_key": t.inbox.public_key, "visitor_token": vt}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["visitor"]["name"], "李雷");
    app.stop().await;
}

async fn inbox_widget_settings(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Admin).await;
    let settings = json!({
        "color": "#c2410c", "position": "left", "offline": "form",
        "prechat": {"enabled": true, "fields": [
            {"key": "name", "label": "Name", "required": true},
            {"key": "order_no", "label": "Order number", "kind": "text"}]},
        "business_hours": {"utc_offset_minutes": 480, "periods": [{"day": 1, "open": "09:00", "close": "18:00"}]}
    });
    let (s, inbox) = app
        .post(
            &t.token,
            "/api/v1/inboxes",
            json!({"name": "Shop", "widget": settings}),
        )
        .await;
    assert_eq!(s, 201, "{inbox}");
    assert_eq!(inbox["widget"]["color"], "#c2410c");
    assert_eq!(inbox["widget"]["prechat"]["fields"][1]["kind"], "text");
    // Defaults fill what is left out.
    let (s, plain) = app
        .post(&t.token, "/api/v1/inboxes", json!({"name": "Plain"}))
        .await;
    assert_eq!(s, 201);
    assert_eq!(plain["widget"]["color"], "#1f6feb");
    assert_eq!(plain["widget"]["offline"], "form");

    for bad in [
        json!({"color": "red"}),
        json!({"color": "#12345g"}),
        json!({"position": "top"}),
        json!({"prechat": {"enabled": true, "fields": [{"key": "Bad Key", "label": "x"}]}}),
        json!({"prechat": {"fields": [{"key": "a", "label": "x"}, {"key": "a", "label": "y"}]}}),
        json!({"prechat": {"fields": [{"key": "a", "label": " "}]}}),
        json!({"business_hours": {"utc_offset_minutes": 480, "periods": [{"day": 7, "open": "09:00", "close": "18:00"}]}}),
        json!({"business_hours": {"utc_offset_minutes": 480, "periods": [{"day": 1, "open": "18:00", "close": "09:00"}]}}),
        json!({"business_hours": {"utc_offset_minutes": 480, "periods": [{"day": 1, "open": "9am", "close": "18:00"}]}}),
        json!({"business_hours": {"utc_offset_minutes": 9999, "periods": []}}),
        json!({"colour": "#ffffff"}),
    ] {
        let r = app
            .http
            .patch(app.url(&format!(
                "/api/v1/inboxes/{}",
                plain["id"].as_str().unwrap()
            )))
            .bearer_auth(&t.token)
            .json(&json!({"widget": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{bad}");
    }
    let r = app
        .http
        .patch(app.url(&format!(
            "/api/v1/inboxes/{}",
            plain["id"].as_str().unwrap()
        )))
        .bearer_auth(&t.token)
        .json(&json!({"widget": {"color": "#000000", "offline": "chat"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["widget"]["color"], "#000000");
    assert_eq!(updated["widget"]["position"], "right");

    // The session carries the settings and whether anyone can answer now.
    let session = |key: String| {
        let http = app.http.clone();
        let url = app.url("/api/v1/widget/session");
        async move {
            http.post(url)
                .json(&json!({"inbox_key": key}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let key = |v: &Value| v["public_key"].as_str().unwrap().to_string();
    let s = session(key(&updated)).await;
    assert_eq!(s["inbox"]["widget"]["color"], "#000000");
    assert_eq!(s["inbox"]["available"], false, "no agent online");
    assert!(s["limits"]["max_message_chars"].as_u64().unwrap() > 0);
    let (_agent_ws, _) = app.ws(&t.token).await; // online while connected
    // Justified: the agent's presence is stored by the connection task after
    // `hello`, with no signal a test can wait on; 100 ms is ample.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(session(key(&updated)).await["inbox"]["available"], true);
    // Monday 09–18 in UTC+8 only: whether it is open now depends on the clock,
    // so check against the same rule.
    let open_now = kefu_store::BusinessHours {
        timezone: None,
        utc_offset_minutes: Some(480),
        periods: vec![kefu_store::OpeningPeriod {
            day: 1,
            open: "09:00".into(),
            close: "18:00".into(),
        }],
    }
    .is_open_at_fixed_offset(kefu_store::now_ms());
    assert_eq!(session(key(&inbox)).await["inbox"]["available"], open_now);
    // Hours in a time zone: open all week, until the workspace declares
    // today (in that zone) a holiday.
    let all_week: Vec<Value> = (0..7)
        .map(|d| json!({"day": d, "open": "00:00", "close": "24:00"}))
        .collect();
    let (s, zoned) = app
        .post(
            &t.token,
            "/api/v1/inboxes",
            json!({"name": "Zoned", "widget": {"business_hours": {"timezone": "Asia/Shanghai", "periods": all_week}}}),
        )
        .await;
    assert_eq!(s, 201, "{zoned}");
    assert_eq!(session(key(&zoned)).await["inbox"]["available"], true);
    let today = kefu_routing::clock::local_time(kefu_store::now_ms(), "Asia/Shanghai", &[])
        .unwrap()
        .date;
    let (s, _) = app
        .patch(&t.token, "/api/v1/workspace", json!({"holidays": [today]}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(session(key(&zoned)).await["inbox"]["available"], false);
    let (s, e) = app
        .post(
            &t.token,
            "/api/v1/inboxes",
            json!({"name": "Nowhere", "widget": {"business_hours": {"timezone": "Nowhere/Land", "periods": []}}}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("widget.business_hours.timezone"),
        "{e}"
    );
    app.stop().await;
}

async fn widget_pages(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Admin).await;
    let built = kefu_server::web::assets_built();
    let r = app
        .http
        .get(app.url(&format!("/chat/{}", t.inbox.public_key)))
        .send()
        .await
        .unwrap();
    if !built {
        // A fresh clone before `npm run build`: a page says how to build them.
        assert_eq!(r.status(), 503);
        assert!(r.text().await.unwrap().contains("npm"));
        app.stop().await;
        return;
    }
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors *"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("data-inbox=\"{}\"", t.inbox.public_key)));
    assert!(html.contains("data-mode=\"page\""));
    // Framing follows the inbox's allowed origins.
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/inboxes/{}", t.inbox.id)))
        .bearer_auth(&t.token)
        .json(&json!({"allowed_origins": ["https://shop.example.com"], "display_name": "<b>Help</b>"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .get(app.url(&format!("/chat/{}", t.inbox.public_key)))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors https://shop.example.com"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("&lt;b&gt;Help&lt;/b&gt;") && !html.contains("<b>"),
        "{html}"
    );
    for bad in ["/chat/nope", "/chat/..%2F..%2Fetc", "/demo?inbox=nope"] {
        let r = app.http.get(app.url(bad)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    let r = app
        .http
        .get(app.url(&format!("/demo?inbox={}", t.inbox.public_key)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
    app.stop().await;
}

/// `/demo` works however the accounts were made: it shows the Default
/// workspace's inbox, else the oldest inbox, or the one `?inbox=` names;
/// without any inbox it says how to create one.
async fn demo_page_picks_an_inbox(db: Db) {
    let app = spawn(db).await;
    let built = kefu_server::web::assets_built();
    let get = |path: &'static str| app.http.get(app.url(path)).send();
    // No inbox at all (accounts made with `kefu user create`).
    let r = get("/demo").await.unwrap();
    assert_eq!(r.status(), 404);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("/console/") && page.contains("/api/v1/inboxes"),
        "{page}"
    );
    // No workspace called "Default": the oldest inbox of any workspace.
    let first = app.tenant(Role::Admin).await;
    let second = app.tenant(Role::Admin).await;
    let shows = |key: &str| format!("data-inbox=\"{key}\"");
    let r = get("/demo").await.unwrap();
    if !built {
        assert_eq!(r.status(), 503);
        app.stop().await;
        return;
    }
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&shows(&first.inbox.public_key))
    );
    // `?inbox=` chooses.
    let r = app
        .http
        .get(app.url(&format!("/demo?inbox={}", second.inbox.public_key)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&shows(&second.inbox.public_key))
    );
    // The Default workspace (made by the first start) wins when there is one.
    let (ws, _) = app.store.ensure_workspace("Default").await.unwrap();
    let default = app
        .store
        .create_inbox(kefu_store::NewInbox {
            workspace_id: ws.id,
            name: "Website".into(),
            display_name: "Help".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = get("/demo").await.unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&shows(&default.public_key))
    );
    app.stop().await;
}

both_backends!(
    sse_catch_up_live_and_resume,
    sse_refuses_bad_requests,
    typing_over_http,
    identify_merges_attributes,
    inbox_widget_settings,
    widget_pages,
    demo_page_picks_an_inbox,
);
