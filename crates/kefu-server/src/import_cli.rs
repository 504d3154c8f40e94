//! `kefu import …`: bringing another system's history into kefu
//! (docs/import-gofly.md).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kefu_server::config::Config;
use kefu_server::import::gofly;
use kefu_store::Store;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import a GOFLY (go-fly) database: agents, visitors, messages, canned
    /// replies, welcome texts and the IP blacklist. Safe to run again: it
    /// continues an interrupted import and never imports a row twice.
    Gofly(GoflyArgs),
}

#[derive(Args)]
pub struct GoflyArgs {
    /// GOFLY's database: mysql://user:password@host:3306/gofly. Prefer the
    /// GOFLY_MYSQL_URL variable for a password (arguments show in `ps`).
    #[arg(long, env = "GOFLY_MYSQL_URL", hide_env_values = true)]
    mysql_url: String,
    /// The kefu workspace to import into (created if missing).
    #[arg(long, default_value = "Default")]
    workspace: String,
    /// The inbox imported conversations belong to (created if missing).
    #[arg(long, default_value = "GOFLY")]
    inbox: String,
    /// Rows read and written per transaction.
    #[arg(long, default_value_t = 5000)]
    batch_size: usize,
    /// Hours of silence after which a visitor's next message starts a new
    /// conversation (default: a day, kefu's default reopen window).
    #[arg(long, default_value_t = 24.0)]
    split_after_hours: f64,
    /// Domain for the e-mail address of agents whose GOFLY login is not one
    /// (login `kefu2` → kefu2@DOMAIN).
    #[arg(long, default_value = "gofly.invalid")]
    email_domain: String,
    /// Where GOFLY served its files (https://gofly.example.com): image and
    /// file messages link there.
    #[arg(long)]
    gofly_url: Option<String>,
    /// Names this source in kefu's import tables (default gofly:<database>);
    /// keep it the same across runs of one import.
    #[arg(long)]
    source_name: Option<String>,
    /// Make new password links for imported agents who have not set a password yet.
    #[arg(long)]
    reissue_links: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub async fn run(cfg: &Config, store: &Store, cmd: ImportCommand) -> Result<()> {
    let ImportCommand::Gofly(a) = cmd;
    let split = (a.split_after_hours * 3600.0).round();
    anyhow::ensure!(
        split.is_finite() && split >= 1.0,
        "--split-after-hours must be positive"
    );
    let base_url = if cfg.mail.base_url.is_empty() {
        cfg.public_url.clone()
    } else {
        cfg.mail.base_url.clone()
    };
    let opts = gofly::Options {
        workspace: a.workspace,
        inbox: a.inbox,
        batch_size: a.batch_size,
        split_after_secs: split as i64,
        email_domain: a.email_domain,
        gofly_url: a.gofly_url,
        source_name: a.source_name,
        links: gofly::LinkOptions {
            base_url,
            ttl_ms: i64::try_from(cfg.mail.invite_ttl_hours.saturating_mul(3_600_000))
                .unwrap_or(i64::MAX / 4),
            mail: cfg.mail.enabled(),
        },
        reissue_links: a.reissue_links,
        progress: !a.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let src = gofly::Source::connect(&a.mysql_url)
        .await
        .context("opening the GOFLY database")?;
    let summary = gofly::import(store, &src, &opts).await?;
    src.close().await;
    print!("{}", summary.render());
    if !summary.links.is_empty() {
        if summary.mailed {
            println!(
                "{} imported agents were e-mailed a link to set their password (sent by the running server).",
                summary.links.len()
            );
        } else {
            println!(
                "Imported agents sign in after setting a password; hand each their link (valid {} h):",
                cfg.mail.invite_ttl_hours
            );
            for (email, link) in &summary.links {
                println!("  {email}  {link}");
            }
        }
    }
    Ok(())
}
