//! Agents' notes on a contact, and the custom attributes a workspace
//! defines for its contacts (the pre-chat form and the contact panel share
//! them).

use crate::{Result, Store, StoreError, new_id, now_ms};
use kefu_core::{ContactId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use sqlx::{Row, any::AnyRow};
use utoipa::ToSchema;

/// A note agents keep on a contact (never shown to the contact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactNote {
    pub id: String,
    pub contact_id: ContactId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: i64,
}

fn note_row(r: &AnyRow) -> Result<ContactNote> {
    Ok(ContactNote {
        id: r.try_get("id")?,
        contact_id: r.try_get("contact_id")?,
        author_id: r.try_get("author_id")?,
        body: r.try_get("body")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The type of a custom attribute, which decides how it is edited and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    #[default]
    Text,
    Number,
    Date,
    Boolean,
    Link,
}

impl AttributeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKind::Text => "text",
            AttributeKind::Number => "number",
            AttributeKind::Date => "date",
            AttributeKind::Boolean => "boolean",
            AttributeKind::Link => "link",
        }
    }
}

impl std::str::FromStr for AttributeKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [
            AttributeKind::Text,
            AttributeKind::Number,
            AttributeKind::Date,
            AttributeKind::Boolean,
            AttributeKind::Link,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            format!("unknown attribute kind {s:?} (text, number, date, boolean or link)")
        })
    }
}

/// A custom contact attribute the workspace defines: its key in the
/// contact's `attributes`, its label, its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttributeDefinition {
    /// `[a-z0-9_]{1,32}`, the key in `attributes` (and a pre-chat field's key).
    pub key: String,
    pub label: String,
    pub kind: AttributeKind,
}

impl Store {
    pub async fn add_contact_note(
        &self,
        workspace_id: &WorkspaceId,
        contact_id: &ContactId,
        author_id: &UserId,
        body: &str,
    ) -> Result<ContactNote> {
        let note = ContactNote {
            id: new_id(),
            contact_id: contact_id.clone(),
            author_id: author_id.clone(),
            body: body.trim().to_string(),
            created_at: now_ms(),
        };
        let (ws, n) = (workspace_id.clone(), note.clone());
        self.write(move |c| {
            Box::pin(async move {
                // The contact must be this workspace's.
                crate::contacts::load(c, &ws, &n.contact_id).await?;
                sqlx::query(
                    "INSERT INTO contact_notes (id, workspace_id, contact_id, author_id, body, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&n.id)
                .bind(&ws)
                .bind(&n.contact_id)
                .bind(&n.author_id)
                .bind(&n.body)
                .bind(n.created_at)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(note)
    }

    /// A contact's notes, newest first.
    pub async fn list_contact_notes(
        &self,
        workspace_id: &WorkspaceId,
        contact_id: &ContactId,
        limit: i64,
    ) -> Result<Vec<ContactNote>> {
        let rows = sqlx::query(
            "SELECT id, contact_id, author_id, body, created_at FROM contact_notes
             WHERE contact_id = $1 AND workspace_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(contact_id)
        .bind(workspace_id)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(note_row).collect()
    }

    /// Deletes a note; `author`: only if they wrote it (`None`: an admin's
    /// delete, any note of the workspace).
    pub async fn delete_contact_note(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        author: Option<&UserId>,
    ) -> Result<()> {
        let (ws, id, author) = (workspace_id.clone(), id.to_string(), author.cloned());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "DELETE FROM contact_notes WHERE id = $1 AND workspace_id = $2
                       AND (CAST($3 AS TEXT) IS NULL OR author_id = $3)",
                )
                .bind(&id)
                .bind(&ws)
                .bind(author.as_deref())
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
        .await
    }

    pub async fn list_attribute_definitions(
        &self,
        workspace_id: &WorkspaceId,
    ) -> Result<Vec<AttributeDefinition>> {
        let rows = sqlx::query(
            "SELECT key, label, kind FROM attribute_definitions WHERE workspace_id = $1 ORDER BY created_at, key",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttributeDefinition {
                    key: r.try_get("key")?,
                    label: r.try_get("label")?,
                    kind: crate::routing::parse_word(r.try_get("kind")?)?,
                })
            })
            .collect()
    }

    /// Creates or relabels/retypes the definition of `def.key`.
    pub async fn save_attribute_definition(
        &self,
        workspace_id: &WorkspaceId,
        def: &AttributeDefinition,
    ) -> Result<()> {
        let (ws, d) = (workspace_id.clone(), def.clone());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE attribute_definitions SET label = $3, kind = $4 WHERE workspace_id = $1 AND key = $2",
                )
                .bind(&ws)
                .bind(&d.key)
                .bind(&d.label)
                .bind(d.kind.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    sqlx::query(
                        "INSERT INTO attribute_definitions (workspace_id, key, label, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&ws)
                    .bind(&d.key)
                    .bind(&d.label)
                    .bind(d.kind.as_str())
                    .bind(now_ms())
                    .execute(&mut *c)
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Deletes a definition (contacts keep their values under the key).
    pub async fn delete_attribute_definition(
        &self,
        workspace_id: &WorkspaceId,
        key: &str,
    ) -> Result<()> {
        let (ws, key) = (workspace_id.clone(), key.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "DELETE FROM attribute_definitions WHERE workspace_id = $1 AND key = $2",
                )
                .bind(&ws)
                .bind(&key)
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
        .await
    }
}
