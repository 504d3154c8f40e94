//! What conversation lists show besides the conversation: who the contact
//! is, the newest message and the reader's unread count, for a whole page
//! in one query (a console with 200 open conversations makes one request).

use crate::{ConversationPreview, LastMessage, Result, Store, StoreError};
use kefu_core::{ConversationId, WorkspaceId};
use sqlx::Row;
use std::collections::HashMap;

/// Longest excerpt of the newest message, in characters.
const EXCERPT_CHARS: usize = 140;

impl Store {
    /// Previews of the conversations `ids` of the workspace, as seen by
    /// `reader_id` (its read positions give `unread`). Unknown ids are left
    /// out. Without `include_notes` (visitors), notes are not counted.
    pub async fn conversation_previews(
        &self,
        workspace_id: &WorkspaceId,
        reader_id: &str,
        ids: &[ConversationId],
        include_notes: bool,
    ) -> Result<HashMap<ConversationId, ConversationPreview>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Only placeholders are formatted into the SQL; every value is bound.
        let list = (0..ids.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        // Agents: everything after the read position; visitors: no notes.
        let unread = if include_notes {
            "c.last_seq - COALESCE(r.seq, 0)"
        } else {
            "(SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id AND u.seq > COALESCE(r.seq, 0) AND u.kind <> 'note')"
        };
        let sql = format!(
            "SELECT c.id, ct.name, ct.email, m.kind, m.sender_kind, m.content, m.created_at,
                    {unread} AS unread
             FROM conversations c
             JOIN contacts ct ON ct.id = c.contact_id
             LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
             LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.reader_id = $2
             WHERE c.workspace_id = $1 AND c.id IN ({list})"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(reader_id);
        for id in ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(self.reader()).await?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let kind: Option<String> = r.try_get("kind")?;
            let last_message = match kind {
                Some(kind) => {
                    let sender: String = r.try_get("sender_kind")?;
                    let content: String = r.try_get("content")?;
                    Some(LastMessage {
                        kind: kind.parse().map_err(StoreError::Corrupt)?,
                        sender_kind: sender.parse().map_err(StoreError::Corrupt)?,
                        excerpt: content.chars().take(EXCERPT_CHARS).collect(),
                        created_at: r.try_get("created_at")?,
                    })
                }
                None => None,
            };
            let unread: i64 = r.try_get("unread")?;
            out.insert(
                r.try_get("id")?,
                ConversationPreview {
                    contact_name: r.try_get("name")?,
                    contact_email: r.try_get("email")?,
                    last_message,
                    unread: unread.max(0),
                },
            );
        }
        Ok(out)
    }
}
