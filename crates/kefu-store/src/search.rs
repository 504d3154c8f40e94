//! Full-text search over messages, contacts and conversations
//! (docs/search.md).
//!
//! The tokens come from [`kefu_core::search`], the same for a text and for a
//! query; each database only stores and intersects them: SQLite in FTS5
//! tables (`message_fts`, `contact_fts`, contentless, keyed by the indexed
//! row's rowid), PostgreSQL in `tsvector` columns with a GIN index
//! (`message_search`, `contact_search`). The index is written in the same
//! transaction as what it indexes (a message's append, a contact's edit, a
//! message's deletion), so a search on any server of a cluster sees exactly
//! what is committed. Rows from before the index existed are indexed once by
//! [`Store::migrate`] ([`Store::search_backfill`]).

use crate::{Contact, Conversation, Result, Store, StoreError, contacts, conversations, messages};
use kefu_core::WorkspaceId;
use kefu_core::search::{Document, Query};
use kefu_core::{ContactId, ConversationId, ConversationStatus, Message, MessageKind, UserId};
use sqlx::{AnyConnection, Row, any::AnyRow};

/// A conversation search looks at this many of the newest matching
/// messages (and contacts): what bounds its cost for a word found
/// everywhere. On PostgreSQL only for a word rare among the newest
/// messages; a frequent one walks the conversations instead (search/pg.rs).
pub const CONVERSATION_SCAN: i64 = 5000;

/// Rows per backfill transaction.
const BACKFILL_BATCH: i64 = 500;

/// FTS5's defaults: segments merged four at a time, 1 MB of pending terms.
const FTS_AUTOMERGE: i64 = 4;
const FTS_HASHSIZE: i64 = 1 << 20;
/// A bulk load's ([`Store::search_bulk_load`]).
const FTS_BULK_AUTOMERGE: i64 = 16;
const FTS_BULK_HASHSIZE: i64 = 16 << 20;

/// What a search is limited to: the caller's scope and the filters asked for.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Conversations in any of these statuses; empty: any.
    pub statuses: Vec<ConversationStatus>,
    pub inbox_id: Option<String>,
    pub assignee_id: Option<UserId>,
    /// Only unassigned conversations.
    pub unassigned: bool,
    /// Conversations carrying this tag (label).
    pub tag: Option<String>,
    /// Only this contact's conversations (a visitor's own).
    pub contact_id: Option<ContactId>,
    /// Private notes are searched too (staff).
    pub include_notes: bool,
    /// Sent (messages), last active (conversations) or last seen (contacts)
    /// at or after this time (epoch ms)…
    pub from: Option<i64>,
    /// …and before this one.
    pub to: Option<i64>,
}

/// A page of results; `next_cursor` continues after the last one.
#[derive(Debug, Clone)]
pub struct SearchPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A message found, with its conversation.
#[derive(Debug, Clone)]
pub struct MessageHit {
    pub message: Message,
    pub conversation: Conversation,
}

/// A conversation found through its messages or its contact; `message` is
/// its newest matching message, if it matched through one.
#[derive(Debug, Clone)]
pub struct ConversationHit {
    pub conversation: Conversation,
    pub message: Option<Message>,
}

fn is_pg(c: &AnyConnection) -> bool {
    c.backend_name() == "PostgreSQL"
}

/// The text a message is found by: its content and its file's name.
/// Nothing for system lines and deleted messages.
fn message_document(m: &Message) -> Option<Document> {
    if m.kind == MessageKind::Event || m.deleted_at.is_some() {
        return None;
    }
    let mut d = Document::of(&m.content);
    if let Some(a) = &m.attachment {
        d.add(&a.name);
    }
    (!d.is_empty()).then_some(d)
}

/// The text a contact is found by: name, e-mail, phone (any part of its
/// digits) and the values of its attributes.
fn contact_document(k: &Contact) -> Document {
    contact_fields_document(
        [&k.name, &k.email, &k.external_id],
        k.phone.as_deref(),
        &k.attributes,
    )
}

/// [`contact_document`] of the fields themselves, so an imported contact
/// (which has only a name and attributes) is indexed without loading it back.
fn contact_fields_document(
    texts: [&Option<String>; 3],
    phone: Option<&str>,
    attributes: &serde_json::Value,
) -> Document {
    let mut d = Document::default();
    for s in texts.into_iter().flatten() {
        d.add(s);
    }
    if let Some(p) = phone {
        d.add_phone(p);
    }
    if let serde_json::Value::Object(attrs) = attributes {
        for v in attrs.values() {
            add_json(&mut d, v);
        }
    }
    d
}

/// The document of a contact an import writes: the one
/// [`contact_document`] makes of the stored row (no e-mail, phone or
/// external id).
pub(crate) fn imported_contact_document(k: &crate::ImportContact) -> Document {
    contact_fields_document([&k.name, &None, &None], None, &k.attributes)
}

fn add_json(d: &mut Document, v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => d.add(s),
        serde_json::Value::Number(n) => d.add(&n.to_string()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| add_json(d, x)),
        serde_json::Value::Object(o) => o.values().for_each(|x| add_json(d, x)),
        _ => {}
    }
}

/// Indexes a message just inserted, inside its write (the sqlx path).
pub(crate) async fn index_message(
    c: &mut AnyConnection,
    m: &Message,
    ws: &WorkspaceId,
) -> Result<()> {
    match message_document(m) {
        Some(doc) => index_row(c, &m.id, ws, &m.conversation_id, m.created_at, &doc).await,
        None => Ok(()),
    }
}

/// The index row of a stored message (PostgreSQL keeps the first one; on
/// SQLite the caller makes sure it has none yet).
async fn index_row(
    c: &mut AnyConnection,
    message_id: &str,
    ws: &str,
    conversation_id: &str,
    created_at: i64,
    doc: &Document,
) -> Result<()> {
    let text = if is_pg(c) {
        doc.tsvector()
    } else {
        doc.fts5_text()
    };
    index_row_text(c, message_id, ws, conversation_id, created_at, &text).await
}

/// [`index_row`] with the document already in the backend's form
/// ([`index_text`]).
async fn index_row_text(
    c: &mut AnyConnection,
    message_id: &str,
    ws: &str,
    conversation_id: &str,
    created_at: i64,
    text: &str,
) -> Result<()> {
    if is_pg(c) {
        sqlx::query(
            "INSERT INTO message_search (message_id, workspace_id, conversation_id, created_at, tsv)
             VALUES ($1, $2, $3, $4, CAST($5 AS tsvector)) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(ws)
        .bind(conversation_id)
        .bind(created_at)
        .bind(text)
        .execute(&mut *c)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO message_fts (rowid, body) SELECT rowid, $2 FROM messages WHERE id = $1",
        )
        .bind(message_id)
        .bind(text)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// A document as the backend stores it: a `tsvector` literal (PostgreSQL)
/// or FTS5's space-separated tokens (SQLite); `None` for an empty one.
pub(crate) fn index_text(doc: Option<Document>, pg: bool) -> Option<String> {
    let doc = doc.filter(|d| !d.is_empty())?;
    Some(if pg { doc.tsvector() } else { doc.fts5_text() })
}

/// Indexes the message the native writer connection just inserted (its
/// rowid is the connection's last insert).
pub(crate) fn index_message_native(c: &rusqlite::Connection, m: &Message) -> rusqlite::Result<()> {
    if let Some(doc) = message_document(m) {
        c.prepare_cached("INSERT INTO message_fts (rowid, body) VALUES (?1, ?2)")?
            .execute(rusqlite::params![c.last_insert_rowid(), doc.fts5_text()])?;
    }
    Ok(())
}

/// The document of a message an import writes (no `Message` built).
pub(crate) fn imported_document(kind: MessageKind, content: &str) -> Option<Document> {
    if kind == MessageKind::Event {
        return None;
    }
    let d = Document::of(content);
    (!d.is_empty()).then_some(d)
}

/// Indexes a row the native writer just inserted (its rowid is the
/// connection's last insert) under a document's FTS5 text; `table` is
/// `message_fts` or `contact_fts`.
pub(crate) fn index_last_insert_native(
    c: &rusqlite::Connection,
    table: FtsTable,
    fts5_text: &str,
) -> rusqlite::Result<()> {
    let sql = match table {
        FtsTable::Messages => "INSERT INTO message_fts (rowid, body) VALUES (?1, ?2)",
        FtsTable::Contacts => "INSERT INTO contact_fts (rowid, body) VALUES (?1, ?2)",
    };
    c.prepare_cached(sql)?
        .execute(rusqlite::params![c.last_insert_rowid(), fts5_text])?;
    Ok(())
}

/// The two SQLite full-text tables.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FtsTable {
    Messages,
    Contacts,
}

/// Indexes an imported message inserted by this write under its prepared
/// text ([`index_text`]; the caller makes sure it is new: on SQLite a
/// second index row would be a duplicate). One row; PostgreSQL's import
/// writes its rows many per statement instead.
pub(crate) async fn index_imported(
    c: &mut AnyConnection,
    ws: &str,
    m: &crate::ImportMessage,
    text: &str,
) -> Result<()> {
    index_row_text(c, &m.id, ws, &m.conversation_id, m.created_at, text).await
}

/// (Re)indexes an imported contact under its prepared text (`None`: an
/// empty document), inside the write that stored it (the sqlx path;
/// idempotent).
pub(crate) async fn index_imported_contact(
    c: &mut AnyConnection,
    ws: &str,
    contact_id: &str,
    text: Option<&str>,
) -> Result<()> {
    index_contact_text(c, ws, contact_id, text).await
}

/// Takes a message out of the index (it was deleted), inside its write.
pub(crate) async fn unindex_message(c: &mut AnyConnection, message_id: &str) -> Result<()> {
    let sql = if is_pg(c) {
        "DELETE FROM message_search WHERE message_id = $1"
    } else {
        "DELETE FROM message_fts WHERE rowid = (SELECT rowid FROM messages WHERE id = $1)"
    };
    sqlx::query(sql).bind(message_id).execute(&mut *c).await?;
    Ok(())
}

/// (Re)indexes a contact as it is now, inside the write that changed it.
pub(crate) async fn index_contact(c: &mut AnyConnection, k: &Contact) -> Result<()> {
    // A contact merged into another is found as that one only.
    let doc = (k.merged_into.is_none()).then(|| contact_document(k));
    let text = index_text(doc, is_pg(c));
    index_contact_text(c, k.workspace_id.as_ref(), k.id.as_ref(), text.as_deref()).await
}

async fn index_contact_text(
    c: &mut AnyConnection,
    ws: &str,
    contact_id: &str,
    text: Option<&str>,
) -> Result<()> {
    if is_pg(c) {
        if let Some(text) = text {
            sqlx::query(
                "INSERT INTO contact_search (contact_id, workspace_id, tsv) VALUES ($1, $2, CAST($3 AS tsvector))
                 ON CONFLICT (contact_id) DO UPDATE SET tsv = EXCLUDED.tsv",
            )
            .bind(contact_id)
            .bind(ws)
            .bind(text)
            .execute(&mut *c)
            .await?;
        } else {
            sqlx::query("DELETE FROM contact_search WHERE contact_id = $1")
                .bind(contact_id)
                .execute(&mut *c)
                .await?;
        }
    } else {
        sqlx::query(
            "DELETE FROM contact_fts WHERE rowid = (SELECT rowid FROM contacts WHERE id = $1)",
        )
        .bind(contact_id)
        .execute(&mut *c)
        .await?;
        if let Some(text) = text {
            sqlx::query(
                "INSERT INTO contact_fts (rowid, body) SELECT rowid, $2 FROM contacts WHERE id = $1",
            )
            .bind(contact_id)
            .bind(text)
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

// On PostgreSQL the searches are not kept as prepared statements: planned
// with the actual query each time (a cached generic plan cannot tell a
// frequent word from a rare one), and the way to the matches is chosen by
// the store from a sample of the newest rows (search/pg.rs).
//
// On SQLite, `CROSS JOIN` keeps the full-text table the outer loop (SQLite
// never reorders it): the index yields the matches newest first and each is
// looked up by rowid. Left to the planner, it may scan a workspace's
// conversations and evaluate the MATCH once per message instead.

/// The conversation filters ($2 to $9, as in the conversation list) and the
/// search's own: $10 the match, $11/$12 the time range, $13 notes.
macro_rules! message_filters {
    ($time:literal $(, $pg:ident)?) => {
        concat!(
            conversations::filters_sql!($($pg)?),
            " AND m.deleted_at IS NULL AND ($13 = 1 OR m.kind <> 'note')
              AND (CAST($11 AS BIGINT) IS NULL OR ",
            $time,
            " >= $11) AND (CAST($12 AS BIGINT) IS NULL OR ",
            $time,
            " < $12)"
        )
    };
}

mod pg;

// Keyset pages: each page continues strictly below the last row's sort key,
// a bound the index seeks to. On SQLite the key of a message is its rowid
// alone (unique), so the bound is a plain `rowid < $14` that FTS5 takes as a
// range of its doclists: it starts reading at the cursor (a unit test checks
// the plan). The former `rowid < $14 OR (rowid = $14 AND id < $16)` got the
// same plan only because SQLite folds the OR into `rowid <= $14`; the id
// added nothing, a rowid being unique. Elsewhere the key is a (time, id)
// pair, compared as a row value, which a B-tree seeks to. The first page has
// no bound (a NULL cursor), not a sentinel value.

const MESSAGES_SQLITE: &str = concat!(
    "SELECT ",
    messages::prefixed_cols!(),
    ", message_fts.rowid AS hit
     FROM message_fts
     CROSS JOIN messages m ON m.rowid = message_fts.rowid
     CROSS JOIN conversations ON conversations.id = m.conversation_id
     WHERE message_fts MATCH $10 AND message_fts.rowid < $14
       AND m.workspace_id = $1 AND conversations.workspace_id = $1 AND ",
    message_filters!("m.created_at"),
    " ORDER BY message_fts.rowid DESC LIMIT $15"
);

/// Conversations with a match among the newest matching messages or whose
/// contact matches ($16: the contact query), by most recent activity.
const CONVERSATIONS_SQLITE: &str = concat!(
    "WITH cand AS (
        SELECT cid, MAX(best) AS best FROM (
            SELECT cid, best FROM (
                SELECT m.conversation_id AS cid, message_fts.rowid AS best
                FROM message_fts CROSS JOIN messages m ON m.rowid = message_fts.rowid
                WHERE message_fts MATCH $10 AND m.workspace_id = $1 AND m.deleted_at IS NULL
                  AND ($13 = 1 OR m.kind <> 'note')
                ORDER BY message_fts.rowid DESC LIMIT $17)
            UNION ALL
            SELECT cid, NULL AS best FROM (
                SELECT c2.id AS cid FROM contact_fts
                CROSS JOIN contacts k ON k.rowid = contact_fts.rowid
                CROSS JOIN conversations c2 ON c2.contact_id = k.id
                WHERE contact_fts MATCH $16 AND k.workspace_id = $1 LIMIT $17)
        ) GROUP BY cid
     )
     SELECT ",
    conversations::prefixed_cols!(),
    ", cand.best AS best FROM cand CROSS JOIN conversations ON conversations.id = cand.cid
     WHERE conversations.workspace_id = $1 AND ",
    conversations::filters_sql!(),
    " AND (CAST($11 AS BIGINT) IS NULL OR last_activity_at >= $11)
      AND (CAST($12 AS BIGINT) IS NULL OR last_activity_at < $12)
      AND (CAST($14 AS BIGINT) IS NULL OR (last_activity_at, conversations.id) < ($14, $18))
     ORDER BY last_activity_at DESC, conversations.id DESC LIMIT $15"
);

// Contacts come newest first by their id on both databases (ids are UUIDv7:
// they sort by creation time, imported contacts by their original time).
// SQLite used to take FTS5's rowid order, which is the order rows were
// inserted: a contact imported today with last year's id came first there
// and last on PostgreSQL. The matches are sorted (the full-text index does
// not yield them by id); a workspace has far fewer contacts than messages.

const CONTACTS_SQLITE: &str = concat!(
    "SELECT ",
    contacts::prefixed_cols!(),
    " FROM contact_fts CROSS JOIN contacts ON contacts.rowid = contact_fts.rowid
     WHERE contact_fts MATCH $2 AND contacts.workspace_id = $1
       AND (CAST($3 AS TEXT) IS NULL OR inbox_id = $3)
       AND (CAST($4 AS BIGINT) IS NULL OR last_seen_at >= $4)
       AND (CAST($5 AS BIGINT) IS NULL OR last_seen_at < $5)
       AND (CAST($6 AS TEXT) IS NULL OR contacts.id < $6)
     ORDER BY contacts.id DESC LIMIT $7"
);

const CONTACTS_PG: &str = concat!(
    "SELECT ",
    contacts::prefixed_cols!(),
    " FROM contact_search s JOIN contacts ON contacts.id = s.contact_id
     WHERE s.tsv @@ CAST($2 AS tsquery) AND s.workspace_id = $1
       AND (CAST($3 AS TEXT) IS NULL OR inbox_id = $3)
       AND (CAST($4 AS BIGINT) IS NULL OR last_seen_at >= $4)
       AND (CAST($5 AS BIGINT) IS NULL OR last_seen_at < $5)
       AND (CAST($6 AS TEXT) IS NULL OR s.contact_id < $6)
     ORDER BY s.contact_id DESC LIMIT $7"
);

/// A page's cursor, `key.id`: the last row's sort key and its id (no id
/// where the key alone is unique, a SQLite message's rowid). `None`: the
/// first page.
fn parse_cursor(cursor: Option<&str>) -> Result<Option<(i64, String)>> {
    let Some(c) = cursor else {
        return Ok(None);
    };
    let (k, id) = c.split_once('.').unwrap_or((c, ""));
    let k = k
        .parse()
        .map_err(|_| StoreError::Invalid("bad search cursor".into()))?;
    Ok(Some((k, id.to_string())))
}

fn cursor_of(key: i64, id: &str) -> String {
    format!("{key}.{id}")
}

/// A page out of rows fetched with `limit + 1`: the first `limit` rows as
/// `read` makes them (an item and its cursor), and the last one's cursor
/// when there was one more row. The one assembly of every search's page.
fn page_rows<T>(
    rows: &[AnyRow],
    limit: i64,
    read: impl Fn(&AnyRow) -> Result<(T, String)>,
) -> Result<(Vec<T>, Option<String>)> {
    let keep = usize::try_from(limit).unwrap_or(0);
    let mut items = Vec::with_capacity(rows.len().min(keep));
    let mut last = None;
    for r in rows.iter().take(keep) {
        let (item, cursor) = read(r)?;
        items.push(item);
        last = Some(cursor);
    }
    Ok((items, last.filter(|_| rows.len() > keep)))
}

impl Store {
    pub(crate) fn uses_pg(&self) -> bool {
        self.backend_name() == "postgres"
    }

    /// Messages matching `query` in the workspace, newest first.
    pub async fn search_messages(
        &self,
        workspace_id: &WorkspaceId,
        query: &Query,
        filter: &SearchFilter,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<SearchPage<MessageHit>> {
        let after = parse_cursor(cursor)?;
        let (found, next_cursor) = if self.uses_pg() {
            self.messages_pg(workspace_id, query, filter, after, limit)
                .await?
        } else {
            let conv_filter = conversation_filter(filter);
            let rows = conversations::bind_filters(
                sqlx::query(MESSAGES_SQLITE),
                workspace_id,
                &conv_filter,
            )
            .bind(query.fts5())
            .bind(filter.from)
            .bind(filter.to)
            .bind(i64::from(filter.include_notes))
            // No cursor: below every rowid.
            .bind(after.map_or(i64::MAX, |(k, _)| k))
            .bind(limit + 1)
            .fetch_all(self.reader())
            .await?;
            page_rows(&rows, limit, |r| {
                let m = messages::from_row(r)?;
                let hit: i64 = r.try_get("hit")?;
                Ok((m, hit.to_string()))
            })?
        };
        let ids: Vec<ConversationId> = found.iter().map(|m| m.conversation_id.clone()).collect();
        let convs = self.conversations_by_ids(workspace_id, &ids).await?;
        let items = found
            .into_iter()
            .filter_map(|message| {
                let conversation = convs
                    .iter()
                    .find(|c| c.id == message.conversation_id)?
                    .clone();
                Some(MessageHit {
                    message,
                    conversation,
                })
            })
            .collect();
        Ok(SearchPage { items, next_cursor })
    }

    /// A page of [`Store::search_messages`] on PostgreSQL, in one read-only
    /// transaction whose plan fits the query (search/pg.rs).
    async fn messages_pg(
        &self,
        workspace_id: &WorkspaceId,
        query: &Query,
        filter: &SearchFilter,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<(Vec<Message>, Option<String>)> {
        let tsquery = query.tsquery();
        let conv_filter = conversation_filter(filter);
        let (key, after_id) = after.unzip();
        let bind = |sql: &'static str| {
            conversations::bind_filters(sqlx::query(sql), workspace_id, &conv_filter)
                .persistent(false)
                .bind(tsquery.as_str())
                .bind(filter.from)
                .bind(filter.to)
                .bind(i64::from(filter.include_notes))
                .bind(key)
                .bind(limit + 1)
                .bind(after_id.as_deref())
        };
        let (mut tx, plan) = pg::begin(self.reader(), workspace_id.as_ref(), &tsquery).await?;
        pg::set_plan(&mut tx, plan).await?;
        let mut rows = None;
        if plan == pg::Plan::Walk && filters_conversations(filter) {
            let window = bind(pg::MESSAGES_WALK)
                .bind(Some(pg::WALK_WINDOW))
                .fetch_all(&mut *tx)
                .await?;
            if window.len() as i64 > limit {
                rows = Some(window);
            }
        }
        if rows.is_none() && plan == pg::Plan::Walk && filters_conversations(filter) {
            for n in pg::CONVERSATION_STEPS {
                let all = bind(pg::MESSAGES_BY_CONVERSATION)
                    .bind(n)
                    .fetch_all(&mut *tx)
                    .await?;
                let Some(first) = all.first() else { break };
                let convs: i64 = first.try_get("convs")?;
                let floor: Option<i64> = first.try_get("floor")?;
                let mut hits = Vec::with_capacity(all.len());
                for r in all {
                    if r.try_get::<Option<i64>, _>("hit")?.is_some() {
                        hits.push(r);
                    }
                }
                // Exact when every conversation that passes was read, or
                // when the row after the page is newer than anything the
                // conversations not read can hold.
                let past_page = match hits.get(usize::try_from(limit).unwrap_or(0)) {
                    Some(r) => r.try_get::<i64, _>("hit")? > floor.unwrap_or(i64::MAX),
                    None => false,
                };
                if convs < n || past_page {
                    rows = Some(hits);
                    break;
                }
            }
        }
        let rows = match rows {
            Some(rows) => rows,
            None => match plan {
                pg::Plan::Walk => {
                    bind(pg::MESSAGES_WALK)
                        .bind(None::<i64>)
                        .fetch_all(&mut *tx)
                        .await?
                }
                pg::Plan::Gin => bind(pg::MESSAGES_GIN).fetch_all(&mut *tx).await?,
            },
        };
        tx.commit().await?;
        page_rows(&rows, limit, |r| {
            let m = messages::from_row(r)?;
            let hit: i64 = r.try_get("hit")?;
            let c = cursor_of(hit, &m.id);
            Ok((m, c))
        })
    }

    /// Conversations with a matching message or contact, by most recent
    /// activity. On SQLite, and on PostgreSQL for a word rare among the
    /// newest messages, the matches are the newest [`CONVERSATION_SCAN`]
    /// matching messages (and contacts); on PostgreSQL a frequent word
    /// walks the conversations by activity and finds any match in each
    /// (docs/search.md, Limits).
    pub async fn search_conversations(
        &self,
        workspace_id: &WorkspaceId,
        query: &Query,
        filter: &SearchFilter,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<SearchPage<ConversationHit>> {
        let (key, after_id) = parse_cursor(cursor)?.unzip();
        let pg = self.uses_pg();
        let m = if pg { query.tsquery() } else { query.fts5() };
        let conv_filter = conversation_filter(filter);
        let bind = |sql: &'static str| {
            conversations::bind_filters(sqlx::query(sql), workspace_id, &conv_filter)
                .persistent(!pg)
                .bind(m.as_str())
                .bind(filter.from)
                .bind(filter.to)
                .bind(i64::from(filter.include_notes))
                .bind(key)
                .bind(limit + 1)
                .bind(m.as_str())
                .bind(CONVERSATION_SCAN)
                .bind(after_id.as_deref())
        };
        let rows = if pg {
            let (mut tx, plan) = pg::begin(self.reader(), workspace_id.as_ref(), &m).await?;
            // The walk is left to the planner (it takes the conversations'
            // and each one's index unaided, and keeps the GIN index for the
            // matching contacts); the GIN plan is fixed.
            let sql = match plan {
                pg::Plan::Walk => pg::CONVERSATIONS_WALK,
                pg::Plan::Gin => {
                    pg::set_plan(&mut tx, plan).await?;
                    pg::CONVERSATIONS_GIN
                }
            };
            let rows = bind(sql).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        } else {
            bind(CONVERSATIONS_SQLITE).fetch_all(self.reader()).await?
        };
        let (found, next_cursor) = page_rows(&rows, limit, |r| {
            let best = if pg {
                r.try_get::<Option<String>, _>("best")?.map(Best::Id)
            } else {
                r.try_get::<Option<i64>, _>("best")?.map(Best::Rowid)
            };
            let c = conversations::from_row(r)?;
            let cursor = cursor_of(c.last_activity_at, &c.id);
            Ok(((c, best), cursor))
        })?;
        let bests: Vec<&Best> = found.iter().filter_map(|(_, b)| b.as_ref()).collect();
        let msgs = self.messages_by_best(&bests).await?;
        let items = found
            .into_iter()
            .map(|(conversation, _)| ConversationHit {
                message: msgs
                    .iter()
                    .find(|m| m.conversation_id == conversation.id)
                    .cloned(),
                conversation,
            })
            .collect();
        Ok(SearchPage { items, next_cursor })
    }

    /// Contacts matching `query` (name, e-mail, phone, attributes), newest
    /// first (by id, on both databases); the cursor is the last one's id. Of
    /// the filters, the inbox and the time range apply.
    pub async fn search_contacts(
        &self,
        workspace_id: &WorkspaceId,
        query: &Query,
        filter: &SearchFilter,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<SearchPage<Contact>> {
        let pg = self.uses_pg();
        let (sql, m) = if pg {
            (CONTACTS_PG, query.tsquery())
        } else {
            (CONTACTS_SQLITE, query.fts5())
        };
        let rows = sqlx::query(sql)
            .persistent(!pg)
            .bind(workspace_id)
            .bind(m)
            .bind(filter.inbox_id.as_deref())
            .bind(filter.from)
            .bind(filter.to)
            .bind(cursor.filter(|c| !c.is_empty()))
            .bind(limit + 1)
            .fetch_all(self.reader())
            .await?;
        let (items, next_cursor) = page_rows(&rows, limit, |r| {
            let k = contacts::from_row(r)?;
            let cursor = k.id.to_string();
            Ok((k, cursor))
        })?;
        Ok(SearchPage { items, next_cursor })
    }

    /// The conversations `ids` of the workspace (unknown ids left out).
    async fn conversations_by_ids(
        &self,
        workspace_id: &WorkspaceId,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Only placeholders are formatted into the SQL; every value is bound.
        let list = (0..ids.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {} FROM conversations WHERE workspace_id = $1 AND id IN ({list})",
            conversations::cols!()
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace_id);
        for id in &ids {
            q = q.bind(id);
        }
        q.fetch_all(self.reader())
            .await?
            .iter()
            .map(conversations::from_row)
            .collect()
    }

    /// The messages a conversation search picked as each one's best match.
    async fn messages_by_best(&self, bests: &[&Best]) -> Result<Vec<Message>> {
        if bests.is_empty() {
            return Ok(Vec::new());
        }
        let list = (0..bests.len())
            .map(|i| format!("${}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let key = if self.uses_pg() { "id" } else { "rowid" };
        let sql = format!(
            "SELECT {} FROM messages WHERE {key} IN ({list})",
            messages::cols!()
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in bests {
            q = match b {
                Best::Id(id) => q.bind(id.clone()),
                Best::Rowid(r) => q.bind(*r),
            };
        }
        q.fetch_all(self.reader())
            .await?
            .iter()
            .map(messages::from_row)
            .collect()
    }

    /// Indexes every message and contact again, as the tokens are now
    /// made: for a release that changes how text is tokenized (`kefu search
    /// reindex`). Nothing is emptied first: each batch of
    /// [`BACKFILL_BATCH`] rows replaces its own index rows in its own short
    /// transaction ([`Store::search_backfill`]), so a live server's writers
    /// wait for one batch at most, and every row stays findable throughout
    /// (by its old tokens until its batch is done). Messages that arrive
    /// meanwhile are above the mark and indexed by their own write; a
    /// message deleted meanwhile is unindexed by its delete and skipped by
    /// its batch. The number of rows done.
    pub async fn search_rebuild(&self) -> Result<u64> {
        self.search_rebuild_begin().await?;
        self.search_backfill().await
    }

    /// Marks every message and contact there is now as to be indexed again
    /// (one short write); [`Store::search_backfill_step`] does the work.
    pub async fn search_rebuild_begin(&self) -> Result<()> {
        self.write(|c| {
            Box::pin(async move {
                for (name, table) in [("messages", "messages"), ("contacts", "contacts")] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO search_backfill (name, below, inclusive)
                         SELECT $1, MAX(id), 1 FROM {table} HAVING COUNT(*) > 0
                         ON CONFLICT (name) DO UPDATE SET below = EXCLUDED.below, inclusive = 1"
                    )))
                    .bind(name)
                    .execute(&mut *c)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Refreshes the planner's statistics of the searched tables
    /// (PostgreSQL: `ANALYZE`; SQLite: `PRAGMA optimize`). Autovacuum does it
    /// in time on a live server; a bulk load (`kefu search bench`, an import)
    /// is searched right after.
    pub async fn search_analyze(&self) -> Result<()> {
        let sql = if self.uses_pg() {
            "ANALYZE message_search, contact_search, messages, conversations, contacts"
        } else {
            "PRAGMA optimize"
        };
        sqlx::query(sql).execute(self.reader()).await?;
        Ok(())
    }

    /// Sets SQLite's full-text tables up for a bulk load (`true`: an import
    /// starts) or back for a server (`false`: it ended); nothing on
    /// PostgreSQL. FTS5 writes each commit's terms as a new segment and
    /// merges segments as they pile up: by default four of a level at a
    /// time, so over an import's thousands of commits every term is
    /// rewritten once per level, and half of the index's write time is
    /// merging. A bulk load merges sixteen at a time (as many as FTS5's
    /// default `crisismerge` lets a level hold) and keeps 16 MB of pending
    /// terms before flushing instead of 1 MB: each term is rewritten about
    /// half as often. The settings are stored in the tables; an import that
    /// is interrupted leaves them until it is run again, which is harmless
    /// (searches read more segments; see docs/search.md).
    pub async fn search_bulk_load(&self, on: bool) -> Result<()> {
        if self.uses_pg() {
            return Ok(());
        }
        let (automerge, hashsize) = if on {
            (FTS_BULK_AUTOMERGE, FTS_BULK_HASHSIZE)
        } else {
            (FTS_AUTOMERGE, FTS_HASHSIZE)
        };
        self.write(move |c| {
            Box::pin(async move {
                for sql in [
                    "INSERT INTO message_fts (message_fts, rank) VALUES ($1, $2)",
                    "INSERT INTO contact_fts (contact_fts, rank) VALUES ($1, $2)",
                ] {
                    for (key, value) in [("automerge", automerge), ("hashsize", hashsize)] {
                        sqlx::query(sql)
                            .bind(key)
                            .bind(value)
                            .execute(&mut *c)
                            .await?;
                    }
                }
                Ok(())
            })
        })
        .await
    }

    /// Indexes the rows that existed before the search index did (see the
    /// migration `0027_search`), newest first, in small transactions; a
    /// no-op once done. Safe to run on several servers at once.
    pub async fn search_backfill(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let Some(n) = self.search_backfill_step().await? else {
                return Ok(total);
            };
            total += n;
            if total % 50_000 < BACKFILL_BATCH as u64 {
                tracing::info!(
                    rows = total,
                    "search index: indexing existing messages and contacts"
                );
            }
        }
    }
}

impl Store {
    /// One batch of [`Store::search_backfill`] in its own transaction: the
    /// rows done, `None` when nothing is left.
    pub async fn search_backfill_step(&self) -> Result<Option<u64>> {
        self.write(|c| Box::pin(backfill_batch(c))).await
    }
}

/// Where a conversation's best match is: a message id (PostgreSQL) or rowid (SQLite).
enum Best {
    Id(String),
    Rowid(i64),
}

/// Whether the search is limited to some conversations (status, inbox,
/// agent, unassigned, label, contact), not only by words and time.
fn filters_conversations(f: &SearchFilter) -> bool {
    !f.statuses.is_empty()
        || f.inbox_id.is_some()
        || f.assignee_id.is_some()
        || f.unassigned
        || f.tag.is_some()
        || f.contact_id.is_some()
}

fn conversation_filter(f: &SearchFilter) -> crate::ConversationFilter {
    crate::ConversationFilter {
        statuses: f.statuses.clone(),
        inbox_id: f.inbox_id.clone(),
        assignee_id: f.assignee_id.clone(),
        unassigned: f.unassigned,
        contact_id: f.contact_id.clone(),
        tag: f.tag.clone(),
        ..Default::default()
    }
}

/// One batch of the backfill: indexes up to [`BACKFILL_BATCH`] rows below
/// the mark and moves it; the number of rows done, `None` when nothing is left.
async fn backfill_batch(c: &mut AnyConnection) -> Result<Option<u64>> {
    let Some(mark) =
        sqlx::query("SELECT name, below, inclusive FROM search_backfill ORDER BY name LIMIT 1")
            .fetch_optional(&mut *c)
            .await?
    else {
        return Ok(None);
    };
    let name: String = mark.try_get("name")?;
    let below: String = mark.try_get("below")?;
    let inclusive: i64 = mark.try_get("inclusive")?;
    let table = if name == "contacts" {
        "contacts"
    } else {
        "messages"
    };
    let cols = if table == "contacts" {
        contacts::COLS
    } else {
        messages::cols!()
    };
    // One comparison the index can seek to: `id < $1 OR ($2 = 1 AND id = $1)`
    // made both databases walk from the newest row every batch (quadratic).
    let op = if inclusive == 1 { "<=" } else { "<" };
    let sql = format!(
        "SELECT {cols}, workspace_id AS ws FROM {table} WHERE id {op} $1 ORDER BY id DESC LIMIT $2"
    );
    let rows: Vec<AnyRow> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&below)
        .bind(BACKFILL_BATCH)
        .fetch_all(&mut *c)
        .await?;
    let Some(last) = rows.last() else {
        sqlx::query("DELETE FROM search_backfill WHERE name = $1")
            .bind(&name)
            .execute(&mut *c)
            .await?;
        return Ok(Some(0));
    };
    let last_id: String = last.try_get("id")?;
    for r in &rows {
        if table == "contacts" {
            index_contact(c, &contacts::from_row(r)?).await?;
        } else {
            let m = messages::from_row(r)?;
            // A row indexed already (a rebuild) is replaced.
            unindex_message(c, &m.id).await?;
            let ws: WorkspaceId = r.try_get("ws")?;
            index_message(c, &m, &ws).await?;
        }
    }
    sqlx::query("UPDATE search_backfill SET below = $2, inclusive = 0 WHERE name = $1")
        .bind(&name)
        .bind(&last_id)
        .execute(&mut *c)
        .await?;
    Ok(Some(rows.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next page of a message search starts at the cursor inside FTS5:
    /// the rowid bound is one of the constraints the full-text table takes
    /// (`<` in its plan), not a filter on every match it yields. (The
    /// former keyset, with an OR, had this plan too: SQLite folded it.)
    #[tokio::test]
    async fn sqlite_message_pages_seek_in_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::sqlite_store(dir.path()).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {MESSAGES_SQLITE}"
        )));
        for _ in 1..=9 {
            q = q.bind(None::<String>);
        }
        let q = q
            .bind("\"退款\"")
            .bind(None::<i64>)
            .bind(None::<i64>)
            .bind(1_i64)
            .bind(100_i64)
            .bind(21_i64);
        let rows = q.fetch_all(store.reader()).await.unwrap();
        let fts: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .filter(|d| d.contains("message_fts"))
            .collect();
        assert_eq!(fts.len(), 1, "{fts:?}");
        let index = fts[0].rsplit(':').next().unwrap_or_default();
        assert!(
            index.contains('M') && index.contains('<'),
            "FTS5 takes the match and the rowid bound: {fts:?}"
        );
    }
}
