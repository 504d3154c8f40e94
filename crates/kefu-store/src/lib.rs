//! kefu's storage.
//!
//! One [`Store`] with methods grouped by aggregate (one file each:
//! workspaces, users, auth, inboxes, contacts, contact events, inbound
//! secrets, conversations, messages, events, attachments, outbox, webhooks,
//! mail, canned replies, macros, push subscriptions, sensitive words,
//! full-text search, imports)
//! over two backends:
//!
//! - **SQLite** (the embedded default): WAL mode, reads from a small pool,
//!   every write goes through one writer task that batches concurrent writes
//!   into one transaction (group commit, see [`backend::sqlite`]), so an
//!   acknowledged write is on disk and throughput does not pay one fsync per
//!   message.
//! - **PostgreSQL**: a connection pool, one transaction per write.
//!
//! The SQL is shared through sqlx's `Any` driver: ids are UUIDv7 text and
//! times are epoch milliseconds, the types `Any` carries on both databases.
//! What differs per backend (connection set-up, migrations, the writer) lives
//! in `backend/`.

mod append_native;
mod attachments;
mod auth;
pub mod backend;
mod bot;
mod canned;
mod contact_events;
mod contact_merge;
mod contact_notes;
mod contacts;
mod conversations;
mod csat;
mod error;
mod events;
mod import;
mod import_native;
mod inbound_secrets;
mod inboxes;
mod kb;
mod live;
mod macros;
mod mail;
mod messages;
pub mod models;
mod notifications;
mod outbox;
mod previews;
mod push;
mod reports;
pub mod routing;
mod search;
mod sensitive;
pub mod testing;
mod users;
pub mod webhooks;
mod workspaces;

pub use bot::{BotQuestion, BotSession, NewBotQuestion, QUESTION_STATUSES};
pub use canned::check_shortcut;
pub use contact_events::{ContactRef, NewContactEvent, RecordedEvent};
pub use contact_merge::{IpBlock, merged_details};
pub use contact_notes::{AttributeDefinition, AttributeKind, ContactNote};
pub use contacts::{ContactEdit, ContactFilter};
pub use conversations::{LabelEdit, MAX_TAG_CHARS, MAX_TAGS, ViewCounts};
pub use csat::{CsatRating, MAX_CSAT_COMMENT, Rated};
pub use error::StoreError;
pub use import::{
    ImportBatch, ImportCanned, ImportCheckpoint, ImportContact, ImportConversation, ImportIpBlock,
    ImportMessage, ImportUser, ImportWritten, ImportedConversation, NO_PASSWORD, PreparedBatch,
    import_id,
};
pub use inbound_secrets::{InboundKeys, InboundSecretInfo};
pub use inboxes::{
    DEFAULT_CLOSING_MESSAGE, DEFAULT_CLOSING_MESSAGE_ZH, DEFAULT_REOPEN_WINDOW_SECS, InboxPatch,
    NewInbox,
};
pub use kb::{KbEntry, KbFields, KbFilter, KbImportSummary};
pub use live::{LiveAgent, LiveQueue, LiveSnapshot};
pub use macros::NewMacro;
pub use mail::{MailOutcome, MailRow, NewMail, NewUserToken, QueuedMail, UserToken};
pub use messages::{Appended, ConversationTarget, NewMessage};
pub use models::*;
pub use notifications::{NewNotification, Notification, NotificationKind, NotificationsToRead};
pub use outbox::OutboxRow;
pub use push::{NewPushSubscription, PushSubscription};
pub use reports::{ReportFilter, ReportKey, ReportState, ReportUpdate};
pub use search::{CONVERSATION_SCAN, ConversationHit, MessageHit, SearchFilter, SearchPage};
pub use sensitive::{
    NewSensitiveFlag, SensitiveFlag, SensitiveFlagFilter, SensitiveImportSummary, SensitiveWord,
};
pub use users::{NewUser, UserPatch, avatar_url, normalize_email};
pub use webhooks::{
    AttemptOutcome, DeliveryState, DueDelivery, NewWebhook, Recorded, SigningKeys, Webhook,
    WebhookAttempt, WebhookDelivery, WebhookDeliveryDetail, WebhookPatch,
};

use backend::Backend;
use futures::future::BoxFuture;
use sqlx::AnyConnection;

/// A result from the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A write's outcome for one conversation: how it was and is, and the events
/// stored with the change (empty when nothing changed).
#[derive(Debug, Clone)]
pub struct Changed {
    pub before: Conversation,
    pub after: Conversation,
    pub events: Vec<Event>,
}

impl Changed {
    /// A write that found nothing to change.
    pub fn nothing(conv: Conversation) -> Changed {
        Changed {
            before: conv.clone(),
            after: conv,
            events: Vec::new(),
        }
    }

    /// Whether the write changed anything.
    pub fn changed(&self) -> bool {
        !self.events.is_empty()
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

/// Options that shape how the store talks to its database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Largest number of writes the SQLite writer commits in one transaction.
    pub max_batch: usize,
    /// Connections in the read pool (SQLite) or the whole pool (PostgreSQL).
    pub pool_size: u32,
    /// A bulk load (`kefu import`), not a server: SQLite's writer does not
    /// sync each commit to disk (`synchronous = NORMAL`, safe in WAL mode:
    /// the file stays consistent, a power cut can lose the last commits) and
    /// checkpoints its WAL less often. An import commits its checkpoint with
    /// each batch, so a lost commit is a batch the next run writes again;
    /// a server acknowledges messages and must not lose them.
    pub bulk: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_batch: 512,
            pool_size: 8,
            bulk: false,
        }
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating the
    /// SQLite file if needed. Does not migrate: call [`Store::migrate`].
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Store> {
        Ok(Store {
            backend: Backend::open(url, opts).await?,
        })
    }

    /// Applies the backend's pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        self.backend.migrate().await?;
        self.search_backfill().await?;
        Ok(())
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// A cheap query proving the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(self.backend.reader())
            .await?;
        if let Backend::Sqlite(s) = &self.backend {
            s.ping_writer().await?;
        }
        Ok(())
    }

    /// Waits for every write in flight to be committed, then closes the pools.
    pub async fn close(&self) {
        self.backend.close().await;
    }

    /// Runs `f` in a write transaction (batched with others on SQLite).
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.backend.write(f).await
    }

    /// A write whose closure leaves nothing behind when it fails, or fails
    /// with `StoreError::Poisoned`; on SQLite it skips the per-write savepoint.
    pub(crate) async fn write_unguarded<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.backend.write_unguarded(f).await
    }

    pub(crate) fn reader(&self) -> &sqlx::AnyPool {
        self.backend.reader()
    }
}

/// A new time-ordered id (UUIDv7): sorts by creation, which keyset pages use.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
