//! Macros and personal canned replies over the real server: a macro that
//! replies with variables, labels, sets the priority, assigns and resolves
//! (each step seen in the API, the event log and the visitor's messages); a
//! run that stops at a failing action; who sees and changes what.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};

async fn agent(app: &TestApp, owner: &Tenant, name: &str) -> (String, String) {
    let email = format!("{name}-{}@example.com", kefu_store::new_id());
    app.agent(owner, &email, 5).await
}

/// A visitor named 韩梅梅 with one message; returns (visitor token, conversation id).
async fn named_visitor(app: &TestApp, owner: &Tenant) -> (String, String) {
    let (vt, contact) = app.visitor(&owner.inbox).await;
    let sent = app.visitor_send(&vt, "m1", "我要退款").await;
    let (s, c) = app
        .patch(
            &owner.token,
            &format!("/api/v1/contacts/{contact}"),
            json!({"name": "韩梅梅", "email": "han@example.com"}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let conv = sent["message"]["conversation_id"].as_str().unwrap();
    (vt, conv.to_string())
}

async fn create_macro(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, m) = app.post(token, "/api/v1/macros", body).await;
    assert_eq!(s, 201, "{m}");
    m
}

async fn run(app: &TestApp, token: &str, conv: &str, m: &str) -> (u16, Value) {
    app.post(
        token,
        &format!("/api/v1/conversations/{conv}/macros/{m}/run"),
        json!({}),
    )
    .await
}

async fn a_macro_does_what_an_agent_would(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "li").await;
    let (vt, conv) = named_visitor(&app, &owner).await;
    let m = create_macro(
        &app,
        &owner.token,
        json!({"name": "Refund", "actions": [
            {"type": "reply", "content": "您好 {{contact.name}}，退款已受理。{{ order.id }}"},
            {"type": "note", "content": "refund for {{contact.email}}"},
            {"type": "add_label", "label": "refund"},
            {"type": "set_priority", "priority": "high"},
            {"type": "assign", "to": "me"},
            {"type": "status", "status": "resolved"}
        ]}),
    )
    .await;
    assert_eq!(m["personal"], false);
    let (mut a_ws, _) = app.ws(&a_token).await;

    let (s, r) = run(&app, &a_token, &conv, m["id"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["completed"], true, "{r}");
    let states: Vec<&str> = r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["done"; 6]);
    assert_eq!(r["outcomes"][4]["type"], "assign");
    let c = &r["conversation"];
    assert_eq!(c["status"], "resolved");
    assert_eq!(c["assignee_id"], a.as_str());
    assert_eq!(c["priority"], "high");
    assert_eq!(c["tags"], json!(["refund"]));

    // The agent's console hears the reply like any other.
    a_ws.expect_message("您好 韩梅梅，退款已受理。{{ order.id }}")
        .await;
    // The visitor sees the reply with the variable filled in (an unknown one
    // stays as typed), from the agent who ran it, and never the note.
    let (s, msgs) = app
        .get(&vt, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert_eq!(s, 200, "{msgs}");
    let reply = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["sender"]["kind"] == "agent")
        .expect("the reply");
    assert_eq!(reply["content"], "您好 韩梅梅，退款已受理。{{ order.id }}");
    assert_eq!(reply["sender"]["id"], a.as_str());
    assert!(!msgs.to_string().contains("refund for"), "{msgs}");
    let (_, all) = app
        .get(&a_token, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert!(
        all.to_string().contains("refund for han@example.com"),
        "{all}"
    );

    // Every step is in the audit trail, by the agent who ran the macro.
    let (s, ev) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/events"),
        )
        .await;
    assert_eq!(s, 200, "{ev}");
    let by_a: Vec<&str> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_id"] == a.as_str())
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "conversation_labels_changed",
        "conversation_priority_changed",
        "conversation_assigned",
        "conversation_status_changed",
    ] {
        assert!(by_a.contains(&kind), "{kind} in {by_a:?}");
    }
}

async fn a_failing_action_stops_the_run(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (b, _) = agent(&app, &owner, "gone").await;
    let (_, conv) = named_visitor(&app, &owner).await;
    let m = create_macro(
        &app,
        &owner.token,
        json!({"name": "To B", "actions": [
            {"type": "add_label", "label": "escalated"},
            {"type": "assign", "to": b},
            {"type": "set_priority", "priority": "urgent"}
        ]}),
    )
    .await;
    let (s, u) = app
        .patch(
            &owner.token,
            &format!("/api/v1/users/{b}"),
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let (s, r) = run(&app, &owner.token, &conv, m["id"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["completed"], false);
    let o = r["outcomes"].as_array().unwrap();
    assert_eq!(o[0]["state"], "done");
    assert_eq!(o[1]["state"], "failed");
    assert_eq!(o[1]["error"]["code"], "validation", "{r}");
    assert_eq!(o[2]["state"], "skipped");
    // The label before it stays; nothing after it happened.
    let c = &r["conversation"];
    assert_eq!(c["tags"], json!(["escalated"]));
    assert_eq!(c["priority"], "normal");
    assert!(c["assignee_id"].is_null());

    // A macro that cannot mean anything is refused when saved, naming the action.
    let (s, e) = app
        .post(
            &owner.token,
            "/api/v1/macros",
            json!({"name": "Bad", "actions": [{"type": "unassign"}, {"type": "snooze", "for_secs": 1}]}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("actions[1] (snooze)"),
        "{e}"
    );
    let (s, _) = app
        .post(
            &owner.token,
            "/api/v1/macros",
            json!({"name": "Bad", "actions": [{"type": "explode"}]}),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .post(
            &owner.token,
            "/api/v1/macros",
            json!({"name": "To B", "actions": [{"type": "unassign"}]}),
        )
        .await;
    assert_eq!(s, 409, "a shared macro of that name exists");
}

async fn who_sees_and_changes_macros(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let other = app.tenant(Role::Owner).await;
    let (_, a_token) = agent(&app, &owner, "a").await;
    let (_, b_token) = agent(&app, &owner, "b").await;
    let (_, conv) = named_visitor(&app, &owner).await;
    let shared = create_macro(
        &app,
        &owner.token,
        json!({"name": "Shared", "actions": [{"type": "add_label", "label": "s"}]}),
    )
    .await;
    let mine = create_macro(
        &app,
        &a_token,
        json!({"name": "Mine", "personal": true, "actions": [{"type": "add_label", "label": "m"}]}),
    )
    .await;
    assert_eq!(mine["personal"], true);
    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    let (_, list) = app.get(&a_token, "/api/v1/macros").await;
    assert_eq!(names(&list), ["Mine", "Shared"]);
    let (_, list) = app.get(&b_token, "/api/v1/macros").await;
    assert_eq!(names(&list), ["Shared"]);
    // Another agent's personal macro does not exist for B, nor for admins.
    let mine_path = format!("/api/v1/macros/{}", mine["id"].as_str().unwrap());
    for token in [&b_token, &owner.token] {
        assert_eq!(app.get(token, &mine_path).await.0, 404);
        assert_eq!(
            app.patch(token, &mine_path, json!({"name": "x"})).await.0,
            404
        );
        assert_eq!(app.delete(token, &mine_path).await.0, 404);
        let (s, _) = run(&app, token, &conv, mine["id"].as_str().unwrap()).await;
        assert_eq!(s, 404);
    }
    // Agents cannot create or change shared ones; they run them.
    let (s, e) = app
        .post(
            &b_token,
            "/api/v1/macros",
            json!({"name": "Mine too", "actions": [{"type": "unassign"}]}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden")));
    let shared_path = format!("/api/v1/macros/{}", shared["id"].as_str().unwrap());
    assert_eq!(
        app.patch(&b_token, &shared_path, json!({"name": "x"}))
            .await
            .0,
        403
    );
    assert_eq!(app.delete(&b_token, &shared_path).await.0, 403);
    let (s, r) = run(&app, &b_token, &conv, shared["id"].as_str().unwrap()).await;
    assert_eq!((s, &r["completed"]), (200, &json!(true)), "{r}");
    // The owner of a personal macro changes and runs it.
    let (s, r) = app
        .patch(
            &a_token,
            &mine_path,
            json!({"actions": [{"type": "add_label", "label": "mine"}]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = run(&app, &a_token, &conv, mine["id"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{r}");
    let mut tags: Vec<String> = serde_json::from_value(r["conversation"]["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["mine", "s"]);
    // Another workspace sees neither the macros nor the conversation.
    assert_eq!(app.get(&other.token, &shared_path).await.0, 404);
    let (s, _) = run(&app, &other.token, &conv, shared["id"].as_str().unwrap()).await;
    assert_eq!(s, 404);
    let (_, list) = app.get(&other.token, "/api/v1/macros").await;
    assert_eq!(names(&list), Vec::<String>::new());
    // API keys: shared macros only.
    let (s, k) = app
        .post(
            &owner.token,
            "/api/v1/api-keys",
            json!({"name": "bot", "scopes": ["admin", "settings:read", "conversations:write"]}),
        )
        .await;
    assert_eq!(s, 201, "{k}");
    let key = k["key"].as_str().unwrap();
    let (_, list) = app.get(key, "/api/v1/macros").await;
    assert_eq!(names(&list), ["Shared"]);
    let (s, _) = app
        .post(
            key,
            "/api/v1/macros",
            json!({"name": "K", "personal": true, "actions": [{"type": "unassign"}]}),
        )
        .await;
    assert_eq!(s, 422);
    let reply = create_macro(
        &app,
        key,
        json!({"name": "Hello", "actions": [{"type": "reply", "content": "Hi"}]}),
    )
    .await;
    // A reply needs the scope a reply by hand needs.
    let (s, e) = run(&app, key, &conv, reply["id"].as_str().unwrap()).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("missing_scope"))
    );
    assert_eq!(app.delete(&owner.token, &shared_path).await.0, 204);
}

async fn personal_canned_replies(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a").await;
    let (_, b_token) = agent(&app, &owner, "b").await;
    let (s, shared) = app
        .post(
            &owner.token,
            "/api/v1/canned-replies",
            json!({"shortcut": "hi", "content": "Hello"}),
        )
        .await;
    assert_eq!(s, 201, "{shared}");
    assert_eq!(shared["personal"], false);
    // A personal reply may reuse a shared shortcut; not twice for one agent.
    let (s, mine) = app
        .post(
            &a_token,
            "/api/v1/canned-replies",
            json!({"shortcut": "hi", "content": "Hi {{contact.name}}", "personal": true}),
        )
        .await;
    assert_eq!(s, 201, "{mine}");
    assert_eq!(
        (&mine["personal"], &mine["owner_id"]),
        (&json!(true), &json!(a))
    );
    let (s, _) = app
        .post(
            &a_token,
            "/api/v1/canned-replies",
            json!({"shortcut": "hi", "content": "again", "personal": true}),
        )
        .await;
    assert_eq!(s, 409);
    let (_, list) = app.get(&a_token, "/api/v1/canned-replies").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (_, list) = app.get(&b_token, "/api/v1/canned-replies").await;
    assert_eq!(list["items"], json!([shared]));
    let mine_path = format!("/api/v1/canned-replies/{}", mine["id"].as_str().unwrap());
    let shared_path = format!("/api/v1/canned-replies/{}", shared["id"].as_str().unwrap());
    for token in [&b_token, &owner.token] {
        assert_eq!(
            app.patch(token, &mine_path, json!({"content": "x"}))
                .await
                .0,
            404
        );
        assert_eq!(app.delete(token, &mine_path).await.0, 404);
    }
    assert_eq!(
        app.patch(&a_token, &shared_path, json!({"content": "x"}))
            .await
            .0,
        403
    );
    let (s, r) = app
        .patch(
            &a_token,
            &mine_path,
            json!({"content": "Hey {{contact.name}}"}),
        )
        .await;
    assert_eq!(
        (s, r["content"].as_str()),
        (200, Some("Hey {{contact.name}}"))
    );
    assert_eq!(app.delete(&a_token, &mine_path).await.0, 204);
    assert_eq!(app.delete(&a_token, &shared_path).await.0, 403);
    assert_eq!(app.delete(&owner.token, &shared_path).await.0, 204);
}

both_backends!(
    a_macro_does_what_an_agent_would,
    a_failing_action_stops_the_run,
    who_sees_and_changes_macros,
    personal_canned_replies,
);

/// Every macro endpoint is in the OpenAPI document (which
/// scripts/check-openapi.sh validates).
#[test]
fn every_macro_endpoint_is_documented() {
    let doc = serde_json::to_value(kefu_server::openapi()).unwrap();
    for (path, methods) in [
        ("/api/v1/macros", &["get", "post"][..]),
        ("/api/v1/macros/{id}", &["get", "patch", "delete"]),
        (
            "/api/v1/conversations/{id}/macros/{macro_id}/run",
            &["post"],
        ),
        ("/api/v1/canned-replies", &["get", "post"]),
        ("/api/v1/canned-replies/{id}", &["patch", "delete"]),
    ] {
        for m in methods {
            assert!(
                doc["paths"][path].get(*m).is_some(),
                "{m} {path} documented"
            );
        }
    }
    let action = &doc["components"]["schemas"]["MacroAction"]["oneOf"];
    assert_eq!(action.as_array().map(Vec::len), Some(9), "{action}");
}
