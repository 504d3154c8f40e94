//! The sensitive-word filter's rows: each workspace's words with their
//! action, a revision bumped with every change (servers cache a compiled
//! matcher and only ask "did it move?" every few seconds), and the messages
//! flagged for review. Checking a word (length, characters) and matching are
//! the server's and kefu-bot's; here they are rows.

use crate::{Result, Store, StoreError, new_id, now_ms};
use kefu_core::{ConversationId, Sender, SenderKind, WorkspaceId, sensitive::SensitiveAction};
use serde::Serialize;
use sqlx::{AnyConnection, Row, any::AnyRow};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A word of a workspace's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SensitiveWord {
    /// Trimmed and ASCII-lowercased (matching ignores ASCII case).
    pub word: String,
    pub action: SensitiveAction,
    pub created_at: i64,
    /// The admin's user id, or `import` for words from a file.
    pub created_by: String,
}

/// What setting a batch of words did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SensitiveImportSummary {
    /// New words.
    pub added: u64,
    /// Words that were listed with another action.
    pub updated: u64,
    /// Words listed already with this action.
    pub unchanged: u64,
}

/// A message to keep for review (its `flag` words, as written).
#[derive(Debug, Clone)]
pub struct NewSensitiveFlag {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub message_id: String,
    pub sender: Sender,
    pub words: Vec<String>,
    /// What happened to the stored message: `flag` (unchanged) or `mask`.
    pub action: SensitiveAction,
}

/// A flagged message and whether someone reviewed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SensitiveFlag {
    pub id: String,
    pub conversation_id: ConversationId,
    pub message_id: String,
    pub sender_kind: SenderKind,
    pub sender_id: String,
    /// The flag words found, as written in the message.
    pub words: Vec<String>,
    /// What happened to the stored message: `flag` (unchanged) or `mask`.
    pub action: SensitiveAction,
    /// The message as stored (empty if it was deleted since).
    pub content: String,
    pub created_at: i64,
    pub reviewed_at: Option<i64>,
    /// The user id of the agent who reviewed it.
    pub reviewed_by: Option<String>,
}

/// Which flags a list shows.
#[derive(Debug, Clone, Default)]
pub struct SensitiveFlagFilter {
    /// `Some(false)`: waiting for review; `Some(true)`: reviewed.
    pub reviewed: Option<bool>,
    pub conversation_id: Option<ConversationId>,
    pub sender_kind: Option<SenderKind>,
}

fn action_of(s: &str) -> Result<SensitiveAction> {
    s.parse().map_err(StoreError::Corrupt)
}

fn word_row(r: &AnyRow) -> Result<SensitiveWord> {
    Ok(SensitiveWord {
        word: r.try_get("word")?,
        action: action_of(&r.try_get::<String, _>("action")?)?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

const FLAG_COLS: &str =
    "f.id, f.conversation_id, f.message_id, f.sender_kind, f.sender_id, f.words, f.action,
     f.created_at, f.reviewed_at, f.reviewed_by, COALESCE(m.content, '') AS content";

fn flag_row(r: &AnyRow) -> Result<SensitiveFlag> {
    let words: String = r.try_get("words")?;
    Ok(SensitiveFlag {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        message_id: r.try_get("message_id")?,
        sender_kind: r
            .try_get::<String, _>("sender_kind")?
            .parse()
            .map_err(StoreError::Corrupt)?,
        sender_id: r.try_get("sender_id")?,
        words: serde_json::from_str(&words).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        action: action_of(&r.try_get::<String, _>("action")?)?,
        content: r.try_get("content")?,
        created_at: r.try_get("created_at")?,
        reviewed_at: r.try_get("reviewed_at")?,
        reviewed_by: r.try_get("reviewed_by")?,
    })
}

/// Moves the workspace's revision on (inside the write that changed its words).
async fn bump(c: &mut AnyConnection, ws: &WorkspaceId) -> Result<()> {
    sqlx::query(
        "INSERT INTO sensitive_revisions (workspace_id, revision) VALUES ($1, 1)
         ON CONFLICT (workspace_id) DO UPDATE SET revision = sensitive_revisions.revision + 1",
    )
    .bind(ws)
    .execute(&mut *c)
    .await?;
    Ok(())
}

impl Store {
    /// Every word of the workspace, in word order (the matcher and the export).
    pub async fn sensitive_words(&self, ws: &WorkspaceId) -> Result<Vec<SensitiveWord>> {
        let rows = sqlx::query(
            "SELECT word, action, created_at, created_by FROM sensitive_words
             WHERE workspace_id = $1 ORDER BY word",
        )
        .bind(ws)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(word_row).collect()
    }

    /// Changes whenever the workspace's words do (0: never had any). A
    /// matcher built at one revision is stale at another.
    pub async fn sensitive_revision(&self, ws: &WorkspaceId) -> Result<i64> {
        let r = sqlx::query("SELECT revision FROM sensitive_revisions WHERE workspace_id = $1")
            .bind(ws)
            .fetch_optional(self.reader())
            .await?;
        Ok(match r {
            Some(r) => r.try_get("revision")?,
            None => 0,
        })
    }

    /// Adds words or changes their action (`words` already checked and
    /// normalized by the caller; a word given twice keeps its last action),
    /// in one write: either all of them or, when the list would grow past
    /// `max_words`, none (`Invalid`).
    pub async fn sensitive_set(
        &self,
        ws: &WorkspaceId,
        words: Vec<(String, SensitiveAction)>,
        by: &str,
        max_words: usize,
    ) -> Result<SensitiveImportSummary> {
        let (w, by) = (ws.clone(), by.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let rows = sqlx::query("SELECT word, action FROM sensitive_words WHERE workspace_id = $1")
                    .bind(&w)
                    .fetch_all(&mut *c)
                    .await?;
                let mut have: HashMap<String, String> = HashMap::with_capacity(rows.len());
                for r in &rows {
                    have.insert(r.try_get("word")?, r.try_get("action")?);
                }
                let mut wanted: HashMap<String, SensitiveAction> = HashMap::new();
                let mut order = Vec::new();
                for (word, action) in words {
                    if wanted.insert(word.clone(), action).is_none() {
                        order.push(word);
                    }
                }
                let added = order.iter().filter(|w| !have.contains_key(*w)).count();
                if have.len() + added > max_words {
                    return Err(StoreError::Invalid(format!(
                        "a workspace may have at most {max_words} sensitive words; it has {} and this adds {added}",
                        have.len()
                    )));
                }
                let mut sum = SensitiveImportSummary::default();
                let now = now_ms();
                for word in order {
                    let Some(action) = wanted.get(&word).copied() else {
                        continue;
                    };
                    match have.get(&word) {
                        Some(a) if a == action.as_str() => sum.unchanged += 1,
                        Some(_) => {
                            sqlx::query("UPDATE sensitive_words SET action = $3 WHERE workspace_id = $1 AND word = $2")
                                .bind(&w)
                                .bind(&word)
                                .bind(action.as_str())
                                .execute(&mut *c)
                                .await?;
                            sum.updated += 1;
                        }
                        None => {
                            sqlx::query(
                                "INSERT INTO sensitive_words (workspace_id, word, action, created_at, created_by)
                                 VALUES ($1, $2, $3, $4, $5)",
                            )
                            .bind(&w)
                            .bind(&word)
                            .bind(action.as_str())
                            .bind(now)
                            .bind(&by)
                            .execute(&mut *c)
                            .await?;
                            sum.added += 1;
                        }
                    }
                }
                if sum.added + sum.updated > 0 {
                    bump(c, &w).await?;
                }
                Ok(sum)
            })
        })
        .await
    }

    /// Removes words from the list; how many were there.
    pub async fn sensitive_delete(&self, ws: &WorkspaceId, words: Vec<String>) -> Result<u64> {
        let w = ws.clone();
        self.write(move |c| {
            Box::pin(async move {
                let mut n = 0;
                for word in &words {
                    n += sqlx::query(
                        "DELETE FROM sensitive_words WHERE workspace_id = $1 AND word = $2",
                    )
                    .bind(&w)
                    .bind(word)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                }
                if n > 0 {
                    bump(c, &w).await?;
                }
                Ok(n)
            })
        })
        .await
    }

    /// Keeps a message for review; a message is kept once (a second call
    /// for it returns the first record).
    pub async fn sensitive_flag(&self, f: NewSensitiveFlag) -> Result<SensitiveFlag> {
        let (ws, msg) = (f.workspace_id.clone(), f.message_id.clone());
        let words =
            serde_json::to_string(&f.words).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO sensitive_flags (id, workspace_id, conversation_id, message_id, sender_kind, sender_id, words, action, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (message_id) DO NOTHING",
                )
                .bind(new_id())
                .bind(&f.workspace_id)
                .bind(&f.conversation_id)
                .bind(&f.message_id)
                .bind(f.sender.kind.as_str())
                .bind(&f.sender.id)
                .bind(&words)
                .bind(f.action.as_str())
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLAG_COLS} FROM sensitive_flags f LEFT JOIN messages m ON m.id = f.message_id
             WHERE f.workspace_id = $1 AND f.message_id = $2"
        )))
        .bind(&ws)
        .bind(&msg)
        .fetch_one(self.reader())
        .await?;
        flag_row(&r)
    }

    /// Flags, newest first, before the flag id `before`.
    pub async fn sensitive_flags(
        &self,
        ws: &WorkspaceId,
        f: &SensitiveFlagFilter,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SensitiveFlag>> {
        let mut sql = format!(
            "SELECT {FLAG_COLS} FROM sensitive_flags f LEFT JOIN messages m ON m.id = f.message_id
             WHERE f.workspace_id = $1"
        );
        let mut binds: Vec<String> = Vec::new();
        let mut n = 1;
        if let Some(b) = before {
            n += 1;
            sql.push_str(&format!(" AND f.id < ${n}"));
            binds.push(b.to_string());
        }
        match f.reviewed {
            Some(true) => sql.push_str(" AND f.reviewed_at IS NOT NULL"),
            Some(false) => sql.push_str(" AND f.reviewed_at IS NULL"),
            None => {}
        }
        if let Some(c) = &f.conversation_id {
            n += 1;
            sql.push_str(&format!(" AND f.conversation_id = ${n}"));
            binds.push(c.to_string());
        }
        if let Some(k) = f.sender_kind {
            n += 1;
            sql.push_str(&format!(" AND f.sender_kind = ${n}"));
            binds.push(k.as_str().to_string());
        }
        n += 1;
        sql.push_str(&format!(" ORDER BY f.id DESC LIMIT ${n}"));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ws);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(self.reader()).await?;
        rows.iter().map(flag_row).collect()
    }

    /// Marks a flag reviewed by `by` (the first reviewer and time stay), or
    /// open again; `NotFound` outside the workspace.
    pub async fn sensitive_review(
        &self,
        ws: &WorkspaceId,
        id: &str,
        by: &str,
        reviewed: bool,
    ) -> Result<SensitiveFlag> {
        let (w, i, by) = (ws.clone(), id.to_string(), by.to_string());
        let n = self
            .write(move |c| {
                Box::pin(async move {
                    let q = if reviewed {
                        sqlx::query(
                            "UPDATE sensitive_flags SET reviewed_at = COALESCE(reviewed_at, $3), reviewed_by = COALESCE(reviewed_by, $4)
                             WHERE workspace_id = $1 AND id = $2",
                        )
                        .bind(&w)
                        .bind(&i)
                        .bind(now_ms())
                        .bind(&by)
                    } else {
                        sqlx::query(
                            "UPDATE sensitive_flags SET reviewed_at = NULL, reviewed_by = NULL
                             WHERE workspace_id = $1 AND id = $2",
                        )
                        .bind(&w)
                        .bind(&i)
                    };
                    Ok(q.execute(&mut *c).await?.rows_affected())
                })
            })
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLAG_COLS} FROM sensitive_flags f LEFT JOIN messages m ON m.id = f.message_id
             WHERE f.workspace_id = $1 AND f.id = $2"
        )))
        .bind(ws)
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        flag_row(&r)
    }
}
