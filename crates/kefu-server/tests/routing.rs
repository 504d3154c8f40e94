//! Routing over the real server: rules through the API apply to the next
//! conversation without a restart, invalid rules are rejected with
//! line:column and the old ones keep routing, capacity holds under
//! concurrent conversations, and the simulator explains a decision.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::time::Duration;

/// A visitor's first message; returns the conversation id.
async fn visitor_says(app: &TestApp, t: &Tenant, text: &str) -> String {
    let (vt, _) = app.visitor(&t.inbox).await;
    let (s, r) = app
        .post(
            &vt,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "first", "content": text}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    r["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Checks a conversation's assignee once routing has done everything it
/// was asked to so far (the routing worker's own signal, no sleeping).
async fn assignee_eventually(app: &TestApp, token: &str, conv: &str, want: Option<&str>) {
    app.state.routing_idle().await;
    let (_, c) = app
        .get(token, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!(c["assignee_id"].as_str(), want, "conversation {conv}: {c}");
}

async fn rules_route_and_reload_live(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = app.agent(&owner, "a@example.com", 1).await;
    let (b, b_token) = app.agent(&owner, "b@example.com", 5).await;
    // Connected agents are online.
    let (_wa, _) = app.ws(&a_token).await;
    let (_wb, _) = app.ws(&b_token).await;
    for (name, members) in [("billing", vec![a.clone()]), ("general", vec![b.clone()])] {
        let (s, g) = app
            .post(
                &owner.token,
                "/api/v1/groups",
                json!({"name": name, "members": members}),
            )
            .await;
        assert_eq!(s, 201, "{g}");
    }
    let (s, e) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "x", "strategy": "random"}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));

    // Invalid rules: 422 with line:column; nothing saved.
    let (s, e) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": "rule \"r\" when page.url > 3 then route_to(\"billing\") end"}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("invalid_rules"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("1:24: `>` compares numbers"),
        "{e}"
    );
    let (_, e) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": "rule \"r\" when true then route_to(\"sales\") end"}),
        )
        .await;
    assert_eq!(e["error"]["message"], "1:25: there is no group \"sales\"");
    assert_eq!(
        app.get(&owner.token, "/api/v1/routing/rules").await.1["version"],
        0
    );
    // Agents may not change rules.
    assert_eq!(
        app.put(&a_token, "/api/v1/routing/rules", json!({"source": ""}))
            .await
            .0,
        403
    );

    let v1 = r#"
rule "refunds" priority 10
when conversation.first_message contains "refund" || conversation.first_message contains "退款"
then route_to("billing"), set_priority("high"), auto_reply("账单组会尽快回复 / billing will answer shortly")
end
rule "rest" when true then route_to("general") end
"#;
    let (s, r) = app
        .put(&owner.token, "/api/v1/routing/rules", json!({"source": v1}))
        .await;
    assert_eq!((s, r["version"].as_i64()), (200, Some(1)), "{r}");
    let c1 = visitor_says(&app, &owner, "I want a REFUND").await;
    assignee_eventually(&app, &owner.token, &c1, Some(&a)).await;
    // The rule's automatic reply reached the conversation, from the system.
    let (_, msgs) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/messages?after_seq=0"),
        )
        .await;
    let reply = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["sender"]["kind"] == "system")
        .cloned();
    assert_eq!(
        reply.map(|m| m["content"].clone()),
        Some(json!("账单组会尽快回复 / billing will answer shortly")),
        "{msgs}"
    );
    // A is at capacity (1): the next billing conversation waits unassigned.
    let c2 = visitor_says(&app, &owner, "退款!").await;
    assignee_eventually(&app, &owner.token, &c2, None).await;
    let c3 = visitor_says(&app, &owner, "hello").await;
    assignee_eventually(&app, &owner.token, &c3, Some(&b)).await;

    // A bad change is refused and the old rules keep routing.
    let (s, _) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": "rule \"broken\" when then end"}),
        )
        .await;
    assert_eq!(s, 422);
    let c4 = visitor_says(&app, &owner, "hello again").await;
    assignee_eventually(&app, &owner.token, &c4, Some(&b)).await;

    // A new version applies to the very next conversation.
    let v2 = "rule \"all to a\" when true then route_to_agent(\"a@example.com\") end";
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/users/{a}")))
        .bearer_auth(&owner.token)
        .json(&json!({"capacity": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.put(&owner.token, "/api/v1/routing/rules", json!({"source": v2}))
            .await
            .1["version"],
        2
    );
    let c5 = visitor_says(&app, &owner, "hello once more").await;
    assignee_eventually(&app, &owner.token, &c5, Some(&a)).await;
    let (_, events) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c5}/events"))
        .await;
    assert!(
        events.to_string().contains("\"routing\""),
        "the assignment is in the history: {events}"
    );

    // The simulator explains, without saving anything.
    let (s, sim) = app
        .post(&a_token, "/api/v1/routing/simulate", json!({"source": v1, "context": {"conversation": {"first_message": "where is my parcel"}}}))
        .await;
    assert_eq!(s, 200, "{sim}");
    assert_eq!(
        sim["decision"]["route"],
        json!({"kind": "group", "name": "general"})
    );
    assert_eq!(sim["decision"]["trace"][0]["matched"], false);
    assert!(
        sim["decision"]["trace"][0]["why"]
            .as_str()
            .unwrap()
            .contains("conversation.first_message = \"where is my parcel\"")
    );
    assert_eq!(sim["agent_id"], b.as_str());
    assert_eq!(
        app.get(&owner.token, "/api/v1/routing/rules").await.1["version"],
        2
    );
    app.stop().await;
}

/// Many conversations at once for one agent: never more than their capacity.
async fn capacity_holds_under_concurrency(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = app.agent(&owner, "a@example.com", 3).await;
    let (_wa, _) = app.ws(&a_token).await;
    app.post(
        &owner.token,
        "/api/v1/groups",
        json!({"name": "solo", "members": [a.clone()]}),
    )
    .await;
    app.put(
        &owner.token,
        "/api/v1/routing/rules",
        json!({"source": "rule \"r\" when true then route_to(\"solo\") end"}),
    )
    .await;
    let convs: Vec<String> = futures::future::join_all((0..12).map(|i| {
        let (app, owner) = (&app, &owner);
        async move { visitor_says(app, owner, &format!("q{i}")).await }
    }))
    .await;
    app.state.routing_idle().await;
    let (_, page) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations?assignee={a}&limit=50"),
        )
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        3,
        "exactly the capacity: {page}"
    );
    assert_eq!(convs.len(), 12);
    app.stop().await;
}

/// Nobody free: visitors wait in line and see their place live; when the
/// agent resolves a conversation, the head of the line is assigned and the
/// others move up.
async fn queue_positions_live_and_drain(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = app.agent(&owner, "a@example.com", 1).await;
    let (mut wa, _) = app.ws(&a_token).await;
    app.post(
        &owner.token,
        "/api/v1/groups",
        json!({"name": "support", "members": [a.clone()]}),
    )
    .await;
    let rules = "rule \"all\" when true then route_to(\"support\") end";
    assert_eq!(
        app.put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": rules})
        )
        .await
        .0,
        200
    );
    let mut visitors = Vec::new();
    for i in 0..3 {
        let (vt, _) = app.visitor(&owner.inbox).await;
        let (mut ws, _) = app.ws(&vt).await;
        let ack = ws.send_text(None, &format!("v{i}"), "hello").await;
        visitors.push((ws, ack["conversation_id"].as_str().unwrap().to_string()));
        if i == 0 {
            assignee_eventually(&app, &owner.token, &visitors[0].1, Some(&a)).await;
        }
    }
    // The second and third wait, in order of arrival.
    for (i, want) in [(1usize, 1), (2, 2)] {
        let (ws, conv) = &mut visitors[i];
        let q = loop {
            let f = ws.expect("queue").await;
            if f["position"] == want {
                break f;
            }
        };
        assert_eq!(q["conversation_id"], conv.as_str());
    }
    // Agents see the line live too.
    loop {
        let f = wa.expect("group_queue").await;
        if f["group"] == "support" && f["waiting"] == 2 {
            assert_eq!(f["conversation_ids"], json!([visitors[1].1, visitors[2].1]));
            break;
        }
    }
    // Renaming the group keeps its line.
    let (_, groups) = app.get(&owner.token, "/api/v1/groups").await;
    let gid = groups["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .put(
            &owner.token,
            &format!("/api/v1/groups/{gid}"),
            json!({"name": "helpdesk", "members": [a.clone()]}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, q) = app.get(&owner.token, "/api/v1/routing/queues").await;
    assert_eq!(
        q["items"],
        json!([{"group": "helpdesk", "waiting": 2, "conversation_ids": [visitors[1].1, visitors[2].1]}])
    );
    // …and the rules follow it, as a new version.
    let (_, r) = app.get(&owner.token, "/api/v1/routing/rules").await;
    assert_eq!(
        r["source"], "rule \"all\" when true then route_to(\"helpdesk\") end",
        "{r}"
    );
    assert_eq!(r["version"], 2, "{r}");
    // Rules see the line's length too.
    let (_, sim) = app
        .post(&owner.token, "/api/v1/routing/simulate", json!({"source": "rule \"long line\" when group(\"helpdesk\").queue >= 2 then offline() end", "context": {}}))
        .await;
    assert_eq!(sim["decision"]["offline"], true, "{sim}");
    // The agent resolves the first: the second is assigned, the third moves up.
    let c0 = visitors[0].1.clone();
    let (s, _) = app
        .post(
            &a_token,
            &format!("/api/v1/conversations/{c0}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200);
    let c1 = visitors[1].1.clone();
    let f = loop {
        let f = visitors[1].0.expect("conversation").await;
        if f["conversation_id"] == c1.as_str() && !f["assignee_id"].is_null() {
            break f;
        }
    };
    assert_eq!(f["assignee_id"], a.as_str());
    loop {
        let f = visitors[2].0.expect("queue").await;
        if f["position"] == 1 {
            // One resolved conversation and one agent online: an estimate.
            assert!(f["estimated_wait_ms"].is_u64(), "{f}");
            break;
        }
    }
    assignee_eventually(&app, &owner.token, &visitors[2].1, None).await;
    // More capacity lets the last one through.
    let r = app
        .http
        .patch(app.url(&format!("/api/v1/users/{a}")))
        .bearer_auth(&owner.token)
        .json(&json!({"capacity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assignee_eventually(&app, &owner.token, &visitors[2].1, Some(&a)).await;
    app.stop().await;
}

/// Transfer to an agent (capacity respected) or to a group, with a note
/// only agents see, recorded in the history.
async fn transfer_to_agent_and_group(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = app.agent(&owner, "a@example.com", 5).await;
    let (b, b_token) = app.agent(&owner, "b@example.com", 1).await;
    let (c, c_token) = app.agent(&owner, "c@example.com", 5).await;
    let (_wa, _) = app.ws(&a_token).await;
    let (_wb, _) = app.ws(&b_token).await;
    let (_wc, _) = app.ws(&c_token).await;
    app.post(
        &owner.token,
        "/api/v1/groups",
        json!({"name": "first", "members": [a.clone()]}),
    )
    .await;
    app.post(
        &owner.token,
        "/api/v1/groups",
        json!({"name": "vip", "members": [c.clone()]}),
    )
    .await;
    app.put(
        &owner.token,
        "/api/v1/routing/rules",
        json!({"source": "rule \"r\" when true then route_to(\"first\") end"}),
    )
    .await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let (mut vws, _) = app.ws(&vt).await;
    let conv = vws.send_text(None, "m1", "help").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assignee_eventually(&app, &owner.token, &conv, Some(&a)).await;
    let path = format!("/api/v1/conversations/{conv}/transfer");
    let (s, e) = app.post(&a_token, &path, json!({})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    let (s, t) = app
        .post(
            &a_token,
            &path,
            json!({"to_agent_id": b, "note": "VIP, wants a refund"}),
        )
        .await;
    assert_eq!(
        (s, t["assignee_id"].as_str()),
        (200, Some(b.as_str())),
        "{t}"
    );
    // B is now full: another transfer to B is refused.
    let conv2 = visitor_says(&app, &owner, "me too").await;
    assignee_eventually(&app, &owner.token, &conv2, Some(&a)).await;
    let (s, e) = app
        .post(
            &a_token,
            &format!("/api/v1/conversations/{conv2}/transfer"),
            json!({"to_agent_id": b}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("at_capacity")));
    // To a group: its member takes it at once.
    let (s, t) = app
        .post(
            &b_token,
            &path,
            json!({"to_group": "vip", "note": "escalating"}),
        )
        .await;
    assert_eq!(
        (s, t["assignee_id"].as_str()),
        (200, Some(c.as_str())),
        "{t}"
    );
    let (s, _) = app.post(&b_token, &path, json!({"to_group": "nope"})).await;
    assert_eq!(s, 422);
    // History and notes: agents see both notes; the visitor sees neither.
    let (_, events) = app
        .get(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/events"),
        )
        .await;
    assert_eq!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "conversation_transferred")
            .count(),
        2,
        "{events}"
    );
    let (_, msgs) = app
        .get(
            &c_token,
            &format!("/api/v1/conversations/{conv}/messages?after_seq=0"),
        )
        .await;
    assert!(
        msgs.to_string().contains("VIP, wants a refund") && msgs.to_string().contains("escalating")
    );
    let (_, mine) = app
        .get(
            &vt,
            &format!("/api/v1/conversations/{conv}/messages?after_seq=0"),
        )
        .await;
    assert!(!mine.to_string().contains("refund"), "{mine}");
    // Closed conversations are not transferred.
    app.post(
        &c_token,
        &format!("/api/v1/conversations/{conv}/status"),
        json!({"status": "resolved"}),
    )
    .await;
    let (s, e) = app.post(&c_token, &path, json!({"to_agent_id": a})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("conversation_closed"))
    );
    app.stop().await;
}

/// Grab mode (抢单): a new conversation is offered to every eligible member;
/// of several concurrent claims exactly one wins, and the others see it go.
async fn grab_mode_one_winner(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let mut agents = Vec::new();
    for i in 0..4 {
        let (id, token) = app.agent(&owner, &format!("g{i}@example.com"), 3).await;
        let (ws, _) = app.ws(&token).await;
        agents.push((id, token, ws));
    }
    let ids: Vec<String> = agents.iter().map(|a| a.0.clone()).collect();
    let (s, _) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "grabbers", "strategy": "grab", "members": ids}),
        )
        .await;
    assert_eq!(s, 201);
    app.put(
        &owner.token,
        "/api/v1/routing/rules",
        json!({"source": "rule \"r\" when true then route_to(\"grabbers\") end"}),
    )
    .await;
    let conv = visitor_says(&app, &owner, "who wants me?").await;
    // Everyone eligible gets the offer; nobody is assigned yet.
    for (_, _, ws) in agents.iter_mut() {
        let offer = loop {
            let f = ws.expect("offer").await;
            if f["conversation_id"] == conv.as_str() {
                break f;
            }
        };
        assert_eq!(offer["group"], "grabbers");
        assert_eq!(offer["agents"].as_array().unwrap().len(), 4);
    }
    assignee_eventually(&app, &owner.token, &conv, None).await;
    // Four claims at once: one 200, three 409.
    let path = format!("/api/v1/conversations/{conv}/claim");
    let results = futures::future::join_all(
        agents
            .iter()
            .map(|(_, token, _)| app.post(token, &path, json!({}))),
    )
    .await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|(s, _)| *s == 409)
            .all(|(_, e)| e["error"]["code"] == "already_taken")
    );
    let winner = winners[0]["assignee_id"].as_str().unwrap().to_string();
    assignee_eventually(&app, &owner.token, &conv, Some(&winner)).await;
    // The others see it taken.
    for (id, _, ws) in agents.iter_mut().filter(|a| a.0 != winner) {
        let f = loop {
            let f = ws.expect("conversation").await;
            if f["conversation_id"] == conv.as_str() && !f["assignee_id"].is_null() {
                break f;
            }
        };
        assert_eq!(f["assignee_id"], winner.as_str(), "seen by {id}");
    }
    // Visitors cannot claim; non-members cannot either.
    let (vt, _) = app.visitor(&owner.inbox).await;
    assert_eq!(app.post(&vt, &path, json!({})).await.0, 403);
    app.stop().await;
}

/// GitOps: rules from a watched file apply without a restart; an invalid
/// file is ignored and the running rules stay.
async fn rules_file_is_watched(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routing.rules");
    let path = file.to_string_lossy().to_string();
    let app = spawn_with(db, |c| {
        c.limits.widget_sessions_per_minute = 1000;
        c.routing.rules_file = path.clone();
        c.routing.rules_workspace = "GitOps".into();
        c.routing.rules_poll_ms = 100;
    })
    .await;
    let owner = app.tenant(Role::Owner).await;
    let r = app
        .http
        .patch(app.url("/api/v1/workspace"))
        .bearer_auth(&owner.token)
        .json(&json!({"name": "GitOps"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (a, a_token) = app.agent(&owner, "a@example.com", 5).await;
    let (b, b_token) = app.agent(&owner, "b@example.com", 5).await;
    let (_wa, _) = app.ws(&a_token).await;
    let (_wb, _) = app.ws(&b_token).await;
    app.post(
        &owner.token,
        "/api/v1/groups",
        json!({"name": "support", "members": [a.clone()]}),
    )
    .await;
    let version = |want: i64| {
        let (app, token) = (&app, owner.token.clone());
        async move {
            // The watcher's own signal: it looked at the file after the write.
            app.state.routing.rules_file_checked().await;
            assert_eq!(
                app.get(&token, "/api/v1/routing/rules").await.1["version"],
                want
            );
        }
    };
    std::fs::write(
        &file,
        "rule \"from git\" when true then route_to(\"support\") end\n",
    )
    .unwrap();
    version(1).await;
    let c1 = visitor_says(&app, &owner, "hi").await;
    assignee_eventually(&app, &owner.token, &c1, Some(&a)).await;
    // A broken edit is ignored; the rules in force keep routing.
    std::fs::write(&file, "rule \"broken\" when then end\n").unwrap();
    app.state.routing.rules_file_checked().await;
    assert_eq!(
        app.get(&owner.token, "/api/v1/routing/rules").await.1["version"],
        1
    );
    let c2 = visitor_says(&app, &owner, "hi again").await;
    assignee_eventually(&app, &owner.token, &c2, Some(&a)).await;
    // The next good edit applies to the next conversation.
    std::fs::write(
        &file,
        "rule \"to b\" when true then route_to_agent(\"b@example.com\") end\n",
    )
    .unwrap();
    version(2).await;
    let c3 = visitor_says(&app, &owner, "and again").await;
    assignee_eventually(&app, &owner.token, &c3, Some(&b)).await;
    app.stop().await;
}

/// A conversation that waits longer than its group allows moves to the
/// fallback group, or, without one, leaves the line and the visitor is told.
async fn queue_timeout_fallbacks(db: Db) {
    let app = spawn_with(db, |c| {
        c.limits.widget_sessions_per_minute = 1000;
        c.routing.queue_check_ms = 100;
    })
    .await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = app.agent(&owner, "a@example.com", 0).await; // never free
    let (b, b_token) = app.agent(&owner, "b@example.com", 5).await;
    let (_wa, _) = app.ws(&a_token).await;
    let (_wb, _) = app.ws(&b_token).await;
    let (s, _) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "backup", "members": [b.clone()]}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = app.post(&owner.token, "/api/v1/groups", json!({"name": "busy", "members": [a.clone()], "queue_timeout_secs": 1, "timeout_to_group": "nope"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    let (s, g) = app.post(&owner.token, "/api/v1/groups", json!({"name": "busy", "members": [a.clone()], "queue_timeout_secs": 1, "timeout_to_group": "backup"})).await;
    assert_eq!((s, g["queue_timeout_secs"].as_i64()), (201, Some(1)), "{g}");
    let (s, _) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "alone", "members": [a.clone()], "queue_timeout_secs": 1}),
        )
        .await;
    assert_eq!(s, 201);
    let rules = r#"rule "alone" priority 1 when conversation.first_message contains "alone" then route_to("alone") end
                   rule "busy" when true then route_to("busy") end"#;
    assert_eq!(
        app.put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": rules})
        )
        .await
        .0,
        200
    );
    // Waits in "busy" (A has no room), then falls back to "backup" → B.
    let c1 = visitor_says(&app, &owner, "help").await;
    assignee_eventually(&app, &owner.token, &c1, None).await;
    // Justified: the queue timeout (1 s) is what is under test; time must pass.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assignee_eventually(&app, &owner.token, &c1, Some(&b)).await;
    let (_, events) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c1}/events"))
        .await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "conversation_transferred"
                && e["data"]["reason"] == "queue_timeout"
                && e["data"]["to_group"] == "backup"),
        "{events}"
    );
    // No fallback group: it leaves the line and the visitor is told.
    let (vt, _) = app.visitor(&owner.inbox).await;
    let (mut vws, _) = app.ws(&vt).await;
    let c2 = vws.send_text(None, "m1", "alone here").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let told = loop {
        let f = vws.expect("message").await;
        if f["message"]["sender"]["kind"] == "system" {
            break f;
        }
    };
    assert!(
        told["message"]["content"]
            .as_str()
            .unwrap()
            .contains("busy")
    );
    let (_, q) = app.get(&owner.token, "/api/v1/routing/queues").await;
    assert!(
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["waiting"] == 0),
        "{q}"
    );
    assignee_eventually(&app, &owner.token, &c2, None).await;
    // A fallback group outside its business hours is no fallback.
    let (_, groups) = app.get(&owner.token, "/api/v1/groups").await;
    let backup = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "backup")
        .unwrap();
    let (s, r) = app
        .put(
            &owner.token,
            &format!("/api/v1/groups/{}", backup["id"].as_str().unwrap()),
            json!({"name": "backup", "members": [b.clone()], "business_hours": {"periods": []}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let c3 = visitor_says(&app, &owner, "help again").await;
    let mut last = Value::Null;
    // Justified: waits for the queue timeout (time passing is under test).
    for _ in 0..60 {
        let (_, c) = app
            .get(&owner.token, &format!("/api/v1/conversations/{c3}"))
            .await;
        last = c.clone();
        if c["tags"] == json!(["offline"]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (
            last["status"].as_str(),
            last["assignee_id"].clone(),
            last["tags"].clone()
        ),
        (Some("open"), Value::Null, json!(["offline"])),
        "{last}"
    );
    app.stop().await;
}

/// A returning visitor goes back to their previous agent when that agent
/// can take them, even when least-loaded would pick someone else.
async fn returning_visitor_is_sticky(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = app.agent(&owner, "a@example.com", 5).await;
    let (b, b_token) = app.agent(&owner, "b@example.com", 5).await;
    let (_wa, _) = app.ws(&a_token).await;
    let (_wb, _) = app.ws(&b_token).await;
    app.post(
        &owner.token,
        "/api/v1/groups",
        json!({"name": "team", "members": [a.clone(), b.clone()]}),
    )
    .await;
    // No reopen window: coming back after a resolve is a new conversation
    // (within the window it is the same one: tests/lifecycle.rs).
    let (s, _) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({"reopen_window_secs": 0}),
        )
        .await;
    assert_eq!(s, 200);
    app.put(
        &owner.token,
        "/api/v1/routing/rules",
        json!({"source": "rule \"r\" when true then route_to(\"team\") end"}),
    )
    .await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let send = |cmid: &'static str| {
        let (app, vt) = (&app, vt.clone());
        async move {
            let (s, r) = app
                .post(
                    &vt,
                    "/api/v1/widget/messages",
                    json!({"client_msg_id": cmid, "content": "hi"}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            r["message"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let c1 = send("first").await;
    app.state.routing_idle().await;
    let first = app
        .get(&owner.token, &format!("/api/v1/conversations/{c1}"))
        .await
        .1["assignee_id"]
        .as_str()
        .expect("routed")
        .to_string();
    let other = if first == a { b.clone() } else { a.clone() };
    // Load the first agent more than the other, then close the visitor's conversation.
    for i in 0..2 {
        let c = visitor_says(&app, &owner, &format!("load {i}")).await;
        app.state.routing_idle().await;
        app.post(
            &owner.token,
            &format!("/api/v1/conversations/{c}/assign"),
            json!({"assignee_id": first}),
        )
        .await;
    }
    let (s, _) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c1}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200);
    // The visitor comes back: a new conversation, to the same agent.
    let c2 = send("again").await;
    assert_ne!(c1, c2);
    assignee_eventually(&app, &owner.token, &c2, Some(&first)).await;
    // A newcomer goes to the less loaded one.
    let c3 = visitor_says(&app, &owner, "new here").await;
    assignee_eventually(&app, &owner.token, &c3, Some(&other)).await;
    app.stop().await;
}

/// Rules' `set_priority`/`tag` are stored on the conversation (agents see
/// them, visitors never); the line is ordered by priority and follows a
/// change; a group outside its business hours and `offline()` leave the
/// conversation for offline follow-up with the group's message; `queued`
/// is a status of the state machine.
async fn priorities_tags_hours_and_offline(db: Db) {
    let app = spawn_with(db, |c| c.limits.widget_sessions_per_minute = 1000).await;
    let owner = app.tenant(Role::Owner).await;
    let (a, a_token) = app.agent(&owner, "a@example.com", 1).await;
    let (_wa, _) = app.ws(&a_token).await;
    let (s, g) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "vip", "members": [a.clone()]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["business_hours"], Value::Null);
    // Bad hours are refused with what is wrong.
    for (bad, says) in [
        (json!({"timezone": "Mars/Base", "periods": []}), "Mars/Base"),
        (
            json!({"periods": [{"day": 7, "open": "09:00", "close": "18:00"}]}),
            "day 0-6",
        ),
    ] {
        let (s, e) = app
            .post(
                &owner.token,
                "/api/v1/groups",
                json!({"name": "bad", "business_hours": bad}),
            )
            .await;
        assert_eq!(s, 422, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{e}"
        );
    }
    // A group with no opening period is never open.
    let (s, night) = app
        .post(
            &owner.token,
            "/api/v1/groups",
            json!({"name": "night", "members": [a.clone()],
            "business_hours": {"timezone": "Asia/Shanghai", "periods": []},
            "offline_message": "We open at 9. 我们九点上班。"}),
        )
        .await;
    assert_eq!(s, 201, "{night}");
    assert_eq!(night["business_hours"]["timezone"], "Asia/Shanghai");
    let rules = r#"
rule "vip" priority 10 when conversation.first_message contains "vip" then route_to("vip"), set_priority("high"), tag("vip") end
rule "slow" priority 9 when conversation.first_message contains "slow" then route_to("vip"), set_priority("low") end
rule "night" priority 8 when conversation.first_message contains "night" then route_to("night") end
rule "later" priority 7 when conversation.first_message contains "later" then offline(), tag("later") end
"#;
    let (s, r) = app
        .put(
            &owner.token,
            "/api/v1/routing/rules",
            json!({"source": rules}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, sim) = app
        .post(&owner.token, "/api/v1/routing/simulate", json!({"source": "rule \"closed\" when !group(\"night\").open then offline() end", "context": {}}))
        .await;
    assert_eq!(sim["decision"]["offline"], true, "{sim}");

    // Assigned at once, with the rule's priority and tag.
    let (vt1, _) = app.visitor(&owner.inbox).await;
    let (mut vws1, _) = app.ws(&vt1).await;
    let c1 = vws1.send_text(None, "m1", "vip here").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assignee_eventually(&app, &owner.token, &c1, Some(&a)).await;
    let (_, conv) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c1}"))
        .await;
    assert_eq!(
        (conv["priority"].as_str(), conv["tags"].clone()),
        (Some("high"), json!(["vip"])),
        "{conv}"
    );
    assert_eq!(conv["status"], "open");
    // The visitor sees neither, not in REST and not in frames.
    let (_, mine) = app.get(&vt1, &format!("/api/v1/conversations/{c1}")).await;
    assert_eq!(
        (mine["priority"].as_str(), mine["tags"].clone()),
        (Some("normal"), json!([])),
        "{mine}"
    );
    let f = vws1.expect("conversation").await;
    assert!(
        f.get("tags").is_none() && f.get("priority").is_none(),
        "{f}"
    );

    // The agent is full: a low one waits, then a high one goes ahead of it.
    let c2 = visitor_says(&app, &owner, "slow question").await;
    let c3 = visitor_says(&app, &owner, "vip too").await;
    let line = |want: Value| {
        let (app, token) = (&app, owner.token.clone());
        async move {
            app.state.routing_idle().await;
            let (_, q) = app.get(&token, "/api/v1/routing/queues").await;
            let vip = q["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["group"] == "vip");
            let line = vip.map_or(Value::Null, |g| g["conversation_ids"].clone());
            assert_eq!(line, want, "the vip line");
        }
    };
    line(json!([c3, c2])).await;
    // The list takes several statuses at once.
    let (s, list) = app
        .get(
            &owner.token,
            "/api/v1/conversations?status=open,queued&assignee=none",
        )
        .await;
    assert_eq!(s, 200, "{list}");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&c2.as_str()) && ids.contains(&c3.as_str()),
        "{list}"
    );
    let (s, list) = app
        .get(&owner.token, "/api/v1/conversations?status=queued")
        .await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (200, 2),
        "{list}"
    );
    let (s, e) = app
        .get(&owner.token, "/api/v1/conversations?status=open,waiting")
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("bad_query")),
        "{e}"
    );
    let (_, conv2) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c2}"))
        .await;
    assert_eq!(
        (conv2["status"].as_str(), conv2["priority"].as_str()),
        (Some("queued"), Some("low"))
    );
    let (_, ev) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c2}/events"))
        .await;
    assert!(
        ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "conversation_queued" && e["data"]["group"] == "vip"),
        "{ev}"
    );
    // An agent raises the waiting one: it moves to the front.
    let (s, up) = app
        .patch(
            &a_token,
            &format!("/api/v1/conversations/{c2}"),
            json!({"priority": "urgent", "tags": [" refund ", "refund", "late"]}),
        )
        .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["tags"], json!(["refund", "late"]));
    // Edits by difference keep what others added meanwhile.
    let (s, up) = app
        .patch(
            &a_token,
            &format!("/api/v1/conversations/{c2}"),
            json!({"add_tags": ["vip"], "remove_tags": ["late"]}),
        )
        .await;
    assert_eq!(
        (s, up["tags"].clone()),
        (200, json!(["refund", "vip"])),
        "{up}"
    );
    line(json!([c2, c3])).await;
    // Bad labels and the wrong people are refused; routing's statuses are not agents' to set.
    let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    for body in [
        json!({"priority": "max"}),
        json!({"tags": many}),
        json!({"tags": ["x".repeat(33)]}),
    ] {
        let (s, e) = app
            .patch(&a_token, &format!("/api/v1/conversations/{c2}"), body)
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (422, Some("validation")),
            "{e}"
        );
    }
    let (vt2, _) = app.visitor(&owner.inbox).await;
    let (s, _) = app
        .patch(
            &vt2,
            &format!("/api/v1/conversations/{c2}"),
            json!({"tags": []}),
        )
        .await;
    assert!(s == 403 || s == 404, "{s}");
    let (s, e) = app
        .post(
            &a_token,
            &format!("/api/v1/conversations/{c1}/status"),
            json!({"status": "queued"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    // Freeing the agent assigns the head of the line: queued → open.
    app.post(
        &a_token,
        &format!("/api/v1/conversations/{c1}/status"),
        json!({"status": "resolved"}),
    )
    .await;
    assignee_eventually(&app, &owner.token, &c2, Some(&a)).await;
    let (_, conv2) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c2}"))
        .await;
    assert_eq!(conv2["status"], "open");

    // Outside the group's hours: offline follow-up with the group's message.
    let (vt4, _) = app.visitor(&owner.inbox).await;
    let (mut vws4, _) = app.ws(&vt4).await;
    let c4 = vws4.send_text(None, "m1", "night owl").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let told = loop {
        let f = vws4.expect("message").await;
        if f["message"]["sender"]["kind"] == "system" {
            break f;
        }
    };
    assert_eq!(told["message"]["content"], "We open at 9. 我们九点上班。");
    let (_, conv4) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c4}"))
        .await;
    assert_eq!(
        (
            conv4["status"].as_str(),
            conv4["assignee_id"].clone(),
            conv4["tags"].clone()
        ),
        (Some("open"), Value::Null, json!(["offline"])),
        "{conv4}"
    );
    let (_, ev) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c4}/events"))
        .await;
    assert!(ev.to_string().contains(r#""reason":"closed""#), "{ev}");
    // offline(): the default bilingual notice, and the rule's tag.
    let (vt5, _) = app.visitor(&owner.inbox).await;
    let (mut vws5, _) = app.ws(&vt5).await;
    let c5 = vws5.send_text(None, "m1", "talk later").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let told = loop {
        let f = vws5.expect("message").await;
        if f["message"]["sender"]["kind"] == "system" {
            break f;
        }
    };
    let text = told["message"]["content"].as_str().unwrap();
    assert!(text.contains("away") && text.contains("客服"), "{text}");
    let (_, conv5) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c5}"))
        .await;
    assert_eq!(conv5["tags"], json!(["later", "offline"]));

    // The follow-up goes into the (full) vip line; deleting the group takes
    // it out again, and the visitor hears so (no stale place in line).
    let (s, t) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{c4}/transfer"),
            json!({"to_group": "vip"}),
        )
        .await;
    assert_eq!((s, t["status"].as_str()), (200, Some("queued")), "{t}");
    loop {
        let f = vws4.expect("conversation").await;
        if f["status"] == "queued" {
            break;
        }
    }
    let gid = g["id"].as_str().unwrap();
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/groups/{gid}")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    loop {
        let f = vws4.expect("conversation").await;
        if f["status"] == "open" {
            assert!(f["assignee_id"].is_null(), "{f}");
            break;
        }
    }
    let (_, ev) = app
        .get(&owner.token, &format!("/api/v1/conversations/{c4}/events"))
        .await;
    assert!(ev.to_string().contains("group_deleted"), "{ev}");
    app.stop().await;
}

both_backends!(
    rules_route_and_reload_live,
    capacity_holds_under_concurrency,
    queue_positions_live_and_drain,
    transfer_to_agent_and_group,
    grab_mode_one_winner,
    rules_file_is_watched,
    queue_timeout_fallbacks,
    returning_visitor_is_sticky,
    priorities_tags_hours_and_offline
);
