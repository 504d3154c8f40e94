//! The command line as `make soak` and CI use it. Having an integration test
//! also makes `cargo test --workspace` build the `kefu-bench` binary itself,
//! with the same features as the `kefu` binary the server's tests build, so
//! `make test` runs the quick soak without another build.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kefu-bench");

fn scenario(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    std::fs::write(f.path(), text).expect("write scenario");
    f
}

/// A soak that names an attack it does not define is refused before any
/// server starts, with the reason, and the command fails.
#[test]
fn an_invalid_soak_fails_before_starting_a_server() {
    let f = scenario(
        r#"
name = "bad"
kind = "soak"
visitors = 1
[soak]
chat_rate = 1
phases = [{ name = "attack", secs = 1, attacks = ["nobody"] }]
attacks = []
"#,
    );
    let out = Command::new(BIN)
        .args(["--kefu", "/nonexistent/kefu", "--out"])
        .arg(std::env::temp_dir().join("kefu-bench-cli-test"))
        .arg(f.path())
        .output()
        .expect("run kefu-bench");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no attack named nobody"), "{err}");
}
