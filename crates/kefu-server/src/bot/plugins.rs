//! The bot's plugins as the rest of the server uses them: retrieval
//! (lexical BM25 and semantic embeddings, run side by side, each bounded in
//! time) and the LLM's answer from the best entries. A plugin that is off,
//! fails or runs out of time is left out of the fusion, never counted as a
//! zero, and its run says why, so the "try the bot" panel and the logs can
//! tell a slow model from a bad one.

use super::{
    CANDIDATES, Indexed, analyzer,
    config::BotConfig,
    embed::{EmbedError, Embedder},
    llm::LlmClient,
    semantic::{self, SemanticIndexes},
};
use crate::app::SharedState;
use kefu_bot::{
    Lang,
    policy::{Fused, PluginResult},
    rag,
};
use kefu_core::{WorkspaceId, bot::BotPlugins};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// The models the server was configured with, loaded once at start.
pub struct Plugins {
    embedder: Option<Arc<Embedder>>,
    indexes: SemanticIndexes,
    llm: Option<LlmClient>,
    cfg: BotConfig,
}

impl Plugins {
    /// Loads the in-process model (if configured) and sets up the clients.
    pub async fn new(cfg: &BotConfig) -> Result<Plugins, EmbedError> {
        let embedder = Embedder::from_config(cfg).await?.map(Arc::new);
        if let Some(e) = &embedder {
            tracing::info!(model = %e.describe(), "bot: semantic retrieval ready");
        }
        let llm = if !cfg.llm.local_model.is_empty() {
            Some(local_llm(cfg).await?)
        } else {
            (!cfg.llm.base_url.is_empty()).then(|| LlmClient::new(&cfg.llm))
        };
        if let Some(l) = &llm {
            tracing::info!(model = %l.describe(), "bot: LLM answers ready");
        }
        Ok(Plugins {
            embedder,
            indexes: SemanticIndexes::default(),
            llm,
            cfg: cfg.clone(),
        })
    }

    /// Which plugins this server can run (lexical always).
    pub fn available(&self) -> BotPlugins {
        BotPlugins {
            lexical: true,
            semantic: self.embedder.is_some(),
            llm: self.llm.is_some(),
        }
    }

    /// The `[bot]` configuration the plugins were set up with.
    pub fn config(&self) -> &BotConfig {
        &self.cfg
    }

    /// The semantic plugin's model, as the panel names it.
    pub fn semantic_model(&self) -> Option<String> {
        self.embedder.as_ref().map(|e| e.describe())
    }
}

/// Loads `[bot.llm] local_model` off the runtime (a second or so).
#[cfg(feature = "local-model")]
async fn local_llm(cfg: &BotConfig) -> Result<LlmClient, EmbedError> {
    let path = std::path::PathBuf::from(&cfg.llm.local_model);
    let at = path.clone();
    let llm = tokio::task::spawn_blocking(move || super::local_llm::LocalLlm::load(&at))
        .await
        .map_err(|e| EmbedError::Model(e.to_string()))?
        .map_err(|e| EmbedError::Load {
            dir: path,
            why: e.to_string(),
        })?;
    tracing::warn!("bot: the in-process LLM is a small demo model; use an LLM API in production");
    Ok(LlmClient::local(&cfg.llm, llm))
}

#[cfg(not(feature = "local-model"))]
async fn local_llm(_: &BotConfig) -> Result<LlmClient, EmbedError> {
    Err(EmbedError::NotBuilt)
}

/// How one plugin's run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Ok,
    Timeout,
    Error(String),
    /// Not run, and why (not asked for, no model, another language).
    Off(String),
}

impl RunOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Timeout => "timeout",
            RunOutcome::Error(_) => "error",
            RunOutcome::Off(_) => "off",
        }
    }

    pub fn detail(&self) -> Option<&str> {
        match self {
            RunOutcome::Error(d) | RunOutcome::Off(d) => Some(d),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PluginRun {
    pub plugin: String,
    pub ms: u64,
    pub outcome: RunOutcome,
}

/// What retrieval found: the results to fuse (only plugins that answered)
/// and every plugin's run.
#[derive(Debug, Clone, Default)]
pub struct Retrieved {
    pub results: Vec<PluginResult>,
    pub runs: Vec<PluginRun>,
}

fn off(plugin: &str, why: &str) -> (Option<PluginResult>, PluginRun) {
    (
        None,
        PluginRun {
            plugin: plugin.into(),
            ms: 0,
            outcome: RunOutcome::Off(why.into()),
        },
    )
}

/// Runs `work` within `limit`, timing it.
async fn timed<E: std::fmt::Display>(
    plugin: &str,
    limit: Duration,
    work: impl Future<Output = Result<PluginResult, E>>,
) -> (Option<PluginResult>, PluginRun) {
    let start = Instant::now();
    let (result, outcome) = match tokio::time::timeout(limit, work).await {
        Ok(Ok(r)) => (Some(r), RunOutcome::Ok),
        Ok(Err(e)) => (None, RunOutcome::Error(e.to_string())),
        Err(_) => (None, RunOutcome::Timeout),
    };
    if let RunOutcome::Error(e) = &outcome {
        tracing::warn!(plugin, error = %e, "bot: a plugin failed");
    }
    let run = PluginRun {
        plugin: plugin.into(),
        ms: start.elapsed().as_millis() as u64,
        outcome,
    };
    (result, run)
}

/// The lexical plugin's bound: a safety net only (a blocking pool so busy
/// that BM25 waits this long is a server in trouble).
const LEXICAL_LIMIT: Duration = Duration::from_secs(5);

/// Runs the wanted retrieval plugins on `message` in parallel, each with
/// its own time limit.
pub async fn retrieve(
    state: &SharedState,
    ws: &WorkspaceId,
    ix: &Arc<Indexed>,
    want: &BotPlugins,
    message: &str,
    lang: Lang,
) -> Retrieved {
    let p = &state.plugins;
    let limit = Duration::from_millis(p.cfg.semantic_timeout_ms);
    let lexical = async {
        if !want.lexical {
            return off("lexical", "not asked for");
        }
        let (ix, m) = (ix.clone(), message.to_string());
        // Its own bound, not the semantic plugin's: in-process BM25 takes
        // well under a millisecond, and a short `semantic_timeout_ms` must
        // never leave the bot with nothing (it did under load).
        timed("lexical", LEXICAL_LIMIT, async move {
            tokio::task::spawn_blocking(move || ix.kb.lexical(analyzer(), &m, lang, CANDIDATES))
                .await
        })
        .await
    };
    let semantic = async {
        if !want.semantic {
            return off(kefu_bot::semantic::SEMANTIC, "not asked for");
        }
        let Some(emb) = p.embedder.clone() else {
            return off(
                kefu_bot::semantic::SEMANTIC,
                "no embedding model configured",
            );
        };
        if !emb.serves(lang) {
            return off(
                kefu_bot::semantic::SEMANTIC,
                "the in-process model reads English only",
            );
        }
        let cal = emb.calibration(&p.cfg);
        timed(kefu_bot::semantic::SEMANTIC, limit, async {
            let vix = p.indexes.index(emb.clone(), ws, ix).await?;
            let mut r = semantic::search(&emb, &vix, message, lang, CANDIDATES, cal).await?;
            r.weight = p.cfg.semantic_weight;
            Ok::<_, EmbedError>(r)
        })
        .await
    };
    let ((l, lrun), (s, srun)) = tokio::join!(lexical, semantic);
    Retrieved {
        results: [l, s].into_iter().flatten().collect(),
        runs: vec![lrun, srun],
    }
}

/// An answer the LLM wrote from the knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmAnswer {
    pub text: String,
    /// Ids of the entries it used (at least one).
    pub cited: Vec<String>,
}

/// The LLM's answer from the `top` entries; `None` when it is off, not
/// configured, timed out, failed, or did not know.
pub async fn llm_answer(
    state: &SharedState,
    ix: &Indexed,
    ctx: &rag::Context<'_>,
    message: &str,
    lang: Lang,
    top: &[Fused],
) -> Option<LlmAnswer> {
    llm_run(state, ix, ctx, message, lang, top).await.0
}

/// [`llm_answer`] with its run (the panel shows both).
pub async fn llm_run(
    state: &SharedState,
    ix: &Indexed,
    ctx: &rag::Context<'_>,
    message: &str,
    lang: Lang,
    top: &[Fused],
) -> (Option<LlmAnswer>, PluginRun) {
    let Some(llm) = &state.plugins.llm else {
        let (_, run) = off("llm", "no LLM configured");
        return (None, run);
    };
    let sources: Vec<rag::Source<'_>> = top
        .iter()
        .filter_map(|f| ix.entries.get(&f.entry))
        .take(llm.cfg.max_entries)
        .map(|e| rag::Source {
            id: &e.id,
            question: &e.question,
            answer: &e.answer,
        })
        .collect();
    if sources.is_empty() {
        let (_, run) = off("llm", "retrieval found no entries to give it");
        return (None, run);
    }
    let start = Instant::now();
    let reply = llm
        .complete(
            &rag::system_prompt(),
            &rag::user_prompt_in(&sources, ctx, message, lang),
        )
        .await;
    let ms = start.elapsed().as_millis() as u64;
    let (answer, outcome) = match reply {
        Ok(text) => match rag::parse_reply(&text, &sources) {
            rag::Reply::Answer { text, cited } => (Some(LlmAnswer { text, cited }), RunOutcome::Ok),
            rag::Reply::DontKnow => (None, RunOutcome::Ok),
        },
        Err(super::http::HttpError::Timeout(_)) => (None, RunOutcome::Timeout),
        Err(e) => {
            tracing::warn!(error = %e, "bot: the LLM failed");
            (None, RunOutcome::Error(e.to_string()))
        }
    };
    (
        answer,
        PluginRun {
            plugin: "llm".into(),
            ms,
            outcome,
        },
    )
}
