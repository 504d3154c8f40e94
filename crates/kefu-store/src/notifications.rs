//! What an agent is told personally: a colleague mentioned them in a note,
//! or a conversation was assigned to them. Kept until read, so the console's
//! bell shows what happened while they were away.

use crate::{Result, Store, StoreError, new_id, now_ms};
use kefu_core::{ConversationId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use sqlx::{Row, any::AnyRow};
use utoipa::ToSchema;

/// Why an agent is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// `@name` in a private note.
    Mention,
    /// A conversation was assigned to them (not by themselves).
    Assigned,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Mention => "mention",
            NotificationKind::Assigned => "assigned",
        }
    }
}

impl std::str::FromStr for NotificationKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "mention" => Ok(NotificationKind::Mention),
            "assigned" => Ok(NotificationKind::Assigned),
            other => Err(format!("unknown notification kind {other:?}")),
        }
    }
}

/// One notification of one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub conversation_id: ConversationId,
    /// The note's position for mentions (the console scrolls to it).
    pub seq: Option<i64>,
    /// Who mentioned or assigned (a user id; empty for routing).
    pub actor_id: String,
    pub actor_name: String,
    /// The start of the note, or of the conversation's last message.
    pub excerpt: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A notification to store; `source` (the event id) makes a retried one a no-op.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub conversation_id: ConversationId,
    pub seq: Option<i64>,
    pub actor_id: String,
    pub actor_name: String,
    pub excerpt: String,
    pub source: String,
}

fn row(r: &AnyRow) -> Result<Notification> {
    Ok(Notification {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        kind: r
            .try_get::<String, _>("kind")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        conversation_id: r.try_get("conversation_id")?,
        seq: r.try_get("seq")?,
        actor_id: r.try_get("actor_id")?,
        actor_name: r.try_get("actor_name")?,
        excerpt: r.try_get("excerpt")?,
        created_at: r.try_get("created_at")?,
        read_at: r.try_get("read_at")?,
    })
}

const COLS: &str =
    "id, user_id, kind, conversation_id, seq, actor_id, actor_name, excerpt, created_at, read_at";

impl Store {
    /// Stores a notification; `None` when its source was stored already
    /// (the caller then tells nobody a second time).
    pub async fn add_notification(&self, new: NewNotification) -> Result<Option<Notification>> {
        let n = Notification {
            id: new_id(),
            user_id: new.user_id,
            kind: new.kind,
            conversation_id: new.conversation_id,
            seq: new.seq,
            actor_id: new.actor_id,
            actor_name: new.actor_name,
            excerpt: new.excerpt,
            created_at: now_ms(),
            read_at: None,
        };
        let (ws, source, m) = (new.workspace_id, new.source, n.clone());
        let inserted = self
            .write(move |c| {
                Box::pin(async move {
                    Ok(sqlx::query(
                        "INSERT INTO notifications (id, workspace_id, user_id, kind, conversation_id, seq,
                             actor_id, actor_name, excerpt, source, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                         ON CONFLICT (user_id, kind, source) DO NOTHING",
                    )
                    .bind(&m.id)
                    .bind(&ws)
                    .bind(&m.user_id)
                    .bind(m.kind.as_str())
                    .bind(&m.conversation_id)
                    .bind(m.seq)
                    .bind(&m.actor_id)
                    .bind(&m.actor_name)
                    .bind(&m.excerpt)
                    .bind(&source)
                    .bind(m.created_at)
                    .execute(&mut *c)
                    .await?
                    .rows_affected())
                })
            })
            .await?;
        Ok((inserted > 0).then_some(n))
    }

    /// An agent's notifications, newest first; `before` (a `created_at`)
    /// pages back.
    pub async fn list_notifications(
        &self,
        workspace_id: &WorkspaceId,
        user_id: &UserId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM notifications
             WHERE workspace_id = $1 AND user_id = $2 AND created_at < $3
             ORDER BY created_at DESC, id DESC LIMIT $4"
        )))
        .bind(workspace_id)
        .bind(user_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(row).collect()
    }

    /// How many of an agent's notifications are unread.
    pub async fn unread_notifications(
        &self,
        workspace_id: &WorkspaceId,
        user_id: &UserId,
    ) -> Result<i64> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM notifications
             WHERE workspace_id = $1 AND user_id = $2 AND read_at IS NULL",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_one(self.reader())
        .await?;
        Ok(r.try_get("n")?)
    }

    /// Marks an agent's notifications read: the given ones, those of a
    /// conversation (opening it reads them), or all. Returns how many changed.
    pub async fn read_notifications(
        &self,
        workspace_id: &WorkspaceId,
        user_id: &UserId,
        which: NotificationsToRead,
    ) -> Result<u64> {
        let (ws, uid, now) = (workspace_id.clone(), user_id.clone(), now_ms());
        self.write(move |c| {
            Box::pin(async move {
                let base = "UPDATE notifications SET read_at = $3
                     WHERE workspace_id = $1 AND user_id = $2 AND read_at IS NULL";
                let q = match &which {
                    NotificationsToRead::All => sqlx::query(base),
                    NotificationsToRead::Ids(ids) => {
                        if ids.is_empty() {
                            return Ok(0);
                        }
                        let list: Vec<String> =
                            (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
                        let sql = format!("{base} AND id IN ({})", list.join(", "));
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .bind(&ws)
                            .bind(&uid)
                            .bind(now);
                        for id in ids {
                            q = q.bind(id);
                        }
                        return Ok(q.execute(&mut *c).await?.rows_affected());
                    }
                    NotificationsToRead::Conversation(id) => {
                        let sql = format!("{base} AND conversation_id = $4");
                        return Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
                            .bind(&ws)
                            .bind(&uid)
                            .bind(now)
                            .bind(id)
                            .execute(&mut *c)
                            .await?
                            .rows_affected());
                    }
                };
                Ok(q.bind(&ws)
                    .bind(&uid)
                    .bind(now)
                    .execute(&mut *c)
                    .await?
                    .rows_affected())
            })
        })
        .await
    }
}

/// Which notifications [`Store::read_notifications`] marks read.
#[derive(Debug, Clone)]
pub enum NotificationsToRead {
    All,
    Ids(Vec<String>),
    Conversation(ConversationId),
}
