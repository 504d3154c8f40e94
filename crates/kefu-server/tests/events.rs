//! The events backbone over the real server: every command stores exactly
//! its typed events (in the outbox, in order) and publishes them; a command
//! whose caller goes away right after the commit still reaches every
//! connected participant; shutdown waits for the routing it asked for.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The outbox since `from` as `(type, data)` pairs, in order; moves `from`.
async fn stored(app: &TestApp, from: &mut i64) -> Vec<(String, Value)> {
    app.state.routing_idle().await;
    let rows = app.store.outbox_after(*from, 1000).await.unwrap();
    if let Some(last) = rows.last() {
        *from = last.position;
    }
    rows.iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.payload).unwrap();
            assert_eq!(v["id"], r.event.id.as_str(), "the payload is the event");
            (v["type"].as_str().unwrap().to_string(), v["data"].clone())
        })
        .collect()
}

fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(t, _)| t.as_str()).collect()
}

/// An agent with a unique e-mail (`name` is its first part).
async fn agent(app: &TestApp, owner: &Tenant, name: &str, capacity: i64) -> (String, String) {
    let email = format!("{name}-{}@example.com", kefu_store::new_id());
    app.agent(owner, &email, capacity).await
}

async fn group(app: &TestApp, owner: &Tenant, body: Value) {
    let (s, g) = app.post(&owner.token, "/api/v1/groups", body).await;
    assert_eq!(s, 201, "{g}");
}

async fn every_command_stores_and_publishes_its_events(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a", 5).await;
    let (b, b_token) = agent(&app, &owner, "b", 5).await;
    group(&app, &owner, json!({"name": "sales", "members": [a]})).await;
    group(
        &app,
        &owner,
        json!({"name": "grab", "members": [b], "strategy": "grab"}),
    )
    .await;
    group(
        &app,
        &owner,
        json!({"name": "night", "members": [a], "business_hours": {"periods": []}}),
    )
    .await;
    let rules = r#"rule "night" when conversation.first_message contains "night" then route_to("night") end"#;
    let (s, r) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": rules}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // Agents are offline until they connect: A and B connect (and watch frames).
    let (mut a_ws, _) = app.ws(&a_token).await;
    let (_b_ws, _) = app.ws(&b_token).await;
    let mut pos = app.store.outbox_head().await.unwrap();

    // A visitor arrives: contact_created.
    let (vt, contact) = app.visitor(&owner.inbox).await;
    let ev = stored(&app, &mut pos).await;
    assert_eq!(types(&ev), ["contact_created"]);
    assert_eq!(ev[0].1["contact"]["id"], contact.as_str());

    // Their first message opens a conversation; nothing routes it (no rule matches).
    let (mut vws, _) = app.ws(&vt).await;
    let conv = vws.send_text(None, "m1", "hello").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ev = stored(&app, &mut pos).await;
    assert_eq!(types(&ev), ["conversation_created", "message_created"]);
    assert_eq!(ev[0].1, json!({"inbox_id": owner.inbox.id}));
    assert_eq!(ev[1].1["message"]["content"], "hello");
    // Published: the conversation first, then what was said in it.
    assert_eq!(
        a_ws.expect("conversation").await["conversation_id"],
        conv.as_str()
    );
    assert_eq!(a_ws.expect("message").await["message"]["content"], "hello");

    let path = |p: &str| format!("/api/v1/conversations/{conv}{p}");
    // Assign.
    let (s, _) = app
        .post(&owner.token, &path("/assign"), json!({"assignee_id": a}))
        .await;
    assert_eq!(s, 200);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        ev,
        [(
            "conversation_assigned".into(),
            json!({"from": null, "to": a, "group": null, "by": "manual"})
        )]
    );
    assert_eq!(a_ws.expect("conversation").await["assignee_id"], a.as_str());

    // Labels: priority and tags are two events, agents only.
    let (s, _) = app
        .patch(
            &owner.token,
            &path(""),
            json!({"priority": "high", "add_tags": ["vip"]}),
        )
        .await;
    assert_eq!(s, 200);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        ev,
        [
            (
                "conversation_priority_changed".into(),
                json!({"from": "normal", "to": "high"})
            ),
            (
                "conversation_labels_changed".into(),
                json!({"added": ["vip"], "removed": []})
            ),
        ]
    );

    // An agent's reply.
    let (s, _) = app
        .post(
            &a_token,
            &path("/messages"),
            json!({"content": "hi, how can I help?"}),
        )
        .await;
    assert_eq!(s, 201);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(types(&ev), ["message_created"]);
    assert_eq!(ev[0].1["message"]["sender"]["kind"], "agent");

    // Transfer to an agent: transferred, assigned, then the note (a private message).
    let (s, _) = app
        .post(
            &a_token,
            &path("/transfer"),
            json!({"to_agent_id": b, "note": "VIP"}),
        )
        .await;
    assert_eq!(s, 200);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        types(&ev),
        [
            "conversation_transferred",
            "conversation_assigned",
            "message_created"
        ]
    );
    assert_eq!(
        ev[0].1,
        json!({"from_agent": a, "to_agent": b, "from_group": null, "to_group": null, "reason": "manual", "note": "VIP"})
    );
    assert_eq!(ev[2].1["message"]["kind"], "note");

    // Transfer to a group: out of B's hands into the line; routing gives it to A.
    let (s, t) = app
        .post(&b_token, &path("/transfer"), json!({"to_group": "sales"}))
        .await;
    assert_eq!(
        (s, t["assignee_id"].as_str()),
        (200, Some(a.as_str())),
        "{t}"
    );
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        types(&ev[..4]),
        [
            "conversation_transferred",
            "conversation_unassigned",
            "conversation_status_changed",
            "conversation_queued"
        ]
    );
    assert_eq!(ev[2].1, json!({"from": "open", "to": "queued"}));
    let mut rest: Vec<&str> = types(&ev[4..]);
    rest.sort();
    assert_eq!(
        rest,
        [
            "conversation_assigned",
            "conversation_status_changed",
            "message_created"
        ],
        "{ev:?}"
    );
    let routed = ev
        .iter()
        .find(|(t, _)| t == "conversation_assigned")
        .unwrap();
    assert_eq!(
        routed.1,
        json!({"from": null, "to": a, "group": "sales", "by": "routing"})
    );

    // Resolve, then the visitor writes again: reopened, then the message.
    let (s, _) = app
        .post(&a_token, &path("/status"), json!({"status": "resolved"}))
        .await;
    assert_eq!(s, 200);
    let ev = stored(&app, &mut pos).await;
    // The status, then the inbox's closing message to the visitor.
    assert_eq!(
        types(&ev),
        ["conversation_status_changed", "message_created"]
    );
    assert_eq!(ev[0].1, json!({"from": "open", "to": "resolved"}));
    assert_eq!(ev[1].1["message"]["sender"]["id"], "closing");
    vws.send_text(Some(&conv), "m2", "one more thing").await;
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        types(&ev),
        ["conversation_status_changed", "message_created"]
    );
    assert_eq!(ev[0].1, json!({"from": "resolved", "to": "open"}));

    // Unassign.
    let (s, _) = app
        .post(&owner.token, &path("/assign"), json!({"assignee_id": null}))
        .await;
    assert_eq!(s, 200);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(ev, [("conversation_unassigned".into(), json!({"from": a}))]);

    // Grab mode: into the line (nobody assigned), then B claims it.
    let (s, t) = app
        .post(
            &owner.token,
            &path("/transfer"),
            json!({"to_group": "grab"}),
        )
        .await;
    assert_eq!((s, t["status"].as_str()), (200, Some("queued")), "{t}");
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        types(&ev),
        [
            "conversation_transferred",
            "conversation_status_changed",
            "conversation_queued",
            "message_created"
        ]
    );
    let (s, _) = app.post(&b_token, &path("/claim"), json!({})).await;
    assert_eq!(s, 200);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        ev,
        [
            (
                "conversation_status_changed".into(),
                json!({"from": "queued", "to": "open"})
            ),
            (
                "conversation_assigned".into(),
                json!({"from": null, "to": b, "group": "grab", "by": "claim"})
            ),
        ]
    );

    // The visitor tells their name: contact_updated.
    let (s, _) = app
        .post(&vt, "/api/v1/widget/identify", json!({"name": "Li Lei"}))
        .await;
    assert_eq!(s, 200);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        types(&ev),
        ["contact_created", "contact_updated"][1..].to_vec()
    );
    assert_eq!(ev[0].1["contact"]["name"], "Li Lei");

    // Routing to a group outside its hours: offline follow-up and the notice (an auto-reply).
    let (vt2, _) = app.visitor(&owner.inbox).await;
    let (s, _) = app
        .post(
            &vt2,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "n1", "content": "night owl"}),
        )
        .await;
    assert_eq!(s, 201);
    let ev = stored(&app, &mut pos).await;
    assert_eq!(
        types(&ev),
        [
            "contact_created",
            "conversation_created",
            "message_created",
            "conversation_labels_changed",
            "conversation_offline",
            "message_created"
        ]
    );
    assert_eq!(ev[4].1, json!({"reason": "closed", "group": "night"}));
    assert_eq!(
        ev[5].1["message"]["sender"],
        json!({"kind": "system", "id": "routing"})
    );
    app.stop().await;
}

/// Clients that go away right after sending: HTTP requests whose socket is
/// closed as soon as the request is written, and WebSockets dropped right
/// after their send frames. Every message the store kept must still reach
/// every connected participant live.
async fn cancelled_senders_still_deliver(db: Db) {
    let app = spawn_with(db, |c| {
        c.limits.widget_sessions_per_minute = 1000;
        c.limits.visitor_messages_per_minute = 10_000;
    })
    .await;
    let owner = app.tenant(Role::Owner).await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let (mut visitor, _) = app.ws(&vt).await;
    let conv = visitor.send_text(None, "open", "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut watcher, _) = app.ws(&owner.token).await;
    // HTTP: write the whole request, then close the socket after 0 to 295 ms,
    // all at once so that commits queue and many closes land between a
    // commit and its answer.
    let closes = (0..60).map(|i| {
        let body = json!({"content": format!("http {i}"), "client_msg_id": format!("h{i}")}).to_string();
        let req = format!(
            "POST /api/v1/conversations/{conv}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            owner.token,
            body.len()
        );
        let addr = app.addr;
        async move {
            let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
            sock.write_all(req.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(i * 5)).await;
            drop(sock);
        }
    });
    futures::future::join_all(closes).await;
    // WebSocket: send frames and drop the connection without waiting.
    for i in 0..10 {
        let (mut ws, _) = app.ws(&owner.token).await;
        for j in 0..3 {
            ws.send(json!({"type": "send", "conversation_id": conv, "client_msg_id": format!("w{i}-{j}"), "content": format!("ws {i}-{j}")}))
                .await;
        }
        drop(ws);
    }
    // Whatever was stored reached both sides live. Frames are read until the
    // line has been quiet for a while (justified: the absence of more frames
    // is what is waited for), then compared with what the store kept.
    let mut seen: [Vec<String>; 2] = Default::default();
    for (ws, seen) in [&mut visitor, &mut watcher]
        .into_iter()
        .zip(seen.iter_mut())
    {
        while let Some(f) = ws.next_frame(Duration::from_millis(1500)).await {
            if f["type"] == "message" && f["message"]["content"] != "hi" {
                seen.push(f["message"]["content"].as_str().unwrap().to_string());
            }
        }
    }
    let (_, msgs) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages?after_seq=1&limit=200"),
        )
        .await;
    let mut stored: Vec<String> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    let http = stored.iter().filter(|s| s.starts_with("http")).count();
    eprintln!(
        "stored: {http} of 60 cancelled HTTP sends, {} WebSocket sends",
        stored.len() - http
    );
    assert!(
        http > 0 && http < 60,
        "some HTTP sends were cut before their commit, some after: {stored:?}"
    );
    stored.sort();
    for (who, mut s) in ["visitor", "agent"].into_iter().zip(seen) {
        s.sort();
        assert_eq!(
            s, stored,
            "every stored message reaches the {who} live, once"
        );
    }
    app.stop().await;
}

/// Conversations opened just before shutdown are all routed: shutdown waits
/// for the routing worker before the store closes.
async fn shutdown_waits_for_routing(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = agent(&app, &owner, "a", 1000).await;
    group(&app, &owner, json!({"name": "all", "members": [a]})).await;
    let (s, r) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": r#"rule "all" when true then route_to("all") end"#}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (_a_ws, _) = app.ws(&a_token).await;
    let mut visitors = Vec::new();
    for _ in 0..40 {
        visitors.push(app.visitor(&owner.inbox).await.0);
    }
    let sends = visitors.iter().enumerate().map(|(i, vt)| {
        let app = &app;
        async move {
            let (s, r) = app
                .post(
                    vt,
                    "/api/v1/widget/messages",
                    json!({"client_msg_id": "x", "content": format!("q{i}")}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            r["message"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    });
    let convs = futures::future::join_all(sends).await;
    // No waiting for routing: shut down at once.
    let ws_id = owner.ws.id.clone();
    let (store, _dir) = app.stop_and_reopen().await;
    // Each was routed before the store closed: assigned, or (once the
    // agent's connection closed with the shutdown) waiting in the group's line.
    for c in convs.into_iter().map(kefu_core::ConversationId::from) {
        let conv = store.get_conversation(&ws_id, &c).await.unwrap();
        let kinds: Vec<String> = store
            .list_events(&ws_id, &c, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert!(
            kinds
                .iter()
                .any(|k| k == "conversation_queued" || k == "conversation_assigned"),
            "{conv:?} {kinds:?}"
        );
        assert!(
            conv.assignee_id.as_deref() == Some(a.as_str())
                || conv.status == kefu_core::ConversationStatus::Queued,
            "{conv:?}"
        );
    }
    store.close().await;
}

both_backends!(
    every_command_stores_and_publishes_its_events,
    cancelled_senders_still_deliver,
    shutdown_waits_for_routing,
);
