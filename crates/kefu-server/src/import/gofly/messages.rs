//! The messages step: GOFLY's `message` table in id order, a chunk at a
//! time, into conversations ([`super::threads`]). Reading, mapping and
//! writing are a pipeline of three stages with bounded channels between
//! them, so MySQL, the mapping (with tokenizing for search) and kefu's
//! writer work at the same time; each chunk is still one transaction with
//! its checkpoint (the chunk's last GOFLY id and the skip counts), written
//! in order.
//!
//! Skipped, and counted: messages GOFLY marked deleted, empty ones, ones
//! without a time or a visitor, and agent messages whose agent was not
//! imported. Every message is text (see [`super::content`]). A visitor id
//! the `visitor` table no longer has becomes a contact at its first message.

use super::content::to_text;
use super::source::{Chunks, Message as Row};
use super::threads::Threads;
use super::{Ctx, GoflyError};
use crate::import::StepSummary;
use futures::StreamExt;
use kefu_core::{MessageKind, SenderKind};
use kefu_store::{
    ImportBatch, ImportCheckpoint, ImportContact, ImportMessage, PreparedBatch, import_id,
};
use serde_json::json;
use std::collections::HashMap;

/// The longest message kept (GOFLY's column holds 2048 characters).
const MAX_CHARS: usize = 10_000;

/// How many chunks the reader and the mapper may each be ahead of the
/// writer: enough to keep the three stages busy, few enough to bound memory.
const AHEAD: usize = 2;

pub async fn messages(
    ctx: &Ctx<'_>,
    inbox_id: &str,
    agents: &HashMap<String, String>,
) -> Result<StepSummary, GoflyError> {
    let mut s = StepSummary::default();
    let mut after = 0;
    if let Some((pos, counts)) = ctx
        .store
        .import_checkpoint(&ctx.ws, &ctx.source, "messages")
        .await?
    {
        after = pos;
        s.resume_from(&counts);
    }
    let mut threads = Threads::new(
        &ctx.ws,
        &ctx.source,
        inbox_id,
        ctx.opts.split_after_secs.saturating_mul(1000),
    );
    let mut by_contact: HashMap<String, String> = HashMap::new();
    ctx.store
        .import_map_each(&ctx.ws, &ctx.source, "visitor", |key, contact| {
            if after > 0 {
                by_contact.insert(contact.clone(), key.clone());
            }
            threads.add_visitor(key, contact);
        })
        .await?;
    if after > 0 {
        ctx.store
            .imported_conversations_each(&ctx.ws, &ctx.source, "visitor", |c| {
                threads.resume(&by_contact, c.conversation)
            })
            .await?;
    }
    drop(by_contact);
    let pb = super::progress_bar::<Row>(ctx, after, "messages").await?;

    // Three stages at once: the reader task fetches chunks from MySQL, the
    // mapper (a blocking thread: it is all CPU) turns each into a batch
    // with its search documents, and this task has the store write them in
    // order, each batch with its checkpoint in one transaction.
    let chunks = ctx.src.read_ahead::<Row>(after, ctx.opts.batch_size, AHEAD);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Mapped>(AHEAD);
    let mut mapper = Mapper {
        store: ctx.store.clone(),
        ws: ctx.ws.clone(),
        source: ctx.source.clone(),
        inbox_id: inbox_id.to_string(),
        agents: agents.clone(),
        base: ctx.opts.gofly_url.clone(),
        threads,
        s,
        position: after,
    };
    let mapping = tokio::task::spawn_blocking(move || mapper.run(chunks, tx));
    let mut written = StepSummary::default();
    let mut failed = None;
    // Several batches handed to the writer at once: it commits the ones
    // waiting together, and the writer never waits for this task to drop
    // a finished batch or take the next one from the mapper.
    let at_once = ctx.store.import_batches_at_once();
    let mut writing = futures::stream::FuturesOrdered::new();
    let mut mapping_open = true;
    loop {
        tokio::select! {
            m = rx.recv(), if mapping_open && writing.len() < at_once => match m {
                Some(m) => {
                    let (store, ws, src) = (ctx.store.clone(), ctx.ws.clone(), ctx.source.clone());
                    writing.push_back(async move {
                        (store.import_batch(&ws, &src, m.batch).await, m.rows)
                    });
                }
                None => mapping_open = false,
            },
            Some((done, rows)) = writing.next(), if !writing.is_empty() => match done {
                Ok(w) => {
                    written.wrote("messages", w.messages);
                    written.wrote("contacts for visitors only messages name", w.contacts);
                    written.wrote("conversations", w.conversations);
                    pb.inc(rows);
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            },
            else => break,
        }
    }
    // Closing the channel stops the mapper (and with it the reader).
    drop(rx);
    let mapped = mapping
        .await
        .map_err(|e| GoflyError::Invalid(format!("the message mapper stopped: {e}")))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let mut s = mapped?;
    for (k, n) in written.written {
        s.wrote(&k, n);
    }
    pb.finish_and_clear();
    Ok(s)
}

/// A chunk mapped: its batch (search documents computed) and how many
/// GOFLY rows it covers.
struct Mapped {
    batch: PreparedBatch,
    rows: u64,
}

/// The mapping stage: GOFLY rows to kefu batches, on a blocking thread. It
/// owns the conversation state and the skip counts (which go into each
/// batch's checkpoint).
struct Mapper {
    store: kefu_store::Store,
    ws: String,
    source: String,
    inbox_id: String,
    agents: HashMap<String, String>,
    base: Option<String>,
    threads: Threads,
    s: StepSummary,
    /// Where the last batch's checkpoint is (0: the step's start).
    position: i64,
}

impl Mapper {
    /// Maps every chunk and hands it on; the step's figures so far (read
    /// and skipped) when the rows end or the writer stops taking them.
    fn run(
        &mut self,
        mut chunks: Chunks<Row>,
        tx: tokio::sync::mpsc::Sender<Mapped>,
    ) -> Result<StepSummary, GoflyError> {
        while let Some(rows) = chunks.blocking_next() {
            let rows = rows?;
            let Some(last) = rows.last().map(|m| m.id) else {
                break;
            };
            let batch = self.map(&rows, last);
            let batch = self.store.prepare_import(batch);
            let mapped = Mapped {
                batch,
                rows: rows.len() as u64,
            };
            if tx.blocking_send(mapped).is_err() {
                break;
            }
        }
        Ok(std::mem::take(&mut self.s))
    }

    /// One chunk as a batch, checkpointed at its last GOFLY id `last`.
    fn map(&mut self, rows: &[Row], last: i64) -> ImportBatch {
        self.s.read += rows.len() as u64;
        let mut batch = ImportBatch {
            messages: Vec::with_capacity(rows.len()),
            ..Default::default()
        };
        for m in rows {
            if let Some(msg) = self.one(m, &mut batch) {
                batch.messages.push(msg);
            }
        }
        batch.conversations = self.threads.take_changed();
        batch.checkpoint = Some(ImportCheckpoint {
            step: "messages".into(),
            position: last,
            counts: self.s.skipped_json(),
            follows: Some(self.position),
        });
        self.position = last;
        batch
    }

    /// One GOFLY message as a kefu message, or the reason it is skipped.
    fn one(&mut self, m: &Row, batch: &mut ImportBatch) -> Option<ImportMessage> {
        let s = &mut self.s;
        if m.deleted {
            s.skip("deleted in GOFLY");
            return None;
        }
        let Some(at) = m.created_at else {
            s.skip("no time");
            return None;
        };
        let visitor = m.visitor_id.trim();
        if visitor.is_empty() {
            s.skip("no visitor");
            return None;
        }
        let agent = match m.mes_type.as_str() {
            "visitor" => None,
            "kefu" => match self.agents.get(m.kefu_id.trim()) {
                Some(a) => Some(a.as_str()),
                None => {
                    s.skip("agent not imported");
                    return None;
                }
            },
            _ => {
                s.skip("unknown mes_type");
                return None;
            }
        };
        let (content, _) = to_text(&m.content, self.base.as_deref());
        if content.is_empty() {
            s.skip("empty");
            return None;
        }
        let content = if content.chars().count() > MAX_CHARS {
            content.chars().take(MAX_CHARS).collect()
        } else {
            content
        };
        let placed = match self.threads.place(visitor, m.id, at, agent) {
            Some(p) => p,
            None => {
                // GOFLY deleted this visitor's row but kept their messages: a
                // contact without a name, dated by (and derived from) their first
                // message, mapped in this batch so a resumed run knows it.
                let id = import_id(at, &[&self.ws, &self.source, "visitor", visitor]);
                batch.contacts.push(ImportContact {
                    id: id.clone(),
                    inbox_id: self.inbox_id.clone(),
                    name: None,
                    attributes: json!({ "gofly_visitor_id": visitor, "gofly_missing": true }),
                    referrer: None,
                    ip: None,
                    created_at: at,
                    last_seen_at: at,
                });
                batch
                    .map
                    .push(("visitor".into(), visitor.to_string(), id.clone()));
                self.threads.add_visitor(visitor.to_string(), id);
                self.threads.place(visitor, m.id, at, agent)?
            }
        };
        let (sender_kind, sender_id) = match agent {
            Some(a) => (SenderKind::Agent, a.to_string()),
            None => (SenderKind::Visitor, placed.contact_id),
        };
        Some(ImportMessage {
            id: import_id(at, &[&self.ws, &self.source, "message", &m.id.to_string()]),
            conversation_id: placed.conversation_id,
            seq: placed.seq,
            sender_kind,
            sender_id,
            kind: MessageKind::Text,
            content,
            created_at: at,
        })
    }
}
