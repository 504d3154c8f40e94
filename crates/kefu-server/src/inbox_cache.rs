//! Inboxes by id, cached for the realtime handshake: every visitor
//! connection checks its page's origin against the inbox's allowed origins,
//! and a store read per handshake halves the connect rate. Entries live a few
//! seconds, and this node's own updates replace them at once.

use kefu_core::WorkspaceId;
use kefu_store::{Inbox, Store, StoreError};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

/// How long another node's change to an inbox may take to be seen here.
const TTL: Duration = Duration::from_secs(10);
/// More entries than this and the cache starts over (bounded memory).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct InboxCache {
    entries: RwLock<HashMap<String, (Instant, Arc<Inbox>)>>,
}

impl InboxCache {
    pub async fn get(
        &self,
        store: &Store,
        workspace_id: &WorkspaceId,
        id: &str,
    ) -> Result<Arc<Inbox>, StoreError> {
        if let Ok(map) = self.entries.read()
            && let Some((at, inbox)) = map.get(id)
            && at.elapsed() < TTL
            && inbox.workspace_id == *workspace_id
        {
            return Ok(inbox.clone());
        }
        let inbox = Arc::new(store.get_inbox(workspace_id, id).await?);
        self.put(inbox.clone());
        Ok(inbox)
    }

    /// Records a fresh copy (after an update on this node).
    pub fn put(&self, inbox: Arc<Inbox>) {
        if let Ok(mut map) = self.entries.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(inbox.id.clone(), (Instant::now(), inbox));
        }
    }
}
