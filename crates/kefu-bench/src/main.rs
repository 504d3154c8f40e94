//! `kefu-bench`: runs a load scenario against a kefu server it starts itself
//! (so it knows the server's pid for memory figures and can raise the abuse
//! limits), over loopback only, and writes result.json, summary.md and plots.
//! A soak scenario is also a test: the command exits non-zero when normal
//! traffic was not served under attack.

mod client;
mod pace;
mod population;
mod report;
mod run;
mod scenario;
mod server;
mod soak;
mod stats;

use anyhow::Result;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "kefu-bench",
    about = "Load generator for kefu: visitors and agents over the real protocol."
)]
struct Cli {
    /// Scenario files (TOML); each runs against a fresh server.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// The kefu binary to benchmark.
    #[arg(long, default_value = "target/release/kefu")]
    kefu: PathBuf,
    /// Benchmark the PostgreSQL backend: a database URL (a fresh schema is not created; use an empty database).
    #[arg(long)]
    database_url: Option<String>,
    /// Where results go (one folder per scenario).
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Run against this already running server (http://127.0.0.1:PORT)
    /// instead of starting one. It must have the bench owner (see
    /// scripts/bench-crosscheck.sh) and raised limits; the scenario's
    /// `server_env` does not apply.
    #[arg(long, conflicts_with = "database_url")]
    server: Option<String>,
    /// With --server: its process id, for the memory figures.
    #[arg(long, requires = "server")]
    server_pid: Option<u32>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mut all = String::new();
    let mut failed = Vec::new();
    for path in &cli.scenarios {
        let s = scenario::Scenario::load(path)?;
        eprintln!(
            "== {} ({:?}): {} visitors, {} agents",
            s.name, s.kind, s.visitors, s.agents
        );
        let env: Vec<(String, String)> = s
            .server_env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let server = match &cli.server {
            Some(url) => {
                if !env.is_empty() {
                    eprintln!("warning: --server: the scenario's server_env is not applied");
                }
                server::Server::attach(url, cli.server_pid).await?
            }
            None => server::Server::start(&cli.kefu, cli.database_url.as_deref(), &env).await?,
        };
        let accounts = server.accounts(&http, s.agents).await?;
        let outcome = run::run(&s, &server, &accounts, &http).await;
        let info = report::ServerInfo {
            backend: server.backend,
            cold_start_ms: server.cold_start_ms,
            binary_bytes: server.binary_bytes,
        };
        server.stop()?;
        let outcome = outcome?;
        let r = report::Report {
            scenario: &s.name,
            kind: format!("{:?}", s.kind),
            visitors: s.visitors,
            agents: s.agents,
            machine: report::Machine::here(),
            server: info,
            outcome: &outcome,
        };
        let md = report::write(&cli.out.join(&s.name), &s, &r)?;
        println!("{md}");
        all.push_str(&md);
        all.push('\n');
        if let Some(soak) = outcome.soak.as_ref().filter(|o| !o.passed) {
            failed.push(format!("{}: {}", s.name, soak.failures.join("; ")));
        }
    }
    std::fs::create_dir_all(&cli.out)?;
    std::fs::write(cli.out.join("summary.md"), all)?;
    // A soak is a test: normal traffic not served under attack fails the command.
    anyhow::ensure!(failed.is_empty(), "soak failed: {}", failed.join(" | "));
    Ok(())
}
