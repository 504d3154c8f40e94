//! The per-workspace secret that signs incoming events (Standard Webhooks:
//! `webhook-signature: v1,<HMAC-SHA256>`), for senders that sign rather than
//! send an API key. Stored as is, because verifying an HMAC needs the key;
//! shown to an admin once, when made. A rotation keeps the previous secret
//! valid for a grace period, so senders can switch without failed requests.

use crate::{Result, Store, now_ms};
use kefu_core::WorkspaceId;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

/// What admins see of the signing secret (never the secret after it was made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboundSecretInfo {
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: i64,
    /// After a rotation: the previous secret still verifies until then (epoch ms).
    pub previous_until: Option<i64>,
}

/// The secrets that verify a signed request now.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundKeys {
    pub current: String,
    /// The secret before the last rotation, during its grace period.
    pub previous: Option<String>,
}

impl std::fmt::Debug for InboundKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InboundKeys(***)")
    }
}

impl Store {
    /// Makes `secret` the workspace's signing secret. An existing one keeps
    /// verifying for `grace_ms` more.
    pub async fn rotate_inbound_secret(
        &self,
        workspace_id: &WorkspaceId,
        secret: &str,
        prefix: &str,
        grace_ms: i64,
    ) -> Result<InboundSecretInfo> {
        let (ws, secret, prefix) = (workspace_id.clone(), secret.to_string(), prefix.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                let old = sqlx::query("SELECT secret FROM inbound_secrets WHERE workspace_id = $1")
                    .bind(&ws)
                    .fetch_optional(&mut *c)
                    .await?;
                let previous_until = if let Some(old) = old {
                    let old: String = old.try_get("secret")?;
                    let until = now + grace_ms;
                    sqlx::query(
                        "UPDATE inbound_secrets SET secret = $2, prefix = $3, previous_secret = $4,
                            previous_until = $5, created_at = $6 WHERE workspace_id = $1",
                    )
                    .bind(&ws)
                    .bind(&secret)
                    .bind(&prefix)
                    .bind(&old)
                    .bind(until)
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                    Some(until)
                } else {
                    sqlx::query(
                        "INSERT INTO inbound_secrets (workspace_id, secret, prefix, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&ws)
                    .bind(&secret)
                    .bind(&prefix)
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                    None
                };
                Ok(InboundSecretInfo {
                    prefix,
                    created_at: now,
                    previous_until,
                })
            })
        })
        .await
    }

    /// The workspace's signing secret as admins see it; `None`: there is none.
    pub async fn inbound_secret_info(
        &self,
        workspace_id: &WorkspaceId,
    ) -> Result<Option<InboundSecretInfo>> {
        let r = sqlx::query(
            "SELECT prefix, created_at, previous_until FROM inbound_secrets WHERE workspace_id = $1",
        )
        .bind(workspace_id)
        .fetch_optional(self.reader())
        .await?;
        let now = now_ms();
        r.map(|r| {
            let until: Option<i64> = r.try_get("previous_until")?;
            Ok(InboundSecretInfo {
                prefix: r.try_get("prefix")?,
                created_at: r.try_get("created_at")?,
                previous_until: until.filter(|u| *u > now),
            })
        })
        .transpose()
    }

    /// The secrets that verify the workspace's signed requests at `now` (epoch ms).
    pub async fn inbound_keys(
        &self,
        workspace_id: &WorkspaceId,
        now: i64,
    ) -> Result<Option<InboundKeys>> {
        let r = sqlx::query(
            "SELECT secret, previous_secret, previous_until FROM inbound_secrets WHERE workspace_id = $1",
        )
        .bind(workspace_id)
        .fetch_optional(self.reader())
        .await?;
        r.map(|r| {
            let until: Option<i64> = r.try_get("previous_until")?;
            let previous: Option<String> = r.try_get("previous_secret")?;
            Ok(InboundKeys {
                current: r.try_get("secret")?,
                previous: previous.filter(|_| until.is_some_and(|u| u > now)),
            })
        })
        .transpose()
    }
}
