//! Business events on contacts: what a company's own systems tell kefu about
//! a customer ("order 6610 refunded", "plan upgraded"), recorded through
//! `POST /api/v1/events`. An event is stored once per idempotency key, and
//! in the same transaction as its `contact_event_recorded` event (and a
//! `contact_updated` one when it set attributes), like every other write.

use crate::{Actor, Contact, Event, Result, Store, StoreError, contacts, events, new_id, now_ms};
use kefu_core::event::{BusinessEvent, ConversationEvent as Ev};
use kefu_core::{ContactId, WorkspaceId};
use serde_json::{Map, Value};
use sqlx::{AnyConnection, Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, contact_id, event_type, title, data, occurred_at, source"
    };
}

fn from_row(r: &AnyRow) -> Result<BusinessEvent> {
    let data: String = r.try_get("data")?;
    Ok(BusinessEvent {
        id: r.try_get("id")?,
        contact_id: r.try_get("contact_id")?,
        event_type: r.try_get("event_type")?,
        title: r.try_get("title")?,
        data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        occurred_at: r.try_get("occurred_at")?,
        source: r.try_get("source")?,
    })
}

/// Which contact an event is about, as the sender knows them. Looked up in
/// this order; the first that names a contact wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactRef {
    /// kefu's own contact id (from a webhook or the API).
    pub id: Option<String>,
    /// The company's own id for the customer.
    pub external_id: Option<String>,
    /// Compared ignoring case. Several contacts may share one (a contact is
    /// one visitor of one inbox): the one seen most recently wins.
    pub email: Option<String>,
}

/// An event to record, checked by the caller (type, title, sizes).
#[derive(Debug, Clone)]
pub struct NewContactEvent {
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub event_type: String,
    pub title: String,
    pub data: Value,
    /// Epoch ms, in the sender's system.
    pub occurred_at: i64,
    /// `api_key:<id>` or `signed`.
    pub source: String,
    /// A retry with the same key (per workspace) stores nothing new.
    pub idempotency_key: Option<String>,
    /// Merged into the contact's attributes (a `null` value removes a key).
    pub set_attributes: Map<String, Value>,
    /// Who the stored events name as their cause.
    pub actor: Actor,
}

/// What recording an event did.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// The event as stored (for a duplicate: the first one).
    pub event: BusinessEvent,
    /// The contact as the write left it.
    pub contact: Contact,
    /// True when the idempotency key was seen before: nothing was stored.
    pub duplicate: bool,
    /// `contact_updated` (if attributes changed), then `contact_event_recorded`;
    /// empty for a duplicate.
    pub events: Vec<Event>,
}

impl Store {
    /// The contact an event names, or `NotFound`.
    pub async fn find_contact_for_event(
        &self,
        workspace_id: &WorkspaceId,
        who: &ContactRef,
    ) -> Result<Contact> {
        let tries: [(&str, Option<&String>); 3] = [
            ("id = $2", who.id.as_ref()),
            ("external_id = $2", who.external_id.as_ref()),
            ("lower(email) = lower($2)", who.email.as_ref()),
        ];
        for (cond, value) in tries {
            let Some(value) = value else { continue };
            let sql = format!(
                "SELECT {} FROM contacts WHERE workspace_id = $1 AND {cond} ORDER BY last_seen_at DESC, id DESC LIMIT 1",
                contacts::COLS
            );
            let r = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(workspace_id)
                .bind(value)
                .fetch_optional(self.reader())
                .await?;
            if let Some(r) = r {
                return contacts::from_row(&r);
            }
        }
        Err(StoreError::NotFound)
    }

    /// Records a business event on a contact, once per idempotency key:
    /// merges `set_attributes` into the contact and stores the events of
    /// both changes, all in one transaction. A key seen before returns the
    /// first event with `duplicate` and changes nothing.
    pub async fn record_contact_event(&self, new: NewContactEvent) -> Result<RecordedEvent> {
        self.write(move |c| Box::pin(async move { record(c, new).await }))
            .await
    }

    /// A contact's events, newest first, before the cursor `before` (an event id).
    pub async fn list_contact_events(
        &self,
        workspace_id: &WorkspaceId,
        contact_id: &ContactId,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<BusinessEvent>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM contact_events WHERE contact_id = $1 AND workspace_id = $2
              AND (CAST($3 AS TEXT) IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(contact_id)
        .bind(workspace_id)
        .bind(before)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The types of a contact's events that happened at or after `since`
    /// (epoch ms), each once, most recent first.
    pub async fn recent_event_types(
        &self,
        workspace_id: &WorkspaceId,
        contact_id: &ContactId,
        since: i64,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT event_type, MAX(occurred_at) AS last FROM contact_events
             WHERE contact_id = $1 AND workspace_id = $2 AND occurred_at >= $3
             GROUP BY event_type ORDER BY last DESC, event_type LIMIT 200",
        )
        .bind(contact_id)
        .bind(workspace_id)
        .bind(since)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| r.try_get("event_type").map_err(StoreError::from))
            .collect()
    }
}

async fn record(c: &mut AnyConnection, new: NewContactEvent) -> Result<RecordedEvent> {
    let ws = &new.workspace_id;
    let now = now_ms();
    let id = new_id();
    let data = new.data.to_string();
    let inserted = sqlx::query(
        "INSERT INTO contact_events (id, workspace_id, contact_id, event_type, title, data, occurred_at, source, idempotency_key, created_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $3 AND workspace_id = $2)
         ON CONFLICT (workspace_id, idempotency_key) DO NOTHING",
    )
    .bind(&id)
    .bind(ws)
    .bind(&new.contact_id)
    .bind(&new.event_type)
    .bind(&new.title)
    .bind(&data)
    .bind(new.occurred_at)
    .bind(&new.source)
    .bind(&new.idempotency_key)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Either the key was seen before, or the contact is not in this workspace.
        let Some(key) = &new.idempotency_key else {
            return Err(StoreError::NotFound);
        };
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM contact_events WHERE workspace_id = $1 AND idempotency_key = $2"
        ))
        .bind(ws)
        .bind(key)
        .fetch_optional(&mut *c)
        .await?
        .ok_or(StoreError::NotFound)?;
        let event = from_row(&r)?;
        let contact = contacts::load(c, ws, &event.contact_id).await?;
        return Ok(RecordedEvent {
            event,
            contact,
            duplicate: true,
            events: Vec::new(),
        });
    }
    let mut changes = Vec::new();
    let contact = if new.set_attributes.is_empty() {
        contacts::load(c, ws, &new.contact_id).await?
    } else {
        let contact =
            contacts::merge_attributes(c, ws, &new.contact_id, new.set_attributes).await?;
        changes.push(Ev::ContactUpdated {
            contact: contact.clone(),
        });
        contact
    };
    let event = BusinessEvent {
        id,
        contact_id: new.contact_id.clone(),
        event_type: new.event_type,
        title: new.title,
        data: new.data,
        occurred_at: new.occurred_at,
        source: new.source,
    };
    changes.push(Ev::ContactEventRecorded {
        event: event.clone(),
    });
    let events =
        events::store_all(c, ws, None, Some(&new.contact_id), &new.actor, changes, now).await?;
    Ok(RecordedEvent {
        event,
        contact,
        duplicate: false,
        events,
    })
}
