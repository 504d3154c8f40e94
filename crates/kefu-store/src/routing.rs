//! Routing data: agent groups and their members, versioned rule sets, the
//! figures routing decides on, and the capacity-checked assignment.

use crate::{
    Actor, BusinessHours, Changed, Result, Store, StoreError, conversations, events, new_id, now_ms,
};
use kefu_core::{
    AgentStatus, ConversationStatus, Strategy,
    event::{AssignedBy, ConversationEvent as Ev, TransferReason},
};
use kefu_core::{ContactId, ConversationId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use sqlx::{Row, any::AnyRow};
use utoipa::ToSchema;

/// A group (skill) of agents routing can target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub strategy: Strategy,
    /// User ids of the members.
    pub members: Vec<String>,
    /// Seconds a conversation may wait in this group's line; 0 = no limit.
    pub queue_timeout_secs: i64,
    /// Where a conversation goes when it waited too long; `None`: it leaves
    /// the line for offline follow-up (the visitor is told).
    pub timeout_to_group: Option<String>,
    /// When the group answers; `None`: always. Outside them a conversation
    /// routed here is left for offline follow-up and the visitor told so.
    pub business_hours: Option<BusinessHours>,
    /// What visitors routed here outside business hours are told; empty: a
    /// built-in bilingual message.
    pub offline_message: String,
    pub created_at: i64,
    /// Every agent created later joins it (the default "all agents" group).
    pub auto_join: bool,
}

/// The settings of a group besides its name, strategy and members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSettings {
    pub auto_join: bool,
    pub queue_timeout_secs: i64,
    pub timeout_to_group: Option<String>,
    pub business_hours: Option<BusinessHours>,
    pub offline_message: String,
}

/// One saved version of a workspace's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuleSetVersion {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub version: i64,
    pub source: String,
    pub created_by: String,
    pub created_at: i64,
}

/// A group member as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub status: AgentStatus,
    pub capacity: i64,
    /// Open or pending conversations assigned now.
    pub active: i64,
    pub last_assigned_at: i64,
}

impl Member {
    /// Online (not away) and below capacity: may get one more conversation now.
    pub fn can_take_one(&self) -> bool {
        self.status == AgentStatus::Online && self.active < self.capacity
    }
}

fn group_row(r: &AnyRow) -> Result<Group> {
    Ok(Group {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        name: r.try_get("name")?,
        strategy: parse_word(r.try_get("strategy")?)?,
        members: Vec::new(),
        queue_timeout_secs: r.try_get("queue_timeout_secs")?,
        timeout_to_group: r.try_get("timeout_to_group")?,
        business_hours: r
            .try_get::<Option<String>, _>("business_hours")?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("group business hours: {e}")))?,
        offline_message: r.try_get("offline_message")?,
        created_at: r.try_get("created_at")?,
        auto_join: r.try_get::<i64, _>("auto_join")? != 0,
    })
}

/// A stored domain word (strategy, status, priority); one that does not
/// parse is a corrupt row.
pub(crate) fn parse_word<T: std::str::FromStr<Err = String>>(s: String) -> Result<T> {
    s.parse().map_err(StoreError::Corrupt)
}

fn check_group(name: &str) -> Result<()> {
    let n = name.trim().chars().count();
    if n == 0 || n > 64 {
        return Err(StoreError::Invalid(
            "group name must be 1 to 64 characters".into(),
        ));
    }
    Ok(())
}

/// Takes the agent's row lock (PostgreSQL; SQLite has one writer anyway),
/// so capacity-checked assignments for one agent run one after the other
/// and each one's COUNT sees the previous one's commit.
async fn lock_agent(
    c: &mut sqlx::AnyConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> Result<()> {
    sqlx::query("UPDATE users SET capacity = capacity WHERE id = $1 AND workspace_id = $2")
        .bind(user_id)
        .bind(workspace_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Takes group `name`'s row lock (PostgreSQL) so a line is never joined
/// while the group is being renamed or deleted; `false`: no such group.
async fn lock_group(
    c: &mut sqlx::AnyConnection,
    workspace_id: &WorkspaceId,
    name: &str,
) -> Result<bool> {
    let n =
        sqlx::query("UPDATE agent_groups SET name = name WHERE workspace_id = $1 AND name = $2")
            .bind(workspace_id)
            .bind(name)
            .execute(&mut *c)
            .await?
            .rows_affected();
    Ok(n > 0)
}

/// The line's order for the conversation's own priority, in SQL: read from
/// the row being updated, so a concurrent priority change cannot be missed.
macro_rules! rank_sql {
    () => {
        "CASE priority WHEN 'low' THEN 0 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END"
    };
}
pub(crate) use rank_sql;

impl Store {
    pub async fn list_groups(&self, workspace_id: &WorkspaceId) -> Result<Vec<Group>> {
        let rows = sqlx::query("SELECT id, workspace_id, name, strategy, queue_timeout_secs, timeout_to_group, business_hours, offline_message, created_at, auto_join FROM agent_groups WHERE workspace_id = $1 ORDER BY name")
            .bind(workspace_id)
            .fetch_all(self.reader())
            .await?;
        let mut groups = rows.iter().map(group_row).collect::<Result<Vec<_>>>()?;
        let members = sqlx::query(
            "SELECT m.group_id, m.user_id FROM group_members m JOIN agent_groups g ON g.id = m.group_id WHERE g.workspace_id = $1 ORDER BY m.user_id",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        for m in members {
            let gid: String = m.try_get("group_id")?;
            if let Some(g) = groups.iter_mut().find(|g| g.id == gid) {
                g.members.push(m.try_get("user_id")?);
            }
        }
        Ok(groups)
    }

    /// Creates a group, or replaces its name, strategy and members (`id` given).
    pub async fn save_group(
        &self,
        workspace_id: &WorkspaceId,
        id: Option<&str>,
        name: &str,
        strategy: Strategy,
        members: Vec<String>,
    ) -> Result<(Group, Option<String>)> {
        check_group(name)?;
        let g = Group {
            id: id.map_or_else(new_id, str::to_string),
            workspace_id: workspace_id.clone(),
            name: name.trim().to_string(),
            strategy,
            members,
            queue_timeout_secs: 0,
            timeout_to_group: None,
            business_hours: None,
            offline_message: String::new(),
            created_at: now_ms(),
            auto_join: false,
        };
        let (row, update) = (g.clone(), id.is_some());
        let renamed = self.write(move |c| {
            Box::pin(async move {
                let mut renamed_from = None;
                for uid in &row.members {
                    let ok = sqlx::query("SELECT 1 AS ok FROM users WHERE id = $1 AND workspace_id = $2")
                        .bind(uid)
                        .bind(&row.workspace_id)
                        .fetch_optional(&mut *c)
                        .await?;
                    if ok.is_none() {
                        return Err(StoreError::Invalid(format!("no agent {uid} in this workspace")));
                    }
                }
                if update {
                    // First the group's own row lock: joining its line waits for the rename.
                    sqlx::query("UPDATE agent_groups SET name = name WHERE id = $1 AND workspace_id = $2")
                        .bind(&row.id)
                        .bind(&row.workspace_id)
                        .execute(&mut *c)
                        .await?;
                    // Lines and fallbacks name the group: follow a rename.
                    let old: Option<String> = sqlx::query("SELECT name FROM agent_groups WHERE id = $1 AND workspace_id = $2")
                        .bind(&row.id)
                        .bind(&row.workspace_id)
                        .fetch_optional(&mut *c)
                        .await?
                        .map(|r| r.try_get("name"))
                        .transpose()?;
                    renamed_from = old.filter(|o| *o != row.name);
                    if let Some(old) = &renamed_from {
                        // Other groups' rows before conversations: the order
                        // joining a line takes them in (no deadlock).
                        sqlx::query("UPDATE agent_groups SET timeout_to_group = $3 WHERE workspace_id = $1 AND timeout_to_group = $2")
                            .bind(&row.workspace_id)
                            .bind(old)
                            .bind(&row.name)
                            .execute(&mut *c)
                            .await?;
                        sqlx::query("UPDATE conversations SET queue_group = $3 WHERE workspace_id = $1 AND queue_group = $2")
                            .bind(&row.workspace_id)
                            .bind(old)
                            .bind(&row.name)
                            .execute(&mut *c)
                            .await?;
                        sqlx::query("UPDATE workspaces SET default_group = $3 WHERE id = $1 AND default_group = $2")
                            .bind(&row.workspace_id)
                            .bind(old)
                            .bind(&row.name)
                            .execute(&mut *c)
                            .await?;
                    }
                    let n = sqlx::query("UPDATE agent_groups SET name = $3, strategy = $4 WHERE id = $1 AND workspace_id = $2")
                        .bind(&row.id)
                        .bind(&row.workspace_id)
                        .bind(&row.name)
                        .bind(row.strategy.as_str())
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound);
                    }
                    // Members who stay keep their last-assigned time.
                    let old = sqlx::query("SELECT user_id FROM group_members WHERE group_id = $1")
                        .bind(&row.id)
                        .fetch_all(&mut *c)
                        .await?;
                    for r in old {
                        let uid: String = r.try_get("user_id")?;
                        if !row.members.contains(&uid) {
                            sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                                .bind(&row.id)
                                .bind(&uid)
                                .execute(&mut *c)
                                .await?;
                        }
                    }
                } else {
                    sqlx::query("INSERT INTO agent_groups (id, workspace_id, name, strategy, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&row.id)
                        .bind(&row.workspace_id)
                        .bind(&row.name)
                        .bind(row.strategy.as_str())
                        .bind(row.created_at)
                        .execute(&mut *c)
                        .await?;
                }
                for uid in &row.members {
                    sqlx::query("INSERT INTO group_members (group_id, user_id, last_assigned_at) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING")
                        .bind(&row.id)
                        .bind(uid)
                        .execute(&mut *c)
                        .await?;
                }
                Ok(renamed_from)
            })
        })
        .await?;
        Ok((g, renamed))
    }

    /// Deletes a group. Whoever waited in its line leaves it (open and
    /// unassigned, for agents to pick up by hand) and is returned, so the
    /// caller can tell them; fallbacks to it are dropped.
    pub async fn delete_group(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        actor: Actor,
    ) -> Result<Vec<Changed>> {
        let (ws, id) = (workspace_id.clone(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                // The row lock first: nobody joins the line while it goes.
                let n = sqlx::query("UPDATE agent_groups SET name = name WHERE id = $1 AND workspace_id = $2")
                    .bind(&id)
                    .bind(&ws)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                let name: String = sqlx::query("SELECT name FROM agent_groups WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut *c)
                    .await?
                    .try_get("name")?;
                // Other groups' rows, then conversations, then members: the
                // order assignments and line moves take them in (no deadlock).
                sqlx::query("UPDATE agent_groups SET timeout_to_group = NULL WHERE workspace_id = $1 AND timeout_to_group = $2")
                    .bind(&ws)
                    .bind(&name)
                    .execute(&mut *c)
                    .await?;
                // What no rule routes stays unassigned rather than going nowhere.
                sqlx::query("UPDATE workspaces SET default_group = NULL WHERE id = $1 AND default_group = $2")
                    .bind(&ws)
                    .bind(&name)
                    .execute(&mut *c)
                    .await?;
                let waiting = sqlx::query(concat!("SELECT ", conversations::cols!(), " FROM conversations WHERE workspace_id = $1 AND queue_group = $2 AND status = 'queued'"))
                    .bind(&ws)
                    .bind(&name)
                    .fetch_all(&mut *c)
                    .await?
                    .iter()
                    .map(conversations::from_row)
                    .collect::<Result<Vec<_>>>()?;
                let at = now_ms();
                let mut left = Vec::with_capacity(waiting.len());
                for before in waiting {
                    // Only if it still waits there (a claim or timeout may have taken it meanwhile).
                    let n = sqlx::query(
                        "UPDATE conversations SET queue_group = NULL, queued_at = NULL, status = 'open', updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END
                         WHERE id = $1 AND status = 'queued' AND assignee_id IS NULL AND queue_group = $2",
                    )
                    .bind(&before.id)
                    .bind(&name)
                    .bind(at)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        let mut changes = vec![Ev::ConversationTransferred {
                            from_agent: None,
                            to_agent: None,
                            from_group: Some(name.clone()),
                            to_group: None,
                            reason: TransferReason::GroupDeleted,
                            note: None,
                        }];
                        conversations::record_status(&before, ConversationStatus::Open, &mut changes)?;
                        let after = conversations::load(c, &ws, &before.id).await?;
                        let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                        left.push(Changed { before, after, events });
                    }
                }
                // The rest (handled conversations keep it for statistics) just forget the name.
                sqlx::query("UPDATE conversations SET queue_group = NULL WHERE workspace_id = $1 AND queue_group = $2 AND status <> 'queued'")
                    .bind(&ws)
                    .bind(&name)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM group_members WHERE group_id = $1")
                    .bind(&id)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM agent_groups WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *c)
                    .await?;
                Ok(left)
            })
        })
        .await
    }

    /// The members of group `name` with their load, for one decision.
    pub async fn group_members(
        &self,
        workspace_id: &WorkspaceId,
        name: &str,
    ) -> Result<Vec<Member>> {
        Ok(self
            .members_with_load(workspace_id, Some(name))
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect())
    }

    /// Every group's members with their load, in one query (what a routing
    /// decision's `group("…")` figures are made of).
    pub async fn all_group_members(
        &self,
        workspace_id: &WorkspaceId,
    ) -> Result<std::collections::HashMap<String, Vec<Member>>> {
        let mut by_group: std::collections::HashMap<String, Vec<Member>> = Default::default();
        for (g, m) in self.members_with_load(workspace_id, None).await? {
            by_group.entry(g).or_default().push(m);
        }
        Ok(by_group)
    }

    /// How many conversations wait in each group's line.
    pub async fn queue_lengths(
        &self,
        workspace_id: &WorkspaceId,
    ) -> Result<std::collections::HashMap<String, i64>> {
        let rows = sqlx::query(
            "SELECT queue_group, COUNT(*) AS n FROM conversations
             WHERE workspace_id = $1 AND status = 'queued' AND queue_group IS NOT NULL AND assignee_id IS NULL
             GROUP BY queue_group",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("queue_group")?, r.try_get("n")?)))
            .collect()
    }

    /// (group name, member with load) of one group or (`None`) every group.
    async fn members_with_load(
        &self,
        workspace_id: &WorkspaceId,
        name: Option<&str>,
    ) -> Result<Vec<(String, Member)>> {
        let rows = sqlx::query(
            "SELECT g.name, u.id, u.status, u.capacity, m.last_assigned_at,
                    (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = u.id AND c.status IN ('open', 'pending')) AS active
             FROM agent_groups g JOIN group_members m ON m.group_id = g.id JOIN users u ON u.id = m.user_id
             WHERE g.workspace_id = $1 AND (CAST($2 AS TEXT) IS NULL OR g.name = $2) AND u.active = 1
             ORDER BY g.name, u.id",
        )
        .bind(workspace_id)
        .bind(name)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("name")?,
                    Member {
                        user_id: r.try_get("id")?,
                        status: parse_word(r.try_get("status")?)?,
                        capacity: r.try_get("capacity")?,
                        active: r.try_get("active")?,
                        last_assigned_at: r.try_get("last_assigned_at")?,
                    },
                ))
            })
            .collect()
    }

    /// Assigns an unassigned conversation to `user_id` only if the agent is
    /// still below `capacity` and nobody took the conversation meanwhile, in
    /// one write: concurrent decisions never overfill an agent or give a
    /// conversation two assignees. `None`: the condition no longer held.
    pub async fn auto_assign(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        user_id: &UserId,
        group_name: &str,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid, uid, group) = (
            workspace_id.clone(),
            conversation_id.clone(),
            user_id.clone(),
            group_name.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                lock_agent(c, &ws, &uid).await?;
                let before = conversations::load(c, &ws, &cid).await?;
                let at = now_ms();
                let n = sqlx::query(
                    // The group it was routed through is kept (handling-time statistics).
                    "UPDATE conversations SET assignee_id = $3, updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END, queued_at = NULL,
                            status = CASE WHEN status IN ('queued', 'bot') THEN 'open' ELSE status END,
                            queue_group = CASE WHEN $5 = '' THEN queue_group ELSE $5 END
                     WHERE id = $1 AND workspace_id = $2 AND assignee_id IS NULL AND status = $6
                       AND status IN ('bot', 'queued', 'open', 'pending')
                       AND (SELECT COUNT(*) FROM conversations x WHERE x.assignee_id = $3 AND x.status IN ('open', 'pending'))
                           < (SELECT capacity FROM users WHERE id = $3 AND active = 1)",
                )
                .bind(&cid)
                .bind(&ws)
                .bind(&uid)
                .bind(at)
                .bind(&group)
                .bind(before.status.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                sqlx::query("UPDATE group_members SET last_assigned_at = $3 WHERE user_id = $1 AND group_id IN (SELECT id FROM agent_groups WHERE workspace_id = $2 AND name = $4)")
                    .bind(&uid)
                    .bind(&ws)
                    .bind(at)
                    .bind(&group)
                    .execute(&mut *c)
                    .await?;
                let mut changes = Vec::new();
                if before.status.is_routing_only() {
                    conversations::record_status(&before, ConversationStatus::Open, &mut changes)?;
                }
                changes.push(Ev::ConversationAssigned { from: None, to: uid, group: (!group.is_empty()).then_some(group), by: AssignedBy::Routing });
                let after = conversations::load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Some(Changed { before, after, events }))
            })
        })
        .await
    }

    /// Saves `source` as the workspace's next rule set version (checked by the caller).
    pub async fn save_rule_set(
        &self,
        workspace_id: &WorkspaceId,
        source: &str,
        created_by: &str,
    ) -> Result<RuleSetVersion> {
        self.save_rule_set_after(workspace_id, source, created_by, None)
            .await?
            .ok_or_else(|| StoreError::Conflict("the rules changed concurrently; retry".into()))
    }

    /// Saves `source` as the next version, only if the newest version is
    /// still `after` (`None`: whatever it is). `None` back: someone saved
    /// meanwhile. Saves of one workspace take its row lock, so two never
    /// pick the same version number.
    pub async fn save_rule_set_after(
        &self,
        workspace_id: &WorkspaceId,
        source: &str,
        created_by: &str,
        after: Option<i64>,
    ) -> Result<Option<RuleSetVersion>> {
        let (ws, src, by) = (
            workspace_id.clone(),
            source.to_string(),
            created_by.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("UPDATE workspaces SET name = name WHERE id = $1")
                    .bind(&ws)
                    .execute(&mut *c)
                    .await?;
                let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM rule_sets WHERE workspace_id = $1")
                    .bind(&ws)
                    .fetch_one(&mut *c)
                    .await?
                    .try_get("v")?;
                if after.is_some_and(|a| a != current) {
                    return Ok(None);
                }
                let v = RuleSetVersion {
                    id: new_id(),
                    workspace_id: ws,
                    version: current + 1,
                    source: src,
                    created_by: by,
                    created_at: now_ms(),
                };
                sqlx::query("INSERT INTO rule_sets (id, workspace_id, version, source, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&v.id)
                    .bind(&v.workspace_id)
                    .bind(v.version)
                    .bind(&v.source)
                    .bind(&v.created_by)
                    .bind(v.created_at)
                    .execute(&mut *c)
                    .await?;
                Ok(Some(v))
            })
        })
        .await
    }

    /// The rule set in force (the newest version), if any.
    pub async fn current_rule_set(
        &self,
        workspace_id: &WorkspaceId,
    ) -> Result<Option<RuleSetVersion>> {
        let r = sqlx::query("SELECT id, workspace_id, version, source, created_by, created_at FROM rule_sets WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(workspace_id)
            .fetch_optional(self.reader())
            .await?;
        r.map(|r| {
            Ok(RuleSetVersion {
                id: r.try_get("id")?,
                workspace_id: r.try_get("workspace_id")?,
                version: r.try_get("version")?,
                source: r.try_get("source")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }
}

/// A conversation waiting in a group's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// 1-based place in line.
    pub position: i64,
}

impl Store {
    /// Puts an unassigned conversation in `group`'s line (status `queued`)
    /// with its priority; it keeps its place if it already waits there.
    /// Returns it when something changed (`None`: it was taken meanwhile,
    /// is no longer active, or the group is gone).
    pub async fn enqueue(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        group: &str,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid, g) = (
            workspace_id.clone(),
            conversation_id.clone(),
            group.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let before = conversations::load(c, &ws, &cid).await?;
                if before.assignee_id.is_some() || !before.status.is_active() {
                    return Ok(None);
                }
                if !lock_group(c, &ws, &g).await? {
                    return Ok(None);
                }
                let at = now_ms();
                let n = sqlx::query(concat!(
                    "UPDATE conversations SET status = 'queued', queue_group = $3, queue_priority = ", rank_sql!(), ", updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END,
                            queued_at = CASE WHEN status = 'queued' AND queue_group = $3 THEN queued_at ELSE $4 END
                     WHERE id = $1 AND workspace_id = $2 AND assignee_id IS NULL AND status = $5",
                ))
                .bind(&cid)
                .bind(&ws)
                .bind(&g)
                .bind(at)
                .bind(before.status.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                let mut changes = Vec::new();
                if before.status != ConversationStatus::Queued {
                    conversations::record_status(&before, ConversationStatus::Queued, &mut changes)?;
                    changes.push(Ev::ConversationQueued { group: g });
                }
                let after = conversations::load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Some(Changed { before, after, events }))
            })
        })
        .await
    }

    /// A group's line in order (at most `limit`), with positions.
    pub async fn queue(
        &self,
        workspace_id: &WorkspaceId,
        group: &str,
        limit: i64,
    ) -> Result<Vec<Queued>> {
        let rows = sqlx::query(
            "SELECT id, contact_id FROM conversations
             WHERE workspace_id = $1 AND queue_group = $2 AND status = 'queued' AND assignee_id IS NULL
             ORDER BY queue_priority DESC, queued_at, id LIMIT $3",
        )
        .bind(workspace_id)
        .bind(group)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(Queued {
                    conversation_id: r.try_get("id")?,
                    contact_id: r.try_get("contact_id")?,
                    position: i as i64 + 1,
                })
            })
            .collect()
    }

    /// Groups of the workspace with someone waiting.
    pub async fn queued_groups(&self, workspace_id: &WorkspaceId) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT queue_group FROM conversations
             WHERE workspace_id = $1 AND status = 'queued' AND queue_group IS NOT NULL AND assignee_id IS NULL",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("queue_group")?)).collect()
    }
}

impl Store {
    /// Hands an open or pending conversation to another agent, if that agent
    /// is active and below capacity (one write, like [`Store::auto_assign`]).
    /// `None`: the agent cannot take it now.
    pub async fn transfer_to_agent(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        to_user: &UserId,
        note: &str,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid, uid, note) = (
            workspace_id.clone(),
            conversation_id.clone(),
            to_user.clone(),
            note.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let before = conversations::load(c, &ws, &cid).await?;
                if !before.status.is_active() {
                    return Err(StoreError::NotActive(before.status));
                }
                let exists = sqlx::query("SELECT 1 AS ok FROM users WHERE id = $1 AND workspace_id = $2 AND active = 1")
                    .bind(&uid)
                    .bind(&ws)
                    .fetch_optional(&mut *c)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::Invalid(format!("no active agent {uid} in this workspace")));
                }
                lock_agent(c, &ws, &uid).await?;
                let at = now_ms();
                let n = sqlx::query(
                    "UPDATE conversations SET assignee_id = $3, updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END, queued_at = NULL,
                            status = CASE WHEN status IN ('queued', 'bot') THEN 'open' ELSE status END
                     WHERE id = $1 AND workspace_id = $2 AND status = $5
                       AND (SELECT COUNT(*) FROM conversations x WHERE x.assignee_id = $3 AND x.status IN ('open', 'pending') AND x.id <> $1)
                           < (SELECT capacity FROM users WHERE id = $3)",
                )
                .bind(&cid)
                .bind(&ws)
                .bind(&uid)
                .bind(at)
                .bind(before.status.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                let mut changes = Vec::new();
                if before.status.is_routing_only() {
                    conversations::record_status(&before, ConversationStatus::Open, &mut changes)?;
                }
                changes.push(Ev::ConversationTransferred {
                    from_agent: before.assignee_id.clone(),
                    to_agent: Some(uid.clone()),
                    from_group: None,
                    to_group: None,
                    reason: TransferReason::Manual,
                    note: (!note.is_empty()).then_some(note),
                });
                changes.push(Ev::ConversationAssigned { from: before.assignee_id.clone(), to: uid, group: None, by: AssignedBy::Manual });
                let after = conversations::load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Some(Changed { before, after, events }))
            })
        })
        .await
    }

    /// Takes an open or pending conversation from its agent and puts it in
    /// `group`'s line (the caller then assigns it if someone can take it).
    pub async fn transfer_to_group(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        group: &str,
        note: &str,
        actor: Actor,
    ) -> Result<Changed> {
        let (ws, cid, g, note) = (
            workspace_id.clone(),
            conversation_id.clone(),
            group.to_string(),
            note.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let before = conversations::load(c, &ws, &cid).await?;
                if !before.status.is_active() {
                    return Err(StoreError::NotActive(before.status));
                }
                if !lock_group(c, &ws, &g).await? {
                    return Err(StoreError::Invalid(format!("there is no group {g:?}")));
                }
                let at = now_ms();
                let n = sqlx::query(concat!(
                    "UPDATE conversations SET assignee_id = NULL, status = 'queued', queue_group = $3, queued_at = $4, updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END, queue_priority = ", rank_sql!(), "
                     WHERE id = $1 AND workspace_id = $2 AND status = $5",
                ))
                .bind(&cid)
                .bind(&ws)
                .bind(&g)
                .bind(at)
                .bind(before.status.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::Conflict("the conversation changed concurrently; retry".into()));
                }
                let mut changes = vec![Ev::ConversationTransferred {
                    from_agent: before.assignee_id.clone(),
                    to_agent: None,
                    from_group: None,
                    to_group: Some(g.clone()),
                    reason: TransferReason::Manual,
                    note: (!note.is_empty()).then_some(note),
                }];
                if let Some(from) = &before.assignee_id {
                    changes.push(Ev::ConversationUnassigned { from: from.clone() });
                }
                if before.status != ConversationStatus::Queued {
                    conversations::record_status(&before, ConversationStatus::Queued, &mut changes)?;
                }
                changes.push(Ev::ConversationQueued { group: g });
                let after = conversations::load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Changed { before, after, events })
            })
        })
        .await
    }
}

impl Store {
    /// Grab mode: `user_id` claims a conversation waiting in `group`'s line.
    /// Exactly one claim wins (one conditional write): the conversation must
    /// still be unassigned and waiting there, the claimer a member below
    /// capacity. `None`: someone else was first (or the claimer is full).
    /// Returns the conversation and the group it waited in.
    pub async fn claim(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        user_id: &UserId,
        actor: Actor,
    ) -> Result<Option<(Changed, String)>> {
        let (ws, cid, uid) = (
            workspace_id.clone(),
            conversation_id.clone(),
            user_id.clone(),
        );
        self.write(move |c| {
            Box::pin(async move {
                lock_agent(c, &ws, &uid).await?;
                let before = conversations::load(c, &ws, &cid).await?;
                let at = now_ms();
                let n = sqlx::query(
                    "UPDATE conversations SET assignee_id = $3, updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END, queued_at = NULL, status = 'open'
                     WHERE id = $1 AND workspace_id = $2 AND assignee_id IS NULL AND status = 'queued'
                       AND queue_group IN (SELECT g.name FROM agent_groups g JOIN group_members m ON m.group_id = g.id
                                           WHERE g.workspace_id = $2 AND m.user_id = $3)
                       AND (SELECT COUNT(*) FROM conversations x WHERE x.assignee_id = $3 AND x.status IN ('open', 'pending'))
                           < (SELECT capacity FROM users WHERE id = $3 AND active = 1)",
                )
                .bind(&cid)
                .bind(&ws)
                .bind(&uid)
                .bind(at)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                let group: Option<String> = sqlx::query("SELECT queue_group FROM conversations WHERE id = $1")
                    .bind(&cid)
                    .fetch_one(&mut *c)
                    .await?
                    .try_get("queue_group")?;
                let mut changes = Vec::new();
                conversations::record_status(&before, ConversationStatus::Open, &mut changes)?;
                changes.push(Ev::ConversationAssigned { from: None, to: uid, group: group.clone(), by: AssignedBy::Claim });
                let after = conversations::load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Some((Changed { before, after, events }, group.unwrap_or_default())))
            })
        })
        .await
    }

    /// The strategy of group `name`, if it exists.
    pub async fn group_strategy(
        &self,
        workspace_id: &WorkspaceId,
        name: &str,
    ) -> Result<Option<Strategy>> {
        let r =
            sqlx::query("SELECT strategy FROM agent_groups WHERE workspace_id = $1 AND name = $2")
                .bind(workspace_id)
                .bind(name)
                .fetch_optional(self.reader())
                .await?;
        r.map(|r| parse_word(r.try_get("strategy")?)).transpose()
    }
}

/// A conversation that waited longer than its group allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub group: String,
    pub to_group: Option<String>,
}

impl Store {
    /// Sets a group's queue timeout (and where overdue conversations go),
    /// business hours and offline message. The hours are checked by the caller.
    pub async fn set_group_settings(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        settings: &GroupSettings,
    ) -> Result<()> {
        if !(0..=7 * 86_400).contains(&settings.queue_timeout_secs) {
            return Err(StoreError::Invalid(
                "queue_timeout_secs must be 0 to 604800".into(),
            ));
        }
        if settings.offline_message.chars().count() > 1000 {
            return Err(StoreError::Invalid(
                "offline_message is longer than 1000 characters".into(),
            ));
        }
        let hours = settings
            .business_hours
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let (ws, id, s) = (workspace_id.clone(), id.to_string(), settings.clone());
        self.write(move |c| {
            Box::pin(async move {
                if let Some(t) = &s.timeout_to_group {
                    let found = sqlx::query("SELECT 1 AS ok FROM agent_groups WHERE workspace_id = $1 AND name = $2")
                        .bind(&ws)
                        .bind(t)
                        .fetch_optional(&mut *c)
                        .await?;
                    if found.is_none() {
                        return Err(StoreError::Invalid(format!("there is no group {t:?}")));
                    }
                }
                sqlx::query("UPDATE agent_groups SET queue_timeout_secs = $3, timeout_to_group = $4, business_hours = $5, offline_message = $6, auto_join = $7 WHERE id = $1 AND workspace_id = $2")
                    .bind(&id)
                    .bind(&ws)
                    .bind(s.queue_timeout_secs)
                    .bind(s.timeout_to_group.as_deref())
                    .bind(hours.as_deref())
                    .bind(s.offline_message.trim())
                    .bind(i64::from(s.auto_join))
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Waiting conversations past their group's timeout, in every workspace (at most `limit`).
    pub async fn overdue(&self, now_ms: i64, limit: i64) -> Result<Vec<Overdue>> {
        let rows = sqlx::query(
            "SELECT c.id, c.workspace_id, c.queue_group, g.timeout_to_group
             FROM conversations c JOIN agent_groups g ON g.workspace_id = c.workspace_id AND g.name = c.queue_group
             WHERE c.status = 'queued' AND c.assignee_id IS NULL
               AND g.queue_timeout_secs > 0 AND c.queued_at + g.queue_timeout_secs * 1000 <= $1
             LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Overdue {
                    workspace_id: r.try_get("workspace_id")?,
                    conversation_id: r.try_get("id")?,
                    group: r.try_get("queue_group")?,
                    to_group: r.try_get("timeout_to_group")?,
                })
            })
            .collect()
    }

    /// Leaves an unassigned active conversation for offline follow-up: out
    /// of any line, `open` (agents answer when they can) and tagged
    /// `offline`. `group`: the group it was routed to, for the history; with
    /// `only_if_waiting`, only if it still waits in that group's line (a
    /// queue timeout racing an assignment). `None`: nothing changed.
    pub async fn to_offline(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        group: Option<&str>,
        only_if_waiting: bool,
        reason: &str,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid, group, reason) = (
            workspace_id.clone(),
            conversation_id.clone(),
            group.map(str::to_string),
            reason.to_string(),
        );
        let from = if only_if_waiting { group.clone() } else { None };
        self.write(move |c| {
            Box::pin(async move {
                let before = conversations::load(c, &ws, &cid).await?;
                if before.assignee_id.is_some() || !before.status.is_active() {
                    return Ok(None);
                }
                let mut tags = before.tags.clone();
                if !tags.iter().any(|t| t == OFFLINE_TAG) && tags.len() < conversations::MAX_TAGS {
                    tags.push(OFFLINE_TAG.to_string());
                }
                let at = now_ms();
                // Conditional on the tags read, so an agent's concurrent edit is not lost.
                let n = sqlx::query(
                    "UPDATE conversations SET queue_group = NULL, queued_at = NULL, updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END, tags = $4,
                            status = CASE WHEN status IN ('queued', 'bot') THEN 'open' ELSE status END
                     WHERE id = $1 AND workspace_id = $2 AND assignee_id IS NULL AND status = $6 AND tags = $7
                       AND (CAST($5 AS TEXT) IS NULL OR (status = 'queued' AND queue_group = $5))",
                )
                .bind(&cid)
                .bind(&ws)
                .bind(at)
                .bind(conversations::tags_json(&tags)?)
                .bind(from.as_deref())
                .bind(before.status.as_str())
                .bind(conversations::tags_json(&before.tags)?)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                let mut changes = Vec::new();
                if before.status.is_routing_only() {
                    conversations::record_status(&before, ConversationStatus::Open, &mut changes)?;
                }
                if tags != before.tags {
                    changes.push(Ev::ConversationLabelsChanged { added: vec![OFFLINE_TAG.to_string()], removed: vec![] });
                }
                changes.push(Ev::ConversationOffline { reason, group });
                let after = conversations::load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Some(Changed { before, after, events }))
            })
        })
        .await
    }
}

/// The tag of conversations left for offline follow-up.
pub const OFFLINE_TAG: &str = "offline";

impl Store {
    /// A queue timeout's move to the fallback group, only if the
    /// conversation is still waiting in `from` (not taken meanwhile).
    pub async fn requeue_overdue(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        from: &str,
        to: &str,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid, from, to) = (
            workspace_id.clone(),
            conversation_id.clone(),
            from.to_string(),
            to.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                if !lock_group(c, &ws, &to).await? {
                    return Ok(None);
                }
                let before = conversations::load(c, &ws, &cid).await?;
                let at = now_ms();
                let n = sqlx::query(
                    "UPDATE conversations SET queue_group = $4, queued_at = $5, updated_at = $5
                     WHERE id = $1 AND workspace_id = $2 AND assignee_id IS NULL AND queue_group = $3 AND status = 'queued'",
                )
                .bind(&cid)
                .bind(&ws)
                .bind(&from)
                .bind(&to)
                .bind(at)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                let changes = vec![
                    Ev::ConversationTransferred {
                        from_agent: None,
                        to_agent: None,
                        from_group: Some(from),
                        to_group: Some(to.clone()),
                        reason: TransferReason::QueueTimeout,
                        note: None,
                    },
                    Ev::ConversationQueued { group: to },
                ];
                let after = conversations::load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Some(Changed { before, after, events }))
            })
        })
        .await
    }
}

impl Store {
    /// How long the group's recent conversations took from opening to
    /// resolution (ms, newest first, at most `limit`): the basis of the wait
    /// estimate visitors see in the line.
    pub async fn recent_handling_ms(
        &self,
        workspace_id: &WorkspaceId,
        group: &str,
        limit: i64,
    ) -> Result<Vec<u64>> {
        let rows = sqlx::query(
            "SELECT updated_at - created_at AS took FROM conversations
             WHERE workspace_id = $1 AND queue_group = $2 AND status IN ('resolved', 'closed')
             ORDER BY updated_at DESC LIMIT $3",
        )
        .bind(workspace_id)
        .bind(group)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok(u64::try_from(r.try_get::<i64, _>("took")?).unwrap_or(0)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use kefu_core::Priority;

    #[test]
    fn the_lines_sql_ranks_priorities_like_the_domain() {
        let sql = rank_sql!();
        for p in Priority::ALL {
            let arm = format!("WHEN '{}' THEN {}", p.as_str(), p.rank());
            let default = format!("ELSE {} END", p.rank());
            assert!(
                sql.contains(&arm) || (p == Priority::default() && sql.contains(&default)),
                "{p}: {sql}"
            );
        }
    }
}
