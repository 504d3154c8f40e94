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
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The batch this write belonged to failed to commit.
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?} (expected sqlite:// or postgres://)")]
    UnsupportedUrl(String),
    #[error("the store is shut down")]
    Closed,
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
