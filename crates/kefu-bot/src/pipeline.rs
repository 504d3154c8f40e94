//! One knowledge base ready to answer: its enabled entries by id and the
//! lexical index over them. The server keeps one per workspace and builds a
//! new one when the knowledge base changes; `kefu bot eval` builds one from
//! a file. Plugins that need I/O (embeddings, an LLM) run in the server and
//! bring their own [`PluginResult`]s to [`crate::policy::fuse`].

use crate::{
    bm25::{Index, Indexed},
    kb::{Entry, Lang},
    policy::PluginResult,
    text::Analyzer,
};

/// The name and default weight of the lexical plugin.
pub const LEXICAL: &str = "lexical";

pub struct KnowledgeBase {
    ids: Vec<String>,
    entries: Vec<Entry>,
    index: Index,
}

impl KnowledgeBase {
    /// Indexes the enabled entries of `(id, entry)` pairs.
    pub fn new(
        analyzer: &Analyzer,
        entries: impl IntoIterator<Item = (String, Entry)>,
    ) -> KnowledgeBase {
        let (ids, entries): (Vec<String>, Vec<Entry>) =
            entries.into_iter().filter(|(_, e)| e.enabled).unzip();
        let index = Index::build(
            analyzer,
            entries.iter().map(|e| Indexed {
                phrasings: e.phrasings().collect(),
                answer: Some(&e.answer),
                language: e.language,
            }),
        );
        KnowledgeBase {
            ids,
            entries,
            index,
        }
    }

    /// How many enabled entries it answers from.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.ids
            .iter()
            .position(|i| i == id)
            .map(|p| &self.entries[p])
    }

    /// The lexical plugin's candidates for a message in `lang`.
    pub fn lexical(
        &self,
        analyzer: &Analyzer,
        message: &str,
        lang: Lang,
        k: usize,
    ) -> PluginResult {
        PluginResult {
            plugin: LEXICAL.into(),
            weight: 1.0,
            candidates: self
                .index
                .search(analyzer, message, lang, k)
                .into_iter()
                .map(|h| (self.ids[h.entry].clone(), h.confidence))
                .collect(),
        }
    }
}
