//! SQLite: WAL, a read pool, and one writer task doing group commit.
//!
//! SQLite allows one writer at a time, and each commit costs an fsync. The
//! writer task takes every write request that is waiting (up to `max_batch`),
//! runs each inside its own savepoint of one transaction, commits once, and
//! only then answers the callers. A failing request rolls back to its
//! savepoint without disturbing the others; a failing commit fails them all.
//! So an acknowledged write is durable, and under load many writes share one
//! fsync.

use crate::{Result, StoreError, StoreOptions};
use futures::{FutureExt, future::BoxFuture};
use sqlx::{
    AnyConnection, AnyPool, Connection,
    any::{AnyConnectOptions, AnyPoolOptions},
};
use std::{str::FromStr, time::Duration};
use tokio::sync::{mpsc, oneshot};

/// Called once the batch a job belonged to has committed (None) or failed (Some).
type Completion = Box<dyn FnOnce(Option<String>) + Send>;
/// What a write reports back to the writer.
struct Ran {
    ok: bool,
    /// Failed after changing something it could not undo: the batch must roll back.
    poisoned: bool,
    done: Completion,
}

/// One write on the writer's connection.
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Ran> + Send>;

enum Cmd {
    /// `guarded`: the writer wraps the job in a savepoint, so a failure undoes
    /// it alone. Unguarded jobs (the message append) save those two round
    /// trips: on failure they have either changed nothing or say `poisoned`.
    Job(Job, bool),
    /// Finish what was queued before, then stop.
    Close(oneshot::Sender<()>),
}

const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

#[derive(Clone)]
pub(crate) struct Sqlite {
    pub reader: AnyPool,
    writer: mpsc::Sender<Cmd>,
}

impl Sqlite {
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Sqlite> {
        let url = if url.contains('?') {
            url.to_string()
        } else {
            format!("{url}?mode=rwc")
        };
        let connect = AnyConnectOptions::from_str(&url)?;
        let reader = AnyPoolOptions::new()
            .max_connections(opts.pool_size.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(PRAGMAS).execute(conn).await?;
                    Ok(())
                })
            })
            .connect_with(connect.clone())
            .await?;
        let mut conn = AnyConnection::connect_with(&connect).await?;
        sqlx::raw_sql(PRAGMAS).execute(&mut conn).await?;
        let (tx, rx) = mpsc::channel(opts.max_batch.max(1) * 4);
        tokio::spawn(run_writer(conn, rx, opts.max_batch.max(1)));
        Ok(Sqlite { reader, writer: tx })
    }

    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.submit(f, true).await
    }

    /// Like [`Sqlite::write`] without the savepoint: `f` must leave no change
    /// behind when it fails, or fail with [`StoreError::Poisoned`].
    pub async fn write_unguarded<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.submit(f, false).await
    }

    async fn submit<T, F>(&self, f: F, guarded: bool) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = f(conn).await;
                let ok = result.is_ok();
                let poisoned = matches!(result, Err(StoreError::Poisoned(_)));
                let done: Completion = Box::new(move |commit_err| {
                    let _ = tx.send(match commit_err {
                        Some(e) => Err(StoreError::Commit(e)),
                        None => result,
                    });
                });
                Ran { ok, poisoned, done }
            })
        });
        self.writer
            .send(Cmd::Job(job, guarded))
            .await
            .map_err(|_| StoreError::Closed)?;
        // A dropped answer means the job panicked or its batch broke off early.
        rx.await
            .map_err(|_| StoreError::Commit("the write was aborted".into()))?
    }

    /// Proves the writer task is alive and its connection answers.
    pub async fn ping_writer(&self) -> Result<()> {
        self.write(|c| {
            Box::pin(async move {
                sqlx::query("SELECT 1").execute(&mut *c).await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.writer.send(Cmd::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.reader.close().await;
    }
}

async fn run_writer(mut conn: AnyConnection, mut rx: mpsc::Receiver<Cmd>, max_batch: usize) {
    let mut batch: Vec<(Job, bool)> = Vec::with_capacity(max_batch);
    let mut closing: Option<oneshot::Sender<()>> = None;
    while closing.is_none() {
        match rx.recv().await {
            None => break,
            Some(Cmd::Close(done)) => closing = Some(done),
            Some(Cmd::Job(job, guarded)) => batch.push((job, guarded)),
        }
        while batch.len() < max_batch && closing.is_none() {
            match rx.try_recv() {
                Ok(Cmd::Job(job, guarded)) => batch.push((job, guarded)),
                Ok(Cmd::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, &mut batch).await;
        }
    }
    let _ = conn.close().await;
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

async fn commit_batch(conn: &mut AnyConnection, batch: &mut Vec<(Job, bool)>) {
    let size = batch.len();
    let mut completions: Vec<Completion> = Vec::with_capacity(size);
    let outcome: std::result::Result<(), sqlx::Error> = async {
        let mut tx = conn.begin().await?;
        for (job, guarded) in batch.drain(..) {
            if !guarded {
                match std::panic::AssertUnwindSafe(job(&mut tx))
                    .catch_unwind()
                    .await
                {
                    Ok(ran) => {
                        completions.push(ran.done);
                        if ran.poisoned {
                            // Nothing in this batch was acknowledged yet: undo it all.
                            return Err(sqlx::Error::Protocol(
                                "a write failed midway; its batch was rolled back".into(),
                            ));
                        }
                    }
                    Err(_) => {
                        return Err(sqlx::Error::Protocol(
                            "a write panicked; its batch was rolled back".into(),
                        ));
                    }
                }
                continue;
            }
            let mut sp = tx.begin().await?;
            // A panicking write must not take the writer (and every later write) down.
            match std::panic::AssertUnwindSafe(job(&mut sp))
                .catch_unwind()
                .await
            {
                Ok(Ran { ok, done, .. }) => {
                    completions.push(done);
                    if ok {
                        sp.commit().await?
                    } else {
                        sp.rollback().await?
                    }
                }
                Err(_) => {
                    tracing::error!("a write panicked; rolled back alone");
                    sp.rollback().await?;
                }
            }
        }
        tx.commit().await
    }
    .await;
    batch.clear();
    let err = outcome.err().map(|e| {
        tracing::error!(error = %e, size, "sqlite batch failed to commit");
        e.to_string()
    });
    for done in completions {
        done(err.clone());
    }
}
