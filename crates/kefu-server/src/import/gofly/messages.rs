//! The messages step: GOFLY's `message` table in id order, a chunk at a
//! time, into conversations ([`super::threads`]). A reader task fetches the
//! next chunk while the current one is written, so MySQL and kefu's
//! database work at the same time; each chunk is one transaction with its
//! checkpoint (the chunk's last GOFLY id and the skip counts).
//!
//! Skipped, and counted: messages GOFLY marked deleted, empty ones, ones
//! without a time or a visitor, and agent messages whose agent was not
//! imported. Every message is text (see [`super::content`]). A visitor id
//! the `visitor` table no longer has becomes a contact at its first message.

use super::content::to_text;
use super::source::Message as Row;
use super::threads::Threads;
use super::{Ctx, GoflyError};
use crate::import::StepSummary;
use kefu_core::{MessageKind, SenderKind};
use kefu_store::{ImportBatch, ImportCheckpoint, ImportContact, ImportMessage, import_id};
use serde_json::json;
use std::collections::HashMap;

/// The longest message kept (GOFLY's column holds 2048 characters).
const MAX_CHARS: usize = 10_000;

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
    let total = ctx.src.count_after("message", after).await?;
    let pb = super::progress_bar(ctx.opts.progress, total, "messages");

    // The reader runs one chunk ahead of the writer.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<Row>, GoflyError>>(2);
    let src = ctx.src.clone();
    let size = ctx.opts.batch_size;
    let reader = tokio::spawn(async move {
        let mut after = after;
        loop {
            let chunk = src.messages(after, size).await;
            let last = match &chunk {
                Ok(rows) => rows.last().map(|m| m.id),
                Err(_) => None,
            };
            let stop = last.is_none();
            if tx.send(chunk).await.is_err() || stop {
                return;
            }
            after = last.unwrap_or(after);
        }
    });
    let base = ctx.opts.gofly_url.as_deref();
    while let Some(chunk) = rx.recv().await {
        let rows = chunk?;
        let Some(last) = rows.last().map(|m| m.id) else {
            break;
        };
        s.read += rows.len() as u64;
        let mut batch = ImportBatch {
            messages: Vec::with_capacity(rows.len()),
            ..Default::default()
        };
        for m in &rows {
            if let Some(msg) = one(
                ctx,
                inbox_id,
                &mut threads,
                agents,
                m,
                base,
                &mut s,
                &mut batch,
            ) {
                batch.messages.push(msg);
            }
        }
        batch.conversations = threads.take_changed();
        batch.checkpoint = Some(ImportCheckpoint {
            step: "messages".into(),
            position: last,
            counts: s.skipped_json(),
        });
        let w = ctx.store.import_batch(&ctx.ws, &ctx.source, batch).await?;
        s.wrote("messages", w.messages);
        s.wrote("contacts for visitors only messages name", w.contacts);
        s.wrote("conversations", w.conversations);
        pb.inc(rows.len() as u64);
    }
    // The reader ends after the empty chunk; a failed send only means we stopped.
    let _ = reader.await;
    pb.finish_and_clear();
    Ok(s)
}

/// One GOFLY message as a kefu message, or the reason it is skipped.
#[allow(clippy::too_many_arguments)]
fn one(
    ctx: &Ctx<'_>,
    inbox_id: &str,
    threads: &mut Threads,
    agents: &HashMap<String, String>,
    m: &Row,
    base: Option<&str>,
    s: &mut StepSummary,
    batch: &mut ImportBatch,
) -> Option<ImportMessage> {
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
        "kefu" => match agents.get(m.kefu_id.trim()) {
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
    let (content, _) = to_text(&m.content, base);
    if content.is_empty() {
        s.skip("empty");
        return None;
    }
    let content = if content.chars().count() > MAX_CHARS {
        content.chars().take(MAX_CHARS).collect()
    } else {
        content
    };
    let placed = match threads.place(visitor, m.id, at, agent) {
        Some(p) => p,
        None => {
            // GOFLY deleted this visitor's row but kept their messages: a
            // contact without a name, dated by (and derived from) their first
            // message, mapped in this batch so a resumed run knows it.
            let id = import_id(at, &[&ctx.ws, &ctx.source, "visitor", visitor]);
            batch.contacts.push(ImportContact {
                id: id.clone(),
                inbox_id: inbox_id.to_string(),
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
            threads.add_visitor(visitor.to_string(), id);
            threads.place(visitor, m.id, at, agent)?
        }
    };
    let (sender_kind, sender_id) = match agent {
        Some(a) => (SenderKind::Agent, a.to_string()),
        None => (SenderKind::Visitor, placed.contact_id),
    };
    Some(ImportMessage {
        id: import_id(at, &[&ctx.ws, &ctx.source, "message", &m.id.to_string()]),
        conversation_id: placed.conversation_id,
        seq: placed.seq,
        sender_kind,
        sender_id,
        kind: MessageKind::Text,
        content,
        created_at: at,
    })
}
