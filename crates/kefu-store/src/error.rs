use kefu_core::TransitionError;

/// What can go wrong in the store. The server maps these to HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit (duplicate email, second active conversation…).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request breaks a domain rule.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A resolved or closed conversation cannot change hands.
    #[error("the conversation is {0}; only active conversations can be transferred")]
    NotActive(kefu_core::ConversationStatus),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// From the SQLite writer's own connection (the message append path).
    #[error("database error: {0}")]
    Native(rusqlite::Error),
    /// The batch this write belonged to failed to commit.
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?} (expected sqlite:// or postgres://)")]
    UnsupportedUrl(String),
    #[error("the store is shut down")]
    Closed,
    /// The visitor's contact is blocked: they may not start or send anything.
    #[error("the contact is blocked")]
    ContactBlocked,
    /// The visitor's contact was merged into another: their token is stale
    /// (a new session continues as the merged contact).
    #[error("the contact was merged into another")]
    ContactMerged,
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Internal to unguarded writes: failed after a change it could not undo,
    /// so the transaction (the whole SQLite batch) must roll back.
    #[error("{0}")]
    Poisoned(Box<StoreError>),
    /// Internal to appends: the `client_msg_id` was stored before; carries the
    /// earlier result and makes the write roll back. Never leaves the store.
    #[error("duplicate send")]
    Duplicate(Box<crate::Appended>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            rusqlite::Error::SqliteFailure(f, msg)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Conflict(msg.clone().unwrap_or_else(|| f.to_string()))
            }
            _ => StoreError::Native(e),
        }
    }
}
