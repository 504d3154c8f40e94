//! Workspaces (tenants).

use crate::{Result, Store, StoreError, Workspace, new_id, now_ms};
use kefu_core::WorkspaceId;
use sqlx::{Row, any::AnyRow};

fn from_row(r: &AnyRow) -> Result<Workspace> {
    Ok(Workspace {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        timezone: r.try_get("timezone")?,
        language: r.try_get("language")?,
        holidays: serde_json::from_str(&r.try_get::<String, _>("holidays")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: r.try_get("created_at")?,
        default_group: r.try_get("default_group")?,
        reply_takes: r.try_get::<i64, _>("reply_takes")? != 0,
    })
}

macro_rules! cols {
    () => {
        "id, name, timezone, language, holidays, created_at, default_group, reply_takes"
    };
}

impl Store {
    pub async fn create_workspace(&self, name: &str) -> Result<Workspace> {
        let ws = Workspace {
            id: new_id().into(),
            name: name.trim().to_string(),
            timezone: "UTC".into(),
            language: "zh-CN".into(),
            holidays: Vec::new(),
            created_at: now_ms(),
            default_group: None,
            reply_takes: true,
        };
        if ws.name.is_empty() {
            return Err(StoreError::Invalid(
                "workspace name must not be empty".into(),
            ));
        }
        let row = ws.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(&row.id)
                    .bind(&row.name)
                    .bind(row.created_at)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await?;
        Ok(ws)
    }

    pub async fn get_workspace(&self, id: &WorkspaceId) -> Result<Workspace> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM workspaces WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        from_row(&r)
    }

    pub async fn find_workspace_by_name(&self, name: &str) -> Result<Option<Workspace>> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM workspaces WHERE name = $1"
        ))
        .bind(name.trim())
        .fetch_optional(self.reader())
        .await?;
        r.as_ref().map(from_row).transpose()
    }

    /// Renames the workspace and/or changes its time zone or language
    /// (validated by the caller).
    pub async fn update_workspace(
        &self,
        id: &WorkspaceId,
        name: Option<&str>,
        timezone: Option<&str>,
        language: Option<&str>,
        holidays: Option<Vec<String>>,
    ) -> Result<Workspace> {
        let name = name.map(|n| n.trim().to_string());
        if name.as_deref().is_some_and(str::is_empty) {
            return Err(StoreError::Invalid(
                "workspace name must not be empty".into(),
            ));
        }
        let (id, tz, lang) = (
            id.clone(),
            timezone.map(str::to_string),
            language.map(str::to_string),
        );
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(concat!(
                    "UPDATE workspaces SET name = COALESCE($2, name), timezone = COALESCE($3, timezone), language = COALESCE($4, language),
                     holidays = COALESCE($5, holidays)
                     WHERE id = $1 RETURNING ",
                    cols!()
                ))
                .bind(&id)
                .bind(name.as_deref())
                .bind(tz.as_deref())
                .bind(lang.as_deref())
                .bind(holidays.map(|h| serde_json::json!(h).to_string()))
                .fetch_optional(&mut *c)
                .await?;
                r.as_ref().map(from_row).transpose()?.ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    /// How conversations find an agent without rules: the group that takes
    /// what no rule routes (`Some(None)` clears it; the group must exist)
    /// and whether a reply takes an unassigned conversation.
    pub async fn set_assignment(
        &self,
        id: &WorkspaceId,
        default_group: Option<Option<String>>,
        reply_takes: Option<bool>,
    ) -> Result<Workspace> {
        let id = id.clone();
        self.write(move |c| {
            Box::pin(async move {
                if let Some(Some(g)) = &default_group {
                    let known = sqlx::query(
                        "SELECT 1 AS ok FROM agent_groups WHERE workspace_id = $1 AND name = $2",
                    )
                    .bind(&id)
                    .bind(g)
                    .fetch_optional(&mut *c)
                    .await?;
                    if known.is_none() {
                        return Err(StoreError::Invalid(format!("there is no group \"{g}\"")));
                    }
                }
                let r = sqlx::query(concat!(
                    "UPDATE workspaces SET
                        default_group = CASE WHEN $2 = 1 THEN $3 ELSE default_group END,
                        reply_takes = COALESCE($4, reply_takes)
                     WHERE id = $1 RETURNING ",
                    cols!()
                ))
                .bind(&id)
                .bind(i64::from(default_group.is_some()))
                .bind(default_group.flatten())
                .bind(reply_takes.map(i64::from))
                .fetch_optional(&mut *c)
                .await?;
                r.as_ref()
                    .map(from_row)
                    .transpose()?
                    .ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    /// The workspace called `name`, created if missing; tells whether it was created.
    pub async fn ensure_workspace(&self, name: &str) -> Result<(Workspace, bool)> {
        if let Some(ws) = self.find_workspace_by_name(name).await? {
            return Ok((ws, false));
        }
        match self.create_workspace(name).await {
            Ok(ws) => Ok((ws, true)),
            // Lost a race with another creator: use theirs.
            Err(StoreError::Conflict(_)) => Ok((
                self.find_workspace_by_name(name)
                    .await?
                    .ok_or(StoreError::NotFound)?,
                false,
            )),
            Err(e) => Err(e),
        }
    }
}
