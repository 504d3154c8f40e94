//! Attachment metadata; the bytes live in the server's blob storage.

use crate::{Attachment, Result, Store};
use kefu_core::{ConversationId, WorkspaceId};
use sqlx::{Row, any::AnyRow};

fn from_row(r: &AnyRow) -> Result<(Attachment, Option<ConversationId>)> {
    Ok((
        Attachment {
            id: r.try_get("id")?,
            workspace_id: r.try_get("workspace_id")?,
            uploader_kind: r.try_get("uploader_kind")?,
            uploader_id: r.try_get("uploader_id")?,
            name: r.try_get("name")?,
            content_type: r.try_get("content_type")?,
            size: r.try_get("size")?,
            storage_key: r.try_get("storage_key")?,
            created_at: r.try_get("created_at")?,
        },
        r.try_get("conversation_id")?,
    ))
}

impl Store {
    pub async fn create_attachment(&self, a: Attachment) -> Result<Attachment> {
        let row = a.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO attachments (id, workspace_id, uploader_kind, uploader_id, name, content_type, size, storage_key, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&row.id)
                .bind(&row.workspace_id)
                .bind(&row.uploader_kind)
                .bind(&row.uploader_id)
                .bind(&row.name)
                .bind(&row.content_type)
                .bind(row.size)
                .bind(&row.storage_key)
                .bind(row.created_at)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(a)
    }

    /// An attachment and the conversation it was sent in (None until sent).
    pub async fn get_attachment(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
    ) -> Result<(Attachment, Option<ConversationId>)> {
        let r = sqlx::query(
            "SELECT id, workspace_id, uploader_kind, uploader_id, name, content_type, size, storage_key, created_at, conversation_id
             FROM attachments WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.reader())
        .await?;
        from_row(&r)
    }
}
