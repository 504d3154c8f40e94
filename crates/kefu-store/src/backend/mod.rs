//! The two database backends behind [`crate::Store`].

pub mod postgres;
pub mod sqlite;

use crate::{Result, StoreError, StoreOptions};
use futures::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool};

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Backend {
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Backend> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite(sqlite::Sqlite::open(url, opts).await?))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres(
                postgres::Postgres::open(url, opts).await?,
            ))
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub fn reader(&self) -> &AnyPool {
        match self {
            Backend::Sqlite(s) => &s.reader,
            Backend::Postgres(p) => &p.pool,
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match self {
            Backend::Sqlite(s) => sqlx::migrate!("./migrations/sqlite").run(&s.reader).await?,
            Backend::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(&p.pool).await?,
        }
        Ok(())
    }

    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        match self {
            Backend::Sqlite(s) => s.write(f).await,
            Backend::Postgres(p) => p.write(f).await,
        }
    }

    /// A write whose closure leaves nothing behind on failure, or fails with
    /// `StoreError::Poisoned` (SQLite then skips the per-write savepoint).
    pub async fn write_unguarded<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        match self {
            Backend::Sqlite(s) => s.write_unguarded(f).await,
            Backend::Postgres(p) => p.write(f).await,
        }
    }

    /// Runs `f` on SQLite's native writer connection (see [`sqlite`]);
    /// `None` on PostgreSQL or an in-memory SQLite database.
    pub async fn write_native<T, F>(&self, f: F) -> Option<Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        match self {
            Backend::Sqlite(s) => s.write_native(f).await,
            Backend::Postgres(_) => None,
        }
    }

    pub async fn close(&self) {
        match self {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(p) => p.pool.close().await,
        }
    }
}

/// A database URL with any password replaced, for errors and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            super::redact("sqlite://data/kefu.db"),
            "sqlite://data/kefu.db"
        );
    }
}
