//! The LLM plugin's client: one OpenAI-compatible chat completion per
//! message (`POST <base_url>/chat/completions`, temperature 0, no
//! streaming), with the prompt of `kefu_bot::rag`. The caller bounds the
//! wait; any failure means "no LLM answer" and the bot answers from
//! retrieval.

use super::{config::LlmConfig, http};
use serde_json::{Value, json};

pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    pub cfg: LlmConfig,
}

impl LlmClient {
    pub fn new(cfg: &LlmConfig) -> LlmClient {
        LlmClient {
            http: http::client(cfg.timeout_ms),
            url: format!("{}/chat/completions", cfg.base_url.trim_end_matches('/')),
            cfg: cfg.clone(),
        }
    }

    /// The assistant's reply text to a system and a user message.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, http::HttpError> {
        let body = json!({
            "model": self.cfg.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0,
            "max_tokens": self.cfg.max_tokens,
            "stream": false,
        });
        let reply = http::post_json(
            &self.http,
            &self.url,
            &self.cfg.api_key,
            self.cfg.timeout_ms,
            &body,
        )
        .await?;
        content(&reply)
            .ok_or_else(|| http::HttpError::Reply("no choices[0].message.content string".into()))
    }
}

/// `choices[0].message.content`: a string, or (some servers) an array of
/// `{"type": "text", "text": …}` parts.
pub fn content(reply: &Value) -> Option<String> {
    let c = reply
        .get("choices")?
        .get(0)?
        .get("message")?
        .get("content")?;
    match c {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let text: String = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!text.is_empty()).then_some(text)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_content_in_either_shape() {
        let s = json!({"choices": [{"message": {"role": "assistant", "content": "hi"}}]});
        assert_eq!(content(&s).as_deref(), Some("hi"));
        let parts = json!({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]});
        assert_eq!(content(&parts).as_deref(), Some("ab"));
        for bad in [
            json!({}),
            json!({"choices": []}),
            json!({"choices": [{"message": {"content": null}}]}),
            json!({"choices": [{"message": {"content": 5}}]}),
        ] {
            assert_eq!(content(&bad), None, "{bad}");
        }
    }
}
