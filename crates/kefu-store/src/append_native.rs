//! The message append's common case on SQLite's native writer connection
//! (see [`crate::backend::sqlite`]): an open conversation, in the same
//! statements as `messages::fast_append`, with cached prepared statements
//! and no cross-thread round trip per statement.
//!
//! Same contract as an unguarded write: the first statement either fails
//! having changed nothing or hands out the seq; after it, any failure is
//! `Poisoned` (the batch rolls back) and a resend undoes its own seq bump.

use crate::messages::ConversationTarget;
use crate::{Appended, Conversation, NewMessage, Result, StoreError, new_id, now_ms};
use kefu_core::WorkspaceId;
use kefu_core::{AttachmentRef, Message, Sender};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

macro_rules! conv_cols {
    () => {
        "id, workspace_id, inbox_id, contact_id, status, assignee_id, last_seq, last_activity_at, created_at, updated_at, priority, tags, snoozed_until, waiting_since"
    };
}

/// The append when the target conversation is open (and the sender's, for a
/// visitor), or `None` having changed nothing, so the caller takes the
/// general path (open, reopen or refuse).
pub(crate) fn fast_append(c: &Connection, new: &NewMessage) -> Result<Option<Appended>> {
    let ws = &new.workspace_id;
    let now = now_ms();
    if new.only_while.is_some() {
        // Conditional appends (the bot's) take the general path.
        return Ok(None);
    }
    let waiting = kefu_core::Waiting::of(new.sender.kind, new.kind).as_str();
    let conv = match &new.target {
        ConversationTarget::Existing(id) => c
            .prepare_cached(concat!(
                "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ?2, ",
                kefu_core::waiting_sql!("?5", "?2"),
                " WHERE id = ?1 AND workspace_id = ?3 AND status IN ",
                kefu_core::appendable_statuses_sql!(),
                " AND (?4 IS NULL OR (contact_id = ?4 AND ",
                crate::messages::visitor_may_send_sql!("?4"),
                "))
                 RETURNING ",
                conv_cols!()
            ))?
            .query_row(
                params![id, now, ws, new.require_contact, waiting],
                conversation,
            )
            .optional()?,
        ConversationTarget::VisitorActive {
            inbox_id,
            contact_id,
        } => c
            .prepare_cached(concat!(
                "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ?2, ",
                kefu_core::waiting_sql!("?5", "?2"),
                " WHERE contact_id = ?1 AND inbox_id = ?3 AND workspace_id = ?4 AND status IN ",
                kefu_core::appendable_statuses_sql!(),
                " AND ",
                crate::messages::visitor_may_send_sql!("?1"),
                "
                 RETURNING ",
                conv_cols!()
            ))?
            .query_row(
                params![contact_id, now, inbox_id, ws, waiting],
                conversation,
            )
            .optional()?,
    };
    let Some(conv) = conv else {
        return Ok(None);
    };
    let poison = |e: StoreError| StoreError::Poisoned(Box::new(e));
    let conv = conv.map_err(poison)?;
    let message = Message {
        id: new_id(),
        conversation_id: conv.id.clone(),
        seq: conv.last_seq,
        client_msg_id: new.client_msg_id.clone(),
        sender: new.sender.clone(),
        kind: new.kind,
        content: new.content.clone(),
        attachment: new.attachment.clone(),
        created_at: now,
        deleted_at: None,
        bot: new.bot.clone(),
    };
    let inserted = c
        .prepare_cached(
            "INSERT INTO messages (workspace_id, id, conversation_id, seq, sender_kind, sender_id, client_msg_id, kind, content, attachment, created_at, bot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING",
        )
        .and_then(|mut st| {
            st.execute(params![
                ws,
                message.id,
                message.conversation_id,
                message.seq,
                message.sender.kind.as_str(),
                message.sender.id,
                message.client_msg_id,
                message.kind.as_str(),
                message.content,
                message.attachment.as_ref().map(|a| json!(a).to_string()),
                message.created_at,
                message.bot.as_ref().map(|b| json!(b).to_string()),
            ])
        })
        .map_err(|e| poison(e.into()))?;
    if inserted == 0 {
        // A resend: give the seq back, then answer with the stored message.
        c.prepare_cached("UPDATE conversations SET last_seq = last_seq - 1 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![conv.id]))
            .map_err(|e| poison(e.into()))?;
        let cmid = message.client_msg_id.as_deref().unwrap_or_default();
        return Err(duplicate_of(c, ws, &message.sender.id, cmid));
    }
    crate::search::index_message_native(c, &message).map_err(|e| poison(e.into()))?;
    if let Some(att) = &message.attachment {
        // Binds the sent upload to its conversation, which downloads check.
        c.prepare_cached(
            "UPDATE attachments SET conversation_id = ?2 WHERE id = ?1 AND conversation_id IS NULL",
        )
        .and_then(|mut st| st.execute(params![att.id, conv.id]))
        .map_err(|e| poison(e.into()))?;
    }
    let events = crate::messages::message_events(&conv, &message, Vec::new());
    for e in &events {
        let payload = crate::events::payload(e).map_err(poison)?;
        c.prepare_cached(
            "INSERT INTO outbox (id, workspace_id, conversation_id, type, payload, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut st| {
            st.execute(params![
                e.id,
                e.workspace_id,
                e.conversation_id(),
                e.change.type_name(),
                payload,
                e.occurred_at,
            ])
        })
        .map_err(|e| poison(e.into()))?;
    }
    Ok(Some(Appended {
        message,
        conversation: conv,
        duplicate: false,
        created: false,
        reopened_from: None,
        events,
    }))
}

/// [`fast_append`] for each message in order, up to the first that needs
/// the general path: one result per message taken (a resend as the
/// `Duplicate` error), the rest left to the caller.
pub(crate) fn fast_append_many(
    c: &Connection,
    news: &[NewMessage],
) -> Result<Vec<Result<Appended>>> {
    let mut out = Vec::with_capacity(news.len());
    for new in news {
        match fast_append(c, new) {
            Ok(Some(a)) => out.push(Ok(a)),
            Ok(None) => break,
            Err(e @ StoreError::Poisoned(_)) => return Err(e),
            Err(e) => out.push(Err(e)),
        }
    }
    Ok(out)
}

/// The earlier result of a resend, as the `Duplicate` error the store turns
/// into a successful answer.
fn duplicate_of(
    c: &Connection,
    ws: &WorkspaceId,
    sender_id: &str,
    client_msg_id: &str,
) -> StoreError {
    let found = c
        .prepare_cached(
            "SELECT id, conversation_id, seq, sender_kind, sender_id, client_msg_id, kind, content, attachment, created_at, deleted_at, bot
             FROM messages WHERE sender_id = ?1 AND client_msg_id = ?2",
        )
        .and_then(|mut st| st.query_row(params![sender_id, client_msg_id], message).optional());
    let found = match found {
        Ok(Some(Ok(m))) => m,
        Ok(Some(Err(e))) => return e,
        Ok(None) => {
            return StoreError::Conflict("a concurrent send with this client_msg_id; retry".into());
        }
        Err(e) => return e.into(),
    };
    let conv = c
        .prepare_cached(concat!(
            "SELECT ",
            conv_cols!(),
            " FROM conversations WHERE id = ?1 AND workspace_id = ?2"
        ))
        .and_then(|mut st| st.query_row(params![found.conversation_id, ws], conversation));
    match conv {
        Ok(Ok(conversation)) => StoreError::Duplicate(Box::new(Appended {
            message: found,
            conversation,
            duplicate: true,
            created: false,
            reopened_from: None,
            events: Vec::new(),
        })),
        Ok(Err(e)) => e,
        Err(e) => e.into(),
    }
}

/// A conversation row; a value that does not parse is a `Corrupt` error
/// (inner result), a column that cannot be read a database error (outer).
fn conversation(r: &Row<'_>) -> rusqlite::Result<Result<Conversation>> {
    let status: String = r.get(4)?;
    let status = match status.parse() {
        Ok(s) => s,
        Err(e) => return Ok(Err(StoreError::Corrupt(format!("{e}")))),
    };
    Ok(Ok(Conversation {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        inbox_id: r.get(2)?,
        contact_id: r.get(3)?,
        status,
        assignee_id: r.get(5)?,
        last_seq: r.get(6)?,
        last_activity_at: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        priority: match r.get::<_, String>(10)?.parse() {
            Ok(p) => p,
            Err(e) => return Ok(Err(StoreError::Corrupt(e))),
        },
        tags: match crate::conversations::parse_tags(&r.get::<_, String>(11)?) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        },
        snoozed_until: r.get(12)?,
        waiting_since: r.get(13)?,
    }))
}

fn message(r: &Row<'_>) -> rusqlite::Result<Result<Message>> {
    let sender_kind: String = r.get(3)?;
    let kind: String = r.get(6)?;
    let attachment: Option<String> = r.get(8)?;
    let bot: Option<String> = r.get(11)?;
    let parsed = (|| -> Result<Message> {
        Ok(Message {
            id: r.get(0)?,
            conversation_id: r.get(1)?,
            seq: r.get(2)?,
            client_msg_id: r.get(5)?,
            sender: Sender {
                kind: sender_kind.parse().map_err(StoreError::Corrupt)?,
                id: r.get(4)?,
            },
            kind: kind.parse().map_err(StoreError::Corrupt)?,
            content: r.get(7)?,
            attachment: attachment
                .map(|a| serde_json::from_str::<AttachmentRef>(&a))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: r.get(9)?,
            deleted_at: r.get(10)?,
            bot: bot
                .map(|b| serde_json::from_str(&b))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    })();
    Ok(parsed)
}
