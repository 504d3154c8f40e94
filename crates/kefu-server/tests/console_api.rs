//! What the agent console needs from the API: canned replies, workspace
//! settings, and conversation lists with previews and unread counts.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::json;

async fn canned_replies_and_workspace_settings(db: Db) {
    let app = spawn(db).await;
    let admin = app.tenant(Role::Admin).await;
    let other = app.tenant(Role::Owner).await;
    let (s, r) = app
        .post(
            &admin.token,
            "/api/v1/canned-replies",
            json!({"shortcut": "/Refund", "content": "退款将在 3 个工作日内到账。"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["shortcut"], "refund");
    let id = r["id"].as_str().unwrap().to_string();
    let (s, e) = app
        .post(
            &admin.token,
            "/api/v1/canned-replies",
            json!({"shortcut": "refund", "content": "x"}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")));
    let (s, e) = app
        .post(
            &admin.token,
            "/api/v1/canned-replies",
            json!({"shortcut": "two words", "content": "x"}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    let (s, _) = app
        .post(
            &admin.token,
            "/api/v1/canned-replies",
            json!({"shortcut": "x", "content": "  "}),
        )
        .await;
    assert_eq!(s, 422);
    // Agents read them; only admins change them.
    let agent_email = "agent@example.com";
    let (s, _) = app
        .post(
            &admin.token,
            "/api/v1/users",
            json!({"email": agent_email, "name": "Agent", "password": PASSWORD, "role": "agent"}),
        )
        .await;
    assert_eq!(s, 201);
    let (agent, _) = app.login(agent_email, PASSWORD).await;
    let (s, list) = app.get(&agent, "/api/v1/canned-replies").await;
    assert_eq!((s, list["items"].as_array().unwrap().len()), (200, 1));
    let (s, _) = app
        .post(
            &agent,
            "/api/v1/canned-replies",
            json!({"shortcut": "hi", "content": "Hi"}),
        )
        .await;
    assert_eq!(s, 403);
    // Another workspace neither sees nor changes them.
    let (_, list) = app.get(&other.token, "/api/v1/canned-replies").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let path = format!("/api/v1/canned-replies/{id}");
    assert_eq!(
        app.patch(&other.token, &path, json!({"content": "x"}))
            .await
            .0,
        404
    );
    let (s, r) = app
        .patch(
            &admin.token,
            &path,
            json!({"content": "Refunds take 3 working days."}),
        )
        .await;
    assert_eq!(
        (s, r["content"].as_str()),
        (200, Some("Refunds take 3 working days."))
    );
    let del = |token: String| {
        let (http, url) = (app.http.clone(), app.url(&path));
        async move {
            http.delete(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(del(other.token.clone()).await, 404);
    assert_eq!(del(admin.token.clone()).await, 204);
    assert_eq!(del(admin.token.clone()).await, 404);

    // Workspace settings.
    let (s, ws) = app.get(&agent, "/api/v1/workspace").await;
    assert_eq!((s, ws["timezone"].as_str()), (200, Some("UTC")));
    let (s, e) = app
        .patch(
            &admin.token,
            "/api/v1/workspace",
            json!({"timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    assert_eq!(
        app.patch(&admin.token, "/api/v1/workspace", json!({"language": "fr"}))
            .await
            .0,
        422
    );
    assert_eq!(
        app.patch(&agent, "/api/v1/workspace", json!({"language": "en"}))
            .await
            .0,
        403
    );
    let (s, ws) = app
        .patch(
            &admin.token,
            "/api/v1/workspace",
            json!({"timezone": "Asia/Shanghai", "language": "en", "name": "Acme 客服"}),
        )
        .await;
    assert_eq!(s, 200, "{ws}");
    assert_eq!(
        (
            ws["timezone"].as_str(),
            ws["language"].as_str(),
            ws["name"].as_str()
        ),
        (Some("Asia/Shanghai"), Some("en"), Some("Acme 客服"))
    );
    // Holidays feed routing's time.holiday (in the workspace's time zone).
    let (s, e) = app
        .patch(
            &admin.token,
            "/api/v1/workspace",
            json!({"holidays": ["2026-10-01", "tomorrow"]}),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .date()
        .to_string();
    let (s, ws) = app
        .patch(
            &admin.token,
            "/api/v1/workspace",
            json!({"holidays": [today, "2026-10-01", today]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        ws["holidays"].as_array().unwrap().len(),
        2,
        "sorted and deduplicated: {ws}"
    );
    let (s, sim) = app
        .post(
            &admin.token,
            "/api/v1/routing/simulate",
            json!({"source": "rule \"h\" when time.holiday then offline() end", "context": {}}),
        )
        .await;
    assert_eq!(
        (s, sim["decision"]["offline"].as_bool()),
        (200, Some(true)),
        "{sim}"
    );
    app.stop().await;
}

async fn conversation_list_previews(db: Db) {
    let app = spawn(db).await;
    let t = app.tenant(Role::Agent).await;
    let (vt, _) = app.visitor(&t.inbox).await;
    let (s, sent) = app
        .post(
            &vt,
            "/api/v1/widget/messages",
            json!({"client_msg_id": "m1", "content": "你好，我的订单还没到"}),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let conv = sent["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &vt,
        "/api/v1/widget/messages",
        json!({"client_msg_id": "m2", "content": &"长".repeat(300)}),
    )
    .await;
    let (s, page) = app.get(&t.token, "/api/v1/conversations?status=open").await;
    assert_eq!(s, 200);
    let item = &page["items"][0];
    assert_eq!(item["id"], conv.as_str());
    assert_eq!(item["unread"], 2);
    assert_eq!(item["last_message"]["sender_kind"], "visitor");
    assert_eq!(
        item["last_message"]["excerpt"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        140
    );
    // Reading and answering clear the unread count; a note is an agent's preview only.
    let (s, _) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/read"),
            json!({"seq": 2}),
        )
        .await;
    assert_eq!(s, 204);
    app.post(
        &t.token,
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"client_msg_id": "n1", "kind": "note", "content": "VIP, be quick"}),
    )
    .await;
    let (_, item) = app
        .get(&t.token, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!(item["last_message"]["kind"], "note");
    assert_eq!(item["unread"], 1);
    let (s, mine) = app.get(&vt, &format!("/api/v1/conversations/{conv}")).await;
    assert_eq!(s, 200);
    assert!(
        mine["last_message"].is_null(),
        "visitors never see notes: {mine}"
    );
    assert!(!mine.to_string().contains("VIP"));
    assert_eq!(mine["unread"], 2, "nor count them: {mine}");
    app.stop().await;
}

/// Every list answers `{items, next_cursor}`; `next_cursor` is null when
/// nothing more follows, and passing it on gives the next page.
async fn lists_share_one_shape(db: Db) {
    let app = spawn(db).await;
    let admin = app.tenant(Role::Admin).await;
    for shortcut in ["b", "a", "c"] {
        let (s, r) = app
            .post(
                &admin.token,
                "/api/v1/canned-replies",
                json!({"shortcut": shortcut, "content": "x"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    let (s, _) = app
        .post(&admin.token, "/api/v1/groups", json!({"name": "billing"}))
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            &admin.token,
            "/api/v1/api-keys",
            json!({"name": "ERP", "scopes": ["events:write"]}),
        )
        .await;
    assert_eq!(s, 201);
    let (vtoken, _) = app.visitor(&admin.inbox).await;
    let mut convs = Vec::new();
    for i in 0..2 {
        let (s, r) = app
            .post(
                &vtoken,
                "/api/v1/widget/messages",
                json!({"client_msg_id": format!("m{i}"), "content": "hello"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let conv = r["message"]["conversation_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, r) = app
            .post(
                &admin.token,
                &format!("/api/v1/conversations/{conv}/status"),
                json!({"status": "closed"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        convs.push(conv);
    }
    for (token, path) in [
        (&admin.token, "/api/v1/canned-replies"),
        (&admin.token, "/api/v1/groups"),
        (&admin.token, "/api/v1/routing/queues"),
        (&admin.token, "/api/v1/api-keys"),
        (&vtoken, "/api/v1/widget/conversations"),
    ] {
        let (s, page) = app.get(token, path).await;
        assert_eq!(s, 200, "{path}: {page}");
        assert!(page["items"].is_array(), "{path}: {page}");
        assert!(page["next_cursor"].is_null(), "{path}: {page}");
        assert_eq!(page.as_object().unwrap().len(), 2, "{path}: {page}");
    }
    // The two lists that may be long page with the cursor they hand out.
    for (token, path, want) in [
        (&admin.token, "/api/v1/canned-replies", 3),
        (&vtoken, "/api/v1/widget/conversations", 2),
    ] {
        let mut seen = Vec::new();
        let mut next = format!("{path}?limit=2");
        loop {
            let (s, page) = app.get(token, &next).await;
            assert_eq!(s, 200, "{next}: {page}");
            for item in page["items"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_string());
            }
            match page["next_cursor"].as_str() {
                Some(c) => next = format!("{path}?limit=2&cursor={c}"),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (want, want), "{path}: {seen:?}");
        let (s, e) = app.get(token, &format!("{path}?cursor=abc")).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (400, Some("bad_query")),
            "{path}"
        );
    }
    // Newest conversation first, for the visitor too.
    let (_, page) = app.get(&vtoken, "/api/v1/widget/conversations").await;
    assert_eq!(page["items"][0]["id"], convs[1].as_str());
    app.stop().await;
}

both_backends!(
    canned_replies_and_workspace_settings,
    conversation_list_previews,
    lists_share_one_shape,
);
