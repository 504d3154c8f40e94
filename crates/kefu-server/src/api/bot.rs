//! The bot for agents: assist (the knowledge base's best answers to the
//! visitor's latest message, to insert with one click) and the questions
//! the bot could not answer (to turn into entries or dismiss).

use super::Page;
use crate::{
    app::SharedState,
    auth::{Scoped, need},
    conversations::visible_conversation,
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::extract::State;
use kefu_bot::text;
use kefu_core::{ConversationId, SenderKind};
use kefu_store::BotQuestion;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Suggestions assist offers at most.
const SUGGESTIONS: usize = 3;

/// One knowledge-base answer assist suggests.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub entry_id: String,
    pub question: String,
    pub answer: String,
    /// The fused score (0..=1).
    pub score: f32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Assist {
    /// The visitor message the suggestions answer (none: the visitor has
    /// not written yet).
    pub seq: Option<i64>,
    pub message: Option<String>,
    /// Best first; empty when nothing in the knowledge base matches.
    pub suggestions: Vec<Suggestion>,
}

/// Assist: the knowledge base's best answers to the visitor's latest
/// message in a conversation the caller may see.
#[utoipa::path(get, operation_id = "conversations_assist", path = "/api/v1/conversations/{id}/assist", tag = "bot", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = Assist), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn assist(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<ApiJson<Assist>> {
    let conv = visible_conversation(&state, &who, &id).await?;
    let from = (conv.last_seq - 50).max(0);
    let recent = state
        .store
        .list_messages(&conv.id, from, None, 50, false)
        .await?;
    let Some(last) = recent
        .iter()
        .rev()
        .find(|m| m.sender.kind == SenderKind::Visitor && !m.content.trim().is_empty())
    else {
        return Ok(ApiJson(Assist {
            seq: None,
            message: None,
            suggestions: Vec::new(),
        }));
    };
    let ix = state.bots.index(&state, who.workspace_id()).await?;
    let question = last.content.clone();
    // The plugins the conversation's inbox gives its bot (lexical, and the
    // semantic one where it is on), so assist finds what the bot would.
    let inbox = state
        .inboxes
        .get(&state.store, &conv.workspace_id, &conv.inbox_id)
        .await?;
    let fused = crate::bot::candidates(
        &state,
        &conv.workspace_id,
        &ix,
        &inbox.bot.plugins,
        &question,
        text::detect(&question),
    )
    .await;
    let suggestions = fused
        .iter()
        .filter(|f| f.score > 0.0)
        .filter_map(|f| {
            let e = ix.entries.get(&f.entry)?;
            Some(Suggestion {
                entry_id: e.id.clone(),
                question: e.question.clone(),
                answer: e.answer.clone(),
                score: f.score,
            })
        })
        .take(SUGGESTIONS)
        .collect();
    Ok(ApiJson(Assist {
        seq: Some(last.seq),
        message: Some(question),
        suggestions,
    }))
}

/// Query of the unanswered-questions list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuestionsQuery {
    /// `open` (default), `done` or `dismissed`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<i64>,
}

/// Questions the bot could not answer (it handed off, was not confident,
/// or got a thumbs-down), newest first.
#[utoipa::path(get, operation_id = "bot_questions_list", path = "/api/v1/bot/questions", tag = "bot", security(("bearer" = [])), params(QuestionsQuery),
    responses((status = 200, description = "Success", body = Page<BotQuestion>), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn questions(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiQuery(q): ApiQuery<QuestionsQuery>,
) -> ApiResult<ApiJson<Page<BotQuestion>>> {
    let limit = super::page_limit(q.limit)?;
    let status = q.status.as_deref().unwrap_or("open");
    if !kefu_store::QUESTION_STATUSES.contains(&status) {
        return Err(ApiError::validation(
            "status must be open, done or dismissed",
        ));
    }
    let rows = state
        .store
        .list_bot_questions(who.workspace_id(), status, q.cursor.as_deref(), limit + 1)
        .await?;
    Ok(ApiJson(super::page_of(rows, limit, |r| r.id.clone())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionUpdate {
    /// `done` (an entry was written for it), `dismissed`, or `open` again.
    pub status: String,
}

/// Mark an unanswered question done or dismissed.
#[utoipa::path(patch, operation_id = "bot_questions_update", path = "/api/v1/bot/questions/{id}", tag = "bot", security(("bearer" = [])), params(("id" = String, Path)), request_body = QuestionUpdate,
    responses((status = 200, description = "Success", body = BotQuestion), (status = 404, description = "Not found", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update_question(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<QuestionUpdate>,
) -> ApiResult<ApiJson<BotQuestion>> {
    Ok(ApiJson(
        state
            .store
            .set_bot_question_status(who.workspace_id(), &id, &req.status)
            .await
            .map_err(|e| ApiError::from_store(e, "question"))?,
    ))
}
