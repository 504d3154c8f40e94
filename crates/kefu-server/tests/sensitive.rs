//! The sensitive-word filter over the real server, on both backends: words
//! mask, block (HTTP 422 and the WebSocket error frame, both
//! `message_blocked`; visitors are not told the words) and flag messages for
//! review; notes are not screened; a change applies to the next message on
//! this node and, on a second node sharing the database, after its recheck
//! interval, without a restart; workspaces are isolated; bad input gets
//! clear errors.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::time::Duration;

async fn raw(app: &TestApp, token: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn add(app: &TestApp, token: &str, word: &str, action: &str) -> (u16, Value) {
    app.post(
        token,
        "/api/v1/sensitive/words",
        json!({"word": word, "action": action}),
    )
    .await
}

/// A visitor's message over HTTP: status and answer.
async fn visitor_says(app: &TestApp, token: &str, cmid: &str, text: &str) -> (u16, Value) {
    app.post(
        token,
        "/api/v1/widget/messages",
        json!({"client_msg_id": cmid, "content": text}),
    )
    .await
}

async fn agent_says(
    app: &TestApp,
    token: &str,
    conv: &str,
    kind: &str,
    text: &str,
) -> (u16, Value) {
    app.post(
        token,
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"client_msg_id": kefu_store::new_id(), "kind": kind, "content": text}),
    )
    .await
}

async fn mask_block_flag_and_review(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (_, agent) = app
        .agent(
            &owner,
            &format!("a-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let (s, w) = add(&app, &owner.token, "  Damn ", "mask").await;
    assert_eq!(s, 201, "{w}");
    assert_eq!(
        (w["word"].as_str(), w["action"].as_str()),
        (Some("damn"), Some("mask"))
    );
    assert_eq!(add(&app, &owner.token, "赌博", "block").await.0, 201);
    assert_eq!(add(&app, &owner.token, "退款骗局", "flag").await.0, 201);
    // Listed again with another action: 200 and the new action.
    let (s, w) = add(&app, &owner.token, "DAMN", "mask").await;
    assert_eq!((s, w["action"].as_str()), (200, Some("mask")));

    // The agent watches the workspace's feed.
    let (mut feed, _) = app.ws(&agent).await;

    // Mask: stored and delivered with one star per character.
    let (visitor, _) = app.visitor(&owner.inbox).await;
    let (s, v) = visitor_says(&app, &visitor, "v1", "Damn, 这个damn东西").await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["message"]["content"], "****, 这个****东西");
    let conv = v["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    feed.expect_message("****, 这个****东西").await;

    // Block over HTTP: 422 message_blocked, and the visitor is not told the word.
    let (s, e) = visitor_says(&app, &visitor, "v2", "网上赌博来吗").await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "message_blocked");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(!msg.contains("赌博") && msg.contains("rephrase"), "{msg}");
    // Over the WebSocket: the error frame carries the same code and the send's id.
    let (mut vws, _) = app.ws(&visitor).await;
    vws.send(
        json!({"type": "send", "client_msg_id": "v3", "conversation_id": conv, "content": "赌博"}),
    )
    .await;
    let err = vws.expect("error").await;
    assert_eq!(
        (err["code"].as_str(), err["client_msg_id"].as_str()),
        (Some("message_blocked"), Some("v3"))
    );
    assert!(!err["message"].as_str().unwrap().contains("赌博"));
    // Nothing of it was stored or fanned out; the next good message goes through.
    let ack = vws.send_text(Some(&conv), "v4", "hello").await;
    assert_eq!(ack["seq"], 2, "the blocked sends took no seq");
    feed.expect_message("hello").await;

    // Agents are told which word blocked their message (HTTP and WebSocket).
    let (s, e) = agent_says(&app, &agent, &conv, "text", "不要赌博, Damn").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("message_blocked")),
        "{e}"
    );
    assert!(
        e["error"]["message"].as_str().unwrap().contains("赌博"),
        "{e}"
    );
    feed.send(
        json!({"type": "send", "client_msg_id": "a1", "conversation_id": conv, "content": "赌博!"}),
    )
    .await;
    let err = feed.expect("error").await;
    assert_eq!(err["code"], "message_blocked");
    assert!(err["message"].as_str().unwrap().contains("赌博"), "{err}");
    // An agent's message is masked like a visitor's.
    let (s, v) = agent_says(&app, &agent, &conv, "text", "damn right").await;
    assert_eq!(
        (s, v["message"]["content"].as_str()),
        (201, Some("**** right"))
    );
    // Notes are not screened: agents may quote what the visitor wrote.
    let (s, v) = agent_says(&app, &agent, &conv, "note", "visitor wrote 赌博 and damn").await;
    assert_eq!(
        (s, v["message"]["content"].as_str()),
        (201, Some("visitor wrote 赌博 and damn"))
    );

    // Flag: stored unchanged, kept for review.
    let (s, v) = visitor_says(&app, &visitor, "v5", "这是退款骗局吧, damn").await;
    assert_eq!(s, 201);
    assert_eq!(v["message"]["content"], "这是退款骗局吧, ****");
    let flagged_id = v["message"]["id"].as_str().unwrap().to_string();
    let (s, v) = visitor_says(&app, &visitor, "v6", "又是退款骗局").await;
    assert_eq!(
        (s, v["message"]["content"].as_str()),
        (201, Some("又是退款骗局"))
    );
    // A resend of a flagged message is not flagged twice.
    assert_eq!(
        visitor_says(&app, &visitor, "v6", "又是退款骗局").await.0,
        200
    );
    // An agent reads the flags (newest first), with the words and the stored text.
    let (s, page) = app.get(&agent, "/api/v1/sensitive/flags").await;
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    assert_eq!(items[0]["content"], "又是退款骗局");
    assert_eq!(items[0]["action"], "flag");
    assert_eq!(items[1]["message_id"], flagged_id.as_str());
    assert_eq!(items[1]["words"], json!(["退款骗局"]));
    assert_eq!(items[1]["action"], "mask", "masked as well");
    assert_eq!(items[1]["sender_kind"], "visitor");
    assert_eq!(items[1]["conversation_id"], conv.as_str());
    let (_, one) = app.get(&agent, "/api/v1/sensitive/flags?limit=1").await;
    let cursor = one["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = app
        .get(
            &agent,
            &format!("/api/v1/sensitive/flags?limit=1&cursor={cursor}"),
        )
        .await;
    assert_eq!(rest["items"][0]["message_id"], flagged_id.as_str());
    // Reviewing is an admin's; reviewed ones leave the open list.
    let fid = items[1]["id"].as_str().unwrap().to_string();
    let review = format!("/api/v1/sensitive/flags/{fid}/review");
    assert_eq!(app.post(&agent, &review, json!({})).await.0, 403);
    let (s, r) = app
        .post(&owner.token, &review, json!({"reviewed": true}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["reviewed_by"], owner.agent_id.to_string());
    let (_, open) = app.get(&agent, "/api/v1/sensitive/flags").await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
    let (_, done) = app
        .get(&agent, "/api/v1/sensitive/flags?status=reviewed")
        .await;
    assert_eq!(done["items"][0]["id"], fid.as_str());
    let (_, all) = app
        .get(
            &agent,
            &format!(
                "/api/v1/sensitive/flags?status=all&sender_kind=visitor&conversation_id={conv}"
            ),
        )
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, none) = app
        .get(
            &agent,
            "/api/v1/sensitive/flags?status=all&sender_kind=agent",
        )
        .await;
    assert_eq!(none["items"], json!([]));
    app.stop().await;
}

async fn changes_apply_live_without_restart(db: Db) {
    // An hour between rechecks: only this node's own saves can move it on.
    let app = spawn_with(db, |c| c.sensitive.recheck_ms = 3_600_000).await;
    let owner = app.tenant(Role::Owner).await;
    let (visitor, _) = app.visitor(&owner.inbox).await;
    let (_, v) = visitor_says(&app, &visitor, "v0", "scam 1").await;
    assert_eq!(v["message"]["content"], "scam 1", "{v}");
    // Added: the very next message is masked.
    assert_eq!(add(&app, &owner.token, "scam", "mask").await.0, 201);
    let (_, v) = visitor_says(&app, &visitor, "v1", "scam 2").await;
    assert_eq!(v["message"]["content"], "**** 2");
    // Changed to block.
    assert_eq!(add(&app, &owner.token, "scam", "block").await.0, 200);
    let (s, e) = visitor_says(&app, &visitor, "v2", "scam 3").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("message_blocked"))
    );
    // Removed.
    assert_eq!(
        app.delete(&owner.token, "/api/v1/sensitive/words/scam")
            .await
            .0,
        204
    );
    let (s, v) = visitor_says(&app, &visitor, "v3", "scam 4").await;
    assert_eq!((s, v["message"]["content"].as_str()), (201, Some("scam 4")));
    // Imported.
    let (s, r) = raw(
        &app,
        &owner.token,
        "/api/v1/sensitive/import?action=block",
        "诈骗\n".into(),
    )
    .await;
    assert_eq!((s, r["added"].as_u64()), (200, Some(1)), "{r}");
    let (s, e) = visitor_says(&app, &visitor, "v4", "诈骗").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("message_blocked"))
    );
    // A retry of a send stored before its word was blocked still gets its ack.
    assert_eq!(add(&app, &owner.token, "scam", "block").await.0, 201);
    let (s, v) = visitor_says(&app, &visitor, "v3", "scam 4").await;
    assert_eq!((s, v["duplicate"].as_bool()), (200, Some(true)), "{v}");
    app.stop().await;
}

/// Two nodes on one PostgreSQL database (cluster mode is PostgreSQL's): a
/// change saved on one applies on the other within its recheck interval.
#[tokio::test]
async fn another_node_applies_changes_within_its_recheck() {
    let a = spawn(Db::Postgres).await;
    let url = a.state.cfg.database_url().expose().to_string();
    let recheck = Duration::from_millis(300);
    // The same database and signing key (tokens work on both).
    let key = a.state.cfg.secrets.token_key.clone();
    let b = spawn_with(Db::Postgres, |c| {
        c.database_url = kefu_server::config::Secret::new(url);
        c.secrets.token_key = key;
        c.sensitive.recheck_ms = recheck.as_millis() as u64;
    })
    .await;
    let owner = a.tenant(Role::Owner).await;
    let (visitor, _) = a.visitor(&owner.inbox).await;
    // Node B compiles the (empty) list and keeps it.
    let (_, v) = visitor_says(&b, &visitor, "b0", "scam 1").await;
    assert_eq!(v["message"]["content"], "scam 1", "{v}");

    // Added on node A: A masks the very next message.
    assert_eq!(add(&a, &owner.token, "scam", "mask").await.0, 201);
    let (_, v) = visitor_says(&a, &visitor, "a1", "scam 2").await;
    assert_eq!(v["message"]["content"], "**** 2");
    // Node B had its list cached; past its recheck interval it masks too. (A
    // wait of the configured interval: the one thing that moves it on.)
    tokio::time::sleep(recheck + Duration::from_millis(100)).await;
    let (_, v) = visitor_says(&b, &visitor, "b1", "scam 3").await;
    assert_eq!(v["message"]["content"], "**** 3");
    // Removed on A: B lets it through after the interval.
    assert_eq!(
        a.delete(&owner.token, "/api/v1/sensitive/words/scam")
            .await
            .0,
        204
    );
    tokio::time::sleep(recheck + Duration::from_millis(100)).await;
    let (_, v) = visitor_says(&b, &visitor, "b2", "scam 4").await;
    assert_eq!(v["message"]["content"], "scam 4");
    b.stop().await;
    a.stop().await;
}

async fn tenants_are_isolated(db: Db) {
    let app = spawn(db).await;
    let one = app.tenant(Role::Owner).await;
    let two = app.tenant(Role::Owner).await;
    assert_eq!(add(&app, &one.token, "secret", "mask").await.0, 201);
    assert_eq!(add(&app, &one.token, "flagme", "flag").await.0, 201);
    let (v1, _) = app.visitor(&one.inbox).await;
    let (v2, _) = app.visitor(&two.inbox).await;
    let (_, m) = visitor_says(&app, &v1, "x", "secret flagme").await;
    assert_eq!(m["message"]["content"], "****** flagme");
    // The other workspace's list is its own: nothing masked, nothing listed.
    let (_, m) = visitor_says(&app, &v2, "x", "secret flagme").await;
    assert_eq!(m["message"]["content"], "secret flagme");
    let (_, words) = app.get(&two.token, "/api/v1/sensitive/words").await;
    assert_eq!(words["items"], json!([]));
    let (_, flags) = app
        .get(&two.token, "/api/v1/sensitive/flags?status=all")
        .await;
    assert_eq!(flags["items"], json!([]));
    // Nor can it touch the first one's words or flags.
    assert_eq!(
        app.delete(&two.token, "/api/v1/sensitive/words/secret")
            .await
            .0,
        404
    );
    let (_, flags) = app.get(&one.token, "/api/v1/sensitive/flags").await;
    let fid = flags["items"][0]["id"].as_str().unwrap().to_string();
    let (s, e) = app
        .post(
            &two.token,
            &format!("/api/v1/sensitive/flags/{fid}/review"),
            json!({}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
    let (_, words) = app.get(&one.token, "/api/v1/sensitive/words").await;
    assert_eq!(words["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}

async fn import_export_and_bad_input(db: Db) {
    let app = spawn_with(db, |c| {
        c.limits.max_sensitive_words = 4;
        c.limits.max_sensitive_word_chars = 8;
        c.limits.max_sensitive_import_bytes = 200;
    })
    .await;
    let owner = app.tenant(Role::Owner).await;
    let (_, agent) = app
        .agent(
            &owner,
            &format!("a-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let (visitor, _) = app.visitor(&owner.inbox).await;
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_string();

    // Who may: admins manage and read the list; agents and visitors do not.
    assert_eq!(add(&app, &agent, "x", "mask").await.0, 403);
    assert_eq!(app.get(&agent, "/api/v1/sensitive/words").await.0, 403);
    assert_eq!(app.get(&agent, "/api/v1/sensitive/export").await.0, 403);
    assert_eq!(app.get(&visitor, "/api/v1/sensitive/flags").await.0, 403);
    assert_eq!(
        raw(&app, &agent, "/api/v1/sensitive/import", b"x\n".to_vec())
            .await
            .0,
        403
    );

    // Bad words and bodies.
    for (body, why) in [
        (json!({"word": "   ", "action": "mask"}), "empty"),
        (json!({"word": "123456789", "action": "mask"}), "too long"),
        (
            json!({"word": "a\tb", "action": "mask"}),
            "control character",
        ),
        (json!({"word": "x", "action": "zap"}), "unknown action"),
        (json!({"word": "x"}), "no action"),
        (
            json!({"word": "x", "action": "mask", "extra": 1}),
            "unknown field",
        ),
    ] {
        let (s, e) = app
            .post(&owner.token, "/api/v1/sensitive/words", body)
            .await;
        assert_eq!((s, code(&e)), (422, "validation".into()), "{why}: {e}");
    }
    let (s, e) = app
        .get(&owner.token, "/api/v1/sensitive/flags?status=bogus")
        .await;
    assert_eq!((s, code(&e)), (422, "validation".into()));
    let (s, e) = app
        .get(&owner.token, "/api/v1/sensitive/flags?cursor=nope")
        .await;
    assert_eq!((s, code(&e)), (400, "bad_query".into()));
    let (s, e) = app
        .get(&owner.token, "/api/v1/sensitive/flags?limit=0")
        .await;
    assert_eq!((s, code(&e)), (422, "validation".into()));
    assert_eq!(
        app.delete(&owner.token, "/api/v1/sensitive/words/absent")
            .await
            .0,
        404
    );
    let (s, e) = app
        .post(
            &owner.token,
            "/api/v1/sensitive/flags/nope/review",
            json!({}),
        )
        .await;
    assert_eq!((s, code(&e)), (404, "not_found".into()));

    // Import: default action, per-line actions, bad lines reported and left out.
    let file = "\u{feff}Fraud\n赌博\tblock\n\n太长太长太长太长太长\nscam\tflag\nx\tzap\n";
    let (s, r) = raw(
        &app,
        &owner.token,
        "/api/v1/sensitive/import?action=mask",
        file.into(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["added"].as_u64(), r["updated"].as_u64()),
        (Some(3), Some(0)),
        "{r}"
    );
    let lines: Vec<u64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 6], "{r}");
    let (s, e) = raw(
        &app,
        &owner.token,
        "/api/v1/sensitive/import?action=zap",
        b"x".to_vec(),
    )
    .await;
    assert_eq!((s, code(&e)), (400, "bad_query".into()));
    let (s, e) = raw(
        &app,
        &owner.token,
        "/api/v1/sensitive/import",
        vec![0xff, 0xfe, b'\n'],
    )
    .await;
    assert_eq!((s, code(&e)), (400, "bad_file".into()));
    let (s, e) = raw(
        &app,
        &owner.token,
        "/api/v1/sensitive/import",
        vec![b'a'; 300],
    )
    .await;
    assert_eq!((s, code(&e)), (413, "payload_too_large".into()));
    // The word limit holds for the whole file: nothing of it is kept.
    let (s, e) = raw(
        &app,
        &owner.token,
        "/api/v1/sensitive/import",
        b"a1\na2\n".to_vec(),
    )
    .await;
    assert_eq!((s, code(&e)), (422, "validation".into()), "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 4"),
        "{e}"
    );
    let (s, e) = add(&app, &owner.token, "a1", "mask").await;
    assert_eq!(s, 201, "{e}");
    let (s, e) = add(&app, &owner.token, "a2", "mask").await;
    assert_eq!((s, code(&e)), (422, "validation".into()));

    // Export: every word with its action, which imports back to the same list.
    let r = app
        .http
        .get(app.url("/api/v1/sensitive/export"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert_eq!(text, "a1\tmask\nfraud\tmask\nscam\tflag\n赌博\tblock\n");
    let (s, r) = raw(
        &app,
        &owner.token,
        "/api/v1/sensitive/import?action=block",
        text.into(),
    )
    .await;
    assert_eq!((s, r["unchanged"].as_u64()), (200, Some(4)), "{r}");
    let (_, words) = app.get(&owner.token, "/api/v1/sensitive/words").await;
    let listed: Vec<(&str, &str)> = words["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["word"].as_str().unwrap(), w["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("a1", "mask"),
            ("fraud", "mask"),
            ("scam", "flag"),
            ("赌博", "block")
        ]
    );
    // A Chinese word in the path (URL-encoded) is deleted like any other.
    assert_eq!(
        app.delete(&owner.token, "/api/v1/sensitive/words/%E8%B5%8C%E5%8D%9A")
            .await
            .0,
        204
    );
    let (s, _) = visitor_says(&app, &visitor, "ok", "赌博").await;
    assert_eq!(s, 201);
    app.stop().await;
}

both_backends!(
    mask_block_flag_and_review,
    changes_apply_live_without_restart,
    tenants_are_isolated,
    import_export_and_bad_input
);
