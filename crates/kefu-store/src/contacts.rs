//! Contacts: visitors and customers.

use crate::{Actor, Contact, Event, Result, Store, StoreError, VisitInfo, events, new_id, now_ms};
use kefu_core::{ContactId, WorkspaceId};
use kefu_core::{SenderKind, event::ConversationEvent as Ev};
use sqlx::{AnyConnection, Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, workspace_id, inbox_id, external_id, name, email, attributes, page_url, referrer, language, user_agent, ip, last_seen_at, created_at, phone, blocked_at, merged_into"
    };
}

/// [`cols`] qualified with the table's name, for queries that join others.
macro_rules! prefixed_cols {
    () => {
        "contacts.id, contacts.workspace_id, contacts.inbox_id, contacts.external_id, contacts.name, contacts.email, contacts.attributes, contacts.page_url, contacts.referrer, contacts.language, contacts.user_agent, contacts.ip, contacts.last_seen_at, contacts.created_at, contacts.phone, contacts.blocked_at, contacts.merged_into"
    };
}
pub(crate) use prefixed_cols;

/// The columns [`from_row`] reads.
pub(crate) const COLS: &str = cols!();

pub(crate) fn from_row(r: &AnyRow) -> Result<Contact> {
    let attrs: String = r.try_get("attributes")?;
    Ok(Contact {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        inbox_id: r.try_get("inbox_id")?,
        external_id: r.try_get("external_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        phone: r.try_get("phone")?,
        attributes: serde_json::from_str(&attrs).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        page_url: r.try_get("page_url")?,
        referrer: r.try_get("referrer")?,
        language: r.try_get("language")?,
        user_agent: r.try_get("user_agent")?,
        ip: r.try_get("ip")?,
        last_seen_at: r.try_get("last_seen_at")?,
        created_at: r.try_get("created_at")?,
        blocked_at: r.try_get("blocked_at")?,
        merged_into: r.try_get("merged_into")?,
    })
}

/// What an agent changes on a contact (see [`Store::edit_contact`]).
#[derive(Debug, Clone, Default)]
pub struct ContactEdit {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Merged into the attributes; a `null` value removes the key.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl Store {
    /// A new anonymous visitor of `inbox_id`.
    pub async fn create_contact(
        &self,
        workspace_id: &WorkspaceId,
        inbox_id: &str,
        visit: VisitInfo,
    ) -> Result<(Contact, Vec<Event>)> {
        let now = now_ms();
        let contact = Contact {
            id: new_id().into(),
            workspace_id: workspace_id.clone(),
            inbox_id: inbox_id.to_string(),
            external_id: None,
            name: None,
            email: None,
            phone: None,
            attributes: serde_json::json!({}),
            page_url: visit.page_url,
            referrer: visit.referrer,
            language: visit.language,
            user_agent: visit.user_agent,
            ip: visit.ip,
            last_seen_at: now,
            created_at: now,
            blocked_at: None,
            merged_into: None,
        };
        let k = contact.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(concat!(
                    "INSERT INTO contacts (",
                    cols!(),
                    ") VALUES ($1, $2, $3, NULL, NULL, NULL, '{}', $4, $5, $6, $7, $8, $9, $9, NULL, NULL, NULL)"
                ))
                .bind(&k.id)
                .bind(&k.workspace_id)
                .bind(&k.inbox_id)
                .bind(&k.page_url)
                .bind(&k.referrer)
                .bind(&k.language)
                .bind(&k.user_agent)
                .bind(&k.ip)
                .bind(k.created_at)
                .execute(&mut *c)
                .await?;
                let actor = Actor {
                    kind: SenderKind::Visitor,
                    id: k.id.to_string(),
                };
                let (ws, cid) = (k.workspace_id.clone(), k.id.clone());
                events::store_all(
                    c,
                    &ws,
                    None,
                    Some(&cid),
                    &actor,
                    vec![Ev::ContactCreated { contact: k }],
                    now,
                )
                .await
            })
        })
        .await
        .map(|events| (contact, events))
    }

    /// Records a returning visitor's new visit (page, device, last seen).
    pub async fn touch_contact(
        &self,
        workspace_id: &WorkspaceId,
        id: &ContactId,
        visit: VisitInfo,
    ) -> Result<Contact> {
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE contacts SET
                        page_url = COALESCE($3, page_url), referrer = COALESCE($4, referrer),
                        language = COALESCE($5, language), user_agent = COALESCE($6, user_agent),
                        ip = COALESCE($7, ip), last_seen_at = $8
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&cid)
                .bind(&ws)
                .bind(visit.page_url)
                .bind(visit.referrer)
                .bind(visit.language)
                .bind(visit.user_agent)
                .bind(visit.ip)
                .bind(now_ms())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
        })
        .await?;
        self.get_contact(workspace_id, id).await
    }

    /// What a visitor told about themselves (the widget's pre-chat form or
    /// `kefu('identify', …)`): `None` keeps a field; attributes are merged
    /// into the existing ones (a `null` value removes a key). Unverified: the
    /// visitor could claim anything.
    pub async fn identify_contact(
        &self,
        workspace_id: &WorkspaceId,
        id: &ContactId,
        name: Option<String>,
        email: Option<String>,
        attributes: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(Contact, Vec<Event>)> {
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let row = sqlx::query(
                    "SELECT attributes FROM contacts WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&cid)
                .bind(&ws)
                .fetch_optional(&mut *c)
                .await?
                .ok_or(StoreError::NotFound)?;
                let text: String = row.try_get("attributes")?;
                let mut attrs: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&text).unwrap_or_default();
                for (k, v) in attributes {
                    if v.is_null() {
                        attrs.remove(&k);
                    } else {
                        attrs.insert(k, v);
                    }
                }
                let merged = serde_json::Value::Object(attrs).to_string();
                sqlx::query(
                    "UPDATE contacts SET name = COALESCE($3, name), email = COALESCE($4, email),
                        attributes = $5, last_seen_at = $6
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&cid)
                .bind(&ws)
                .bind(name)
                .bind(email)
                .bind(merged)
                .bind(now_ms())
                .execute(&mut *c)
                .await?;
                let r = sqlx::query(concat!("SELECT ", cols!(), " FROM contacts WHERE id = $1"))
                    .bind(&cid)
                    .fetch_one(&mut *c)
                    .await?;
                let contact = from_row(&r)?;
                crate::search::index_contact(c, &contact).await?;
                let actor = Actor {
                    kind: SenderKind::Visitor,
                    id: cid.to_string(),
                };
                let events = events::store_all(
                    c,
                    &ws,
                    None,
                    Some(&cid),
                    &actor,
                    vec![Ev::ContactUpdated {
                        contact: contact.clone(),
                    }],
                    now_ms(),
                )
                .await?;
                Ok((contact, events))
            })
        })
        .await
    }

    /// An agent's edit of a contact: `Some("")` clears a field, `None`
    /// keeps it; attributes merge like [`Store::identify_contact`]'s.
    pub async fn edit_contact(
        &self,
        workspace_id: &WorkspaceId,
        id: &ContactId,
        edit: ContactEdit,
        actor: Actor,
    ) -> Result<(Contact, Vec<Event>)> {
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = load(c, &ws, &cid).await?;
                let mut after = if edit.attributes.is_empty() {
                    before.clone()
                } else {
                    merge_attributes(c, &ws, &cid, edit.attributes).await?
                };
                let set = |v: Option<String>, old: &Option<String>| match v {
                    None => old.clone(),
                    Some(s) if s.trim().is_empty() => None,
                    Some(s) => Some(s.trim().to_string()),
                };
                after.name = set(edit.name, &before.name);
                after.email = set(edit.email, &before.email);
                after.phone = set(edit.phone, &before.phone);
                sqlx::query("UPDATE contacts SET name = $3, email = $4, phone = $5 WHERE id = $1 AND workspace_id = $2")
                    .bind(&cid)
                    .bind(&ws)
                    .bind(&after.name)
                    .bind(&after.email)
                    .bind(&after.phone)
                    .execute(&mut *c)
                    .await?;
                if after == before {
                    return Ok((after, Vec::new()));
                }
                crate::search::index_contact(c, &after).await?;
                let events = events::store_all(
                    c,
                    &ws,
                    None,
                    Some(&cid),
                    &actor,
                    vec![Ev::ContactUpdated { contact: after.clone() }],
                    now_ms(),
                )
                .await?;
                Ok((after, events))
            })
        })
        .await
    }

    pub async fn get_contact(&self, workspace_id: &WorkspaceId, id: &ContactId) -> Result<Contact> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM contacts WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.reader())
        .await?;
        from_row(&r)
    }

    /// Contacts of a workspace matching `filter`, newest first, before the
    /// cursor `before` (a contact id). Merged contacts are never listed.
    pub async fn list_contacts(
        &self,
        workspace_id: &WorkspaceId,
        filter: &ContactFilter,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Contact>> {
        let pg = self.backend_name() == "postgres";
        // Only placeholders and fixed SQL are formatted in; every value is bound.
        let mut sql = format!(
            "SELECT {COLS} FROM contacts WHERE workspace_id = $1 AND merged_into IS NULL
               AND (CAST($2 AS TEXT) IS NULL OR id < $2)"
        );
        let mut binds: Vec<Option<String>> = Vec::new();
        let next = |binds: &mut Vec<Option<String>>, v: Option<String>| {
            binds.push(v);
            format!("${}", binds.len() + 2)
        };
        if let Some(q) = &filter.text {
            let (inner, text) = if pg {
                (
                    "id IN (SELECT contact_id FROM contact_search WHERE workspace_id = $1 AND tsv @@ CAST({} AS tsquery))",
                    q.tsquery(),
                )
            } else {
                (
                    "rowid IN (SELECT rowid FROM contact_fts WHERE contact_fts MATCH {})",
                    q.fts5(),
                )
            };
            let p = next(&mut binds, Some(text));
            sql.push_str(" AND ");
            sql.push_str(&inner.replace("{}", &p));
        }
        for (key, value) in &filter.attributes {
            let k = next(&mut binds, Some(key.clone()));
            let v = value.as_ref().map(|v| v.to_lowercase());
            let cond = if pg {
                match v {
                    None => format!("CAST(attributes AS jsonb) ? {k}"),
                    Some(v) => {
                        let v = next(&mut binds, Some(v));
                        format!("lower(CAST(attributes AS jsonb) ->> {k}) = {v}")
                    }
                }
            } else {
                let compare = match v {
                    None => String::new(),
                    Some(v) => {
                        let v = next(&mut binds, Some(v));
                        format!(
                            " AND lower(CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.atom AS TEXT) END) = {v}"
                        )
                    }
                };
                format!(
                    "EXISTS (SELECT 1 FROM json_each(contacts.attributes) j WHERE j.key = {k} AND j.type <> 'null'{compare})"
                )
            };
            sql.push_str(" AND ");
            sql.push_str(&cond);
        }
        match filter.blocked {
            Some(true) => sql.push_str(" AND blocked_at IS NOT NULL"),
            Some(false) => sql.push_str(" AND blocked_at IS NULL"),
            None => {}
        }
        let lim = binds.len() + 3;
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${lim}"));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(!pg)
            .bind(workspace_id)
            .bind(before);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(self.reader()).await?;
        rows.iter().map(from_row).collect()
    }

    /// The contact a visitor token names, following merges: a visitor whose
    /// contact was merged into another continues as that one.
    pub async fn resolve_contact(
        &self,
        workspace_id: &WorkspaceId,
        id: &ContactId,
    ) -> Result<Contact> {
        let mut contact = self.get_contact(workspace_id, id).await?;
        // Merges re-point older merges, so one step is the rule; a few more
        // cover a merge racing another.
        for _ in 0..4 {
            match contact.merged_into.clone() {
                Some(into) => contact = self.get_contact(workspace_id, &into).await?,
                None => break,
            }
        }
        Ok(contact)
    }
}

/// Which contacts a list shows (the contacts page).
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Words in the name, e-mail, phone or attributes (the search index).
    pub text: Option<kefu_core::search::Query>,
    /// Attribute conditions, all of which must hold: the key is set (`None`)
    /// or its value, as text, equals this one ignoring case (`true`, `3`, `vip`).
    pub attributes: Vec<(String, Option<String>)>,
    /// Only blocked (`true`) or only unblocked (`false`) contacts.
    pub blocked: Option<bool>,
}

/// A contact, inside a write.
pub(crate) async fn load(
    c: &mut AnyConnection,
    workspace_id: &WorkspaceId,
    id: &ContactId,
) -> Result<Contact> {
    let r = sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM contacts WHERE id = $1 AND workspace_id = $2"
    ))
    .bind(id)
    .bind(workspace_id)
    .fetch_optional(&mut *c)
    .await?
    .ok_or(StoreError::NotFound)?;
    from_row(&r)
}

/// Merges `attributes` into a contact's (a `null` value removes a key)
/// inside a write; returns the contact as it is now.
pub(crate) async fn merge_attributes(
    c: &mut AnyConnection,
    workspace_id: &WorkspaceId,
    id: &ContactId,
    attributes: serde_json::Map<String, serde_json::Value>,
) -> Result<Contact> {
    let mut contact = load(c, workspace_id, id).await?;
    let mut attrs = match contact.attributes {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    for (k, v) in attributes {
        if v.is_null() {
            attrs.remove(&k);
        } else {
            attrs.insert(k, v);
        }
    }
    contact.attributes = serde_json::Value::Object(attrs);
    sqlx::query("UPDATE contacts SET attributes = $3 WHERE id = $1 AND workspace_id = $2")
        .bind(id)
        .bind(workspace_id)
        .bind(contact.attributes.to_string())
        .execute(&mut *c)
        .await?;
    crate::search::index_contact(c, &contact).await?;
    Ok(contact)
}
