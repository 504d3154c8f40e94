//! The visitors' and messages' batches on SQLite's native writer
//! connection (see [`crate::backend::sqlite`]): the same rows as
//! [`crate::import`]'s sqlx path, with cached prepared statements and one
//! hop per batch instead of one per statement. Batches of contacts,
//! conversations, messages, import-map rows and a checkpoint come here;
//! the rest (agents, canned replies, blocked addresses: a few rows once)
//! take sqlx.
//!
//! Contract of a native job: a failure leaves no change or says `Poisoned`;
//! a batch here says `Poisoned` (see [`write`]).

use crate::import::{ImportBatch, ImportWritten, PreparedBatch};
use crate::search::{FtsTable, index_last_insert_native};
use crate::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// Whether `b` holds only what this path writes.
pub(crate) fn fits(b: &ImportBatch) -> bool {
    b.users.is_empty() && b.canned.is_empty() && b.ip_blocks.is_empty()
}

pub(crate) fn write(
    c: &Connection,
    ws: &str,
    source: &str,
    b: &PreparedBatch,
) -> Result<ImportWritten> {
    // Refused before anything is written, so not poisoned: the
    // transaction's other batches stand.
    if let Some((step, from)) = b
        .batch
        .checkpoint
        .as_ref()
        .and_then(|cp| Some((&cp.step, cp.follows?)))
    {
        let at: Option<i64> = c
            .prepare_cached(crate::import::CHECKPOINT)?
            .query_row(params![ws, source, step], |r| r.get(0))
            .optional()?;
        crate::import::check_follows(step, from, at)?;
    }
    // No savepoint of its own: a savepoint makes SQLite copy every existing
    // page the batch touches into a sub-journal first (gigabytes over an
    // 8-million-message import, for a rollback that practically never
    // happens). A failure poisons the writer's transaction instead, which
    // rolls back with everything in it; the checkpoint goes with it, so the
    // next run writes this batch again.
    rows(c, ws, source, b).map_err(|e| StoreError::Poisoned(Box::new(e)))
}

fn rows(c: &Connection, ws: &str, source: &str, p: &PreparedBatch) -> Result<ImportWritten> {
    let b = &p.batch;
    let texts = p.texts()?;
    // An import writes hundreds of megabytes of index pages: a larger page
    // cache than the 2 MB default keeps the indexes' hot pages in memory.
    c.execute_batch("PRAGMA cache_size = -262144")?;
    let mut w = ImportWritten::default();
    let mut contact = c.prepare_cached(
        "INSERT INTO contacts (id, workspace_id, inbox_id, name, attributes, referrer, ip, last_seen_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
    )?;
    for (k, text) in b.contacts.iter().zip(&texts.contacts) {
        let inserted = contact.execute(params![
            k.id,
            ws,
            k.inbox_id,
            k.name,
            k.attributes.to_string(),
            k.referrer,
            k.ip,
            k.last_seen_at,
            k.created_at
        ])?;
        // Searchable like any contact, in the same transaction; one there
        // already (a replayed batch) has its index row.
        if inserted == 1
            && let Some(text) = text
        {
            index_last_insert_native(c, FtsTable::Contacts, text)?;
        }
        w.contacts += inserted as u64;
    }
    // A new conversation is a plain INSERT and one that a previous chunk
    // started an UPDATE, not one upsert for both; and the UPDATE sets
    // `assignee_id` only when it changes. A statement that may write a
    // foreign key's column in an UPDATE makes SQLite open a statement
    // journal, copying every page the statement touches first (with the
    // upsert: a tenth of the import's time, for a million conversations
    // nearly all new), and flushes the full-text tables' pending terms
    // into a segment of their own.
    let mut stored = c.prepare_cached("SELECT assignee_id FROM conversations WHERE id = ?1")?;
    let mut start = c.prepare_cached(
        "INSERT INTO conversations (id, workspace_id, inbox_id, contact_id, status, assignee_id, last_seq, last_activity_at, created_at, updated_at, resolved_at)
         VALUES (?1, ?2, ?3, ?4, 'resolved', ?5, ?6, ?7, ?8, ?7, ?7)",
    )?;
    let mut follow = c.prepare_cached(
        "UPDATE conversations SET last_seq = ?2, last_activity_at = ?3, updated_at = ?3, resolved_at = ?3
         WHERE id = ?1 AND last_seq < ?2",
    )?;
    let mut reassign = c.prepare_cached(
        "UPDATE conversations SET
             assignee_id = ?4, last_seq = ?2, last_activity_at = ?3, updated_at = ?3, resolved_at = ?3
         WHERE id = ?1 AND last_seq < ?2",
    )?;
    for v in &b.conversations {
        let before: Option<Option<String>> =
            stored.query_row(params![v.id], |r| r.get(0)).optional()?;
        match before {
            None => {
                w.conversations += 1;
                start.execute(params![
                    v.id,
                    ws,
                    v.inbox_id,
                    v.contact_id,
                    v.assignee_id,
                    v.last_seq,
                    v.last_activity_at,
                    v.created_at
                ])?;
            }
            Some(a) if a == v.assignee_id => {
                follow.execute(params![v.id, v.last_seq, v.last_activity_at])?;
            }
            Some(_) => {
                reassign.execute(params![v.id, v.last_seq, v.last_activity_at, v.assignee_id])?;
            }
        }
    }
    let mut insert = c.prepare_cached(
        "INSERT INTO messages (id, workspace_id, conversation_id, seq, sender_kind, sender_id, kind, content, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
    )?;
    for (m, text) in b.messages.iter().zip(&texts.messages) {
        let inserted = insert.execute(params![
            m.id,
            ws,
            m.conversation_id,
            m.seq,
            m.sender_kind.as_str(),
            m.sender_id,
            m.kind.as_str(),
            m.content,
            m.created_at
        ])?;
        if inserted == 1
            && let Some(text) = text
        {
            // Searchable like any message, in the same transaction.
            index_last_insert_native(c, FtsTable::Messages, text)?;
        }
        w.messages += inserted as u64;
    }
    let mut map = c.prepare_cached(
        "INSERT INTO import_map (workspace_id, source, kind, source_key, target_id)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    )?;
    for (kind, key, target) in &b.map {
        map.execute(params![ws, source, kind, key, target])?;
    }
    if let Some(cp) = &b.checkpoint {
        c.prepare_cached(
            "INSERT INTO import_checkpoints (workspace_id, source, step, position, counts, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (workspace_id, source, step) DO UPDATE SET
                 position = excluded.position, counts = excluded.counts, updated_at = excluded.updated_at",
        )?
        .execute(params![ws, source, cp.step, cp.position, cp.counts.to_string(), crate::now_ms()])?;
    }
    Ok(w)
}
