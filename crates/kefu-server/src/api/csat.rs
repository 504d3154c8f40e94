//! CSAT: after a resolve, the widget and the chat page ask the customer for
//! a 1–5 rating and an optional comment (when the inbox's `widget.csat` is
//! on); agents read a conversation's ratings. Each resolve is rated once: a
//! second answer gets the first back. The rating is a `conversation_rated`
//! event (webhooks, the bus, the conversation's timeline) and counts in
//! the reports (docs/reports.md).

use crate::{
    app::SharedState,
    auth::{Auth, Principal, Scoped, need},
    conversations::{after_commit, run, visible_conversation},
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::{ConversationId, SenderKind};
use kefu_store::{Actor, CsatRating};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatInput {
    /// The visitor's resolved conversation.
    pub conversation_id: String,
    /// 1 (bad) to 5 (good).
    pub rating: u8,
    /// At most 1000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Rate a resolved conversation (the visitor's own).
#[utoipa::path(post, operation_id = "widget_csat", path = "/api/v1/widget/csat", tag = "widget", security(("bearer" = [])), request_body = CsatInput,
    responses((status = 201, description = "Stored", body = CsatRating), (status = 200, description = "This resolve was rated before: the first rating", body = CsatRating),
        (status = 403, description = "Not a visitor", body = ErrorBody), (status = 404, description = "No such conversation of the visitor's", body = ErrorBody),
        (status = 409, description = "`csat_disabled`: the inbox does not ask; `conflict`: the conversation is not resolved", body = ErrorBody),
        (status = 422, description = "A rating outside 1–5 or a comment too long", body = ErrorBody)))]
pub async fn rate(
    State(state): State<SharedState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<CsatInput>,
) -> ApiResult<(StatusCode, ApiJson<CsatRating>)> {
    let Principal::Visitor {
        workspace_id,
        contact_id,
        inbox_id,
    } = &who
    else {
        return Err(ApiError::forbidden("this needs a visitor token"));
    };
    if req.conversation_id.is_empty() || req.conversation_id.len() > 64 {
        return Err(ApiError::not_found("conversation"));
    }
    let inbox = state
        .inboxes
        .get(&state.store, workspace_id, inbox_id)
        .await?;
    if !inbox.widget.csat.enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "csat_disabled",
            "this inbox does not ask for ratings",
        ));
    }
    let (st, ws, contact) = (state.clone(), workspace_id.clone(), contact_id.clone());
    let id = ConversationId::new(req.conversation_id);
    let rated = run(&state, async move {
        let actor = Actor {
            kind: SenderKind::Visitor,
            id: contact.to_string(),
        };
        let r = st
            .store
            .rate_conversation(&ws, &contact, &id, req.rating, req.comment, actor)
            .await
            .map_err(|e| ApiError::from_store(e, "conversation"))?;
        if let Some(c) = &r.changed {
            after_commit(&st, &c.events);
        }
        Ok(r)
    })
    .await?;
    let status = if rated.changed.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(rated.rating)))
}

/// A conversation's ratings, one per resolve that was rated, oldest first.
#[utoipa::path(get, operation_id = "conversations_csat", path = "/api/v1/conversations/{id}/csat", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The ratings", body = Vec<CsatRating>), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<ApiJson<Vec<CsatRating>>> {
    let conv = visible_conversation(&state, &who, &id).await?;
    Ok(ApiJson(
        state
            .store
            .conversation_ratings(&conv.workspace_id, &conv.id)
            .await?,
    ))
}
