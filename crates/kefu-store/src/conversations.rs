//! Conversations: status changes and assignment go through the state machine
//! in kefu-core and are recorded as events in the same transaction.

use crate::{
    ActivityCursor, Actor, Changed, Conversation, ConversationFilter, ListSort, Result, Store,
    StoreError, events, now_ms,
};
use kefu_core::{ConversationId, UserId, WorkspaceId};
use kefu_core::{
    ConversationStatus, Priority,
    event::{AssignedBy, ConversationEvent as Ev},
};
use sqlx::{AnyConnection, Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, workspace_id, inbox_id, contact_id, status, assignee_id, last_seq, last_activity_at, created_at, updated_at, priority, tags, snoozed_until, waiting_since"
    };
}
pub(crate) use cols;

/// [`cols`] qualified with the table's name, for queries that join others.
macro_rules! prefixed_cols {
    () => {
        "conversations.id, conversations.workspace_id, conversations.inbox_id, conversations.contact_id, conversations.status, conversations.assignee_id, conversations.last_seq, conversations.last_activity_at, conversations.created_at, conversations.updated_at, conversations.priority, conversations.tags, conversations.snoozed_until, conversations.waiting_since"
    };
}
pub(crate) use prefixed_cols;

/// `updated_at` for a change made at `$p`: never lower than what is stored
/// (a write that waited for the row lock, or another node's clock), so
/// clients ordering conversation frames by it never drop a real change.
macro_rules! bump_updated {
    ($p:literal) => {
        concat!(
            "CASE WHEN updated_at >= ",
            $p,
            " THEN updated_at + 1 ELSE ",
            $p,
            " END"
        )
    };
}

pub(crate) fn from_row(r: &AnyRow) -> Result<Conversation> {
    let status: String = r.try_get("status")?;
    Ok(Conversation {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        inbox_id: r.try_get("inbox_id")?,
        contact_id: r.try_get("contact_id")?,
        status: status
            .parse()
            .map_err(|e: kefu_core::conversation::UnknownStatus| {
                StoreError::Corrupt(e.to_string())
            })?,
        assignee_id: r.try_get("assignee_id")?,
        last_seq: r.try_get("last_seq")?,
        last_activity_at: r.try_get("last_activity_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        priority: crate::routing::parse_word(r.try_get("priority")?)?,
        tags: parse_tags(&r.try_get::<String, _>("tags")?)?,
        snoozed_until: r.try_get("snoozed_until")?,
        waiting_since: r.try_get("waiting_since")?,
    })
}

/// Tags as stored: a JSON array.
pub(crate) fn tags_json(tags: &[String]) -> Result<String> {
    serde_json::to_string(tags).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// The stored JSON array of tags.
pub(crate) fn parse_tags(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("conversation tags: {e}")))
}

/// The list's filters as SQL: parameters $1 to $9, bound by [`bind_filters`];
/// `filters_sql!(pg)` on PostgreSQL (with a statement planned for its
/// parameters: `persistent(false)`). The statuses are one parameter
/// (`,open,queued,`): SQLite matches it with `LIKE`; PostgreSQL splits it
/// into an array, which the planner folds into a constant and estimates
/// from the column's statistics. With the `LIKE` (the pattern on the
/// column's side) it assumed 0.5 % of the conversations pass `resolved`
/// instead of 90 %, so rather than walk the activity index until a page is
/// full it read and sorted every conversation (a resolved search's 200
/// conversations: 38 ms at 20,000; an inbox page of resolved ones 19 ms,
/// growing with the workspace).
macro_rules! filters_sql {
    () => {
        $crate::conversations::filters_sql!(status: "$2 LIKE ('%,' || status || ',%')")
    };
    (pg) => {
        $crate::conversations::filters_sql!(status: "status = ANY(string_to_array($2, ','))")
    };
    (status: $status:literal) => {
        concat!(
            "(CAST($2 AS TEXT) IS NULL OR (",
            $status,
            "))
          AND (CAST($3 AS TEXT) IS NULL OR inbox_id = $3)
          AND (CAST($4 AS TEXT) IS NULL OR assignee_id = $4)
          AND ($5 = 0 OR assignee_id IS NULL)
          AND (CAST($6 AS TEXT) IS NULL OR contact_id = $6)
          AND (CAST($7 AS TEXT) IS NULL OR queue_group = $7)
          AND (CAST($8 AS TEXT) IS NULL OR tags LIKE $8 ESCAPE '\\')
          AND (CAST($9 AS TEXT) IS NULL OR priority = $9)"
        )
    };
}
pub(crate) use filters_sql;

/// Binds $1 to $9 of [`filters_sql`].
pub(crate) fn bind_filters<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    workspace_id: &'q WorkspaceId,
    filter: &'q ConversationFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(workspace_id)
        // `,open,queued,`: one parameter for any number of statuses.
        .bind((!filter.statuses.is_empty()).then(|| {
            let names: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
            format!(",{},", names.join(","))
        }))
        .bind(filter.inbox_id.as_deref())
        .bind(filter.assignee_id.as_deref())
        .bind(i64::from(filter.unassigned))
        .bind(filter.contact_id.as_deref())
        .bind(filter.group.as_deref())
        .bind(filter.tag.as_deref().map(tag_pattern))
        .bind(filter.priority.map(|p| p.as_str()))
}

/// The LIKE pattern that finds `tag` in the stored JSON array of tags
/// (quoted, so `vip` does not match `vip2`; LIKE's wildcards escaped).
fn tag_pattern(tag: &str) -> String {
    let quoted = serde_json::Value::from(tag.trim()).to_string();
    let escaped = quoted
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// How many conversations each view of the list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ViewCounts {
    pub mine: i64,
    pub unassigned: i64,
    pub all: i64,
}

/// Reads a conversation inside a write transaction.
pub(crate) async fn load(
    c: &mut AnyConnection,
    workspace_id: &WorkspaceId,
    id: &ConversationId,
) -> Result<Conversation> {
    let r = sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM conversations WHERE id = $1 AND workspace_id = $2"
    ))
    .bind(id)
    .bind(workspace_id)
    .fetch_one(&mut *c)
    .await?;
    from_row(&r)
}

/// Moves a conversation to `to` and records it; used by explicit status
/// changes and by a visitor message reopening a conversation.
pub(crate) async fn set_status(
    c: &mut AnyConnection,
    conv: &mut Conversation,
    to: ConversationStatus,
    changes: &mut Vec<Ev>,
    at: i64,
) -> Result<()> {
    let from = conv.status;
    conv.status.transition(to)?;
    // Leaving a line ends the wait: a later one starts at the back. The
    // row comes back as stored (fresh assignee, labels, updated_at).
    let row = sqlx::query(concat!(
        "UPDATE conversations SET status = $3, updated_at = ",
        bump_updated!("$4"),
        ", queued_at = CASE WHEN $3 = 'queued' THEN queued_at ELSE NULL END,
           resolved_at = CASE WHEN $3 = 'resolved' THEN $4 ELSE resolved_at END,
           snoozed_until = CASE WHEN $3 = 'pending' THEN snoozed_until ELSE NULL END,
           waiting_since = CASE WHEN $3 IN ('resolved', 'closed') THEN NULL ELSE waiting_since END
         WHERE id = $1 AND status = $2 RETURNING ",
        cols!()
    ))
    .bind(&conv.id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(at)
    .fetch_optional(&mut *c)
    .await
    .map_err(|e| match StoreError::from(e) {
        // The one-active-conversation-per-visitor-and-inbox index.
        StoreError::Conflict(_) => StoreError::Conflict(
            "the visitor already has another active conversation in this inbox".into(),
        ),
        other => other,
    })?;
    let Some(row) = row else {
        return Err(StoreError::Conflict(
            "the conversation changed concurrently; retry".into(),
        ));
    };
    let fresh = from_row(&row)?;
    changes.push(Ev::ConversationStatusChanged { from, to });
    *conv = fresh;
    Ok(())
}

/// Takes the assignee off `conv` inside a write (their account was
/// deactivated, say), recording the change.
pub(crate) async fn unassign(
    c: &mut AnyConnection,
    conv: &mut Conversation,
    changes: &mut Vec<Ev>,
    at: i64,
) -> Result<()> {
    let Some(from) = conv.assignee_id.take() else {
        return Ok(());
    };
    sqlx::query(concat!(
        "UPDATE conversations SET assignee_id = NULL, updated_at = ",
        bump_updated!("$2"),
        " WHERE id = $1"
    ))
    .bind(&conv.id)
    .bind(at)
    .execute(&mut *c)
    .await?;
    *conv = load(c, &conv.workspace_id.clone(), &conv.id.clone()).await?;
    changes.push(Ev::ConversationUnassigned { from });
    Ok(())
}

/// Records a status change a routing write made together with other
/// columns (so `set_status` cannot), after checking it is a legal move.
pub(crate) fn record_status(
    before: &Conversation,
    to: ConversationStatus,
    changes: &mut Vec<Ev>,
) -> Result<()> {
    before.status.transition(to)?;
    changes.push(Ev::ConversationStatusChanged {
        from: before.status,
        to,
    });
    Ok(())
}

/// A change of a conversation's priority and tags: a whole new set of tags
/// and/or tags to add and take away (applied to the set as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelEdit {
    pub priority: Option<Priority>,
    pub tags: Option<Vec<String>>,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

/// Most tags a conversation carries, and the longest tag.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 32;

/// Trims, drops empty and repeated tags, and checks the limits.
pub fn clean_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if t.is_empty() || out.iter().any(|o| o == t) {
            continue;
        }
        if t.chars().count() > MAX_TAG_CHARS || t.chars().any(char::is_control) {
            return Err(StoreError::Invalid(format!(
                "tag {t:?} must be 1 to {MAX_TAG_CHARS} printable characters"
            )));
        }
        out.push(t.to_string());
    }
    if out.len() > MAX_TAGS {
        return Err(StoreError::Invalid(format!(
            "a conversation has at most {MAX_TAGS} tags"
        )));
    }
    Ok(out)
}

impl Store {
    /// Sets a conversation's priority and/or tags (each `None`: unchanged),
    /// then adds `add` to its tags and takes `remove` away: changes applied
    /// to the tags as they are in the same write, so concurrent edits by
    /// rules and agents do not undo each other. A conversation waiting in a
    /// line moves to its new priority's place. Returns the conversation
    /// before and after; an actual change is recorded as a `labels_changed` event.
    pub async fn set_labels(
        &self,
        workspace_id: &WorkspaceId,
        id: &ConversationId,
        edit: LabelEdit,
        actor: Actor,
    ) -> Result<Changed> {
        let LabelEdit {
            priority,
            tags,
            add,
            remove,
        } = edit;
        let tags = tags.as_deref().map(clean_tags).transpose()?;
        let add = clean_tags(&add)?;
        let remove: Vec<String> = remove.iter().map(|t| t.trim().to_string()).collect();
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = load(c, &ws, &cid).await?;
                let mut after = before.clone();
                if let Some(p) = priority {
                    after.priority = p;
                }
                if let Some(t) = tags {
                    after.tags = t;
                }
                for t in add {
                    if !after.tags.contains(&t) {
                        after.tags.push(t);
                    }
                }
                after.tags.retain(|t| !remove.contains(t));
                after.tags = clean_tags(&after.tags)?;
                if after.priority == before.priority && after.tags == before.tags {
                    return Ok(Changed::nothing(before));
                }
                let at = now_ms();
                // Conditional on what was read: a concurrent change is a retryable conflict, not lost.
                let n = sqlx::query(concat!(
                    "UPDATE conversations SET priority = $3, queue_priority = $4, tags = $5, updated_at = ",
                    bump_updated!("$6"),
                    " WHERE id = $1 AND workspace_id = $2 AND priority = $7 AND tags = $8",
                ))
                .bind(&cid)
                .bind(&ws)
                .bind(after.priority.as_str())
                .bind(i64::from(after.priority.rank()))
                .bind(tags_json(&after.tags)?)
                .bind(at)
                .bind(before.priority.as_str())
                .bind(tags_json(&before.tags)?)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::Conflict("the conversation changed concurrently; retry".into()));
                }
                let mut changes = Vec::new();
                if after.priority != before.priority {
                    changes.push(Ev::ConversationPriorityChanged { from: before.priority, to: after.priority });
                }
                if after.tags != before.tags {
                    changes.push(Ev::ConversationLabelsChanged {
                        added: after.tags.iter().filter(|t| !before.tags.contains(t)).cloned().collect(),
                        removed: before.tags.iter().filter(|t| !after.tags.contains(t)).cloned().collect(),
                    });
                }
                // As stored: the other columns may have changed since the read (PostgreSQL).
                let after = load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Changed { before, after, events })
            })
        })
        .await
    }

    pub async fn get_conversation(
        &self,
        workspace_id: &WorkspaceId,
        id: &ConversationId,
    ) -> Result<Conversation> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM conversations WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.reader())
        .await?;
        from_row(&r)
    }

    /// Conversations by most recent activity, filtered, after a keyset cursor.
    pub async fn list_conversations(
        &self,
        workspace_id: &WorkspaceId,
        filter: &ConversationFilter,
        cursor: Option<&ActivityCursor>,
        limit: i64,
    ) -> Result<Vec<Conversation>> {
        self.list_conversations_by(workspace_id, filter, ListSort::Activity, cursor, limit)
            .await
    }

    /// The conversation list in `sort`'s order, from `cursor` (the last
    /// row's [`ListSort::key`] and id) on.
    pub async fn list_conversations_by(
        &self,
        workspace_id: &WorkspaceId,
        filter: &ConversationFilter,
        sort: ListSort,
        cursor: Option<&ActivityCursor>,
        limit: i64,
    ) -> Result<Vec<Conversation>> {
        macro_rules! list_sql {
            ($scope:literal, $key:expr, [$($pg:ident)?]) => {
                concat!(
                    "SELECT ",
                    cols!(),
                    " FROM conversations WHERE ",
                    $scope,
                    " AND ",
                    filters_sql!($($pg)?),
                    " AND (CAST($10 AS BIGINT) IS NULL OR (",
                    $key,
                    ") < $10 OR ((",
                    $key,
                    ") = $10 AND id < $11))
                    ORDER BY ",
                    $key,
                    " DESC, id DESC LIMIT $12"
                )
            };
        }
        macro_rules! by_sort {
            ($scope:literal, $pg:tt) => {
                match sort {
                    ListSort::Activity => list_sql!($scope, "last_activity_at", $pg),
                    ListSort::Created => list_sql!($scope, "created_at", $pg),
                    ListSort::Priority => list_sql!(
                        $scope,
                        concat!(
                            "(",
                            crate::routing::rank_sql!(),
                            ") * 10000000000000 + last_activity_at"
                        ),
                        $pg
                    ),
                    ListSort::Waiting => {
                        list_sql!($scope, "-COALESCE(waiting_since, 9000000000000000)", $pg)
                    }
                }
            };
        }
        // One contact's conversations go through the contact index (a plain
        // equality the planner can use); scanning the workspace's activity
        // index for them made every visitor's `hello` O(conversations).
        let sql = match (filter.contact_id.is_some(), self.uses_pg()) {
            (true, false) => by_sort!("contact_id = $6 AND workspace_id = $1", []),
            (true, true) => by_sort!("contact_id = $6 AND workspace_id = $1", [pg]),
            (false, false) => by_sort!("workspace_id = $1", []),
            (false, true) => by_sort!("workspace_id = $1", [pg]),
        };
        // Unnamed on PostgreSQL, so each page is planned with its
        // parameters (a cached statement may switch to a generic plan, in
        // which the statuses are not a constant to estimate).
        let rows = bind_filters(sqlx::query(sql), workspace_id, filter)
            .persistent(!self.uses_pg())
            .bind(cursor.map(|c| c.key))
            .bind(cursor.map(|c| c.id.as_str()).unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// How many conversations `filter` finds (its assignee part aside) in
    /// each of the list's views: assigned to `me`, unassigned, all.
    pub async fn count_conversations(
        &self,
        workspace_id: &WorkspaceId,
        filter: &ConversationFilter,
        me: Option<&UserId>,
    ) -> Result<ViewCounts> {
        let filter = ConversationFilter {
            assignee_id: None,
            unassigned: false,
            ..filter.clone()
        };
        macro_rules! count_sql {
            ($($pg:ident)?) => {
                concat!(
                    "SELECT COUNT(*) AS total,
                        COALESCE(SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS unassigned,
                        COALESCE(SUM(CASE WHEN assignee_id = $10 THEN 1 ELSE 0 END), 0) AS mine
                 FROM conversations WHERE workspace_id = $1 AND ",
                    filters_sql!($($pg)?)
                )
            };
        }
        let sql = if self.uses_pg() {
            count_sql!(pg)
        } else {
            count_sql!()
        };
        let r = bind_filters(sqlx::query(sql), workspace_id, &filter)
            .bind(me.map(UserId::as_str).unwrap_or(""))
            .fetch_one(self.reader())
            .await?;
        Ok(ViewCounts {
            mine: r.try_get("mine")?,
            unassigned: r.try_get("unassigned")?,
            all: r.try_get("total")?,
        })
    }

    /// Changes the status through the state machine; returns the conversation
    /// before and after.
    pub async fn change_status(
        &self,
        workspace_id: &WorkspaceId,
        id: &ConversationId,
        to: ConversationStatus,
        actor: Actor,
    ) -> Result<Changed> {
        if to.is_routing_only() {
            // A line needs a group (transfer); the bot is set by rules.
            return Err(StoreError::Invalid(format!(
                "status {to} is set by routing: transfer the conversation to a group to put it in a line"
            )));
        }
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = load(c, &ws, &cid).await?;
                let mut after = before.clone();
                let (mut changes, at) = (Vec::new(), now_ms());
                set_status(c, &mut after, to, &mut changes, at).await?;
                let events =
                    events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Changed {
                    before,
                    after,
                    events,
                })
            })
        })
        .await
    }

    /// Snoozes an open or pending conversation until `until` (epoch ms): it
    /// waits as `pending` and wakes by itself then ([`Store::wake_snoozed`])
    /// or earlier when the customer writes.
    pub async fn snooze(
        &self,
        workspace_id: &WorkspaceId,
        id: &ConversationId,
        until: i64,
        actor: Actor,
    ) -> Result<Changed> {
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = load(c, &ws, &cid).await?;
                let at = now_ms();
                if until <= at {
                    return Err(StoreError::Invalid(
                        "snooze until a time in the future".into(),
                    ));
                }
                let mut after = before.clone();
                let mut changes = Vec::new();
                match after.status {
                    ConversationStatus::Open => {
                        set_status(c, &mut after, ConversationStatus::Pending, &mut changes, at)
                            .await?
                    }
                    ConversationStatus::Pending => {}
                    other => {
                        return Err(StoreError::Invalid(format!(
                            "a {other} conversation cannot be snoozed; only open or pending ones"
                        )));
                    }
                }
                sqlx::query(concat!(
                    "UPDATE conversations SET snoozed_until = $2, updated_at = ",
                    bump_updated!("$3"),
                    " WHERE id = $1"
                ))
                .bind(&cid)
                .bind(until)
                .bind(at)
                .execute(&mut *c)
                .await?;
                changes.push(Ev::ConversationSnoozed { until });
                let after = load(c, &ws, &cid).await?;
                let events =
                    events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Changed {
                    before,
                    after,
                    events,
                })
            })
        })
        .await
    }

    /// Gives an unassigned active conversation to the agent who just
    /// answered it, whatever their load (they chose to); `None`: somebody
    /// has it by now, or it is not active.
    pub async fn take_on_reply(
        &self,
        workspace_id: &WorkspaceId,
        id: &ConversationId,
        user_id: &UserId,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid, uid) = (workspace_id.clone(), id.clone(), user_id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = load(c, &ws, &cid).await?;
                if before.assignee_id.is_some() || !before.status.is_active() {
                    return Ok(None);
                }
                let at = now_ms();
                let n = sqlx::query(concat!(
                    "UPDATE conversations SET assignee_id = $2, queued_at = NULL, updated_at = ",
                    bump_updated!("$3"),
                    ", status = CASE WHEN status IN ('queued', 'bot') THEN 'open' ELSE status END
                     WHERE id = $1 AND assignee_id IS NULL AND status = $4
                       AND EXISTS (SELECT 1 FROM users u WHERE u.id = $2 AND u.workspace_id = $5 AND u.active = 1)"
                ))
                .bind(&cid)
                .bind(&uid)
                .bind(at)
                .bind(before.status.as_str())
                .bind(&ws)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                let mut changes = Vec::new();
                if before.status.is_routing_only() {
                    record_status(&before, ConversationStatus::Open, &mut changes)?;
                }
                changes.push(Ev::ConversationAssigned { from: None, to: uid, group: None, by: AssignedBy::Reply });
                let after = load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Some(Changed { before, after, events }))
            })
        })
        .await
    }

    /// Wakes snoozed conversations whose time has come (at most `limit`),
    /// across workspaces: each is `open` again, by the system (`actor`).
    pub async fn wake_snoozed(&self, now: i64, limit: i64, actor: Actor) -> Result<Vec<Changed>> {
        let due: Vec<(WorkspaceId, ConversationId)> = sqlx::query(
            "SELECT workspace_id, id FROM conversations
             WHERE snoozed_until IS NOT NULL AND snoozed_until <= $1 AND status = 'pending'
             ORDER BY snoozed_until LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("workspace_id")?, r.try_get("id")?)))
        .collect::<Result<_>>()?;
        let mut woke = Vec::with_capacity(due.len());
        for (ws, cid) in due {
            let actor = actor.clone();
            let changed = self
                .write(move |c| {
                    Box::pin(async move {
                        let before = load(c, &ws, &cid).await?;
                        // Woken meanwhile (the customer wrote, an agent acted).
                        if before.status != ConversationStatus::Pending
                            || before.snoozed_until.is_none_or(|t| t > now)
                        {
                            return Ok(None);
                        }
                        let (mut after, mut changes, at) = (before.clone(), Vec::new(), now_ms());
                        set_status(c, &mut after, ConversationStatus::Open, &mut changes, at)
                            .await?;
                        let events =
                            events::store_all(c, &ws, Some(&after), None, &actor, changes, at)
                                .await?;
                        Ok(Some(Changed {
                            before,
                            after,
                            events,
                        }))
                    })
                })
                .await?;
            woke.extend(changed);
        }
        Ok(woke)
    }

    /// Sets (or clears, with `None`) the assignee. The assignee must be an
    /// active member of the same workspace. The single `assignee_id` column
    /// is what keeps "at most one assignee" true.
    pub async fn assign(
        &self,
        workspace_id: &WorkspaceId,
        id: &ConversationId,
        assignee_id: Option<UserId>,
        actor: Actor,
    ) -> Result<Changed> {
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let conv = load(c, &ws, &cid).await?;
                if let Some(uid) = &assignee_id {
                    let ok = sqlx::query("SELECT 1 AS ok FROM users WHERE id = $1 AND workspace_id = $2 AND active = 1")
                        .bind(uid)
                        .bind(&ws)
                        .fetch_optional(&mut *c)
                        .await?;
                    if ok.is_none() {
                        return Err(StoreError::Invalid(format!("no active agent {uid} in this workspace")));
                    }
                }
                if conv.assignee_id == assignee_id {
                    return Ok(Changed::nothing(conv));
                }
                let at = now_ms();
                // An assignment takes it out of a line or from the bot: an agent has it now.
                let takes_over = assignee_id.is_some() && conv.status.is_routing_only();
                // Conditional on the status and assignee read: a concurrent
                // resolve, claim or routing assignment makes this a retryable conflict.
                let n = sqlx::query(concat!(
                    "UPDATE conversations SET assignee_id = $2, updated_at = ",
                    bump_updated!("$3"),
                    ",
                            queued_at = CASE WHEN CAST($2 AS TEXT) IS NULL THEN queued_at ELSE NULL END,
                            status = CASE WHEN CAST($2 AS TEXT) IS NOT NULL AND status IN ('queued', 'bot') THEN 'open' ELSE status END
                     WHERE id = $1 AND status = $4
                       AND (assignee_id = $5 OR (assignee_id IS NULL AND CAST($5 AS TEXT) IS NULL))",
                ))
                .bind(&conv.id)
                .bind(assignee_id.as_deref())
                .bind(at)
                .bind(conv.status.as_str())
                .bind(conv.assignee_id.as_deref())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::Conflict("the conversation changed concurrently; retry".into()));
                }
                let mut changes = Vec::new();
                if takes_over {
                    record_status(&conv, ConversationStatus::Open, &mut changes)?;
                }
                changes.push(match (&assignee_id, &conv.assignee_id) {
                    (Some(to), from) => Ev::ConversationAssigned { from: from.clone(), to: to.clone(), group: None, by: AssignedBy::Manual },
                    (None, Some(from)) => Ev::ConversationUnassigned { from: from.clone() },
                    (None, None) => return Ok(Changed::nothing(conv)),
                });
                let after = load(c, &ws, &cid).await?;
                let events = events::store_all(c, &ws, Some(&after), None, &actor, changes, at).await?;
                Ok(Changed { before: conv, after, events })
            })
        })
        .await
    }

    /// Records that `reader_id` has read up to `seq`; only ever moves forward.
    /// Returns whether the position advanced.
    pub async fn mark_read(
        &self,
        conversation_id: &ConversationId,
        reader_kind: &str,
        reader_id: &str,
        seq: i64,
    ) -> Result<bool> {
        let (cid, kind, rid) = (
            conversation_id.clone(),
            reader_kind.to_string(),
            reader_id.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "INSERT INTO conversation_reads (conversation_id, reader_id, reader_kind, seq, updated_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (conversation_id, reader_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
                     WHERE conversation_reads.seq < excluded.seq",
                )
                .bind(&cid)
                .bind(&rid)
                .bind(&kind)
                .bind(seq)
                .bind(now_ms())
                .execute(&mut *c)
                .await?
                .rows_affected();
                Ok(n > 0)
            })
        })
        .await
    }

    /// How far each side has read a conversation: the visitor's position and
    /// the furthest any agent has read (0 where nobody has). A client that
    /// reloads asks for these, as the `read` frames it saw are gone.
    pub async fn read_positions(&self, conversation_id: &ConversationId) -> Result<(i64, i64)> {
        let rows = sqlx::query(
            "SELECT reader_kind, MAX(seq) AS seq FROM conversation_reads
             WHERE conversation_id = $1 GROUP BY reader_kind",
        )
        .bind(conversation_id)
        .fetch_all(self.reader())
        .await?;
        let (mut visitor, mut agent) = (0, 0);
        for r in rows {
            let kind: String = r.try_get("reader_kind")?;
            let seq: i64 = r.try_get("seq")?;
            match kind.as_str() {
                "visitor" => visitor = seq,
                "agent" => agent = seq,
                _ => {}
            }
        }
        Ok((visitor, agent))
    }

    /// Where `reader_id` has read up to in a conversation (0 if never).
    pub async fn read_position(
        &self,
        conversation_id: &ConversationId,
        reader_id: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "SELECT seq FROM conversation_reads WHERE conversation_id = $1 AND reader_id = $2",
        )
        .bind(conversation_id)
        .bind(reader_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(match r {
            Some(r) => r.try_get("seq")?,
            None => 0,
        })
    }
}
