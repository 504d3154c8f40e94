//! `GET /api/v1/search` over the real server, on both backends: Chinese and
//! English found as messages arrive, notes for staff, snippets escaped with
//! `<mark>` the only markup, conversations and contacts (edited through the
//! widget), filters and pages; a masked word and a deleted message are not
//! findable; another workspace, a visitor and an API key without the scope
//! see nothing; bad input gets clear errors.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn search(app: &TestApp, token: &str, query: &str, extra: &str) -> (u16, Value) {
    app.get(token, &format!("/api/v1/search?q={}{extra}", q(query)))
        .await
}

async fn found(app: &TestApp, token: &str, query: &str, extra: &str) -> Vec<Value> {
    let (s, v) = search(app, token, query, extra).await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn search_over_the_api(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (visitor, _) = app.visitor(&owner.inbox).await;
    app.post(
        &visitor,
        "/api/v1/widget/identify",
        json!({"name": "王小明", "email": "xiaoming@example.com", "attributes": {"city": "深圳"}}),
    )
    .await;
    let first = app
        .visitor_send(&visitor, "v1", "我想申请退款 <script>alert(1)</script>")
        .await;
    let conv = first["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.visitor_send(&visitor, "v2", "Where is my PARCEL? Tracking SF1234")
        .await;
    let (s, _) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"client_msg_id": "n1", "kind": "note", "content": "VIP 客户，退款优先"}),
        )
        .await;
    assert_eq!(s, 201);

    // Chinese: the message and the note (staff see notes), newest first.
    let hits = found(&app, &owner.token, "退款", "").await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0]["message"]["kind"], "note");
    assert_eq!(hits[0]["snippet"], "VIP 客户，<mark>退款</mark>优先");
    assert_eq!(
        hits[1]["snippet"], "我想申请<mark>退款</mark> &lt;script&gt;alert(1)&lt;/script&gt;",
        "escaped; <mark> is the only markup"
    );
    assert_eq!(hits[1]["message"]["seq"], 1);
    assert_eq!(hits[1]["conversation"]["id"], conv.as_str());
    assert_eq!(hits[1]["contact_name"], "王小明");
    // English: case-insensitive, a prefix.
    let hits = found(&app, &owner.token, "parcel", "").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0]["snippet"],
        "Where is my <mark>PARCEL</mark>? Tracking SF1234"
    );
    assert_eq!(found(&app, &owner.token, "sf12", "").await.len(), 1);
    // Conversations and contacts.
    let hits = found(&app, &owner.token, "退款", "&type=conversations").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["conversation"]["id"], conv.as_str());
    let hits = found(&app, &owner.token, "小明", "&type=contacts").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["contact"]["email"], "xiaoming@example.com");
    assert_eq!(
        hits[0]["snippet"],
        "王<mark>小明</mark> · xiaoming@example.com · city: 深圳"
    );
    assert_eq!(
        found(&app, &owner.token, "深圳", "&type=contacts")
            .await
            .len(),
        1
    );

    // Filters: status, agent, label, time.
    assert!(
        found(&app, &owner.token, "退款", "&status=resolved")
            .await
            .is_empty()
    );
    assert_eq!(
        found(&app, &owner.token, "退款", "&status=open,pending")
            .await
            .len(),
        2
    );
    assert!(
        found(&app, &owner.token, "退款", "&label=vip")
            .await
            .is_empty()
    );
    let later = kefu_store::now_ms() + 60_000;
    assert!(
        found(&app, &owner.token, "退款", &format!("&from={later}"))
            .await
            .is_empty()
    );
    // Pages.
    let (_, page) = search(&app, &owner.token, "退款", "&limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, next) = search(
        &app,
        &owner.token,
        "退款",
        &format!("&limit=1&cursor={}", q(&cursor)),
    )
    .await;
    assert_eq!(next["items"][0]["message"]["seq"], 1);
    assert!(next["next_cursor"].is_null());

    // A masked word is stored masked: not findable.
    let (s, _) = app
        .post(
            &owner.token,
            "/api/v1/sensitive/words",
            json!({"word": "笨蛋", "action": "mask"}),
        )
        .await;
    assert_eq!(s, 201);
    app.visitor_send(&visitor, "v3", "你这个笨蛋客服").await;
    assert!(found(&app, &owner.token, "笨蛋", "").await.is_empty());
    assert_eq!(found(&app, &owner.token, "客服", "").await.len(), 1);

    // A deleted message is not findable.
    let (s, sent) = app
        .post(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"client_msg_id": "a1", "content": "优惠码 WRONG99"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(found(&app, &owner.token, "wrong99", "").await.len(), 1);
    let seq = sent["message"]["seq"].as_i64().unwrap();
    let (s, _) = app
        .delete(
            &owner.token,
            &format!("/api/v1/conversations/{conv}/messages/{seq}"),
        )
        .await;
    assert_eq!(s, 200);
    assert!(found(&app, &owner.token, "wrong99", "").await.is_empty());
    assert!(found(&app, &owner.token, "优惠码", "").await.is_empty());

    // Scope: another workspace finds nothing; visitors cannot search; an
    // API key needs conversations:read, and contacts:read for contacts.
    let other = app.tenant(Role::Agent).await;
    assert!(found(&app, &other.token, "退款", "").await.is_empty());
    assert!(
        found(&app, &other.token, "小明", "&type=contacts")
            .await
            .is_empty()
    );
    let (s, _) = search(&app, &visitor, "退款", "").await;
    assert_eq!(s, 403);
    let (s, created) = app
        .post(
            &owner.token,
            "/api/v1/api-keys",
            json!({"name": "reader", "scopes": ["conversations:read"]}),
        )
        .await;
    assert_eq!(s, 201);
    let key = created["key"].as_str().unwrap();
    assert_eq!(found(&app, key, "退款", "").await.len(), 2);
    let (s, e) = search(&app, key, "小明", "&type=contacts").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("missing_scope"))
    );

    // Bad input.
    let (s, e) = search(&app, &owner.token, " !!! ", "").await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));
    let (s, _) = search(&app, &owner.token, "退款", "&cursor=zzz").await;
    assert_eq!(s, 400);
    let (s, _) = search(&app, &owner.token, "退款", "&type=everything").await;
    assert_eq!(s, 400);
    let (s, _) = search(&app, &owner.token, "退款", "&limit=500").await;
    assert_eq!(s, 422);
    let (s, _) = app.get(&owner.token, "/api/v1/search").await;
    assert_eq!(s, 400, "q is required");
    app.stop().await;
}

#[tokio::test]
async fn search_on_sqlite() {
    search_over_the_api(Db::Sqlite).await
}

#[tokio::test]
async fn search_on_postgres() {
    search_over_the_api(Db::Postgres).await
}
