//! The semantic plugin in the server: each workspace's phrasings embedded
//! once per knowledge-base revision, and a message's nearest entries.
//!
//! The vector index is tied to the lexical index it was built alongside
//! (`Bots` makes a new `Indexed` whenever the revision moves), so the two
//! never disagree about which entries exist. Building it embeds every
//! phrasing (seconds for a large knowledge base with the local model), so
//! it runs as its own task: a message that cannot wait for it is answered
//! without the plugin, and the index is there for the next one.

use super::{
    Indexed,
    embed::{EmbedError, Embedder},
    to_core,
};
use kefu_bot::{
    Lang,
    policy::PluginResult,
    semantic::{EntryVectors, VectorIndex},
};
use kefu_core::WorkspaceId;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};
use tokio::sync::OnceCell;

type Cell = Arc<OnceCell<Arc<VectorIndex>>>;

/// Vector indexes by workspace, each with the lexical index it belongs to.
#[derive(Default)]
pub struct SemanticIndexes {
    built: Mutex<HashMap<WorkspaceId, (Weak<Indexed>, Cell)>>,
}

impl SemanticIndexes {
    /// The cell holding (or about to hold) the vectors of `ix`.
    fn cell(&self, ws: &WorkspaceId, ix: &Arc<Indexed>) -> Cell {
        let Ok(mut map) = self.built.lock() else {
            return Cell::default();
        };
        if let Some((of, cell)) = map.get(ws)
            && Weak::ptr_eq(of, &Arc::downgrade(ix))
        {
            return cell.clone();
        }
        let cell = Cell::default();
        map.insert(ws.clone(), (Arc::downgrade(ix), cell.clone()));
        cell
    }

    /// The vector index of `ix`, built by a task of its own that goes on if
    /// the caller stops waiting (a failed build is tried again next time).
    pub async fn index(
        &self,
        embedder: Arc<Embedder>,
        ws: &WorkspaceId,
        ix: &Arc<Indexed>,
    ) -> Result<Arc<VectorIndex>, EmbedError> {
        let cell = self.cell(ws, ix);
        if let Some(v) = cell.get() {
            return Ok(v.clone());
        }
        let ix = ix.clone();
        tokio::spawn(async move {
            cell.get_or_try_init(|| build(&embedder, &ix))
                .await
                .cloned()
        })
        .await
        .map_err(|e| EmbedError::Model(e.to_string()))?
    }
}

/// Embeds every phrasing of every enabled entry the embedder reads.
pub async fn build(embedder: &Embedder, ix: &Indexed) -> Result<Arc<VectorIndex>, EmbedError> {
    let mut entries: Vec<(String, Lang, Vec<String>)> = ix
        .entries
        .values()
        .filter(|e| e.enabled)
        .map(|e| {
            let core = to_core(e);
            let phrasings = core.phrasings().map(str::to_string).collect();
            (e.id.clone(), core.language, phrasings)
        })
        .filter(|(_, lang, _)| embedder.indexes(*lang))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let texts: Vec<String> = entries.iter().flat_map(|e| e.2.iter().cloned()).collect();
    let mut vectors = embedder.embed(texts).await?.into_iter();
    let with_vectors = entries
        .into_iter()
        .map(|(id, language, p)| EntryVectors {
            id,
            language,
            phrasings: vectors.by_ref().take(p.len()).collect(),
        })
        .collect();
    VectorIndex::build(with_vectors)
        .map(Arc::new)
        .map_err(|e| EmbedError::Reply(e.to_string()))
}

/// The semantic plugin's candidates for one message.
pub async fn search(
    embedder: &Embedder,
    index: &VectorIndex,
    message: &str,
    lang: Lang,
    k: usize,
    cal: kefu_bot::semantic::Calibration,
) -> Result<PluginResult, EmbedError> {
    let q = embedder
        .embed(vec![message.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| EmbedError::Reply("no embedding for the message".into()))?;
    index
        .search(&q, lang, k, cal)
        .map_err(|e| EmbedError::Reply(e.to_string()))
}
