//! Reports over the real server, on both backends: a scripted day of
//! conversations (answered, reopened, transferred, unanswered) gives the
//! expected figures through the API and the CSV, per day, hour of the week,
//! agent and inbox, on the clock and in business hours; agents see only
//! their own figures.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::{Value, json};

struct Day {
    app: TestApp,
    owner: Tenant,
    ann: (String, String),
    bob: (String, String),
}

impl Day {
    /// The visitor rates; the status and answer.
    async fn rate(
        &self,
        token: &str,
        conv: &str,
        rating: i64,
        comment: Option<&str>,
    ) -> (u16, Value) {
        self.app
            .post(
                token,
                "/api/v1/widget/csat",
                json!({"conversation_id": conv, "rating": rating, "comment": comment}),
            )
            .await
    }

    async fn visitor_says(&self, token: &str, cmid: &str, text: &str) -> (String, i64) {
        let v = self.app.visitor_send(token, cmid, text).await;
        (
            v["message"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string(),
            v["message"]["created_at"].as_i64().unwrap(),
        )
    }

    /// An agent's reply; its `created_at`.
    async fn reply(&self, token: &str, conv: &str, text: &str) -> i64 {
        let (s, v) = self
            .app
            .post(
                token,
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"content": text}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["message"]["created_at"].as_i64().unwrap()
    }

    async fn post(&self, token: &str, conv: &str, what: &str, body: Value) -> Value {
        let (s, v) = self
            .app
            .post(token, &format!("/api/v1/conversations/{conv}{what}"), body)
            .await;
        assert_eq!(s, 200, "{what}: {v}");
        v
    }

    /// Resolves; the conversation's `updated_at` (the resolve's time).
    async fn resolve(&self, token: &str, conv: &str) -> i64 {
        let v = self
            .post(token, conv, "/status", json!({"status": "resolved"}))
            .await;
        assert_eq!(v["status"], "resolved");
        v["updated_at"].as_i64().unwrap()
    }

    async fn created_at(&self, conv: &str) -> i64 {
        let (s, v) = self
            .app
            .get(&self.owner.token, &format!("/api/v1/conversations/{conv}"))
            .await;
        assert_eq!(s, 200);
        v["created_at"].as_i64().unwrap()
    }
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn close(a: &Value, b: f64) {
    let a = a.as_f64().unwrap_or(f64::NAN);
    assert!((a - b).abs() < 1e-6, "{a} != {b}");
}

async fn report(app: &TestApp, token: &str, q: &str) -> Value {
    let (s, v) = app
        .get(token, &format!("/api/v1/reports/summary?{q}"))
        .await;
    assert_eq!(s, 200, "{q}: {v}");
    assert_eq!(v["complete"], true, "{v}");
    v
}

fn row<'a>(r: &'a Value, key: &str) -> &'a Value {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {r}"))
}

async fn a_day_of_conversations(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let ann = app
        .agent(
            &owner,
            &format!("ann-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let bob = app
        .agent(
            &owner,
            &format!("bob-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    // The inbox is never open: every business-time duration is 0 (the
    // widget still takes messages; it only shows "away").
    let (s, v) = app
        .patch(
            &owner.token,
            &format!("/api/v1/inboxes/{}", owner.inbox.id),
            json!({"widget": {"business_hours": {"timezone": "UTC", "periods": []}, "csat": {"enabled": true, "question_zh": "满意吗？"}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let day = Day {
        app,
        owner,
        ann,
        bob,
    };
    let (ann_id, ann_tok) = (&day.ann.0, &day.ann.1);
    let (bob_id, bob_tok) = (&day.bob.0, &day.bob.1);
    let owner_tok = &day.owner.token;

    // A: answered by Ann, a follow-up question, resolved.
    let (va, _) = day.app.visitor(&day.owner.inbox).await;
    let (a, _) = day.visitor_says(&va, "a1", "你好，我的订单呢？").await;
    day.post(owner_tok, &a, "/assign", json!({"assignee_id": ann_id}))
        .await;
    let a_first = day.reply(ann_tok, &a, "我看一下").await;
    let (_, a_wait) = day.visitor_says(&va, "a2", "还有发票").await;
    day.visitor_says(&va, "a3", "谢谢").await;
    let a_reply = day.reply(ann_tok, &a, "发票已开").await;
    let (s, v) = day.rate(&va, &a, 5, None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "not resolved yet: {v}"
    );
    let a_resolved = day.resolve(ann_tok, &a).await;
    let a_created = day.created_at(&a).await;
    // CSAT: a rating outside 1-5 or a long comment is refused; the same
    // resolve rated twice keeps the first rating.
    let (s, _) = day.rate(&va, &a, 6, None).await;
    assert_eq!(s, 422);
    let (s, _) = day.rate(&va, &a, 5, Some(&"长".repeat(1001))).await;
    assert_eq!(s, 422);
    let (s, v) = day.rate(&va, &a, 5, Some("  很快，谢谢 ")).await;
    assert_eq!(
        (s, v["rating"].as_i64(), v["comment"].as_str()),
        (201, Some(5), Some("很快，谢谢")),
        "{v}"
    );
    let (s, v) = day.rate(&va, &a, 1, None).await;
    assert_eq!((s, v["rating"].as_i64()), (200, Some(5)), "{v}");

    // B: Bob answers and resolves; the customer writes again (reopened),
    // Bob answers and resolves again.
    let (vb, _) = day.app.visitor(&day.owner.inbox).await;
    let (b, _) = day.visitor_says(&vb, "b1", "where is my parcel?").await;
    day.post(owner_tok, &b, "/assign", json!({"assignee_id": bob_id}))
        .await;
    let b_first = day.reply(bob_tok, &b, "on its way").await;
    let b_resolved1 = day.resolve(bob_tok, &b).await;
    assert_eq!(day.rate(&vb, &b, 2, None).await.0, 201);
    let (b2, b_wait) = day.visitor_says(&vb, "b2", "it is not here").await;
    assert_eq!(b2, b, "reopened within the window");
    let b_reply = day.reply(bob_tok, &b, "sorry, re-sent").await;
    let b_resolved2 = day.resolve(bob_tok, &b).await;
    // A new resolve is rated anew.
    assert_eq!(day.rate(&vb, &b, 4, None).await.0, 201);
    // Someone else's conversation is not found.
    assert_eq!(day.rate(&va, &b, 4, None).await.0, 404);
    let (s, list) = day
        .app
        .get(owner_tok, &format!("/api/v1/conversations/{b}/csat"))
        .await;
    assert_eq!(s, 200);
    let ratings: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rating"].as_i64().unwrap())
        .collect();
    assert_eq!(ratings, [2, 4]);
    let b_created = day.created_at(&b).await;

    // C: Ann answers, then hands it to Bob, who writes too (nobody waited).
    let (vc, _) = day.app.visitor(&day.owner.inbox).await;
    let (c, _) = day
        .visitor_says(&vc, "c1", "can I change my address?")
        .await;
    day.post(owner_tok, &c, "/assign", json!({"assignee_id": ann_id}))
        .await;
    let c_first = day.reply(ann_tok, &c, "let me ask").await;
    day.post(ann_tok, &c, "/transfer", json!({"to_agent_id": bob_id}))
        .await;
    day.reply(bob_tok, &c, "done").await;
    let c_created = day.created_at(&c).await;

    // D: nobody answers.
    let (vd, _) = day.app.visitor(&day.owner.inbox).await;
    let (d, d_said) = day.visitor_says(&vd, "d1", "hello?").await;
    let d_created = day.created_at(&d).await;

    // The whole day in UTC.
    let today = jiff::Timestamp::from_millisecond(a_created)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let q = format!("from={today}&to={today}&tz=UTC");
    let r = report(&day.app, owner_tok, &format!("{q}&group_by=day")).await;
    let t = &r["total"];
    assert_eq!(t["conversations_opened"], 4, "{t}");
    assert_eq!(t["conversations_resolved"], 3);
    assert_eq!(t["conversations_reopened"], 1);
    assert_eq!(t["first_responses"], 3);
    assert_eq!(t["replies"], 2);
    assert_eq!(t["transfers"], 1);
    assert_eq!(t["bot_conversations"], 0);
    assert_eq!(t["handoff_rate"], Value::Null, "no bot, no rate");
    let first = [
        a_first - a_created,
        b_first - b_created,
        c_first - c_created,
    ];
    close(
        &t["first_response_avg_s"],
        secs(first.iter().sum::<i64>()) / 3.0,
    );
    let replies = [a_reply - a_wait, b_reply - b_wait];
    close(
        &t["reply_time_avg_s"],
        secs(replies.iter().sum::<i64>()) / 2.0,
    );
    let resolutions = [
        a_resolved - a_created,
        b_resolved1 - b_created,
        b_resolved2 - b_created,
    ];
    close(
        &t["resolution_time_avg_s"],
        secs(resolutions.iter().sum::<i64>()) / 3.0,
    );
    assert_eq!(t["csat_ratings"], 3);
    close(&t["csat_avg"], 11.0 / 3.0);
    close(&t["csat_response_rate"], 1.0);
    assert_eq!(r["csat_distribution"], json!([0, 1, 0, 1, 1]));
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "one day");
    assert_eq!(rows[0]["key"], today.as_str());
    assert_eq!(rows[0]["conversations_opened"], 4);

    // Business hours: the inbox was never open.
    let bh = report(
        &day.app,
        owner_tok,
        &format!("{q}&group_by=day&business_hours=true"),
    )
    .await;
    close(&bh["total"]["first_response_avg_s"], 0.0);
    close(&bh["total"]["resolution_time_avg_s"], 0.0);
    assert_eq!(bh["total"]["first_responses"], 3);

    // Per hour of the week: D opened in its hour.
    let how = report(&day.app, owner_tok, &format!("{q}&group_by=hour_of_week")).await;
    assert_eq!(how["rows"].as_array().unwrap().len(), 168);
    let d_hour = {
        let z = jiff::Timestamp::from_millisecond(d_created)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::UTC);
        format!("{}-{:02}", z.weekday().to_monday_one_offset(), z.hour())
    };
    assert!(row(&how, &d_hour)["conversations_opened"].as_i64().unwrap() >= 1);
    let opened: i64 = how["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["conversations_opened"].as_i64().unwrap())
        .sum();
    assert_eq!(opened, 4);

    // Per agent: Ann answered A and C first, Bob B; Bob resolved twice.
    let by = report(&day.app, owner_tok, &format!("{q}&group_by=agent")).await;
    let (ra, rb) = (row(&by, ann_id), row(&by, bob_id));
    assert_eq!(
        (
            ra["first_responses"].as_i64(),
            rb["first_responses"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(
        (ra["replies"].as_i64(), rb["replies"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (
            ra["conversations_resolved"].as_i64(),
            rb["conversations_resolved"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(
        ra["transfers"], 1,
        "counted for the agent who handed it over"
    );
    close(&ra["reply_time_avg_s"], secs(a_reply - a_wait));
    assert_eq!(
        row(&by, "")["conversations_opened"],
        4,
        "openings name no agent"
    );

    // Per inbox; and a filter.
    let inbox = report(&day.app, owner_tok, &format!("{q}&group_by=inbox")).await;
    assert_eq!(row(&inbox, &day.owner.inbox.id)["conversations_opened"], 4);
    let only_bob = report(&day.app, owner_tok, &format!("{q}&agent={bob_id}")).await;
    assert_eq!(only_bob["total"]["conversations_resolved"], 2);

    // The CSV says the same.
    let res = day
        .app
        .http
        .get(
            day.app
                .url(&format!("/api/v1/reports/summary.csv?{q}&group_by=agent")),
        )
        .bearer_auth(owner_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let col = |name: &str| lines[0].iter().position(|h| *h == name).unwrap();
    let line = |key: &str| lines.iter().find(|l| l[0] == key).unwrap();
    assert_eq!(line(ann_id)[col("first_responses")], "2");
    assert_eq!(line(bob_id)[col("conversations_resolved")], "2");
    assert_eq!(line("total")[col("conversations_opened")], "4");
    assert_eq!(
        line(ann_id)[col("reply_time_avg_s")],
        format!("{:.1}", secs(a_reply - a_wait))
    );

    // An agent sees their own figures only.
    let mine = report(&day.app, bob_tok, &q).await;
    assert_eq!(mine["total"]["conversations_resolved"], 2);
    assert_eq!(mine["total"]["first_responses"], 1);
    assert_eq!(mine["total"]["conversations_opened"], 0);
    let (s, e) = day
        .app
        .get(
            bob_tok,
            &format!("/api/v1/reports/summary?{q}&agent={ann_id}"),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{e}"
    );

    // Bad input is a clear 4xx.
    for (bad, code) in [
        ("from=2026-13-01&to=2026-12-01", 422),
        ("from=2026-12-02&to=2026-12-01", 422),
        ("from=2026-12-01&to=2026-12-01&tz=Mars/Base", 422),
        ("from=2026-12-01&to=2026-12-01&group_by=week", 422),
        ("from=2026-12-01", 400),
    ] {
        let (s, e) = day
            .app
            .get(owner_tok, &format!("/api/v1/reports/summary?{bad}"))
            .await;
        assert_eq!(s, code, "{bad}: {e}");
        assert!(e["error"]["code"].is_string(), "{e}");
    }
    // The live dashboard: C (Bob's) and D (nobody's, waiting) are open.
    let (s, live) = day.app.get(owner_tok, "/api/v1/reports/live").await;
    assert_eq!(s, 200, "{live}");
    assert_eq!(
        (live["open"].as_i64(), live["queued"].as_i64()),
        (Some(2), Some(0)),
        "{live}"
    );
    assert_eq!(live["waiting"], 1, "{live}");
    assert_eq!(live["longest_waiting_since"], d_said);
    let load = |id: &str| {
        live["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .map(|a| a["active"].as_i64().unwrap())
    };
    assert_eq!((load(ann_id), load(bob_id)), (Some(0), Some(1)));
    // Another workspace sees none of it.
    let other = day.app.tenant(Role::Owner).await;
    let none = report(&day.app, &other.token, &q).await;
    assert_eq!(none["total"]["conversations_opened"], 0);
    day.app.stop().await;
}

both_backends!(a_day_of_conversations);
