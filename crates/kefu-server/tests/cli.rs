//! The `kefu` command as an operator uses it: version, migrate, user
//! creation, and a clean exit on SIGTERM with clients told to reconnect.

mod common;

use common::Ws;
use serde_json::json;
use std::{
    net::SocketAddr,
    process::{Command, Output, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_kefu");

fn kefu(data: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("KEFU_DATA_DIR", data).env("RUST_LOG", "warn");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn version_migrate_and_user_create() {
    let dir = tempfile::tempdir().unwrap();
    let o = kefu(dir.path()).arg("--version").output().unwrap();
    assert!(o.status.success());
    assert!(text(&o).contains(env!("CARGO_PKG_VERSION")));

    let o = kefu(dir.path()).arg("migrate").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("migrations applied (sqlite)"));
    assert!(dir.path().join("kefu.db").exists());
    assert!(dir.path().join("secrets.toml").exists());

    let create = |email: &str, pw: &str, role: &str| {
        kefu(dir.path())
            .args([
                "user",
                "create",
                "--workspace",
                "Acme 客服",
                "--email",
                email,
                "--role",
                role,
            ])
            .env("KEFU_USER_PASSWORD", pw)
            .output()
            .unwrap()
    };
    let o = create("boss@example.com", "long-enough-pw", "owner");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("created workspace"));
    let o = create("agent@example.com", "long-enough-pw", "agent");
    assert!(o.status.success());
    assert!(
        !text(&o).contains("created workspace"),
        "the workspace is reused"
    );
    for (email, pw, role, why) in [
        (
            "boss@example.com",
            "long-enough-pw",
            "agent",
            "already exists",
        ),
        ("x@example.com", "short", "agent", "at least 8"),
        ("y@example.com", "long-enough-pw", "root", "invalid value"),
    ] {
        let o = create(email, pw, role);
        assert!(!o.status.success());
        assert!(text(&o).contains(why), "{why}: {}", text(&o));
        assert!(
            !text(&o).contains("long-enough-pw"),
            "passwords are never echoed"
        );
    }
    // A typo in the configuration is an error, not a silent default.
    let o = kefu(dir.path())
        .arg("migrate")
        .env("KEFU_LISTN", "x")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("listn"), "{}", text(&o));
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = kefu(dir.path())
        .arg("serve")
        .env("KEFU_LISTEN", addr.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if http
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ready);
    let inbox = {
        // The first start bootstrapped a workspace with an inbox and an owner; the
        // printed password is the way in.
        use std::io::Read;
        let mut out = child.stdout.take().unwrap();
        let mut buf = vec![0u8; 4096];
        let n = out.read(&mut buf).unwrap();
        let printed = String::from_utf8_lossy(&buf[..n]).to_string();
        let pw = printed
            .lines()
            .find_map(|l| l.trim().strip_prefix("password: "))
            .expect("password printed once")
            .to_string();
        let login: serde_json::Value = http
            .post(format!("http://{addr}/api/v1/auth/login"))
            .json(&json!({"email":"admin@kefu.local","password":pw}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["access_token"].as_str().unwrap().to_string();
        let inboxes: serde_json::Value = http
            .get(format!("http://{addr}/api/v1/inboxes"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        inboxes["items"][0]["public_key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let v: serde_json::Value = http
        .post(format!("http://{addr}/api/v1/widget/session"))
        .json(&json!({"inbox_key": inbox}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ws = Ws::connect(addr).await;
    ws.send(json!({"type":"auth","token":v["visitor_token"]}))
        .await;
    ws.expect("hello").await;
    ws.send_text(None, "before-term", "hello").await;

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(ws.expect("reconnect").await["after_ms"].as_u64().unwrap() >= 500);
    assert_eq!(ws.close_code().await, Some(1012));
    drop(ws);
    let code = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(code.success(), "exit status {code:?}");
}

/// `kefu bot eval` on the repository's sample set: thresholds chosen on the
/// validation split, the report printed and written as JSON and Markdown,
/// and bad input refused with the file and line.
#[test]
fn bot_eval_reports_on_the_sample_set() {
    let dir = tempfile::tempdir().unwrap();
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bot/samples");
    let out = dir.path().join("eval");
    let o = kefu(dir.path())
        .args(["bot", "eval", "--kb"])
        .arg(format!("{samples}/shop-faq.json"))
        .arg("--questions")
        .arg(format!("{samples}/questions-test.jsonl"))
        .arg("--validation")
        .arg(format!("{samples}/questions-validation.jsonl"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("thresholds chosen on"), "{t}");
    assert!(t.contains("| Top-1 accuracy (in scope) |"), "{t}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let r = &report["report"];
    assert_eq!(r["questions"].as_u64(), Some(333));
    assert!(r["out_of_scope"].as_u64().unwrap() > 50);
    // Not a target (docs/benchmarks.md has the figures): a floor that catches
    // a retrieval that broke.
    assert!(r["top3"].as_f64().unwrap() > 0.8, "{r}");
    assert!(r["mrr"].as_f64().unwrap() > 0.7, "{r}");
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("Most confused")
    );

    // A question file with a broken line: its path and line, no report.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"question\":\"hi\",\"expected\":\"\"}\n{oops\n").unwrap();
    let o = kefu(dir.path())
        .args(["bot", "eval", "--kb"])
        .arg(format!("{samples}/shop-faq.json"))
        .arg("--questions")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("bad.jsonl:2"), "{}", text(&o));
}
