//! Bad input gets a clear error, never a panic, and the connection and the
//! stored data stay sound, the same on both backends.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

async fn pong(ws: &mut Ws) {
    ws.send(json!({"type": "ping", "id": "p"})).await;
    assert_eq!(
        ws.expect("pong").await["id"],
        "p",
        "the connection still works"
    );
}

async fn ws_bad_frames_get_error_frames(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Agent).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (mut v, _) = app.ws(&vtoken).await;
    let conv = v.send_text(None, "ok-1", "hello").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();

    let cases: Vec<(Message, &str)> = vec![
        (Message::text("{not json"), "bad_json"),
        (Message::text(r#"{"type":"dance"}"#), "unknown_type"),
        (Message::text(r#"{"type":"send","content":"no id"}"#), "bad_frame"),
        (Message::text(r#"{"type":"read","conversation_id":"x","seq":"one"}"#), "bad_frame"),
        (Message::text(r#"{"no":"type"}"#), "bad_frame"),
        (Message::binary(vec![1u8, 2, 3]), "unsupported"),
        (Message::text(r#"{"type":"auth","token":"again"}"#), "already_authenticated"),
        (Message::text(json!({"type":"sync","conversations":[{"conversation_id":"nope","after_seq":0}]}).to_string()), "not_found"),
        (Message::text(json!({"type":"read","conversation_id":conv,"seq":99}).to_string()), "validation"),
        (Message::text(json!({"type":"typing","conversation_id":"01234567-0000-7000-8000-000000000000","on":true}).to_string()), "not_found"),
    ];
    for (frame, code) in cases {
        v.send_raw(frame).await;
        let e = v.expect("error").await;
        assert_eq!(e["code"], code, "{e}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    // Sends that break rules answer with the client_msg_id.
    let long = "字".repeat(5001);
    let sends: Vec<(Value, &str)> = vec![
        (
            json!({"type":"send","client_msg_id":"e1","content":long}),
            "validation",
        ),
        (
            json!({"type":"send","client_msg_id":"e2","content":"   "}),
            "validation",
        ),
        (
            json!({"type":"send","client_msg_id":"e3","content":"x","kind":"note"}),
            "validation",
        ),
        (
            json!({"type":"send","client_msg_id":"e4","content":"x","kind":"image"}),
            "validation",
        ),
        (
            json!({"type":"send","client_msg_id":"","content":"x"}),
            "validation",
        ),
        (
            json!({"type":"send","client_msg_id":"e5","content":"x","attachment_id":"nope","kind":"file"}),
            "not_found",
        ),
    ];
    for (frame, code) in sends {
        let cmid = frame["client_msg_id"].clone();
        v.send(frame).await;
        let e = v.expect("error").await;
        assert_eq!(
            (e["code"].as_str(), &e["client_msg_id"]),
            (Some(code), &cmid),
            "{e}"
        );
    }
    pong(&mut v).await;
    // Nothing bad was stored.
    let (_, page) = app
        .get(&vtoken, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn ws_oversized_and_invalid_utf8_close_with_proper_codes(db: Db) {
    let app = spawn_with(db, |c| c.limits.max_frame_bytes = 1024).await;
    let t = app.tenant(Role::Agent).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;

    let (mut v, _) = app.ws(&vtoken).await;
    let big = json!({"type":"send","client_msg_id":"big","content":"x".repeat(2000)}).to_string();
    v.send_raw(Message::text(big)).await;
    assert_eq!(v.close_code().await, Some(u16::from(CloseCode::Size)));

    let (mut v, _) = app.ws(&vtoken).await;
    // A text frame that is not UTF-8 (sent raw: the client library would refuse).
    let bad = tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
        vec![b'"', 0xff, 0xfe, b'"'],
        tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
            tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    v.send_raw(Message::Frame(bad)).await;
    assert_eq!(v.close_code().await, Some(u16::from(CloseCode::Invalid)));

    // The server is unharmed.
    let (mut v, _) = app.ws(&vtoken).await;
    v.send_text(None, "after", "still fine").await;
    app.stop().await;
}

async fn ws_auth_failures(db: Db) {
    let app = spawn_with(db, |c| c.limits.auth_timeout_secs = 1).await;
    // Wrong token.
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type":"auth","token":"forged"})).await;
    assert_eq!(ws.expect("error").await["code"], "unauthorized");
    assert_eq!(ws.close_code().await, Some(4001));
    // Anything before auth.
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type":"ping"})).await;
    assert_eq!(ws.expect("error").await["code"], "unauthorized");
    assert_eq!(ws.close_code().await, Some(4001));
    // Unsupported protocol version.
    let t = app.tenant(Role::Agent).await;
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type":"auth","v":99,"token":t.token})).await;
    assert_eq!(ws.expect("error").await["code"], "unsupported_version");
    // Silence.
    let mut ws = Ws::connect(app.addr).await;
    assert_eq!(ws.expect("error").await["code"], "auth_timeout");
    assert_eq!(ws.close_code().await, Some(4001));
    // A token in a header also works (apps), a bad one is refused before upgrade.
    let mut ws = Ws::connect_with_header(app.addr, "authorization", &format!("Bearer {}", t.token))
        .await
        .unwrap();
    assert_eq!(ws.expect("hello").await["identity"]["kind"], "agent");
    assert!(
        Ws::connect_with_header(app.addr, "authorization", "Bearer forged")
            .await
            .is_err()
    );
    app.stop().await;
}

async fn ws_flood_is_limited_then_closed(db: Db) {
    let app = spawn_with(db, |c| {
        c.limits.ws_frames_per_second = 5;
        c.limits.ws_frame_burst = 5;
    })
    .await;
    let t = app.tenant(Role::Agent).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (mut v, _) = app.ws(&vtoken).await;
    for i in 0..40 {
        let _ = futures::SinkExt::send(
            &mut v.inner,
            Message::text(json!({"type":"ping","id":i.to_string()}).to_string()),
        )
        .await;
    }
    let mut limited = 0;
    let code = loop {
        match futures::StreamExt::next(&mut v.inner).await {
            Some(Ok(Message::Text(t))) => {
                let f: Value = serde_json::from_str(&t).unwrap();
                if f["code"] == "rate_limited" {
                    limited += 1;
                }
            }
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            _ => break None,
        }
    };
    assert!(limited > 0);
    assert_eq!(code, Some(u16::from(CloseCode::Policy)));
    app.stop().await;
}

async fn visitor_message_rate_is_limited(db: Db) {
    let app = spawn_with(db, |c| c.limits.visitor_messages_per_minute = 3).await;
    let t = app.tenant(Role::Agent).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (mut v, _) = app.ws(&vtoken).await;
    let conv = v.send_text(None, "1", "a").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    v.send_text(None, "2", "b").await;
    v.send_text(None, "3", "c").await;
    v.send(json!({"type":"send","client_msg_id":"4","content":"d"}))
        .await;
    let e = v.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["client_msg_id"].as_str()),
        (Some("rate_limited"), Some("4"))
    );
    let (s, body) = app
        .post(
            &vtoken,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"content":"e"}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    app.stop().await;
}

async fn idle_connections_are_closed(db: Db) {
    let app = spawn_with(db, |c| {
        c.limits.heartbeat_secs = 1;
        c.limits.idle_timeout_secs = 2;
    })
    .await;
    let t = app.tenant(Role::Agent).await;
    let (mut ws, _) = app.ws(&t.token).await;
    // Not reading means not answering pings: the client is gone as far as the server knows.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(ws.close_code().await, Some(u16::from(CloseCode::Away)));
    app.stop().await;
}

async fn rest_bad_input(db: Db) {
    let app = spawn_with(db, |c| c.limits.max_body_bytes = 2048).await;
    let t = app.tenant(Role::Owner).await;
    let http = &app.http;
    let url = app.url("/api/v1/inboxes");
    let check = |r: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(r.status().as_u16(), status);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    };
    check(
        http.post(&url)
            .bearer_auth(&t.token)
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap(),
        400,
        "bad_json",
    )
    .await;
    check(
        http.post(&url)
            .bearer_auth(&t.token)
            .json(&json!({"name": 42}))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    check(
        http.post(&url)
            .bearer_auth(&t.token)
            .json(&json!({"name": "x", "evil": 1}))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    check(
        http.post(&url)
            .bearer_auth(&t.token)
            .body("{}")
            .send()
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    check(
        http.post(&url)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    check(
        http.post(&url)
            .bearer_auth("garbage")
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let huge = json!({"name": "x".repeat(5000)});
    check(
        http.post(&url)
            .bearer_auth(&t.token)
            .json(&huge)
            .send()
            .await
            .unwrap(),
        413,
        "payload_too_large",
    )
    .await;
    check(
        http.post(&url)
            .bearer_auth(&t.token)
            .json(&json!({"name": "x", "allowed_origins": ["javascript:alert(1)"]}))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    check(
        http.get(app.url("/api/v1/conversations?limit=100000"))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    check(
        http.get(app.url("/api/v1/conversations?status=flying"))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap(),
        400,
        "bad_query",
    )
    .await;
    check(
        http.get(app.url("/api/v1/conversations?cursor=zzz"))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap(),
        400,
        "bad_query",
    )
    .await;
    check(
        http.get(app.url("/api/v1/conversations/nope"))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    check(
        http.get(app.url("/api/v1/nothing-here"))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    check(
        http.post(app.url("/api/v1/widget/session"))
            .json(&json!({"inbox_key": "nope"}))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    // Invalid UTF-8 in a JSON body.
    check(
        http.post(&url)
            .bearer_auth(&t.token)
            .header("content-type", "application/json")
            .body(vec![b'{', b'"', 0xff, b'"', b'}'])
            .send()
            .await
            .unwrap(),
        400,
        "bad_json",
    )
    .await;
    // Everything above left no trace.
    let (_, list) = app.get(&t.token, "/api/v1/inboxes").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

/// The role is checked before the body: a caller who may not use an endpoint
/// learns nothing about its schema (403, not 422), whatever it sends.
async fn role_is_checked_before_the_body(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Agent).await;
    let admin = app.tenant(Role::Admin).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let raw = |token: &str, method: reqwest::Method, path: &str, body: &'static str| {
        app.http
            .request(method, app.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
    };
    let admin_only = [
        (reqwest::Method::POST, "/api/v1/users".to_string()),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/users/{}", t.agent_id),
        ),
        (reqwest::Method::POST, "/api/v1/inboxes".to_string()),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/inboxes/{}", t.inbox.id),
        ),
        (reqwest::Method::PUT, "/api/v1/routing/rules".to_string()),
        (reqwest::Method::POST, "/api/v1/groups".to_string()),
        (reqwest::Method::POST, "/api/v1/api-keys".to_string()),
        (reqwest::Method::POST, "/api/v1/kb/entries".to_string()),
        // (Not canned replies or macros: every agent creates personal ones,
        // so the body says which kind; they are in `staff_only` below.)
        (reqwest::Method::PATCH, "/api/v1/workspace".to_string()),
    ];
    for (method, path) in &admin_only {
        for body in [r#"{"garbage": [1, 2]}"#, "{not json"] {
            let r = raw(&t.token, method.clone(), path, body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "agent {method} {path} {body}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "forbidden", "{v}");
        }
        // An admin still learns what is wrong with the body.
        let r = raw(&admin.token, method.clone(), path, r#"{"garbage": [1, 2]}"#)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (422, Some("validation")),
            "admin {method} {path}: {v}"
        );
    }
    // Staff-only endpoints refuse visitors the same way.
    let staff_only = [
        (
            reqwest::Method::POST,
            "/api/v1/routing/simulate".to_string(),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/conversations/x/status".to_string(),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/conversations/x/assign".to_string(),
        ),
        (
            reqwest::Method::PATCH,
            "/api/v1/conversations/x".to_string(),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/conversations/x/transfer".to_string(),
        ),
        (reqwest::Method::POST, "/api/v1/canned-replies".to_string()),
        (reqwest::Method::POST, "/api/v1/macros".to_string()),
        (
            reqwest::Method::POST,
            "/api/v1/conversations/x/macros/y/run".to_string(),
        ),
    ];
    for (method, path) in &staff_only {
        let r = raw(&vtoken, method.clone(), path, r#"{"garbage": 1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "visitor {method} {path}");
    }
    app.stop().await;
}

/// A malformed list cursor is refused the same way on every list (400
/// `bad_query`), never answered with an odd page.
async fn malformed_cursors_are_refused(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Admin).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (s, sent) = app
        .post(
            &vtoken,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "c1", "content": "hi"}),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let conv = sent["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let lists = [
        "/api/v1/contacts".to_string(),
        "/api/v1/users".to_string(),
        "/api/v1/inboxes".to_string(),
        "/api/v1/conversations".to_string(),
        format!("/api/v1/conversations/{conv}/events"),
        format!(
            "/api/v1/contacts/{}/events",
            sent["message"]["sender"]["id"].as_str().unwrap()
        ),
    ];
    let bad = [
        "abc",
        "%",
        "'\"--",
        "",
        "0",
        "1_abc",
        "1_'\"--",
        " 01970000-0000-7000-8000-000000000000",
    ];
    for path in &lists {
        for cursor in bad {
            let r = app
                .http
                .get(app.url(path))
                .query(&[("cursor", cursor)])
                .bearer_auth(&t.token)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, v["error"]["code"].as_str()),
                (400, Some("bad_query")),
                "{path}?cursor={cursor:?}: {v}"
            );
            assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
        }
        // The cursors the API hands out still work.
        let (s, page) = app.get(&t.token, &format!("{path}?limit=1")).await;
        assert_eq!(s, 200, "{path}: {page}");
        if let Some(next) = page["next_cursor"].as_str() {
            let (s, more) = app
                .get(&t.token, &format!("{path}?limit=1&cursor={next}"))
                .await;
            assert_eq!(s, 200, "{path} next page: {more}");
        }
    }
    app.stop().await;
}

/// PostgreSQL cannot store NUL in text and SQLite can: NUL is refused in
/// every input at the edge, so both backends answer alike (never 500).
async fn nul_is_refused_everywhere(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Admin).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (s, sent) = app
        .post(
            &vtoken,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "n1", "content": "hi"}),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let conv = sent["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let id = kefu_store::new_id();
    let gets = [
        (
            &t.token,
            format!("/api/v1/attachments/{id}%00.png"),
            "bad_path",
        ),
        (&t.token, "/api/v1/conversations/%00".into(), "bad_path"),
        (
            &t.token,
            format!("/api/v1/conversations/{conv}%00/messages"),
            "bad_path",
        ),
        (&t.token, "/api/v1/users/a%00b".into(), "bad_path"),
        (&t.token, "/api/v1/contacts/%00".into(), "bad_path"),
        (
            &t.token,
            "/api/v1/conversations?inbox_id=%00".into(),
            "bad_query",
        ),
        (
            &t.token,
            "/api/v1/conversations?assignee=%00".into(),
            "bad_query",
        ),
        (
            &t.token,
            "/api/v1/conversations?contact_id=x%00".into(),
            "bad_query",
        ),
        (
            &t.token,
            "/api/v1/conversations?status=open%00".into(),
            "bad_query",
        ),
        (
            &vtoken,
            format!("/api/v1/widget/events?sync={conv}%00:0"),
            "bad_query",
        ),
        // Outside the API too: the WebSocket and the web pages.
        (&t.token, "/ws?x=%00".into(), "bad_query"),
        (&t.token, "/chat/%00".into(), "bad_path"),
        (&t.token, "/demo?inbox=%00".into(), "bad_query"),
    ];
    for (token, path, code) in &gets {
        let (s, v) = app.get(token, path).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some(*code)),
            "{path}: {v}"
        );
    }
    let nul = "a\u{0}b";
    let bodies = [
        (
            &t.token,
            reqwest::Method::POST,
            format!("/api/v1/conversations/{conv}/messages"),
            json!({"content": nul}),
        ),
        (
            &t.token,
            reqwest::Method::POST,
            format!("/api/v1/conversations/{conv}/messages"),
            json!({"client_msg_id": nul, "content": "x"}),
        ),
        (
            &vtoken,
            reqwest::Method::POST,
            "/api/v1/widget/messages".into(),
            json!({"content": nul}),
        ),
        (
            &vtoken,
            reqwest::Method::POST,
            "/api/v1/widget/messages".into(),
            json!({"conversation_id": nul, "content": "x"}),
        ),
        (
            &vtoken,
            reqwest::Method::POST,
            "/api/v1/widget/identify".into(),
            json!({"name": nul}),
        ),
        (
            &vtoken,
            reqwest::Method::POST,
            "/api/v1/widget/identify".into(),
            json!({"attributes": {"plan": nul}}),
        ),
        (
            &vtoken,
            reqwest::Method::POST,
            "/api/v1/widget/identify".into(),
            json!({"attributes": {nul: "x"}}),
        ),
        (
            &t.token,
            reqwest::Method::POST,
            "/api/v1/inboxes".into(),
            json!({"name": nul}),
        ),
        (
            &t.token,
            reqwest::Method::PATCH,
            format!("/api/v1/users/{}", t.agent_id),
            json!({"name": nul}),
        ),
        (
            &t.token,
            reqwest::Method::POST,
            "/api/v1/canned-replies".into(),
            json!({"shortcut": "hi", "content": nul}),
        ),
        (
            &t.token,
            reqwest::Method::POST,
            "/api/v1/auth/login".into(),
            json!({"email": nul, "password": "x"}),
        ),
        (
            &t.token,
            reqwest::Method::POST,
            "/api/v1/widget/session".into(),
            json!({"inbox_key": t.inbox.public_key, "page_url": nul}),
        ),
    ];
    for (token, method, path, body) in &bodies {
        let (s, v) = app.send(method.clone(), token, path, body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (422, Some("validation")),
            "{method} {path} {body}: {v}"
        );
    }
    // A backslash followed by "u0000" is ordinary text.
    let (s, v) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"content": "a\\u0000b"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // The WebSocket refuses NUL too, and the connection goes on.
    let (mut ws, _) = app.ws(&vtoken).await;
    ws.send(
        json!({"type": "send", "client_msg_id": "w1", "conversation_id": conv, "content": nul}),
    )
    .await;
    let e = ws.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["client_msg_id"].as_str()),
        (Some("validation"), Some("w1")),
        "{e}"
    );
    for frame in [
        json!({"type": "sync", "conversations": [{"conversation_id": format!("{conv}\u{0}"), "after_seq": 0}]}),
        json!({"type": "typing", "conversation_id": nul, "on": true}),
        json!({"type": "read", "conversation_id": nul, "seq": 0}),
    ] {
        ws.send(frame.clone()).await;
        let e = ws.expect("error").await;
        assert_eq!(e["code"], "validation", "{frame}: {e}");
    }
    pong(&mut ws).await;
    // Nothing with a NUL was stored.
    let (_, page) = app
        .get(&t.token, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    let contents: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["hi", "a\\u0000b"]);
    app.stop().await;
}

both_backends!(
    ws_bad_frames_get_error_frames,
    ws_oversized_and_invalid_utf8_close_with_proper_codes,
    ws_auth_failures,
    ws_flood_is_limited_then_closed,
    visitor_message_rate_is_limited,
    idle_connections_are_closed,
    rest_bad_input,
    role_is_checked_before_the_body,
    malformed_cursors_are_refused,
    nul_is_refused_everywhere,
);
