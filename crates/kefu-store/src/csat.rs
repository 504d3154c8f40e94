//! CSAT ratings: a customer's 1–5 rating of a conversation after a resolve,
//! stored once per resolve with the `conversation_rated` event in the same
//! transaction (the reports count it from the event).

use crate::{Actor, Changed, Result, Store, StoreError, conversations, events, new_id, now_ms};
use kefu_core::{
    ContactId, ConversationId, ConversationStatus, WorkspaceId, event::ConversationEvent as Ev,
};
use serde::Serialize;
use sqlx::{Row, any::AnyRow};
use utoipa::ToSchema;

/// Longest comment, in characters.
pub const MAX_CSAT_COMMENT: usize = 1000;

/// A stored rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CsatRating {
    pub id: String,
    pub conversation_id: String,
    /// The resolve it rates (epoch ms).
    pub resolved_at: i64,
    /// 1 (bad) to 5 (good).
    pub rating: i64,
    pub comment: Option<String>,
    /// Who had the conversation when it was rated.
    pub agent_id: Option<String>,
    pub created_at: i64,
}

/// What a rating did: stored now (with its event), or found from before.
#[derive(Debug, Clone)]
pub struct Rated {
    pub rating: CsatRating,
    /// `Some` when it was stored now.
    pub changed: Option<Changed>,
}

const COLS: &str = "id, conversation_id, resolved_at, rating, comment, agent_id, created_at";

fn row(r: &AnyRow) -> Result<CsatRating> {
    Ok(CsatRating {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        resolved_at: r.try_get("resolved_at")?,
        rating: r.try_get("rating")?,
        comment: r.try_get("comment")?,
        agent_id: r.try_get("agent_id")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// The customer `contact` rates conversation `id`'s latest resolve. A
    /// second rating of the same resolve returns the first, unchanged.
    /// `Invalid` for a rating outside 1–5 or a long comment; `NotFound` for
    /// someone else's conversation; `Conflict` when it is not resolved.
    pub async fn rate_conversation(
        &self,
        workspace_id: &WorkspaceId,
        contact: &ContactId,
        id: &ConversationId,
        rating: u8,
        comment: Option<String>,
        actor: Actor,
    ) -> Result<Rated> {
        if !(1..=5).contains(&rating) {
            return Err(StoreError::Invalid("rating must be 1 to 5".into()));
        }
        let comment = comment
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CSAT_COMMENT)
        {
            return Err(StoreError::Invalid(format!(
                "the comment is longer than {MAX_CSAT_COMMENT} characters"
            )));
        }
        let (ws, cid, contact) = (workspace_id.clone(), id.clone(), contact.clone());
        self.write(move |c| {
            Box::pin(async move {
                let conv = conversations::load(c, &ws, &cid).await?;
                if conv.contact_id != contact {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query("SELECT resolved_at FROM conversations WHERE id = $1")
                    .bind(&cid)
                    .fetch_one(&mut *c)
                    .await?;
                let resolved_at: Option<i64> = r.try_get("resolved_at")?;
                let rated = matches!(conv.status, ConversationStatus::Resolved | ConversationStatus::Closed);
                let Some(resolved_at) = resolved_at.filter(|_| rated) else {
                    return Err(StoreError::Conflict("the conversation is not resolved".into()));
                };
                let at = now_ms();
                let n = sqlx::query(
                    "INSERT INTO csat_ratings (id, workspace_id, conversation_id, resolved_at, rating, comment, contact_id, agent_id, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (conversation_id, resolved_at) DO NOTHING",
                )
                .bind(new_id())
                .bind(&ws)
                .bind(&cid)
                .bind(resolved_at)
                .bind(i64::from(rating))
                .bind(&comment)
                .bind(&contact)
                .bind(conv.assignee_id.as_deref())
                .bind(at)
                .execute(&mut *c)
                .await?
                .rows_affected();
                let stored = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLS} FROM csat_ratings WHERE conversation_id = $1 AND resolved_at = $2"
                )))
                .bind(&cid)
                .bind(resolved_at)
                .fetch_one(&mut *c)
                .await?;
                let rating_row = row(&stored)?;
                if n == 0 {
                    return Ok(Rated { rating: rating_row, changed: None });
                }
                let changes = vec![Ev::ConversationRated { rating, comment }];
                let events = events::store_all(c, &ws, Some(&conv), None, &actor, changes, at).await?;
                Ok(Rated {
                    rating: rating_row,
                    changed: Some(Changed { before: conv.clone(), after: conv, events }),
                })
            })
        })
        .await
    }

    /// A conversation's ratings, oldest first.
    pub async fn conversation_ratings(
        &self,
        workspace_id: &WorkspaceId,
        id: &ConversationId,
    ) -> Result<Vec<CsatRating>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM csat_ratings WHERE conversation_id = $1 AND workspace_id = $2 ORDER BY resolved_at"
        )))
        .bind(id)
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(row).collect()
    }
}
