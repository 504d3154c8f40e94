//! E-mail: what kefu sends and how replies come back (docs/email.md).
//!
//! Everything goes through the `mail_queue` table (kefu-store `mail.rs`),
//! so a mail asked for survives a restart and is retried. Two tasks per
//! process, started by `app::serve`, stopped by its shutdown token:
//!
//! - **The listener** ([`listen`]) is an outbox consumer (named
//!   [`CONSUMER`]), like the webhook dispatcher: an agent's reply to a
//!   visitor who left an e-mail and has no tab open queues (or joins) the
//!   conversation's pending reply mail, due after `reply_delay_secs`; a
//!   conversation assigned to an offline agent who wants it queues an
//!   assignment mail. Queuing and moving the cursor are separate writes, so
//!   a batch handed on again queues nothing twice: reply mails batch per
//!   conversation and assignment mails dedupe on the event id.
//! - **The sender** ([`send`]) claims due mails with a lease, writes them
//!   from the store's state at that moment (a visitor who read the replies
//!   or came back online gets nothing), sends them over SMTP and records
//!   the outcome; failures are retried with backoff up to `max_attempts`.
//!
//! Requests that send mail (transcripts, invitations, resets, mentions)
//! queue a row and wake the sender. Replies come back through
//! `POST /api/v1/mail/inbound` (`api/mail.rs`): the reply address carries a
//! signed token of the conversation ([`reply_token`]).

pub mod config;
pub mod inbound;
mod listen;
pub mod quote;
pub mod reply_token;
mod send;
pub mod templates;
mod transport;

pub use config::{MailConfig, TlsMode};

use crate::app::SharedState;
use kefu_core::{AgentStatus, ConversationId, UserId, WorkspaceId};
use kefu_store::NewMail;
use tokio::sync::Notify;

/// The outbox consumer name of the listener.
pub const CONSUMER: &str = "mail";

/// What requests share with the sender: the SMTP transport (none when mail
/// is off), the key of reply tokens, and the sender's wake-up.
pub struct Mailer {
    transport: Option<transport::Transport>,
    reply_key: Vec<u8>,
    wake: Notify,
}

impl Mailer {
    /// Builds the transport from `[mail]`; `token_key` derives the reply-token key.
    pub fn new(cfg: &MailConfig, token_key: &str) -> Result<Mailer, String> {
        use hmac::{Hmac, KeyInit, Mac};
        let transport = if cfg.enabled() {
            Some(transport::Transport::new(cfg)?)
        } else {
            None
        };
        // Its own key, derived: a reply token never verifies as anything else.
        let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(token_key.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        m.update(b"kefu mail reply tokens");
        Ok(Mailer {
            transport,
            reply_key: m.finalize().into_bytes().to_vec(),
            wake: Notify::new(),
        })
    }

    /// Whether e-mail is configured.
    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    pub fn reply_key(&self) -> &[u8] {
        &self.reply_key
    }

    /// Tells the sender to look for due mails now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Where links in mails point: `[mail] base_url`, else `public_url`.
pub fn base_url(state: &SharedState) -> String {
    let b = if state.cfg.mail.base_url.is_empty() {
        &state.cfg.public_url
    } else {
        &state.cfg.mail.base_url
    };
    b.trim_end_matches('/').to_string()
}

/// A console link to a conversation.
pub fn conversation_link(state: &SharedState, id: &ConversationId) -> String {
    format!("{}/console/#/inbox/{id}", base_url(state))
}

/// Starts the listener and the sender (nothing when mail is off); the
/// handle resolves once both have stopped after `state.shutdown`.
pub fn spawn(state: &SharedState) -> Option<tokio::task::JoinHandle<()>> {
    if !state.mail.enabled() {
        return None;
    }
    let state = state.clone();
    Some(tokio::spawn(async move {
        tokio::join!(listen::run(state.clone()), send::run(state));
    }))
}

/// Queues mails and wakes the sender.
pub async fn enqueue(
    state: &SharedState,
    mails: Vec<NewMail>,
) -> Result<u64, kefu_store::StoreError> {
    let n = state.store.enqueue_mails(mails).await?;
    if n > 0 {
        state.mail.wake();
    }
    Ok(n)
}

/// E-mails `user` that `by` mentioned them in a note of `conversation`, if
/// they are offline, want e-mails (`email_on_assign` covers assignments
/// and mentions) and e-mail is on.
/// `dedupe` names the mention (the note's message id), so a retried call
/// sends one mail.
pub async fn notify_mention(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    conversation_id: &ConversationId,
    by: &str,
    excerpt: &str,
    dedupe: &str,
) -> Result<bool, kefu_store::StoreError> {
    if !state.mail.enabled() {
        return Ok(false);
    }
    let user = state.store.get_user(workspace_id, user_id).await?;
    if !user.active || !user.email_on_assign || user.status == AgentStatus::Online {
        return Ok(false);
    }
    let n = enqueue(
        state,
        vec![NewMail {
            workspace_id: workspace_id.clone(),
            kind: "mention".into(),
            recipient: user.email,
            conversation_id: Some(conversation_id.clone()),
            user_id: Some(user.id),
            payload: serde_json::json!({"by": by, "excerpt": excerpt}),
            batch_key: None,
            dedupe_key: Some(format!("mention:{user_id}:{dedupe}")),
            due_at: kefu_store::now_ms(),
        }],
    )
    .await?;
    Ok(n > 0)
}
