//! The test harness: the whole app on a random port with a fresh database
//! (a temp SQLite file, or a fresh PostgreSQL schema), and clients that speak
//! HTTP and the WebSocket protocol like real users do.
#![allow(dead_code)]

use futures::{SinkExt, StreamExt};
use kefu_core::Role;
use kefu_core::UserId;
use kefu_server::{app, auth::password, config::Config};
use kefu_store::{Inbox, NewInbox, NewUser, Store, Workspace};
use serde_json::{Value, json};
use std::{net::SocketAddr, time::Duration};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub store: Store,
    pub state: app::SharedState,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the app; `tweak` adjusts the configuration first.
pub async fn spawn_with(db: Db, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    if let Db::Postgres = db {
        cfg.database_url = kefu_server::config::Secret::new(
            kefu_store::testing::fresh_postgres_url()
                .await
                .expect("PostgreSQL for server tests"),
        );
    }
    tweak(&mut cfg);
    cfg.prepare_data_dir().unwrap();
    let listener = app::bind(cfg.listen).unwrap();
    let addr = listener.local_addr().unwrap();
    let state = app::state(cfg).await.unwrap();
    let server = tokio::spawn(app::serve(state.clone(), listener));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        store: state.store.clone(),
        state,
        http: reqwest::Client::new(),
        _dir: dir,
        server,
    }
}

pub async fn spawn(db: Db) -> TestApp {
    spawn_with(db, |_| {}).await
}

/// A workspace with an inbox and an agent who is logged in.
pub struct Tenant {
    pub ws: Workspace,
    pub inbox: Inbox,
    pub agent_id: UserId,
    pub agent_email: String,
    pub token: String,
    pub refresh: String,
}

pub const PASSWORD: &str = "s3cret-passw0rd";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn tenant(&self, role: Role) -> Tenant {
        let (ws, _) = self
            .store
            .ensure_workspace(&format!("ws-{}", kefu_store::new_id()))
            .await
            .unwrap();
        let inbox = self
            .store
            .create_inbox(NewInbox {
                workspace_id: ws.id.clone(),
                name: "Web".into(),
                display_name: "Help".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let email = format!("a-{}@example.com", kefu_store::new_id());
        let user = self
            .store
            .create_user(NewUser {
                workspace_id: ws.id.clone(),
                email: email.clone(),
                name: "Agent".into(),
                password_hash: password::hash(PASSWORD).unwrap(),
                role,
                capacity: 5,
            })
            .await
            .unwrap();
        let (token, refresh) = self.login(&email, PASSWORD).await;
        Tenant {
            ws,
            inbox,
            agent_id: user.id,
            agent_email: email,
            token,
            refresh,
        }
    }

    pub async fn login(&self, email: &str, pw: &str) -> (String, String) {
        let r = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": pw}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login: {}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        (
            v["access_token"].as_str().unwrap().to_string(),
            v["refresh_token"].as_str().unwrap().to_string(),
        )
    }

    /// A new agent made by `owner` through the API, logged in; returns (user id, token).
    pub async fn agent(&self, owner: &Tenant, email: &str, capacity: i64) -> (String, String) {
        let (s, u) = self
            .post(&owner.token, "/api/v1/users", json!({"email": email, "name": email, "password": PASSWORD, "role": "agent", "capacity": capacity}))
            .await;
        assert_eq!(s, 201, "{u}");
        let (token, _) = self.login(email, PASSWORD).await;
        (u["id"].as_str().unwrap().to_string(), token)
    }

    /// A visitor's message over HTTP (the widget's fallback); asserts it was
    /// stored (201) or was a resend (200) and returns the answer.
    pub async fn visitor_send(&self, token: &str, cmid: &str, text: &str) -> Value {
        let (s, v) = self
            .post(
                token,
                "/api/v1/widget/messages",
                json!({"client_msg_id": cmid, "content": text}),
            )
            .await;
        assert!(s == 201 || s == 200, "send: {s} {v}");
        v
    }

    /// A new visitor of `inbox`; returns (token, contact id).
    pub async fn visitor(&self, inbox: &Inbox) -> (String, String) {
        self.visitor_in(inbox, "zh-CN").await
    }

    /// A new visitor of `inbox` whose browser speaks `language`; returns (token, contact id).
    pub async fn visitor_in(&self, inbox: &Inbox, language: &str) -> (String, String) {
        let r = self
            .http
            .post(self.url("/api/v1/widget/session"))
            .json(&json!({"inbox_key": inbox.public_key, "page_url": "https://shop.example.com/checkout", "language": language}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        (
            v["visitor_token"].as_str().unwrap().to_string(),
            v["contact_id"].as_str().unwrap().to_string(),
        )
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, token, path, body).await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, token, path, body).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, token, path, body).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A JSON request; the status and the JSON answer (`null` when there is none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Opens a WebSocket and authenticates with the first frame; returns after `hello`.
    pub async fn ws(&self, token: &str) -> (Ws, Value) {
        let mut ws = Ws::connect(self.addr).await;
        ws.send(json!({"type": "auth", "v": 1, "token": token}))
            .await;
        let hello = ws.expect("hello").await;
        (ws, hello)
    }

    pub async fn stop(self) {
        self.state.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
    }

    /// Shuts down like `kefu serve` on SIGTERM (the server's own drain, then
    /// the store closes), then opens the same database again to look at
    /// what was left; the guard keeps a SQLite file alive.
    pub async fn stop_and_reopen(self) -> (Store, tempfile::TempDir) {
        let url = self.state.cfg.database_url().expose().to_string();
        self.state.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.server)
            .await
            .expect("shutdown finished")
            .expect("server task")
            .expect("serve");
        let store = Store::open(&url, &Default::default()).await.unwrap();
        (store, self._dir)
    }
}

/// A protocol client.
pub struct Ws {
    pub inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames skipped while waiting for an ack, handed out by the next `recv`
    /// (a real client would still process them).
    backlog: std::collections::VecDeque<Value>,
}

impl From<WebSocketStream<MaybeTlsStream<TcpStream>>> for Ws {
    fn from(inner: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Ws {
        Ws {
            inner,
            backlog: Default::default(),
        }
    }
}

pub const WAIT: Duration = Duration::from_secs(5);

impl Ws {
    pub async fn connect(addr: SocketAddr) -> Ws {
        let (inner, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        Ws::from(inner)
    }

    /// Connects with one extra upgrade header (an `Origin`, an `Authorization`).
    pub async fn connect_with_header(
        addr: SocketAddr,
        name: &'static str,
        value: &str,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{addr}/ws").into_client_request()?;
        req.headers_mut()
            .insert(name, value.parse().expect("header value"));
        let (inner, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Ws::from(inner))
    }

    pub async fn send(&mut self, v: Value) {
        self.inner.send(Message::text(v.to_string())).await.unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.inner.send(m).await.unwrap();
    }

    /// The next JSON frame (skipping pings); panics on timeout or close.
    pub async fn recv(&mut self) -> Value {
        match self.next_frame(WAIT).await {
            Some(v) => v,
            None => panic!("no frame within {WAIT:?}"),
        }
    }

    /// The next JSON frame within `wait`, or None (timeout or close).
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Value> {
        if let Some(v) = self.backlog.pop_front() {
            return Some(v);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let m = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .ok()??
                .ok()?;
            match m {
                Message::Text(t) => return Some(serde_json::from_str(&t).unwrap()),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Skips frames until one of `kind` arrives.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// The close code the server ends the connection with (skipping frames).
    pub async fn close_code(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await {
                Err(_) => panic!("connection not closed within {WAIT:?}"),
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Close(f)))) => return f.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Skips frames until a message with this content arrives.
    pub async fn expect_message(&mut self, content: &str) -> Value {
        loop {
            let v = self.expect("message").await;
            if v["message"]["content"] == content {
                return v;
            }
        }
    }

    /// Asserts no message or conversation frame arrives for `wait`
    /// (presence and typing are allowed).
    pub async fn expect_no_messages(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Some(v) = self
            .next_frame(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            assert!(
                v["type"] != "message" && v["type"] != "conversation",
                "unexpected frame {v}"
            );
        }
    }

    /// Asserts nothing but pings arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Some(v) = self.next_frame(wait).await {
            panic!("unexpected frame {v}");
        }
    }

    /// Sends a message and returns the ack; other frames stay queued for `recv`.
    pub async fn send_text(
        &mut self,
        conversation_id: Option<&str>,
        cmid: &str,
        text: &str,
    ) -> Value {
        let mut f = json!({"type": "send", "client_msg_id": cmid, "content": text});
        if let Some(c) = conversation_id {
            f["conversation_id"] = json!(c);
        }
        self.send(f).await;
        let mut skipped = Vec::new();
        let ack = loop {
            let v = match self.next_frame(WAIT).await {
                Some(v) => v,
                None => panic!("no ack for {cmid}"),
            };
            if (v["type"] == "ack" || v["type"] == "error") && v["client_msg_id"] == cmid {
                break v;
            }
            skipped.push(v);
        };
        for v in skipped.into_iter().rev() {
            self.backlog.push_front(v);
        }
        assert_eq!(ack["type"], "ack", "send failed: {ack}");
        ack
    }
}

/// Generates one test per backend from `async fn name(db: Db)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name($crate::common::Db::Sqlite).await } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { super::$name($crate::common::Db::Postgres).await } )* }
    };
}

/// Starts the real `kefu` binary with `cmd` (its `serve` command and
/// environment) and waits until `/readyz` on `addr` answers 200.
pub async fn spawn_ready(mut cmd: std::process::Command, addr: SocketAddr) -> std::process::Child {
    let mut child = cmd.spawn().unwrap();
    let http = reqwest::Client::new();
    // Polled: a separate process gives no other signal that it is ready.
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("http://{addr}/readyz")).send().await
            && r.status() == 200
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("kefu did not become ready");
}

/// The repository's root (scripts, samples, docs).
pub fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's virtualenv (`KEFU_PY_VENV`, else `target/py-venv`), made or
/// checked by scripts/py-venv.sh; `needs` says what the caller uses it for,
/// in the failure message (a test never silently skips without it).
pub fn py_venv(needs: &str) -> std::path::PathBuf {
    let venv = std::env::var("KEFU_PY_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target/py-venv"));
    let status = std::process::Command::new(repo_root().join("scripts/py-venv.sh"))
        .env("KEFU_PY_VENV", &venv)
        .status()
        .expect("running scripts/py-venv.sh");
    assert!(
        status.success() && venv.join("bin/python").exists(),
        "scripts/py-venv.sh could not set up {} ({needs}; see its error above)",
        venv.display()
    );
    venv
}
