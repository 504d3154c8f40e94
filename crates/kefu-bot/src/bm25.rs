//! Lexical retrieval: Okapi BM25 over every phrasing of every enabled entry,
//! an entry scoring as its best phrasing.
//!
//! A small in-memory index of our own rather than tantivy: a knowledge base
//! holds thousands of short phrasings, not millions of documents; it lives
//! in the database and each node (and `kefu bot eval`) builds the index from
//! it in milliseconds, with no index directory to keep in step; and the
//! score needs a calibration that a search engine hides (below).
//!
//! **Confidence.** BM25 scores have no fixed scale, so each is divided by
//! what a phrasing containing every query term once, at average length,
//! would score: the sum of the query terms' IDF. Terms the knowledge base
//! never saw count with the highest IDF, so a question about something
//! else ("do you sell cars") stays far below an answer. That ratio `x` is
//! mapped to `1 - e^-x`: close to `x` where the thresholds sit, and below 1
//! however high it gets. (A plain cap at 1 made strong matches tie: a short
//! phrasing scores above the ideal, so an exact question and a looser one
//! both read 1.0 and the bot asked "did you mean" instead of answering.) The
//! result is comparable across questions and is what the policy's
//! thresholds apply to.

use crate::{kb::Lang, text::Analyzer};
use std::collections::HashMap;

/// BM25's term-frequency saturation and length normalisation.
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// How much an entry's answer counts next to its phrasings: visitors often
/// use the answer's words ("refund to my Alipay") rather than the question's
/// (chosen on the validation split of the sample set: it raised answers and
/// hand-off F1 there; docs/bot.md).
pub const ANSWER_WEIGHT: f32 = 0.5;

/// One phrasing (or answer) as indexed.
struct Doc {
    entry: usize,
    weight: f32,
    len: f32,
    tf: HashMap<u32, u16>,
}

/// The index of one knowledge base (entries by position, as given).
pub struct Index {
    terms: HashMap<String, u32>,
    /// Per term id: (doc, tf) postings.
    postings: Vec<Vec<(u32, u16)>>,
    docs: Vec<Doc>,
    langs: Vec<Lang>,
    avg_len: f32,
    max_idf: f32,
}

/// A scored entry: its position in the list the index was built from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub entry: usize,
    /// Calibrated to 0..=1 (see the module doc).
    pub confidence: f32,
    /// The raw BM25 score of its best phrasing.
    pub score: f32,
}

/// What is indexed of an entry: its phrasings and language (disabled
/// entries are simply not given).
pub struct Indexed<'a> {
    pub phrasings: Vec<&'a str>,
    /// Text that also describes the entry (its answer), counted at [`ANSWER_WEIGHT`].
    pub answer: Option<&'a str>,
    pub language: Lang,
}

impl Index {
    pub fn build<'a>(analyzer: &Analyzer, entries: impl IntoIterator<Item = Indexed<'a>>) -> Index {
        let mut ix = Index {
            terms: HashMap::new(),
            postings: Vec::new(),
            docs: Vec::new(),
            langs: Vec::new(),
            avg_len: 1.0,
            max_idf: 1.0,
        };
        for (entry, e) in entries.into_iter().enumerate() {
            ix.langs.push(e.language);
            let docs = e
                .phrasings
                .into_iter()
                .map(|p| (p, 1.0f32))
                .chain(e.answer.map(|a| (a, ANSWER_WEIGHT)));
            for (p, weight) in docs {
                let terms = analyzer.terms(p);
                let mut tf: HashMap<u32, u16> = HashMap::new();
                for t in &terms {
                    let next = ix.terms.len() as u32;
                    let id = *ix.terms.entry(t.clone()).or_insert(next);
                    *tf.entry(id).or_insert(0) += 1;
                }
                ix.docs.push(Doc {
                    entry,
                    weight,
                    len: terms.len().max(1) as f32,
                    tf,
                });
            }
        }
        ix.postings = vec![Vec::new(); ix.terms.len()];
        for (d, doc) in ix.docs.iter().enumerate() {
            for (&t, &n) in &doc.tf {
                ix.postings[t as usize].push((d as u32, n));
            }
        }
        let n = ix.docs.len().max(1) as f32;
        ix.avg_len = ix.docs.iter().map(|d| d.len).sum::<f32>() / n;
        ix.max_idf = idf(n, 1.0);
        ix
    }

    /// How many entries and phrasings it holds.
    pub fn size(&self) -> (usize, usize) {
        (self.langs.len(), self.docs.len())
    }

    /// The best `k` entries for `query` among those serving `lang`, best first.
    pub fn search(&self, analyzer: &Analyzer, query: &str, lang: Lang, k: usize) -> Vec<Hit> {
        let terms = analyzer.terms(query);
        if terms.is_empty() || self.docs.is_empty() {
            return Vec::new();
        }
        let n = self.docs.len() as f32;
        let mut weight: HashMap<&str, (f32, Option<u32>)> = HashMap::new();
        for t in &terms {
            let id = self.terms.get(t.as_str()).copied();
            let w = match id {
                Some(id) => idf(n, self.postings[id as usize].len() as f32),
                None => self.max_idf,
            };
            weight.entry(t.as_str()).or_insert((w, id));
        }
        let ideal: f32 = weight.values().map(|(w, _)| w).sum();
        let mut by_doc: HashMap<u32, f32> = HashMap::new();
        for (w, id) in weight.values() {
            let Some(id) = id else { continue };
            for &(d, tf) in &self.postings[*id as usize] {
                let doc = &self.docs[d as usize];
                let tf = f32::from(tf);
                let norm = K1 * (1.0 - B + B * doc.len / self.avg_len);
                *by_doc.entry(d).or_insert(0.0) += doc.weight * w * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut best: HashMap<usize, f32> = HashMap::new();
        for (d, s) in by_doc {
            let e = self.docs[d as usize].entry;
            if !self.langs[e].serves(lang) {
                continue;
            }
            let b = best.entry(e).or_insert(0.0);
            if s > *b {
                *b = s;
            }
        }
        let mut hits: Vec<Hit> = best
            .into_iter()
            .map(|(entry, score)| Hit {
                entry,
                score,
                confidence: if ideal > 0.0 {
                    1.0 - (-score / ideal).exp()
                } else {
                    0.0
                },
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        hits.truncate(k);
        hits
    }
}

/// BM25's IDF (the +1 keeps it positive for terms in most documents).
fn idf(n: f32, df: f32) -> f32 {
    ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> Vec<(Vec<&'static str>, Lang)> {
        vec![
            (vec!["支持七天无理由退货吗", "买了不喜欢可以退吗"], Lang::Zh),
            (vec!["怎么修改收货地址", "地址填错了怎么办"], Lang::Zh),
            (
                vec![
                    "Can I return an item within 7 days?",
                    "I don't like it, can I send it back",
                ],
                Lang::En,
            ),
            (vec!["How do I change my delivery address?"], Lang::En),
            (vec!["Opening hours 营业时间"], Lang::Both),
        ]
    }

    fn index(a: &Analyzer) -> Index {
        Index::build(
            a,
            kb().iter().map(|(p, l)| Indexed {
                phrasings: p.clone(),
                answer: None,
                language: *l,
            }),
        )
    }

    #[test]
    fn finds_the_entry_in_the_question_language() {
        let a = Analyzer::new();
        let ix = index(&a);
        assert_eq!(ix.size(), (5, 8));
        let h = ix.search(&a, "衣服不喜欢能退货吗", Lang::Zh, 3);
        assert_eq!(h[0].entry, 0, "{h:?}");
        let h = ix.search(&a, "i want to change the address for delivery", Lang::En, 3);
        assert_eq!(h[0].entry, 3, "{h:?}");
        assert!(
            h.iter().all(|x| x.entry != 1),
            "no Chinese entry for English: {h:?}"
        );
        // A `both` entry serves either language.
        assert_eq!(ix.search(&a, "营业时间", Lang::Zh, 1)[0].entry, 4);
    }

    #[test]
    fn confidence_is_high_for_a_match_and_low_for_something_else() {
        let a = Analyzer::new();
        let ix = index(&a);
        let good = ix.search(&a, "Can I return an item within 7 days?", Lang::En, 1)[0];
        // Every query term matched in a short phrasing: well above the
        // answer threshold, and never a tie at 1 with a looser match.
        assert!(good.confidence > 0.6 && good.confidence < 1.0, "{good:?}");
        let looser = ix.search(&a, "Can I return an item within 7 days?", Lang::En, 2);
        assert!(
            looser.len() < 2 || looser[0].confidence > looser[1].confidence,
            "{looser:?}"
        );
        let other = ix.search(&a, "do you sell used cars in Berlin", Lang::En, 1);
        assert!(
            other.first().is_none_or(|h| h.confidence < 0.3),
            "{other:?}"
        );
        assert!(ix.search(&a, "？？", Lang::Zh, 3).is_empty());
    }
}
