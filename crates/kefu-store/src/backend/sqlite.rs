//! SQLite: WAL, a read pool, and one writer task doing group commit.
//!
//! SQLite allows one writer at a time, and each commit costs an fsync. The
//! writer task takes every write request that is waiting (up to `max_batch`),
//! runs each inside its own savepoint of one transaction, commits once, and
//! only then answers the callers. A failing request rolls back to its
//! savepoint without disturbing the others; a failing commit fails them all.
//! So an acknowledged write is durable, and under load many writes share one
//! fsync.
//!
//! The message append, the one write that comes by the thousand per second,
//! does not go through sqlx: sqlx runs each SQLite connection on a worker
//! thread, so every statement is a cross-thread round trip, and under load
//! the server spent most of its CPU waking threads rather than in SQLite.
//! Appends are "native" jobs instead: the writer hands all of a batch's
//! native jobs to one blocking thread holding its own `rusqlite` connection,
//! which runs them with cached prepared statements in one transaction (one
//! hop per batch, not per statement). The two connections never write at the
//! same time: the writer task runs the native part, then the sqlx part.

use crate::{Result, StoreError, StoreOptions};
use futures::{FutureExt, future::BoxFuture};
use sqlx::{
    AnyConnection, AnyPool, Connection,
    any::{AnyConnectOptions, AnyPoolOptions},
};
use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
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
/// One write on the native connection. Like an unguarded job, it leaves no
/// change behind when it fails, or says `poisoned`.
type NativeJob = Box<dyn FnOnce(&rusqlite::Connection) -> Ran + Send>;

enum Cmd {
    /// `guarded`: the writer wraps the job in a savepoint, so a failure undoes
    /// it alone. Unguarded jobs (the message append) save those two round
    /// trips: on failure they have either changed nothing or say `poisoned`.
    Job(Job, bool),
    Native(NativeJob),
    /// Finish what was queued before, then stop.
    Close(oneshot::Sender<()>),
}

const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// The writer's settings for a bulk load ([`StoreOptions::bulk`]): commits
/// not synced one by one, and the writer's own checkpoint at 256 MB of WAL
/// instead of 4 MB. The copying is done beside it by [`spawn_checkpointer`];
/// the writer's checkpoint finds little left and restarts the WAL, so the
/// file stays under about 256 MB.
const BULK_PRAGMAS: &str = "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 65536;";

#[derive(Clone)]
pub(crate) struct Sqlite {
    pub reader: AnyPool,
    writer: mpsc::Sender<Cmd>,
    /// False for an in-memory database, which a second connection would not
    /// see, and after the native connection failed: appends then take sqlx.
    native: Arc<AtomicBool>,
    /// A bulk load's background checkpointer ([`spawn_checkpointer`]):
    /// stopped by [`Sqlite::close`], or when the last clone is dropped.
    checkpointer: Arc<std::sync::Mutex<Option<Checkpointer>>>,
}

/// The background checkpointer's thread and what stops it (dropping `stop`).
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
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
        let native = open_native(&url)?;
        let mut checkpointer = None;
        if opts.bulk {
            sqlx::raw_sql(BULK_PRAGMAS).execute(&mut conn).await?;
            if let Some(n) = &native {
                n.execute_batch(BULK_PRAGMAS)?;
            }
            // Only faster with it: without, the writer copies everything.
            match open_native(&url) {
                Ok(Some(c)) => checkpointer = spawn_checkpointer(c),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "no background WAL checkpointer"),
            }
        }
        let has_native = Arc::new(AtomicBool::new(native.is_some()));
        let (tx, rx) = mpsc::channel(opts.max_batch.max(1) * 4);
        tokio::spawn(run_writer(
            conn,
            native,
            has_native.clone(),
            rx,
            opts.max_batch.max(1),
        ));
        Ok(Sqlite {
            reader,
            writer: tx,
            native: has_native,
            checkpointer: Arc::new(std::sync::Mutex::new(checkpointer)),
        })
    }

    /// Runs `f` on the writer's native connection inside the current batch's
    /// transaction; `None` when this database has no native connection.
    /// `f` must leave no change behind when it fails, or fail with
    /// [`StoreError::Poisoned`] (which rolls the whole batch back).
    pub async fn write_native<T, F>(&self, f: F) -> Option<Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        if !self.native.load(Ordering::Acquire) {
            return None;
        }
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: NativeJob = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let poisoned = matches!(result, Err(StoreError::Poisoned(_)));
            let done: Completion = Box::new(move |commit_err| {
                let _ = tx.send(match (commit_err, result) {
                    // The job that rolled the batch back hears its own
                    // failure, not the rollback it caused.
                    (Some(_), Err(StoreError::Poisoned(e))) => Err(*e),
                    (Some(e), _) => Err(StoreError::Commit(e)),
                    (None, result) => result,
                });
            });
            Ran { ok, poisoned, done }
        });
        if self.writer.send(Cmd::Native(job)).await.is_err() {
            return Some(Err(StoreError::Closed));
        }
        Some(
            rx.await
                .unwrap_or_else(|_| Err(StoreError::Commit("the write was aborted".into()))),
        )
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
        // First, so that the writer's and the readers' connections are the
        // last ones: the last to close checkpoints the WAL and removes it.
        let checkpointer = self.checkpointer.lock().ok().and_then(|mut c| c.take());
        if let Some(Checkpointer { stop, thread }) = checkpointer {
            drop(stop);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        let (tx, rx) = oneshot::channel();
        if self.writer.send(Cmd::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.reader.close().await;
    }
}

/// How often a bulk load's checkpointer looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies a bulk load's committed WAL frames into the database file on a
/// thread of its own, beside the writer (a PASSIVE checkpoint neither
/// waits for nor blocks the writer). Without it the writer's commit does
/// all the copying itself when the WAL reaches `wal_autocheckpoint`: an
/// eighth of its time, on the thread an import waits for. The writer's own
/// auto-checkpoint stays, and now finds little left to copy: it is what
/// lets the WAL restart from the beginning, which needs every frame
/// copied at the moment a write transaction begins. Stops when the
/// returned `stop` is dropped; `None` (the writer then copies everything
/// itself) if the thread cannot start.
fn spawn_checkpointer(conn: rusqlite::Connection) -> Option<Checkpointer> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("kefu-wal-checkpoint".into())
        .spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(CHECKPOINT_EVERY) {
                // Busy (another checkpoint running) or failed: the next
                // round, or the writer's auto-checkpoint, catches up.
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "background WAL checkpoint");
                }
            }
        });
    match spawned {
        Ok(thread) => Some(Checkpointer { stop: tx, thread }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the background WAL checkpointer");
            None
        }
    }
}

/// The writer's `rusqlite` connection to the same file, with the same
/// pragmas; `None` for an in-memory database.
fn open_native(url: &str) -> Result<Option<rusqlite::Connection>> {
    // sqlx renames in-memory databases (`file:sqlx-in-memory-N`); a second
    // connection could not see them anyway.
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let path = opts.get_filename();
    if path.as_os_str().is_empty() || path.to_string_lossy().starts_with(":memory:") {
        return Ok(None);
    }
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(PRAGMAS)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(Some(conn))
}

async fn run_writer(
    mut conn: AnyConnection,
    mut native: Option<rusqlite::Connection>,
    has_native: Arc<AtomicBool>,
    mut rx: mpsc::Receiver<Cmd>,
    max_batch: usize,
) {
    let mut batch: Vec<(Job, bool)> = Vec::with_capacity(max_batch);
    let mut natives: Vec<NativeJob> = Vec::with_capacity(max_batch);
    let mut closing: Option<oneshot::Sender<()>> = None;
    while closing.is_none() {
        let mut take = |cmd: Cmd| match cmd {
            Cmd::Close(done) => closing = Some(done),
            Cmd::Job(job, guarded) => batch.push((job, guarded)),
            Cmd::Native(job) => natives.push(job),
        };
        match rx.recv().await {
            None => break,
            Some(cmd) => take(cmd),
        }
        for _ in 1..max_batch {
            match rx.try_recv() {
                Ok(cmd) => take(cmd),
                Err(_) => break,
            }
        }
        if !natives.is_empty() {
            native = commit_native(native, std::mem::take(&mut natives)).await;
            if native.is_none() {
                has_native.store(false, Ordering::Release);
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

/// Runs a batch of native jobs in one transaction on a blocking thread and
/// answers them; hands the connection back for the next batch.
async fn commit_native(
    conn: Option<rusqlite::Connection>,
    jobs: Vec<NativeJob>,
) -> Option<rusqlite::Connection> {
    let Some(conn) = conn else {
        // `write_native` refuses to queue jobs without a native connection.
        tracing::error!("native writes queued without a native connection");
        return None;
    };
    let size = jobs.len();
    let run = tokio::task::spawn_blocking(move || {
        let mut completions: Vec<Completion> = Vec::with_capacity(size);
        let outcome = run_native(&conn, jobs, &mut completions);
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let err = outcome.err().map(|e| {
            tracing::error!(error = %e, size, "sqlite batch failed to commit");
            e
        });
        for done in completions {
            done(err.clone());
        }
        conn
    });
    match run.await {
        Ok(conn) => Some(conn),
        // Only a panic outside the jobs (they are caught) gets here.
        Err(e) => {
            tracing::error!(error = %e, "the native writer failed; appends fall back to sqlx");
            None
        }
    }
}

fn run_native(
    conn: &rusqlite::Connection,
    jobs: Vec<NativeJob>,
    completions: &mut Vec<Completion>,
) -> std::result::Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| e.to_string())?;
    for job in jobs {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn))) {
            Ok(ran) => {
                completions.push(ran.done);
                if ran.poisoned {
                    return Err("a write failed midway; its batch was rolled back".into());
                }
            }
            Err(_) => return Err("a write panicked; its batch was rolled back".into()),
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())
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
