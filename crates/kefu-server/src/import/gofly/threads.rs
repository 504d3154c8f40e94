//! Conversations from GOFLY's messages, which have none: GOFLY shows one
//! endless chat per visitor. Messages are taken in GOFLY's id order; a
//! visitor's message starts a new conversation when more than `split_ms`
//! passed since that visitor's previous message (by default a day, kefu's
//! default reopen window: within it kefu itself would have continued the
//! same conversation). A conversation's assignee is the agent who wrote
//! its latest agent message.
//!
//! State is one slot per visitor (their contact and current conversation),
//! not per message; an interrupted import rebuilds it from the stored
//! conversations ([`Threads::resume`]).

use kefu_store::{ImportConversation, import_id};
use std::collections::HashMap;

struct Slot {
    contact_id: String,
    conv: Option<ImportConversation>,
    /// Whether `conv` changed in the current batch.
    dirty: bool,
}

/// Every visitor's current conversation.
pub struct Threads {
    ws: String,
    source: String,
    inbox_id: String,
    split_ms: i64,
    slots: HashMap<String, Slot>,
    /// Keys of the slots changed in this batch.
    dirty: Vec<String>,
    /// Conversations a later message of the same batch closed.
    finished: Vec<ImportConversation>,
}

/// Where a message goes.
pub struct Placed {
    pub conversation_id: String,
    pub seq: i64,
    pub contact_id: String,
}

impl Threads {
    pub fn new(ws: &str, source: &str, inbox_id: &str, split_ms: i64) -> Threads {
        Threads {
            ws: ws.into(),
            source: source.into(),
            inbox_id: inbox_id.into(),
            split_ms,
            slots: HashMap::new(),
            dirty: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// A visitor (GOFLY `visitor_id`) and the contact they became.
    pub fn add_visitor(&mut self, key: String, contact_id: String) {
        self.slots.insert(
            key,
            Slot {
                contact_id,
                conv: None,
                dirty: false,
            },
        );
    }

    /// Continues from a conversation an earlier run stored: the latest of
    /// each contact wins.
    pub fn resume(&mut self, by_contact: &HashMap<String, String>, conv: ImportConversation) {
        let Some(key) = by_contact.get(&conv.contact_id) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(key) {
            let newer = slot
                .conv
                .as_ref()
                .is_none_or(|c| (c.created_at, &c.id) < (conv.created_at, &conv.id));
            if newer {
                slot.conv = Some(conv);
            }
        }
    }

    /// Places GOFLY message `msg_id` of `visitor` at `at_ms`, written by
    /// `agent` (a kefu user id) or the visitor; `None` for an unknown visitor.
    pub fn place(
        &mut self,
        visitor: &str,
        msg_id: i64,
        at_ms: i64,
        agent: Option<&str>,
    ) -> Option<Placed> {
        let slot = self.slots.get_mut(visitor)?;
        let continues = slot
            .conv
            .as_ref()
            .is_some_and(|c| at_ms - c.last_activity_at <= self.split_ms);
        if continues {
            if let Some(c) = slot.conv.as_mut() {
                c.last_seq += 1;
                c.last_activity_at = c.last_activity_at.max(at_ms);
            }
        } else {
            if let Some(old) = slot.conv.take()
                && slot.dirty
            {
                self.finished.push(old);
            }
            let id = import_id(
                at_ms,
                &[&self.ws, &self.source, "conversation", &msg_id.to_string()],
            );
            slot.conv = Some(ImportConversation {
                id,
                inbox_id: self.inbox_id.clone(),
                contact_id: slot.contact_id.clone(),
                assignee_id: None,
                last_seq: 1,
                created_at: at_ms,
                last_activity_at: at_ms,
            });
        }
        let conv = slot.conv.as_mut()?;
        if let Some(a) = agent
            && conv.assignee_id.as_deref() != Some(a)
        {
            conv.assignee_id = Some(a.to_string());
        }
        if !slot.dirty {
            slot.dirty = true;
            self.dirty.push(visitor.to_string());
        }
        Some(Placed {
            conversation_id: conv.id.clone(),
            seq: conv.last_seq,
            contact_id: slot.contact_id.clone(),
        })
    }

    /// The conversations the batch changed, each once, as they now stand.
    pub fn take_changed(&mut self) -> Vec<ImportConversation> {
        let mut out = std::mem::take(&mut self.finished);
        for key in std::mem::take(&mut self.dirty) {
            if let Some(slot) = self.slots.get_mut(&key) {
                slot.dirty = false;
                if let Some(c) = &slot.conv {
                    out.push(c.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn a_gap_longer_than_the_split_starts_a_new_conversation() {
        let mut t = Threads::new("ws", "src", "inbox", 24 * H);
        t.add_visitor("v1".into(), "c1".into());
        t.add_visitor("v2".into(), "c2".into());
        let a = t.place("v1", 1, 0, None).unwrap();
        let b = t.place("v1", 2, H, Some("agent1")).unwrap();
        let other = t.place("v2", 3, H, None).unwrap();
        assert_eq!((a.seq, b.seq), (1, 2));
        assert_eq!(a.conversation_id, b.conversation_id);
        assert_ne!(a.conversation_id, other.conversation_id);
        let c = t.place("v1", 4, 26 * H, None).unwrap();
        assert_ne!(c.conversation_id, a.conversation_id);
        assert_eq!(c.seq, 1);
        let changed = t.take_changed();
        // v1's first conversation (closed in this batch), v1's second, v2's.
        assert_eq!(changed.len(), 3);
        let first = changed.iter().find(|c| c.id == a.conversation_id).unwrap();
        assert_eq!((first.last_seq, first.last_activity_at), (2, H));
        assert_eq!(first.assignee_id.as_deref(), Some("agent1"));
        assert!(t.take_changed().is_empty());
        assert!(t.place("nobody", 5, 0, None).is_none());
    }

    #[test]
    fn resuming_continues_the_latest_conversation() {
        let mut t = Threads::new("ws", "src", "inbox", 24 * H);
        t.add_visitor("v1".into(), "c1".into());
        let first = t.place("v1", 1, 0, None).unwrap();
        let stored = t.take_changed().remove(0);
        let mut again = Threads::new("ws", "src", "inbox", 24 * H);
        again.add_visitor("v1".into(), "c1".into());
        let by_contact = HashMap::from([("c1".to_string(), "v1".to_string())]);
        again.resume(&by_contact, stored);
        let next = again.place("v1", 2, H, None).unwrap();
        assert_eq!(next.conversation_id, first.conversation_id);
        assert_eq!(next.seq, 2);
    }
}
