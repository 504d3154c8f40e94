//! Semantic retrieval's pure half: a knowledge base's phrasings as sentence
//! embeddings, searched by cosine similarity, and the mapping from cosine to
//! the 0..=1 confidence the policy fuses. Where the vectors come from (the
//! in-process model, an embeddings server) is the server's business; this
//! module only needs them as `f32` slices of one dimension.
//!
//! An entry scores as its best phrasing, like the lexical plugin, so an entry
//! with many phrasings does not win by sheer number, and entries of the other
//! language are left out the same way.

use crate::{kb::Lang, policy::PluginResult};

/// The name of the semantic plugin.
pub const SEMANTIC: &str = "semantic";

/// How a cosine similarity becomes a confidence: linear from `floor` (0)
/// to 1.0 (1), clamped. Sentence-embedding models do not use the whole
/// cosine range (unrelated English sentences sit around 0–0.3 with MiniLM,
/// around 0.7–0.8 with E5), so the floor is the model's "unrelated" level,
/// and confidences from different models become comparable enough to fuse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub floor: f32,
}

impl Calibration {
    pub fn confidence(&self, cosine: f32) -> f32 {
        if !cosine.is_finite() || self.floor >= 1.0 {
            return 0.0;
        }
        ((cosine - self.floor) / (1.0 - self.floor)).clamp(0.0, 1.0)
    }
}

/// Why vectors could not be indexed or searched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorError {
    #[error("an embedding has {got} dimensions, expected {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("an embedding is empty, zero or not finite")]
    Degenerate,
}

/// Scales `v` to unit length; `false` (and `v` unchanged) when it cannot be
/// (zero, or not finite).
pub fn normalize(v: &mut [f32]) -> bool {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || norm <= f32::EPSILON {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

/// One entry to index: its id, language and one vector per phrasing.
pub struct EntryVectors {
    pub id: String,
    pub language: Lang,
    pub phrasings: Vec<Vec<f32>>,
}

/// Unit vectors of every phrasing of every entry, flat in one buffer (a
/// knowledge base of 10,000 entries × 5 phrasings × 384 dimensions is 77 MB;
/// a flat scan of it is a few milliseconds, so no approximate index).
#[derive(Debug, Default)]
pub struct VectorIndex {
    dim: usize,
    ids: Vec<String>,
    langs: Vec<Lang>,
    /// Entry of each row.
    owner: Vec<usize>,
    data: Vec<f32>,
}

impl VectorIndex {
    /// Indexes the entries; every vector must have the same dimension and
    /// be normalisable.
    pub fn build(entries: Vec<EntryVectors>) -> Result<VectorIndex, VectorError> {
        let mut ix = VectorIndex::default();
        for e in entries {
            let entry = ix.ids.len();
            ix.ids.push(e.id);
            ix.langs.push(e.language);
            for mut v in e.phrasings {
                if ix.dim == 0 {
                    ix.dim = v.len();
                }
                if v.len() != ix.dim {
                    return Err(VectorError::Dimension {
                        expected: ix.dim,
                        got: v.len(),
                    });
                }
                if v.is_empty() || !normalize(&mut v) {
                    return Err(VectorError::Degenerate);
                }
                ix.owner.push(entry);
                ix.data.extend_from_slice(&v);
            }
        }
        Ok(ix)
    }

    /// Entries and phrasings indexed.
    pub fn size(&self) -> (usize, usize) {
        (self.ids.len(), self.owner.len())
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The best `k` entries serving `lang` for the query vector, best first,
    /// with their confidence.
    pub fn search(
        &self,
        query: &[f32],
        lang: Lang,
        k: usize,
        cal: Calibration,
    ) -> Result<PluginResult, VectorError> {
        let mut result = PluginResult {
            plugin: SEMANTIC.into(),
            weight: 1.0,
            candidates: Vec::new(),
        };
        if self.owner.is_empty() {
            return Ok(result);
        }
        if query.len() != self.dim {
            return Err(VectorError::Dimension {
                expected: self.dim,
                got: query.len(),
            });
        }
        let mut q = query.to_vec();
        if !normalize(&mut q) {
            return Err(VectorError::Degenerate);
        }
        let mut best = vec![f32::NEG_INFINITY; self.ids.len()];
        for (row, v) in self.data.chunks_exact(self.dim).enumerate() {
            let e = self.owner[row];
            let cos: f32 = v.iter().zip(&q).map(|(a, b)| a * b).sum();
            if cos > best[e] {
                best[e] = cos;
            }
        }
        let mut hits: Vec<(usize, f32)> = best
            .into_iter()
            .enumerate()
            .filter(|(e, cos)| cos.is_finite() && self.langs[*e].serves(lang))
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        result.candidates = hits
            .into_iter()
            .map(|(e, cos)| (self.ids[e].clone(), cal.confidence(cos)))
            .collect();
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, language: Lang, v: &[&[f32]]) -> EntryVectors {
        EntryVectors {
            id: id.into(),
            language,
            phrasings: v.iter().map(|p| p.to_vec()).collect(),
        }
    }

    #[test]
    fn maps_cosine_linearly_above_the_floor() {
        let c = Calibration { floor: 0.2 };
        assert_eq!(c.confidence(0.1), 0.0);
        assert!((c.confidence(0.6) - 0.5).abs() < 1e-6);
        assert_eq!(c.confidence(1.0), 1.0);
        assert_eq!(c.confidence(f32::NAN), 0.0);
        assert_eq!(Calibration { floor: 1.0 }.confidence(1.0), 0.0);
    }

    #[test]
    fn scores_an_entry_by_its_best_phrasing_in_the_language() {
        let ix = VectorIndex::build(vec![
            entry("a", Lang::En, &[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0]]),
            entry("b", Lang::En, &[&[0.6, 0.8, 0.0]]),
            entry("c", Lang::Zh, &[&[0.0, 2.0, 0.0]]),
        ])
        .unwrap();
        assert_eq!(ix.size(), (3, 4));
        let r = ix
            .search(&[0.0, 3.0, 0.0], Lang::En, 5, Calibration { floor: 0.0 })
            .unwrap();
        assert_eq!(r.plugin, SEMANTIC);
        assert_eq!(r.candidates[0], ("a".to_string(), 1.0));
        assert_eq!(r.candidates[1].0, "b");
        assert!((r.candidates[1].1 - 0.8).abs() < 1e-6);
        assert_eq!(r.candidates.len(), 2, "the Chinese entry is left out");
        let r = ix
            .search(&[0.0, 1.0, 0.0], Lang::Both, 1, Calibration { floor: 0.0 })
            .unwrap();
        assert_eq!(r.candidates.len(), 1);
    }

    #[test]
    fn refuses_mismatched_or_degenerate_vectors() {
        assert_eq!(
            VectorIndex::build(vec![entry("a", Lang::En, &[&[1.0, 0.0], &[1.0]])]).unwrap_err(),
            VectorError::Dimension {
                expected: 2,
                got: 1
            }
        );
        assert_eq!(
            VectorIndex::build(vec![entry("a", Lang::En, &[&[0.0, 0.0]])]).unwrap_err(),
            VectorError::Degenerate
        );
        let ix = VectorIndex::build(vec![entry("a", Lang::En, &[&[1.0, 0.0]])]).unwrap();
        let cal = Calibration { floor: 0.0 };
        assert!(ix.search(&[1.0], Lang::En, 3, cal).is_err());
        assert!(ix.search(&[f32::NAN, 0.0], Lang::En, 3, cal).is_err());
        // An empty index finds nothing, whatever the query.
        let empty = VectorIndex::build(Vec::new()).unwrap();
        assert!(
            empty
                .search(&[1.0], Lang::En, 3, cal)
                .unwrap()
                .candidates
                .is_empty()
        );
    }
}
