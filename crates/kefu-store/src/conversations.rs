//! Conversations: status changes and assignment go through the state machine
//! in kefu-core and are recorded as events in the same transaction.

use crate::{
    ActivityCursor, Actor, Conversation, ConversationFilter, Result, Store, StoreError, events,
    now_ms,
};
use kefu_core::ConversationStatus;
use serde_json::json;
use sqlx::{AnyConnection, Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, workspace_id, inbox_id, contact_id, status, assignee_id, last_seq, last_activity_at, created_at, updated_at"
    };
}
pub(crate) use cols;

pub(crate) fn from_row(r: &AnyRow) -> Result<Conversation> {
    let status: String = r.try_get("status")?;
    Ok(Conversation {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        inbox_id: r.try_get("inbox_id")?,
        contact_id: r.try_get("contact_id")?,
        status: status
            .parse()
            .map_err(|e: kefu_core::conversation::UnknownStatus| {
                StoreError::Corrupt(e.to_string())
            })?,
        assignee_id: r.try_get("assignee_id")?,
        last_seq: r.try_get("last_seq")?,
        last_activity_at: r.try_get("last_activity_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Reads a conversation inside a write transaction.
pub(crate) async fn load(
    c: &mut AnyConnection,
    workspace_id: &str,
    id: &str,
) -> Result<Conversation> {
    let r = sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM conversations WHERE id = $1 AND workspace_id = $2"
    ))
    .bind(id)
    .bind(workspace_id)
    .fetch_one(&mut *c)
    .await?;
    from_row(&r)
}

/// Moves a conversation to `to` and records it; used by explicit status
/// changes and by a visitor message reopening a conversation.
pub(crate) async fn set_status(
    c: &mut AnyConnection,
    conv: &mut Conversation,
    to: ConversationStatus,
    actor: &Actor,
    at: i64,
) -> Result<()> {
    let from = conv.status;
    conv.status.transition(to)?;
    let n = sqlx::query(
        "UPDATE conversations SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
    )
    .bind(&conv.id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(at)
    .execute(&mut *c)
    .await
    .map_err(|e| match StoreError::from(e) {
        // The one-active-conversation-per-visitor-and-inbox index.
        StoreError::Conflict(_) => StoreError::Conflict(
            "the visitor already has another active conversation in this inbox".into(),
        ),
        other => other,
    })?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::Conflict(
            "the conversation changed concurrently; retry".into(),
        ));
    }
    events::record(
        c,
        &conv.workspace_id,
        &conv.id,
        "status_changed",
        actor,
        json!({"from": from, "to": to}),
        at,
    )
    .await?;
    conv.status = to;
    conv.updated_at = at;
    Ok(())
}

impl Store {
    pub async fn get_conversation(&self, workspace_id: &str, id: &str) -> Result<Conversation> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM conversations WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.reader())
        .await?;
        from_row(&r)
    }

    /// Conversations by most recent activity, filtered, after a keyset cursor.
    pub async fn list_conversations(
        &self,
        workspace_id: &str,
        filter: &ConversationFilter,
        cursor: Option<&ActivityCursor>,
        limit: i64,
    ) -> Result<Vec<Conversation>> {
        macro_rules! list_sql {
            ($scope:literal) => {
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM conversations WHERE ",
                    $scope,
                    " AND (CAST($2 AS TEXT) IS NULL OR status = $2)
                      AND (CAST($3 AS TEXT) IS NULL OR inbox_id = $3)
                      AND (CAST($4 AS TEXT) IS NULL OR assignee_id = $4)
                      AND ($5 = 0 OR assignee_id IS NULL)
                      AND (CAST($6 AS TEXT) IS NULL OR contact_id = $6)
                      AND (CAST($7 AS BIGINT) IS NULL OR last_activity_at < $7 OR (last_activity_at = $7 AND id < $8))
                    ORDER BY last_activity_at DESC, id DESC LIMIT $9"
                )
            };
        }
        // One contact's conversations go through the contact index (a plain
        // equality the planner can use); scanning the workspace's activity
        // index for them made every visitor's `hello` O(conversations).
        let sql = if filter.contact_id.is_some() {
            list_sql!("contact_id = $6 AND workspace_id = $1")
        } else {
            list_sql!("workspace_id = $1")
        };
        let rows = sqlx::query(sql)
            .bind(workspace_id)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.inbox_id.as_deref())
            .bind(filter.assignee_id.as_deref())
            .bind(i64::from(filter.unassigned))
            .bind(filter.contact_id.as_deref())
            .bind(cursor.map(|c| c.last_activity_at))
            .bind(cursor.map(|c| c.id.as_str()).unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Changes the status through the state machine; returns the conversation
    /// before and after.
    pub async fn change_status(
        &self,
        workspace_id: &str,
        id: &str,
        to: ConversationStatus,
        actor: Actor,
    ) -> Result<(Conversation, Conversation)> {
        let (ws, cid) = (workspace_id.to_string(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let before = load(c, &ws, &cid).await?;
                let mut conv = before.clone();
                set_status(c, &mut conv, to, &actor, now_ms()).await?;
                Ok((before, conv))
            })
        })
        .await
    }

    /// Sets (or clears, with `None`) the assignee. The assignee must be an
    /// active member of the same workspace. The single `assignee_id` column
    /// is what keeps "at most one assignee" true.
    pub async fn assign(
        &self,
        workspace_id: &str,
        id: &str,
        assignee_id: Option<String>,
        actor: Actor,
    ) -> Result<Conversation> {
        let (ws, cid) = (workspace_id.to_string(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let mut conv = load(c, &ws, &cid).await?;
                if let Some(uid) = &assignee_id {
                    let ok = sqlx::query("SELECT 1 AS ok FROM users WHERE id = $1 AND workspace_id = $2 AND active = 1")
                        .bind(uid)
                        .bind(&ws)
                        .fetch_optional(&mut *c)
                        .await?;
                    if ok.is_none() {
                        return Err(StoreError::Invalid(format!("no active agent {uid} in this workspace")));
                    }
                }
                if conv.assignee_id == assignee_id {
                    return Ok(conv);
                }
                let at = now_ms();
                // An assignment ends any wait in a routing line.
                sqlx::query("UPDATE conversations SET assignee_id = $2, updated_at = $3, queued_at = CASE WHEN CAST($2 AS TEXT) IS NULL THEN queued_at ELSE NULL END WHERE id = $1")
                    .bind(&conv.id)
                    .bind(assignee_id.as_deref())
                    .bind(at)
                    .execute(&mut *c)
                    .await?;
                events::record(c, &ws, &conv.id, "assigned", &actor, json!({"from": conv.assignee_id, "to": assignee_id}), at).await?;
                conv.assignee_id = assignee_id;
                conv.updated_at = at;
                Ok(conv)
            })
        })
        .await
    }

    /// Records that `reader_id` has read up to `seq`; only ever moves forward.
    /// Returns whether the position advanced.
    pub async fn mark_read(
        &self,
        conversation_id: &str,
        reader_kind: &str,
        reader_id: &str,
        seq: i64,
    ) -> Result<bool> {
        let (cid, kind, rid) = (
            conversation_id.to_string(),
            reader_kind.to_string(),
            reader_id.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "INSERT INTO conversation_reads (conversation_id, reader_id, reader_kind, seq, updated_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (conversation_id, reader_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
                     WHERE conversation_reads.seq < excluded.seq",
                )
                .bind(&cid)
                .bind(&rid)
                .bind(&kind)
                .bind(seq)
                .bind(now_ms())
                .execute(&mut *c)
                .await?
                .rows_affected();
                Ok(n > 0)
            })
        })
        .await
    }

    /// Where `reader_id` has read up to in a conversation (0 if never).
    pub async fn read_position(&self, conversation_id: &str, reader_id: &str) -> Result<i64> {
        let r = sqlx::query(
            "SELECT seq FROM conversation_reads WHERE conversation_id = $1 AND reader_id = $2",
        )
        .bind(conversation_id)
        .bind(reader_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(match r {
            Some(r) => r.try_get("seq")?,
            None => 0,
        })
    }
}
