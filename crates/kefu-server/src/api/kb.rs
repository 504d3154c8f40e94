//! The bot's knowledge base: entries (admins write, agents read), import
//! and export as JSON, CSV or a Markdown FAQ, and "try the bot": what it
//! would answer to a message, with every candidate's score and the reason
//! (docs/bot.md).

use super::{Page, page_limit, page_of};
use crate::bot::plugins::{self, PluginRun};
use crate::{
    app::SharedState,
    auth::{Admin, Scoped, need},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use kefu_bot::{
    Entry, Lang,
    formats::{self, Format},
    handoff,
    policy::{Decision, Patience, Thresholds},
    text,
};
use kefu_core::bot::BotPlugins;
use kefu_store::{KbEntry, KbFields, KbFilter, KbImportSummary, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KbQuery {
    /// Words in the question, phrasings, answer or external id.
    pub q: Option<String>,
    pub category: Option<String>,
    /// zh, en or both.
    pub language: Option<String>,
    pub enabled: Option<bool>,
    #[param(value_type = Option<String>)]
    pub cursor: Option<super::cursor::IdCursor>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

/// An entry as written by an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KbInput {
    /// Stable across imports; no spaces.
    pub external_id: Option<String>,
    pub question: String,
    #[serde(default)]
    pub alternatives: Vec<String>,
    /// Plain text (links and images as text; never rendered as HTML).
    pub answer: String,
    #[serde(default)]
    pub category: String,
    /// zh, en or both (default).
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Checks an entry with the bot's own rules; the row to store.
fn fields(e: Entry) -> ApiResult<KbFields> {
    checked(e).map_err(|e| ApiError::validation(e.to_string()))
}

fn checked(e: Entry) -> Result<KbFields, kefu_bot::EntryError> {
    Ok(crate::bot::to_fields(e.normalized()?))
}

fn from_input(i: KbInput) -> ApiResult<KbFields> {
    let language = match i.language.as_deref() {
        Some(l) => l
            .parse::<Lang>()
            .map_err(|e| ApiError::validation(e.to_string()))?,
        None => Lang::Both,
    };
    fields(Entry {
        external_id: i.external_id,
        question: i.question,
        alternatives: i.alternatives,
        answer: i.answer,
        category: i.category,
        language,
        enabled: i.enabled,
    })
}

fn taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) => ApiError::conflict(m),
        other => ApiError::from_store(other, "knowledge-base entry"),
    }
}

/// Knowledge-base entries in creation order, searched and filtered.
#[utoipa::path(get, operation_id = "kb_list", path = "/api/v1/kb/entries", tag = "bot", security(("bearer" = [])), params(KbQuery),
    responses((status = 200, description = "Success", body = Page<KbEntry>), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiQuery(q): ApiQuery<KbQuery>,
) -> ApiResult<ApiJson<Page<KbEntry>>> {
    let limit = page_limit(q.limit)?;
    let language = match q.language.as_deref() {
        Some(l) => Some(
            l.parse::<Lang>()
                .map_err(|e| ApiError::validation(e.to_string()))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let filter = KbFilter {
        q: q.q,
        category: q.category.filter(|c| !c.is_empty()),
        language,
        enabled: q.enabled,
    };
    let rows = state
        .store
        .kb_list(
            who.workspace_id(),
            &filter,
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |e| e.id.clone())))
}

/// Add an entry.
#[utoipa::path(post, operation_id = "kb_create", path = "/api/v1/kb/entries", tag = "bot", security(("bearer" = [])), request_body = KbInput,
    responses((status = 201, description = "Created", body = KbEntry), (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The external id exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn create(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<KbInput>,
) -> ApiResult<(StatusCode, ApiJson<KbEntry>)> {
    let f = from_input(req)?;
    let e = state
        .store
        .kb_create(who.workspace_id(), f)
        .await
        .map_err(taken)?;
    Ok((StatusCode::CREATED, ApiJson(e)))
}

#[utoipa::path(get, operation_id = "kb_get", path = "/api/v1/kb/entries/{id}", tag = "bot", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = KbEntry), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<KbEntry>> {
    let e = state
        .store
        .kb_get(who.workspace_id(), &id)
        .await
        .map_err(taken)?;
    Ok(ApiJson(e))
}

/// Replace an entry's content.
#[utoipa::path(put, operation_id = "kb_update", path = "/api/v1/kb/entries/{id}", tag = "bot", security(("bearer" = [])), params(("id" = String, Path)), request_body = KbInput,
    responses((status = 200, description = "Success", body = KbEntry), (status = 403, description = "Not an admin", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody),
        (status = 409, description = "The external id exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<KbInput>,
) -> ApiResult<ApiJson<KbEntry>> {
    let f = from_input(req)?;
    let e = state
        .store
        .kb_update(who.workspace_id(), &id, f)
        .await
        .map_err(taken)?;
    Ok(ApiJson(e))
}

#[utoipa::path(delete, operation_id = "kb_delete", path = "/api/v1/kb/entries/{id}", tag = "bot", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, description = "Not an admin", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn delete(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state
        .store
        .kb_delete(who.workspace_id(), &id)
        .await
        .map_err(taken)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// json, csv or md.
    pub format: String,
}

fn format_of(name: &str) -> ApiResult<Format> {
    Format::from_name(name).ok_or_else(|| {
        ApiError::bad_request(
            "bad_format",
            format!("unknown format {name:?} (json, csv or md)"),
        )
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportError {
    /// 1-based: the item, the CSV row after the header, or the Markdown question.
    pub item: usize,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    #[serde(flatten)]
    pub summary: KbImportSummary,
    /// Entries left out, and why (the rest was imported).
    pub errors: Vec<ImportError>,
}

/// Import a file (the request body) in `format`: entries whose external id
/// exists are updated, the others added; importing the same file twice
/// changes nothing. Bad entries are listed and left out.
#[utoipa::path(post, operation_id = "kb_import", path = "/api/v1/kb/import", tag = "bot", security(("bearer" = [])), params(FormatQuery),
    request_body(content = String, content_type = "text/plain", description = "The file: JSON, CSV or Markdown (UTF-8)"),
    responses((status = 200, description = "Imported", body = ImportResult), (status = 400, description = "Unreadable file or unknown format", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody), (status = 413, description = "Larger than limits.max_kb_import_bytes", body = ErrorBody)))]
pub async fn import(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiQuery(q): ApiQuery<FormatQuery>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<ApiJson<ImportResult>> {
    let format = format_of(&q.format)?;
    let max = state.cfg.limits.max_kb_import_bytes;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a knowledge-base file may be at most {max} bytes"),
            )
        } else {
            ApiError::bad_request("bad_request", e.body_text())
        }
    })?;
    let body = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("bad_file", "the file must be UTF-8 text"))?;
    let read = tokio::task::spawn_blocking(move || formats::import(format, &body))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| ApiError::bad_request("bad_file", e.to_string()))?;
    let mut errors: Vec<ImportError> = read
        .errors
        .into_iter()
        .map(|e| ImportError {
            item: e.item,
            message: e.message,
        })
        .collect();
    let mut rows = Vec::with_capacity(read.entries.len());
    for (i, e) in read.entries.into_iter().enumerate() {
        match checked(e) {
            Ok(f) => rows.push(f),
            Err(err) => errors.push(ImportError {
                item: i + 1,
                message: err.to_string(),
            }),
        }
    }
    let summary = state
        .store
        .kb_import(who.workspace_id(), rows)
        .await
        .map_err(taken)?;
    Ok(ApiJson(ImportResult { summary, errors }))
}

/// The whole knowledge base as a file in `format` (what import reads).
#[utoipa::path(get, operation_id = "kb_export", path = "/api/v1/kb/export", tag = "bot", security(("bearer" = [])), params(FormatQuery),
    responses((status = 200, description = "The file"), (status = 400, description = "Unknown format", body = ErrorBody)))]
pub async fn export(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let format = format_of(&q.format)?;
    let rows = state.store.kb_all(who.workspace_id()).await?;
    let entries: Vec<Entry> = rows.iter().map(crate::bot::to_core).collect();
    let text = formats::export(format, &entries);
    let ext = match format {
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Markdown => "md",
    };
    let mut res = text.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"knowledge-base.{ext}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TryRequest {
    /// A visitor's message.
    pub message: String,
    /// The plugins to run: `lexical`, `semantic`, `llm`. Default: every
    /// plugin this server has a model for.
    #[serde(default)]
    pub plugins: Option<Vec<String>>,
}

/// How one plugin's run went.
#[derive(Debug, Serialize, ToSchema)]
pub struct TryRun {
    /// lexical, semantic or llm.
    pub plugin: String,
    pub ms: u64,
    /// ok, timeout, error or off.
    pub outcome: String,
    /// Why it failed or did not run.
    pub detail: Option<String>,
}

/// An entry the LLM cited.
#[derive(Debug, Serialize, ToSchema)]
pub struct TryCitation {
    pub entry_id: String,
    pub external_id: Option<String>,
    pub question: String,
}

/// The LLM's answer from the best entries, with the entries it cited.
#[derive(Debug, Serialize, ToSchema)]
pub struct TryLlm {
    pub text: String,
    pub cited: Vec<TryCitation>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginScore {
    pub plugin: String,
    pub score: f32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Candidate {
    pub entry_id: String,
    pub external_id: Option<String>,
    pub question: String,
    /// The fused score (0..=1) the thresholds apply to.
    pub score: f32,
    pub by_plugin: Vec<PluginScore>,
}

/// What the bot would do: `answer` (with `entry_id`), `clarify` (with
/// `choices`), `not_understood`, or `hand_off` (with `reason`: asked,
/// low_confidence, thumbs_down, max_turns, rule).
#[derive(Debug, Serialize, ToSchema)]
pub struct TryDecision {
    pub action: String,
    pub entry_id: Option<String>,
    pub answer: Option<String>,
    pub choices: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TryResult {
    /// zh, en or both (no letters).
    pub language: String,
    /// The message asks for a person (hand-off words).
    pub asked_for_person: bool,
    /// Best first.
    pub candidates: Vec<Candidate>,
    pub decision: TryDecision,
    /// The thresholds the decision used.
    pub answer_threshold: f32,
    pub margin: f32,
    pub clarify_threshold: f32,
    /// Each plugin's run: retrieval first, then the LLM when it was asked for.
    pub runs: Vec<TryRun>,
    /// The LLM's answer; absent when it was not asked for, failed, timed
    /// out or did not know (its run says which).
    pub llm: Option<TryLlm>,
    /// The semantic plugin's model on this server, if any.
    pub semantic_model: Option<String>,
}

/// The plugins a request asks for (default: all the server has).
fn wanted(names: Option<&[String]>, have: BotPlugins) -> ApiResult<BotPlugins> {
    let Some(names) = names else {
        return Ok(have);
    };
    let mut want = BotPlugins {
        lexical: false,
        semantic: false,
        llm: false,
    };
    for n in names {
        match n.as_str() {
            "lexical" => want.lexical = true,
            "semantic" => want.semantic = true,
            "llm" => want.llm = true,
            other => {
                return Err(ApiError::validation(format!(
                    "unknown plugin {other:?} (lexical, semantic, llm)"
                )));
            }
        }
    }
    Ok(want)
}

fn run_view(r: PluginRun) -> TryRun {
    TryRun {
        outcome: r.outcome.as_str().to_string(),
        detail: r.outcome.detail().map(str::to_string),
        plugin: r.plugin,
        ms: r.ms,
    }
}

/// Try the bot: its candidates for a message, each plugin's score, and what
/// it would do (as a visitor's first message, with the default thresholds),
/// each plugin's timing and outcome, and the LLM's answer with its citations.
#[utoipa::path(post, operation_id = "bot_try", path = "/api/v1/bot/try", tag = "bot", security(("bearer" = [])), request_body = TryRequest,
    responses((status = 200, description = "Success", body = TryResult), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn try_bot(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiJson(req): ApiJson<TryRequest>,
) -> ApiResult<ApiJson<TryResult>> {
    let message = req.message.trim().to_string();
    let max = state.cfg.limits.max_message_chars;
    if message.is_empty() || message.chars().count() > max {
        return Err(ApiError::validation(format!(
            "the message must have 1 to {max} characters"
        )));
    }
    let want = wanted(req.plugins.as_deref(), state.plugins.available())?;
    let ix = state.bots.index(&state, who.workspace_id()).await?;
    let (t, p) = (Thresholds::default(), Patience::default());
    let words: Vec<String> = handoff::DEFAULT_WORDS
        .iter()
        .map(|w| w.to_string())
        .collect();
    let language = text::detect(&message);
    let retrieved =
        plugins::retrieve(&state, who.workspace_id(), &ix, &want, &message, language).await;
    let trial = crate::bot::try_message(&retrieved.results, &message, language, &words, &t, &p);
    let mut runs: Vec<TryRun> = retrieved.runs.into_iter().map(run_view).collect();
    let mut llm = None;
    if want.llm {
        let (answer, run) = plugins::llm_run(
            &state,
            &ix,
            &kefu_bot::rag::Context::default(),
            &message,
            language,
            &trial.fused,
        )
        .await;
        runs.push(run_view(run));
        llm = answer.map(|a| TryLlm {
            text: a.text,
            cited: a
                .cited
                .iter()
                .filter_map(|id| ix.entries.get(id))
                .map(|e| TryCitation {
                    entry_id: e.id.clone(),
                    external_id: e.external_id.clone(),
                    question: e.question.clone(),
                })
                .collect(),
        });
    }
    let candidates = trial
        .fused
        .iter()
        .filter_map(|f| {
            let e = ix.entries.get(&f.entry)?;
            Some(Candidate {
                entry_id: e.id.clone(),
                external_id: e.external_id.clone(),
                question: e.question.clone(),
                score: f.score,
                by_plugin: f
                    .by_plugin
                    .iter()
                    .map(|(plugin, score)| PluginScore {
                        plugin: plugin.clone(),
                        score: *score,
                    })
                    .collect(),
            })
        })
        .collect();
    let decision = match trial.decision {
        Decision::Answer { entry, .. } => TryDecision {
            action: "answer".into(),
            answer: ix.entries.get(&entry).map(|e| e.answer.clone()),
            entry_id: Some(entry),
            choices: Vec::new(),
            reason: None,
        },
        Decision::Clarify { choices } => TryDecision {
            action: "clarify".into(),
            entry_id: None,
            answer: None,
            choices,
            reason: None,
        },
        Decision::NotUnderstood => TryDecision {
            action: "not_understood".into(),
            entry_id: None,
            answer: None,
            choices: Vec::new(),
            reason: None,
        },
        Decision::HandOff { reason } => TryDecision {
            action: "hand_off".into(),
            entry_id: None,
            answer: None,
            choices: Vec::new(),
            reason: Some(reason.as_str().to_string()),
        },
    };
    Ok(ApiJson(TryResult {
        language: trial.language.as_str().to_string(),
        asked_for_person: trial.asked_for_person,
        candidates,
        decision,
        answer_threshold: t.answer,
        margin: t.margin,
        clarify_threshold: t.clarify,
        runs,
        llm,
        semantic_model: state.plugins.semantic_model(),
    }))
}
