//! The bot's knowledge base (the entries' meaning and checks are kefu-bot's;
//! here they are rows). Imports upsert by external id in batches, so a
//! re-import of the same file changes nothing and 10,000 entries take
//! seconds.

use crate::{Result, Store, StoreError, new_id, now_ms};
use kefu_core::WorkspaceId;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use utoipa::ToSchema;

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KbEntry {
    pub id: String,
    pub external_id: Option<String>,
    pub question: String,
    pub alternatives: Vec<String>,
    pub answer: String,
    pub category: String,
    /// zh, en or both.
    pub language: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What an entry says (checked by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbFields {
    pub external_id: Option<String>,
    pub question: String,
    pub alternatives: Vec<String>,
    pub answer: String,
    pub category: String,
    pub language: String,
    pub enabled: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct KbImportSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Which entries a list shows.
#[derive(Debug, Clone, Default)]
pub struct KbFilter {
    /// Words in the question, phrasings, answer or external id (case-insensitive).
    pub q: Option<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    pub enabled: Option<bool>,
}

const COLS: &str = "id, external_id, question, alternatives, answer, category, language, enabled, created_at, updated_at";

fn row(r: &AnyRow) -> Result<KbEntry> {
    let alts: String = r.try_get("alternatives")?;
    Ok(KbEntry {
        id: r.try_get("id")?,
        external_id: r.try_get("external_id")?,
        question: r.try_get("question")?,
        alternatives: serde_json::from_str(&alts)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        answer: r.try_get("answer")?,
        category: r.try_get("category")?,
        language: r.try_get("language")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn alts_json(a: &[String]) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| "[]".into())
}

/// Rows per write of an import: big enough to be fast, small enough that
/// other writes wait at most a moment.
const IMPORT_BATCH: usize = 500;

async fn by_external(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    ext: &str,
) -> Result<Option<KbEntry>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM kb_entries WHERE workspace_id = $1 AND external_id = $2"
    )))
    .bind(ws)
    .bind(ext)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(row).transpose()
}

/// A unique-index error as the external id it is about.
fn external_taken(e: sqlx::Error, f: &KbFields) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "an entry with external id {:?} exists",
            f.external_id.as_deref().unwrap_or("")
        )),
        other => other,
    }
}

async fn insert(c: &mut AnyConnection, ws: &WorkspaceId, f: &KbFields, now: i64) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO kb_entries (id, workspace_id, external_id, question, alternatives, answer, category, language, enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&id)
    .bind(ws)
    .bind(&f.external_id)
    .bind(&f.question)
    .bind(alts_json(&f.alternatives))
    .bind(&f.answer)
    .bind(&f.category)
    .bind(&f.language)
    .bind(i64::from(f.enabled))
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| external_taken(e, f))?;
    Ok(id)
}

async fn update(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    id: &str,
    f: &KbFields,
    now: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE kb_entries SET external_id = $3, question = $4, alternatives = $5, answer = $6,
             category = $7, language = $8, enabled = $9, updated_at = $10
         WHERE id = $1 AND workspace_id = $2",
    )
    .bind(id)
    .bind(ws)
    .bind(&f.external_id)
    .bind(&f.question)
    .bind(alts_json(&f.alternatives))
    .bind(&f.answer)
    .bind(&f.category)
    .bind(&f.language)
    .bind(i64::from(f.enabled))
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(|e| external_taken(e, f))?
    .rows_affected())
}

fn same(e: &KbEntry, f: &KbFields) -> bool {
    e.question == f.question
        && e.alternatives == f.alternatives
        && e.answer == f.answer
        && e.category == f.category
        && e.language == f.language
        && e.enabled == f.enabled
}

impl Store {
    pub async fn kb_create(&self, ws: &WorkspaceId, f: KbFields) -> Result<KbEntry> {
        let w = ws.clone();
        let id = self
            .write(move |c| Box::pin(async move { insert(c, &w, &f, now_ms()).await }))
            .await?;
        self.kb_get(ws, &id).await
    }

    pub async fn kb_update(&self, ws: &WorkspaceId, id: &str, f: KbFields) -> Result<KbEntry> {
        let (w, i) = (ws.clone(), id.to_string());
        let n = self
            .write(move |c| Box::pin(async move { update(c, &w, &i, &f, now_ms()).await }))
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.kb_get(ws, id).await
    }

    pub async fn kb_delete(&self, ws: &WorkspaceId, id: &str) -> Result<()> {
        let (w, i) = (ws.clone(), id.to_string());
        let n = self
            .write(move |c| {
                Box::pin(async move {
                    Ok(
                        sqlx::query("DELETE FROM kb_entries WHERE id = $1 AND workspace_id = $2")
                            .bind(&i)
                            .bind(&w)
                            .execute(&mut *c)
                            .await?
                            .rows_affected(),
                    )
                })
            })
            .await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub async fn kb_get(&self, ws: &WorkspaceId, id: &str) -> Result<KbEntry> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM kb_entries WHERE id = $1 AND workspace_id = $2"
        )))
        .bind(id)
        .bind(ws)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound)?;
        row(&r)
    }

    /// Entries by id after `after`, filtered.
    pub async fn kb_list(
        &self,
        ws: &WorkspaceId,
        f: &KbFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<KbEntry>> {
        let mut sql = format!("SELECT {COLS} FROM kb_entries WHERE workspace_id = $1 AND id > $2");
        let mut n = 2;
        let mut binds: Vec<String> = Vec::new();
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            n += 1;
            // `%` and `_` typed by the admin are literal (both backends know ESCAPE).
            let like = format!("LIKE ${n} ESCAPE '\\'");
            sql.push_str(&format!(
                " AND (LOWER(question) {like} OR LOWER(alternatives) {like} OR LOWER(answer) {like} OR LOWER(COALESCE(external_id, '')) {like})"
            ));
            let escaped = q
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            binds.push(format!("%{escaped}%"));
        }
        if let Some(cat) = &f.category {
            n += 1;
            sql.push_str(&format!(" AND category = ${n}"));
            binds.push(cat.clone());
        }
        if let Some(l) = &f.language {
            n += 1;
            sql.push_str(&format!(" AND language = ${n}"));
            binds.push(l.clone());
        }
        if let Some(e) = f.enabled {
            sql.push_str(if e {
                " AND enabled = 1"
            } else {
                " AND enabled = 0"
            });
        }
        n += 1;
        sql.push_str(&format!(" ORDER BY id LIMIT ${n}"));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ws)
            .bind(after.unwrap_or(""));
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(self.reader()).await?;
        rows.iter().map(row).collect()
    }

    /// Every entry of the workspace (the bot builds its index from them).
    pub async fn kb_all(&self, ws: &WorkspaceId) -> Result<Vec<KbEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM kb_entries WHERE workspace_id = $1 ORDER BY id"
        )))
        .bind(ws)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(row).collect()
    }

    /// Changes when the knowledge base does: its size and the sum of its
    /// entries' change times (an edit changes its entry's time, whatever
    /// the clock did; the newest time alone would miss an edit stamped
    /// earlier than it, on another node). An index built at one revision is
    /// stale at another.
    pub async fn kb_revision(&self, ws: &WorkspaceId) -> Result<(i64, i64)> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(updated_at), 0) AS BIGINT) AS at FROM kb_entries WHERE workspace_id = $1",
        )
        .bind(ws)
        .fetch_one(self.reader())
        .await?;
        Ok((r.try_get("n")?, r.try_get("at")?))
    }

    /// Imports entries: one with a known external id is updated (or left
    /// as it is when nothing changed), anything else is created. Runs in
    /// batches; a failing batch leaves the earlier ones imported.
    pub async fn kb_import(
        &self,
        ws: &WorkspaceId,
        entries: Vec<KbFields>,
    ) -> Result<KbImportSummary> {
        let mut sum = KbImportSummary::default();
        let mut rest = entries;
        while !rest.is_empty() {
            let batch: Vec<KbFields> = rest.drain(..rest.len().min(IMPORT_BATCH)).collect();
            let w = ws.clone();
            let s = self
                .write(move |c| {
                    Box::pin(async move {
                        let mut s = KbImportSummary::default();
                        let now = now_ms();
                        for f in &batch {
                            let existing = match &f.external_id {
                                Some(ext) => by_external(c, &w, ext).await?,
                                None => None,
                            };
                            match existing {
                                Some(e) if same(&e, f) => s.unchanged += 1,
                                Some(e) => {
                                    update(c, &w, &e.id, f, now).await?;
                                    s.updated += 1;
                                }
                                None => {
                                    insert(c, &w, f, now).await?;
                                    s.created += 1;
                                }
                            }
                        }
                        Ok(s)
                    })
                })
                .await?;
            sum.created += s.created;
            sum.updated += s.updated;
            sum.unchanged += s.unchanged;
        }
        Ok(sum)
    }
}
