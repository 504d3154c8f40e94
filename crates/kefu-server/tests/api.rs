//! The REST API: auth, roles, widget sessions, uploads, health, OpenAPI.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};

async fn login_refresh_logout(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Agent).await;
    let (s, me) = app.get(&t.token, "/api/v1/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["user"]["email"], t.agent_email.as_str());
    assert!(
        me["user"].get("password_hash").is_none(),
        "hashes never leave the server"
    );

    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": t.agent_email, "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "nobody@example.com", "password": "whatever1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Email is case-insensitive.
    let (other_session, _) = app.login(&t.agent_email.to_uppercase(), PASSWORD).await;

    // Refresh rotates: the new pair works, the old refresh token is spent.
    let (s, pair) = app
        .post(
            "",
            "/api/v1/auth/refresh",
            json!({"refresh_token": t.refresh}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(
            "",
            "/api/v1/auth/refresh",
            json!({"refresh_token": t.refresh}),
        )
        .await;
    assert_eq!(s, 401);
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(app.get(access, "/api/v1/me").await.0, 200);

    // Logout revokes the session at once: access and refresh tokens stop working.
    let (s, _) = app.post(access, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(s, 204);
    assert_eq!(app.get(access, "/api/v1/me").await.0, 401);
    let (s, _) = app
        .post(
            "",
            "/api/v1/auth/refresh",
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 401);
    // …and a WebSocket cannot authenticate with it either.
    let mut ws = Ws::connect(app.addr).await;
    ws.send(json!({"type":"auth","token":access})).await;
    assert_eq!(ws.expect("error").await["code"], "unauthorized");
    // The refreshed pair belonged to the first login's session, so its first
    // access token is gone too; another login's session is untouched.
    assert_eq!(app.get(&t.token, "/api/v1/me").await.0, 401);
    assert_eq!(app.get(&other_session, "/api/v1/me").await.0, 200);
    app.stop().await;
}

async fn roles_and_api_keys(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    // The owner adds an agent, who can log in but not administer.
    let (s, agent) = app
        .post(&owner.token, "/api/v1/users", json!({"email": "li.lei@example.com", "name": "李雷", "password": "agent-pass-1", "role": "agent", "capacity": 3}))
        .await;
    assert_eq!(s, 201, "{agent}");
    let (s, _) = app.post(&owner.token, "/api/v1/users", json!({"email": "LI.LEI@example.com", "name": "x", "password": "agent-pass-1", "role": "agent"})).await;
    assert_eq!(s, 409);
    let (s, e) = app.post(&owner.token, "/api/v1/users", json!({"email": "short@example.com", "name": "x", "password": "short", "role": "agent"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    let (agent_token, _) = app.login("li.lei@example.com", "agent-pass-1").await;
    let (s, _) = app
        .post(&agent_token, "/api/v1/inboxes", json!({"name": "x"}))
        .await;
    assert_eq!(s, 403);
    let (s, _) = app.post(&agent_token, "/api/v1/users", json!({"email": "z@example.com", "name": "z", "password": "agent-pass-1", "role": "admin"})).await;
    assert_eq!(s, 403);
    let (s, users) = app.get(&agent_token, "/api/v1/users?limit=1").await;
    assert_eq!(s, 200);
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    let next = users["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .get(
            &agent_token,
            &format!("/api/v1/users?limit=1&cursor={next}"),
        )
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());

    // Deactivating the agent ends their access.
    let id = agent["id"].as_str().unwrap();
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&owner.token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.get(&agent_token, "/api/v1/me").await.0, 401);
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "li.lei@example.com", "password": "agent-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // API keys: need scopes, shown once, work as admin with `admin`, stop working when revoked.
    let (s, e) = app
        .post(&owner.token, "/api/v1/api-keys", json!({"name": "ERP"}))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("validation")),
        "{e}"
    );
    for bad in [json!([]), json!(["everything"])] {
        let (s, e) = app
            .post(
                &owner.token,
                "/api/v1/api-keys",
                json!({"name": "ERP", "scopes": bad}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (422, Some("validation")),
            "{e}"
        );
    }
    let (s, created) = app
        .post(
            &owner.token,
            "/api/v1/api-keys",
            json!({"name": "ERP", "scopes": ["admin", "contacts:read", "admin"]}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        created["api_key"]["scopes"],
        json!(["contacts:read", "admin"])
    );
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("kefu_sk_"));
    let (s, me) = app.get(key, "/api/v1/me").await;
    assert_eq!((s, me["kind"].as_str()), (200, Some("api")));
    let (s, _) = app
        .post(key, "/api/v1/inboxes", json!({"name": "App"}))
        .await;
    assert_eq!(s, 201);
    let (_, keys) = app.get(&owner.token, "/api/v1/api-keys").await;
    assert!(
        keys.to_string().find(key).is_none(),
        "the key itself is never listed"
    );
    let kid = created["api_key"]["id"].as_str().unwrap();
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/api-keys/{kid}")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get(key, "/api/v1/me").await.0, 401);
    app.stop().await;
}

both_backends!(login_refresh_logout, roles_and_api_keys);

#[tokio::test]
async fn login_is_rate_limited() {
    let app = spawn_with(Db::Sqlite, |c| c.limits.login_attempts_per_minute = 3).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "x@example.com", "password": "guessing1"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "rate_limited");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    app.stop().await;
}

#[tokio::test]
async fn widget_sessions_resume_and_respect_origins() {
    let app = spawn(Db::Sqlite).await;
    let t = app.tenant(Role::Owner).await;
    let (s, inbox) = app.post(&t.token, "/api/v1/inboxes", json!({"name": "Shop", "allowed_origins": ["https://shop.example.com"], "welcome_text": "欢迎"})).await;
    assert_eq!(s, 201);
    let key = inbox["public_key"].as_str().unwrap();
    let session = |origin: &'static str, token: Option<String>| {
        let app = &app;
        async move {
            let mut body = json!({"inbox_key": key, "page_url": "https://shop.example.com/p/1", "referrer": "https://search.example.com/"});
            if let Some(t) = token {
                body["visitor_token"] = json!(t);
            }
            let r = app
                .http
                .post(app.url("/api/v1/widget/session"))
                .header("origin", origin)
                .header("user-agent", "TestBrowser/1.0")
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, first) = session("https://shop.example.com", None).await;
    assert_eq!(s, 200);
    assert_eq!(first["resumed"], false);
    assert_eq!(first["inbox"]["welcome_text"], "欢迎");
    let (s, again) = session(
        "https://shop.example.com",
        first["visitor_token"].as_str().map(String::from),
    )
    .await;
    assert_eq!((s, again["resumed"].as_bool()), (200, Some(true)));
    assert_eq!(again["contact_id"], first["contact_id"]);
    let (s, denied) = session("https://evil.example.net", None).await;
    assert_eq!(
        (s, denied["error"]["code"].as_str()),
        (403, Some("origin_not_allowed"))
    );
    // The agent sees what the visit told us.
    let (_, contact) = app
        .get(
            &t.token,
            &format!("/api/v1/contacts/{}", first["contact_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(contact["page_url"], "https://shop.example.com/p/1");
    assert_eq!(contact["user_agent"], "TestBrowser/1.0");
    assert_eq!(contact["ip"], "127.0.0.1");
    // A WebSocket from a foreign origin is refused for visitors.
    let mut ws = Ws::connect_with_header(app.addr, "origin", "https://evil.example.net")
        .await
        .unwrap();
    ws.send(json!({"type":"auth","token": first["visitor_token"]}))
        .await;
    assert_eq!(ws.expect("error").await["code"], "origin_not_allowed");
    assert_eq!(ws.close_code().await, Some(1008));
    // Allowing the origin takes effect for the next connection at once.
    let r = app
        .http
        .patch(app.url(&format!(
            "/api/v1/inboxes/{}",
            inbox["id"].as_str().unwrap()
        )))
        .bearer_auth(&t.token)
        .json(&json!({"allowed_origins": ["https://shop.example.com", "https://evil.example.net"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut ws = Ws::connect_with_header(app.addr, "origin", "https://evil.example.net")
        .await
        .unwrap();
    ws.send(json!({"type":"auth","token": first["visitor_token"]}))
        .await;
    assert_eq!(ws.expect("hello").await["identity"]["kind"], "visitor");
    app.stop().await;
}

#[tokio::test]
async fn attachments_upload_send_and_guarded_download() {
    let app = spawn_with(Db::Sqlite, |c| c.limits.max_upload_bytes = 64 * 1024).await;
    let t = app.tenant(Role::Agent).await;
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (other, _) = app.visitor(&t.inbox).await;
    let png: Vec<u8> = [
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
    ]
    .to_vec();
    let upload = |token: String, bytes: Vec<u8>, name: &'static str| {
        let app = &app;
        async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
            let r = app
                .http
                .post(app.url("/api/v1/attachments"))
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // The type comes from the bytes, not the name.
    let (s, img) = upload(vtoken.clone(), png.clone(), "../../photo.exe").await;
    assert_eq!(s, 201, "{img}");
    assert_eq!(img["content_type"], "image/png");
    assert_eq!(img["name"], "photo.exe");
    let (s, html) = upload(
        vtoken.clone(),
        b"<html><script>alert(1)</script></html>".to_vec(),
        "cat.png",
    )
    .await;
    assert_eq!(s, 201);
    assert_ne!(html["content_type"], "image/png");
    let (s, e) = upload(vtoken.clone(), vec![0u8; 70 * 1024], "big.bin").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    let (mut v, _) = app.ws(&vtoken).await;
    // A disguised file is no image.
    v.send(json!({"type":"send","client_msg_id":"i0","kind":"image","attachment_id":html["id"]}))
        .await;
    assert_eq!(v.expect("error").await["code"], "validation");
    v.send(json!({"type":"send","client_msg_id":"i1","kind":"image","attachment_id":img["id"]}))
        .await;
    let ack = v.expect("ack").await;
    // A retry of the same send (its ack lost) gets the same ack, not "already sent".
    v.send(json!({"type":"send","client_msg_id":"i1","kind":"image","attachment_id":img["id"]}))
        .await;
    assert_eq!(v.expect("ack").await, ack);
    let conv = ack["conversation_id"].as_str().unwrap();
    // Sending it twice is refused; another visitor cannot send it either.
    v.send(json!({"type":"send","client_msg_id":"i2","kind":"image","attachment_id":img["id"]}))
        .await;
    assert_eq!(v.expect("error").await["code"], "conflict");

    let id = img["id"].as_str().unwrap();
    let get = |token: String, id: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url(&format!("/api/v1/attachments/{id}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    for token in [vtoken.clone(), t.token.clone()] {
        let r = get(token, id.to_string()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("inline")
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    }
    assert_eq!(get(other.clone(), id.to_string()).await.status(), 404);
    // Unsent uploads are visible to their uploader only, and never inline unless images.
    let r = get(vtoken.clone(), html["id"].as_str().unwrap().to_string()).await;
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(
        get(t.token.clone(), html["id"].as_str().unwrap().to_string())
            .await
            .status(),
        404
    );
    let (_, page) = app
        .get(&t.token, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert_eq!(page["items"][0]["attachment"]["content_type"], "image/png");
    app.stop().await;
}

#[tokio::test]
async fn health_openapi_and_graceful_shutdown() {
    let app = spawn(Db::Sqlite).await;
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/widget/session",
        "/api/v1/attachments",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    assert_eq!(
        doc,
        serde_json::to_value(kefu_server::openapi()).unwrap(),
        "served = generated"
    );

    let t = app.tenant(Role::Agent).await;
    let (mut ws, _) = app.ws(&t.token).await;
    app.state.shutdown.cancel();
    let f = ws.expect("reconnect").await;
    assert!(f["after_ms"].as_u64().is_some());
    assert_eq!(ws.close_code().await, Some(1012));
    app.stop().await;
}

#[tokio::test]
async fn widget_http_fallback_cors_and_session_limit() {
    let app = spawn_with(Db::Sqlite, |c| c.limits.widget_sessions_per_minute = 3).await;
    let t = app.tenant(Role::Agent).await;
    // Browsers on a customer's site may call the API (bearer tokens, no cookies).
    let r = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/widget/session"))
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");

    let (vtoken, _) = app.visitor(&t.inbox).await;
    // A visitor's first message over HTTP opens their conversation, idempotently.
    let (s, first) = app
        .post(
            &vtoken,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "h1", "content": "no websocket here"}),
        )
        .await;
    assert_eq!(s, 201, "{first}");
    let (s, again) = app
        .post(
            &vtoken,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "h1", "content": "no websocket here"}),
        )
        .await;
    assert_eq!((s, &again["message"]["id"]), (200, &first["message"]["id"]));
    let (s, second) = app
        .post(
            &vtoken,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "h2", "content": "second"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        second["message"]["conversation_id"],
        first["message"]["conversation_id"]
    );
    assert_eq!(second["message"]["seq"], 2);
    let (s, _) = app
        .post(&t.token, "/api/v1/widget/messages", json!({"content": "x"}))
        .await;
    assert_eq!(s, 403);

    // Creating visitors is rate-limited per address (the first was above).
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = app
            .http
            .post(app.url("/api/v1/widget/session"))
            .json(&json!({"inbox_key": t.inbox.public_key}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    app.stop().await;
}
