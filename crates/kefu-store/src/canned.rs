//! Canned replies: saved answers an agent inserts by typing `/shortcut`.
//! Shared ones (no owner) belong to the workspace; personal ones to the
//! agent who made them, and no one else ever reads or changes them.

use crate::{CannedReply, Result, Store, StoreError, new_id, now_ms};
use kefu_core::{UserId, WorkspaceId};
use sqlx::{Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, workspace_id, shortcut, content, created_by, owner_id, created_at, updated_at"
    };
}

fn from_row(r: &AnyRow) -> Result<CannedReply> {
    let owner_id: Option<UserId> = r.try_get("owner_id")?;
    Ok(CannedReply {
        personal: owner_id.is_some(),
        owner_id,
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        shortcut: r.try_get("shortcut")?,
        content: r.try_get("content")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A shortcut is what follows `/` in the composer: letters (any script),
/// digits, `-` and `_`, 1 to 32 characters, so it ends at the first space.
pub fn check_shortcut(s: &str) -> Result<String> {
    let s = s.trim().trim_start_matches('/').to_lowercase();
    let n = s.chars().count();
    if n == 0
        || n > 32
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(StoreError::Invalid(
            "shortcut must be 1 to 32 letters, digits, '-' or '_'".into(),
        ));
    }
    Ok(s)
}

fn check_content(s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 5000 {
        return Err(StoreError::Invalid(
            "content must be 1 to 5000 characters".into(),
        ));
    }
    Ok(t.to_string())
}

impl Store {
    /// The workspace's shared canned replies and `viewer`'s personal ones
    /// (none for `None`, e.g. an API key) by id (creation order), after the
    /// cursor `after` (a reply id).
    pub async fn list_canned(
        &self,
        workspace_id: &WorkspaceId,
        viewer: Option<&UserId>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CannedReply>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM canned_replies WHERE workspace_id = $1 AND (owner_id IS NULL OR owner_id = $4)
              AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(workspace_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        // User ids are never empty: '' matches no owner.
        .bind(viewer.map_or("", |v| v.as_str()))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// One reply, whoever owns it (callers check who may see it).
    pub async fn get_canned(&self, workspace_id: &WorkspaceId, id: &str) -> Result<CannedReply> {
        let row = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM canned_replies WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref()
            .map(from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// A new reply: `owner` `Some` makes it that agent's personal one.
    pub async fn create_canned(
        &self,
        workspace_id: &WorkspaceId,
        shortcut: &str,
        content: &str,
        created_by: &str,
        owner: Option<&UserId>,
    ) -> Result<CannedReply> {
        let now = now_ms();
        let reply = CannedReply {
            id: new_id(),
            workspace_id: workspace_id.clone(),
            shortcut: check_shortcut(shortcut)?,
            content: check_content(content)?,
            created_by: created_by.to_string(),
            owner_id: owner.cloned(),
            personal: owner.is_some(),
            created_at: now,
            updated_at: now,
        };
        let r = reply.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(concat!(
                    "INSERT INTO canned_replies (",
                    cols!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(&r.id)
                .bind(&r.workspace_id)
                .bind(&r.shortcut)
                .bind(&r.content)
                .bind(&r.created_by)
                .bind(r.owner_id.as_deref())
                .bind(r.created_at)
                .bind(r.updated_at)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(reply)
    }

    /// Changes a reply's shortcut and/or content. `owner` must be the
    /// reply's (`None`: a shared one), or it is not found: a caller cannot
    /// reach past what it was allowed to change.
    pub async fn update_canned(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        owner: Option<&UserId>,
        shortcut: Option<&str>,
        content: Option<&str>,
    ) -> Result<CannedReply> {
        let shortcut = shortcut.map(check_shortcut).transpose()?;
        let content = content.map(check_content).transpose()?;
        let (ws, id) = (workspace_id.clone(), id.to_string());
        let owner = owner.map_or(String::new(), |o| o.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(concat!(
                    "UPDATE canned_replies SET shortcut = COALESCE($3, shortcut), content = COALESCE($4, content), updated_at = $5
                     WHERE id = $1 AND workspace_id = $2 AND COALESCE(owner_id, '') = $6 RETURNING ",
                    cols!()
                ))
                .bind(&id)
                .bind(&ws)
                .bind(shortcut.as_deref())
                .bind(content.as_deref())
                .bind(now_ms())
                .bind(&owner)
                .fetch_optional(&mut *c)
                .await?;
                r.as_ref().map(from_row).transpose()?.ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    /// Deletes a reply of `owner` (`None`: a shared one).
    pub async fn delete_canned(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        owner: Option<&UserId>,
    ) -> Result<()> {
        let (ws, id) = (workspace_id.clone(), id.to_string());
        let owner = owner.map_or(String::new(), |o| o.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n =
                    sqlx::query("DELETE FROM canned_replies WHERE id = $1 AND workspace_id = $2 AND COALESCE(owner_id, '') = $3")
                        .bind(&id)
                        .bind(&ws)
                        .bind(&owner)
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
}

#[cfg(test)]
mod tests {
    use super::check_shortcut;

    #[test]
    fn shortcuts() {
        assert_eq!(check_shortcut("/Hello").unwrap(), "hello");
        assert_eq!(check_shortcut("退款").unwrap(), "退款");
        assert!(check_shortcut("two words").is_err());
        assert!(check_shortcut("").is_err());
        assert!(check_shortcut(&"x".repeat(33)).is_err());
    }
}
