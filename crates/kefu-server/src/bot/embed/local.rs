//! The in-process sentence-embedding model: all-MiniLM-L6-v2 (a 6-layer
//! BERT, 384 dimensions, English) run by candle on the CPU. Loaded once at
//! start from `[bot] model_dir` and shared; every call is blocking work
//! (a forward pass is milliseconds), so callers run it off the async runtime.
//!
//! The sentence vector is the mean of the last layer over the real tokens
//! (the attention mask leaves padding out), scaled to unit length: what the
//! model was trained with (sentence-transformers' mean pooling), so a cosine
//! is a dot product.

use super::EmbedError;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer};

/// Texts per forward pass when embedding many (bounds the padded batch's memory).
const BATCH: usize = 32;

pub struct LocalModel {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
}

fn load_err(dir: &Path, why: impl std::fmt::Display) -> EmbedError {
    EmbedError::Load {
        dir: dir.to_path_buf(),
        why: why.to_string(),
    }
}

fn model_err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Model(e.to_string())
}

impl LocalModel {
    /// Reads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<LocalModel, EmbedError> {
        let file = |name: &str| -> Result<PathBuf, EmbedError> {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(load_err(dir, format!("{name} is missing")))
            }
        };
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(file("config.json")?).map_err(|e| load_err(dir, e))?,
        )
        .map_err(|e| load_err(dir, format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(file("tokenizer.json")?)
            .map_err(|e| load_err(dir, format!("tokenizer.json: {e}")))?;
        // The file pads every text to 128 tokens: pad a batch only to its
        // longest text instead (the mask keeps padding out of the mean).
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        let device = Device::Cpu;
        // Read into memory rather than mmap: safe code, and the 90 MB are
        // all touched by the first forward pass anyway.
        let weights = std::fs::read(file("model.safetensors")?).map_err(|e| load_err(dir, e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| load_err(dir, format!("model.safetensors: {e}")))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| load_err(dir, format!("model.safetensors: {e}")))?;
        Ok(LocalModel {
            model,
            tokenizer,
            device,
            dim: config.hidden_size,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Unit vectors for `texts`, in order. Blocking.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.embed_batch(chunk)?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let enc = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(model_err)?;
        let len = enc.first().map_or(0, |e| e.get_ids().len());
        if len == 0 || enc.iter().any(|e| e.get_ids().len() != len) {
            return Err(EmbedError::Model(
                "the tokenizer did not pad the batch".into(),
            ));
        }
        let (ids, mask): (Vec<u32>, Vec<u32>) = enc
            .iter()
            .flat_map(|e| {
                e.get_ids()
                    .iter()
                    .copied()
                    .zip(e.get_attention_mask().iter().copied())
            })
            .unzip();
        let n = texts.len();
        let ids = Tensor::from_vec(ids, (n, len), &self.device).map_err(model_err)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device).map_err(model_err)?;
        let types = ids.zeros_like().map_err(model_err)?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(model_err)?;
        mean_pool(&hidden, &mask)
            .and_then(|t| t.to_vec2::<f32>())
            .map_err(model_err)
            .map(|rows| {
                rows.into_iter()
                    .map(|mut v| {
                        kefu_bot::semantic::normalize(&mut v);
                        v
                    })
                    .collect()
            })
    }
}

/// The mean of `hidden` (n × len × dim) over the tokens whose `mask` is 1.
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    sum.broadcast_div(&count)
}
