//! Full-text search over messages, conversations and contacts
//! (docs/search.md), scoped like the conversation list: staff see their
//! workspace, private notes included; API keys need `conversations:read`
//! (and `contacts:read` for contacts and conversations, which are found by
//! their contact's details too); visitors cannot search.

use crate::{
    app::SharedState,
    auth::{Principal, Scope, Scoped, need},
    error::{ApiError, ApiJson, ApiQuery, ApiResult, ErrorBody},
};
use axum::extract::State;
use kefu_core::search::Query;
use kefu_core::{ConversationId, Message};
use kefu_store::{Contact, Conversation, SearchFilter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

/// Characters of text around the first match in a snippet.
const SNIPPET_CHARS: usize = 120;
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 50;

/// What to search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchType {
    /// Messages and private notes, newest first.
    #[default]
    Messages,
    /// Conversations with a matching message or contact, by latest activity.
    Conversations,
    /// Contacts by name, e-mail, phone and attributes, newest first.
    Contacts,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The words to find (Chinese, English or both; up to 200 characters).
    /// Every space-separated part must match; a part's characters must be
    /// adjacent; a word matches words that start with it.
    pub q: String,
    /// `messages` (default), `conversations` or `contacts`.
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    pub kind: Option<SearchType>,
    /// Conversations in one status or several, comma-separated.
    pub status: Option<String>,
    /// Conversations of (contacts: who came through) this inbox.
    pub inbox: Option<String>,
    /// Conversations assigned to this user id, `me`, or `none` (unassigned).
    pub agent: Option<String>,
    /// Conversations carrying this label.
    pub label: Option<String>,
    /// From this time on (epoch milliseconds): when a message was sent, a
    /// conversation last active, a contact last seen.
    pub from: Option<i64>,
    /// Before this time (epoch milliseconds).
    pub to: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 50; default 20.
    pub limit: Option<i64>,
}

/// The message a result points at: open its conversation at `seq`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    /// The matching text, HTML-escaped, with each match inside
    /// `<mark>…</mark>` (the only markup it holds), cut to about 120
    /// characters around the first match (`…` marks a cut).
    pub snippet: String,
    /// The matching message (messages; conversations found through one).
    pub message: Option<Message>,
    /// The message's conversation, or the conversation found.
    pub conversation: Option<Conversation>,
    /// The contact found (contacts).
    pub contact: Option<Contact>,
    /// The conversation's contact, for showing who it is.
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

/// A page of results.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Search messages, conversations or contacts.
#[utoipa::path(get, operation_id = "search", path = "/api/v1/search", tag = "search", security(("bearer" = [])), params(SearchQuery),
    responses((status = 200, description = "Success", body = SearchResults), (status = 400, description = "Malformed request", body = ErrorBody), (status = 401, description = "Missing or invalid credentials", body = ErrorBody), (status = 403, description = "A visitor, or an API key without the scope", body = ErrorBody), (status = 422, description = "Nothing searchable in q, or a bad limit", body = ErrorBody)))]
pub async fn search(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<ApiJson<SearchResults>> {
    let limit = match q.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::validation(format!(
                "limit must be between 1 and {MAX_LIMIT}, not {n}"
            )));
        }
    };
    let query = Query::parse(&q.q).ok_or_else(|| {
        ApiError::validation("q has nothing to search: type a word or a character")
    })?;
    let mut filter = SearchFilter {
        statuses: super::conversations::statuses(q.status.as_deref())?,
        inbox_id: q.inbox.filter(|s| !s.is_empty()),
        tag: q.label.filter(|l| !l.trim().is_empty()),
        // Staff see private notes (as in the conversation itself).
        include_notes: who.sees_notes(),
        from: q.from,
        to: q.to,
        ..Default::default()
    };
    match q.agent.as_deref() {
        None | Some("") => {}
        Some("none") => filter.unassigned = true,
        Some("me") => match &who {
            Principal::Agent { user_id, .. } => filter.assignee_id = Some(user_id.clone()),
            _ => return Err(ApiError::validation("agent=me needs an agent token")),
        },
        Some(id) => filter.assignee_id = Some(id.into()),
    }
    let ws = who.workspace_id();
    let cursor = q.cursor.as_deref();
    let bad_cursor = |e: kefu_store::StoreError| match e {
        kefu_store::StoreError::Invalid(m) => ApiError::bad_request("bad_cursor", m),
        other => other.into(),
    };
    let (items, next_cursor) = match q.kind.unwrap_or_default() {
        SearchType::Messages => {
            let page = state
                .store
                .search_messages(ws, &query, &filter, cursor, limit)
                .await
                .map_err(bad_cursor)?;
            let found = page
                .items
                .into_iter()
                .map(|h| (h.conversation, Some(h.message)))
                .collect();
            (
                conversation_hits(&state, &who, &query, found).await?,
                page.next_cursor,
            )
        }
        SearchType::Conversations => {
            // Conversations are found by their contact's details too (phone,
            // attributes): a key that may not read contacts must not probe them.
            who.require_scope(Scope::ContactsRead)?;
            let page = state
                .store
                .search_conversations(ws, &query, &filter, cursor, limit)
                .await
                .map_err(bad_cursor)?;
            let found = page
                .items
                .into_iter()
                .map(|h| (h.conversation, h.message))
                .collect();
            (
                conversation_hits(&state, &who, &query, found).await?,
                page.next_cursor,
            )
        }
        SearchType::Contacts => {
            who.require_scope(Scope::ContactsRead)?;
            let page = state
                .store
                .search_contacts(ws, &query, &filter, cursor, limit)
                .await
                .map_err(bad_cursor)?;
            let items = page
                .items
                .into_iter()
                .map(|k| SearchHit {
                    snippet: query.snippet(&contact_text(&k), SNIPPET_CHARS),
                    contact_name: k.name.clone(),
                    contact_email: k.email.clone(),
                    message: None,
                    conversation: None,
                    contact: Some(k),
                })
                .collect();
            (items, page.next_cursor)
        }
    };
    Ok(ApiJson(SearchResults { items, next_cursor }))
}

/// The results of a message or conversation search: each conversation with
/// its matching message, if any, its contact's name and e-mail (one query
/// for the page), and a snippet of the message, or else of the contact.
async fn conversation_hits(
    state: &SharedState,
    who: &Principal,
    query: &Query,
    found: Vec<(Conversation, Option<Message>)>,
) -> ApiResult<Vec<SearchHit>> {
    let ids: Vec<ConversationId> = found.iter().map(|(c, _)| c.id.clone()).collect();
    let people = contacts_of(state, who, &ids).await?;
    Ok(found
        .into_iter()
        .map(|(conversation, message)| {
            let (contact_name, contact_email) =
                people.get(&conversation.id).cloned().unwrap_or_default();
            let text = match &message {
                Some(m) => message_text(m),
                None => [contact_name.as_deref(), contact_email.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
            };
            SearchHit {
                snippet: query.snippet(&text, SNIPPET_CHARS),
                message,
                conversation: Some(conversation),
                contact: None,
                contact_name,
                contact_email,
            }
        })
        .collect())
}

/// The text a message's snippet is cut from: its content, or its file's name.
fn message_text(m: &Message) -> String {
    match &m.attachment {
        Some(a) if m.content.trim().is_empty() => a.name.clone(),
        Some(a) => format!("{} · {}", m.content, a.name),
        None => m.content.clone(),
    }
}

/// What a contact's snippet is cut from: the fields it is found by.
fn contact_text(k: &Contact) -> String {
    let mut parts: Vec<String> = [&k.name, &k.email, &k.phone]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if let serde_json::Value::Object(attrs) = &k.attributes {
        for (key, v) in attrs {
            match v {
                serde_json::Value::String(s) => parts.push(format!("{key}: {s}")),
                serde_json::Value::Number(n) => parts.push(format!("{key}: {n}")),
                _ => {}
            }
        }
    }
    parts.join(" · ")
}

/// Each conversation's contact name and e-mail (one query for the page).
async fn contacts_of(
    state: &SharedState,
    who: &Principal,
    ids: &[ConversationId],
) -> ApiResult<HashMap<ConversationId, (Option<String>, Option<String>)>> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let previews = state
        .store
        .conversation_previews(who.workspace_id(), &who.sender().id, &ids, who.sees_notes())
        .await?;
    Ok(previews
        .into_iter()
        .map(|(id, p)| (id, (p.contact_name, p.contact_email)))
        .collect())
}
