//! Reading the outbox: each consumer (a webhook subscription, a bus) reads
//! the rows after its own cursor in position order and moves the cursor
//! once it has handed them on. Rows every consumer has passed are pruned
//! after the retention period.

use crate::{Event, Result, Store, StoreError, now_ms};
use sqlx::Row;

/// One outbox row: an event at its position.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub position: i64,
    /// The event's JSON exactly as stored (what integrations receive).
    pub payload: String,
    pub event: Event,
}

impl Store {
    /// Up to `limit` rows after `position`, oldest first.
    pub async fn outbox_after(&self, position: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "SELECT position, payload FROM outbox WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(position)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get("payload")?;
                let event = serde_json::from_str(&payload)
                    .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?;
                Ok(OutboxRow {
                    position: r.try_get("position")?,
                    payload,
                    event,
                })
            })
            .collect()
    }

    /// The newest position (0 for an empty outbox).
    pub async fn outbox_head(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM outbox")
            .fetch_one(self.reader())
            .await?;
        Ok(r.try_get("p")?)
    }

    /// The cursor of consumer `name`, registering it at `start` (usually the
    /// head: a new consumer hears of changes from now on) if it is new.
    pub async fn outbox_cursor(&self, name: &str, start: i64) -> Result<i64> {
        let name = name.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO outbox_consumers (name, position, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(&name)
                .bind(start)
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                let r = sqlx::query("SELECT position FROM outbox_consumers WHERE name = $1")
                    .bind(&name)
                    .fetch_one(&mut *c)
                    .await?;
                Ok(r.try_get("position")?)
            })
        })
        .await
    }

    /// Moves consumer `name`'s cursor forward to `position` (never back).
    pub async fn advance_outbox_cursor(&self, name: &str, position: i64) -> Result<()> {
        let name = name.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE outbox_consumers SET position = $2, updated_at = $3 WHERE name = $1 AND position < $2",
                )
                .bind(&name)
                .bind(position)
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Forgets consumer `name` (a deleted subscription), so it no longer
    /// holds back pruning.
    pub async fn drop_outbox_cursor(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("DELETE FROM outbox_consumers WHERE name = $1")
                    .bind(&name)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Deletes rows older than `before_ms` that every consumer has passed;
    /// returns how many. Rows a consumer still needs stay, however old.
    pub async fn prune_outbox(&self, before_ms: i64, limit: i64) -> Result<u64> {
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "DELETE FROM outbox WHERE position IN (
                        SELECT position FROM outbox
                        WHERE created_at < $1
                          AND position <= COALESCE((SELECT MIN(position) FROM outbox_consumers), (SELECT MAX(position) FROM outbox))
                        ORDER BY position LIMIT $2)",
                )
                .bind(before_ms)
                .bind(limit)
                .execute(&mut *c)
                .await?
                .rows_affected();
                Ok(n)
            })
        })
        .await
    }
}
