//! What a broker holds, checked against the outbox itself.

use kefu_core::event::{ConversationEvent, Event};
use kefu_store::OutboxRow;
use std::collections::{HashMap, HashSet};

/// One message as a broker's consumer saw it.
#[derive(Debug)]
pub struct Got {
    /// `Nats-Msg-Id` / AMQP `message_id`.
    pub id: String,
    /// The subject / routing key.
    pub key: String,
    pub payload: Vec<u8>,
}

/// Whether a repeat of an event is a failure (JetStream dedupes by id) or
/// allowed (at least once: an AMQP publish whose confirm was lost is
/// published again; consumers dedupe by `message_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeats {
    Refused,
    Allowed,
}

/// What was checked.
#[derive(Debug, Default)]
pub struct Tally {
    /// Distinct events received (= events in the outbox).
    pub events: usize,
    /// Deliveries of an event already received.
    pub repeats: usize,
    pub conversations: usize,
    pub messages: usize,
    /// Contact events, which belong to no conversation.
    pub without_conversation: usize,
}

/// Every outbox event arrived (exactly once, unless `repeats` allows more),
/// byte for byte, under the key `key_of` gives it, and each conversation's
/// events arrived in outbox (commit) order, its messages' `seq` rising. With
/// repeats, the order is that of first arrivals (what a consumer that
/// dedupes by id sees).
pub fn check(
    expected: &[OutboxRow],
    got: &[Got],
    key_of: impl Fn(&Event) -> String,
    repeats: Repeats,
) -> Tally {
    let by_id: HashMap<&str, &OutboxRow> =
        expected.iter().map(|r| (r.event.id.as_str(), r)).collect();
    assert_eq!(by_id.len(), expected.len(), "outbox ids are unique");
    let mut seen = HashSet::new();
    let mut first: Vec<&str> = Vec::new();
    for g in got {
        let row = by_id
            .get(g.id.as_str())
            .unwrap_or_else(|| panic!("{} is not an outbox event", g.id));
        assert_eq!(g.key, key_of(&row.event), "key of {}", g.id);
        assert!(
            g.payload == row.payload.as_bytes(),
            "payload of {} differs from the outbox",
            g.id
        );
        if seen.insert(g.id.as_str()) {
            first.push(g.id.as_str());
        } else {
            assert_eq!(repeats, Repeats::Allowed, "event {} arrived twice", g.id);
        }
    }
    let missing: Vec<&str> = by_id
        .keys()
        .filter(|id| !seen.contains(*id))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} events never arrived, e.g. {:?}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(3)]
    );
    // Order per conversation: as committed.
    let per_conv = |ids: &mut dyn Iterator<Item = &str>| {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for id in ids {
            if let Some(c) = by_id[id].event.conversation_id() {
                m.entry(c.to_string()).or_default().push(id.to_string());
            }
        }
        m
    };
    let want = per_conv(&mut expected.iter().map(|r| r.event.id.as_str()));
    let have = per_conv(&mut first.iter().copied());
    let mut tally = Tally {
        events: first.len(),
        repeats: got.len() - first.len(),
        conversations: want.len(),
        ..Tally::default()
    };
    for (conv, ids) in &want {
        assert_eq!(
            have.get(conv),
            Some(ids),
            "conversation {conv}: events out of order"
        );
        let seqs: Vec<i64> = ids
            .iter()
            .filter_map(|id| match &by_id[id.as_str()].event.change {
                ConversationEvent::MessageCreated { message } => Some(message.seq),
                _ => None,
            })
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "conversation {conv}: message seqs {seqs:?}"
        );
        tally.messages += seqs.len();
    }
    tally.without_conversation = expected
        .iter()
        .filter(|r| r.event.conversation.is_none())
        .count();
    tally
}
