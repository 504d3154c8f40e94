//! The `kefu` command.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use kefu_core::Role;
use kefu_server::{
    app,
    auth::{password, tokens::random_token},
    config::Config,
};
use kefu_store::{NewInbox, NewUser, Store, StoreOptions};
use std::path::PathBuf;

mod bot_bench;
mod bot_cli;
mod eval_semantic;
mod import_cli;
mod search_cli;

#[derive(Parser)]
#[command(
    name = "kefu",
    version,
    about = "Self-hosted customer service: live chat, routing, bots, integrations."
)]
struct Cli {
    /// TOML configuration file (see kefu.example.toml). KEFU_* variables override it.
    #[arg(long, short, global = true, env = "KEFU_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print the OpenAPI document of the REST API.
    Openapi,
    /// Import another system's history (GOFLY).
    Import {
        #[command(subcommand)]
        command: import_cli::ImportCommand,
    },
    /// The bot: evaluate a knowledge base against test questions.
    Bot {
        #[command(subcommand)]
        command: bot_cli::BotCommand,
    },
    /// Full-text search: rebuild the index, or measure it (docs/search.md).
    Search {
        #[command(subcommand)]
        command: search_cli::SearchCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user, and the workspace if it does not exist yet.
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        email: String,
        /// At least 8 characters. Prefer the KEFU_USER_PASSWORD variable: arguments show in `ps`.
        #[arg(long, env = "KEFU_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "agent")]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        /// Most conversations automatic routing may assign at once.
        #[arg(long, default_value_t = 5)]
        capacity: i64,
    },
}

fn init_logging(cfg: &Config) {
    use std::io::IsTerminal;
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Colour codes only for a person at a terminal: in a file or a log
    // collector they are noise (and NO_COLOR, no-color.org, turns them off).
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    if cfg.log_format == "json" {
        fmt().json().with_env_filter(filter).init();
    } else {
        fmt().with_ansi(colour).with_env_filter(filter).init();
    }
}

async fn open_store(cfg: &Config) -> Result<Store> {
    open_store_with(cfg, false).await
}

/// `bulk`: for `kefu import` ([`StoreOptions::bulk`]).
async fn open_store_with(cfg: &Config, bulk: bool) -> Result<Store> {
    let opts = StoreOptions {
        max_batch: cfg.store.max_batch,
        pool_size: cfg.store.pool_size,
        bulk,
    };
    let store = Store::open(cfg.database_url().expose(), &opts)
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        println!("{}", serde_json::to_string_pretty(&kefu_server::openapi())?);
        return Ok(());
    }
    // Offline: needs no configuration, database or server.
    if let Command::Bot { command } = cli.command {
        return bot_cli::run(command).await;
    }
    // The benchmark makes its own store.
    if let Command::Search {
        command: command @ search_cli::SearchCommand::Bench(_),
    } = cli.command
    {
        return search_cli::run(command, None).await;
    }
    let mut cfg = Config::load(cli.config.as_deref())?;
    cfg.prepare_data_dir()?;
    init_logging(&cfg);
    match cli.command {
        Command::Serve => serve(cfg).await,
        Command::Migrate => {
            let store = open_store(&cfg).await?;
            store.close().await;
            println!("migrations applied ({})", store.backend_name());
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    workspace,
                    email,
                    password,
                    role,
                    name,
                    capacity,
                },
        } => {
            let store = open_store(&cfg).await?;
            let hash = password::hash(&password)?;
            let (ws, created) = store.ensure_workspace(&workspace).await?;
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or("agent").to_string());
            let user = store
                .create_user(NewUser {
                    workspace_id: ws.id.clone(),
                    email,
                    name,
                    password_hash: hash,
                    role,
                    capacity,
                })
                .await?;
            store.close().await;
            if created {
                println!("created workspace {:?} ({})", ws.name, ws.id);
            }
            println!(
                "created {} {} ({}) in workspace {:?}",
                user.role, user.email, user.id, ws.name
            );
            Ok(())
        }
        Command::Search { command } => {
            let store = open_store(&cfg).await?;
            search_cli::run(command, Some(store)).await
        }
        Command::Import { command } => {
            let store = open_store_with(&cfg, true).await?;
            let done = import_cli::run(&cfg, &store, command).await;
            store.close().await;
            done
        }
        Command::Openapi | Command::Bot { .. } => unreachable!("handled above"),
    }
}

async fn serve(cfg: Config) -> Result<()> {
    let started = std::time::Instant::now();
    let fd = kefu_server::net::raise_fd_limit();
    let listener = app::bind(cfg.listen)?;
    let addr = listener.local_addr()?;
    let state = app::state(cfg).await?;
    let first_run = bootstrap(&state.store).await?;
    let cfg = state.cfg.clone();
    tracing::info!(
        %addr,
        backend = state.store.backend_name(),
        data_dir = %cfg.data_dir.display(),
        startup_ms = started.elapsed().as_millis() as u64,
        "kefu {} ready",
        env!("CARGO_PKG_VERSION")
    );
    let url = &cfg.public_url;
    println!("\nkefu is running at {url}  (health: {url}/readyz, API: {url}/api/openapi.json)");
    if kefu_server::web::assets_built() {
        println!("  visitor demo page: {url}/demo      agent console: {url}/console/");
    } else {
        println!(
            "  the web assets (widget, console) are not built into this binary: use `make run`, or `cd web && npm ci && npm run build` and rebuild"
        );
    }
    match first_run {
        Some(first) => {
            println!(
                "First start: created workspace \"Default\" with an inbox and an owner account. This password is shown only once:"
            );
            println!(
                "  email:    {}\n  password: {}",
                first.email, first.password
            );
            println!(
                "Log in at {url}/console/, then change this password (PATCH {url}/api/v1/users/{} with {{\"password\": \"…\"}}).",
                first.user_id
            );
            println!(
                "Put the chat widget on your site: paste this before </body> on every page:\n  <script src=\"{url}/widget.js\" data-inbox=\"{}\" async></script>",
                first.inbox_key
            );
        }
        None => println!(
            "Log in at {url}/console/ with your account; an owner adds agents there (Admin → Agents) or with `kefu user create`."
        ),
    }
    let (line, warn) = kefu_server::net::capacity_line(&cfg.limits, fd, state.gate.caps().max);
    if warn {
        println!("  warning: {line}");
        tracing::warn!("{line}");
    } else {
        println!("  {line}");
    }
    if let Some(note) = kefu_server::push::https_note(&cfg) {
        println!("  note: {note}");
    }
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: draining");
        shutdown.cancel();
    });
    app::serve(state, listener).await?;
    Ok(())
}

/// The group a fresh install routes every conversation to.
const DEFAULT_GROUP: &str = "everyone";

/// What the first start created, to tell the operator once.
struct FirstRun {
    email: String,
    password: String,
    user_id: String,
    inbox_key: String,
}

/// On an empty database: a default workspace, inbox, an "everyone" group
/// that takes what no rule routes, and an owner with a random password.
async fn bootstrap(store: &Store) -> Result<Option<FirstRun>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let (ws, _) = store.ensure_workspace("Default").await?;
    let inbox = store
        .create_inbox(NewInbox {
            workspace_id: ws.id.clone(),
            name: "Website".into(),
            display_name: "Customer service · 在线客服".into(),
            welcome_text: "Hi! How can we help? 您好，请问有什么可以帮您？".into(),
            allowed_origins: vec![],
            // So a newcomer at /demo can chat before any agent is online.
            widget: kefu_store::WidgetSettings {
                offline: kefu_store::OfflineMode::Chat,
                ..Default::default()
            },
            // Off until the knowledge base has something to answer with.
            bot: Default::default(),
        })
        .await?;
    // Assignment without rules: every agent (this owner and everyone added
    // later) is in one least-loaded group that takes what no rule routes.
    let (group, _) = store
        .save_group(
            &ws.id,
            None,
            DEFAULT_GROUP,
            kefu_core::Strategy::LeastLoaded,
            Vec::new(),
        )
        .await?;
    store
        .set_group_settings(
            &ws.id,
            &group.id,
            &kefu_store::routing::GroupSettings {
                auto_join: true,
                ..Default::default()
            },
        )
        .await?;
    store
        .set_assignment(&ws.id, Some(Some(DEFAULT_GROUP.into())), None)
        .await?;
    let pw = random_token(12);
    let hash = password::hash(&pw)?;
    let email = "admin@kefu.local".to_string();
    let user = NewUser {
        workspace_id: ws.id,
        email: email.clone(),
        name: "Admin".into(),
        password_hash: hash,
        role: Role::Owner,
        capacity: 10,
    };
    match store.create_user(user).await {
        Ok(user) => Ok(Some(FirstRun {
            email,
            password: pw,
            user_id: user.id.to_string(),
            inbox_key: inbox.public_key,
        })),
        Err(kefu_store::StoreError::Conflict(_)) => Ok(None),
        Err(e) => bail!(e),
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
