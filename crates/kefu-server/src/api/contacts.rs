//! Contacts (visitors), for agents.

use super::{Page, PageQuery, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Scoped, need},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::extract::State;
use kefu_core::ContactId;
use kefu_store::Contact;

/// Contacts, newest first.
#[utoipa::path(get, operation_id = "contacts_list", path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Success", body = Page<Contact>), (status = 401, description = "Missing or invalid credentials", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsRead>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<Page<Contact>>> {
    let limit = page_limit(q.limit)?;
    let rows = state
        .store
        .list_contacts(
            who.workspace_id(),
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |c| c.id.to_string())))
}

#[utoipa::path(get, operation_id = "contacts_get_one", path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = Contact), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsRead>,
    ApiPath(id): ApiPath<ContactId>,
) -> ApiResult<ApiJson<Contact>> {
    Ok(ApiJson(
        state
            .store
            .get_contact(who.workspace_id(), &id)
            .await
            .map_err(|e| ApiError::from_store(e, "contact"))?,
    ))
}
