//! Web Push against a real receiving endpoint: scripts/webpush_endpoint.py
//! (in the virtualenv scripts/py-venv.sh makes) plays a browser's push
//! service, checks the VAPID JWT with `cryptography` and decrypts each push
//! with `http_ece`, libraries that are not ours, and prints what it got.
//! Every test runs on SQLite and PostgreSQL.

mod common;

use common::{Db, TestApp, py_venv, repo_root};
use kefu_core::Role;
use kefu_server::push::{PushMessage, VapidKey};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

fn python() -> PathBuf {
    py_venv("the push tests decrypt with http-ece and cryptography").join("bin/python")
}

/// The Python push endpoint, for one test; it stops when dropped (its
/// stdin closes).
struct Endpoint {
    child: Child,
    _stdin: ChildStdin,
    /// What the browser would post: endpoint and keys.
    subscription: Value,
    /// Endpoints answering 410 Gone.
    gone: Vec<String>,
    /// Endpoints answering 503.
    fail: Vec<String>,
    lines: mpsc::Receiver<Value>,
}

impl Endpoint {
    fn start(gone: usize) -> Endpoint {
        Endpoint::start_with(gone, 0)
    }

    fn start_with(gone: usize, fail: usize) -> Endpoint {
        let mut child = Command::new(python())
            .arg(repo_root().join("scripts/webpush_endpoint.py"))
            .args(["--gone", &gone.to_string(), "--fail", &fail.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting webpush_endpoint.py");
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let mut subscription: Value =
            serde_json::from_str(&first).expect("the endpoint prints its subscription first");
        let list = |k: &str| -> Vec<String> {
            subscription[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let (gone, fail) = (list("gone"), list("fail"));
        subscription.as_object_mut().unwrap().remove("gone");
        subscription.as_object_mut().unwrap().remove("fail");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line).expect("a JSON line");
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Endpoint {
            child,
            _stdin: stdin,
            subscription,
            gone,
            fail,
            lines,
        }
    }

    fn endpoint(&self) -> &str {
        self.subscription["endpoint"].as_str().unwrap()
    }

    /// The subscription of `endpoint` with this browser's keys.
    fn with_endpoint(&self, endpoint: &str) -> Value {
        let mut s = self.subscription.clone();
        s["endpoint"] = json!(endpoint);
        s
    }

    /// The next push it received (decrypted), or panics after a while.
    /// Blocks: call it once the push was made (after `push.idle()` for
    /// background sends), or the runtime cannot make it.
    fn next(&self) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the endpoint received a push")
    }

    /// The next push, waiting without blocking the runtime (for pushes a
    /// background consumer makes at a moment the test does not know).
    async fn next_soon(&self, app: &TestApp) -> Value {
        for _ in 0..400 {
            app.state.push.idle().await;
            if let Ok(v) = self.lines.try_recv() {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the endpoint received no push");
    }

    /// Nothing arrives for a while (the runtime keeps running meanwhile).
    async fn nothing_soon(&self, app: &TestApp) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.state.push.idle().await;
        if let Ok(v) = self.lines.try_recv() {
            panic!("unexpected push {v}");
        }
    }

    fn nothing_more(&self) {
        if let Ok(v) = self.lines.recv_timeout(Duration::from_millis(300)) {
            panic!("unexpected push {v}");
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn(db: Db) -> TestApp {
    // The endpoint is on loopback over plain HTTP: allowed explicitly.
    common::spawn_with(db, |c| c.push.allow_private_endpoints = true).await
}

async fn vapid_key(app: &TestApp, token: &str) -> String {
    let (s, v) = app.get(token, "/api/v1/push/vapid_public_key").await;
    assert_eq!(s, 200, "{v}");
    v["public_key"].as_str().unwrap().to_string()
}

async fn push_test(app: &TestApp, token: &str) -> Value {
    let r = app
        .http
        .post(app.url("/api/v1/push/test"))
        .bearer_auth(token)
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn test_notification_is_decrypted_by_an_independent_library(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Agent).await;
    let ep = Endpoint::start(0);

    let key = vapid_key(&app, &t.token).await;
    assert_eq!(key.len(), 87, "base64url of a 65-byte point");
    let (s, v) = app
        .post(
            &t.token,
            "/api/v1/push/subscriptions",
            ep.subscription.clone(),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["endpoint"], ep.endpoint());
    assert_eq!(v["failures"], 0);
    assert!(v.get("p256dh").is_none() && v.get("auth").is_none(), "{v}");
    let (s, list) = app.get(&t.token, "/api/v1/push/subscriptions").await;
    assert_eq!(s, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // "Send a test notification": delivered, decrypted, the VAPID JWT verified.
    let report = push_test(&app, &t.token).await;
    assert_eq!(
        (
            report["subscriptions"].as_u64(),
            report["delivered"].as_u64()
        ),
        (Some(1), Some(1)),
        "{report}"
    );
    let got = ep.next();
    assert!(got.get("error").is_none(), "{got}");
    assert_eq!(got["payload"]["title"], "kefu test notification");
    assert_eq!(got["payload"]["tag"], "kefu-test");
    assert!(
        got["payload"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/console/#/settings"),
        "{got}"
    );
    assert_eq!(got["ttl"], 86400);
    assert!(!got["sub"].as_str().unwrap().is_empty());
    let (_, list) = app.get(&t.token, "/api/v1/push/subscriptions").await;
    assert!(list["items"][0]["last_success_at"].is_i64(), "{list}");

    // The API the notifications feature calls.
    let msg = PushMessage {
        title: "新对话 · New conversation".into(),
        body: "Alice: 我的订单还没到".into(),
        url: format!("{}/console/#/inbox/c-1", app.base),
        tag: "conversation-c-1".into(),
    };
    let handed = kefu_server::push::send_to_user(&app.state, &t.ws.id, &t.agent_id, &msg)
        .await
        .unwrap();
    assert_eq!(handed, 1);
    // Sent in the background; `next` blocks this (the runtime's) thread.
    app.state.push.idle().await;
    let got = ep.next();
    assert_eq!(got["payload"]["title"], msg.title);
    assert_eq!(got["payload"]["body"], msg.body);
    assert_eq!(got["payload"]["url"], msg.url);
    assert_eq!(got["payload"]["tag"], msg.tag);
    ep.nothing_more();

    // Someone else's user id gets nothing.
    let other = app.tenant(Role::Agent).await;
    assert_eq!(
        kefu_server::push::send_to_user(&app.state, &other.ws.id, &other.agent_id, &msg)
            .await
            .unwrap(),
        0
    );
    // Turning it off in this browser stops them.
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &t.token,
            "/api/v1/push/subscriptions",
            json!({"endpoint": ep.endpoint()}),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        kefu_server::push::send_to_user(&app.state, &t.ws.id, &t.agent_id, &msg)
            .await
            .unwrap(),
        0
    );
    // So does logging out of the session that subscribed it (a shared computer).
    let (s, _) = app
        .post(
            &t.token,
            "/api/v1/push/subscriptions",
            ep.subscription.clone(),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app.post(&t.token, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(s, 204);
    assert_eq!(
        kefu_server::push::send_to_user(&app.state, &t.ws.id, &t.agent_id, &msg)
            .await
            .unwrap(),
        0
    );
    let (token, _) = app.login(&t.agent_email, common::PASSWORD).await;
    let (_, list) = app.get(&token, "/api/v1/push/subscriptions").await;
    assert_eq!(
        list["items"],
        json!([]),
        "not shown after the logout either"
    );
    ep.nothing_more();
    app.stop().await;
}

async fn gone_subscriptions_are_deleted(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Agent).await;
    let ep = Endpoint::start(1);
    for e in [ep.endpoint(), &ep.gone[0]] {
        let (s, v) = app
            .post(&t.token, "/api/v1/push/subscriptions", ep.with_endpoint(e))
            .await;
        assert_eq!(s, 201, "{v}");
    }
    // Through the test button: one delivered, one gone (410) and deleted...
    let report = push_test(&app, &t.token).await;
    assert_eq!(report["delivered"], 1, "{report}");
    assert_eq!(report["removed"], 1, "{report}");
    let mut paths: Vec<String> = (0..2)
        .map(|_| ep.next()["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/push/0", "/push/gone/1"]);
    let (_, list) = app.get(&t.token, "/api/v1/push/subscriptions").await;
    let left: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(left, [ep.endpoint()]);

    // ...and through send_to_user, in the background.
    let (s, _) = app
        .post(
            &t.token,
            "/api/v1/push/subscriptions",
            ep.with_endpoint(&ep.gone[0]),
        )
        .await;
    assert_eq!(s, 201);
    let msg = PushMessage {
        title: "t".into(),
        body: "b".into(),
        url: "u".into(),
        tag: "g".into(),
    };
    let handed = kefu_server::push::send_to_user(&app.state, &t.ws.id, &t.agent_id, &msg)
        .await
        .unwrap();
    assert_eq!(handed, 2);
    app.state.push.idle().await;
    let mut paths: Vec<String> = (0..2)
        .map(|_| ep.next()["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/push/0", "/push/gone/1"]);
    let subs = app
        .store
        .list_push_subscriptions(&t.ws.id, &t.agent_id)
        .await
        .unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].endpoint, ep.endpoint());
    app.stop().await;
}

/// A push service failing (503) is tried `max_attempts` times with backoff,
/// counts one failure per notification, and `drop_after_failures` in a row
/// delete the subscription; a success in between would have cleared them.
async fn failures_are_retried_counted_and_dropped(db: Db) {
    let app = common::spawn_with(db, |c| {
        c.push.allow_private_endpoints = true;
        c.push.retry_base_ms = 10;
        c.push.max_attempts = 3;
        c.push.drop_after_failures = 2;
    })
    .await;
    let t = app.tenant(Role::Agent).await;
    let ep = Endpoint::start_with(0, 1);
    let (s, _) = app
        .post(
            &t.token,
            "/api/v1/push/subscriptions",
            ep.with_endpoint(&ep.fail[0]),
        )
        .await;
    assert_eq!(s, 201);
    let msg = PushMessage {
        title: "t".into(),
        body: "b".into(),
        url: "u".into(),
        tag: "g".into(),
    };
    let send = || kefu_server::push::send_to_user(&app.state, &t.ws.id, &t.agent_id, &msg);
    assert_eq!(send().await.unwrap(), 1);
    app.state.push.idle().await;
    for _ in 0..3 {
        assert_eq!(ep.next()["status"], 503);
    }
    ep.nothing_more();
    let subs = app
        .store
        .list_push_subscriptions(&t.ws.id, &t.agent_id)
        .await
        .unwrap();
    assert_eq!(subs[0].failures, 1);
    assert_eq!(send().await.unwrap(), 1);
    app.state.push.idle().await;
    for _ in 0..3 {
        assert_eq!(ep.next()["status"], 503);
    }
    assert!(
        app.store
            .list_push_subscriptions(&t.ws.id, &t.agent_id)
            .await
            .unwrap()
            .is_empty(),
        "dropped after two failed notifications in a row"
    );
    app.stop().await;
}

async fn others_cannot_see_or_delete_it(db: Db) {
    let app = spawn(db).await;
    let a = app.tenant(Role::Agent).await;
    let b = app.tenant(Role::Owner).await;
    let ep = Endpoint::start(0);
    let (s, _) = app
        .post(
            &a.token,
            "/api/v1/push/subscriptions",
            ep.subscription.clone(),
        )
        .await;
    assert_eq!(s, 201);

    // Another workspace's owner: sees none, cannot delete it.
    let (s, list) = app.get(&b.token, "/api/v1/push/subscriptions").await;
    assert_eq!(s, 200);
    assert_eq!(list["items"], json!([]));
    let (s, v) = app
        .send(
            reqwest::Method::DELETE,
            &b.token,
            "/api/v1/push/subscriptions",
            json!({"endpoint": ep.endpoint()}),
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")));
    // Their test button reaches nothing of A's.
    let report = push_test(&app, &b.token).await;
    assert_eq!(report["subscriptions"], 0);
    ep.nothing_more();

    // A colleague in the same workspace neither.
    let (_, colleague) = app
        .agent(&b, &format!("c-{}@example.com", kefu_store::new_id()), 3)
        .await;
    let (_, list) = app.get(&colleague, "/api/v1/push/subscriptions").await;
    assert_eq!(list["items"], json!([]));

    // Visitors have no push subscriptions.
    let (visitor, _) = app.visitor(&a.inbox).await;
    for (s, v) in [
        app.get(&visitor, "/api/v1/push/vapid_public_key").await,
        app.get(&visitor, "/api/v1/push/subscriptions").await,
        app.post(
            &visitor,
            "/api/v1/push/subscriptions",
            ep.subscription.clone(),
        )
        .await,
    ] {
        assert_eq!(s, 403, "{v}");
    }
    let (s, _) = app.get("not-a-token", "/api/v1/push/subscriptions").await;
    assert_eq!(s, 401);

    let (_, list) = app.get(&a.token, "/api/v1/push/subscriptions").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn bad_input_gets_400_codes(db: Db) {
    let app = spawn(db).await;
    let doc = serde_json::to_value(kefu_server::openapi()).unwrap();
    for path in [
        "/api/v1/push/vapid_public_key",
        "/api/v1/push/subscriptions",
        "/api/v1/push/test",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    for method in ["get", "post", "delete"] {
        assert!(
            doc["paths"]["/api/v1/push/subscriptions"]
                .get(method)
                .is_some(),
            "{method}"
        );
    }
    let t = app.tenant(Role::Agent).await;
    let ep = Endpoint::start(0);
    let keys = ep.subscription["keys"].clone();
    let post = |body: Value| {
        let (app, token) = (&app, t.token.clone());
        async move { app.post(&token, "/api/v1/push/subscriptions", body).await }
    };
    for (body, code) in [
        (
            json!({"endpoint": "not a url", "keys": keys}),
            "bad_endpoint",
        ),
        (
            json!({"endpoint": "ftp://push.example.com/x", "keys": keys}),
            "bad_endpoint",
        ),
        (
            json!({"endpoint": format!("https://push.example.com/{}", "x".repeat(3000)), "keys": keys}),
            "bad_endpoint",
        ),
        (
            json!({"endpoint": ep.endpoint(), "keys": {"p256dh": "abc", "auth": keys["auth"]}}),
            "bad_p256dh",
        ),
        (
            json!({"endpoint": ep.endpoint(), "keys": {"p256dh": keys["auth"], "auth": keys["auth"]}}),
            "bad_p256dh",
        ),
        (
            json!({"endpoint": ep.endpoint(), "keys": {"p256dh": keys["p256dh"], "auth": "AAAA"}}),
            "bad_auth",
        ),
        (
            json!({"endpoint": ep.endpoint(), "keys": {"p256dh": keys["p256dh"], "auth": "!!"}}),
            "bad_auth",
        ),
    ] {
        let (s, v) = post(body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    // Missing fields: the API's usual 422; not JSON: 400 bad_json.
    let (s, v) = post(json!({"endpoint": ep.endpoint()})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation")));
    let r = app
        .http
        .post(app.url("/api/v1/push/subscriptions"))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, list) = app.get(&t.token, "/api/v1/push/subscriptions").await;
    assert_eq!(list["items"], json!([]));

    // Test notifications: six a minute per agent, then 429 with Retry-After.
    for _ in 0..kefu_server::push::TESTS_PER_MINUTE {
        push_test(&app, &t.token).await;
    }
    let r = app
        .http
        .post(app.url("/api/v1/push/test"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    app.stop().await;
}

/// The VAPID key is generated once into secrets.toml and read back after a
/// restart (browsers' subscriptions are bound to it); with the default
/// configuration, endpoints into loopback are refused, when posted and when
/// pushed to.
async fn the_vapid_key_survives_a_restart(db: Db) {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let app = spawn_in(db, &dir, None, true).await;
    let t = app.tenant(Role::Agent).await;
    let first = vapid_key(&app, &t.token).await;
    let ep = Endpoint::start(0);
    let (s, _) = app
        .post(
            &t.token,
            "/api/v1/push/subscriptions",
            ep.subscription.clone(),
        )
        .await;
    assert_eq!(s, 201);
    let db_url = app.state.cfg.database_url();
    app.stop().await;

    let app = spawn_in(db, &dir, Some(db_url), false).await;
    let (token, _) = app.login(&t.agent_email, common::PASSWORD).await;
    assert_eq!(vapid_key(&app, &token).await, first);
    use figment::providers::Format;
    let stored: kefu_server::config::Secrets =
        figment::Figment::from(figment::providers::Toml::file(dir.join("secrets.toml")))
            .extract()
            .unwrap();
    assert_eq!(
        VapidKey::from_base64url(stored.vapid_private_key.expose())
            .unwrap()
            .public_key(),
        first
    );

    // Loopback is not allowed by default: refused on post...
    let (s, v) = app
        .post(
            &token,
            "/api/v1/push/subscriptions",
            ep.subscription.clone(),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("endpoint_not_allowed")),
        "{v}"
    );
    let (s, v) = app
        .post(
            &token,
            "/api/v1/push/subscriptions",
            ep.with_endpoint("http://push.example.com/x"),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("bad_endpoint"))
    );
    // ...and the row stored while it was allowed is not pushed to.
    let report = push_test(&app, &token).await;
    assert_eq!(report["failed"], 1, "{report}");
    assert!(
        report["errors"][0]
            .as_str()
            .unwrap()
            .contains("allow_private_endpoints"),
        "{report}"
    );
    ep.nothing_more();
    let (_, list) = app.get(&token, "/api/v1/push/subscriptions").await;
    assert_eq!(list["items"][0]["failures"], 1);
    app.stop().await;
}

/// The app on a given data dir (and database, for a restart).
async fn spawn_in(
    db: Db,
    dir: &std::path::Path,
    db_url: Option<kefu_server::config::Secret>,
    allow_private: bool,
) -> TestApp {
    let dir = dir.to_path_buf();
    common::spawn_with(db, move |c| {
        c.data_dir = dir;
        if let Some(u) = db_url {
            c.database_url = u;
        }
        c.push.allow_private_endpoints = allow_private;
    })
    .await
}

/// The console installs as an app: its page links the manifest, which names
/// icons that exist, and the service worker is JavaScript at the console's
/// scope, never cached stale. Skipped (with a note) before the front end is built.
#[tokio::test]
async fn the_console_is_an_installable_app() {
    let app = common::spawn(Db::Sqlite).await;
    let get = |path: &str| app.http.get(app.url(path)).send();
    let page = get("/console/").await.unwrap();
    if page.status() == 503 {
        eprintln!("web/dist not built: skipping (make test builds it)");
        app.stop().await;
        return;
    }
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<link rel="manifest" href="/console/manifest.webmanifest""#),
        "{html}"
    );
    assert!(html.contains(r#"name="theme-color""#), "{html}");

    let r = get("/console/manifest.webmanifest").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["scope"].as_str(), m["start_url"].as_str()),
        (Some("/console/"), Some("/console/"))
    );
    assert_eq!(m["display"], "standalone");
    let sizes: Vec<&str> = m["icons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sizes"].as_str().unwrap())
        .collect();
    assert!(
        sizes.contains(&"192x192") && sizes.contains(&"512x512"),
        "{m}"
    );
    for icon in m["icons"].as_array().unwrap() {
        let r = get(&format!("/console/{}", icon["src"].as_str().unwrap()))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{icon}");
        assert_eq!(r.headers()["content-type"], "image/png");
        assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG"));
    }

    let r = get("/console/sw.js").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let sw = r.text().await.unwrap();
    assert!(sw.contains("'push'") && sw.contains("'notificationclick'"));
    assert!(
        !sw.contains("'fetch'"),
        "the service worker handles no fetch (caches no API)"
    );
    app.stop().await;
}

/// The notifications feature's pushes: a mention and an assignment reach an
/// agent's device while no console of theirs is open, decrypted by the
/// independent library; with a console open (or push turned off) none.
async fn mentions_and_assignments_are_pushed_while_away(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (b_id, b_token) = app
        .agent(
            &owner,
            &format!("b-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    app.patch(&b_token, "/api/v1/me", json!({"name": "Li Lei"}))
        .await;
    let ep = Endpoint::start(0);
    let (s, v) = app
        .post(
            &b_token,
            "/api/v1/push/subscriptions",
            ep.subscription.clone(),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (vt, _) = app.visitor(&owner.inbox).await;
    let conv =
        app.visitor_send(&vt, "v1", "where is my parcel").await["message"]["conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
    let notes = format!("/api/v1/conversations/{conv}/messages");
    let wait_notified = |n: usize| {
        let (app, token) = (&app, b_token.clone());
        async move {
            for _ in 0..200 {
                let (_, v) = app.get(&token, "/api/v1/notifications").await;
                if v["items"].as_array().map(Vec::len) == Some(n) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("{n} notifications never stored");
        }
    };

    let (s, _) = app
        .post(
            &owner.token,
            &notes,
            json!({"client_msg_id": "n1", "kind": "note", "content": "@Li Lei can you call them?"}),
        )
        .await;
    assert_eq!(s, 201);
    wait_notified(1).await;
    let got = ep.next_soon(&app).await;
    assert!(got.get("error").is_none(), "{got}");
    assert_eq!(
        got["payload"]["title"], "Agent 在备注中提到了你",
        "the workspace language (zh-CN)"
    );
    assert_eq!(got["payload"]["body"], "@Li Lei can you call them?");
    assert!(
        got["payload"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/console/#/inbox/{conv}")),
        "{got}"
    );
    assert_eq!(got["payload"]["tag"], format!("conversation-{conv}"));

    let (s, _) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"assignee_id": b_id}),
        )
        .await;
    assert_eq!(s, 200);
    wait_notified(2).await;
    let got = ep.next_soon(&app).await;
    assert_eq!(got["payload"]["title"], "有会话分配给了你");

    // A console open: the console shows it, no push.
    let (mut ws, _) = app.ws(&b_token).await;
    app.post(
        &owner.token,
        &notes,
        json!({"client_msg_id": "n2", "kind": "note", "content": "@Li Lei again"}),
    )
    .await;
    ws.expect("notification").await;
    wait_notified(3).await;
    ep.nothing_soon(&app).await;
    drop(ws);
    // Push off: the bell only.
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.patch(&b_token, "/api/v1/me", json!({"notify_push": false}))
        .await;
    app.post(
        &owner.token,
        &notes,
        json!({"client_msg_id": "n3", "kind": "note", "content": "@Li Lei third"}),
    )
    .await;
    wait_notified(4).await;
    ep.nothing_soon(&app).await;
    app.stop().await;
}

both_backends!(
    mentions_and_assignments_are_pushed_while_away,
    test_notification_is_decrypted_by_an_independent_library,
    gone_subscriptions_are_deleted,
    failures_are_retried_counted_and_dropped,
    others_cannot_see_or_delete_it,
    bad_input_gets_400_codes,
    the_vapid_key_survives_a_restart,
);
