//! Where the semantic plugin's sentence embeddings come from: the
//! in-process model (`[bot] model_dir`, English only, behind the
//! `local-model` cargo feature) or an embeddings server (`[bot.embeddings]`,
//! any language the server's model knows). One is chosen at start; the
//! server wins when both are configured, since it is the multilingual one.

#[cfg(feature = "local-model")]
pub mod local;
pub mod remote;

use super::{config::BotConfig, http::HttpError};
use kefu_bot::{Lang, semantic::Calibration};
use std::path::PathBuf;

/// Why texts could not be embedded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    #[error("the model in {dir}: {why}")]
    Load { dir: PathBuf, why: String },
    #[error("the model: {0}")]
    Model(String),
    #[error("the embeddings server: {0}")]
    Http(#[from] HttpError),
    #[error("the embeddings server's reply: {0}")]
    Reply(String),
    #[error("this build has no in-process model (cargo feature local-model)")]
    NotBuilt,
}

pub enum Embedder {
    #[cfg(feature = "local-model")]
    Local(std::sync::Arc<local::LocalModel>),
    Remote(remote::RemoteEmbeddings),
}

impl Embedder {
    /// The configured embedder, if any; loading the local model is blocking
    /// work (0.2–0.3 s), done here once at start.
    pub async fn from_config(cfg: &BotConfig) -> Result<Option<Embedder>, EmbedError> {
        if !cfg.embeddings.url.is_empty() {
            if !cfg.model_dir.is_empty() {
                tracing::warn!(
                    "bot: both [bot.embeddings] url and [bot] model_dir are set; the embeddings server is used"
                );
            }
            return Ok(Some(Embedder::Remote(remote::RemoteEmbeddings::new(
                &cfg.embeddings,
            ))));
        }
        if cfg.model_dir.is_empty() {
            return Ok(None);
        }
        Self::load_local(PathBuf::from(&cfg.model_dir))
            .await
            .map(Some)
    }

    #[cfg(feature = "local-model")]
    pub async fn load_local(dir: PathBuf) -> Result<Embedder, EmbedError> {
        let model = tokio::task::spawn_blocking(move || local::LocalModel::load(&dir))
            .await
            .map_err(|e| EmbedError::Model(e.to_string()))??;
        Ok(Embedder::Local(std::sync::Arc::new(model)))
    }

    #[cfg(not(feature = "local-model"))]
    pub async fn load_local(_dir: PathBuf) -> Result<Embedder, EmbedError> {
        Err(EmbedError::NotBuilt)
    }

    /// What the try-the-bot panel and the logs call it.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "local-model")]
            Embedder::Local(_) => "all-MiniLM-L6-v2 (in process)".into(),
            Embedder::Remote(r) => format!("{} (embeddings server)", r.model()),
        }
    }

    /// The in-process model knows English only (for Chinese its vectors
    /// are noise, so the plugin stays out rather than vote).
    fn english_only(&self) -> bool {
        match self {
            #[cfg(feature = "local-model")]
            Embedder::Local(_) => true,
            Embedder::Remote(_) => false,
        }
    }

    /// Whether it understands messages in `lang`.
    pub fn serves(&self, lang: Lang) -> bool {
        !self.english_only() || lang == Lang::En
    }

    /// Which entries it indexes.
    pub fn indexes(&self, entry: Lang) -> bool {
        !self.english_only() || entry.serves(Lang::En)
    }

    pub fn calibration(&self, cfg: &BotConfig) -> Calibration {
        match self {
            #[cfg(feature = "local-model")]
            Embedder::Local(_) => Calibration {
                floor: cfg.model_floor,
            },
            Embedder::Remote(_) => Calibration {
                floor: cfg.embeddings.floor,
            },
        }
    }

    /// Unit vectors for `texts`, in order (the local model runs on a
    /// blocking thread).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self {
            #[cfg(feature = "local-model")]
            Embedder::Local(m) => {
                let m = m.clone();
                tokio::task::spawn_blocking(move || m.embed(&texts))
                    .await
                    .map_err(|e| EmbedError::Model(e.to_string()))?
            }
            Embedder::Remote(r) => r.embed(&texts).await,
        }
    }
}
