//! The bot's knowledge base over the real server, on both backends: the
//! repository's sample set imported (and re-imported: nothing changes),
//! exported and read back in every format, searched, edited with clear
//! errors, and "try the bot" answering Chinese and English questions.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};

fn sample() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bot/samples/shop-faq.json"
    ))
    .unwrap()
}

async fn raw(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: String,
) -> (u16, Value) {
    let r = app
        .http
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn text(app: &TestApp, token: &str, path: &str) -> (u16, String, String) {
    let r = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, ct, r.text().await.unwrap())
}

async fn try_bot(app: &TestApp, token: &str, message: &str) -> Value {
    let (s, v) = app
        .post(token, "/api/v1/bot/try", json!({ "message": message }))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn knowledge_base_and_try_the_bot(db: Db) {
    let app = spawn_with(db, |c| c.limits.max_kb_import_bytes = 200_000).await;
    let owner = app.tenant(Role::Owner).await;
    let (_, agent) = app
        .agent(
            &owner,
            &format!("a-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let post = reqwest::Method::POST;

    // Import the sample set, then again: nothing changes.
    let (s, r) = raw(
        &app,
        &owner.token,
        post.clone(),
        "/api/v1/kb/import?format=json",
        sample(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (
            r["created"].as_u64(),
            r["updated"].as_u64(),
            r["errors"].clone()
        ),
        (Some(60), Some(0), json!([])),
        "{r}"
    );
    let (_, r) = raw(
        &app,
        &owner.token,
        post.clone(),
        "/api/v1/kb/import?format=json",
        sample(),
    )
    .await;
    assert_eq!(
        (r["created"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(60)),
        "{r}"
    );

    // Every export format reads back as the same knowledge base.
    for (f, ct) in [
        ("csv", "text/csv"),
        ("md", "text/markdown"),
        ("json", "application/json"),
    ] {
        let (s, got_ct, body) =
            text(&app, &owner.token, &format!("/api/v1/kb/export?format={f}")).await;
        assert_eq!(s, 200);
        assert!(got_ct.starts_with(ct), "{got_ct}");
        let (s, r) = raw(
            &app,
            &owner.token,
            post.clone(),
            &format!("/api/v1/kb/import?format={f}"),
            body,
        )
        .await;
        assert_eq!(s, 200, "{f}: {r}");
        assert_eq!(
            (
                r["created"].as_u64(),
                r["updated"].as_u64(),
                r["unchanged"].as_u64()
            ),
            (Some(0), Some(0), Some(60)),
            "{f}: {r}"
        );
    }

    // Search and filters.
    let (_, l) = app
        .get(&agent, "/api/v1/kb/entries?q=%E9%80%80%E8%B4%A7&limit=200")
        .await; // 退货
    assert!(!l["items"].as_array().unwrap().is_empty(), "{l}");
    let (_, l) = app.get(&agent, "/api/v1/kb/entries?enabled=false").await;
    assert_eq!(
        l["items"].as_array().unwrap().len(),
        2,
        "the expired promotion: {l}"
    );
    let (_, l) = app
        .get(&agent, "/api/v1/kb/entries?language=en&limit=200")
        .await;
    assert_eq!(l["items"].as_array().unwrap().len(), 30);
    let (s, e) = app.get(&agent, "/api/v1/kb/entries?language=fr").await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("validation")));

    // Try the bot: Chinese and English, a request for a person.
    let v = try_bot(&app, &agent, "衣服收到了不喜欢，七天内能退吗").await;
    assert_eq!(v["language"], "zh");
    assert_eq!(v["candidates"][0]["external_id"], "returns-7day.zh", "{v}");
    assert!(v["candidates"][0]["by_plugin"][0]["plugin"] == "lexical");
    let v = try_bot(&app, &agent, "how long does a refund take to reach my card").await;
    assert_eq!(v["language"], "en");
    assert_eq!(v["candidates"][0]["external_id"], "refund-time.en", "{v}");
    assert_eq!(v["decision"]["action"], "answer", "{v}");
    assert!(v["decision"]["answer"].as_str().unwrap().len() > 10);
    let v = try_bot(&app, &agent, "我要转人工").await;
    assert_eq!(
        (
            v["decision"]["action"].as_str(),
            v["decision"]["reason"].as_str()
        ),
        (Some("hand_off"), Some("asked")),
        "{v}"
    );
    assert_eq!(v["asked_for_person"], true);
    let (s, _) = app
        .post(&agent, "/api/v1/bot/try", json!({"message": "  "}))
        .await;
    assert_eq!(s, 422);

    // Editing: admins only, with clear errors; the bot sees a change at once.
    let (s, _) = app
        .post(
            &agent,
            "/api/v1/kb/entries",
            json!({"question": "q", "answer": "a"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, e) = app
        .post(&owner.token, "/api/v1/kb/entries", json!({"question": "有实体店吗", "answer": "有，在杭州西湖区文三路 1 号。", "language": "zh", "external_id": "store.zh", "alternatives": ["线下门店在哪"]}))
        .await;
    assert_eq!(s, 201, "{e}");
    let id = e["id"].as_str().unwrap().to_string();
    let v = try_bot(&app, &agent, "你们线下门店在哪里").await;
    assert_eq!(v["candidates"][0]["entry_id"], id.as_str(), "{v}");
    for (bad, code) in [
        (json!({"question": "", "answer": "a"}), 422),
        (
            json!({"question": "q", "answer": "a", "language": "fr"}),
            422,
        ),
        (
            json!({"question": "q", "answer": "a", "external_id": "a b"}),
            422,
        ),
        (
            json!({"question": "q", "answer": "a", "external_id": "store.zh"}),
            409,
        ),
        (json!({"question": "q", "answer": "a", "html": "<b>"}), 422),
    ] {
        let (s, e) = app
            .post(&owner.token, "/api/v1/kb/entries", bad.clone())
            .await;
        assert!(s == code || (code == 422 && s == 400), "{bad}: {s} {e}");
        assert!(e["error"]["code"].is_string(), "{e}");
    }
    let path = format!("/api/v1/kb/entries/{id}");
    let (s, e) = app
        .put(&owner.token, &path, json!({"question": "有实体店吗", "answer": "没有，只在网上销售。", "language": "zh", "external_id": "store.zh", "enabled": false}))
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["enabled"], false);
    let v = try_bot(&app, &agent, "你们线下门店在哪里").await;
    assert_ne!(
        v["candidates"][0]["entry_id"],
        id.as_str(),
        "a disabled entry never answers: {v}"
    );

    // Other workspaces see nothing of it.
    let other = app.tenant(Role::Owner).await;
    let (s, _) = app.get(&other.token, &path).await;
    assert_eq!(s, 404);
    let (s, _) = app.delete(&other.token, &path).await;
    assert_eq!(s, 404);
    let (_, l) = app.get(&other.token, "/api/v1/kb/entries").await;
    assert_eq!(l["items"], json!([]));
    let v = try_bot(&app, &other.token, "七天无理由退货").await;
    assert_eq!(v["candidates"], json!([]));
    let (s, _) = app.delete(&owner.token, &path).await;
    assert_eq!(s, 204);

    // Imports: bad format, unreadable file, too large, bad entries listed.
    let (s, e) = raw(
        &app,
        &owner.token,
        post.clone(),
        "/api/v1/kb/import?format=xlsx",
        "x".into(),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("bad_format")),
        "{e}"
    );
    let (s, e) = raw(
        &app,
        &owner.token,
        post.clone(),
        "/api/v1/kb/import?format=json",
        "{nope".into(),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("bad_file")),
        "{e}"
    );
    let (s, e) = raw(
        &app,
        &owner.token,
        post.clone(),
        "/api/v1/kb/import?format=md",
        "## q\n\n".repeat(40_000),
    )
    .await;
    assert_eq!(s, 413, "{e}");
    let (s, r) = raw(
        &app,
        &owner.token,
        post.clone(),
        "/api/v1/kb/import?format=csv",
        "question,answer,language\nok?,yes,en\n,no question,en\nq,a,fr\n".into(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["created"], 1);
    assert_eq!(
        r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["item"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3]
    );
    let (s, _) = raw(
        &app,
        &agent,
        post,
        "/api/v1/kb/import?format=json",
        sample(),
    )
    .await;
    assert_eq!(s, 403, "agents do not import");
    app.stop().await;
}

both_backends!(knowledge_base_and_try_the_bot);
