//! In-process fan-out of already-serialized frames.
//!
//! A frame is serialized once and shared (`Arc`) by every connection that
//! receives it. Each connection has a bounded queue; when a queue is full the
//! connection is a slow consumer: the hub cancels its token, drops it from
//! every topic and the connection closes (the client then resumes from its
//! last `seq`). Nothing ever buffers without bound or waits on a slow peer.
//!
//! Topics: `w:<workspace>` (every agent connection of a workspace) and
//! `c:<contact>` (every tab of one visitor). Cluster mode will put the same
//! interface over Redis.

use axum::extract::ws::Utf8Bytes;
use kefu_core::protocol::ServerFrame;
use kefu_core::{ConversationId, UserId};
use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One serialized frame, with what the receiving connection needs without
/// parsing it again: the conversation and `seq` (to keep per-conversation
/// order), and who sent it under which `client_msg_id` (so the sending
/// connection writes its `ack` first).
#[derive(Debug)]
pub struct Outbound {
    pub conversation_id: Option<ConversationId>,
    pub seq: Option<i64>,
    pub sender_id: Option<String>,
    pub client_msg_id: Option<String>,
    /// About a contact rather than a conversation (a `contact_event`): API
    /// keys get it only with the `contacts:read` scope.
    pub contact_data: bool,
    pub text: Utf8Bytes,
}

impl Outbound {
    pub fn new(frame: &ServerFrame) -> Arc<Outbound> {
        let (conversation_id, seq, sender_id, client_msg_id) = match frame {
            ServerFrame::Message { message } => (
                Some(message.conversation_id.clone()),
                Some(message.seq),
                Some(message.sender.id.clone()),
                message.client_msg_id.clone(),
            ),
            _ => (None, None, None, None),
        };
        Arc::new(Outbound {
            conversation_id,
            seq,
            sender_id,
            client_msg_id,
            contact_data: matches!(
                frame,
                ServerFrame::ContactEvent { .. } | ServerFrame::Contact { .. }
            ),
            text: Utf8Bytes::from(frame.to_json()),
        })
    }
}

pub fn workspace_topic(ws: &str) -> String {
    format!("w:{ws}")
}

pub fn contact_topic(contact: &str) -> String {
    format!("c:{contact}")
}

/// One agent's own frames (their notifications); every console tab of
/// theirs joins it, so "has subscribers" means "has a console open here".
pub fn user_topic(user: &str) -> String {
    format!("u:{user}")
}

struct Sub {
    id: u64,
    tx: mpsc::Sender<Arc<Outbound>>,
    kicked: CancellationToken,
}

#[derive(Default)]
struct Inner {
    topics: HashMap<String, Vec<Sub>>,
    /// Live agent connections per user, for presence.
    agents: HashMap<UserId, usize>,
}

/// The fan-out hub; clone freely.
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<RwLock<Inner>>,
    next_id: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
}

/// A connection's membership in its topics; leaving happens on drop.
pub struct Subscription {
    hub: Hub,
    id: u64,
    topics: Vec<String>,
    agent: Option<UserId>,
    /// Cancelled when the hub drops this connection as a slow consumer.
    pub kicked: CancellationToken,
}

impl Hub {
    /// Joins `topics`; frames arrive on `tx`. `agent` is the user id of an
    /// agent connection (counted for presence). Returns the subscription and
    /// whether this is the agent's first live connection.
    pub fn subscribe(
        &self,
        topics: Vec<String>,
        tx: mpsc::Sender<Arc<Outbound>>,
        agent: Option<UserId>,
    ) -> (Subscription, bool) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let kicked = CancellationToken::new();
        let mut first = false;
        {
            let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
            for t in &topics {
                inner.topics.entry(t.clone()).or_default().push(Sub {
                    id,
                    tx: tx.clone(),
                    kicked: kicked.clone(),
                });
            }
            if let Some(uid) = &agent {
                let n = inner.agents.entry(uid.clone()).or_default();
                *n += 1;
                first = *n == 1;
            }
        }
        self.connections.fetch_add(1, Ordering::Relaxed);
        (
            Subscription {
                hub: self.clone(),
                id,
                topics,
                agent,
                kicked,
            },
            first,
        )
    }

    /// Delivers `frame` to every subscriber of `topic` without waiting.
    pub fn publish(&self, topic: &str, frame: &Arc<Outbound>) {
        let mut slow = Vec::new();
        {
            let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
            let Some(subs) = inner.topics.get(topic) else {
                return;
            };
            for s in subs {
                match s.tx.try_send(frame.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => slow.push(s.id),
                    // The connection is closing; its subscription drop cleans up.
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        if !slow.is_empty() {
            let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
            for subs in inner.topics.values_mut() {
                subs.retain(|s| {
                    let drop = slow.contains(&s.id);
                    if drop {
                        s.kicked.cancel();
                    }
                    !drop
                });
            }
            tracing::warn!(count = slow.len(), "disconnecting slow consumers");
        }
    }

    pub fn publish_many(&self, topics: &[String], frame: &ServerFrame) {
        let out = Outbound::new(frame);
        for t in topics {
            self.publish(t, &out);
        }
    }

    /// Whether anyone listens on `topic` now (a visitor with a tab open).
    pub fn has_subscribers(&self, topic: &str) -> bool {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.topics.get(topic).is_some_and(|subs| !subs.is_empty())
    }

    /// Open realtime connections on this node.
    pub fn connection_count(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Subscription {
    /// Leaves every topic; tells whether this was the agent's last connection.
    fn leave(&mut self) -> bool {
        let mut last = false;
        let mut inner = self.hub.inner.write().unwrap_or_else(|p| p.into_inner());
        for t in &self.topics {
            if let Some(subs) = inner.topics.get_mut(t) {
                subs.retain(|s| s.id != self.id);
                if subs.is_empty() {
                    inner.topics.remove(t);
                }
            }
        }
        if let Some(uid) = &self.agent
            && let Some(n) = inner.agents.get_mut(uid)
        {
            *n -= 1;
            if *n == 0 {
                inner.agents.remove(uid);
                last = true;
            }
        }
        self.topics.clear();
        self.agent = None;
        last
    }

    /// Leaves now (rather than on drop) and reports whether the agent has no
    /// connection left, so the caller can publish them offline.
    pub fn close(mut self) -> bool {
        self.leave()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if !self.topics.is_empty() || self.agent.is_some() {
            self.leave();
        }
        self.hub.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fan_out_and_slow_consumer() {
        let hub = Hub::default();
        let (tx1, mut rx1) = mpsc::channel(4);
        let (tx2, _rx2) = mpsc::channel(1);
        let (s1, _) = hub.subscribe(vec!["w:a".into()], tx1, None);
        let (s2, _) = hub.subscribe(vec!["w:a".into()], tx2, None);
        let f = ServerFrame::Pong { id: None };
        hub.publish_many(&["w:a".into()], &f);
        hub.publish_many(&["w:a".into()], &f);
        assert!(rx1.recv().await.is_some());
        assert!(s2.kicked.is_cancelled(), "full queue = slow consumer");
        assert!(!s1.kicked.is_cancelled());
        hub.publish_many(&["w:b".into()], &f);
        assert_eq!(hub.connection_count(), 2);
        drop(s2);
        assert_eq!(hub.connection_count(), 1);
    }

    #[test]
    fn agent_presence_counts_connections() {
        let hub = Hub::default();
        let (tx, _rx) = mpsc::channel(1);
        let (a, first) = hub.subscribe(vec![], tx.clone(), Some("u".into()));
        assert!(first);
        let (b, first) = hub.subscribe(vec![], tx, Some("u".into()));
        assert!(!first);
        assert!(!a.close());
        assert!(b.close());
    }
}
