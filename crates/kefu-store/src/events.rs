//! Events: every committed change is stored twice in its own transaction,
//! as a row of the conversation's audit trail (`events`) and as a row of the
//! outbox that integrations read from (`outbox`, see [`crate::outbox`]).
//!
//! A write collects what it changed as [`ConversationEvent`]s while it runs
//! and stores them at its end with [`store_all`], so each [`Event`] carries
//! the conversation as the write left it.

use crate::{Actor, AuditEntry, Conversation, Event, Result, Store, StoreError, new_id};
use kefu_core::event::ConversationEvent;
use kefu_core::{ContactId, ConversationId, WorkspaceId};
use sqlx::{AnyConnection, Row, any::AnyRow};

/// The key of the PostgreSQL advisory lock that orders outbox positions
/// (any constant; this one is "kefu" in ASCII).
const OUTBOX_LOCK: i64 = 0x6b65_6675;

fn from_row(r: &AnyRow) -> Result<AuditEntry> {
    let data: String = r.try_get("data")?;
    Ok(AuditEntry {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        kind: r.try_get("kind")?,
        actor_kind: r.try_get("actor_kind")?,
        actor_id: r.try_get("actor_id")?,
        data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: r.try_get("created_at")?,
    })
}

/// Builds the events of one write: `changes` about `conv` (as the write left
/// it; `None` for contact events), caused by `actor` at `at`.
pub(crate) fn build(
    workspace_id: &WorkspaceId,
    conv: Option<&Conversation>,
    contact_id: Option<&ContactId>,
    actor: &Actor,
    changes: Vec<ConversationEvent>,
    at: i64,
) -> Vec<Event> {
    changes
        .into_iter()
        .map(|change| Event {
            id: new_id(),
            workspace_id: workspace_id.clone(),
            occurred_at: at,
            actor: actor.clone(),
            conversation: conv.cloned(),
            contact_id: contact_id
                .cloned()
                .or_else(|| conv.map(|c| c.contact_id.clone())),
            change,
        })
        .collect()
}

/// Stores `changes` inside the caller's write transaction (audit rows for
/// conversation changes, outbox rows for all), so the change and its events
/// commit together; returns the stored events.
pub(crate) async fn store_all(
    c: &mut AnyConnection,
    workspace_id: &WorkspaceId,
    conv: Option<&Conversation>,
    contact_id: Option<&ContactId>,
    actor: &Actor,
    changes: Vec<ConversationEvent>,
    at: i64,
) -> Result<Vec<Event>> {
    let events = build(workspace_id, conv, contact_id, actor, changes, at);
    store_built(c, &events).await?;
    Ok(events)
}

/// Stores events already built (see [`store_all`]).
pub(crate) async fn store_built(c: &mut AnyConnection, events: &[Event]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    for e in events {
        if let (true, Some(cid)) = (e.change.is_audited(), e.conversation_id()) {
            sqlx::query(
                "INSERT INTO events (id, workspace_id, conversation_id, kind, actor_kind, actor_id, data, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&e.id)
            .bind(&e.workspace_id)
            .bind(cid)
            .bind(e.change.type_name())
            .bind(e.actor.kind.as_str())
            .bind(&e.actor.id)
            .bind(e.change.data().to_string())
            .bind(e.occurred_at)
            .execute(&mut *c)
            .await?;
        }
    }
    if c.backend_name() == "PostgreSQL" {
        // Held to the commit: outbox positions commit in the order they are
        // handed out, so a consumer reading past its cursor never skips one.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(OUTBOX_LOCK)
            .execute(&mut *c)
            .await?;
    }
    for e in events {
        sqlx::query(
            "INSERT INTO outbox (id, workspace_id, conversation_id, type, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(&e.workspace_id)
        .bind(e.conversation_id())
        .bind(e.change.type_name())
        .bind(payload(e)?)
        .bind(e.occurred_at)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The outbox row's JSON: exactly what integrations receive.
pub(crate) fn payload(e: &Event) -> Result<String> {
    serde_json::to_string(e).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Store {
    /// Events of a conversation in order, after the cursor `after` (an event id).
    pub async fn list_events(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, conversation_id, kind, actor_kind, actor_id, data, created_at FROM events
             WHERE conversation_id = $1 AND workspace_id = $2 AND id > $3 ORDER BY id LIMIT $4",
        )
        .bind(conversation_id)
        .bind(workspace_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
