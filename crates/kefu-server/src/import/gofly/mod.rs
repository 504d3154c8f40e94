//! `kefu import gofly`: a GOFLY (go-fly) database into a kefu workspace
//! (docs/import-gofly.md).
//!
//! Steps, in order, each idempotent and checkpointed in kefu's database:
//! agents → inbox and welcome texts → visitors → canned replies → IP
//! blacklist → messages. Ids are derived from the source (see
//! [`kefu_store::import_id`]) so nothing is written twice; the visitor and
//! message steps are read in id-ordered chunks and written one chunk per
//! transaction together with their position, so a killed import continues
//! where its last transaction ended. A second run after a complete one
//! finds nothing new, or only what GOFLY gained since.

mod content;
mod extras;
mod messages;
mod people;
mod source;
mod threads;

pub use source::Source;

use super::Summary;
use kefu_store::{Store, StoreError};
use std::time::Instant;

/// What can stop an import (bad rows never do: they are skipped and counted).
#[derive(Debug, thiserror::Error)]
pub enum GoflyError {
    #[error("cannot connect to the GOFLY database: {0}")]
    Connect(String),
    #[error("{0}")]
    Schema(String),
    #[error("reading the GOFLY database: {0}")]
    Source(#[from] sqlx::Error),
    #[error("writing to kefu's database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// The kefu workspace (created if missing).
    pub workspace: String,
    /// The inbox conversations land in (created if missing).
    pub inbox: String,
    /// Rows per chunk read and per transaction written.
    pub batch_size: usize,
    /// A visitor's message this long after their previous one starts a new
    /// conversation.
    pub split_after_secs: i64,
    /// Domain for agents whose GOFLY login is not an e-mail address.
    pub email_domain: String,
    /// Where GOFLY served its files (`https://gofly.example.com`), to make
    /// image and file links absolute.
    pub gofly_url: Option<String>,
    /// Names this source in kefu's import tables (default `gofly:<database>`).
    pub source_name: Option<String>,
    /// Links: the base URL, their lifetime, and whether to queue e-mails.
    pub links: people::LinkOptions,
    /// Make new links for imported agents who have not set a password yet.
    pub reissue_links: bool,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workspace: "Default".into(),
            inbox: "GOFLY".into(),
            batch_size: 5000,
            split_after_secs: kefu_store::DEFAULT_REOPEN_WINDOW_SECS,
            email_domain: "gofly.invalid".into(),
            gofly_url: None,
            source_name: None,
            links: people::LinkOptions::default(),
            reissue_links: false,
            progress: false,
        }
    }
}

pub use people::LinkOptions;

/// The import's fixed context, shared by the steps.
pub(crate) struct Ctx<'a> {
    pub store: &'a Store,
    pub src: &'a Source,
    pub opts: &'a Options,
    pub ws: String,
    pub source: String,
}

/// Runs every step; returns what was done.
pub async fn import(store: &Store, src: &Source, opts: &Options) -> Result<Summary, GoflyError> {
    let started = Instant::now();
    if opts.batch_size == 0 || opts.batch_size > 50_000 {
        return Err(GoflyError::Invalid(
            "the batch size must be 1 to 50000".into(),
        ));
    }
    if opts.split_after_secs <= 0 {
        return Err(GoflyError::Invalid(
            "the conversation split must be a positive duration".into(),
        ));
    }
    let (ws, _) = store.ensure_workspace(&opts.workspace).await?;
    let source = opts
        .source_name
        .clone()
        .unwrap_or_else(|| format!("gofly:{}", src.database));
    let ctx = Ctx {
        store,
        src,
        opts,
        ws: ws.id.to_string(),
        source,
    };
    let mut summary = Summary::default();
    store.search_bulk_load(true).await?;
    let steps = steps(&ctx, &mut summary).await;
    // A server's search settings again, whether or not the steps succeeded.
    let restored = store.search_bulk_load(false).await;
    if let (Err(_), Err(e)) = (&steps, &restored) {
        tracing::warn!(error = %e, "the search index's settings stay those of an import");
    }
    steps?;
    restored?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The import's steps in order, each adding its counts to `summary`.
async fn steps(ctx: &Ctx<'_>, summary: &mut Summary) -> Result<(), GoflyError> {
    let (agents, links) = people::agents(ctx).await?;
    summary.links = links;
    summary.mailed = ctx.opts.links.mail;
    summary
        .steps
        .push(("agents".into(), agents.summary.clone()));
    let (inbox_id, welcome) = extras::inbox_and_welcomes(ctx, &agents.map).await?;
    summary.steps.push(("welcome".into(), welcome));
    summary
        .steps
        .push(("visitors".into(), people::visitors(ctx, &inbox_id).await?));
    summary
        .steps
        .push(("replies".into(), extras::replies(ctx, &agents.map).await?));
    summary
        .steps
        .push(("ipblack".into(), extras::ip_blacks(ctx, &agents.map).await?));
    summary.steps.push((
        "messages".into(),
        messages::messages(ctx, &inbox_id, &agents.map).await?,
    ));
    Ok(())
}

/// A progress bar over the rows of `T` after `after` (hidden unless asked
/// for and on a terminal). The rows are counted only for a bar that is
/// shown: a `COUNT(*)` of 8 million messages takes MySQL seconds.
pub(crate) async fn progress_bar<T: source::Table>(
    ctx: &Ctx<'_>,
    after: i64,
    what: &str,
) -> Result<indicatif::ProgressBar, GoflyError> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let pb = if ctx.opts.progress {
        let total = ctx.src.count_after::<T>(after).await?;
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(what.to_string());
    Ok(pb)
}
