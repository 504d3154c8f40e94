//! Contacts agents work with: edit name, e-mail, phone and attributes (with
//! clear errors for bad input), everyone sees the new name live, notes, and
//! the workspace's attribute definitions; other workspaces see none of it.
//! The contacts page: the list's words and attribute filters, merging a
//! duplicate, blocking a contact and addresses.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};

async fn agents_edit_contacts_keep_notes_and_define_attributes(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (vt, contact) = app.visitor(&owner.inbox).await;
    app.visitor_send(&vt, "m1", "hi").await;
    let (mut agent_ws, _) = app.ws(&owner.token).await;
    let path = format!("/api/v1/contacts/{contact}");

    let (s, c) = app
        .patch(
            &owner.token,
            &path,
            json!({"name": "  韩梅梅 ", "email": "han@example.com", "phone": "+86 138-0013-8000", "attributes": {"plan": "gold", "orders": 3}}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["name"], "韩梅梅");
    assert_eq!(c["phone"], "+86 138-0013-8000");
    assert_eq!(c["attributes"], json!({"plan": "gold", "orders": 3}));
    // Agents see it live, and the list shows the name.
    let f = agent_ws.expect("contact").await;
    assert_eq!(f["contact"]["name"], "韩梅梅");
    let (_, list) = app.get(&owner.token, "/api/v1/conversations").await;
    assert_eq!(list["items"][0]["contact_name"], "韩梅梅");
    // Clear a field, drop an attribute; the rest stays.
    let (s, c) = app
        .patch(
            &owner.token,
            &path,
            json!({"phone": "", "attributes": {"orders": null}}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert!(c["phone"].is_null());
    assert_eq!(c["email"], "han@example.com");
    assert_eq!(c["attributes"], json!({"plan": "gold"}));
    // Bad input: a clear 422, nothing changed.
    for bad in [
        json!({"email": "not-an-email"}),
        json!({"phone": "call me"}),
        json!({"name": "x".repeat(101)}),
        json!({"attributes": {"deep": {"a": 1}}}),
        json!({"nickname": "x"}),
    ] {
        let (s, e) = app.patch(&owner.token, &path, bad.clone()).await;
        assert!(s == 422 || s == 400, "{bad}: {s} {e}");
        assert!(
            e["error"]["code"].is_string() && e["error"]["message"].is_string(),
            "{e}"
        );
    }
    let (_, c) = app.get(&owner.token, &path).await;
    assert_eq!(c["name"], "韩梅梅");
    // The event went to the outbox (integrations hear of it).
    app.state.routing_idle().await;
    let rows = app.store.outbox_after(0, 1000).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.event.change.type_name() == "contact_updated"
                && r.event.actor.kind == kefu_core::SenderKind::Agent)
    );

    // Notes: add, list newest first, delete by the author.
    let notes = format!("{path}/notes");
    for body in ["VIP, prefers e-mail", "Called about order 6610"] {
        let (s, n) = app
            .post(&owner.token, &notes, json!({ "body": body }))
            .await;
        assert_eq!(s, 201, "{n}");
    }
    let (s, e) = app.post(&owner.token, &notes, json!({"body": "  "})).await;
    assert_eq!(s, 422, "{e}");
    let (_, list) = app.get(&owner.token, &notes).await;
    assert_eq!(list["items"][0]["body"], "Called about order 6610");
    assert_eq!(list["items"][0]["author_id"], owner.agent_id.as_str());
    let first = list["items"][1]["id"].as_str().unwrap().to_string();
    let (s, _) = app.delete(&owner.token, &format!("{notes}/{first}")).await;
    assert_eq!(s, 204);
    let (_, list) = app.get(&owner.token, &notes).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Attribute definitions.
    let (s, d) = app
        .put(
            &owner.token,
            "/api/v1/attributes/plan",
            json!({"label": "会员等级", "kind": "text"}),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    let (s, e) = app
        .put(
            &owner.token,
            "/api/v1/attributes/Bad-Key",
            json!({"label": "x"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = app
        .put(
            &owner.token,
            "/api/v1/attributes/email",
            json!({"label": "x"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (_, defs) = app.get(&owner.token, "/api/v1/attributes").await;
    assert_eq!(
        defs["items"],
        json!([{"key": "plan", "label": "会员等级", "kind": "text"}])
    );

    // Another workspace sees and changes none of it.
    let other = app.tenant(Role::Owner).await;
    let (s, _) = app.get(&other.token, &path).await;
    assert_eq!(s, 404);
    let (s, _) = app.patch(&other.token, &path, json!({"name": "x"})).await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&other.token, &notes).await;
    assert_eq!(s, 404);
    let (_, defs) = app.get(&other.token, "/api/v1/attributes").await;
    assert_eq!(defs["items"], json!([]));
    // A plain agent cannot define attributes.
    let (_, a_token) = app
        .agent(
            &owner,
            &format!("a-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let (s, _) = app
        .put(
            &a_token,
            "/api/v1/attributes/tier",
            json!({"label": "Tier"}),
        )
        .await;
    assert_eq!(s, 403);
    // …nor delete another agent's note.
    let remaining = list["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = app.delete(&a_token, &format!("{notes}/{remaining}")).await;
    assert_eq!(s, 404);
}

/// A widget session for `inbox`, resuming `token` if given: (status, body).
async fn session(app: &TestApp, inbox: &kefu_store::Inbox, token: Option<&str>) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/api/v1/widget/session"))
        .json(&json!({"inbox_key": inbox.public_key, "visitor_token": token}))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn conversation_of(sent: &Value) -> String {
    sent["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (s, page) = app.get(token, &format!("/api/v1/contacts?{query}")).await;
    assert_eq!(s, 200, "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// The contacts page's list: words (Chinese and English), attribute
/// conditions, blocked ones; merged contacts are not listed; bad filters
/// get a clear 422.
async fn the_contact_list_finds_by_words_and_attributes(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let other = app.tenant(Role::Owner).await;
    let mut made = Vec::new();
    for (name, attrs) in [
        (
            "王芳",
            json!({"plan": "VIP", "orders": 3, "newsletter": true}),
        ),
        ("Li Lei", json!({"plan": "free", "city": "上海"})),
        ("Han Meimei", json!({"plan": "vip", "orders": 12})),
    ] {
        let (_, id) = app.visitor(&owner.inbox).await;
        let (s, c) = app
            .patch(
                &owner.token,
                &format!("/api/v1/contacts/{id}"),
                json!({"name": name, "attributes": attrs}),
            )
            .await;
        assert_eq!(s, 200, "{c}");
        made.push(id);
    }
    let (_, stranger) = app.visitor(&other.inbox).await;
    app.patch(
        &other.token,
        &format!("/api/v1/contacts/{stranger}"),
        json!({"name": "王芳", "attributes": {"plan": "vip"}}),
    )
    .await;
    let t = &owner.token;
    let enc = |s: &str| url_escape(s);
    assert_eq!(
        ids(&app, t, &format!("q={}", enc("王芳"))).await,
        vec![made[0].clone()]
    );
    assert_eq!(ids(&app, t, "q=lei").await, vec![made[1].clone()]);
    // Newest first; case does not matter; numbers and booleans as text.
    let vip = ids(&app, t, &format!("attributes={}", enc(r#"{"plan":"vip"}"#))).await;
    assert_eq!(vip, vec![made[2].clone(), made[0].clone()]);
    assert_eq!(
        ids(&app, t, &format!("attributes={}", enc(r#"{"orders":3}"#))).await,
        vec![made[0].clone()]
    );
    assert_eq!(
        ids(
            &app,
            t,
            &format!("attributes={}", enc(r#"{"newsletter":true}"#))
        )
        .await,
        vec![made[0].clone()]
    );
    assert_eq!(
        ids(&app, t, &format!("attributes={}", enc(r#"{"city":null}"#))).await,
        vec![made[1].clone()]
    );
    assert_eq!(
        ids(
            &app,
            t,
            &format!("attributes={}", enc(r#"{"city":"上海","plan":"FREE"}"#))
        )
        .await,
        vec![made[1].clone()]
    );
    // Words and attributes together.
    assert_eq!(
        ids(
            &app,
            t,
            &format!("q=han&attributes={}", enc(r#"{"plan":"vip"}"#))
        )
        .await,
        vec![made[2].clone()]
    );
    assert!(ids(&app, t, "blocked=true").await.is_empty());
    // Pages of one.
    let (_, p1) = app.get(t, "/api/v1/contacts?limit=1").await;
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = app
        .get(t, &format!("/api/v1/contacts?limit=1&cursor={cursor}"))
        .await;
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
    for bad in [
        "attributes=%7Bplan",
        "attributes=%5B1%5D",
        "attributes=%7B%22a%22%3A%5B1%5D%7D",
        "q=%20%21%21",
    ] {
        let (s, e) = app.get(t, &format!("/api/v1/contacts?{bad}")).await;
        assert_eq!(s, 422, "{bad}: {e}");
        assert!(e["error"]["message"].is_string());
    }
}

/// Merging a duplicate: conversations, notes and business events move; the
/// kept contact fills its gaps; the duplicate leaves lists and search; its
/// visitor's live connection ends and their next session continues as the
/// kept contact. Refused while both have an active conversation in the inbox.
async fn merging_a_duplicate_moves_everything_and_the_visitor_follows(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (va, a) = app.visitor(&owner.inbox).await;
    let (vb, b) = app.visitor(&owner.inbox).await;
    let conv_a = conversation_of(&app.visitor_send(&va, "a1", "我是王芳").await);
    let conv_b = conversation_of(&app.visitor_send(&vb, "b1", "订单 6610 到哪了").await);
    app.patch(
        &owner.token,
        &format!("/api/v1/contacts/{a}"),
        json!({"name": "王芳", "attributes": {"plan": "vip"}}),
    )
    .await;
    app.patch(&owner.token, &format!("/api/v1/contacts/{b}"), json!({"name": "Fang W", "email": "fang@example.com", "attributes": {"plan": "free", "orders": 2}}))
        .await;
    let (s, _) = app
        .post(
            &owner.token,
            &format!("/api/v1/contacts/{b}/notes"),
            json!({"body": "asked twice"}),
        )
        .await;
    assert_eq!(s, 201);
    let merge = format!("/api/v1/contacts/{a}/merge");
    // Both have an active conversation in the inbox: a clear 409, nothing moved.
    let (s, e) = app.post(&owner.token, &merge, json!({"other_id": b})).await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("resolve"),
        "{e}"
    );
    let (s, c) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv_b}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let (mut b_ws, _) = app.ws(&vb).await;
    let (s, kept) = app.post(&owner.token, &merge, json!({"other_id": b})).await;
    assert_eq!(s, 200, "{kept}");
    assert_eq!(kept["id"], a.as_str());
    assert_eq!(kept["name"], "王芳", "the kept contact's own details win");
    assert_eq!(
        kept["email"], "fang@example.com",
        "and the duplicate fills the gaps"
    );
    assert_eq!(kept["attributes"], json!({"plan": "vip", "orders": 2}));
    // The duplicate's live connection is told to start over, at once.
    let f = b_ws.expect("error").await;
    assert_eq!(f["code"], "session_ended");
    // Everything of the duplicate is the kept contact's now.
    let (_, convs) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations?contact_id={a}"),
        )
        .await;
    let mut got: Vec<&str> = convs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    got.sort();
    let mut want = vec![conv_a.as_str(), conv_b.as_str()];
    want.sort();
    assert_eq!(got, want, "{convs}");
    let (_, notes) = app
        .get(&owner.token, &format!("/api/v1/contacts/{a}/notes"))
        .await;
    assert_eq!(notes["items"][0]["body"], "asked twice");
    // The duplicate is gone from lists and search, and says where it went.
    assert_eq!(ids(&app, &owner.token, "").await, vec![a.clone()]);
    assert_eq!(ids(&app, &owner.token, "q=fang").await, vec![a.clone()]);
    let (_, found) = app
        .get(&owner.token, "/api/v1/search?type=contacts&q=fang")
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["contact"]["id"], a.as_str());
    let (_, old) = app
        .get(&owner.token, &format!("/api/v1/contacts/{b}"))
        .await;
    assert_eq!(old["merged_into"], a.as_str());
    // The duplicate's token: refused with a code the widget acts on ...
    let (s, e) = app
        .post(
            &vb,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "b2", "content": "hello?"}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (401, Some("contact_merged")),
        "{e}"
    );
    // ... and the next session continues as the kept contact, in their conversation.
    let (s, sess) = session(&app, &owner.inbox, Some(&vb)).await;
    assert_eq!(s, 200, "{sess}");
    assert_eq!(sess["contact_id"], a.as_str());
    assert_eq!(sess["resumed"], true);
    let sent = app
        .visitor_send(sess["visitor_token"].as_str().unwrap(), "b3", "still me")
        .await;
    assert_eq!(conversation_of(&sent), conv_a);
    // Integrations hear of it.
    app.state.routing_idle().await;
    let rows = app.store.outbox_after(0, 10_000).await.unwrap();
    let ev = rows
        .iter()
        .find(|r| r.event.change.type_name() == "contact_merged")
        .expect("contact_merged event");
    assert_eq!(ev.event.contact_id.as_deref(), Some(a.as_str()));
    // Refusals: itself, one merged already, another workspace's contact.
    let (s, _) = app.post(&owner.token, &merge, json!({"other_id": a})).await;
    assert_eq!(s, 422);
    let (s, _) = app.post(&owner.token, &merge, json!({"other_id": b})).await;
    assert_eq!(s, 422);
    let other = app.tenant(Role::Owner).await;
    let (_, stranger) = app.visitor(&other.inbox).await;
    let (s, _) = app
        .post(&owner.token, &merge, json!({"other_id": stranger}))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &other.token,
            &format!("/api/v1/contacts/{stranger}/merge"),
            json!({"other_id": a}),
        )
        .await;
    assert_eq!(s, 404);
}

/// Blocking: the visitor's connection ends, their sends and sessions are
/// refused with clear codes, their address too when asked; unblocking lifts
/// both. Only agents with contacts:write block; only admins keep addresses.
async fn a_blocked_contact_cannot_chat_until_unblocked(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (vc, c) = app.visitor(&owner.inbox).await;
    app.visitor_send(&vc, "c1", "spam spam").await;
    let (mut c_ws, _) = app.ws(&vc).await;
    let block = format!("/api/v1/contacts/{c}/block");
    // An API key that only reads contacts may not block.
    let (_, key) = app
        .post(
            &owner.token,
            "/api/v1/api-keys",
            json!({"name": "reader", "scopes": ["contacts:read"]}),
        )
        .await;
    let (s, _) = app
        .post(key["key"].as_str().unwrap(), &block, json!({}))
        .await;
    assert_eq!(s, 403);
    let (s, k) = app
        .post(&owner.token, &block, json!({"block_ip": true}))
        .await;
    assert_eq!(s, 200, "{k}");
    assert!(k["blocked_at"].is_i64());
    let f = c_ws.expect("error").await;
    assert_eq!(f["code"], "session_ended");
    // Sending over HTTP and over a new WebSocket: refused, nothing stored.
    let (s, e) = app
        .post(
            &vc,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "c2", "content": "let me in"}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("contact_blocked")),
        "{e}"
    );
    let mut ws = common::Ws::connect(app.addr).await;
    ws.send(json!({"type": "auth", "v": 1, "token": vc})).await;
    let f = ws.expect("error").await;
    assert_eq!(f["code"], "contact_blocked");
    let (s, e) = session(&app, &owner.inbox, Some(&vc)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("contact_blocked")),
        "{e}"
    );
    // Their address (the tests' 127.0.0.1) was blocked with them: a new visitor from it is refused.
    let (s, e) = session(&app, &owner.inbox, None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("ip_blocked")),
        "{e}"
    );
    let (_, blocks) = app.get(&owner.token, "/api/v1/ip-blocks").await;
    assert_eq!(blocks["items"][0]["ip"], "127.0.0.1", "{blocks}");
    assert_eq!(
        ids(&app, &owner.token, "blocked=true").await,
        vec![c.clone()]
    );
    let (_, msgs) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations?contact_id={c}"),
        )
        .await;
    let conv = msgs["items"][0]["id"].as_str().unwrap().to_string();
    let (_, history) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages"),
        )
        .await;
    assert!(!history.to_string().contains("let me in"));
    // Unblocking lifts the block and the address blocked with it.
    let (s, k) = app.delete(&owner.token, &block).await;
    assert_eq!(s, 200, "{k}");
    assert!(k["blocked_at"].is_null());
    let (_, blocks) = app.get(&owner.token, "/api/v1/ip-blocks").await;
    assert!(blocks["items"].as_array().unwrap().is_empty(), "{blocks}");
    let (s, sess) = session(&app, &owner.inbox, Some(&vc)).await;
    assert_eq!(s, 200, "{sess}");
    app.visitor_send(&vc, "c3", "sorry").await;
    // Addresses by hand: admins only, validated, 404 for one not blocked.
    let (_, agent) = app
        .agent(
            &owner,
            &format!("ag-{}@example.com", kefu_store::new_id()),
            3,
        )
        .await;
    let (s, _) = app
        .post(&agent, "/api/v1/ip-blocks", json!({"ip": "203.0.113.9"}))
        .await;
    assert_eq!(s, 403);
    let (s, e) = app
        .post(
            &owner.token,
            "/api/v1/ip-blocks",
            json!({"ip": "not an ip"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = app
        .post(
            &owner.token,
            "/api/v1/ip-blocks",
            json!({"ip": "::ffff:203.0.113.9", "note": "scraper"}),
        )
        .await;
    assert_eq!(s, 204);
    let (_, blocks) = app.get(&owner.token, "/api/v1/ip-blocks").await;
    assert_eq!(
        blocks["items"][0]["ip"], "203.0.113.9",
        "one spelling per address"
    );
    let (s, _) = app
        .delete(&owner.token, "/api/v1/ip-blocks/203.0.113.9")
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .delete(&owner.token, "/api/v1/ip-blocks/203.0.113.9")
        .await;
    assert_eq!(s, 404);
    // An agent (contacts:write) may block a contact.
    let (s, _) = app.post(&agent, &block, json!({})).await;
    assert_eq!(s, 200);
}

/// Percent-encodes a query value.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

both_backends!(
    agents_edit_contacts_keep_notes_and_define_attributes,
    the_contact_list_finds_by_words_and_attributes,
    merging_a_duplicate_moves_everything_and_the_visitor_follows,
    a_blocked_contact_cannot_chat_until_unblocked
);
