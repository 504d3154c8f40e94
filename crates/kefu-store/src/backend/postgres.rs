//! PostgreSQL: a pool, one transaction per write. Row locks serialize what
//! must be serialized (the per-conversation `seq` counter), so several kefu
//! nodes can share one database.

use crate::{Result, StoreOptions};
use futures::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool, any::AnyPoolOptions};
use std::time::Duration;

#[derive(Clone)]
pub(crate) struct Postgres {
    pub pool: AnyPool,
}

impl Postgres {
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Postgres> {
        let pool = AnyPoolOptions::new()
            .max_connections(opts.pool_size.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Postgres { pool })
    }

    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let mut tx = self.pool.begin().await?;
        match f(&mut tx).await {
            Ok(v) => {
                tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                // Dropping the transaction rolls it back; do it explicitly to
                // return the connection clean.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
}
