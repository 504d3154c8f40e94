//! Publishing a batch in order with the broker's acknowledgements pipelined,
//! without ever letting an event overtake an earlier one of its own
//! conversation.
//!
//! Sending everything and then awaiting the acks is not enough: when a
//! connection drops mid-batch, a client library may lose what it had written
//! to the dead socket yet send what it still had buffered once it
//! reconnects (async-nats does), so a later event is stored and an earlier
//! one, sent again on the retry, lands after it. So an event is sent only
//! once every earlier event of the same conversation (of the same contact,
//! for contact events) is acknowledged. Events of different conversations
//! stay pipelined; one busy conversation goes one round trip per event.
//!
//! What a retry sends again (the rows after the confirmed prefix) can repeat
//! events that were stored: JetStream drops them by `Nats-Msg-Id`, AMQP
//! consumers dedupe by `message_id`. Either way each conversation's first
//! arrivals are in commit order.

use super::Failed;
use kefu_core::event::Event;
use kefu_store::OutboxRow;
use std::{
    collections::{HashMap, VecDeque},
    future::Future,
};

/// What orders an event: its conversation, else its contact, else itself.
pub fn order_key(e: &Event) -> &str {
    e.conversation_id()
        .map(|c| c.as_str())
        .or(e.contact_id.as_deref())
        .unwrap_or(&e.id)
}

/// Sends `rows` in order with `send` (which resolves once the broker has the
/// message, to a future of its acknowledgement) and awaits the acks in order.
/// Ok when every row is acknowledged; otherwise how many leading rows were.
pub async fn publish_in_order<'r, S, SF, A>(
    rows: &'r [OutboxRow],
    mut send: S,
) -> Result<(), Failed>
where
    S: FnMut(&'r OutboxRow) -> SF,
    SF: Future<Output = Result<A, String>>,
    A: Future<Output = Result<(), String>>,
{
    let mut pending: VecDeque<A> = VecDeque::new();
    // Acknowledged rows: always a prefix, as acks are awaited in order.
    let mut confirmed = 0;
    // The last row sent per order key.
    let mut last_sent: HashMap<&'r str, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let key = order_key(&row.event);
        if let Some(&j) = last_sent.get(key) {
            // Its predecessor first: await the acks through it.
            while confirmed <= j {
                await_next(&mut pending, &mut confirmed, rows).await?;
            }
        }
        match send(row).await {
            Ok(ack) => pending.push_back(ack),
            Err(reason) => {
                // Nothing after it is sent; count what the broker took.
                while !pending.is_empty() {
                    await_next(&mut pending, &mut confirmed, rows).await?;
                }
                return Err(Failed {
                    confirmed,
                    reason: format!("publishing event {}: {reason}", row.event.id),
                });
            }
        }
        last_sent.insert(key, i);
    }
    while !pending.is_empty() {
        await_next(&mut pending, &mut confirmed, rows).await?;
    }
    Ok(())
}

/// Awaits the oldest pending ack.
async fn await_next<A>(
    pending: &mut VecDeque<A>,
    confirmed: &mut usize,
    rows: &[OutboxRow],
) -> Result<(), Failed>
where
    A: Future<Output = Result<(), String>>,
{
    let ack = pending.pop_front().expect("an ack is pending");
    match ack.await {
        Ok(()) => {
            *confirmed += 1;
            Ok(())
        }
        Err(reason) => Err(Failed {
            confirmed: *confirmed,
            reason: format!(
                "the broker did not acknowledge event {}: {reason}",
                rows[*confirmed].event.id
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::{
        ConversationStatus, SenderKind,
        event::{Actor, Conversation, ConversationEvent},
    };
    use std::sync::Mutex;

    fn row(position: i64, conversation: Option<&str>, contact: &str) -> OutboxRow {
        let conv = conversation.map(|id| Conversation {
            id: id.into(),
            workspace_id: "w".into(),
            inbox_id: "i".into(),
            contact_id: contact.into(),
            status: ConversationStatus::Open,
            assignee_id: None,
            last_seq: 0,
            last_activity_at: 0,
            created_at: 0,
            updated_at: 0,
            priority: kefu_core::Priority::Normal,
            tags: vec![],
            snoozed_until: None,
            waiting_since: None,
        });
        let event = Event {
            id: format!("e{position}"),
            workspace_id: "w".into(),
            occurred_at: 0,
            actor: Actor {
                kind: SenderKind::System,
                id: "t".into(),
            },
            conversation: conv,
            contact_id: Some(contact.into()),
            change: ConversationEvent::ConversationQueued { group: "g".into() },
        };
        OutboxRow {
            position,
            payload: String::new(),
            event,
        }
    }

    /// Runs the pipeline over `rows`, acks failing for the ids in `refuse`;
    /// returns the log of sends and acks, and the outcome.
    async fn run(rows: &[OutboxRow], refuse: &[&str]) -> (Vec<String>, Result<(), Failed>) {
        let log = Mutex::new(Vec::new());
        let outcome = publish_in_order(rows, |r| {
            let id = r.event.id.clone();
            log.lock().unwrap().push(format!("send {id}"));
            let fails = refuse.contains(&id.as_str());
            let log = &log;
            async move {
                Ok(async move {
                    log.lock().unwrap().push(format!("ack {id}"));
                    if fails {
                        Err("refused".to_string())
                    } else {
                        Ok(())
                    }
                })
            }
        })
        .await;
        (log.into_inner().unwrap(), outcome)
    }

    #[tokio::test]
    async fn other_conversations_stay_pipelined_a_conversation_waits_for_its_predecessor() {
        let rows = [
            row(1, Some("a"), "ka"),
            row(2, Some("b"), "kb"),
            row(3, None, "kc"),
            row(4, Some("a"), "ka"),
        ];
        let (log, outcome) = run(&rows, &[]).await;
        assert!(outcome.is_ok());
        assert_eq!(
            log,
            [
                "send e1", "send e2", "send e3", "ack e1", "send e4", "ack e2", "ack e3", "ack e4"
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_ack_stops_the_conversation_and_counts_the_prefix() {
        let rows = [
            row(1, Some("a"), "ka"),
            row(2, Some("b"), "kb"),
            row(3, Some("b"), "kb"),
            row(4, Some("a"), "ka"),
        ];
        let (log, outcome) = run(&rows, &["e2"]).await;
        let f = outcome.unwrap_err();
        assert_eq!(f.confirmed, 1, "{}", f.reason);
        assert!(f.reason.contains("e2"));
        // e3 (same conversation as e2) was never sent.
        assert_eq!(log, ["send e1", "send e2", "ack e1", "ack e2"]);
    }

    #[tokio::test]
    async fn a_failed_send_sends_nothing_after_it() {
        let rows = [
            row(1, Some("a"), "ka"),
            row(2, Some("b"), "kb"),
            row(3, Some("c"), "kc"),
        ];
        let sent = Mutex::new(Vec::new());
        let outcome = publish_in_order(&rows, |r| {
            sent.lock().unwrap().push(r.position);
            let fail = r.position == 2;
            async move {
                if fail {
                    Err("too big".to_string())
                } else {
                    Ok(async { Ok(()) })
                }
            }
        })
        .await;
        let f = outcome.unwrap_err();
        assert_eq!((f.confirmed, sent.into_inner().unwrap()), (1, vec![1, 2]));
    }

    #[test]
    fn contact_events_are_ordered_by_contact() {
        let r = row(1, None, "k1");
        assert_eq!(order_key(&r.event), "k1");
        assert_eq!(order_key(&row(2, Some("c1"), "k1").event), "c1");
    }
}
