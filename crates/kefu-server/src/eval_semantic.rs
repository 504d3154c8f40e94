//! The semantic plugin as `kefu bot eval --plugins lexical,semantic` runs
//! it: the in-process model (`--model-dir`, English questions only, as in
//! the server) or an embeddings server (`--embeddings-url`, every
//! question). With a server, the questions are embedded in batches up front
//! (the eval's loop is synchronous), so the latency the report shows then
//! leaves the server's time out.

use anyhow::{Result, anyhow};
use kefu_bot::{
    Entry, Lang,
    policy::PluginResult,
    semantic::{Calibration, EntryVectors, VectorIndex},
};
use kefu_server::bot::{config::EmbeddingsConfig, embed::remote::RemoteEmbeddings};
use std::collections::HashMap;

enum Query {
    #[cfg(feature = "local-model")]
    Local(Box<kefu_server::bot::embed::local::LocalModel>),
    Cached(HashMap<String, Vec<f32>>),
}

/// A knowledge base's vectors and the way to embed a question.
pub struct Semantic {
    query: Query,
    index: VectorIndex,
    cal: Calibration,
    english_only: bool,
    pub described: String,
}

/// The enabled entries an embedder reads, and their phrasings in order.
fn phrasings(
    entries: &[(String, Entry)],
    english_only: bool,
) -> (Vec<&(String, Entry)>, Vec<String>) {
    let chosen: Vec<&(String, Entry)> = entries
        .iter()
        .filter(|(_, e)| e.enabled && (!english_only || e.language.serves(Lang::En)))
        .collect();
    let texts = chosen
        .iter()
        .flat_map(|(_, e)| e.phrasings().map(str::to_string))
        .collect();
    (chosen, texts)
}

fn index(chosen: &[&(String, Entry)], vectors: Vec<Vec<f32>>) -> Result<VectorIndex> {
    let mut vectors = vectors.into_iter();
    Ok(VectorIndex::build(
        chosen
            .iter()
            .map(|(id, e)| EntryVectors {
                id: id.clone(),
                language: e.language,
                phrasings: vectors.by_ref().take(e.phrasings().count()).collect(),
            })
            .collect(),
    )?)
}

impl Semantic {
    #[cfg(feature = "local-model")]
    pub fn local(
        dir: &std::path::Path,
        entries: &[(String, Entry)],
        floor: f32,
    ) -> Result<Semantic> {
        let model = kefu_server::bot::embed::local::LocalModel::load(dir)?;
        let (chosen, texts) = phrasings(entries, true);
        let index = index(&chosen, model.embed(&texts)?)?;
        Ok(Semantic {
            query: Query::Local(Box::new(model)),
            index,
            cal: Calibration { floor },
            english_only: true,
            described: "semantic (all-MiniLM-L6-v2 in process, English questions)".into(),
        })
    }

    #[cfg(not(feature = "local-model"))]
    pub fn local(_: &std::path::Path, _: &[(String, Entry)], _: f32) -> Result<Semantic> {
        anyhow::bail!("this build has no in-process model (cargo feature local-model)")
    }

    /// Embeds the knowledge base and every question through the server.
    pub async fn remote(
        cfg: &EmbeddingsConfig,
        entries: &[(String, Entry)],
        questions: &[String],
    ) -> Result<Semantic> {
        let server = RemoteEmbeddings::new(cfg);
        let (chosen, texts) = phrasings(entries, false);
        let index = index(&chosen, server.embed(&texts).await?)?;
        let vectors = server.embed(questions).await?;
        let cached = questions.iter().cloned().zip(vectors).collect();
        Ok(Semantic {
            query: Query::Cached(cached),
            index,
            cal: Calibration { floor: cfg.floor },
            english_only: false,
            described: format!("semantic ({} through {})", cfg.model, cfg.url),
        })
    }

    fn embed(&self, question: &str) -> Result<Vec<f32>> {
        match &self.query {
            #[cfg(feature = "local-model")]
            Query::Local(m) => m
                .embed(&[question.to_string()])?
                .pop()
                .ok_or_else(|| anyhow!("no vector")),
            Query::Cached(c) => c
                .get(question)
                .cloned()
                .ok_or_else(|| anyhow!("a question that was not embedded")),
        }
    }

    /// The plugin's result for a question (none where the model does not
    /// read its language, as in the server).
    pub fn search(&self, question: &str, lang: Lang) -> Option<PluginResult> {
        if self.english_only && lang != Lang::En {
            return None;
        }
        let q = self.embed(question).ok()?;
        self.index.search(&q, lang, 10, self.cal).ok()
    }
}
