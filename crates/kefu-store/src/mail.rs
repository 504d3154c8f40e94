//! The mail queue and the single-use tokens of invitations and password
//! resets.
//!
//! The queue is a table so that a mail asked for survives a restart and is
//! retried: the server's sender claims due rows with a lease (a crash
//! mid-send makes the row due again once the lease ends), and records each
//! outcome. A visitor's replies are batched: while their conversation has a
//! pending `visitor_reply` mail (`batch_key`), a later reply adds no row; the
//! sender gathers every reply not yet mailed when the mail is due.

use crate::{Result, Store, StoreError, User, new_id, now_ms};
use kefu_core::{ConversationId, Role, UserId, WorkspaceId};
use sqlx::{Row, any::AnyRow};

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub recipient: String,
    pub conversation_id: Option<ConversationId>,
    pub user_id: Option<UserId>,
    pub payload: serde_json::Value,
    /// At most one pending mail per key; a second is dropped.
    pub batch_key: Option<String>,
    /// At most one mail per key, ever.
    pub dedupe_key: Option<String>,
    pub due_at: i64,
}

/// A claimed mail, for the sender.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub recipient: String,
    pub conversation_id: Option<ConversationId>,
    pub user_id: Option<UserId>,
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub created_at: i64,
}

/// What became of a claimed mail.
#[derive(Debug, Clone)]
pub enum MailOutcome {
    /// Sent; for visitor replies, the newest `seq` it carried.
    Sent { through_seq: Option<i64> },
    /// Nothing to send any more (the visitor read the replies, came back…).
    Skipped(String),
    /// Failed; try again at `at`.
    Retry { error: String, at: i64 },
    /// Failed for good.
    Dead(String),
}

/// A single-use token's row (the token itself is only ever hashed).
#[derive(Debug, Clone)]
pub struct UserToken {
    pub purpose: String,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub user_id: Option<UserId>,
    pub role: Option<Role>,
    pub expires_at: i64,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewUserToken {
    pub token_hash: String,
    /// `invite` or `reset`.
    pub purpose: String,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub user_id: Option<UserId>,
    pub role: Option<Role>,
    pub created_by: Option<String>,
    pub expires_at: i64,
}

/// A mail row as tests and the console's log see it.
#[derive(Debug, Clone)]
pub struct MailRow {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub through_seq: Option<i64>,
}

fn queued_from_row(r: &AnyRow) -> Result<QueuedMail> {
    let payload: String = r.try_get("payload")?;
    Ok(QueuedMail {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        kind: r.try_get("kind")?,
        recipient: r.try_get("recipient")?,
        conversation_id: r.try_get("conversation_id")?,
        user_id: r.try_get("user_id")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("mail payload: {e}")))?,
        attempts: r.try_get("attempts")?,
        created_at: r.try_get("created_at")?,
    })
}

fn token_from_row(r: &AnyRow) -> Result<UserToken> {
    let role: Option<String> = r.try_get("role")?;
    Ok(UserToken {
        purpose: r.try_get("purpose")?,
        workspace_id: r.try_get("workspace_id")?,
        email: r.try_get("email")?,
        user_id: r.try_get("user_id")?,
        role: role
            .map(|r| r.parse())
            .transpose()
            .map_err(|e: kefu_core::role::UnknownRole| StoreError::Corrupt(e.to_string()))?,
        expires_at: r.try_get("expires_at")?,
    })
}

const QUEUED_COLS: &str =
    "id, workspace_id, kind, recipient, conversation_id, user_id, payload, attempts, created_at";

impl Store {
    /// Queues mails in one write; answers how many rows were added (a mail
    /// whose batch is already pending, or whose dedupe key exists, adds none).
    pub async fn enqueue_mails(&self, mails: Vec<NewMail>) -> Result<u64> {
        if mails.is_empty() {
            return Ok(0);
        }
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let mut added = 0;
                for m in mails {
                    added += sqlx::query(
                        "INSERT INTO mail_queue (id, workspace_id, kind, recipient, conversation_id, user_id, payload, state,
                            batch_key, dedupe_key, due_at, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $11)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(new_id())
                    .bind(&m.workspace_id)
                    .bind(&m.kind)
                    .bind(&m.recipient)
                    .bind(&m.conversation_id)
                    .bind(&m.user_id)
                    .bind(m.payload.to_string())
                    .bind(&m.batch_key)
                    .bind(&m.dedupe_key)
                    .bind(m.due_at)
                    .bind(now)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                }
                Ok(added)
            })
        })
        .await
    }

    /// Claims up to `limit` due mails for `lease_ms`. A claimed visitor-reply
    /// mail lets go of its batch, so replies arriving while it is sent start
    /// the next mail instead of being folded into one already written.
    pub async fn claim_mails(&self, lease_ms: i64, limit: i64) -> Result<Vec<QueuedMail>> {
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE mail_queue SET state = 'sending', batch_key = NULL, due_at = $2,
                        attempts = attempts + 1, updated_at = $1
                     WHERE id IN (SELECT id FROM mail_queue WHERE state IN ('pending', 'sending') AND due_at <= $1
                                  ORDER BY due_at LIMIT $3)
                       AND state IN ('pending', 'sending') AND due_at <= $1
                     RETURNING {QUEUED_COLS}"
                )))
                .bind(now)
                .bind(now + lease_ms)
                .bind(limit)
                .fetch_all(&mut *c)
                .await?;
                rows.iter().map(queued_from_row).collect()
            })
        })
        .await
    }

    /// Records what became of a claimed mail. A sent invitation or reset
    /// forgets its raw token.
    pub async fn finish_mail(&self, id: &str, outcome: MailOutcome) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let (state, due, through, error): (&str, i64, Option<i64>, Option<String>) =
                    match outcome {
                        MailOutcome::Sent { through_seq } => ("sent", now, through_seq, None),
                        MailOutcome::Skipped(why) => ("skipped", now, None, Some(why)),
                        MailOutcome::Retry { error, at } => ("pending", at, None, Some(error)),
                        MailOutcome::Dead(error) => ("dead", now, None, Some(error)),
                    };
                sqlx::query(
                    "UPDATE mail_queue SET state = $2, due_at = $3, through_seq = $4, last_error = $5, updated_at = $6,
                        payload = CASE WHEN $2 IN ('sent', 'dead') AND kind IN ('invite', 'reset') THEN '{}' ELSE payload END
                     WHERE id = $1",
                )
                .bind(&id)
                .bind(state)
                .bind(due)
                .bind(through)
                .bind(error)
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// The newest `seq` already e-mailed to the visitor of a conversation (0: none).
    pub async fn last_mailed_seq(&self, conversation_id: &ConversationId) -> Result<i64> {
        let r = sqlx::query(
            "SELECT COALESCE(MAX(through_seq), 0) AS s FROM mail_queue
             WHERE conversation_id = $1 AND kind = 'visitor_reply' AND state = 'sent'",
        )
        .bind(conversation_id)
        .fetch_one(self.reader())
        .await?;
        Ok(r.try_get("s")?)
    }

    /// When a mail of `kind` was last queued for a conversation (rate limits).
    pub async fn last_mail_queued_at(
        &self,
        conversation_id: &ConversationId,
        kind: &str,
    ) -> Result<Option<i64>> {
        let r = sqlx::query(
            "SELECT MAX(created_at) AS t FROM mail_queue WHERE conversation_id = $1 AND kind = $2",
        )
        .bind(conversation_id)
        .bind(kind)
        .fetch_one(self.reader())
        .await?;
        Ok(r.try_get("t")?)
    }

    /// How many mails of `kind` went to `recipient` since `since` (rate limits).
    pub async fn count_mails_to(&self, recipient: &str, kind: &str, since: i64) -> Result<i64> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM mail_queue WHERE recipient = $1 AND kind = $2 AND created_at >= $3",
        )
        .bind(recipient)
        .bind(kind)
        .bind(since)
        .fetch_one(self.reader())
        .await?;
        Ok(r.try_get("n")?)
    }

    /// The mails of a workspace, newest first (the log; tests).
    pub async fn list_mails(&self, workspace_id: &WorkspaceId, limit: i64) -> Result<Vec<MailRow>> {
        let rows = sqlx::query(
            "SELECT id, kind, recipient, state, attempts, last_error, through_seq FROM mail_queue
             WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(workspace_id)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MailRow {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    recipient: r.try_get("recipient")?,
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    through_seq: r.try_get("through_seq")?,
                })
            })
            .collect()
    }

    /// Stores a single-use token (its hash).
    pub async fn create_user_token(&self, t: NewUserToken) -> Result<()> {
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO user_tokens (token_hash, purpose, workspace_id, email, user_id, role, created_by, expires_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&t.token_hash)
                .bind(&t.purpose)
                .bind(&t.workspace_id)
                .bind(&t.email)
                .bind(&t.user_id)
                .bind(t.role.map(|r| r.as_str()))
                .bind(&t.created_by)
                .bind(t.expires_at)
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// A live (unused, unexpired) token of `purpose`, without using it.
    pub async fn peek_user_token(&self, token_hash: &str, purpose: &str) -> Result<UserToken> {
        let r = sqlx::query(
            "SELECT purpose, workspace_id, email, user_id, role, expires_at FROM user_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose)
        .bind(now_ms())
        .fetch_optional(self.reader())
        .await?;
        r.as_ref()
            .map(token_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Uses an invitation: in one write, marks it used and creates the user
    /// it invites. `NotFound` for an unknown, used or expired token;
    /// `Conflict` (and the token stays unused) if the e-mail got taken since.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        name: &str,
        password_hash: &str,
    ) -> Result<User> {
        let (hash, name, pw) = (
            token_hash.to_string(),
            name.to_string(),
            password_hash.to_string(),
        );
        let id: UserId = new_id().into();
        let uid = id.clone();
        let ws: WorkspaceId = self
            .write(move |c| {
                Box::pin(async move {
                    let now = now_ms();
                    let r = sqlx::query(
                        "UPDATE user_tokens SET used_at = $2
                         WHERE token_hash = $1 AND purpose = 'invite' AND used_at IS NULL AND expires_at > $2
                         RETURNING workspace_id, email, role",
                    )
                    .bind(&hash)
                    .bind(now)
                    .fetch_optional(&mut *c)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let ws: String = r.try_get("workspace_id")?;
                    let email: String = r.try_get("email")?;
                    let role: Option<String> = r.try_get("role")?;
                    sqlx::query(
                        "INSERT INTO users (id, workspace_id, email, name, password_hash, role, capacity, status, active, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, 5, 'offline', 1, $7)",
                    )
                    .bind(&uid)
                    .bind(&ws)
                    .bind(&email)
                    .bind(&name)
                    .bind(&pw)
                    .bind(role.unwrap_or_else(|| "agent".into()))
                    .bind(now)
                    .execute(&mut *c)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => {
                            StoreError::Conflict(format!("a user with email {email} already exists"))
                        }
                        other => other,
                    })?;
                    Ok(WorkspaceId::from(ws))
                })
            })
            .await?;
        self.get_user(&ws, &id).await
    }

    /// Uses a reset token: in one write, marks it used, sets the password
    /// and revokes every session of the user. `NotFound` for an unknown,
    /// used or expired token (or a user deactivated since).
    pub async fn reset_password(&self, token_hash: &str, password_hash: &str) -> Result<User> {
        let (hash, pw) = (token_hash.to_string(), password_hash.to_string());
        let (ws, uid): (WorkspaceId, UserId) = self
            .write(move |c| {
                Box::pin(async move {
                    let now = now_ms();
                    let r = sqlx::query(
                        "UPDATE user_tokens SET used_at = $2
                         WHERE token_hash = $1 AND purpose = 'reset' AND used_at IS NULL AND expires_at > $2
                         RETURNING workspace_id, user_id",
                    )
                    .bind(&hash)
                    .bind(now)
                    .fetch_optional(&mut *c)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let ws: String = r.try_get("workspace_id")?;
                    let uid: Option<String> = r.try_get("user_id")?;
                    let uid = uid.ok_or(StoreError::NotFound)?;
                    let n = sqlx::query(
                        "UPDATE users SET password_hash = $3 WHERE id = $1 AND workspace_id = $2 AND active = 1",
                    )
                    .bind(&uid)
                    .bind(&ws)
                    .bind(&pw)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound);
                    }
                    revoke_sessions(c, &uid, None, now).await?;
                    Ok((WorkspaceId::from(ws), UserId::from(uid)))
                })
            })
            .await?;
        self.get_user(&ws, &uid).await
    }

    /// Sets a user's password and revokes their sessions except `keep` (the
    /// one changing it), in one write.
    pub async fn change_password(
        &self,
        workspace_id: &WorkspaceId,
        user_id: &UserId,
        password_hash: &str,
        keep: Option<&str>,
    ) -> Result<()> {
        let (ws, uid, pw, keep) = (
            workspace_id.clone(),
            user_id.clone(),
            password_hash.to_string(),
            keep.map(str::to_string),
        );
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE users SET password_hash = $3 WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&uid)
                .bind(&ws)
                .bind(&pw)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                revoke_sessions(c, uid.as_str(), keep.as_deref(), now_ms()).await
            })
        })
        .await
    }
}

async fn revoke_sessions(
    c: &mut sqlx::AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND id <> $3",
    )
    .bind(user_id)
    .bind(now)
    .bind(keep.unwrap_or(""))
    .execute(&mut *c)
    .await?;
    Ok(())
}
