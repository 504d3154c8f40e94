//! Team basics over the real server: an @mention in a note notifies the
//! mentioned agent (stored for the bell, live on their socket, never the
//! author's), an assignment by a colleague notifies, reading clears,
//! notification preferences round-trip with clear errors, avatars upload
//! and are served publicly, and the widget sees agents' names and pictures
//! only where the inbox shows them.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};
use std::time::Duration;

const PNG: [u8; 29] = [
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
];

async fn upload_avatar(app: &TestApp, token: &str, user: &str, bytes: Vec<u8>) -> (u16, Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("me.png"),
    );
    let r = app
        .http
        .put(app.url(&format!("/api/v1/users/{user}/avatar")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Polls an agent's notifications until `n` are there (the notifier is an
/// outbox consumer, so it runs just after the commit).
async fn notifications(app: &TestApp, token: &str, n: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (s, v) = app.get(token, "/api/v1/notifications").await;
        assert_eq!(s, 200, "{v}");
        if v["items"].as_array().map(Vec::len) == Some(n) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{n} notifications never arrived: {last}");
}

async fn mentions_and_assignments_notify_the_right_agent(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (b_id, b_token) = app
        .agent(
            &owner,
            &format!("b-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let (s, me) = app
        .patch(&b_token, "/api/v1/me", json!({"name": "李雷"}))
        .await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["name"], "李雷");
    let (mut b_ws, _) = app.ws(&b_token).await;
    let (mut owner_ws, _) = app.ws(&owner.token).await;
    let (vt, _) = app.visitor(&owner.inbox).await;
    let conv = app.visitor_send(&vt, "v1", "我的订单没到").await["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let messages = format!("/api/v1/conversations/{conv}/messages");

    // A note mentioning 李雷 (and the author themselves: no self-notification).
    let (s, v) = app
        .post(
            &owner.token,
            &messages,
            json!({"client_msg_id": "n1", "kind": "note", "content": "@李雷 请看一下这个订单 @Agent"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let f = b_ws.expect("notification").await;
    assert_eq!(f["kind"], "mention");
    assert_eq!(f["conversation_id"], conv.as_str());
    assert_eq!(f["actor_name"], "Agent");
    assert_eq!(f["seq"], v["message"]["seq"]);
    assert!(f["excerpt"].as_str().unwrap().contains("请看一下"));
    let list = notifications(&app, &b_token, 1).await;
    assert_eq!(list["unread"], 1);
    assert_eq!(list["items"][0]["kind"], "mention");
    // A note without a mention, and a public reply with "@李雷", notify nobody.
    app.post(
        &owner.token,
        &messages,
        json!({"client_msg_id": "n2", "kind": "note", "content": "no one here, mail li@lei.com"}),
    )
    .await;
    app.post(
        &owner.token,
        &messages,
        json!({"client_msg_id": "r1", "content": "@李雷 will help you"}),
    )
    .await;

    // The owner assigns it to 李雷: an `assigned` notification.
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"assignee_id": b_id}),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {v}");
    let f = b_ws.expect("notification").await;
    assert_eq!(f["kind"], "assigned", "{f}");
    assert_eq!(f["actor_id"], owner.agent_id.as_str());
    let list = notifications(&app, &b_token, 2).await;
    assert_eq!(list["unread"], 2);
    assert_eq!(list["items"][0]["kind"], "assigned", "newest first");
    // The owner got nothing of it.
    app.state.routing_idle().await;
    let (_, mine) = app.get(&owner.token, "/api/v1/notifications").await;
    assert_eq!(mine["items"], json!([]));
    while let Some(f) = owner_ws.next_frame(Duration::from_millis(200)).await {
        assert_ne!(f["type"], "notification", "{f}");
    }

    // Opening the conversation reads its notifications.
    let (s, v) = app
        .post(
            &b_token,
            "/api/v1/notifications/read",
            json!({"conversation_id": conv}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["unread"], 0);
    // Exactly one of ids / conversation_id / all.
    for bad in [
        json!({}),
        json!({"all": true, "ids": []}),
        json!({"all": false}),
    ] {
        let (s, e) = app
            .post(&b_token, "/api/v1/notifications/read", bad.clone())
            .await;
        assert_eq!(s, 422, "{bad}: {e}");
        assert_eq!(e["error"]["code"], "validation", "{e}");
    }
    // A transfer to 李雷 is one notification (it is also an assignment event).
    let (vt2, _) = app.visitor(&owner.inbox).await;
    let conv2 = app.visitor_send(&vt2, "w1", "second").await["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv2}/transfer"),
            json!({"to_agent_id": b_id, "note": "VIP"}),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {v}");
    let list = notifications(&app, &b_token, 3).await;
    assert_eq!(list["items"][0]["conversation_id"], conv2.as_str());
    app.state.routing_idle().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, list) = app.get(&b_token, "/api/v1/notifications").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        3,
        "one notification per transfer: {list}"
    );
    // A visitor has no notifications.
    let (s, _) = app.get(&vt, "/api/v1/notifications").await;
    assert_eq!(s, 403);
    app.stop().await;
}

async fn preferences_and_avatars(db: Db) {
    let app = spawn_with(db, |c| c.limits.max_avatar_bytes = 4096).await;
    let owner = app.tenant(Role::Owner).await;
    let (b_id, b_token) = app
        .agent(
            &owner,
            &format!("b-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let (_, me) = app.get(&b_token, "/api/v1/me").await;
    let me = if me["user"].is_object() {
        me["user"].clone()
    } else {
        me
    };
    assert_eq!(me["notify_scope"], "groups", "{me}");
    assert_eq!(me["notify_sound"], true);
    let (s, u) = app
        .patch(
            &b_token,
            "/api/v1/me",
            json!({"notify_scope": "assigned", "notify_sound": false, "notify_desktop": false, "notify_push": false, "email_on_assign": false}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["notify_scope"], "assigned");
    assert_eq!(u["notify_sound"], false);
    assert_eq!(u["notify_push"], false);
    assert_eq!(u["email_on_assign"], false);
    for bad in [
        json!({"notify_scope": "everyone"}),
        json!({"name": ""}),
        json!({"beep": true}),
    ] {
        let (s, e) = app.patch(&b_token, "/api/v1/me", bad.clone()).await;
        assert!(s == 400 || s == 422, "{bad}: {s} {e}");
        assert!(e["error"]["code"].is_string(), "{e}");
    }

    // Avatars: my own, served publicly with its type and a long cache.
    let (s, u) = upload_avatar(&app, &b_token, &b_id, PNG.to_vec()).await;
    assert_eq!(s, 200, "{u}");
    let url = u["avatar_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/api/v1/avatars/"), "{url}");
    let r = app.http.get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    // Not a picture, too large, someone else's: clear refusals.
    let (s, e) = upload_avatar(&app, &b_token, &b_id, b"<svg onload=alert(1)>".to_vec()).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("not_an_image")),
        "{e}"
    );
    let mut big = PNG.to_vec();
    big.resize(5000, 0);
    let (s, e) = upload_avatar(&app, &b_token, &b_id, big).await;
    assert_eq!(s, 413, "{e}");
    assert_eq!(e["error"]["code"], "avatar_too_large");
    assert!(e["error"]["message"].as_str().unwrap().contains("4096"));
    let (s, _) = upload_avatar(&app, &b_token, owner.agent_id.as_str(), PNG.to_vec()).await;
    assert_eq!(s, 403, "an agent cannot change a colleague's picture");
    // An admin can; a replaced picture's old key is gone.
    let (s, u2) = upload_avatar(&app, &owner.token, &b_id, PNG.to_vec()).await;
    assert_eq!(s, 200, "{u2}");
    assert_ne!(u2["avatar_url"], url.as_str());
    let r = app.http.get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // Keys of other uploads are never served as avatars.
    let r = app
        .http
        .get(app.url("/api/v1/avatars/00000000000000000000000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // An admin cannot change an owner's picture (only an owner can change an owner).
    let admin_email = format!("adm-{}@example.com", kefu_store::new_id());
    let (s, _) = app
        .post(&owner.token, "/api/v1/users", json!({"email": admin_email, "name": "Adm", "password": PASSWORD, "role": "admin", "capacity": 5}))
        .await;
    assert_eq!(s, 201);
    let (admin_token, _) = app.login(&admin_email, PASSWORD).await;
    let (s, _) = upload_avatar(&app, &admin_token, owner.agent_id.as_str(), PNG.to_vec()).await;
    assert_eq!(s, 403, "an admin cannot change an owner's picture");
    // Another workspace's admin cannot touch it.
    let other = app.tenant(Role::Owner).await;
    let (s, _) = upload_avatar(&app, &other.token, &b_id, PNG.to_vec()).await;
    assert_eq!(s, 404);

    // The widget: nothing about agents until the inbox shows them.
    let (vt, _) = app.visitor(&owner.inbox).await;
    let path = format!("/api/v1/widget/agents?ids={b_id},nobody");
    let (s, v) = app.get(&vt, &path).await;
    assert_eq!((s, v.clone()), (200, json!([])));
    let (s, inbox) = app
        .get(&owner.token, &format!("/api/v1/inboxes/{}", owner.inbox.id))
        .await;
    assert_eq!(s, 200);
    let mut widget = inbox["widget"].clone();
    widget["show_agents"] = json!(true);
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({ "widget": widget }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.get(&vt, &path).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["id"], b_id.as_str());
    assert_eq!(v[0]["avatar_url"], u2["avatar_url"]);
    assert!(v[0].get("email").is_none(), "no e-mail for visitors: {v}");
    let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    let (s, _) = app
        .get(
            &vt,
            &format!("/api/v1/widget/agents?ids={}", many.join(",")),
        )
        .await;
    assert_eq!(s, 422);
    // Agents' tokens are not visitors'.
    let (s, _) = app.get(&b_token, &path).await;
    assert_eq!(s, 403);
    // Removing the picture.
    let (s, u) = app
        .delete(&b_token, &format!("/api/v1/users/{b_id}/avatar"))
        .await;
    assert_eq!(s, 200);
    assert!(u["avatar_url"].is_null());
    app.stop().await;
}

both_backends!(
    mentions_and_assignments_notify_the_right_agent,
    preferences_and_avatars
);
