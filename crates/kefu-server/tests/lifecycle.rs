//! The conversation lifecycle over the real server: a visitor's message
//! after a resolve reopens the conversation with its agent within the
//! inbox's window and starts a new, sticky-routed one after it; snooze and
//! wake-up; assignment without rules through the default group; an agent's
//! reply takes an unassigned conversation; the closing message.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::time::Duration;

/// An agent with a unique e-mail; returns (user id, token).
async fn agent(app: &TestApp, owner: &Tenant, name: &str) -> (String, String) {
    let email = format!("{name}-{}@example.com", kefu_store::new_id());
    app.agent(owner, &email, 5).await
}

/// A group of every agent that takes what no rule routes, as a fresh
/// install has; returns its name.
async fn default_group(app: &TestApp, owner: &Tenant, members: &[&str]) -> &'static str {
    let (s, g) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "everyone", "members": members, "auto_join": true}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let (s, w) = app
        .patch(
            &owner.token,
            "/api/v1/workspace",
            json!({"default_group": "everyone"}),
        )
        .await;
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["default_group"], "everyone");
    "everyone"
}

async fn conversation(app: &TestApp, token: &str, id: &str) -> Value {
    let (s, c) = app.get(token, &format!("/api/v1/conversations/{id}")).await;
    assert_eq!(s, 200, "{c}");
    c
}

async fn set_status(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    let (s, c) = app
        .post(
            token,
            &format!("/api/v1/conversations/{id}/status"),
            json!({ "status": status }),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    c
}

fn conv_of(sent: &Value) -> String {
    sent["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn reopen_within_the_window_keeps_the_agent(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a").await;
    let (_b, b_token) = agent(&app, &owner, "b").await;
    default_group(&app, &owner, &[]).await;
    let (_a_ws, _) = app.ws(&a_token).await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    app.state.routing_idle().await;
    // Auto-joined? No: A was created before the group; give it to A by hand.
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/assign"),
            json!({ "assignee_id": a }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    set_status(&app, &a_token, &c1, "resolved").await;
    // B is online with less load than A: a routed conversation would go to B.
    let (_b_ws, _) = app.ws(&b_token).await;
    let again = app.visitor_send(&vt, "m2", "one more question").await;
    assert_eq!(conv_of(&again), c1, "the same conversation");
    app.state.routing_idle().await;
    let c = conversation(&app, &owner.token, &c1).await;
    assert_eq!(c["status"], "open");
    assert_eq!(c["assignee_id"], a.as_str(), "the same agent");
    assert!(c["waiting_since"].as_i64().is_some(), "{c}");
}

async fn after_the_window_a_new_conversation_prefers_the_previous_agent(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a").await;
    let (b, b_token) = agent(&app, &owner, "b").await;
    default_group(&app, &owner, &[&a, &b]).await;
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({ "reopen_window_secs": 0 }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["reopen_window_secs"], 0);
    let (_a_ws, _) = app.ws(&a_token).await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    app.state.routing_idle().await;
    let first = conversation(&app, &owner.token, &c1).await;
    assert_eq!(first["assignee_id"], a.as_str(), "only A was online");
    set_status(&app, &a_token, &c1, "resolved").await;
    // A keeps two conversations of other visitors (given by hand, whatever
    // routing chose); B comes online with nothing to do. Least-loaded alone
    // would now pick B: only stickiness sends the returning visitor to A.
    for n in 0..2 {
        let (other, _) = app.visitor(&owner.inbox).await;
        let o = conv_of(
            &app.visitor_send(&other, &format!("o{n}"), "someone else")
                .await,
        );
        app.state.routing_idle().await;
        let (s, v) = app
            .post(
                &owner.token,
                &format!("/api/v1/conversations/{o}/assign"),
                json!({ "assignee_id": a }),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (_b_ws, _) = app.ws(&b_token).await;
    let (s, open) = app
        .get(&owner.token, "/api/v1/conversations?limit=50&status=open")
        .await;
    assert_eq!(s, 200, "{open}");
    let load = |who: &str| {
        open["items"]
            .as_array()
            .map_or(0, |l| l.iter().filter(|c| c["assignee_id"] == who).count())
    };
    assert_eq!(
        (load(&a), load(&b)),
        (2, 0),
        "B is the least-loaded: {open}"
    );
    let again = app.visitor_send(&vt, "m2", "back again").await;
    let c2 = conv_of(&again);
    assert_ne!(c2, c1, "outside the window: a new conversation");
    app.state.routing_idle().await;
    let second = conversation(&app, &owner.token, &c2).await;
    assert_eq!(
        second["assignee_id"],
        a.as_str(),
        "sticky to the previous agent"
    );
    assert_eq!(
        conversation(&app, &owner.token, &c1).await["status"],
        "resolved"
    );
}

async fn a_reopened_conversation_of_a_departed_agent_is_routed(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a").await;
    let (b, b_token) = agent(&app, &owner, "b").await;
    default_group(&app, &owner, &[&a, &b]).await;
    let (_a_ws, _) = app.ws(&a_token).await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    app.state.routing_idle().await;
    assert_eq!(
        conversation(&app, &owner.token, &c1).await["assignee_id"],
        a.as_str()
    );
    set_status(&app, &a_token, &c1, "resolved").await;
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/users/{a}"),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_b_ws, _) = app.ws(&b_token).await;
    let again = app.visitor_send(&vt, "m2", "anyone there?").await;
    assert_eq!(conv_of(&again), c1);
    app.state.routing_idle().await;
    let c = conversation(&app, &owner.token, &c1).await;
    assert_eq!(c["status"], "open");
    assert_eq!(c["assignee_id"], b.as_str(), "routed to who is left");
}

async fn without_rules_the_default_group_assigns_and_new_agents_join_it(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    default_group(&app, &owner, &[]).await;
    // Created after the group: joins it by itself.
    let (a, a_token) = agent(&app, &owner, "a").await;
    let (s, groups) = app.get(&owner.token, "/api/v1/groups").await;
    assert_eq!(s, 200);
    assert_eq!(groups["items"][0]["members"], json!([a]), "{groups}");
    let (vt, _) = app.visitor(&owner.inbox).await;
    // Nobody online: it stays unassigned, waiting in the group's line.
    let c0 = conv_of(&app.visitor_send(&vt, "m0", "early").await);
    app.state.routing_idle().await;
    assert_eq!(
        conversation(&app, &owner.token, &c0).await["status"],
        "queued"
    );
    // A comes online: the line moves to A.
    let (_a_ws, _) = app.ws(&a_token).await;
    app.state.routing_idle().await;
    let c = conversation(&app, &owner.token, &c0).await;
    assert_eq!(c["assignee_id"], a.as_str(), "{c}");
    // Cleared: conversations stay unassigned.
    let (s, w) = app
        .patch(
            &owner.token,
            "/api/v1/workspace",
            json!({ "default_group": null }),
        )
        .await;
    assert_eq!(s, 200, "{w}");
    assert!(w["default_group"].is_null());
    let (vt2, _) = app.visitor(&owner.inbox).await;
    let c2 = conv_of(&app.visitor_send(&vt2, "n0", "later").await);
    app.state.routing_idle().await;
    let c = conversation(&app, &owner.token, &c2).await;
    assert!(c["assignee_id"].is_null(), "{c}");
    // Naming a group that does not exist is refused.
    let (s, e) = app
        .patch(
            &owner.token,
            "/api/v1/workspace",
            json!({ "default_group": "nope" }),
        )
        .await;
    assert_eq!(s, 422, "{e}");
}

async fn a_reply_takes_an_unassigned_conversation(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a").await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    app.state.routing_idle().await;
    let before = conversation(&app, &owner.token, &c1).await;
    assert!(before["assignee_id"].is_null());
    let waited = before["waiting_since"].as_i64().expect("the visitor waits");
    // A note does not take it (nor end the wait).
    let (s, v) = app
        .post(
            &a_token,
            &format!("/api/v1/conversations/{c1}/messages"),
            json!({"client_msg_id": "n1", "kind": "note", "content": "looking"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let c = conversation(&app, &owner.token, &c1).await;
    assert!(c["assignee_id"].is_null());
    assert_eq!(c["waiting_since"].as_i64(), Some(waited));
    let (s, v) = app
        .post(
            &a_token,
            &format!("/api/v1/conversations/{c1}/messages"),
            json!({"client_msg_id": "r1", "content": "Hi, I can help"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let c = conversation(&app, &owner.token, &c1).await;
    assert_eq!(c["assignee_id"], a.as_str(), "the reply took it");
    assert!(c["waiting_since"].is_null(), "answered: nobody waits");
    // Turned off: a reply leaves the next one unassigned.
    let (s, _) = app
        .patch(
            &owner.token,
            "/api/v1/workspace",
            json!({ "reply_takes": false }),
        )
        .await;
    assert_eq!(s, 200);
    let (vt2, _) = app.visitor(&owner.inbox).await;
    let c2 = conv_of(&app.visitor_send(&vt2, "m2", "hi").await);
    let (s, _) = app
        .post(
            &a_token,
            &format!("/api/v1/conversations/{c2}/messages"),
            json!({"client_msg_id": "r2", "content": "Hello"}),
        )
        .await;
    assert_eq!(s, 201);
    assert!(conversation(&app, &owner.token, &c2).await["assignee_id"].is_null());
}

async fn resolving_tells_the_visitor(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    // A visitor whose browser speaks Chinese gets the Chinese text only.
    let (vt, _) = app.visitor_in(&owner.inbox, "zh-CN").await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    let (mut v_ws, _) = app.ws(&vt).await;
    set_status(&app, &owner.token, &c1, "resolved").await;
    let m = v_ws
        .expect_message(kefu_store::DEFAULT_CLOSING_MESSAGE_ZH)
        .await;
    assert_eq!(m["message"]["sender"]["kind"], "system");
    assert!(
        !m["message"]["content"]
            .as_str()
            .unwrap_or("")
            .contains("resolved"),
        "{m}"
    );
    // One whose browser speaks English (or anything else) gets the English one.
    for lang in ["en-US", "fr"] {
        let (et, _) = app.visitor_in(&owner.inbox, lang).await;
        let ce = conv_of(&app.visitor_send(&et, "e1", "hello").await);
        let (mut e_ws, _) = app.ws(&et).await;
        set_status(&app, &owner.token, &ce, "resolved").await;
        let m = e_ws
            .expect_message(kefu_store::DEFAULT_CLOSING_MESSAGE)
            .await;
        assert!(
            !m["message"]["content"]
                .as_str()
                .unwrap_or("")
                .contains("本次"),
            "{m}"
        );
    }
    // Custom texts, each language its own; the inbox shows both.
    let (s, i) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({ "closing_message": "Thanks!", "closing_message_zh": "谢谢！" }),
        )
        .await;
    assert_eq!(s, 200, "{i}");
    assert_eq!(i["closing_message"], "Thanks!");
    assert_eq!(i["closing_message_zh"], "谢谢！");
    app.visitor_send(&vt, "m2", "again").await;
    set_status(&app, &owner.token, &c1, "resolved").await;
    v_ws.expect_message("谢谢！").await;
    let (et, _) = app.visitor_in(&owner.inbox, "en").await;
    let ce = conv_of(&app.visitor_send(&et, "e2", "hello").await);
    let (mut e_ws, _) = app.ws(&et).await;
    set_status(&app, &owner.token, &ce, "resolved").await;
    e_ws.expect_message("Thanks!").await;
    // Too long is refused; empty turns it off.
    let (s, _) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({ "closing_message_zh": "长".repeat(1001) }),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({ "closing_message": "", "closing_message_zh": "" }),
        )
        .await;
    assert_eq!(s, 200);
    app.visitor_send(&vt, "m3", "and again").await;
    set_status(&app, &owner.token, &c1, "resolved").await;
    // Past the visitor's own message and the reopen: the resolve, then nothing.
    while v_ws.expect("conversation").await["status"] != "resolved" {}
    v_ws.expect_no_messages(Duration::from_millis(500)).await;
}

async fn snoozed_conversations_wake_by_themselves_or_when_the_customer_writes(db: Db) {
    let app = spawn_with(db, |c| c.routing.queue_check_ms = 100).await;
    let owner = app.tenant(Role::Owner).await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    let (mut agent_ws, _) = app.ws(&owner.token).await;
    // In the past: refused.
    let (s, e) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/snooze"),
            json!({ "until": kefu_store::now_ms() - 1000 }),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let until = kefu_store::now_ms() + 1_000;
    let (s, c) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/snooze"),
            json!({ "until": until }),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "pending");
    assert_eq!(c["snoozed_until"], until);
    // It wakes by itself, and agents see it.
    loop {
        let f = agent_ws.expect("conversation").await;
        if f["conversation_id"] == c1.as_str() && f["status"] == "open" {
            break;
        }
    }
    let c = conversation(&app, &owner.token, &c1).await;
    assert!(c["snoozed_until"].is_null(), "{c}");
    let events = app
        .store
        .list_events(
            &owner.ws.id,
            &kefu_core::ConversationId::from(c1.as_str()),
            None,
            50,
        )
        .await
        .unwrap();
    let woke = events
        .iter()
        .find(|e| e.kind == "conversation_status_changed" && e.actor_id == "snooze")
        .expect("a wake-up event by the snooze clock");
    assert_eq!(woke.data["to"], "open");
    assert!(events.iter().any(|e| e.kind == "conversation_snoozed"));
    // Snoozed for an hour: the customer's message wakes it at once.
    let (s, _) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/snooze"),
            json!({ "until": kefu_store::now_ms() + 3_600_000 }),
        )
        .await;
    assert_eq!(s, 200);
    app.visitor_send(&vt, "m2", "I'm back").await;
    let c = conversation(&app, &owner.token, &c1).await;
    assert_eq!(c["status"], "open");
    assert!(c["snoozed_until"].is_null());
}

/// An agent takes back their own message: everyone sees "deleted" (the
/// text is gone from every read path), the audit and the outbox keep it;
/// nobody else can, and not after the window.
async fn agents_delete_their_own_messages_within_the_window(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (_b, b_token) = agent(&app, &owner, "b").await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    let (mut v_ws, _) = app.ws(&vt).await;
    let (s, sent) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/messages"),
            json!({"client_msg_id": "oops", "content": "wrong order number 7781"}),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let seq = sent["message"]["seq"].as_i64().unwrap();
    v_ws.expect_message("wrong order number 7781").await;
    let path = format!("/api/v1/conversations/{c1}/messages/{seq}");
    // Not someone else's, not the visitor's.
    let (s, _) = app.delete(&b_token, &path).await;
    assert_eq!(s, 404);
    let (s, _) = app.delete(&vt, &path).await;
    assert_eq!(s, 403);
    let (s, m) = app.delete(&owner.token, &path).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["content"], "");
    assert!(m["deleted_at"].as_i64().is_some());
    // The visitor's connection hears of it; their history shows it deleted.
    let f = v_ws.expect("message_deleted").await;
    assert_eq!(f["seq"], seq);
    let (_, history) = app
        .get(
            &vt,
            &format!("/api/v1/conversations/{c1}/messages?limit=50"),
        )
        .await;
    let gone = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["seq"] == seq)
        .unwrap()
        .clone();
    assert_eq!(gone["content"], "");
    assert!(gone["deleted_at"].is_i64());
    // The audit keeps the text.
    let events = app
        .store
        .list_events(
            &owner.ws.id,
            &kefu_core::ConversationId::from(c1.as_str()),
            None,
            50,
        )
        .await
        .unwrap();
    let audit = events
        .iter()
        .find(|e| e.kind == "message_deleted")
        .expect("an audit line");
    assert_eq!(audit.data["content"], "wrong order number 7781");
    // Twice: a clear refusal.
    let (s, e) = app.delete(&owner.token, &path).await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "cannot_delete");
}

/// After the window, or with deleting turned off, a message stays.
async fn deleting_is_refused_after_the_window(db: Db) {
    let app = spawn_with(db, |c| c.limits.message_delete_secs = 1).await;
    let owner = app.tenant(Role::Owner).await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let c1 = conv_of(&app.visitor_send(&vt, "m1", "hello").await);
    let (_, sent) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/messages"),
            json!({"client_msg_id": "late", "content": "kept"}),
        )
        .await;
    let seq = sent["message"]["seq"].as_i64().unwrap();
    // The window is one second: waited out on purpose.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, e) = app
        .delete(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/messages/{seq}"),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "cannot_delete");
}

both_backends!(
    agents_delete_their_own_messages_within_the_window,
    deleting_is_refused_after_the_window,
    reopen_within_the_window_keeps_the_agent,
    after_the_window_a_new_conversation_prefers_the_previous_agent,
    a_reopened_conversation_of_a_departed_agent_is_routed,
    without_rules_the_default_group_assigns_and_new_agents_join_it,
    a_reply_takes_an_unassigned_conversation,
    resolving_tells_the_visitor,
    snoozed_conversations_wake_by_themselves_or_when_the_customer_writes,
    the_inbox_list_filters_sorts_and_counts,
);

/// The inbox list: filters combine (status, inbox, group, agent, label,
/// priority), every order pages through the same rows by its own key, and
/// the tab counts match.
async fn the_inbox_list_filters_sorts_and_counts(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a").await;
    let (s, g) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "billing", "members": [a]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    // Five visitors, one after the other (so creation and waiting orders are known).
    let mut convs = Vec::new();
    for i in 0..5 {
        let (vt, _) = app.visitor(&owner.inbox).await;
        convs.push(conv_of(
            &app.visitor_send(&vt, &format!("m{i}"), &format!("q{i}"))
                .await,
        ));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // c0: urgent, tagged vip, in billing's line then taken by A; c1: answered by the owner (nobody waits);
    // c2: high; c3 and c4: untouched.
    let label = |id: &str, body: Value| {
        let path = format!("/api/v1/conversations/{id}");
        let app = &app;
        let token = owner.token.clone();
        async move {
            let (s, v) = app.patch(&token, &path, body).await;
            assert_eq!(s, 200, "{v}");
        }
    };
    label(
        &convs[0],
        json!({"priority": "urgent", "add_tags": ["vip"]}),
    )
    .await;
    label(
        &convs[2],
        json!({"priority": "high", "add_tags": ["vip_2"]}),
    )
    .await;
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{}/transfer", convs[0]),
            json!({"to_group": "billing"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_a_ws, _) = app.ws(&a_token).await;
    app.state.routing_idle().await;
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{}/messages", convs[1]),
            json!({"client_msg_id": "r1", "content": "answer"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let list = |q: &str| {
        let path = format!("/api/v1/conversations?{q}");
        let app = &app;
        let token = owner.token.clone();
        async move {
            let (s, v) = app.get(&token, &path).await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    // Filters.
    assert_eq!(
        ids(&list("label=vip").await),
        vec![convs[0].clone()],
        "vip, not vip_2"
    );
    assert_eq!(ids(&list("priority=high").await), vec![convs[2].clone()]);
    assert_eq!(ids(&list("group=billing").await), vec![convs[0].clone()]);
    assert_eq!(
        ids(&list(&format!("assignee={a}&label=vip&priority=urgent")).await),
        vec![convs[0].clone()]
    );
    assert!(ids(&list(&format!("assignee={a}&priority=high")).await).is_empty());
    // Orders: longest waiting first (c1 was answered: last); newest first; most urgent first.
    let waiting = ids(&list("sort=waiting").await);
    assert_eq!(
        waiting,
        vec![
            convs[0].clone(),
            convs[2].clone(),
            convs[3].clone(),
            convs[4].clone(),
            convs[1].clone()
        ]
    );
    let created = ids(&list("sort=created").await);
    assert_eq!(created, convs.iter().rev().cloned().collect::<Vec<_>>());
    let by_priority = ids(&list("sort=priority").await);
    assert_eq!(&by_priority[..2], &[convs[0].clone(), convs[2].clone()]);
    // Each order pages through the same rows, two at a time, by its own cursor.
    for sort in ["activity", "created", "priority", "waiting"] {
        let whole = ids(&list(&format!("sort={sort}")).await);
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("sort={sort}&limit=2&cursor={c}"),
                None => format!("sort={sort}&limit=2"),
            };
            let page = list(&q).await;
            paged.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(paged, whole, "{sort}");
    }
    // The tabs' counts, with the filters.
    let (s, n) = app.get(&a_token, "/api/v1/conversations/counts").await;
    assert_eq!(s, 200, "{n}");
    assert_eq!(n, json!({"mine": 1, "unassigned": 3, "all": 5}));
    let (_, n) = app
        .get(&a_token, "/api/v1/conversations/counts?label=vip_2")
        .await;
    assert_eq!(n, json!({"mine": 0, "unassigned": 1, "all": 1}));
    // Bad input is refused with a reason.
    let (s, e) = app
        .get(&owner.token, "/api/v1/conversations?sort=loudest")
        .await;
    assert_eq!(s, 400, "{e}");
}
