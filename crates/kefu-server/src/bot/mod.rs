//! The bot in the server: each workspace's knowledge base, indexed for
//! answering (kefu-bot's pure core does the deciding; docs/bot.md).
//!
//! The index is built from the store and kept per workspace with the
//! knowledge base's revision (its size and newest change): a request that
//! finds the revision moved rebuilds it, on a blocking thread since
//! segmenting thousands of phrasings takes a moment. Every node builds its
//! own, so nothing needs invalidating across a cluster.

pub mod config;
pub mod embed;
pub mod http;
pub mod llm;
#[cfg(feature = "local-model")]
pub mod local_llm;
pub mod plugins;
pub mod runner;
pub mod semantic;

use crate::app::SharedState;
use kefu_bot::{
    Entry, Lang, handoff,
    pipeline::KnowledgeBase,
    policy::{self, Decision, Fused, History, Patience, PluginResult, Thresholds},
    text::Analyzer,
};
use kefu_core::WorkspaceId;
use kefu_store::{KbEntry, StoreError};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

/// Candidates each retrieval plugin returns per message.
pub(crate) const CANDIDATES: usize = 10;

/// The analyzer (jieba's dictionary loads once per process).
pub(crate) fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(Analyzer::new)
}

/// A knowledge base's size and the sum of its change times (kefu-store
/// `kb_revision`): an index built at one revision is stale at another.
type Revision = (i64, i64);

/// Indexed knowledge bases by workspace, with the revision each was built at.
#[derive(Default)]
pub struct Bots {
    built: Mutex<HashMap<WorkspaceId, (Revision, Arc<Indexed>)>>,
}

/// A workspace's knowledge base, indexed, and its entries by id.
pub struct Indexed {
    pub kb: KnowledgeBase,
    pub entries: HashMap<String, KbEntry>,
}

/// A stored entry as the core sees it (a language the store holds is one
/// the API checked; anything else counts as both).
pub fn to_core(e: &KbEntry) -> Entry {
    Entry {
        external_id: e.external_id.clone(),
        question: e.question.clone(),
        alternatives: e.alternatives.clone(),
        answer: e.answer.clone(),
        category: e.category.clone(),
        language: e.language.parse().unwrap_or(Lang::Both),
        enabled: e.enabled,
    }
}

/// An entry (already checked with `Entry::normalized`) as the row to store.
pub fn to_fields(e: Entry) -> kefu_store::KbFields {
    kefu_store::KbFields {
        external_id: e.external_id,
        question: e.question,
        alternatives: e.alternatives,
        answer: e.answer,
        category: e.category,
        language: e.language.as_str().to_string(),
        enabled: e.enabled,
    }
}

impl Bots {
    /// The workspace's index, rebuilt when its knowledge base changed.
    pub async fn index(
        &self,
        state: &SharedState,
        ws: &WorkspaceId,
    ) -> Result<Arc<Indexed>, StoreError> {
        let rev = state.store.kb_revision(ws).await?;
        if let Ok(map) = self.built.lock()
            && let Some((at, ix)) = map.get(ws)
            && *at == rev
        {
            return Ok(ix.clone());
        }
        let rows = state.store.kb_all(ws).await?;
        let ix = tokio::task::spawn_blocking(move || {
            let kb =
                KnowledgeBase::new(analyzer(), rows.iter().map(|e| (e.id.clone(), to_core(e))));
            Indexed {
                kb,
                entries: rows.into_iter().map(|e| (e.id.clone(), e)).collect(),
            }
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("indexing the knowledge base: {e}")))?;
        let ix = Arc::new(ix);
        if let Ok(mut map) = self.built.lock() {
            map.insert(ws.clone(), (rev, ix.clone()));
        }
        Ok(ix)
    }
}

/// What the bot would do with one message, and why (the "try the bot" panel).
pub struct Trial {
    pub language: Lang,
    pub asked_for_person: bool,
    pub fused: Vec<Fused>,
    pub decision: Decision,
}

/// Decides on a message as a visitor's first turn, from what the
/// retrieval plugins found (`plugins::retrieve`).
pub fn try_message(
    results: &[PluginResult],
    message: &str,
    language: Lang,
    words: &[String],
    t: &Thresholds,
    p: &Patience,
) -> Trial {
    let fused = policy::fuse(results);
    let asked = handoff::asks_for_person(message, words);
    let decision = policy::decide(&fused, t, p, History::default(), asked);
    Trial {
        language,
        asked_for_person: asked,
        fused,
        decision,
    }
}

/// What the bot makes of a visitor's message for the routing rules:
/// `message.intent` (the category of the best-matching enabled entry, when
/// it scores at least the inbox's "did you mean" threshold), its language,
/// `bot.confidence` (that score) and `bot.reason` (why the bot handed the
/// conversation off, if it did).
pub async fn reading(
    state: &SharedState,
    conv: &kefu_store::Conversation,
    message: &str,
) -> Result<(kefu_routing::eval::MessageInfo, kefu_routing::eval::BotInfo), StoreError> {
    let lang = kefu_bot::text::detect(message);
    let mut info = kefu_routing::eval::MessageInfo {
        intent: String::new(),
        language: match lang {
            Lang::Zh => "zh".into(),
            Lang::En => "en".into(),
            Lang::Both => String::new(),
        },
    };
    let session = state.store.bot_session(&conv.id).await?;
    let mut bot = kefu_routing::eval::BotInfo {
        confidence: 0.0,
        reason: session.handoff_reason.unwrap_or_default(),
    };
    if message.trim().is_empty() {
        return Ok((info, bot));
    }
    let inbox = state
        .inboxes
        .get(&state.store, &conv.workspace_id, &conv.inbox_id)
        .await?;
    let ix = state.bots.index(state, &conv.workspace_id).await?;
    if ix.kb.is_empty() {
        return Ok((info, bot));
    }
    // The inbox's plugins, so the rules see what the bot itself understood.
    let fused = candidates(
        state,
        &conv.workspace_id,
        &ix,
        &inbox.bot.plugins,
        message,
        lang,
    )
    .await;
    if let Some(best) = fused.first()
        && best.score >= inbox.bot.thresholds.clarify
        && let Some(e) = ix.entries.get(&best.entry)
    {
        info.intent = e.category.clone();
        bot.confidence = f64::from(best.score);
    }
    Ok((info, bot))
}

/// What the wanted retrieval plugins (lexical, semantic) found for a
/// message, run side by side with their own timeouts, merged (a plugin that
/// failed or timed out is left out, never counted as zero): the bot's turn,
/// agent assist and the rules' reading all ask this.
pub async fn candidates(
    state: &SharedState,
    ws: &WorkspaceId,
    ix: &Arc<Indexed>,
    want: &kefu_core::bot::BotPlugins,
    message: &str,
    lang: Lang,
) -> Vec<Fused> {
    let found = plugins::retrieve(state, ws, ix, want, message, lang).await;
    policy::fuse(&found.results)
}
