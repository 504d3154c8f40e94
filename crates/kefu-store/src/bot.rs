//! The bot in conversations: taking a conversation (`to_bot`), giving it to
//! people (`hand_off`), each conversation's bot session (turns, the last
//! "did you mean" choices, the hand-off), visitors' thumbs on answers, and
//! the questions it could not answer.

use crate::{
    Actor, Changed, Conversation, Result, Store, StoreError, conversations, events, new_id, now_ms,
};
use kefu_core::{
    ConversationId, ConversationStatus, WorkspaceId, bot::HandOffReason,
    event::ConversationEvent as Ev,
};
use serde::Serialize;
use sqlx::{AnyConnection, Row, any::AnyRow};

/// What the bot remembers of one conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BotSession {
    pub conversation_id: ConversationId,
    /// Turns the bot answered or tried to.
    pub bot_turns: u32,
    /// Low-confidence turns in a row.
    pub low_streak: u32,
    /// The entry ids of its last "did you mean" (a pick answers).
    pub choices: Vec<String>,
    /// The visitor message (seq) it last took a turn on: a batch handed on
    /// again after a crash takes no turn twice.
    pub last_seq: i64,
    pub handed_off_at: Option<i64>,
    pub handoff_reason: Option<String>,
    /// The bot has had this conversation (a session is stored): it never
    /// takes it again by itself, however it left.
    pub started: bool,
}

/// A question the bot could not answer, for agents to turn into an entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BotQuestion {
    pub id: String,
    pub conversation_id: ConversationId,
    pub message_id: String,
    pub question: String,
    /// `low_confidence`, `handed_off` or `thumbs_down`.
    pub reason: String,
    /// The entry the bot thought closest, if any, and its score.
    pub best_entry: Option<String>,
    pub best_score: Option<f64>,
    /// `open`, `done` (an entry was written) or `dismissed`.
    pub status: String,
    pub created_at: i64,
}

/// A new unanswered question.
#[derive(Debug, Clone)]
pub struct NewBotQuestion {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub message_id: String,
    pub question: String,
    pub reason: String,
    pub best_entry: Option<String>,
    pub best_score: Option<f64>,
}

/// The statuses an unanswered question can be set to.
pub const QUESTION_STATUSES: [&str; 3] = ["open", "done", "dismissed"];

fn question_from_row(r: &AnyRow) -> Result<BotQuestion> {
    Ok(BotQuestion {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        message_id: r.try_get("message_id")?,
        question: r.try_get("question")?,
        reason: r.try_get("reason")?,
        best_entry: r.try_get("best_entry")?,
        best_score: r.try_get("best_score")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
    })
}

async fn load_session(
    c: &mut AnyConnection,
    conversation_id: &ConversationId,
) -> Result<Option<BotSession>> {
    let r = sqlx::query(
        "SELECT conversation_id, bot_turns, low_streak, choices, handed_off_at, handoff_reason, last_seq
         FROM bot_sessions WHERE conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| -> Result<BotSession> {
        let choices: String = r.try_get("choices")?;
        Ok(BotSession {
            conversation_id: r.try_get("conversation_id")?,
            bot_turns: u32::try_from(r.try_get::<i64, _>("bot_turns")?).unwrap_or(0),
            low_streak: u32::try_from(r.try_get::<i64, _>("low_streak")?).unwrap_or(0),
            choices: serde_json::from_str(&choices)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            last_seq: r.try_get("last_seq")?,
            handed_off_at: r.try_get("handed_off_at")?,
            handoff_reason: r.try_get("handoff_reason")?,
            started: true,
        })
    })
    .transpose()
}

async fn save_session(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    s: &BotSession,
    at: i64,
) -> Result<()> {
    let choices =
        serde_json::to_string(&s.choices).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO bot_sessions (conversation_id, workspace_id, bot_turns, low_streak, choices, handed_off_at, handoff_reason, last_seq, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (conversation_id) DO UPDATE SET bot_turns = $3, low_streak = $4, choices = $5,
            handed_off_at = COALESCE(bot_sessions.handed_off_at, $6),
            handoff_reason = COALESCE(bot_sessions.handoff_reason, $7),
            last_seq = CASE WHEN bot_sessions.last_seq > $8 THEN bot_sessions.last_seq ELSE $8 END,
            updated_at = $9",
    )
    .bind(&s.conversation_id)
    .bind(ws)
    .bind(i64::from(s.bot_turns))
    .bind(i64::from(s.low_streak))
    .bind(choices)
    .bind(s.handed_off_at)
    .bind(s.handoff_reason.as_deref())
    .bind(s.last_seq)
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

impl Store {
    /// The bot's session of a conversation (a fresh one if it never spoke there).
    pub async fn bot_session(&self, conversation_id: &ConversationId) -> Result<BotSession> {
        let mut c = self.reader().acquire().await?;
        Ok(load_session(&mut c, conversation_id)
            .await?
            .unwrap_or_else(|| BotSession {
                conversation_id: conversation_id.clone(),
                ..Default::default()
            }))
    }

    /// Stores the bot's session after a turn.
    pub async fn save_bot_session(&self, ws: &WorkspaceId, s: BotSession) -> Result<()> {
        let ws = ws.clone();
        self.write(move |c| Box::pin(async move { save_session(c, &ws, &s, now_ms()).await }))
            .await
    }

    /// Gives the bot a conversation nobody has: open and unassigned, or
    /// waiting in a line (it leaves the line). `None`: it is not such a
    /// conversation any more (someone took it meanwhile), or the bot had it
    /// before (it never takes one back by itself, whether it handed it off
    /// or an agent took it: the session stored here says so at once).
    pub async fn to_bot(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid) = (workspace_id.clone(), conversation_id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = conversations::load(c, &ws, &cid).await?;
                if before.assignee_id.is_some()
                    || !matches!(
                        before.status,
                        ConversationStatus::Open | ConversationStatus::Queued
                    )
                {
                    return Ok(None);
                }
                if load_session(c, &cid).await?.is_some() {
                    return Ok(None);
                }
                let at = now_ms();
                let Some(changes) = move_to(c, &before, ConversationStatus::Bot, at).await? else {
                    return Ok(None);
                };
                sqlx::query("UPDATE conversations SET queue_group = NULL WHERE id = $1")
                    .bind(&cid)
                    .execute(&mut *c)
                    .await?;
                let fresh = BotSession {
                    conversation_id: cid.clone(),
                    ..Default::default()
                };
                save_session(c, &ws, &fresh, at).await?;
                committed(c, before, &actor, changes, at).await.map(Some)
            })
        })
        .await
    }

    /// Gives a bot conversation to people: it becomes open and unassigned
    /// (routing takes it from there), the customer starts waiting for a
    /// person now, and the session remembers the hand-off (the bot stays
    /// silent there and never takes it back). `None`: it was not with the
    /// bot any more.
    pub async fn hand_off(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        reason: HandOffReason,
        actor: Actor,
    ) -> Result<Option<Changed>> {
        let (ws, cid) = (workspace_id.clone(), conversation_id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = conversations::load(c, &ws, &cid).await?;
                if before.status != ConversationStatus::Bot {
                    return Ok(None);
                }
                let at = now_ms();
                let Some(mut changes) = move_to(c, &before, ConversationStatus::Open, at).await?
                else {
                    return Ok(None);
                };
                sqlx::query("UPDATE conversations SET waiting_since = $2 WHERE id = $1")
                    .bind(&cid)
                    .bind(at)
                    .execute(&mut *c)
                    .await?;
                mark_handed_off(c, &ws, &cid, reason, at).await?;
                changes.push(Ev::ConversationHandedOff { reason });
                committed(c, before, &actor, changes, at).await.map(Some)
            })
        })
        .await
    }

    /// Records that a conversation left the bot some other way (an agent
    /// took it): the bot never takes it back by itself.
    pub async fn note_left_bot(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        reason: HandOffReason,
    ) -> Result<()> {
        let (ws, cid) = (workspace_id.clone(), conversation_id.clone());
        self.write(move |c| {
            Box::pin(async move { mark_handed_off(c, &ws, &cid, reason, now_ms()).await })
        })
        .await
    }

    /// A visitor's thumbs on a bot answer of their own conversation (the
    /// last one counts). `NotFound`: no such bot message of theirs, or one
    /// that answered from no entry (a greeting, a "did you mean").
    pub async fn bot_feedback(
        &self,
        workspace_id: &WorkspaceId,
        contact_id: &kefu_core::ContactId,
        message_id: &str,
        helpful: bool,
    ) -> Result<(ConversationId, Option<String>)> {
        let (ws, contact, mid) = (
            workspace_id.clone(),
            contact_id.clone(),
            message_id.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "SELECT m.conversation_id, m.bot FROM messages m JOIN conversations v ON v.id = m.conversation_id
                     WHERE m.id = $1 AND m.workspace_id = $2 AND v.contact_id = $3 AND m.sender_kind = 'bot'",
                )
                .bind(&mid)
                .bind(&ws)
                .bind(&contact)
                .fetch_optional(&mut *c)
                .await?
                .ok_or(StoreError::NotFound)?;
                let conv: ConversationId = r.try_get("conversation_id")?;
                let mark: Option<String> = r.try_get("bot")?;
                let entry = mark
                    .and_then(|m| serde_json::from_str::<kefu_core::bot::BotMark>(&m).ok())
                    .and_then(|m| m.entry)
                    .ok_or(StoreError::NotFound)?;
                sqlx::query(
                    "INSERT INTO bot_feedback (message_id, workspace_id, conversation_id, entry_id, helpful, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (message_id) DO UPDATE SET helpful = $5, created_at = $6",
                )
                .bind(&mid)
                .bind(&ws)
                .bind(&conv)
                .bind(&entry)
                .bind(i64::from(helpful))
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                Ok((conv, Some(entry)))
            })
        })
        .await
    }

    /// Thumbs up and down per knowledge-base entry of a workspace.
    pub async fn bot_feedback_counts(
        &self,
        workspace_id: &WorkspaceId,
    ) -> Result<Vec<(String, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT entry_id, CAST(SUM(helpful) AS BIGINT) AS up, CAST(SUM(1 - helpful) AS BIGINT) AS down FROM bot_feedback
             WHERE workspace_id = $1 AND entry_id IS NOT NULL GROUP BY entry_id ORDER BY entry_id",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("entry_id")?, r.try_get("up")?, r.try_get("down")?)))
            .collect()
    }

    /// Keeps a question the bot could not answer (once per message and reason).
    pub async fn add_bot_question(&self, q: NewBotQuestion) -> Result<()> {
        self.write(move |c| {
            Box::pin(async move {
                let at = now_ms();
                sqlx::query(
                    "INSERT INTO bot_questions (id, workspace_id, conversation_id, message_id, question, reason, best_entry, best_score, status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $9)
                     ON CONFLICT (message_id, reason) DO NOTHING",
                )
                .bind(new_id())
                .bind(&q.workspace_id)
                .bind(&q.conversation_id)
                .bind(&q.message_id)
                .bind(&q.question)
                .bind(&q.reason)
                .bind(q.best_entry.as_deref())
                .bind(q.best_score)
                .bind(at)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Unanswered questions with `status`, newest first, before id `before`.
    pub async fn list_bot_questions(
        &self,
        workspace_id: &WorkspaceId,
        status: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<BotQuestion>> {
        let rows = sqlx::query(
            "SELECT id, conversation_id, message_id, question, reason, best_entry, best_score, status, created_at
             FROM bot_questions WHERE workspace_id = $1 AND status = $2 AND ($3 = '' OR id < $3)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(workspace_id)
        .bind(status)
        .bind(before.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(question_from_row).collect()
    }

    /// Marks an unanswered question `done` or `dismissed` (or `open` again).
    pub async fn set_bot_question_status(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        status: &str,
    ) -> Result<BotQuestion> {
        if !QUESTION_STATUSES.contains(&status) {
            return Err(StoreError::Invalid(format!(
                "status must be one of {}",
                QUESTION_STATUSES.join(", ")
            )));
        }
        let (ws, id, status) = (workspace_id.clone(), id.to_string(), status.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE bot_questions SET status = $3, updated_at = $4 WHERE id = $1 AND workspace_id = $2
                     RETURNING id, conversation_id, message_id, question, reason, best_entry, best_score, status, created_at",
                )
                .bind(&id)
                .bind(&ws)
                .bind(&status)
                .bind(now_ms())
                .fetch_optional(&mut *c)
                .await?
                .ok_or(StoreError::NotFound)?;
                question_from_row(&r)
            })
        })
        .await
    }
}

/// Moves `before` to status `to` inside a write; `None` when it changed
/// meanwhile (the caller leaves it be: whoever changed it decided).
async fn move_to(
    c: &mut AnyConnection,
    before: &Conversation,
    to: ConversationStatus,
    at: i64,
) -> Result<Option<Vec<Ev>>> {
    let mut conv = before.clone();
    let mut changes = Vec::new();
    match conversations::set_status(c, &mut conv, to, &mut changes, at).await {
        Ok(()) => Ok(Some(changes)),
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The conversation as the write left it, with the write's events stored.
async fn committed(
    c: &mut AnyConnection,
    before: Conversation,
    actor: &Actor,
    changes: Vec<Ev>,
    at: i64,
) -> Result<Changed> {
    let ws = before.workspace_id.clone();
    let after = conversations::load(c, &ws, &before.id).await?;
    let events = events::store_all(c, &ws, Some(&after), None, actor, changes, at).await?;
    Ok(Changed {
        before,
        after,
        events,
    })
}

async fn mark_handed_off(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    cid: &ConversationId,
    reason: HandOffReason,
    at: i64,
) -> Result<()> {
    let mut s = load_session(c, cid).await?.unwrap_or_else(|| BotSession {
        conversation_id: cid.clone(),
        ..Default::default()
    });
    if s.handed_off_at.is_none() {
        s.handed_off_at = Some(at);
        s.handoff_reason = Some(reason.as_str().to_string());
    }
    s.choices.clear();
    save_session(c, ws, &s, at).await
}
