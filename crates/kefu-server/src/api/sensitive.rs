//! The sensitive-word filter's API (docs/sensitive-words.md): the
//! workspace's word list (admins only: the list stays private, agents learn
//! only the words that blocked their own message), bulk import and export as
//! text, and the messages flagged for review (agents read them, admins mark
//! them reviewed). Every change applies on this node to the next message.

use super::{Page, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Admin, Scoped, need},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
    sensitive::list,
};
use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use kefu_core::{ConversationId, SenderKind, WorkspaceId, sensitive::SensitiveAction};
use kefu_store::{SensitiveFlag, SensitiveFlagFilter, SensitiveImportSummary, SensitiveWord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What `created_by` says for words that came from a file.
const IMPORTED_BY: &str = "import";

/// Puts the changed list in force on this node (other nodes pick it up
/// within `[sensitive] recheck_ms`). The change is saved either way: a
/// failure here only delays it to the next recheck.
async fn apply_now(state: &SharedState, ws: &WorkspaceId) {
    if let Err(e) = state.sensitive.reload(state, ws).await {
        tracing::warn!(workspace_id = %ws, error = %e, "reloading sensitive words failed; the next recheck applies the change");
    }
}

/// The workspace's words, in word order (the whole list: it is bounded by
/// `limits.max_sensitive_words`).
#[utoipa::path(get, operation_id = "sensitive_words", path = "/api/v1/sensitive/words", tag = "sensitive", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Page<SensitiveWord>), (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn list_words(
    State(state): State<SharedState>,
    Admin(who): Admin,
) -> ApiResult<ApiJson<Page<SensitiveWord>>> {
    let words = state.store.sensitive_words(who.workspace_id()).await?;
    Ok(ApiJson(Page::whole(words)))
}

/// A word as an admin adds it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WordInput {
    /// Chinese or English, matched inside words and ignoring ASCII case;
    /// stored trimmed and lowercased.
    pub word: String,
    pub action: SensitiveAction,
}

/// Add a word, or change the action of one listed already.
#[utoipa::path(post, operation_id = "sensitive_add_word", path = "/api/v1/sensitive/words", tag = "sensitive", security(("bearer" = [])), request_body = WordInput,
    responses((status = 201, description = "Added", body = SensitiveWord), (status = 200, description = "Listed already; its action is now this one", body = SensitiveWord),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Empty, too long or with control characters; or the list is full (limits.max_sensitive_words)", body = ErrorBody)))]
pub async fn add_word(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<WordInput>,
) -> ApiResult<(StatusCode, ApiJson<SensitiveWord>)> {
    let limits = &state.cfg.limits;
    let word = list::normalize(&req.word, limits.max_sensitive_word_chars)
        .map_err(ApiError::validation)?;
    let ws = who.workspace_id();
    let sum = state
        .store
        .sensitive_set(
            ws,
            vec![(word.clone(), req.action)],
            &who.sender().id,
            limits.max_sensitive_words,
        )
        .await?;
    apply_now(&state, ws).await;
    let saved = state
        .store
        .sensitive_words(ws)
        .await?
        .into_iter()
        .find(|w| w.word == word)
        .ok_or_else(|| ApiError::not_found("sensitive word"))?;
    let status = if sum.added > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(saved)))
}

/// Remove a word (the path segment is the word, URL-encoded).
#[utoipa::path(delete, operation_id = "sensitive_delete_word", path = "/api/v1/sensitive/words/{word}", tag = "sensitive", security(("bearer" = [])), params(("word" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, description = "Not an admin", body = ErrorBody), (status = 404, description = "Not listed", body = ErrorBody)))]
pub async fn delete_word(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(word): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let ws = who.workspace_id();
    let word = word.trim().to_ascii_lowercase();
    let n = state.store.sensitive_delete(ws, vec![word]).await?;
    if n == 0 {
        return Err(ApiError::not_found("sensitive word"));
    }
    apply_now(&state, ws).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The action of lines that name none: mask (default), block or flag.
    pub action: Option<SensitiveAction>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportLineError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WordImportResult {
    #[serde(flatten)]
    pub summary: SensitiveImportSummary,
    /// Lines left out, and why (the rest was imported).
    pub errors: Vec<ImportLineError>,
}

/// Import words from a text file: one word per line, optionally followed by
/// a tab and its action (what export writes); other lines take `action`.
/// Words listed already take the file's action. All or nothing as to the
/// word limit: a file that would pass it imports nothing.
#[utoipa::path(post, operation_id = "sensitive_import", path = "/api/v1/sensitive/import", tag = "sensitive", security(("bearer" = [])), params(ImportQuery),
    request_body(content = String, content_type = "text/plain", description = "One word per line (UTF-8), `word<TAB>action` to name the action"),
    responses((status = 200, description = "Imported", body = WordImportResult), (status = 400, description = "Not UTF-8 text, or an unknown action", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody), (status = 413, description = "Larger than limits.max_sensitive_import_bytes", body = ErrorBody),
        (status = 422, description = "The list would pass limits.max_sensitive_words", body = ErrorBody)))]
pub async fn import(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<ApiJson<WordImportResult>> {
    let limits = &state.cfg.limits;
    let max = limits.max_sensitive_import_bytes;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a word list may be at most {max} bytes"),
            )
        } else {
            ApiError::bad_request("bad_request", e.body_text())
        }
    })?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("bad_file", "the file must be UTF-8 text"))?;
    let (words, errors) = list::parse(
        text,
        q.action.unwrap_or(SensitiveAction::Mask),
        limits.max_sensitive_word_chars,
    );
    let ws = who.workspace_id();
    let summary = state
        .store
        .sensitive_set(ws, words, IMPORTED_BY, limits.max_sensitive_words)
        .await?;
    if summary.added + summary.updated > 0 {
        apply_now(&state, ws).await;
    }
    Ok(ApiJson(WordImportResult {
        summary,
        errors: errors
            .into_iter()
            .map(|e| ImportLineError {
                line: e.line,
                message: e.message,
            })
            .collect(),
    }))
}

/// The whole list as a text file, `word<TAB>action` per line (what import reads).
#[utoipa::path(get, operation_id = "sensitive_export", path = "/api/v1/sensitive/export", tag = "sensitive", security(("bearer" = [])),
    responses((status = 200, description = "The file", content_type = "text/plain"), (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn export(State(state): State<SharedState>, Admin(who): Admin) -> ApiResult<Response> {
    let words = state.store.sensitive_words(who.workspace_id()).await?;
    let text = list::export(words.iter().map(|w| (w.word.as_str(), w.action)));
    let mut res = text.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"sensitive-words.txt\""),
    );
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    /// open (default: waiting for review), reviewed or all.
    pub status: Option<String>,
    pub conversation_id: Option<ConversationId>,
    /// visitor, agent, api or bot.
    pub sender_kind: Option<SenderKind>,
    #[param(value_type = Option<String>)]
    pub cursor: Option<super::cursor::IdCursor>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

/// Messages with a `flag` word, newest first.
#[utoipa::path(get, operation_id = "sensitive_flags", path = "/api/v1/sensitive/flags", tag = "sensitive", security(("bearer" = [])), params(FlagQuery),
    responses((status = 200, description = "Success", body = Page<SensitiveFlag>), (status = 403, description = "A visitor, or an API key without conversations:read", body = ErrorBody),
        (status = 422, description = "Unknown status or bad limit", body = ErrorBody)))]
pub async fn list_flags(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiQuery(q): ApiQuery<FlagQuery>,
) -> ApiResult<ApiJson<Page<SensitiveFlag>>> {
    let limit = page_limit(q.limit)?;
    let reviewed = match q.status.as_deref().unwrap_or("open") {
        "open" => Some(false),
        "reviewed" => Some(true),
        "all" => None,
        other => {
            return Err(ApiError::validation(format!(
                "status must be open, reviewed or all, not {other:?}"
            )));
        }
    };
    let filter = SensitiveFlagFilter {
        reviewed,
        conversation_id: q.conversation_id,
        sender_kind: q.sender_kind,
    };
    let rows = state
        .store
        .sensitive_flags(
            who.workspace_id(),
            &filter,
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |f| f.id.clone())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// true: reviewed (the first reviewer and time stay); false: open again.
    #[serde(default = "yes")]
    pub reviewed: bool,
}

fn yes() -> bool {
    true
}

/// Mark a flagged message reviewed (or open again).
#[utoipa::path(post, operation_id = "sensitive_review", path = "/api/v1/sensitive/flags/{id}/review", tag = "sensitive", security(("bearer" = [])), params(("id" = String, Path)), request_body = ReviewInput,
    responses((status = 200, description = "Success", body = SensitiveFlag), (status = 403, description = "Not an admin", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn review(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ReviewInput>,
) -> ApiResult<ApiJson<SensitiveFlag>> {
    let f = state
        .store
        .sensitive_review(who.workspace_id(), &id, &who.sender().id, req.reviewed)
        .await
        .map_err(|e| ApiError::from_store(e, "flag"))?;
    Ok(ApiJson(f))
}
