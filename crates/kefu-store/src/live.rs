//! The live dashboard's figures: who is online and how loaded, what is
//! open and waiting now, and each group's line (read at once, not counted
//! from events: they describe the present, not a period).

use crate::{Result, Store};
use kefu_core::WorkspaceId;
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

/// An agent now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveAgent {
    pub id: String,
    pub name: String,
    /// online, away or offline.
    pub status: String,
    pub capacity: i64,
    /// Open and pending conversations assigned to them.
    pub active: i64,
}

/// The workspace now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveSnapshot {
    pub agents: Vec<LiveAgent>,
    /// Active conversations by status: bot, queued, open, pending.
    pub bot: i64,
    pub queued: i64,
    pub open: i64,
    pub pending: i64,
    /// Active conversations whose customer waits for a reply.
    pub waiting: i64,
    /// Since when the longest-waiting customer has waited (epoch ms).
    pub longest_waiting_since: Option<i64>,
    /// Every group's line (empty ones too), by name.
    pub queues: Vec<LiveQueue>,
}

/// A group's line now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveQueue {
    pub group: String,
    pub waiting: i64,
}

impl Store {
    pub async fn live_snapshot(&self, ws: &WorkspaceId) -> Result<LiveSnapshot> {
        let agents = sqlx::query(
            "SELECT u.id, u.name, u.status, u.capacity,
                    (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status IN ('open', 'pending')) AS active
             FROM users u WHERE u.workspace_id = $1 AND u.active = 1 ORDER BY u.name, u.id",
        )
        .bind(ws)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(LiveAgent {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                status: r.try_get("status")?,
                capacity: r.try_get("capacity")?,
                active: r.try_get("active")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mut s = LiveSnapshot {
            agents,
            bot: 0,
            queued: 0,
            open: 0,
            pending: 0,
            waiting: 0,
            longest_waiting_since: None,
            queues: Vec::new(),
        };
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM conversations
             WHERE workspace_id = $1 AND status IN ('bot', 'queued', 'open', 'pending') GROUP BY status",
        )
        .bind(ws)
        .fetch_all(self.reader())
        .await?;
        for r in rows {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<String, _>("status")?.as_str() {
                "bot" => s.bot = n,
                "queued" => s.queued = n,
                "open" => s.open = n,
                "pending" => s.pending = n,
                _ => {}
            }
        }
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(waiting_since) AS oldest FROM conversations
             WHERE workspace_id = $1 AND status IN ('bot', 'queued', 'open', 'pending') AND waiting_since IS NOT NULL",
        )
        .bind(ws)
        .fetch_one(self.reader())
        .await?;
        s.waiting = r.try_get("n")?;
        s.longest_waiting_since = r.try_get("oldest")?;
        let lengths = self.queue_lengths(ws).await?;
        s.queues = self
            .list_groups(ws)
            .await?
            .into_iter()
            .map(|g| {
                let waiting = lengths.get(&g.name).copied().unwrap_or(0);
                LiveQueue {
                    group: g.name,
                    waiting,
                }
            })
            .collect();
        Ok(s)
    }
}
