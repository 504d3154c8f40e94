//! Web Push subscriptions: the browsers each agent turned notifications on
//! in. A browser profile has one subscription per server key, so the
//! endpoint is unique: when another agent subscribes the same browser, the
//! row moves to them (they are the one using that browser now).
//!
//! A subscription belongs to the login session that made it: when that
//! session ends (logout, a password reset, expiry) the row is no longer
//! listed nor pushed to, so a shared computer stops showing an agent's
//! notifications once they log out. Such rows are deleted when their owner
//! next subscribes a browser.

use crate::{Result, Store, StoreError, new_id, now_ms};
use kefu_core::{UserId, WorkspaceId};
use sqlx::{Row, any::AnyRow};

/// A subscription to store, from the browser's `PushSubscription`.
#[derive(Debug, Clone)]
pub struct NewPushSubscription {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub endpoint: String,
    /// base64url of the browser's P-256 public key (65 bytes).
    pub p256dh: String,
    /// base64url of the browser's auth secret (16 bytes).
    pub auth: String,
    pub user_agent: Option<String>,
    /// The login session subscribing (`None`: not tied to one).
    pub session_id: Option<String>,
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_success_at: Option<i64>,
    /// Failed notifications in a row.
    pub failures: i64,
}

const COLS: &str = "id, workspace_id, user_id, endpoint, p256dh, auth, user_agent, created_at, last_success_at, failures";

/// Rows whose session is live (or that have none); `p` is push_subscriptions.
const LIVE: &str = "(p.session_id IS NULL OR EXISTS (SELECT 1 FROM sessions s WHERE s.id = p.session_id AND s.revoked_at IS NULL AND s.expires_at > $3))";

fn from_row(r: &AnyRow) -> Result<PushSubscription> {
    Ok(PushSubscription {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        user_id: r.try_get("user_id")?,
        endpoint: r.try_get("endpoint")?,
        p256dh: r.try_get("p256dh")?,
        auth: r.try_get("auth")?,
        user_agent: r.try_get("user_agent")?,
        created_at: r.try_get("created_at")?,
        last_success_at: r.try_get("last_success_at")?,
        failures: r.try_get("failures")?,
    })
}

impl Store {
    /// Stores a subscription, or renews the one with the same endpoint (new
    /// keys, new owner, failures forgotten); then keeps only the newest
    /// `keep` of its owner's, so one agent cannot grow the table without end.
    pub async fn save_push_subscription(
        &self,
        s: NewPushSubscription,
        keep: i64,
    ) -> Result<PushSubscription> {
        self.write(move |c| {
            Box::pin(async move {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO push_subscriptions (id, workspace_id, user_id, endpoint, p256dh, auth, user_agent, session_id, created_at, failures)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)
                     ON CONFLICT (endpoint) DO UPDATE SET workspace_id = excluded.workspace_id,
                        user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth,
                        user_agent = excluded.user_agent, session_id = excluded.session_id,
                        created_at = excluded.created_at, last_success_at = NULL, failures = 0
                     RETURNING {COLS}"
                )))
                .bind(new_id())
                .bind(&s.workspace_id)
                .bind(&s.user_id)
                .bind(&s.endpoint)
                .bind(&s.p256dh)
                .bind(&s.auth)
                .bind(&s.user_agent)
                .bind(&s.session_id)
                .bind(now_ms())
                .fetch_one(&mut *c)
                .await?;
                let saved = from_row(&row)?;
                // Rows of ended sessions serve no one any more.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM push_subscriptions WHERE workspace_id = $1 AND user_id = $2
                       AND id IN (SELECT p.id FROM push_subscriptions p
                                  WHERE p.workspace_id = $1 AND p.user_id = $2 AND NOT {LIVE})"
                )))
                .bind(&s.workspace_id)
                .bind(&s.user_id)
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                sqlx::query(
                    "DELETE FROM push_subscriptions WHERE workspace_id = $1 AND user_id = $2
                       AND id NOT IN (SELECT id FROM push_subscriptions WHERE workspace_id = $1 AND user_id = $2
                                      ORDER BY created_at DESC, id DESC LIMIT $3)",
                )
                .bind(&s.workspace_id)
                .bind(&s.user_id)
                .bind(keep.max(1))
                .execute(&mut *c)
                .await?;
                Ok(saved)
            })
        })
        .await
    }

    /// A user's subscriptions whose session is live, oldest first.
    pub async fn list_push_subscriptions(
        &self,
        workspace_id: &WorkspaceId,
        user_id: &UserId,
    ) -> Result<Vec<PushSubscription>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM push_subscriptions p WHERE p.workspace_id = $1 AND p.user_id = $2 AND {LIVE}
             ORDER BY p.created_at, p.id"
        )))
        .bind(workspace_id)
        .bind(user_id)
        .bind(now_ms())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Deletes a user's subscription by its endpoint; `NotFound` when they
    /// have none with it (another user's is not theirs to delete).
    pub async fn delete_push_subscription(
        &self,
        workspace_id: &WorkspaceId,
        user_id: &UserId,
        endpoint: &str,
    ) -> Result<()> {
        let (ws, uid, endpoint) = (workspace_id.clone(), user_id.clone(), endpoint.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "DELETE FROM push_subscriptions WHERE workspace_id = $1 AND user_id = $2 AND endpoint = $3",
                )
                .bind(&ws)
                .bind(&uid)
                .bind(&endpoint)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }

    /// Deletes a subscription the push service says is gone (404/410);
    /// answers whether it was still there.
    pub async fn remove_push_subscription(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            })
        })
        .await
    }

    /// Records a notification the push service accepted.
    pub async fn record_push_success(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE push_subscriptions SET last_success_at = $2, failures = 0 WHERE id = $1",
                )
                .bind(&id)
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Records a notification that could not be delivered; answers the
    /// failures in a row so far (`NotFound` if the row is gone).
    pub async fn record_push_failure(&self, id: &str) -> Result<i64> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE push_subscriptions SET failures = failures + 1 WHERE id = $1 RETURNING failures",
                )
                .bind(&id)
                .fetch_optional(&mut *c)
                .await?
                .ok_or(StoreError::NotFound)?;
                Ok(r.try_get("failures")?)
            })
        })
        .await
    }
}
