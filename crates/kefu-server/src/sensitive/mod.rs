//! The sensitive-word filter in the server (docs/sensitive-words.md): each
//! workspace's word list compiled into kefu-bot's Aho-Corasick matcher and
//! kept in memory, and [`screen`], which every outgoing text goes through —
//! visitors' and agents' messages (`conversations::send`) and the bot's
//! answers.
//!
//! The send path is hot, so it never reads the database per message. A
//! workspace's compiled list is used for [`SensitiveConfig::recheck_ms`];
//! after that, the next message asks the store for the list's revision (one
//! small read) and rebuilds only if it moved. An admin's change on this node
//! replaces the compiled list at once ([`Filters::reload`]), so it applies to
//! the very next message here, and within the interval on other nodes. No
//! restart, no cross-node messaging.

pub mod list;

use crate::{app::SharedState, auth::Principal, error::ApiError};
use axum::http::StatusCode;
use kefu_bot::sensitive::{Filter, MAX_WORD_CHARS};
use kefu_core::{Message, WorkspaceId, sensitive::SensitiveAction};
use kefu_store::{NewSensitiveFlag, StoreError};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

/// `[sensitive]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensitiveConfig {
    /// How long a compiled list is used before the store is asked whether
    /// it changed (milliseconds): the most another node's change waits.
    pub recheck_ms: u64,
}

impl Default for SensitiveConfig {
    fn default() -> Self {
        SensitiveConfig { recheck_ms: 3000 }
    }
}

/// The compiled word list per workspace ("no words" too, so a workspace
/// without a list costs no query per message either). Lives as long as the
/// server; entries are replaced, never removed (an empty list is small). The
/// lock is held only around map reads and swaps, never across an await.
#[derive(Default)]
pub struct Filters {
    by_workspace: RwLock<HashMap<WorkspaceId, Cached>>,
}

#[derive(Clone)]
struct Cached {
    /// When the store last confirmed `revision`.
    checked: Instant,
    revision: i64,
    filter: Arc<Filter>,
}

impl Filters {
    /// The workspace's compiled list: the cached one while it is fresh,
    /// else after one revision read (and a rebuild if the list changed).
    pub async fn get(
        &self,
        state: &SharedState,
        ws: &WorkspaceId,
    ) -> Result<Arc<Filter>, StoreError> {
        let recheck = Duration::from_millis(state.cfg.sensitive.recheck_ms);
        let cached = self
            .by_workspace
            .read()
            .ok()
            .and_then(|m| m.get(ws).cloned());
        if let Some(c) = &cached
            && c.checked.elapsed() < recheck
        {
            return Ok(c.filter.clone());
        }
        if let Some(c) = cached {
            let revision = state.store.sensitive_revision(ws).await?;
            if revision == c.revision {
                self.put(
                    ws,
                    Cached {
                        checked: Instant::now(),
                        ..c.clone()
                    },
                );
                return Ok(c.filter);
            }
        }
        self.reload(state, ws).await
    }

    /// Builds the workspace's list from the store now and puts it in force
    /// (the API calls it after every change, so this node applies the change
    /// to the next message).
    pub async fn reload(
        &self,
        state: &SharedState,
        ws: &WorkspaceId,
    ) -> Result<Arc<Filter>, StoreError> {
        // The revision before the words: a change committed in between makes
        // the words newer than their revision says (rebuilt again at the
        // next recheck), never older (which would stay until the next change).
        let revision = state.store.sensitive_revision(ws).await?;
        let words = state.store.sensitive_words(ws).await?;
        let filter = tokio::task::spawn_blocking(move || {
            // Stored words passed the API's checks; one longer than the
            // matcher takes (a limit lowered since) is left out, not fatal.
            Filter::new(
                words
                    .into_iter()
                    .filter(|w| w.word.chars().count() <= MAX_WORD_CHARS)
                    .map(|w| (w.word, w.action)),
            )
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("compiling sensitive words: {e}")))?
        .map_err(|e| StoreError::Corrupt(format!("compiling sensitive words: {e}")))?;
        let filter = Arc::new(filter);
        self.put(
            ws,
            Cached {
                checked: Instant::now(),
                revision,
                filter: filter.clone(),
            },
        );
        Ok(filter)
    }

    /// Keeps `c` unless a list of a newer revision is in force already (two
    /// saves racing: the later one wins whatever order they finish in).
    fn put(&self, ws: &WorkspaceId, c: Cached) {
        if let Ok(mut map) = self.by_workspace.write() {
            if map.get(ws).is_some_and(|old| old.revision > c.revision) {
                return;
            }
            map.insert(ws.clone(), c);
        }
    }
}

/// What the filter made of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screened {
    /// The text to store and show: `mask` words replaced by one `*` per
    /// character, everything else as it came.
    pub text: String,
    /// Whether any word was masked.
    pub masked: bool,
    /// `block` words found, as written (non-empty: the text must not go out).
    pub blocked: Vec<String>,
    /// `flag` words found, as written (non-empty: keep the message for review).
    pub flagged: Vec<String>,
}

impl Screened {
    /// The text must not be sent.
    pub fn is_blocked(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// What a review record says happened to the stored message, when one
    /// is needed (a `flag` word was found): `mask` if it was masked too.
    pub fn review_action(&self) -> Option<SensitiveAction> {
        if self.flagged.is_empty() {
            None
        } else if self.masked {
            Some(SensitiveAction::Mask)
        } else {
            Some(SensitiveAction::Flag)
        }
    }
}

/// Screens `text` with the workspace's sensitive words: the text to send
/// (masked where needed) and the `block` and `flag` words found.
///
/// For every sender of visible text — `conversations::send` calls it for
/// visitors, agents and API keys; the bot calls it for its answers. The
/// caller then:
/// - refuses the text if [`Screened::is_blocked`] (people get
///   [`blocked_error`]; the bot should hand off or say something else),
/// - sends [`Screened::text`] instead of the original,
/// - after the message is stored, calls [`keep_for_review`] (which does
///   nothing when no `flag` word was found).
///
/// Costs no database read while the workspace's compiled list is fresh
/// (see the module's doc); an error means the store could not be asked.
pub async fn screen(
    state: &SharedState,
    ws: &WorkspaceId,
    text: &str,
) -> Result<Screened, StoreError> {
    let filter = state.sensitive.get(state, ws).await?;
    Ok(apply(&filter, text))
}

/// [`screen`] with a compiled list in hand (pure).
pub fn apply(filter: &Filter, text: &str) -> Screened {
    let v = filter.check(text);
    Screened {
        masked: v.masked.is_some(),
        text: v.masked.unwrap_or_else(|| text.to_string()),
        blocked: v.blocked_by,
        flagged: v.flagged_by,
    }
}

/// Records a stored message that contained `flag` words for review, if it
/// did. Called after the message is stored (its id is known then); a failure
/// is logged and leaves the message sent.
pub async fn keep_for_review(
    state: &SharedState,
    ws: &WorkspaceId,
    message: &Message,
    s: &Screened,
) {
    let Some(action) = s.review_action() else {
        return;
    };
    let flag = NewSensitiveFlag {
        workspace_id: ws.clone(),
        conversation_id: message.conversation_id.clone(),
        message_id: message.id.clone(),
        sender: message.sender.clone(),
        words: s.flagged.clone(),
        action,
    };
    if let Err(e) = state.store.sensitive_flag(flag).await {
        tracing::warn!(message_id = %message.id, error = %e, "keeping a flagged message for review failed; the message was sent");
    }
}

/// The refusal of a blocked message: 422 `message_blocked`. Agents and
/// integrations are told which words blocked it (so they can rephrase);
/// visitors get a polite sentence that names none (the list stays private).
pub fn blocked_error(who: &Principal, s: &Screened) -> ApiError {
    let message = if who.is_visitor() {
        "This message cannot be sent as written: it contains words that are not allowed here. Please rephrase it.".to_string()
    } else {
        format!(
            "the message contains blocked words: {}; rephrase it",
            s.blocked.join(", ")
        )
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "message_blocked", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SensitiveAction::*;

    #[test]
    fn screens_mask_block_and_flag() {
        let f = Filter::new([
            ("damn".to_string(), Mask),
            ("赌博".to_string(), Block),
            ("退款骗局".to_string(), Flag),
        ])
        .unwrap();
        let s = apply(&f, "Damn, 退款骗局?");
        assert_eq!(s.text, "****, 退款骗局?");
        assert!(s.masked && !s.is_blocked());
        assert_eq!(s.flagged, ["退款骗局"]);
        assert_eq!(s.review_action(), Some(Mask));
        let s = apply(&f, "网上赌博");
        assert!(s.is_blocked());
        assert_eq!(s.blocked, ["赌博"]);
        let s = apply(&f, "hello");
        assert_eq!(
            s,
            Screened {
                text: "hello".into(),
                masked: false,
                blocked: vec![],
                flagged: vec![]
            }
        );
        assert_eq!(s.review_action(), None);
    }
}
