//! The server under test: a `kefu serve` child process on a fresh data dir
//! (or a given PostgreSQL database), with accounts set up through the real
//! CLI and API, and its memory read from /proc. Or a server started by
//! someone else (`--server`), which the run only attaches to: the bench
//! cross-check does that, to measure one server with two clients.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Server {
    pub addr: SocketAddr,
    pub base: String,
    /// For memory figures; `None` when attached to a server without `--server-pid`.
    pub pid: Option<u32>,
    /// Process start → /readyz 200, on an already-initialised data dir.
    pub cold_start_ms: f64,
    pub binary_bytes: u64,
    pub backend: &'static str,
    /// The process and its data dir, when this run started it.
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

/// Accounts the simulated users use.
pub struct Accounts {
    /// The owner's access token (the soak reads the server's connection counters with it).
    pub owner: String,
    pub inbox_key: String,
    /// (user id, access token) per agent.
    pub agents: Vec<(String, String)>,
}

/// The owner every run logs in as. A server given with `--server` must have
/// it: `KEFU_USER_PASSWORD=bench-password-1 kefu user create --workspace bench
/// --email owner@bench.local --role owner`.
const OWNER: &str = "owner@bench.local";
const PASSWORD: &str = "bench-password-1";

fn free_addr() -> Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Server {
    /// Starts `kefu` with limits raised for load (so the benchmark measures
    /// capacity, not the abuse limits) plus `env` from the scenario, which
    /// comes last and so can lower them again (the soak does).
    pub async fn start(
        bin: &Path,
        database_url: Option<&str>,
        env: &[(String, String)],
    ) -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let addr = free_addr()?;
        let cmd = |args: &[&str]| {
            let mut c = Command::new(bin);
            c.args(args)
                .env("KEFU_DATA_DIR", dir.path())
                .env("KEFU_LISTEN", addr.to_string())
                .env("KEFU_LIMITS__VISITOR_MESSAGES_PER_MINUTE", "1000000")
                .env("KEFU_LIMITS__WS_FRAMES_PER_SECOND", "1000000")
                .env("KEFU_LIMITS__WS_FRAME_BURST", "1000000")
                .env("KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE", "1000000")
                .env("KEFU_LIMITS__LOGIN_ATTEMPTS_PER_MINUTE", "1000000")
                // Every simulated user shares a handful of loopback addresses,
                // so the per-address connection caps would refuse them.
                .env("KEFU_LIMITS__MAX_CONNECTIONS_PER_IP", "1000000")
                .env("KEFU_LIMITS__CONNECTIONS_PER_IP_PER_SECOND", "1000000")
                .env("KEFU_LIMITS__CONNECTIONS_PER_IP_BURST", "1000000")
                .env("RUST_LOG", "warn");
            if let Some(u) = database_url {
                c.env("KEFU_DATABASE_URL", u);
            }
            for (k, v) in env {
                c.env(k, v);
            }
            c
        };
        let out = cmd(&[
            "user",
            "create",
            "--workspace",
            "bench",
            "--email",
            OWNER,
            "--role",
            "owner",
        ])
        .env("KEFU_USER_PASSWORD", PASSWORD)
        .output()?;
        if !out.status.success() {
            bail!(
                "kefu user create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let started = Instant::now();
        let child = cmd(&["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting kefu")?;
        let pid = child.id();
        let http = reqwest::Client::new();
        let ready = format!("http://{addr}/readyz");
        let mut cold_start_ms = None;
        for _ in 0..4000 {
            if let Ok(r) = http.get(&ready).send().await
                && r.status() == 200
            {
                cold_start_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let Some(cold_start_ms) = cold_start_ms else {
            bail!("kefu did not become ready")
        };
        Ok(Server {
            addr,
            base: format!("http://{addr}"),
            pid: Some(pid),
            cold_start_ms,
            binary_bytes: std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0),
            backend: if database_url.is_some() {
                "postgres"
            } else {
                "sqlite"
            },
            child: Some(child),
            _dir: Some(dir),
        })
    }

    /// A running server on loopback (`http://127.0.0.1:PORT`) that has the
    /// bench owner ([`OWNER`]) and raised limits; `pid` for memory figures.
    pub async fn attach(base: &str, pid: Option<u32>) -> Result<Server> {
        let base = base.trim_end_matches('/').to_string();
        let host = base
            .strip_prefix("http://")
            .context("--server: an http:// URL")?;
        let addr: SocketAddr = host
            .parse()
            .context("--server: an IP address and port, e.g. http://127.0.0.1:8080")?;
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "--server: loopback only (this is a load generator)"
        );
        let r = reqwest::get(format!("{base}/readyz")).await?;
        anyhow::ensure!(r.status() == 200, "{base}/readyz answered {}", r.status());
        Ok(Server {
            addr,
            base,
            pid,
            cold_start_ms: 0.0,
            binary_bytes: 0,
            backend: "attached",
            child: None,
            _dir: None,
        })
    }

    /// Resident memory of the server process, in KiB (0 if unknown).
    pub fn rss_kib(&self) -> u64 {
        self.pid.and_then(rss_kib).unwrap_or(0)
    }

    /// Creates the inbox and `agents` agents (owner → API), logs them in.
    pub async fn accounts(&self, http: &reqwest::Client, agents: usize) -> Result<Accounts> {
        let owner = login(http, &self.base, OWNER).await?;
        let inbox: Value = http
            .post(format!("{}/api/v1/inboxes", self.base))
            .bearer_auth(&owner)
            .json(&json!({"name": "Bench"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut out = Vec::new();
        // Unique per run: several runs may attach to one server.
        let run: u32 = rand::random();
        for i in 0..agents {
            let email = format!("agent{i}-{run:08x}@bench.local");
            let u: Value = http
                .post(format!("{}/api/v1/users", self.base))
                .bearer_auth(&owner)
                .json(&json!({"email": email, "name": format!("Agent {i}"), "password": PASSWORD, "role": "agent", "capacity": 1000}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let token = login(http, &self.base, &email).await?;
            out.push((u["id"].as_str().unwrap_or_default().to_string(), token));
        }
        Ok(Accounts {
            owner,
            inbox_key: inbox["public_key"].as_str().unwrap_or_default().to_string(),
            agents: out,
        })
    }

    /// SIGTERM, then wait (the server drains and exits 0). An attached
    /// server is left running.
    pub fn stop(self) -> Result<()> {
        let (Some(mut child), Some(pid)) = (self.child, self.pid) else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    eprintln!("warning: kefu exited with {status}");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        bail!("kefu did not exit within 15 s of SIGTERM")
    }
}

async fn login(http: &reqwest::Client, base: &str, email: &str) -> Result<String> {
    let v: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(v["access_token"].as_str().unwrap_or_default().to_string())
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
