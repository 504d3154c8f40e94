//! Routing as an owned worker: new conversations to route and workspaces
//! whose lines may move arrive on a channel; one task runs them, at most
//! [`MAX_ROUTES`] routes at once, and at most one drain per workspace (a
//! drain asked for while one runs makes it run once more afterwards, never
//! twice in parallel). Shutdown waits for it before the store closes; tests
//! wait for it with [`Router::idle`], never with a sleep.

use crate::app::SharedState;
use kefu_core::WorkspaceId;
use kefu_store::Conversation;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// Routes in flight at once; the rest wait their turn in order.
const MAX_ROUTES: usize = 64;

enum Job {
    /// A conversation just opened, with its first message.
    Route(Box<Conversation>, String),
    /// Let the workspace's lines move up; tell the waiter when a drain that
    /// started after this request has finished.
    Drain(WorkspaceId, Option<oneshot::Sender<()>>),
}

enum Finished {
    Route,
    Drain(WorkspaceId),
}

/// Handle to the routing worker (in `AppState`).
pub struct Router {
    tx: mpsc::UnboundedSender<Job>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
    /// Jobs submitted and not finished (coalesced drains count once).
    pending: Arc<AtomicUsize>,
    idle: Arc<Notify>,
    closing: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Default for Router {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Router {
            tx,
            rx: Mutex::new(Some(rx)),
            pending: Arc::default(),
            idle: Arc::default(),
            closing: CancellationToken::new(),
            task: Mutex::new(None),
        }
    }
}

impl Router {
    /// Routes a conversation that was just opened.
    pub fn route(&self, conv: Conversation, first_message: String) {
        self.submit(Job::Route(Box::new(conv), first_message));
    }

    /// Hands waiting conversations of the workspace to agents who can take
    /// them now, and tells the rest their places.
    pub fn drain(&self, workspace_id: &WorkspaceId) {
        self.submit(Job::Drain(workspace_id.clone(), None));
    }

    /// [`Router::drain`], resolving once a drain that started after this
    /// call has finished (a transfer to a group answers with the outcome).
    pub async fn drained(&self, workspace_id: &WorkspaceId) {
        let (tx, rx) = oneshot::channel();
        self.submit(Job::Drain(workspace_id.clone(), Some(tx)));
        // An error means the worker stopped: nothing more will happen anyway.
        let _ = rx.await;
    }

    fn submit(&self, job: Job) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(job).is_err() {
            tracing::warn!("routing has stopped; a routing job was dropped");
            finish(&self.pending, &self.idle);
        }
    }

    /// Resolves once every routing job submitted so far (and whatever they
    /// caused) has finished.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Starts the worker (once; later calls do nothing).
    pub fn start(&self, state: &SharedState) {
        let Some(rx) = self.rx.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        let handle = tokio::spawn(run(
            state.clone(),
            rx,
            self.pending.clone(),
            self.idle.clone(),
            self.closing.clone(),
        ));
        if let Ok(mut t) = self.task.lock() {
            *t = Some(handle);
        }
    }

    /// Finishes the jobs already submitted, then stops the worker.
    pub async fn shutdown(&self) {
        self.closing.cancel();
        let handle = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle
            && let Err(e) = h.await
        {
            tracing::error!(error = %e, "the routing worker failed");
        }
    }
}

fn finish(pending: &AtomicUsize, idle: &Notify) {
    if pending.fetch_sub(1, Ordering::SeqCst) == 1 {
        idle.notify_waiters();
    }
}

async fn run(
    state: SharedState,
    mut rx: mpsc::UnboundedReceiver<Job>,
    pending: Arc<AtomicUsize>,
    idle: Arc<Notify>,
    closing: CancellationToken,
) {
    let mut running: JoinSet<Finished> = JoinSet::new();
    let mut routes = 0usize;
    let mut waiting: VecDeque<(Box<Conversation>, String)> = VecDeque::new();
    let mut draining: HashSet<WorkspaceId> = HashSet::new();
    let mut again: HashSet<WorkspaceId> = HashSet::new();
    // Waiters of the drain running now, and of the one to run after it.
    let mut waiting_now: HashMap<WorkspaceId, Vec<oneshot::Sender<()>>> = HashMap::new();
    let mut waiting_next: HashMap<WorkspaceId, Vec<oneshot::Sender<()>>> = HashMap::new();
    let mut closed = false;
    loop {
        tokio::select! {
            Some(done) = running.join_next(), if !running.is_empty() => {
                match done {
                    Ok(Finished::Route) => routes -= 1,
                    Ok(Finished::Drain(ws)) => {
                        draining.remove(&ws);
                        for w in waiting_now.remove(&ws).unwrap_or_default() {
                            let _ = w.send(());
                        }
                        if again.remove(&ws) {
                            // Counted when it was coalesced; runs now.
                            if let Some(w) = waiting_next.remove(&ws) {
                                waiting_now.insert(ws.clone(), w);
                            }
                            draining.insert(ws.clone());
                            running.spawn(drain(state.clone(), ws));
                        }
                    }
                    Err(e) => {
                        // A panicked job: its kind is unknown, so recount the routes.
                        tracing::error!(error = %e, "a routing job panicked");
                        routes = routes.saturating_sub(1);
                    }
                }
                while routes < MAX_ROUTES && let Some((conv, text)) = waiting.pop_front() {
                    routes += 1;
                    running.spawn(route(state.clone(), conv, text));
                }
                finish(&pending, &idle);
            }
            job = rx.recv(), if !closed => match job {
                Some(Job::Route(conv, text)) if routes < MAX_ROUTES => {
                    routes += 1;
                    running.spawn(route(state.clone(), conv, text));
                }
                Some(Job::Route(conv, text)) => waiting.push_back((conv, text)),
                Some(Job::Drain(ws, waiter)) => {
                    if draining.contains(&ws) {
                        // The running drain may have read the lines before
                        // this request's change: the waiter waits for the next.
                        if let Some(w) = waiter {
                            waiting_next.entry(ws.clone()).or_default().push(w);
                        }
                        // Coalesced: one more run after the current one, counted once.
                        if !again.insert(ws) {
                            finish(&pending, &idle);
                        }
                    } else {
                        if let Some(w) = waiter {
                            waiting_now.entry(ws.clone()).or_default().push(w);
                        }
                        draining.insert(ws.clone());
                        running.spawn(drain(state.clone(), ws));
                    }
                }
                None => closed = true,
            },
            _ = closing.cancelled(), if !closed => {
                // Take what was submitted before the close, then accept no more.
                rx.close();
            }
        }
        if closed && running.is_empty() && waiting.is_empty() {
            return;
        }
    }
}

async fn route(state: SharedState, conv: Box<Conversation>, first_message: String) -> Finished {
    if let Err(e) = super::route(&state, &conv, &first_message).await {
        tracing::warn!(conversation_id = %conv.id, error = %e, "routing failed; the conversation stays unassigned");
    }
    Finished::Route
}

async fn drain(state: SharedState, workspace_id: WorkspaceId) -> Finished {
    if let Err(e) = super::drain(&state, &workspace_id).await {
        tracing::warn!(workspace_id = %workspace_id, error = %e, "draining the routing queue failed");
    }
    Finished::Drain(workspace_id)
}
