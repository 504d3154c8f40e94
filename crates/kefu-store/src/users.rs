//! Users: the agents, admins and owners of a workspace.

use crate::{NotifyScope, Result, Store, StoreError, User, new_id, now_ms};
use kefu_core::{AgentStatus, Role};
use kefu_core::{UserId, WorkspaceId};
use sqlx::{Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, workspace_id, email, name, password_hash, role, capacity, status, active, created_at, email_on_assign, avatar_key, notify_scope, notify_sound, notify_desktop, notify_push"
    };
}

fn from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    let status: String = r.try_get("status")?;
    Ok(User {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        password_hash: r.try_get("password_hash")?,
        role: role
            .parse()
            .map_err(|e: kefu_core::role::UnknownRole| StoreError::Corrupt(e.to_string()))?,
        capacity: r.try_get("capacity")?,
        status: status.parse().map_err(StoreError::Corrupt)?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: r.try_get("created_at")?,
        email_on_assign: r.try_get::<i64, _>("email_on_assign")? != 0,
        avatar_url: r
            .try_get::<Option<String>, _>("avatar_key")?
            .map(|k| avatar_url(&k)),
        notify_scope: r
            .try_get::<String, _>("notify_scope")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        notify_sound: r.try_get::<i64, _>("notify_sound")? != 0,
        notify_desktop: r.try_get::<i64, _>("notify_desktop")? != 0,
        notify_push: r.try_get::<i64, _>("notify_push")? != 0,
    })
}

/// A user to create; the password is already hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub capacity: i64,
}

/// Changes to a user; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<i64>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub email_on_assign: Option<bool>,
    pub notify_scope: Option<NotifyScope>,
    pub notify_sound: Option<bool>,
    pub notify_desktop: Option<bool>,
    pub notify_push: Option<bool>,
}

/// Where an avatar is served from (`GET /api/v1/avatars/{key}`: public, so
/// the widget can show it; the key is a random UUID).
pub fn avatar_url(key: &str) -> String {
    format!("/api/v1/avatars/{key}")
}

/// Emails are compared case-insensitively.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        let user = User {
            id: new_id().into(),
            workspace_id: new.workspace_id,
            email: normalize_email(&new.email),
            name: new.name,
            password_hash: new.password_hash,
            role: new.role,
            capacity: new.capacity,
            status: AgentStatus::Offline,
            active: true,
            created_at: now_ms(),
            email_on_assign: true,
            avatar_url: None,
            notify_scope: NotifyScope::Groups,
            notify_sound: true,
            notify_desktop: true,
            notify_push: true,
        };
        let u = user.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO users (id, workspace_id, email, name, password_hash, role, capacity, status, active, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)",
                )
                .bind(&u.id)
                .bind(&u.workspace_id)
                .bind(&u.email)
                .bind(&u.name)
                .bind(&u.password_hash)
                .bind(u.role.as_str())
                .bind(u.capacity)
                .bind(u.status.as_str())
                .bind(u.created_at)
                .execute(&mut *c)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("a user with email {} already exists", u.email)),
                    other => other,
                })?;
                // Groups every agent joins (the default "all agents" group).
                sqlx::query(
                    "INSERT INTO group_members (group_id, user_id, last_assigned_at)
                     SELECT id, $1, 0 FROM agent_groups WHERE workspace_id = $2 AND auto_join = 1",
                )
                .bind(&u.id)
                .bind(&u.workspace_id)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(user)
    }

    pub async fn get_user(&self, workspace_id: &WorkspaceId, id: &UserId) -> Result<User> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM users WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.reader())
        .await?;
        from_row(&r)
    }

    /// A user by id, whatever their workspace (for refreshing a session).
    pub async fn find_user(&self, id: &UserId) -> Result<Option<User>> {
        let r = sqlx::query(concat!("SELECT ", cols!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(from_row).transpose()
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let r = sqlx::query(concat!("SELECT ", cols!(), " FROM users WHERE email = $1"))
            .bind(normalize_email(email))
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(from_row).transpose()
    }

    /// Users of a workspace by id, after the cursor `after` (a user id).
    pub async fn list_users(
        &self,
        workspace_id: &WorkspaceId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM users WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(workspace_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.reader())
            .await?
            .try_get("n")?)
    }

    pub async fn update_user(
        &self,
        workspace_id: &WorkspaceId,
        id: &UserId,
        patch: UserPatch,
    ) -> Result<User> {
        let (ws, uid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE users SET
                        name = COALESCE($3, name),
                        role = COALESCE($4, role),
                        capacity = COALESCE($5, capacity),
                        active = COALESCE($6, active),
                        password_hash = COALESCE($7, password_hash),
                        email_on_assign = COALESCE($8, email_on_assign),
                        notify_scope = COALESCE($9, notify_scope),
                        notify_sound = COALESCE($10, notify_sound),
                        notify_desktop = COALESCE($11, notify_desktop),
                        notify_push = COALESCE($12, notify_push)
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&uid)
                .bind(&ws)
                .bind(patch.name)
                .bind(patch.role.map(|r| r.as_str()))
                .bind(patch.capacity)
                .bind(patch.active.map(i64::from))
                .bind(patch.password_hash)
                .bind(patch.email_on_assign.map(i64::from))
                .bind(patch.notify_scope.map(|s| s.as_str()))
                .bind(patch.notify_sound.map(i64::from))
                .bind(patch.notify_desktop.map(i64::from))
                .bind(patch.notify_push.map(i64::from))
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
        })
        .await?;
        self.get_user(workspace_id, id).await
    }

    /// Sets (or with `None` removes) a user's avatar: the blob key of an
    /// uploaded image. Returns the user and the key it replaced, so the
    /// caller can forget the old picture.
    pub async fn set_avatar(
        &self,
        workspace_id: &WorkspaceId,
        id: &UserId,
        key: Option<String>,
    ) -> Result<(User, Option<String>)> {
        let (ws, uid) = (workspace_id.clone(), id.clone());
        let old = self
            .write(move |c| {
                Box::pin(async move {
                    let old: Option<String> = sqlx::query(
                        "SELECT avatar_key FROM users WHERE id = $1 AND workspace_id = $2",
                    )
                    .bind(&uid)
                    .bind(&ws)
                    .fetch_optional(&mut *c)
                    .await?
                    .ok_or(StoreError::NotFound)?
                    .try_get("avatar_key")?;
                    sqlx::query(
                        "UPDATE users SET avatar_key = $3 WHERE id = $1 AND workspace_id = $2",
                    )
                    .bind(&uid)
                    .bind(&ws)
                    .bind(key)
                    .execute(&mut *c)
                    .await?;
                    Ok(old)
                })
            })
            .await?;
        Ok((self.get_user(workspace_id, id).await?, old))
    }

    /// Whether an avatar key belongs to some user (the public avatar
    /// endpoint serves nothing else from the blob store).
    pub async fn avatar_exists(&self, key: &str) -> Result<bool> {
        let r = sqlx::query("SELECT 1 AS one FROM users WHERE avatar_key = $1 LIMIT 1")
            .bind(key)
            .fetch_optional(self.reader())
            .await?;
        Ok(r.is_some())
    }

    /// Whether any active member of the workspace is `online` (the widget
    /// offers live chat then, or its offline form otherwise).
    pub async fn any_agent_online(&self, workspace_id: &WorkspaceId) -> Result<bool> {
        let r = sqlx::query(
            "SELECT id FROM users WHERE workspace_id = $1 AND active = 1 AND status = 'online' LIMIT 1",
        )
        .bind(workspace_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(r.is_some())
    }

    /// Sets an agent's presence; returns whether it changed.
    pub async fn set_user_status(&self, user_id: &UserId, status: AgentStatus) -> Result<bool> {
        let uid = user_id.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query("UPDATE users SET status = $2 WHERE id = $1 AND status <> $2")
                    .bind(&uid)
                    .bind(status.as_str())
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            })
        })
        .await
    }
}
