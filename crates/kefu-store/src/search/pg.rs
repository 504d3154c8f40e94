//! How a search runs on PostgreSQL: which way to the newest matches each
//! query takes, chosen per query from how common its words are among the
//! newest indexed messages.
//!
//! There are two ways to the newest matches of a query:
//!
//! - **walk**: read the index rows newest first (`message_search_recent`,
//!   or a conversation's rows through `message_search_conversation`) and
//!   keep those that match: cheap for a word that is everywhere (a page
//!   comes from the first few hundred rows), everything for a rare one;
//! - **GIN**: take the matches from the GIN index and sort them: cheap for
//!   a rare word, one heap read per match for a frequent one (a phrase
//!   also checks the positions of every row holding all its bigrams).
//!
//! PostgreSQL's planner estimates a query's matches from its `tsvector`
//! statistics, which know single lexemes but not phrases of bigrams, nor
//! that the matches sit among the newest rows: at 1,000,000 messages it
//! took the GIN index for `空气炸锅` (three bigrams, found in 2 % of the
//! messages: 230 ms) and sometimes walked for a word that is nowhere (0.5
//! s). So the store measures: it counts the matches among the newest
//! [`SAMPLE`] rows (a small read of hot pages, under a millisecond) and
//! walks from [`WALK_FROM`] matches on, else takes the GIN index. Each plan
//! is then fixed for its statement with `SET LOCAL` inside a read-only
//! transaction (the planner's other choices are its own); JIT is off, its
//! compilation alone costs more than these queries.
//!
//! A message search with conversation filters (status, agent, inbox, label,
//! contact) for a frequent word walks the newest [`WALK_WINDOW`] rows
//! first; when the filter leaves less than a page there (it passes only
//! older conversations: resolved ones, an agent's), it reads the newest
//! conversations that pass, by last activity, each newest first through
//! `message_search_conversation` ([`MESSAGES_BY_CONVERSATION`]). A
//! conversation's messages are never newer than its last activity, so once
//! a page's last match is newer than the last activity of the oldest
//! conversation read, no conversation further down can hold a newer one:
//! the page is exact. Otherwise it reads more conversations, and at last
//! falls back to the walk over all messages.

use crate::{Result, conversations, messages};
use sqlx::{Any, AnyConnection, Row, Transaction};

/// Newest index rows of the workspace a query's frequency is measured on.
const SAMPLE: i64 = 2000;

/// Matches among the [`SAMPLE`] from which walking is cheaper than the GIN
/// index: 3 in 2,000 is a match every ~700 rows, a page of 20 within some
/// 14,000 rows (about 5 ms); the GIN index reads 1,500 matches per million
/// messages, one heap page each.
const WALK_FROM: i64 = 3;

/// Index rows a filtered message search walks first: enough for a page
/// when the filter passes the newest conversations (open and unassigned,
/// an agent's tenth), and little wasted when it does not (resolved): 20,000
/// cost 20 ms of walking at 1,000,000 messages.
pub(super) const WALK_WINDOW: i64 = 5_000;

/// Conversations a filtered message search then reads, one size after the
/// other, before it walks every message instead. The first is small: a
/// word frequent enough to walk for usually fills a page from a few
/// conversations (`退款` + resolved at 1,000,000 messages: 200
/// conversations took 12.6 ms, 40 took 1.9 ms).
pub(super) const CONVERSATION_STEPS: [i64; 3] = [40, 200, 2000];

/// The way a query takes to its newest matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    Walk,
    Gin,
}

/// A read-only transaction for one search on PostgreSQL, with the plan its
/// query gets: the matches among the newest rows counted, and the planner's
/// settings made to fit ([`set_plan`]).
pub(super) async fn begin(
    pool: &sqlx::AnyPool,
    workspace_id: &str,
    tsquery: &str,
) -> Result<(Transaction<'static, Any>, Plan)> {
    let mut tx = pool.begin().await?;
    let n: i64 = sqlx::query(
        "SELECT set_config('transaction_read_only', 'on', true) AS ro,
                set_config('jit', 'off', true) AS jit,
                (SELECT COUNT(*) FROM (
                    SELECT tsv FROM message_search WHERE workspace_id = $1
                    ORDER BY created_at DESC, message_id DESC LIMIT $2) r
                 WHERE tsv @@ CAST($3 AS tsquery)) AS n",
    )
    .bind(workspace_id)
    .bind(SAMPLE)
    .bind(tsquery)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    let plan = if n >= WALK_FROM {
        Plan::Walk
    } else {
        Plan::Gin
    };
    Ok((tx, plan))
}

/// Fixes `plan` for the next statements of the transaction: a walk reads
/// the B-tree newest first (no bitmap: it would take the GIN index, no
/// sequential scan); the GIN plan takes the GIN index (no sequential scan).
/// No parallel workers: starting them costs more than these queries. A walk
/// also joins by nested loops only: given the bounded walk's rows, the
/// planner hashed every conversation the filter passes first (40 ms of a
/// 62 ms query at 1,000,000 messages; 2 ms with nested loops).
pub(super) async fn set_plan(c: &mut AnyConnection, plan: Plan) -> Result<()> {
    let (bitmap, joins) = match plan {
        Plan::Walk => ("off", "off"),
        Plan::Gin => ("on", "on"),
    };
    sqlx::query(
        "SELECT set_config('enable_seqscan', 'off', true) AS s,
                set_config('enable_bitmapscan', $1, true) AS b,
                set_config('max_parallel_workers_per_gather', '0', true) AS p,
                set_config('enable_hashjoin', $2, true) AS h,
                set_config('enable_mergejoin', $2, true) AS m",
    )
    .bind(bitmap)
    .bind(joins)
    .fetch_one(&mut *c)
    .await?;
    Ok(())
}

// The message searches bind the conversation filters ($2 to $9), $10 the
// tsquery, $11/$12 the time range, $13 notes, $14/$16 the cursor (time and
// id), $15 the rows wanted; [`MESSAGES_BY_CONVERSATION`] $17 the
// conversations it reads.

/// Walk: the index rows newest first, each checked; $17 rows at most
/// (NULL: all). The rows are read in a subquery the planner plans alone
/// (`OFFSET 0`): with the match and the joins beside the walk, it counted
/// on the phrase `申请退款` being rare and read the whole table by its
/// primary key in parallel workers, then sorted (780 ms).
pub(super) const MESSAGES_WALK: &str = concat!(
    "SELECT ",
    messages::prefixed_cols!(),
    ", s.created_at AS hit
     FROM (SELECT message_id, conversation_id, created_at, tsv FROM message_search
           WHERE workspace_id = $1
             AND (CAST($11 AS BIGINT) IS NULL OR created_at >= $11)
             AND (CAST($12 AS BIGINT) IS NULL OR created_at < $12)
             AND (CAST($14 AS BIGINT) IS NULL OR (created_at, message_id) < ($14, $16))
           ORDER BY created_at DESC, message_id DESC LIMIT $17 OFFSET 0) s
     JOIN messages m ON m.id = s.message_id
     JOIN conversations ON conversations.id = s.conversation_id
     WHERE s.tsv @@ CAST($10 AS tsquery) AND conversations.workspace_id = $1 AND ",
    message_filters!("s.created_at", pg),
    " ORDER BY s.created_at DESC, s.message_id DESC LIMIT $15"
);

/// GIN: every match from the GIN index (materialized, so the planner
/// cannot turn it into a walk), then filtered and sorted.
pub(super) const MESSAGES_GIN: &str = concat!(
    "WITH hits AS MATERIALIZED (
        SELECT message_id, conversation_id, created_at FROM message_search
        WHERE tsv @@ CAST($10 AS tsquery) AND workspace_id = $1
          AND (CAST($11 AS BIGINT) IS NULL OR created_at >= $11)
          AND (CAST($12 AS BIGINT) IS NULL OR created_at < $12)
          AND (CAST($14 AS BIGINT) IS NULL OR (created_at, message_id) < ($14, $16)))
     SELECT ",
    messages::prefixed_cols!(),
    ", s.created_at AS hit
     FROM hits s
     JOIN messages m ON m.id = s.message_id
     JOIN conversations ON conversations.id = s.conversation_id
     WHERE conversations.workspace_id = $1 AND ",
    message_filters!("s.created_at", pg),
    " ORDER BY s.created_at DESC, s.message_id DESC LIMIT $15"
);

/// A frequent word with conversation filters: the newest $17
/// conversations that pass, by last activity, each read newest first
/// (its newest $15 matches at most), merged. Every row also carries how
/// many conversations were read and the oldest one's last activity
/// (`floor`), and one row with no message stands for an empty page, so the
/// caller can tell whether the page is exact (see the module's comment).
pub(super) const MESSAGES_BY_CONVERSATION: &str = concat!(
    "WITH conv AS MATERIALIZED (
        SELECT conversations.id, conversations.last_activity_at FROM conversations
        WHERE conversations.workspace_id = $1 AND ",
    conversations::filters_sql!(pg),
    " ORDER BY conversations.last_activity_at DESC, conversations.id DESC LIMIT $17),
     hits AS (
        SELECT h.message_id, h.created_at FROM conv CROSS JOIN LATERAL (
            SELECT s.message_id, s.created_at
            FROM message_search s JOIN messages m ON m.id = s.message_id
            WHERE s.conversation_id = conv.id AND s.tsv @@ CAST($10 AS tsquery)
              AND m.deleted_at IS NULL AND ($13 = 1 OR m.kind <> 'note')
              AND (CAST($11 AS BIGINT) IS NULL OR s.created_at >= $11)
              AND (CAST($12 AS BIGINT) IS NULL OR s.created_at < $12)
              AND (CAST($14 AS BIGINT) IS NULL OR (s.created_at, s.message_id) < ($14, $16))
            ORDER BY s.created_at DESC, s.message_id DESC LIMIT $15) h
        ORDER BY h.created_at DESC, h.message_id DESC LIMIT $15)
     SELECT k.convs, k.floor, ",
    messages::prefixed_cols!(),
    ", hits.created_at AS hit
     FROM (SELECT COUNT(*) AS convs, MIN(last_activity_at) AS floor FROM conv) k
     LEFT JOIN hits ON TRUE
     LEFT JOIN messages m ON m.id = hits.message_id
     ORDER BY hits.created_at DESC NULLS LAST, hits.message_id DESC"
);

// The conversation searches bind the conversation filters ($2 to $9), $10
// the messages' tsquery, $11/$12 the time range (last activity), $13
// notes, $14/$18 the cursor, $15 the rows wanted, $16 the contacts'
// tsquery, $17 the matches the GIN plan reads.

/// Walk: the conversations that pass the filters by last activity, each
/// with its newest matching message (read newest first through
/// `message_search_conversation`) or a matching contact.
pub(super) const CONVERSATIONS_WALK: &str = concat!(
    "SELECT ",
    conversations::prefixed_cols!(),
    ", b.best AS best FROM conversations
     LEFT JOIN LATERAL (
        SELECT s.message_id AS best FROM message_search s JOIN messages m ON m.id = s.message_id
        WHERE s.conversation_id = conversations.id AND s.tsv @@ CAST($10 AS tsquery)
          AND m.deleted_at IS NULL AND ($13 = 1 OR m.kind <> 'note')
        ORDER BY s.created_at DESC, s.message_id DESC LIMIT 1) b ON TRUE
     WHERE conversations.workspace_id = $1 AND ",
    conversations::filters_sql!(pg),
    " AND (CAST($11 AS BIGINT) IS NULL OR last_activity_at >= $11)
      AND (CAST($12 AS BIGINT) IS NULL OR last_activity_at < $12)
      AND (CAST($14 AS BIGINT) IS NULL OR (last_activity_at, conversations.id) < ($14, $18))
      AND (b.best IS NOT NULL OR conversations.contact_id IN (
            SELECT g.contact_id FROM contact_search g
            WHERE g.tsv @@ CAST($16 AS tsquery) AND g.workspace_id = $1 LIMIT $17))
     ORDER BY last_activity_at DESC, conversations.id DESC LIMIT $15"
);

/// GIN: the conversations of the newest $17 matching messages and of up
/// to $17 matching contacts, by last activity.
pub(super) const CONVERSATIONS_GIN: &str = concat!(
    "WITH cand AS (
        SELECT cid, (array_agg(best ORDER BY best_at DESC NULLS LAST))[1] AS best FROM (
            SELECT * FROM (
                SELECT s.conversation_id AS cid, s.message_id AS best, s.created_at AS best_at
                FROM message_search s JOIN messages m ON m.id = s.message_id
                WHERE s.tsv @@ CAST($10 AS tsquery) AND s.workspace_id = $1 AND m.deleted_at IS NULL
                  AND ($13 = 1 OR m.kind <> 'note')
                ORDER BY s.created_at DESC LIMIT $17) hits
            UNION ALL
            SELECT * FROM (
                SELECT c2.id AS cid, CAST(NULL AS TEXT) AS best, CAST(NULL AS BIGINT) AS best_at
                FROM contact_search g JOIN conversations c2 ON c2.contact_id = g.contact_id
                WHERE g.tsv @@ CAST($16 AS tsquery) AND g.workspace_id = $1 LIMIT $17) people
        ) u GROUP BY cid
     )
     SELECT ",
    conversations::prefixed_cols!(),
    ", cand.best AS best FROM cand JOIN conversations ON conversations.id = cand.cid
     WHERE conversations.workspace_id = $1 AND ",
    conversations::filters_sql!(pg),
    " AND (CAST($11 AS BIGINT) IS NULL OR last_activity_at >= $11)
      AND (CAST($12 AS BIGINT) IS NULL OR last_activity_at < $12)
      AND (CAST($14 AS BIGINT) IS NULL OR (last_activity_at, conversations.id) < ($14, $18))
     ORDER BY last_activity_at DESC, conversations.id DESC LIMIT $15"
);
