//! Macros: named lists of actions (kefu_core::macros) an agent runs on a
//! conversation. Stored as JSON text; checked when saved, so a stored macro
//! always holds valid actions. Shared (no owner) or personal, like canned
//! replies: the same owner rule guards reads, changes and deletes.

use crate::{Macro, Result, Store, StoreError, new_id, now_ms};
use kefu_core::macros::{MacroAction, check_actions, check_name};
use kefu_core::{UserId, WorkspaceId};
use sqlx::{Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, workspace_id, name, actions, owner_id, created_by, created_at, updated_at"
    };
}

fn from_row(r: &AnyRow) -> Result<Macro> {
    let owner_id: Option<UserId> = r.try_get("owner_id")?;
    let actions: String = r.try_get("actions")?;
    let id: String = r.try_get("id")?;
    Ok(Macro {
        actions: serde_json::from_str(&actions)
            .map_err(|e| StoreError::Corrupt(format!("macro {id}: {e}")))?,
        id,
        workspace_id: r.try_get("workspace_id")?,
        name: r.try_get("name")?,
        personal: owner_id.is_some(),
        owner_id,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn invalid(e: kefu_core::macros::MacroError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn to_json(actions: &[MacroAction]) -> Result<String> {
    serde_json::to_string(actions).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A macro to create.
#[derive(Debug, Clone)]
pub struct NewMacro {
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub actions: Vec<MacroAction>,
    /// `Some`: that agent's personal macro.
    pub owner_id: Option<UserId>,
    pub created_by: String,
}

impl Store {
    /// The workspace's shared macros and `viewer`'s personal ones (none for
    /// `None`, e.g. an API key), by id, after the cursor `after`.
    pub async fn list_macros(
        &self,
        workspace_id: &WorkspaceId,
        viewer: Option<&UserId>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Macro>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM macros WHERE workspace_id = $1 AND (owner_id IS NULL OR owner_id = $4)
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

    /// One macro, whoever owns it (callers check who may see it).
    pub async fn get_macro(&self, workspace_id: &WorkspaceId, id: &str) -> Result<Macro> {
        let row = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM macros WHERE id = $1 AND workspace_id = $2"
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

    /// Checks and stores a new macro; `Conflict` when its owner (or the
    /// workspace, for a shared one) has one of that name.
    pub async fn create_macro(&self, new: NewMacro) -> Result<Macro> {
        let now = now_ms();
        let m = Macro {
            id: new_id(),
            workspace_id: new.workspace_id,
            name: check_name(&new.name).map_err(invalid)?,
            actions: check_actions(new.actions).map_err(invalid)?,
            personal: new.owner_id.is_some(),
            owner_id: new.owner_id,
            created_by: new.created_by,
            created_at: now,
            updated_at: now,
        };
        let json = to_json(&m.actions)?;
        let r = m.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(concat!(
                    "INSERT INTO macros (",
                    cols!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(&r.id)
                .bind(&r.workspace_id)
                .bind(&r.name)
                .bind(&json)
                .bind(r.owner_id.as_deref())
                .bind(&r.created_by)
                .bind(r.created_at)
                .bind(r.updated_at)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(m)
    }

    /// Renames a macro and/or replaces its actions. `owner` must be the
    /// macro's (`None`: a shared one), or it is not found.
    pub async fn update_macro(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        owner: Option<&UserId>,
        name: Option<&str>,
        actions: Option<Vec<MacroAction>>,
    ) -> Result<Macro> {
        let name = name.map(check_name).transpose().map_err(invalid)?;
        let json = actions
            .map(check_actions)
            .transpose()
            .map_err(invalid)?
            .map(|a| to_json(&a))
            .transpose()?;
        let (ws, id) = (workspace_id.clone(), id.to_string());
        let owner = owner.map_or(String::new(), |o| o.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(concat!(
                    "UPDATE macros SET name = COALESCE($3, name), actions = COALESCE($4, actions), updated_at = $5
                     WHERE id = $1 AND workspace_id = $2 AND COALESCE(owner_id, '') = $6 RETURNING ",
                    cols!()
                ))
                .bind(&id)
                .bind(&ws)
                .bind(name.as_deref())
                .bind(json.as_deref())
                .bind(now_ms())
                .bind(&owner)
                .fetch_optional(&mut *c)
                .await?;
                r.as_ref().map(from_row).transpose()?.ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    /// Deletes a macro of `owner` (`None`: a shared one).
    pub async fn delete_macro(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        owner: Option<&UserId>,
    ) -> Result<()> {
        let (ws, id) = (workspace_id.clone(), id.to_string());
        let owner = owner.map_or(String::new(), |o| o.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "DELETE FROM macros WHERE id = $1 AND workspace_id = $2 AND COALESCE(owner_id, '') = $3",
                )
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
