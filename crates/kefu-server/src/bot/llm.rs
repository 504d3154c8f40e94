//! The LLM plugin's client: one OpenAI-compatible chat completion per
//! message (`POST <base_url>/chat/completions`, temperature 0, no
//! streaming), with the prompt of `kefu_bot::rag`, or the same prompt to
//! the small in-process model (`[bot.llm] local_model`, demo quality). The
//! wait is bounded by `timeout_ms`; any failure means "no LLM answer" and
//! the bot answers from retrieval.

use super::{config::LlmConfig, http};
use serde_json::{Value, json};

pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    #[cfg(feature = "local-model")]
    local: Option<std::sync::Arc<super::local_llm::LocalLlm>>,
    pub cfg: LlmConfig,
}

impl LlmClient {
    pub fn new(cfg: &LlmConfig) -> LlmClient {
        LlmClient {
            http: http::client(cfg.timeout_ms),
            url: format!("{}/chat/completions", cfg.base_url.trim_end_matches('/')),
            #[cfg(feature = "local-model")]
            local: None,
            cfg: cfg.clone(),
        }
    }

    /// The in-process model instead of an API.
    #[cfg(feature = "local-model")]
    pub fn local(cfg: &LlmConfig, llm: super::local_llm::LocalLlm) -> LlmClient {
        LlmClient {
            local: Some(std::sync::Arc::new(llm)),
            ..LlmClient::new(cfg)
        }
    }

    /// What the logs and the panel call the model.
    pub fn describe(&self) -> String {
        #[cfg(feature = "local-model")]
        if let Some(l) = &self.local {
            return format!("{} in process", l.name);
        }
        self.cfg.model.clone()
    }

    #[cfg(feature = "local-model")]
    async fn complete_locally(
        &self,
        llm: &std::sync::Arc<super::local_llm::LocalLlm>,
        system: &str,
        user: &str,
    ) -> Result<String, http::HttpError> {
        use super::local_llm::{LocalLlmError, Sampling};
        let timeout = self.cfg.timeout_ms;
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout);
        let messages = vec![
            ("system".to_string(), system.to_string()),
            ("user".to_string(), user.to_string()),
        ];
        let sampling = Sampling {
            max_tokens: self.cfg.max_tokens as usize,
            temperature: 0.0,
            seed: 0,
        };
        let llm = llm.clone();
        match tokio::task::spawn_blocking(move || llm.chat(&messages, sampling, Some(deadline)))
            .await
        {
            Ok(Ok(g)) => Ok(g.text),
            Ok(Err(LocalLlmError::Timeout)) => Err(http::HttpError::Timeout(timeout)),
            Ok(Err(e)) => Err(http::HttpError::Reply(e.to_string())),
            Err(e) => Err(http::HttpError::Reply(e.to_string())),
        }
    }

    /// The assistant's reply text to a system and a user message.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, http::HttpError> {
        #[cfg(feature = "local-model")]
        if let Some(l) = &self.local {
            return self.complete_locally(l, system, user).await;
        }
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
