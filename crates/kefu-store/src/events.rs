//! The audit trail of conversations: every state change is an event.

use crate::{Actor, Event, Result, Store, StoreError, new_id};
use sqlx::{AnyConnection, Row, any::AnyRow};

fn from_row(r: &AnyRow) -> Result<Event> {
    let data: String = r.try_get("data")?;
    Ok(Event {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        kind: r.try_get("kind")?,
        actor_kind: r.try_get("actor_kind")?,
        actor_id: r.try_get("actor_id")?,
        data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: r.try_get("created_at")?,
    })
}

/// Records an event inside the caller's write transaction, so the change and
/// its record commit together.
pub(crate) async fn record(
    c: &mut AnyConnection,
    workspace_id: &str,
    conversation_id: &str,
    kind: &str,
    actor: &Actor,
    data: serde_json::Value,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (id, workspace_id, conversation_id, kind, actor_kind, actor_id, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(workspace_id)
    .bind(conversation_id)
    .bind(kind)
    .bind(actor.kind.as_str())
    .bind(&actor.id)
    .bind(data.to_string())
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

impl Store {
    /// Events of a conversation in order, after the cursor `after` (an event id).
    pub async fn list_events(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Event>> {
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
