//! Contacts (visitors), for agents.

use super::{Page, page_limit, page_of};
use crate::{
    app::SharedState,
    auth::{Admin, Principal, Scoped, need},
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::ContactId;
use kefu_store::{AttributeDefinition, Contact, ContactNote, IpBlock};
use serde::Deserialize;
use utoipa::ToSchema;

/// Query of the contact list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactsQuery {
    /// Cursor from the previous page's `next_cursor`.
    #[param(value_type = Option<String>)]
    pub cursor: Option<super::cursor::IdCursor>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
    /// Words in the name, e-mail, phone or attributes (Chinese or English,
    /// as in `GET /api/v1/search`).
    pub q: Option<String>,
    /// Attribute conditions as a JSON object, all of which must hold: each
    /// key's value, as text, equals the given one ignoring case
    /// (`{"plan":"vip","newsletter":true}`); `null` asks only that the
    /// contact has the attribute.
    pub attributes: Option<String>,
    /// `true`: only blocked contacts; `false`: only unblocked ones.
    pub blocked: Option<bool>,
}

/// Most attribute conditions in one list request.
const MAX_ATTRIBUTE_FILTERS: usize = 10;

fn contact_filter(q: &ContactsQuery) -> ApiResult<kefu_store::ContactFilter> {
    let text = match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) if t.chars().count() > 200 => {
            return Err(ApiError::validation("q is limited to 200 characters"));
        }
        Some(t) => Some(kefu_core::search::Query::parse(t).ok_or_else(|| {
            ApiError::validation("q has nothing to search: type a word or a character")
        })?),
    };
    let mut attributes = Vec::new();
    if let Some(raw) = q.attributes.as_deref().filter(|s| !s.trim().is_empty()) {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(raw).map_err(|_| {
                ApiError::validation(r#"attributes must be a JSON object such as {"plan":"vip"}"#)
            })?;
        if map.len() > MAX_ATTRIBUTE_FILTERS {
            return Err(ApiError::validation(format!(
                "at most {MAX_ATTRIBUTE_FILTERS} attribute conditions"
            )));
        }
        for (k, v) in map {
            let value = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => {
                    return Err(ApiError::validation(format!(
                        "attribute condition {k:?} must be a string, a number, a boolean or null"
                    )));
                }
            };
            attributes.push((k, value));
        }
    }
    Ok(kefu_store::ContactFilter {
        text,
        attributes,
        blocked: q.blocked,
    })
}

/// Contacts, newest first, found by words and filtered by attributes and
/// whether they are blocked. Contacts merged into others are not listed.
#[utoipa::path(get, operation_id = "contacts_list", path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])), params(ContactsQuery),
    responses((status = 200, description = "Success", body = Page<Contact>), (status = 401, description = "Missing or invalid credentials", body = ErrorBody), (status = 422, description = "Invalid q or attributes", body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsRead>,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> ApiResult<ApiJson<Page<Contact>>> {
    let limit = page_limit(q.limit)?;
    let filter = contact_filter(&q)?;
    let rows = state
        .store
        .list_contacts(
            who.workspace_id(),
            &filter,
            q.cursor.as_ref().map(super::cursor::IdCursor::as_str),
            limit + 1,
        )
        .await?;
    Ok(ApiJson(page_of(rows, limit, |c| c.id.to_string())))
}

/// Which contact to merge into the one in the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The duplicate: its conversations, notes and business events move to
    /// the contact in the path, which takes its details where it has none;
    /// then it is gone from lists and search.
    pub other_id: ContactId,
}

/// Merge another contact (a duplicate) into this one.
#[utoipa::path(post, operation_id = "contacts_merge", path = "/api/v1/contacts/{id}/merge", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)), request_body = MergeInput,
    responses((status = 200, description = "The contact as the merge left it", body = Contact), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 409, description = "Both have an active conversation in the same inbox (resolve one first)", body = ErrorBody), (status = 422, description = "The same contact twice, or one already merged", body = ErrorBody)))]
pub async fn merge(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsWrite>,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(req): ApiJson<MergeInput>,
) -> ApiResult<ApiJson<Contact>> {
    let (contact, events) = state
        .store
        .merge_contacts(who.workspace_id(), &id, &req.other_id, who.actor())
        .await
        .map_err(|e| ApiError::from_store(e, "contact"))?;
    crate::conversations::after_commit(&state, &events);
    Ok(ApiJson(contact))
}

/// How to block a contact.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    /// Also block the address they last came from (every visitor from it is
    /// refused a chat; lifted again when the contact is unblocked).
    #[serde(default)]
    pub block_ip: bool,
}

/// Block a contact: their widget sessions and messages are refused (the
/// widget says the chat is not available), their live connections end.
#[utoipa::path(post, operation_id = "contacts_block", path = "/api/v1/contacts/{id}/block", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)), request_body = BlockInput,
    responses((status = 200, description = "The blocked contact", body = Contact), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn block(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsWrite>,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(req): ApiJson<BlockInput>,
) -> ApiResult<ApiJson<Contact>> {
    set_blocked(&state, &who, &id, true, req.block_ip).await
}

/// Lift a contact's block (and the address blocked with them).
#[utoipa::path(delete, operation_id = "contacts_unblock", path = "/api/v1/contacts/{id}/block", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The contact", body = Contact), (status = 403, description = "Not allowed for this principal", body = ErrorBody), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn unblock(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsWrite>,
    ApiPath(id): ApiPath<ContactId>,
) -> ApiResult<ApiJson<Contact>> {
    set_blocked(&state, &who, &id, false, false).await
}

async fn set_blocked(
    state: &SharedState,
    who: &Principal,
    id: &ContactId,
    blocked: bool,
    block_ip: bool,
) -> ApiResult<ApiJson<Contact>> {
    let (contact, events) = state
        .store
        .set_contact_blocked(who.workspace_id(), id, blocked, block_ip, who.actor())
        .await
        .map_err(|e| ApiError::from_store(e, "contact"))?;
    crate::conversations::after_commit(state, &events);
    Ok(ApiJson(contact))
}

/// The workspace's blocked client addresses, newest first.
#[utoipa::path(get, operation_id = "ip_blocks_list", path = "/api/v1/ip-blocks", tag = "contacts", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = Page<IpBlock>), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn list_ip_blocks(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ContactsRead>,
) -> ApiResult<ApiJson<Page<IpBlock>>> {
    Ok(ApiJson(Page {
        items: state.store.ip_blocks(who.workspace_id()).await?,
        next_cursor: None,
    }))
}

/// An address to block.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IpBlockInput {
    /// An IPv4 or IPv6 address (one address; the server's view of the
    /// client, after `trusted_proxies`).
    pub ip: String,
    /// Why (up to 200 characters).
    #[serde(default)]
    pub note: String,
}

/// Block a client address: widget sessions from it are refused.
#[utoipa::path(post, operation_id = "ip_blocks_add", path = "/api/v1/ip-blocks", tag = "contacts", security(("bearer" = [])), request_body = IpBlockInput,
    responses((status = 204, description = "Blocked"), (status = 403, description = "Admins only", body = ErrorBody), (status = 422, description = "Not an IP address, or the note is too long", body = ErrorBody)))]
pub async fn add_ip_block(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<IpBlockInput>,
) -> ApiResult<StatusCode> {
    let ip = canonical_ip(&req.ip)?;
    if req.note.chars().count() > 200 {
        return Err(ApiError::validation(
            "the note is limited to 200 characters",
        ));
    }
    state
        .store
        .add_ip_block(who.workspace_id(), &ip, req.note.trim(), &who.sender().id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift an address's block.
#[utoipa::path(delete, operation_id = "ip_blocks_remove", path = "/api/v1/ip-blocks/{ip}", tag = "contacts", security(("bearer" = [])), params(("ip" = String, Path)),
    responses((status = 204, description = "Lifted"), (status = 403, description = "Admins only", body = ErrorBody), (status = 404, description = "Not blocked", body = ErrorBody), (status = 422, description = "Not an IP address", body = ErrorBody)))]
pub async fn remove_ip_block(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(ip): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let ip = canonical_ip(&ip)?;
    if state.store.remove_ip_block(who.workspace_id(), &ip).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("blocked address"))
    }
}

/// The address as the server writes client addresses (so `::ffff:1.2.3.4`
/// and `1.2.3.4`, or two spellings of one IPv6 address, match).
fn canonical_ip(s: &str) -> ApiResult<String> {
    let ip: std::net::IpAddr = s
        .trim()
        .parse()
        .map_err(|_| ApiError::validation(format!("{s:?} is not an IP address")))?;
    Ok(ip.to_canonical().to_string())
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
