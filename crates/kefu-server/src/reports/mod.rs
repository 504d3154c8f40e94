//! Reports as events happen: an outbox consumer (named [`CONSUMER`]) folds
//! every conversation's events into its report state with kefu-reports'
//! definitions and stores the facts that come out; `api/reports.rs` sums
//! them per period.
//!
//! **Counted once.** A conversation's state remembers the outbox position
//! of the last event folded in, so a batch handed on again after a crash
//! adds nothing; the state and its facts are saved in one transaction that
//! fails if the state moved on meanwhile (another node counting the same
//! events), and the batch is then folded again from the newer state.
//!
//! **From the oldest event kept**: a new install reports the history still
//! in the outbox (`[outbox] retention_hours`), not what was pruned before.

use crate::{
    app::SharedState,
    outbox::{Handled, Start},
};
use kefu_core::{ConversationId, WorkspaceId, event::Event};
use kefu_reports::{AlwaysOpen, Calendar, ConvState, Step, apply};
use kefu_store::{BusinessHours, OutboxRow, ReportUpdate, StoreError, Workspace};
use std::collections::HashMap;
use tokio::sync::watch;

/// The outbox consumer's name.
pub const CONSUMER: &str = "reports";

/// How far reports have counted (the outbox position of the last batch
/// saved): a report asked for right after a change waits on it.
pub struct Progress {
    tx: watch::Sender<i64>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            tx: watch::channel(0).0,
        }
    }
}

impl Progress {
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.tx.subscribe()
    }

    fn saved(&self, position: i64) {
        self.tx.send_if_modified(|p| {
            let newer = position > *p;
            if newer {
                *p = position;
            }
            newer
        });
    }
}

/// Starts the consumer; the handle resolves after `state.shutdown`.
pub fn spawn(state: &SharedState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let st = state.clone();
        crate::outbox::follow(state, CONSUMER.into(), Start::Oldest, move |rows| {
            let st = st.clone();
            async move {
                let Some(through) = rows.last().map(|r| r.position) else {
                    return Handled::Through(0);
                };
                match count(&st, rows).await {
                    Ok(()) => {
                        st.reports.saved(through);
                        Handled::Through(through)
                    }
                    Err(e) => Handled::Retry(e.to_string()),
                }
            }
        })
        .await
    })
}

/// An inbox's business hours as a calendar (the workspace's time zone and
/// holidays where the inbox names none); `None`: always open.
pub fn calendar(bh: &BusinessHours, ws: &Workspace) -> Option<kefu_routing::clock::BusinessHours> {
    let timezone = match (&bh.timezone, bh.utc_offset_minutes) {
        (Some(tz), _) => tz.clone(),
        // The older fixed-offset form, where it is whole hours (the tz
        // database's Etc zones count the other way round).
        (None, Some(off)) if off % 60 == 0 => match off / 60 {
            0 => "UTC".to_string(),
            h => format!("Etc/GMT{:+}", -h),
        },
        (None, Some(_)) => return None,
        (None, None) => ws.timezone.clone(),
    };
    Some(kefu_routing::clock::BusinessHours {
        timezone,
        periods: bh
            .periods
            .iter()
            .map(|p| kefu_routing::clock::Period {
                day: u32::from(p.day),
                open: p.open.clone(),
                close: p.close.clone(),
            })
            .collect(),
        holidays: ws.holidays.clone(),
    })
}

type Calendars = HashMap<(WorkspaceId, String), Option<kefu_routing::clock::BusinessHours>>;

async fn calendar_of<'a>(
    state: &SharedState,
    cache: &'a mut Calendars,
    ws: &WorkspaceId,
    inbox: &str,
) -> Result<&'a dyn Calendar, StoreError> {
    let key = (ws.clone(), inbox.to_string());
    if !cache.contains_key(&key) {
        let cal = match state.inboxes.get(&state.store, ws, inbox).await {
            Ok(i) => match &i.widget.business_hours {
                Some(bh) => calendar(bh, &state.store.get_workspace(ws).await?),
                None => None,
            },
            // A deleted inbox: its conversations still count, on the clock.
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        cache.insert(key.clone(), cal);
    }
    Ok(match cache.get(&key).and_then(|c| c.as_ref()) {
        Some(bh) => bh,
        None => &AlwaysOpen,
    })
}

/// Folds a batch into the conversations' states and saves them with their
/// facts.
async fn count(state: &SharedState, rows: Vec<OutboxRow>) -> Result<(), StoreError> {
    // Per conversation, in order.
    let mut order: Vec<(WorkspaceId, ConversationId)> = Vec::new();
    let mut by_conv: HashMap<(WorkspaceId, ConversationId), Vec<(i64, Event)>> = HashMap::new();
    for row in rows {
        let Some(conv) = row.event.conversation_id().cloned() else {
            continue;
        };
        let key = (row.event.workspace_id.clone(), conv);
        let list = by_conv.entry(key.clone()).or_default();
        if list.is_empty() {
            order.push(key);
        }
        list.push((row.position, row.event));
    }
    let states = state.store.report_states(&order).await?;
    let mut calendars = Calendars::new();
    let mut updates = Vec::new();
    for key in order {
        let Some(events) = by_conv.remove(&key) else {
            continue;
        };
        let prev = states.get(&key).cloned().unwrap_or_default();
        let mut st: ConvState = prev.state.clone();
        let mut facts = Vec::new();
        let mut position = prev.position;
        for (pos, ev) in events {
            if pos <= prev.position {
                continue; // counted before
            }
            position = pos;
            let Some(step) = Step::of(&ev) else {
                continue;
            };
            if st.inbox_id.is_empty()
                && let Some(c) = &ev.conversation
            {
                // Known before its creation was seen (history pruned from the outbox).
                st.inbox_id = c.inbox_id.clone();
            }
            let inbox = st.inbox_id.clone();
            let cal = calendar_of(state, &mut calendars, &key.0, &inbox).await?;
            facts.extend(apply(&mut st, kefu_reports::step::time_of(&ev), &step, cal));
        }
        // Events that changed nothing need no write (folding them again is a no-op).
        if facts.is_empty() && st == prev.state {
            continue;
        }
        updates.push(ReportUpdate {
            workspace_id: key.0,
            conversation_id: key.1,
            read_at: prev.position,
            position,
            state: st,
            facts,
        });
    }
    state.store.save_report_updates(updates).await
}
