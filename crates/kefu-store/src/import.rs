//! Bulk import of another system's history (docs/import-gofly.md).
//!
//! An importer hands the store batches of rows whose ids it derived from the
//! source ([`import_id`]), so writing a row twice is a no-op (`ON CONFLICT DO
//! NOTHING`), plus a checkpoint that is committed in the same transaction as
//! the rows it covers: an interrupted import continues at its last committed
//! checkpoint and ends with the same rows as an uninterrupted one.
//!
//! The rows bypass the conversation commands on purpose: history is not news,
//! so no events, outbox rows, webhooks or routing are produced, and every
//! imported conversation is already resolved.

use crate::{Result, Store};
use futures::TryStreamExt;
use kefu_core::{MessageKind, Role, SenderKind};
use sqlx::{AnyConnection, Row};

/// The password hash of an imported agent: not a PHC string, so no password
/// ever matches it; the agent sets one through a reset link.
pub const NO_PASSWORD: &str = "!imported";

/// A deterministic, time-ordered id for an imported row: the UUIDv7 layout
/// (48 bits of `at_ms`, then version and variant) with the rest taken from
/// a 128-bit FNV-1a hash of `parts`. The same source row always gets the
/// same id, and ids still sort by time like [`crate::new_id`]'s.
pub fn import_id(at_ms: i64, parts: &[&str]) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for p in parts {
        for b in p.as_bytes().iter().chain(std::iter::once(&0xff)) {
            h ^= u128::from(*b);
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }
    let ms = (at_ms.clamp(0, (1 << 48) - 1) as u128) << 80;
    let rand = h & ((1u128 << 80) - 1);
    let mut v = ms | rand;
    // Version 7 (bits 76..80) and the RFC 4122 variant (bits 62..64).
    v = (v & !(0xf_u128 << 76)) | (0x7_u128 << 76);
    v = (v & !(0x3_u128 << 62)) | (0x2_u128 << 62);
    uuid::Uuid::from_u128(v).to_string()
}

/// An agent to create (deactivated ones keep their name on old messages).
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
}

/// A visitor to create as a contact.
#[derive(Debug, Clone)]
pub struct ImportContact {
    pub id: String,
    pub inbox_id: String,
    pub name: Option<String>,
    pub attributes: serde_json::Value,
    pub referrer: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A conversation as it stands after the batch: inserted the first time,
/// then its counters and assignee follow the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportConversation {
    pub id: String,
    pub inbox_id: String,
    pub contact_id: String,
    pub assignee_id: Option<String>,
    pub last_seq: i64,
    pub created_at: i64,
    pub last_activity_at: i64,
}

/// A message; `seq` is its place in its conversation (dense from 1).
#[derive(Debug, Clone)]
pub struct ImportMessage {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender_kind: SenderKind,
    pub sender_id: String,
    pub kind: MessageKind,
    pub content: String,
    pub created_at: i64,
}

/// A canned reply (personal when `owner_id` is set).
#[derive(Debug, Clone)]
pub struct ImportCanned {
    pub id: String,
    pub shortcut: String,
    pub content: String,
    pub owner_id: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

/// A refused client address.
#[derive(Debug, Clone)]
pub struct ImportIpBlock {
    pub ip: String,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

/// Where a step of an import got to; committed with the batch.
#[derive(Debug, Clone)]
pub struct ImportCheckpoint {
    pub step: String,
    /// The last source key (an auto-increment id) done.
    pub position: i64,
    /// The step's running totals (JSON object), for the summary.
    pub counts: serde_json::Value,
    /// `Some(p)`: the batch continues the step from position `p` (0: its
    /// start) and is refused, changing nothing, when the step's committed
    /// checkpoint is elsewhere. An importer with several batches in flight
    /// sets it, so a batch after a failed one can never commit and move the
    /// checkpoint past rows that were not written.
    pub follows: Option<i64>,
}

/// One transaction's worth of imported rows.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    pub users: Vec<ImportUser>,
    pub contacts: Vec<ImportContact>,
    pub conversations: Vec<ImportConversation>,
    pub messages: Vec<ImportMessage>,
    pub canned: Vec<ImportCanned>,
    pub ip_blocks: Vec<ImportIpBlock>,
    /// `(kind, source key, kefu id)` rows of the import map.
    pub map: Vec<(String, String, String)>,
    pub checkpoint: Option<ImportCheckpoint>,
}

/// A batch with what search indexes its messages and contacts under,
/// already in the backend's form ([`Store::prepare_import`]). Tokenizing
/// is most of an imported message's CPU cost; done here, an importer can
/// do it on its own thread while the store's single writer writes the
/// previous batch, instead of inside the writer. Only the final strings
/// are kept (one per row): the tokens' many small allocations are freed on
/// the thread that made them, not on the writer's. [`Store::import_batch`]
/// takes either (an [`ImportBatch`] is prepared there).
#[derive(Debug, Clone)]
pub struct PreparedBatch {
    pub(crate) batch: ImportBatch,
    pub(crate) index: Option<IndexTexts>,
}

/// The index texts of a batch's rows, in order (`None`: not indexed).
#[derive(Debug, Clone)]
pub(crate) struct IndexTexts {
    /// PostgreSQL's `tsvector` literals, else SQLite FTS5 text.
    pub pg: bool,
    pub messages: Vec<Option<String>>,
    pub contacts: Vec<Option<String>>,
}

impl From<ImportBatch> for PreparedBatch {
    fn from(b: ImportBatch) -> PreparedBatch {
        PreparedBatch {
            batch: b,
            index: None,
        }
    }
}

impl PreparedBatch {
    /// The index texts ([`Store::import_batch`] makes sure they are there).
    pub(crate) fn texts(&self) -> Result<&IndexTexts> {
        self.index
            .as_ref()
            .ok_or_else(|| crate::StoreError::Invalid("import batch not prepared".into()))
    }
}

fn index_texts(b: &ImportBatch, pg: bool) -> IndexTexts {
    use crate::search::{imported_contact_document, imported_document, index_text};
    IndexTexts {
        pg,
        messages: b
            .messages
            .iter()
            .map(|m| index_text(imported_document(m.kind, &m.content), pg))
            .collect(),
        contacts: b
            .contacts
            .iter()
            .map(|k| index_text(Some(imported_contact_document(k)), pg))
            .collect(),
    }
}

/// How many rows a batch really added (the rest were there already).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportWritten {
    pub users: u64,
    pub contacts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub canned: u64,
    pub ip_blocks: u64,
}

/// A conversation an earlier run left, to continue from.
#[derive(Debug, Clone)]
pub struct ImportedConversation {
    pub contact_id: String,
    pub conversation: ImportConversation,
}

/// Rows per multi-row statement: under both databases' bound-parameter
/// limits (SQLite 32766, PostgreSQL 65535) for the widest table here.
const ROWS_PER_STATEMENT: usize = 1000;

/// `($1, $2, …), (…)` for `rows` rows of `cols` columns.
fn values(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for col in 0..cols {
            if col > 0 {
                s.push_str(", ");
            }
            n += 1;
            s.push('$');
            s.push_str(&n.to_string());
        }
        s.push(')');
    }
    s
}

type Q<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Inserts `rows` in statements of [`ROWS_PER_STATEMENT`]; the rows
/// affected in all.
async fn insert_many<'a, T>(
    c: &mut AnyConnection,
    head: &str,
    cols: usize,
    tail: &str,
    rows: &'a [T],
    bind: impl for<'q> Fn(Q<'q>, &'q T) -> Q<'q>,
) -> Result<u64> {
    let mut n = 0;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!("{head} VALUES {} {tail}", values(chunk.len(), cols));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            q = bind(q, row);
        }
        n += q.execute(&mut *c).await?.rows_affected();
    }
    Ok(n)
}

/// Which of `messages` are stored already (a replayed batch).
async fn messages_present(
    c: &mut AnyConnection,
    messages: &[ImportMessage],
) -> Result<std::collections::HashSet<String>> {
    let mut present = std::collections::HashSet::new();
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT id FROM messages WHERE id IN ({})", marks.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for m in chunk {
            q = q.bind(&m.id);
        }
        for r in q.fetch_all(&mut *c).await? {
            present.insert(r.try_get::<String, _>("id")?);
        }
    }
    Ok(present)
}

async fn write_batch(
    c: &mut AnyConnection,
    ws: &str,
    source: &str,
    p: &PreparedBatch,
) -> Result<ImportWritten> {
    let b = &p.batch;
    if let Some((step, from)) = b
        .checkpoint
        .as_ref()
        .and_then(|cp| Some((&cp.step, cp.follows?)))
    {
        let at: Option<i64> = sqlx::query_scalar(CHECKPOINT)
            .bind(ws)
            .bind(source)
            .bind(step)
            .fetch_optional(&mut *c)
            .await?;
        check_follows(step, from, at)?;
    }
    let mut w = ImportWritten::default();
    let ws = ws.to_string();
    w.users = insert_many(
        c,
        "INSERT INTO users (id, workspace_id, email, name, password_hash, role, capacity, status, active, created_at)",
        10,
        "ON CONFLICT DO NOTHING",
        &b.users,
        |q, u| {
            q.bind(&u.id)
                .bind(ws.clone())
                .bind(&u.email)
                .bind(&u.name)
                .bind(NO_PASSWORD)
                .bind(u.role.as_str())
                .bind(5_i64)
                .bind("offline")
                .bind(i64::from(u.active))
                .bind(u.created_at)
        },
    )
    .await?;
    w.contacts = insert_many(
        c,
        "INSERT INTO contacts (id, workspace_id, inbox_id, name, attributes, referrer, ip, last_seen_at, created_at)",
        9,
        "ON CONFLICT (id) DO NOTHING",
        &b.contacts,
        |q, k| {
            q.bind(&k.id)
                .bind(ws.clone())
                .bind(&k.inbox_id)
                .bind(&k.name)
                .bind(k.attributes.to_string())
                .bind(&k.referrer)
                .bind(&k.ip)
                .bind(k.last_seen_at)
                .bind(k.created_at)
        },
    )
    .await?;
    // Inserted resolved the first time; afterwards each batch moves its
    // counters forward (never back: a replayed batch changes nothing).
    let before = conversations_present(c, &b.conversations).await?;
    insert_many(
        c,
        "INSERT INTO conversations (id, workspace_id, inbox_id, contact_id, status, assignee_id, last_seq, last_activity_at, created_at, updated_at, resolved_at)",
        11,
        "ON CONFLICT (id) DO UPDATE SET
             assignee_id = excluded.assignee_id,
             last_seq = excluded.last_seq,
             last_activity_at = excluded.last_activity_at,
             updated_at = excluded.updated_at,
             resolved_at = excluded.resolved_at
         WHERE excluded.last_seq > conversations.last_seq",
        &b.conversations,
        |q, v| {
            q.bind(&v.id)
                .bind(ws.clone())
                .bind(&v.inbox_id)
                .bind(&v.contact_id)
                .bind("resolved")
                .bind(&v.assignee_id)
                .bind(v.last_seq)
                .bind(v.last_activity_at)
                .bind(v.created_at)
                .bind(v.last_activity_at)
                .bind(v.last_activity_at)
        },
    )
    .await?;
    w.conversations = b.conversations.len() as u64 - before;
    let known = messages_present(c, &b.messages).await?;
    w.messages = insert_many(
        c,
        "INSERT INTO messages (id, workspace_id, conversation_id, seq, sender_kind, sender_id, kind, content, created_at)",
        9,
        "ON CONFLICT DO NOTHING",
        &b.messages,
        |q, m| {
            q.bind(&m.id)
                .bind(ws.clone())
                .bind(&m.conversation_id)
                .bind(m.seq)
                .bind(m.sender_kind.as_str())
                .bind(&m.sender_id)
                .bind(m.kind.as_str())
                .bind(&m.content)
                .bind(m.created_at)
        },
    )
    .await?;
    // Searchable like any message and contact, in the same transaction.
    let texts = p.texts()?;
    let new_rows = b
        .messages
        .iter()
        .zip(&texts.messages)
        .filter_map(|(m, text)| Some((m, text.as_deref()?)))
        .filter(|(m, _)| !known.contains(&m.id));
    if texts.pg {
        // Many rows per statement, as the messages themselves: one
        // statement per row cost PostgreSQL a round trip each, most of an
        // import's time.
        let rows: Vec<_> = new_rows.collect();
        insert_many(
            c,
            "INSERT INTO message_search (message_id, workspace_id, conversation_id, created_at, tsv)
             SELECT v.id, v.ws, v.conv, v.at, CAST(v.tsv AS tsvector) FROM (",
            5,
            ") AS v (id, ws, conv, at, tsv) ON CONFLICT (message_id) DO NOTHING",
            &rows,
            |q, (m, text)| {
                q.bind(&m.id)
                    .bind(ws.clone())
                    .bind(&m.conversation_id)
                    .bind(m.created_at)
                    .bind(*text)
            },
        )
        .await?;
    } else {
        for (m, text) in new_rows {
            crate::search::index_imported(c, &ws, m, text).await?;
        }
    }
    for (k, text) in b.contacts.iter().zip(&texts.contacts) {
        crate::search::index_imported_contact(c, &ws, &k.id, text.as_deref()).await?;
    }
    // One by one: a shortcut the workspace already uses is skipped alone.
    for r in &b.canned {
        w.canned += sqlx::query(
            "INSERT INTO canned_replies (id, workspace_id, shortcut, content, created_by, owner_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&r.id)
        .bind(&ws)
        .bind(&r.shortcut)
        .bind(&r.content)
        .bind(&r.created_by)
        .bind(&r.owner_id)
        .bind(r.created_at)
        .execute(&mut *c)
        .await?
        .rows_affected();
    }
    w.ip_blocks = insert_many(
        c,
        "INSERT INTO ip_blocks (workspace_id, ip, note, created_by, created_at)",
        5,
        "ON CONFLICT DO NOTHING",
        &b.ip_blocks,
        |q, i| {
            q.bind(ws.clone())
                .bind(&i.ip)
                .bind(&i.note)
                .bind(&i.created_by)
                .bind(i.created_at)
        },
    )
    .await?;
    let src = source.to_string();
    insert_many(
        c,
        "INSERT INTO import_map (workspace_id, source, kind, source_key, target_id)",
        5,
        "ON CONFLICT DO NOTHING",
        &b.map,
        |q, (kind, key, target)| {
            q.bind(ws.clone())
                .bind(src.clone())
                .bind(kind)
                .bind(key)
                .bind(target)
        },
    )
    .await?;
    if let Some(cp) = &b.checkpoint {
        sqlx::query(
            "INSERT INTO import_checkpoints (workspace_id, source, step, position, counts, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (workspace_id, source, step) DO UPDATE SET
                 position = excluded.position, counts = excluded.counts, updated_at = excluded.updated_at",
        )
        .bind(&ws)
        .bind(source)
        .bind(&cp.step)
        .bind(cp.position)
        .bind(cp.counts.to_string())
        .bind(crate::now_ms())
        .execute(&mut *c)
        .await?;
    }
    Ok(w)
}

/// A step's committed checkpoint (`$n` placeholders: SQLite numbers them
/// in order of appearance, so the native writer binds them by index too).
pub(crate) const CHECKPOINT: &str = "SELECT position, counts FROM import_checkpoints WHERE workspace_id = $1 AND source = $2 AND step = $3";

/// Refuses a batch that does not continue its step from the committed
/// checkpoint `at` (`None`: the step has none yet, so it starts at 0).
pub(crate) fn check_follows(step: &str, from: i64, at: Option<i64>) -> Result<()> {
    let at = at.unwrap_or(0);
    if at == from {
        return Ok(());
    }
    Err(crate::StoreError::Conflict(format!(
        "import step {step}: this batch continues from position {from} but the last committed one ended at {at} (an earlier batch failed)"
    )))
}

/// How many of `convs` exist already (to count the new ones).
async fn conversations_present(c: &mut AnyConnection, convs: &[ImportConversation]) -> Result<u64> {
    let mut n = 0;
    for chunk in convs.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from("SELECT COUNT(*) AS n FROM conversations WHERE id IN (");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(i + 1).to_string());
        }
        sql.push(')');
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in chunk {
            q = q.bind(&v.id);
        }
        let r = q.fetch_one(&mut *c).await?;
        n += r.try_get::<i64, _>("n")? as u64;
    }
    Ok(n)
}

impl Store {
    /// Writes one batch of imported rows and its checkpoint in one
    /// transaction; rows already present are left as they are.
    pub async fn import_batch(
        &self,
        workspace_id: &str,
        source: &str,
        batch: impl Into<PreparedBatch>,
    ) -> Result<ImportWritten> {
        let (ws, src) = (workspace_id.to_string(), source.to_string());
        let mut batch: PreparedBatch = batch.into();
        let pg = self.uses_pg();
        if batch.index.as_ref().is_none_or(|t| t.pg != pg) {
            batch.index = Some(index_texts(&batch.batch, pg));
        }
        let batch = std::sync::Arc::new(batch);
        if crate::import_native::fits(&batch.batch) {
            let (b, w, s) = (batch.clone(), ws.clone(), src.clone());
            let native = self
                .backend
                .write_native(move |c| crate::import_native::write(c, &w, &s, &b))
                .await;
            match native {
                Some(Err(crate::StoreError::Poisoned(e))) => return Err(*e),
                Some(done) => return done,
                None => {}
            }
        }
        self.write(move |c| Box::pin(async move { write_batch(c, &ws, &src, &batch).await }))
            .await
    }

    /// How many [`Self::import_batch`] calls an importer may have running at
    /// once: SQLite's single writer takes them in the order they were made
    /// and commits the ones waiting together, so several; PostgreSQL would
    /// run them side by side on different connections, so one. Batches
    /// written several at a time must say which checkpoint they follow
    /// ([`ImportCheckpoint::follows`]).
    pub fn import_batches_at_once(&self) -> usize {
        if self.uses_pg() { 1 } else { 3 }
    }

    /// Computes what search indexes the batch's rows under, in this
    /// store's form (CPU work: call it off the async runtime for big batches).
    pub fn prepare_import(&self, batch: ImportBatch) -> PreparedBatch {
        let index = Some(index_texts(&batch, self.uses_pg()));
        PreparedBatch { batch, index }
    }

    /// A step's checkpoint: its position and running totals.
    pub async fn import_checkpoint(
        &self,
        workspace_id: &str,
        source: &str,
        step: &str,
    ) -> Result<Option<(i64, serde_json::Value)>> {
        let r = sqlx::query(CHECKPOINT)
            .bind(workspace_id)
            .bind(source)
            .bind(step)
            .fetch_optional(self.reader())
            .await?;
        match r {
            None => Ok(None),
            Some(r) => {
                let counts: String = r.try_get("counts")?;
                Ok(Some((
                    r.try_get("position")?,
                    serde_json::from_str(&counts)
                        .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
                )))
            }
        }
    }

    /// Calls `f(source key, kefu id)` for each mapped row of `kind`, streamed.
    pub async fn import_map_each(
        &self,
        workspace_id: &str,
        source: &str,
        kind: &str,
        mut f: impl FnMut(String, String) + Send,
    ) -> Result<()> {
        let mut rows = sqlx::query(
            "SELECT source_key, target_id FROM import_map WHERE workspace_id = $1 AND source = $2 AND kind = $3",
        )
        .bind(workspace_id)
        .bind(source)
        .bind(kind)
        .fetch(self.reader());
        while let Some(r) = rows.try_next().await? {
            f(r.try_get("source_key")?, r.try_get("target_id")?);
        }
        Ok(())
    }

    /// The latest conversation of each contact an import mapped from
    /// `kind` rows, streamed: where a resumed import continues.
    pub async fn imported_conversations_each(
        &self,
        workspace_id: &str,
        source: &str,
        kind: &str,
        mut f: impl FnMut(ImportedConversation) + Send,
    ) -> Result<()> {
        let mut rows = sqlx::query(
            "SELECT c.id, c.inbox_id, c.contact_id, c.assignee_id, c.last_seq, c.created_at, c.last_activity_at
             FROM import_map m JOIN conversations c ON c.contact_id = m.target_id AND c.workspace_id = m.workspace_id
             WHERE m.workspace_id = $1 AND m.source = $2 AND m.kind = $3
             ORDER BY c.contact_id, c.created_at, c.id",
        )
        .bind(workspace_id)
        .bind(source)
        .bind(kind)
        .fetch(self.reader());
        while let Some(r) = rows.try_next().await? {
            let contact_id: String = r.try_get("contact_id")?;
            f(ImportedConversation {
                contact_id: contact_id.clone(),
                conversation: ImportConversation {
                    id: r.try_get("id")?,
                    inbox_id: r.try_get("inbox_id")?,
                    contact_id,
                    assignee_id: r.try_get("assignee_id")?,
                    last_seq: r.try_get("last_seq")?,
                    created_at: r.try_get("created_at")?,
                    last_activity_at: r.try_get("last_activity_at")?,
                },
            });
        }
        Ok(())
    }

    /// The workspace's refused client addresses, oldest first.
    pub async fn list_ip_blocks(&self, workspace_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT ip, note FROM ip_blocks WHERE workspace_id = $1 ORDER BY created_at, ip",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("ip")?, r.try_get("note")?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_time_ordered_uuid_v7() {
        let a = import_id(1_600_000_000_000, &["ws", "gofly", "message", "1"]);
        assert_eq!(
            a,
            import_id(1_600_000_000_000, &["ws", "gofly", "message", "1"])
        );
        assert_ne!(
            a,
            import_id(1_600_000_000_000, &["ws", "gofly", "message", "2"])
        );
        // The parts are separated: ("ab", "c") is not ("a", "bc").
        assert_ne!(import_id(0, &["ab", "c"]), import_id(0, &["a", "bc"]));
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 7);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        assert!(import_id(1_600_000_000_001, &["x"]) > a);
    }

    #[test]
    fn values_lists_placeholders() {
        assert_eq!(values(2, 2), "($1, $2), ($3, $4)");
    }
}
