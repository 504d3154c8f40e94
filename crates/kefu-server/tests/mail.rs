//! E-mail over a real SMTP server: the PyPI `aiosmtpd` started by each test
//! (tests/mail_support/smtp_sink.py, in the virtualenv scripts/py-venv.sh
//! makes), writing what it receives to a file the test reads and parses
//! with mail-parser. Every test runs on SQLite and PostgreSQL.

mod common;

use common::{Db, PASSWORD, TestApp, py_venv, repo_root};
use kefu_core::Role;
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

fn python() -> PathBuf {
    py_venv("the mail tests run the PyPI package aiosmtpd").join("bin/python")
}

/// One received mail.
#[derive(Debug, Clone)]
struct Got {
    rcpt: Vec<String>,
    raw: String,
}

impl Got {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.raw.as_bytes())
            .expect("a parsable mail")
    }
    fn subject(&self) -> String {
        self.parsed().subject().unwrap_or("").to_string()
    }
    fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }
    fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }
    fn reply_to(&self) -> String {
        self.parsed()
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address.as_deref())
            .unwrap_or("")
            .to_string()
    }
    fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or("").to_string()
    }
    /// The console link (`…#/invite/<token>`, `…#/reset/<token>`) in the text.
    fn link_token(&self, route: &str) -> String {
        let text = self.text();
        let i = text
            .find(&format!("#/{route}/"))
            .expect("a link in the mail")
            + route.len()
            + 3;
        text[i..].split_whitespace().next().unwrap().to_string()
    }
}

/// aiosmtpd on a free port, for one test.
struct Smtp {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    fn start() -> Smtp {
        Smtp::start_on(free_port())
    }

    fn start_on(port: u16) -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mails.jsonl");
        let mut child = Command::new(python())
            .arg(repo_root().join("crates/kefu-server/tests/mail_support/smtp_sink.py"))
            .arg(port.to_string())
            .arg(&out)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting aiosmtpd");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        Smtp {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    fn all(&self) -> Vec<Got> {
        let Ok(s) = std::fs::read_to_string(&self.out) else {
            return Vec::new();
        };
        // Whole lines only: the sink may be writing the last one right now
        // (read half-written, it is not JSON yet; the next look sees it).
        s.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                Got {
                    rcpt: v["rcpt_tos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect(),
                    raw: v["data"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    fn to(&self, addr: &str) -> Vec<Got> {
        self.all()
            .into_iter()
            .filter(|g| g.rcpt.iter().any(|r| r == addr))
            .collect()
    }

    /// Waits for the `n`th mail to `addr` (polled: the SMTP server is another process).
    async fn wait_for(&self, addr: &str, n: usize) -> Got {
        for _ in 0..200 {
            let got = self.to(addr);
            if got.len() >= n {
                return got[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no mail #{n} to {addr}; received: {:?}",
            self.all().iter().map(|g| &g.rcpt).collect::<Vec<_>>()
        );
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app_with_mail(db: Db, smtp: &Smtp, reply_delay_secs: u64) -> TestApp {
    app_with_mail_on(db, smtp.port, reply_delay_secs).await
}

async fn app_with_mail_on(db: Db, port: u16, reply_delay_secs: u64) -> TestApp {
    common::spawn_with(db, move |c| {
        c.mail.host = "127.0.0.1".into();
        c.mail.port = port;
        c.mail.tls = kefu_server::mail::TlsMode::None;
        c.mail.from_address = "support@kefu.test".into();
        c.mail.from_name = "Kefu Support".into();
        c.mail.base_url = "https://kefu.example.com".into();
        c.mail.reply_delay_secs = reply_delay_secs;
        c.mail.poll_ms = 100;
        c.mail.retry_base_ms = 300;
        c.outbox.poll_ms = 50;
    })
    .await
}

/// Waits until every mail of the workspace is settled (sent, skipped, dead).
async fn settled(app: &TestApp, ws: &kefu_core::WorkspaceId) -> Vec<kefu_store::MailRow> {
    for _ in 0..200 {
        let rows = app.store.list_mails(ws, 100).await.unwrap();
        if !rows.is_empty()
            && rows
                .iter()
                .all(|r| !matches!(r.state.as_str(), "pending" | "sending"))
        {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "mails did not settle: {:?}",
        app.store.list_mails(ws, 100).await.unwrap()
    );
}

/// A visitor who left an e-mail and wrote once (over HTTP: no tab open);
/// returns (token, contact id, conversation id).
async fn visitor_with_email(
    app: &TestApp,
    t: &common::Tenant,
    email: &str,
) -> (String, String, String) {
    let (token, contact) = app.visitor(&t.inbox).await;
    let (s, v) = app
        .post(
            &token,
            "/api/v1/widget/identify",
            json!({"name": "Eve", "email": email}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let sent = app.visitor_send(&token, "v1", "Where is my order?").await;
    let conv = sent["conversation_id"]
        .as_str()
        .or(sent["message"]["conversation_id"].as_str())
        .unwrap()
        .to_string();
    (token, contact, conv)
}

async fn agent_reply(app: &TestApp, token: &str, conv: &str, cmid: &str, kind: &str, text: &str) {
    let (s, v) = app
        .post(
            token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"client_msg_id": cmid, "kind": kind, "content": text}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
}

async fn inbound_key(app: &TestApp, t: &common::Tenant, scopes: &[&str]) -> String {
    let (s, v) = app
        .post(
            &t.token,
            "/api/v1/api-keys",
            json!({"name": "relay", "scopes": scopes}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["key"].as_str().unwrap().to_string()
}

async fn post_raw(app: &TestApp, key: &str, raw: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/api/v1/mail/inbound"))
        .bearer_auth(key)
        .header("content-type", "message/rfc822")
        .body(raw.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn offline_visitor_gets_replies_by_email_and_their_email_reply_comes_back(db: Db) {
    let smtp = Smtp::start();
    let app = app_with_mail(db, &smtp, 1).await;
    let t = app.tenant(Role::Admin).await;
    let (mut agent_ws, _) = app.ws(&t.token).await;
    let (_vt, _contact, conv) = visitor_with_email(&app, &t, "eve@shop.test").await;
    agent_reply(
        &app,
        &t.token,
        &conv,
        "a1",
        "text",
        "We shipped it <today>.",
    )
    .await;
    agent_reply(
        &app,
        &t.token,
        &conv,
        "a2",
        "note",
        "internal: check the warehouse",
    )
    .await;
    agent_reply(&app, &t.token, &conv, "a3", "text", "Tracking: 12345").await;

    // Both replies in one mail, the note in none.
    let got = smtp.wait_for("eve@shop.test", 1).await;
    let text = got.text();
    assert!(
        text.contains("We shipped it <today>.") && text.contains("Tracking: 12345"),
        "{text}"
    );
    assert!(!text.contains("internal"), "a note leaked: {text}");
    assert!(
        got.html().contains("We shipped it &lt;today&gt;."),
        "{}",
        got.html()
    );
    assert_eq!(
        got.subject(),
        "Help 回复了您",
        "the visitor's language (zh-CN) decides"
    );
    let reply_to = got.reply_to();
    assert!(
        reply_to.starts_with("reply+") && reply_to.ends_with("@kefu.test"),
        "{reply_to}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.to("eve@shop.test").len(), 1, "batched into one mail");

    // Their reply, posted by the relay, lands in the same conversation, live.
    let key = inbound_key(&app, &t, &["mail:inbound"]).await;
    let raw = format!(
        "From: Eve <Eve@Shop.test>\r\nTo: {reply_to}\r\nSubject: Re: {}\r\nMessage-ID: <r1@shop.test>\r\nIn-Reply-To: <{}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGot it, thank you!\r\n\r\nOn Mon, Help <{reply_to}> wrote:\r\n> Tracking: 12345\r\n",
        got.subject(),
        got.message_id()
    );
    let (s, v) = post_raw(&app, &key, &raw).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["conversation_id"], conv.as_str());
    assert_eq!(v["message"]["content"], "Got it, thank you!");
    assert_eq!(v["message"]["sender"]["kind"], "visitor");
    agent_ws.expect_message("Got it, thank you!").await;
    // A relay retrying: stored once.
    let (s, v) = post_raw(&app, &key, &raw).await;
    assert_eq!((s, v["duplicate"].as_bool()), (200, Some(true)), "{v}");
    let (_, msgs) = app
        .get(&t.token, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    let n = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content"] == "Got it, thank you!")
        .count();
    assert_eq!(n, 1);

    // Found through In-Reply-To alone too (a relay that rewrote the To).
    let by_thread = raw
        .replace(&format!("To: {reply_to}"), "To: support@kefu.test")
        .replace("<r1@shop.test>", "<r2@shop.test>")
        .replace("Got it", "Also");
    let (s, v) = post_raw(&app, &key, &by_thread).await;
    assert_eq!(s, 201, "{v}");

    // Refusals: another sender, no token, an auto-reply, a key without the scope.
    let (s, v) = post_raw(
        &app,
        &key,
        &raw.replace("Eve@Shop.test", "mallory@evil.test")
            .replace("<r1@", "<r3@"),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("sender_mismatch")),
        "{v}"
    );
    let stranger =
        "From: eve@shop.test\r\nTo: support@kefu.test\r\nMessage-ID: <r4@x>\r\n\r\nhello";
    let (s, v) = post_raw(&app, &key, stranger).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("conversation_not_found")),
        "{v}"
    );
    let auto = raw
        .replace("Subject:", "Auto-Submitted: auto-replied\r\nSubject:")
        .replace("<r1@", "<r5@");
    let (s, v) = post_raw(&app, &key, &auto).await;
    assert_eq!((s, v["ignored"].as_bool()), (200, Some(true)), "{v}");
    let weak = inbound_key(&app, &t, &["events:write"]).await;
    let (s, v) = post_raw(&app, &weak, &raw).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("missing_scope")),
        "{v}"
    );
    // Another workspace's key cannot post into this conversation.
    let other = app.tenant(Role::Admin).await;
    let foreign = inbound_key(&app, &other, &["mail:inbound"]).await;
    let (s, _) = post_raw(&app, &foreign, &raw.replace("<r1@", "<r6@")).await;
    assert_eq!(s, 404);
    // The JSON shape relays' webhooks send.
    let r = app
        .http
        .post(app.url("/api/v1/mail/inbound"))
        .basic_auth("api", Some(&key))
        .json(&json!({"from": "Eve <eve@shop.test>", "to": reply_to, "text": "JSON reply\n\n> quoted", "message_id": "<r7@shop.test>"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    agent_ws.expect_message("JSON reply").await;
    app.stop().await;
}

async fn no_email_when_the_visitor_is_online_or_read_the_replies(db: Db) {
    let smtp = Smtp::start();
    let app = app_with_mail(db, &smtp, 1).await;
    let t = app.tenant(Role::Admin).await;
    // Online: a tab open on the WebSocket.
    let (vt, _, conv) = visitor_with_email(&app, &t, "online@shop.test").await;
    let (mut vws, _) = app.ws(&vt).await;
    agent_reply(&app, &t.token, &conv, "a1", "text", "while you are here").await;
    vws.expect_message("while you are here").await;
    // Read before the delay ran out: the mail is skipped.
    let (vt2, _, conv2) = visitor_with_email(&app, &t, "reader@shop.test").await;
    agent_reply(&app, &t.token, &conv2, "b1", "text", "read me").await;
    let (_, msgs) = app
        .get(&vt2, &format!("/api/v1/conversations/{conv2}/messages"))
        .await;
    let last = msgs["items"].as_array().unwrap().last().unwrap()["seq"]
        .as_i64()
        .unwrap();
    let (s, v) = app
        .post(
            &vt2,
            &format!("/api/v1/conversations/{conv2}/read"),
            json!({"seq": last}),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {v}");
    let rows = settled(&app, &t.ws.id).await;
    assert!(rows.iter().all(|r| r.state == "skipped"), "{rows:?}");
    assert!(smtp.to("online@shop.test").is_empty() && smtp.to("reader@shop.test").is_empty());
    drop(vws);
    app.stop().await;
}

async fn transcript_is_mailed_on_request_and_rate_limited(db: Db) {
    let smtp = Smtp::start();
    let app = app_with_mail(db, &smtp, 600).await;
    let t = app.tenant(Role::Admin).await;
    let (vt, _, conv) = visitor_with_email(&app, &t, "eve@shop.test").await;
    agent_reply(&app, &t.token, &conv, "a1", "text", "Here you go").await;
    agent_reply(&app, &t.token, &conv, "a2", "note", "secret note").await;
    // The visitor asks from the widget.
    let (s, v) = app
        .post(
            &vt,
            "/api/v1/widget/transcript",
            json!({"conversation_id": conv}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let got = smtp.wait_for("eve@shop.test", 1).await;
    let text = got.text();
    assert!(
        text.contains("Where is my order?") && text.contains("Here you go"),
        "{text}"
    );
    assert!(!text.contains("secret note"));
    assert_eq!(got.subject(), "您与 Help 的对话记录");
    // Again at once: refused with a wait, from either side.
    let (s, v) = app
        .post(
            &vt,
            "/api/v1/widget/transcript",
            json!({"conversation_id": conv}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{v}"
    );
    let (s, _) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/transcript"),
            json!({}),
        )
        .await;
    assert_eq!(s, 429);
    // The agent's button, on another conversation; a contact without e-mail is refused.
    let (vt2, _) = app.visitor(&t.inbox).await;
    let sent = app.visitor_send(&vt2, "x1", "hi").await;
    let conv2 = sent["conversation_id"]
        .as_str()
        .or(sent["message"]["conversation_id"].as_str())
        .unwrap()
        .to_string();
    let (s, v) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv2}/transcript"),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("no_email")),
        "{v}"
    );
    // Another visitor cannot ask for this conversation.
    let (s, _) = app
        .post(
            &vt2,
            "/api/v1/widget/transcript",
            json!({"conversation_id": conv}),
        )
        .await;
    assert_eq!(s, 404);
    app.stop().await;
}

async fn invitation_by_email_accepted_through_its_link_then_login_works(db: Db) {
    let smtp = Smtp::start();
    let app = app_with_mail(db, &smtp, 120).await;
    let t = app.tenant(Role::Admin).await;
    let (s, v) = app
        .post(
            &t.token,
            "/api/v1/users/invitations",
            json!({"email": "New.Agent@team.test", "role": "agent"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["mailed"].as_bool(), v["link"].is_null()),
        (Some(true), true),
        "no link in the answer when mailed"
    );
    let got = smtp.wait_for("new.agent@team.test", 1).await;
    assert!(
        got.text()
            .contains("https://kefu.example.com/console/#/invite/"),
        "{}",
        got.text()
    );
    let token = got.link_token("invite");
    let (s, info) = app
        .get("", &format!("/api/v1/auth/invitations/{token}"))
        .await;
    assert_eq!(
        (s, info["email"].as_str()),
        (200, Some("new.agent@team.test")),
        "{info}"
    );
    let (s, u) = app
        .post(
            "",
            "/api/v1/auth/invitations/accept",
            json!({"token": token, "name": "New Agent", "password": "fresh-passw0rd"}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert_eq!(
        (u["role"].as_str(), u["workspace_id"].as_str()),
        (Some("agent"), Some(t.ws.id.as_str()))
    );
    let (tok, _) = app.login("new.agent@team.test", "fresh-passw0rd").await;
    let (s, me) = app.get(&tok, "/api/v1/me").await;
    assert_eq!((s, me["user"]["name"].as_str()), (200, Some("New Agent")));
    // Single use.
    let (s, v) = app
        .post(
            "",
            "/api/v1/auth/invitations/accept",
            json!({"token": token, "name": "X", "password": "another-passw0rd"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("invalid_token")),
        "{v}"
    );
    // An existing address, and an agent inviting, are refused.
    let (s, _) = app
        .post(
            &t.token,
            "/api/v1/users/invitations",
            json!({"email": "new.agent@team.test"}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = app
        .post(
            &tok,
            "/api/v1/users/invitations",
            json!({"email": "x@team.test"}),
        )
        .await;
    assert_eq!(s, 403);
    // The raw token is not kept once sent.
    let rows = settled(&app, &t.ws.id).await;
    assert!(rows.iter().any(|r| r.kind == "invite" && r.state == "sent"));
    app.stop().await;
}

async fn password_reset_by_email_revokes_old_sessions(db: Db) {
    let smtp = Smtp::start();
    let app = app_with_mail(db, &smtp, 120).await;
    let t = app.tenant(Role::Owner).await;
    let (_, agent_tok) = app.agent(&t, "forgetful@team.test", 3).await;
    // Forgot password: 202 for known and unknown addresses alike.
    let (s, _) = app
        .post(
            "",
            "/api/v1/auth/password/forgot",
            json!({"email": "FORGETFUL@team.test"}),
        )
        .await;
    assert_eq!(s, 202);
    let (s, _) = app
        .post(
            "",
            "/api/v1/auth/password/forgot",
            json!({"email": "nobody@team.test"}),
        )
        .await;
    assert_eq!(s, 202);
    let got = smtp.wait_for("forgetful@team.test", 1).await;
    let token = got.link_token("reset");
    let (s, v) = app
        .post(
            "",
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = app
        .post(
            "",
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": "brand-new-passw0rd"}),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    // The old session is gone, the old password too; the new one works.
    let (s, _) = app.get(&agent_tok, "/api/v1/me").await;
    assert_eq!(s, 401, "sessions are revoked on reset");
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "forgetful@team.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (tok, _) = app.login("forgetful@team.test", "brand-new-passw0rd").await;
    let (s, _) = app
        .post(
            "",
            "/api/v1/auth/password/reset",
            json!({"token": token, "password": "again-passw0rd"}),
        )
        .await;
    assert_eq!(s, 404, "single use");
    assert!(smtp.to("nobody@team.test").is_empty());

    // Changing one's own password: current one checked, other sessions end.
    let (other_tok, _) = app.login("forgetful@team.test", "brand-new-passw0rd").await;
    let (s, v) = app
        .post(
            &tok,
            "/api/v1/me/password",
            json!({"current_password": "wrong-one", "new_password": "third-passw0rd"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("wrong_password"))
    );
    let (s, _) = app
        .post(
            &tok,
            "/api/v1/me/password",
            json!({"current_password": "brand-new-passw0rd", "new_password": "third-passw0rd"}),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        app.get(&tok, "/api/v1/me").await.0,
        200,
        "the session that changed it stays"
    );
    assert_eq!(app.get(&other_tok, "/api/v1/me").await.0, 401);

    // The owner sends a reset to someone else.
    let users = app.get(&t.token, "/api/v1/users").await.1;
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "forgetful@team.test")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = app
        .post(
            &t.token,
            &format!("/api/v1/users/{id}/password-reset"),
            json!({}),
        )
        .await;
    assert_eq!(s, 202);
    let got = smtp.wait_for("forgetful@team.test", 2).await;
    assert_ne!(got.link_token("reset"), token);
    app.stop().await;
}

/// A reset link for an owner can only be sent by an owner: an admin may
/// reset an agent's password but is refused (403, and no mail goes) for an
/// owner's, which would otherwise let an admin take over the workspace.
async fn only_an_owner_resets_an_owners_password(db: Db) {
    let smtp = Smtp::start();
    let app = app_with_mail(db, &smtp, 120).await;
    let t = app.tenant(Role::Owner).await;
    let mut ids = std::collections::HashMap::new();
    for (email, role) in [
        ("second.owner@team.test", "owner"),
        ("the.admin@team.test", "admin"),
        ("an.agent@team.test", "agent"),
    ] {
        let (s, u) = app
            .post(
                &t.token,
                "/api/v1/users",
                json!({"email": email, "name": email, "password": PASSWORD, "role": role, "capacity": 3}),
            )
            .await;
        assert_eq!(s, 201, "{u}");
        ids.insert(role, u["id"].as_str().unwrap_or_default().to_string());
    }
    let (admin_tok, _) = app.login("the.admin@team.test", PASSWORD).await;
    let reset = |id: &str| format!("/api/v1/users/{id}/password-reset");

    // The admin: refused for the owner, allowed for the agent.
    let (s, v) = app.post(&admin_tok, &reset(&ids["owner"]), json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let (s, v) = app.post(&admin_tok, &reset(&ids["agent"]), json!({})).await;
    assert_eq!(s, 202, "{v}");
    smtp.wait_for("an.agent@team.test", 1).await;
    assert!(
        smtp.to("second.owner@team.test").is_empty(),
        "no link went to the owner"
    );

    // An owner may send one to another owner.
    let (s, v) = app.post(&t.token, &reset(&ids["owner"]), json!({})).await;
    assert_eq!(s, 202, "{v}");
    let got = smtp.wait_for("second.owner@team.test", 1).await;
    assert!(!got.link_token("reset").is_empty());
    app.stop().await;
}

async fn offline_agent_is_emailed_about_an_assignment(db: Db) {
    let smtp = Smtp::start();
    let app = app_with_mail(db, &smtp, 120).await;
    let t = app.tenant(Role::Admin).await;
    let (agent_id, agent_tok) = app.agent(&t, "away@team.test", 3).await;
    let (_, _, conv) = visitor_with_email(&app, &t, "eve@shop.test").await;
    let (s, v) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"assignee_id": agent_id}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let got = smtp.wait_for("away@team.test", 1).await;
    assert!(got.subject().contains("Eve"), "{}", got.subject());
    assert!(got.text().contains("Where is my order?"));
    assert!(
        got.text()
            .contains(&format!("https://kefu.example.com/console/#/inbox/{conv}"))
    );
    // Turned off on their own profile: no mail for the next one.
    let (s, me) = app
        .patch(&agent_tok, "/api/v1/me", json!({"email_on_assign": false}))
        .await;
    assert_eq!(
        (s, me["email_on_assign"].as_bool()),
        (200, Some(false)),
        "{me}"
    );
    let (_, _, conv2) = visitor_with_email(&app, &t, "bob@shop.test").await;
    let (s, _) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv2}/assign"),
            json!({"assignee_id": agent_id}),
        )
        .await;
    assert_eq!(s, 200);
    // An online agent gets none either.
    let (online_id, online_tok) = app.agent(&t, "here@team.test", 3).await;
    let (_ws, _) = app.ws(&online_tok).await;
    let (_, _, conv3) = visitor_with_email(&app, &t, "carl@shop.test").await;
    let (s, _) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv3}/assign"),
            json!({"assignee_id": online_id}),
        )
        .await;
    assert_eq!(s, 200);
    settled(&app, &t.ws.id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.to("away@team.test").len(), 1);
    assert!(smtp.to("here@team.test").is_empty());

    // A mention in a note while offline: one mail, when they want e-mails.
    let (s, _) = app
        .patch(
            &agent_tok,
            "/api/v1/me",
            json!({"email_on_assign": true, "name": "小王"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .patch(&online_tok, "/api/v1/me", json!({"name": "Here"}))
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"client_msg_id": "note-1", "kind": "note", "content": "@小王 please <call> Eve, @Here too"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let got = smtp.wait_for("away@team.test", 2).await;
    assert_eq!(
        got.subject(),
        "Agent 在备注中提到了您",
        "the workspace language (zh-CN) decides"
    );
    assert!(got.text().contains("@小王 please <call> Eve"));
    assert!(got.html().contains("@小王 please &lt;call&gt; Eve"));
    // Handed on twice (a crash before the cursor moved): still one mail.
    let away: kefu_core::UserId = agent_id.clone().into();
    let conv_id: kefu_core::ConversationId = conv.clone().into();
    let note_id = v["message"]["id"].as_str().unwrap().to_string();
    let again = kefu_server::mail::notify_mention(
        &app.state,
        &t.ws.id,
        &away,
        &conv_id,
        "Agent",
        "@小王 please",
        &note_id,
    )
    .await
    .unwrap();
    assert!(!again, "the same mention is mailed once");
    // E-mails turned off: the next mention is in the console only.
    app.patch(&agent_tok, "/api/v1/me", json!({"email_on_assign": false}))
        .await;
    app.post(
        &t.token,
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"client_msg_id": "note-2", "kind": "note", "content": "@小王 ping"}),
    )
    .await;
    let (_, n) = app.get(&agent_tok, "/api/v1/notifications").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut n = n;
    while n["items"].as_array().map(Vec::len).unwrap_or(0) < 4
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        n = app.get(&agent_tok, "/api/v1/notifications").await.1;
    }
    // Two assignments (by the admin) and two mentions in the bell.
    assert_eq!(n["items"].as_array().map(Vec::len), Some(4), "{n}");
    settled(&app, &t.ws.id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.to("away@team.test").len(), 2, "one mail per mention");
    assert!(smtp.to("here@team.test").is_empty(), "online: no mail");
    app.stop().await;
}

async fn without_mail_config_invitations_give_a_link_and_mail_reports_off(db: Db) {
    let app = common::spawn(db).await;
    let t = app.tenant(Role::Admin).await;
    let (s, v) = app.get(&t.token, "/api/v1/mail/status").await;
    assert_eq!((s, v["enabled"].as_bool()), (200, Some(false)));
    let (s, v) = app
        .post(
            &t.token,
            "/api/v1/users/invitations",
            json!({"email": "later@team.test"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["mailed"].as_bool(), Some(false));
    let link = v["link"].as_str().unwrap();
    let token = link.rsplit('/').next().unwrap();
    let (s, _) = app
        .post(
            "",
            "/api/v1/auth/invitations/accept",
            json!({"token": token, "name": "Later", "password": "later-passw0rd"}),
        )
        .await;
    assert_eq!(s, 201);
    app.login("later@team.test", "later-passw0rd").await;
    let (s, v) = app
        .post(
            "",
            "/api/v1/auth/password/forgot",
            json!({"email": "later@team.test"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("mail_disabled"))
    );
    app.stop().await;
}

async fn a_mail_that_failed_is_retried_until_the_smtp_server_answers(db: Db) {
    // Nothing listens yet: the invitation's first attempts fail.
    let port = free_port();
    let app = app_with_mail_on(db, port, 120).await;
    let t = app.tenant(Role::Admin).await;
    let (s, _) = app
        .post(
            &t.token,
            "/api/v1/users/invitations",
            json!({"email": "patient@team.test"}),
        )
        .await;
    assert_eq!(s, 201);
    let failed = async {
        for _ in 0..200 {
            let rows = app.store.list_mails(&t.ws.id, 10).await.unwrap();
            if rows
                .iter()
                .any(|r| r.attempts >= 1 && r.state == "pending" && r.last_error.is_some())
            {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the first attempt did not fail");
    }
    .await;
    assert_eq!(failed.len(), 1);
    // The server comes up: the retry delivers it, once.
    let smtp = Smtp::start_on(port);
    let got = smtp.wait_for("patient@team.test", 1).await;
    assert!(got.text().contains("#/invite/"));
    let rows = settled(&app, &t.ws.id).await;
    assert_eq!(rows[0].state, "sent");
    assert!(rows[0].attempts >= 2, "{rows:?}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.to("patient@team.test").len(), 1);
    app.stop().await;
}

both_backends!(
    a_mail_that_failed_is_retried_until_the_smtp_server_answers,
    offline_visitor_gets_replies_by_email_and_their_email_reply_comes_back,
    no_email_when_the_visitor_is_online_or_read_the_replies,
    transcript_is_mailed_on_request_and_rate_limited,
    invitation_by_email_accepted_through_its_link_then_login_works,
    password_reset_by_email_revokes_old_sessions,
    only_an_owner_resets_an_owners_password,
    offline_agent_is_emailed_about_an_assignment,
    without_mail_config_invitations_give_a_link_and_mail_reports_off,
);
