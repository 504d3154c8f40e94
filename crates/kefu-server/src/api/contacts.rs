//! Contacts (visitors), for agents.

use super::{Page, PageQuery, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Admin, Principal, Scoped, need},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::ContactId;
use kefu_store::{AttributeDefinition, Contact, ContactNote};
use serde::Deserialize;
use utoipa::ToSchema;

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

/// An agent's change to a contact. Absent fields stay; an empty string
/// clears a field; `attributes` merge into the contact's (a `null` value
/// removes the key).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// Edit a contact (agents see the change live: a `contact` frame).
#[utoipa::path(patch, operation_id = "contacts_update", path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)), request_body = ContactPatch,
    responses((status = 200, description = "Success", body = Contact), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsWrite>,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(req): ApiJson<ContactPatch>,
) -> ApiResult<ApiJson<Contact>> {
    let edit = kefu_store::ContactEdit {
        name: req.name,
        email: req.email,
        phone: req.phone,
        attributes: req.attributes,
    };
    Ok(ApiJson(
        crate::contacts::edit_contact(&state, &who, &id, edit).await?,
    ))
}

/// Longest note on a contact.
const MAX_NOTE_CHARS: usize = 5000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// 1 to 5,000 characters.
    pub body: String,
}

/// A contact's notes, newest first (at most 200).
#[utoipa::path(get, operation_id = "contacts_list_notes", path = "/api/v1/contacts/{id}/notes", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Success", body = Page<ContactNote>), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn list_notes(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsRead>,
    ApiPath(id): ApiPath<ContactId>,
) -> ApiResult<ApiJson<Page<ContactNote>>> {
    state
        .store
        .get_contact(who.workspace_id(), &id)
        .await
        .map_err(|e| ApiError::from_store(e, "contact"))?;
    Ok(ApiJson(Page {
        items: state
            .store
            .list_contact_notes(who.workspace_id(), &id, 200)
            .await?,
        next_cursor: None,
    }))
}

/// Add a note on a contact (agents only: a note has an author).
#[utoipa::path(post, operation_id = "contacts_add_note", path = "/api/v1/contacts/{id}/notes", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)), request_body = NoteInput,
    responses((status = 201, description = "Created", body = ContactNote), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn add_note(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsWrite>,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(req): ApiJson<NoteInput>,
) -> ApiResult<(StatusCode, ApiJson<ContactNote>)> {
    let Principal::Agent { user_id, .. } = &who else {
        return Err(ApiError::forbidden("notes are written by agents"));
    };
    let n = req.body.trim().chars().count();
    if n == 0 || n > MAX_NOTE_CHARS {
        return Err(ApiError::validation(format!(
            "a note is 1 to {MAX_NOTE_CHARS} characters"
        )));
    }
    let note = state
        .store
        .add_contact_note(who.workspace_id(), &id, user_id, &req.body)
        .await
        .map_err(|e| ApiError::from_store(e, "contact"))?;
    Ok((StatusCode::CREATED, ApiJson(note)))
}

/// Delete a note: its author, or an admin.
#[utoipa::path(delete, operation_id = "contacts_delete_note", path = "/api/v1/contacts/{id}/notes/{note_id}", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path), ("note_id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found (or not yours)", body = ErrorBody)))]
pub async fn delete_note(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsWrite>,
    ApiPath((_contact, note)): ApiPath<(ContactId, String)>,
) -> ApiResult<StatusCode> {
    let author = match &who {
        Principal::Agent { user_id, role, .. } if !role.can_administer() => Some(user_id),
        _ => None,
    };
    if who.require_admin().is_err() && author.is_none() {
        return Err(ApiError::forbidden(
            "notes are deleted by their author or an admin",
        ));
    }
    state
        .store
        .delete_contact_note(who.workspace_id(), &note, author)
        .await
        .map_err(|e| ApiError::from_store(e, "note"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The custom contact attributes the workspace defines, in order.
#[utoipa::path(get, operation_id = "attributes_list", path = "/api/v1/attributes", tag = "contacts", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Page<AttributeDefinition>)))]
pub async fn list_attributes(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsRead>,
) -> ApiResult<ApiJson<Page<AttributeDefinition>>> {
    Ok(ApiJson(Page {
        items: state
            .store
            .list_attribute_definitions(who.workspace_id())
            .await?,
        next_cursor: None,
    }))
}

/// Most custom attributes a workspace defines.
const MAX_DEFINITIONS: usize = 50;

/// Define (or relabel or retype) a custom attribute.
#[utoipa::path(put, operation_id = "attributes_save", path = "/api/v1/attributes/{key}", tag = "contacts", security(("bearer" = [])), params(("key" = String, Path)), request_body = AttributeInput,
    responses((status = 200, description = "Saved", body = AttributeDefinition), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn save_attribute(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(key): ApiPath<String>,
    ApiJson(req): ApiJson<AttributeInput>,
) -> ApiResult<ApiJson<AttributeDefinition>> {
    if key.is_empty()
        || key.len() > 32
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        || ["name", "email", "phone"].contains(&key.as_str())
    {
        return Err(ApiError::validation(
            "an attribute key is 1 to 32 of a-z, 0-9 and _ (name, email and phone are the contact's own fields)",
        ));
    }
    let label = req.label.trim();
    if label.is_empty() || label.chars().count() > 64 {
        return Err(ApiError::validation("a label is 1 to 64 characters"));
    }
    let defs = state
        .store
        .list_attribute_definitions(who.workspace_id())
        .await?;
    if defs.len() >= MAX_DEFINITIONS && !defs.iter().any(|d| d.key == key) {
        return Err(ApiError::validation(format!(
            "a workspace defines at most {MAX_DEFINITIONS} attributes"
        )));
    }
    let def = AttributeDefinition {
        key,
        label: label.to_string(),
        kind: req.kind,
    };
    state
        .store
        .save_attribute_definition(who.workspace_id(), &def)
        .await?;
    Ok(ApiJson(def))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeInput {
    pub label: String,
    /// `text` (default), `number`, `date`, `boolean` or `link`.
    #[serde(default)]
    pub kind: kefu_store::AttributeKind,
}

/// Delete a definition (contacts keep their values under the key).
#[utoipa::path(delete, operation_id = "attributes_delete", path = "/api/v1/attributes/{key}", tag = "contacts", security(("bearer" = [])), params(("key" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn delete_attribute(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_attribute_definition(who.workspace_id(), &key)
        .await
        .map_err(|e| ApiError::from_store(e, "attribute"))?;
    Ok(StatusCode::NO_CONTENT)
}
