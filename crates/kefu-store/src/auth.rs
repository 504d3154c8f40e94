//! Login sessions (refresh tokens) and workspace API keys. Only hashes of the
//! secrets are stored; the server hashes before calling.

use crate::{ApiKey, Result, Session, Store, StoreError, new_id, now_ms};
use kefu_core::{UserId, WorkspaceId};
use sqlx::{Row, any::AnyRow};

fn session_from_row(r: &AnyRow) -> Result<Session> {
    Ok(Session {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn key_from_row(r: &AnyRow) -> Result<ApiKey> {
    let scopes: String = r.try_get("scopes")?;
    Ok(ApiKey {
        scopes: serde_json::from_str(&scopes).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        revoked_at: r.try_get("revoked_at")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    pub async fn create_session(
        &self,
        user_id: &UserId,
        refresh_hash: &str,
        expires_at: i64,
    ) -> Result<Session> {
        let s = Session {
            id: new_id(),
            user_id: user_id.clone(),
            expires_at,
            revoked_at: None,
        };
        let (row, hash) = (s.clone(), refresh_hash.to_string());
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("INSERT INTO sessions (id, user_id, refresh_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&row.id)
                    .bind(&row.user_id)
                    .bind(&hash)
                    .bind(row.expires_at)
                    .bind(now_ms())
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await?;
        Ok(s)
    }

    pub async fn get_session(&self, id: &str) -> Result<Session> {
        let r =
            sqlx::query("SELECT id, user_id, expires_at, revoked_at FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_one(self.reader())
                .await?;
        session_from_row(&r)
    }

    /// Swaps a live session's refresh token for a new one (rotation): the old
    /// token stops working. `NotFound` if the old one is unknown, revoked or expired.
    pub async fn rotate_session(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: i64,
    ) -> Result<Session> {
        let (old, new) = (old_hash.to_string(), new_hash.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let r = sqlx::query(
                    "UPDATE sessions SET refresh_hash = $2, expires_at = $3
                     WHERE refresh_hash = $1 AND revoked_at IS NULL AND expires_at > $4
                     RETURNING id, user_id, expires_at, revoked_at",
                )
                .bind(&old)
                .bind(&new)
                .bind(expires_at)
                .bind(now)
                .fetch_optional(&mut *c)
                .await?;
                r.as_ref()
                    .map(session_from_row)
                    .transpose()?
                    .ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    pub async fn revoke_session(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
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

    pub async fn create_api_key(
        &self,
        workspace_id: &WorkspaceId,
        name: &str,
        key_hash: &str,
        prefix: &str,
        scopes: &[String],
    ) -> Result<ApiKey> {
        let key = ApiKey {
            id: new_id(),
            workspace_id: workspace_id.clone(),
            name: name.to_string(),
            prefix: prefix.to_string(),
            scopes: scopes.to_vec(),
            revoked_at: None,
            created_at: now_ms(),
        };
        let (k, hash) = (key.clone(), key_hash.to_string());
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("INSERT INTO api_keys (id, workspace_id, name, key_hash, prefix, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&k.id)
                    .bind(&k.workspace_id)
                    .bind(&k.name)
                    .bind(&hash)
                    .bind(&k.prefix)
                    .bind(serde_json::to_string(&k.scopes).unwrap_or_else(|_| "[]".into()))
                    .bind(k.created_at)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await?;
        Ok(key)
    }

    /// The live (not revoked) key with this hash.
    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let r = sqlx::query(
            "SELECT id, workspace_id, name, prefix, scopes, revoked_at, created_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(self.reader())
        .await?;
        r.as_ref().map(key_from_row).transpose()
    }

    /// Whether the key with this id exists and is not revoked.
    pub async fn api_key_is_live(&self, id: &str) -> Result<bool> {
        let r = sqlx::query("SELECT 1 AS ok FROM api_keys WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(r.is_some())
    }

    pub async fn list_api_keys(&self, workspace_id: &WorkspaceId) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(
            "SELECT id, workspace_id, name, prefix, scopes, revoked_at, created_at FROM api_keys WHERE workspace_id = $1 ORDER BY id",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    pub async fn revoke_api_key(&self, workspace_id: &WorkspaceId, id: &str) -> Result<()> {
        let (ws, id) = (workspace_id.clone(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL")
                    .bind(&id)
                    .bind(&ws)
                    .bind(now_ms())
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            })
        })
        .await
    }
}
