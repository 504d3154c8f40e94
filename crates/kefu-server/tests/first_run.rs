//! What an operator sees when starting the real binary with its output
//! redirected (a file, a pipe, a log collector): plain text without colour
//! codes, the widget snippet and a password hint on the first start, and on
//! later starts a pointer to the console rather than to an API endpoint.

mod common;

use serde_json::json;
use std::{
    io::Read,
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_kefu");

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn serve(data: &Path, addr: SocketAddr) -> Command {
    let mut c = Command::new(BIN);
    c.arg("serve")
        .env("KEFU_DATA_DIR", data)
        .env("KEFU_LISTEN", addr.to_string())
        .env("KEFU_PUBLIC_URL", format!("http://{addr}"))
        // Info level: the start-up log line is what would carry colour codes.
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Stops the process and returns everything it wrote.
fn finish(mut child: Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn logs_to_a_pipe_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let child = common::spawn_ready(serve(dir.path(), addr), addr).await;
    let out = finish(child);
    assert!(out.contains("ready"), "the start-up log line: {out}");
    assert!(
        !out.contains('\u{1b}'),
        "no ANSI escape codes when stdout is not a terminal: {out:?}"
    );
}

/// Runs `kefu serve` on a pseudo-terminal (util-linux `script`), the way a
/// person at a terminal would: colour there, unless NO_COLOR is set.
async fn on_a_terminal(no_color: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut cmd = serve(dir.path(), addr);
    let mut script = Command::new("script");
    script.args(["-qefc", &format!("'{BIN}' serve"), "/dev/null"]);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    if no_color {
        script.env("NO_COLOR", "1");
    }
    cmd = script;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = common::spawn_ready(cmd, addr).await;
    // Killing `script` closes the terminal: the server gets SIGHUP and ends.
    finish(child)
}

#[tokio::test]
async fn a_terminal_gets_colour_unless_no_color_is_set() {
    let coloured = on_a_terminal(false).await;
    assert!(
        coloured.contains("\u{1b}["),
        "colour on a terminal (this test can see it): {coloured:?}"
    );
    let plain = on_a_terminal(true).await;
    assert!(plain.contains("ready"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR turns colour off: {plain:?}"
    );
}

#[tokio::test]
async fn first_start_prints_the_snippet_and_a_password_hint_later_starts_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let child = common::spawn_ready(serve(dir.path(), addr), addr).await;
    let base = format!("http://{addr}");
    let out = finish(child);
    let pw = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("the password is printed: {out}"))
        .to_string();
    assert!(
        out.contains("change this password"),
        "a hint to change the password: {out}"
    );

    // Start again on the same data: the account exists now.
    let child = common::spawn_ready(serve(dir.path(), addr), addr).await;
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@kefu.local", "password": pw}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"]
        .as_str()
        .expect("the printed password works");
    let inboxes: serde_json::Value = http
        .get(format!("{base}/api/v1/inboxes"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = inboxes["items"][0]["public_key"].as_str().unwrap();
    let snippet = format!("<script src=\"{base}/widget.js\" data-inbox=\"{key}\" async></script>");
    assert!(
        out.contains(&snippet),
        "the first start prints the widget snippet of the inbox it made ({snippet}): {out}"
    );
    let later = finish(child);
    assert!(
        !later.contains("/api/v1/auth/login"),
        "a later start does not send an admin to an API endpoint to log in: {later}"
    );
    assert!(
        later.contains(&format!("{base}/console/")),
        "it points at the console: {later}"
    );
    assert!(!later.contains("password: "), "no password twice: {later}");
}
