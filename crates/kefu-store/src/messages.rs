//! Messages: append with idempotency and per-conversation `seq`, and reads by
//! `seq` range (the resume path).

use crate::{
    Actor, Conversation, Event, Result, Store, StoreError, conversations, events, new_id, now_ms,
};
use kefu_core::{
    AttachmentRef, ConversationStatus, Message, MessageKind, Sender, SenderKind,
    event::ConversationEvent as Ev,
};
use kefu_core::{ContactId, ConversationId, UserId, WorkspaceId};
use serde_json::json;
use sqlx::{AnyConnection, Connection, Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, conversation_id, seq, sender_kind, sender_id, client_msg_id, kind, content, attachment, created_at, deleted_at, bot"
    };
}
pub(crate) use cols;

/// [`cols`] of the table aliased `m`, for queries that join others.
macro_rules! prefixed_cols {
    () => {
        "m.id, m.conversation_id, m.seq, m.sender_kind, m.sender_id, m.client_msg_id, m.kind, m.content, m.attachment, m.created_at, m.deleted_at, m.bot"
    };
}
pub(crate) use prefixed_cols;

pub(crate) fn from_row(r: &AnyRow) -> Result<Message> {
    let sender_kind: String = r.try_get("sender_kind")?;
    let kind: String = r.try_get("kind")?;
    let attachment: Option<String> = r.try_get("attachment")?;
    let bot: Option<String> = r.try_get("bot")?;
    Ok(Message {
        id: r.try_get("id")?,
        conversation_id: r.try_get("conversation_id")?,
        seq: r.try_get("seq")?,
        client_msg_id: r.try_get("client_msg_id")?,
        sender: Sender {
            kind: sender_kind.parse().map_err(StoreError::Corrupt)?,
            id: r.try_get("sender_id")?,
        },
        kind: kind.parse().map_err(StoreError::Corrupt)?,
        content: r.try_get("content")?,
        attachment: attachment
            .map(|a| serde_json::from_str::<AttachmentRef>(&a))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: r.try_get("created_at")?,
        deleted_at: r.try_get("deleted_at")?,
        bot: bot
            .map(|b| serde_json::from_str(&b))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

/// Which conversation a new message goes to.
#[derive(Debug, Clone)]
pub enum ConversationTarget {
    Existing(ConversationId),
    /// The visitor's active conversation in this inbox, opened if there is none.
    VisitorActive {
        inbox_id: String,
        contact_id: ContactId,
    },
}

/// A message to store. Content is already validated by the caller.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub workspace_id: WorkspaceId,
    pub target: ConversationTarget,
    pub sender: Sender,
    pub client_msg_id: Option<String>,
    pub kind: MessageKind,
    pub content: String,
    pub attachment: Option<AttachmentRef>,
    /// For visitors: the conversation must be this contact's (checked inside
    /// the write, so no separate read is needed).
    pub require_contact: Option<ContactId>,
    /// A bot message's buttons and the entry it answered with.
    pub bot: Option<kefu_core::bot::BotMark>,
    /// Store it only while the conversation has this status (checked inside
    /// the write): the bot never speaks in a conversation that has just
    /// left it. Refused with [`NOT_IN_STATUS`] otherwise.
    pub only_while: Option<ConversationStatus>,
}

/// The `Invalid` message of an append refused by [`NewMessage::only_while`].
pub const NOT_IN_STATUS: &str = "the conversation's status changed";

/// The outcome of an append.
#[derive(Debug, Clone)]
pub struct Appended {
    pub message: Message,
    /// The conversation after the append.
    pub conversation: Conversation,
    /// The `client_msg_id` was seen before: nothing new was stored.
    pub duplicate: bool,
    /// The append opened a new conversation.
    pub created: bool,
    /// The status before, when the append changed it (a visitor reopening).
    pub reopened_from: Option<ConversationStatus>,
    /// What the append stored in the outbox (none for a resend).
    pub events: Vec<Event>,
}

/// The events of a new message: `changes` made on the way (a conversation
/// opened or reopened), then the message itself.
pub(crate) fn message_events(
    conv: &Conversation,
    message: &Message,
    mut changes: Vec<Ev>,
) -> Vec<Event> {
    let actor = Actor {
        kind: message.sender.kind,
        id: message.sender.id.clone(),
    };
    changes.push(Ev::MessageCreated {
        message: message.clone(),
    });
    events::build(
        &conv.workspace_id,
        Some(conv),
        None,
        &actor,
        changes,
        message.created_at,
    )
}

impl Store {
    /// Stores a message durably (once per `client_msg_id`) and gives it the
    /// next `seq` of its conversation.
    pub async fn append_message(&self, new: NewMessage) -> Result<Appended> {
        // SQLite: the common case on the writer's native connection; the
        // rest (and PostgreSQL) through sqlx below.
        let native = {
            let new = new.clone();
            self.backend
                .write_native(move |c| crate::append_native::fast_append(c, &new))
                .await
        };
        let tried_fast = match native {
            None => false,
            Some(Ok(Some(done))) => return Ok(done),
            Some(Ok(None)) => true,
            Some(Err(StoreError::Duplicate(a))) => return Ok(*a),
            Some(Err(StoreError::Poisoned(e))) => return Err(*e),
            Some(Err(e)) => return Err(e),
        };
        let first = {
            let new = new.clone();
            self.write_unguarded(move |c| Box::pin(append_unguarded(c, new, !tried_fast)))
                .await
        };
        let result = match first {
            // Two concurrent sends raced (PostgreSQL): the loser now finds the
            // winner's row (duplicate) or the newly opened conversation.
            Err(StoreError::Conflict(_)) => {
                self.write_unguarded(move |c| Box::pin(append_unguarded(c, new, true)))
                    .await
            }
            other => other,
        };
        match result {
            Err(StoreError::Duplicate(a)) => Ok(*a),
            Err(StoreError::Poisoned(e)) => Err(*e),
            other => other,
        }
    }

    /// Appends several messages of one sender in their order, each exactly
    /// like [`Store::append_message`]; one result per message, in order. On
    /// SQLite the leading run of common-case appends shares one write job
    /// (one commit); the rest follow one by one, so the order holds.
    pub async fn append_messages(&self, news: Vec<NewMessage>) -> Vec<Result<Appended>> {
        let mut out = Vec::with_capacity(news.len());
        let mut rest = news.into_iter();
        if rest.len() > 1 {
            let batch: Vec<NewMessage> = rest.as_slice().to_vec();
            let run = self
                .backend
                .write_native(move |c| crate::append_native::fast_append_many(c, &batch))
                .await;
            match run {
                None => {}
                Some(Ok(done)) => {
                    for r in done {
                        rest.next();
                        out.push(match r {
                            Err(StoreError::Duplicate(a)) => Ok(*a),
                            other => other,
                        });
                    }
                }
                // The whole job failed (its batch did not commit): so did each append.
                Some(Err(e)) => {
                    let e = match e {
                        StoreError::Poisoned(inner) => inner.to_string(),
                        other => other.to_string(),
                    };
                    out.extend(rest.map(|_| Err(StoreError::Commit(e.clone()))));
                    return out;
                }
            }
        }
        for new in rest {
            out.push(self.append_message(new).await);
        }
        out
    }

    /// Takes back message `seq` of a conversation for its author `by`, if
    /// it was sent at `not_before` or later: its text and attachment are
    /// cleared for everyone; the `message_deleted` event keeps them (the
    /// audit trail). `NotFound` for a message that is not theirs (nothing
    /// told to others); `Invalid` once the window has passed or it was
    /// already taken back.
    pub async fn delete_message(
        &self,
        workspace_id: &WorkspaceId,
        conversation_id: &ConversationId,
        seq: i64,
        by: &UserId,
        not_before: i64,
        actor: Actor,
    ) -> Result<(Message, Vec<Event>)> {
        let (ws, cid, by) = (workspace_id.clone(), conversation_id.clone(), by.clone());
        self.write(move |c| {
            Box::pin(async move {
                let conv = conversations::load(c, &ws, &cid).await?;
                let row = sqlx::query(concat!(
                    "SELECT ",
                    cols!(),
                    " FROM messages WHERE conversation_id = $1 AND seq = $2"
                ))
                .bind(&cid)
                .bind(seq)
                .fetch_optional(&mut *c)
                .await?
                .ok_or(StoreError::NotFound)?;
                let before = from_row(&row)?;
                if before.sender.kind != SenderKind::Agent || before.sender.id != by.as_str() {
                    return Err(StoreError::NotFound);
                }
                if before.deleted_at.is_some() {
                    return Err(StoreError::Invalid("the message was deleted already".into()));
                }
                if before.created_at < not_before {
                    return Err(StoreError::Invalid(
                        "too late: messages can only be deleted shortly after they were sent".into(),
                    ));
                }
                let at = now_ms();
                sqlx::query(
                    "UPDATE messages SET content = '', attachment = NULL, deleted_at = $3 WHERE conversation_id = $1 AND seq = $2",
                )
                .bind(&cid)
                .bind(seq)
                .bind(at)
                .execute(&mut *c)
                .await?;
                crate::search::unindex_message(c, &before.id).await?;
                let after = Message {
                    content: String::new(),
                    attachment: None,
                    deleted_at: Some(at),
                    ..before.clone()
                };
                let events = events::store_all(
                    c,
                    &ws,
                    Some(&conv),
                    None,
                    &actor,
                    vec![Ev::MessageDeleted {
                        message_id: before.id.clone(),
                        seq,
                        kind: before.kind,
                        content: before.content.clone(),
                    }],
                    at,
                )
                .await?;
                Ok((after, events))
            })
        })
        .await
    }

    /// The message `sender_id` sent with `client_msg_id`, if any, with its conversation.
    pub async fn find_sent(
        &self,
        workspace_id: &WorkspaceId,
        sender_id: &str,
        client_msg_id: &str,
    ) -> Result<Option<(Message, Conversation)>> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM messages WHERE sender_id = $1 AND client_msg_id = $2 AND workspace_id = $3"
        ))
        .bind(sender_id)
        .bind(client_msg_id)
        .bind(workspace_id)
        .fetch_optional(self.reader())
        .await?;
        match r {
            Some(r) => {
                let m = from_row(&r)?;
                let conv = self
                    .get_conversation(workspace_id, &m.conversation_id)
                    .await?;
                Ok(Some((m, conv)))
            }
            None => Ok(None),
        }
    }

    /// Messages of a conversation with `after_seq < seq <= upto_seq`, oldest
    /// first, at most `limit`. Private notes are left out unless asked for.
    pub async fn list_messages(
        &self,
        conversation_id: &ConversationId,
        after_seq: i64,
        upto_seq: Option<i64>,
        limit: i64,
        include_notes: bool,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM messages WHERE conversation_id = $1 AND seq > $2 AND seq <= $3 AND ($4 = 1 OR kind <> 'note')
              ORDER BY seq LIMIT $5"
        ))
        .bind(conversation_id)
        .bind(after_seq)
        .bind(upto_seq.unwrap_or(i64::MAX))
        .bind(i64::from(include_notes))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The newest messages before `before_seq`, returned oldest first (for
    /// scrolling back through history).
    pub async fn list_messages_before(
        &self,
        conversation_id: &ConversationId,
        before_seq: i64,
        limit: i64,
        include_notes: bool,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM messages WHERE conversation_id = $1 AND seq < $2 AND ($3 = 1 OR kind <> 'note')
              ORDER BY seq DESC LIMIT $4"
        ))
        .bind(conversation_id)
        .bind(before_seq)
        .bind(i64::from(include_notes))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        let mut v = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        v.reverse();
        Ok(v)
    }
}

async fn find_duplicate(
    c: &mut AnyConnection,
    sender_id: &str,
    client_msg_id: &str,
) -> Result<Option<Message>> {
    let r = sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM messages WHERE sender_id = $1 AND client_msg_id = $2"
    ))
    .bind(sender_id)
    .bind(client_msg_id)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(from_row).transpose()
}

/// The append as an unguarded write (no savepoint from the SQLite writer):
/// the common case (an open conversation) changes rows only in statements
/// that either all succeed or are undone here; everything else runs in a
/// savepoint of its own.
/// `try_fast`: false when the native fast path just found the conversation
/// not open, so only the general path is left.
async fn append_unguarded(
    c: &mut AnyConnection,
    new: NewMessage,
    try_fast: bool,
) -> Result<Appended> {
    if try_fast
        && new.only_while.is_none()
        && let Some(done) = fast_append(c, &new).await?
    {
        return Ok(done);
    }
    let mut sp = c.begin().await?;
    let poisoned = |e: sqlx::Error| StoreError::Poisoned(Box::new(e.into()));
    match append_tx(&mut sp, new).await {
        Ok(a) => {
            sp.commit().await.map_err(poisoned)?;
            Ok(a)
        }
        Err(e) => {
            sp.rollback().await.map_err(poisoned)?;
            Err(e)
        }
    }
}

/// SQL true when the visitor `$n` may send: their contact is neither
/// blocked nor merged away (the fast paths leave the refusal to the slow
/// path, which says which). One primary-key probe per visitor message.
macro_rules! visitor_may_send_sql {
    ($p:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM contacts k WHERE k.id = ",
            $p,
            " AND (k.blocked_at IS NOT NULL OR k.merged_into IS NOT NULL))"
        )
    };
}
pub(crate) use visitor_may_send_sql;

/// An append to an open conversation in two statements, or `None` (having
/// changed nothing) when the conversation is not open or not the sender's.
async fn fast_append(c: &mut AnyConnection, new: &NewMessage) -> Result<Option<Appended>> {
    let ws = &new.workspace_id;
    let now = now_ms();
    let waiting = kefu_core::Waiting::of(new.sender.kind, new.kind).as_str();
    // One statement checks access, takes the row lock and hands out the next
    // seq. A failing statement changes nothing; after this one succeeds, any
    // failure must undo it or poison the batch.
    let row = match &new.target {
        ConversationTarget::Existing(id) => {
            sqlx::query(concat!(
                "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $2, ",
                kefu_core::waiting_sql!("$5", "$2"),
                " WHERE id = $1 AND workspace_id = $3 AND status IN ",
                kefu_core::appendable_statuses_sql!(),
                " AND (CAST($4 AS TEXT) IS NULL OR (contact_id = $4 AND ",
                visitor_may_send_sql!("$4"),
                "))
                 RETURNING ",
                conversations::cols!()
            ))
            .bind(id)
            .bind(now)
            .bind(ws)
            .bind(new.require_contact.as_deref())
            .bind(waiting)
            .fetch_optional(&mut *c)
            .await?
        }
        ConversationTarget::VisitorActive {
            inbox_id,
            contact_id,
        } => {
            sqlx::query(concat!(
                "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $2, ",
                kefu_core::waiting_sql!("$5", "$2"),
                " WHERE contact_id = $1 AND inbox_id = $3 AND workspace_id = $4 AND status IN ",
                kefu_core::appendable_statuses_sql!(),
                " AND ",
                visitor_may_send_sql!("$1"),
                "
                 RETURNING ",
                conversations::cols!()
            ))
            .bind(contact_id)
            .bind(now)
            .bind(inbox_id)
            .bind(ws)
            .bind(waiting)
            .fetch_optional(&mut *c)
            .await?
        }
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let poison = |e: StoreError| StoreError::Poisoned(Box::new(e));
    let conv = conversations::from_row(&row).map_err(poison)?;
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
    if insert_message(c, ws, &message).await.map_err(poison)? == 0 {
        // A resend: give the seq back, then answer with the stored message.
        sqlx::query("UPDATE conversations SET last_seq = last_seq - 1 WHERE id = $1")
            .bind(&conv.id)
            .execute(&mut *c)
            .await
            .map_err(|e| poison(e.into()))?;
        return Err(duplicate_of(
            c,
            ws,
            &message.sender.id,
            message.client_msg_id.as_deref().unwrap_or_default(),
        )
        .await);
    }
    crate::search::index_message(c, &message, ws)
        .await
        .map_err(poison)?;
    bind_attachment(c, &message, &conv.id)
        .await
        .map_err(poison)?;
    let events = message_events(&conv, &message, Vec::new());
    events::store_built(c, &events).await.map_err(poison)?;
    Ok(Some(Appended {
        message,
        conversation: conv,
        duplicate: false,
        created: false,
        reopened_from: None,
        events,
    }))
}

/// Inserts unless `(sender, client_msg_id)` exists; returns the rows inserted.
async fn insert_message(c: &mut AnyConnection, ws: &WorkspaceId, message: &Message) -> Result<u64> {
    Ok(sqlx::query(concat!(
        "INSERT INTO messages (workspace_id, id, conversation_id, seq, sender_kind, sender_id, client_msg_id, kind, content, attachment, created_at, bot",
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING"
    ))
    .bind(ws)
    .bind(&message.id)
    .bind(&message.conversation_id)
    .bind(message.seq)
    .bind(message.sender.kind.as_str())
    .bind(&message.sender.id)
    .bind(message.client_msg_id.as_deref())
    .bind(message.kind.as_str())
    .bind(&message.content)
    .bind(message.attachment.as_ref().map(|a| json!(a).to_string()))
    .bind(message.created_at)
    .bind(message.bot.as_ref().map(|b| json!(b).to_string()))
    .execute(&mut *c)
    .await?
    .rows_affected())
}

/// Binds a sent upload to its conversation, which is what downloads check.
async fn bind_attachment(
    c: &mut AnyConnection,
    message: &Message,
    conversation_id: &ConversationId,
) -> Result<()> {
    if let Some(att) = &message.attachment {
        sqlx::query(
            "UPDATE attachments SET conversation_id = $2 WHERE id = $1 AND conversation_id IS NULL",
        )
        .bind(&att.id)
        .bind(conversation_id)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Everything but the fast path: opening, reopening or refusing a
/// conversation, then the insert. Runs inside a savepoint (see
/// [`append_unguarded`]), so any failure undoes all of it.
async fn append_tx(c: &mut AnyConnection, new: NewMessage) -> Result<Appended> {
    let ws = &new.workspace_id;
    let now = now_ms();
    let mut changes = Vec::new();
    let (conv, created, reopened_from) = slow_path(c, &new, now, &mut changes).await?;
    let message = Message {
        id: new_id(),
        conversation_id: conv.id.clone(),
        seq: conv.last_seq,
        client_msg_id: new.client_msg_id,
        sender: new.sender,
        kind: new.kind,
        content: new.content,
        attachment: new.attachment,
        created_at: now,
        deleted_at: None,
        bot: new.bot,
    };
    // The dedupe index decides idempotency: a resend inserts nothing, and the
    // whole write (seq included) is rolled back by returning `Duplicate`.
    if insert_message(c, ws, &message).await? == 0 {
        return Err(duplicate_of(
            c,
            ws,
            &message.sender.id,
            message.client_msg_id.as_deref().unwrap_or_default(),
        )
        .await);
    }
    crate::search::index_message(c, &message, ws).await?;
    bind_attachment(c, &message, &conv.id).await?;
    let events = message_events(&conv, &message, changes);
    events::store_built(c, &events).await?;
    Ok(Appended {
        message,
        conversation: conv,
        duplicate: false,
        created,
        reopened_from,
        events,
    })
}

/// The earlier result of a resend, as the `Duplicate` error that rolls the
/// resend's own changes back.
async fn duplicate_of(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    sender_id: &str,
    client_msg_id: &str,
) -> StoreError {
    let found = match find_duplicate(c, sender_id, client_msg_id).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return StoreError::Conflict("a concurrent send with this client_msg_id; retry".into());
        }
        Err(e) => return e,
    };
    match conversations::load(c, ws, &found.conversation_id).await {
        Ok(conversation) => StoreError::Duplicate(Box::new(Appended {
            message: found,
            conversation,
            duplicate: true,
            created: false,
            reopened_from: None,
            events: Vec::new(),
        })),
        Err(e) => e,
    }
}

/// Everything but an open conversation: opening a visitor's first one,
/// reopening a pending or resolved one, refusing a closed one.
async fn slow_path(
    c: &mut AnyConnection,
    new: &NewMessage,
    now: i64,
    changes: &mut Vec<Ev>,
) -> Result<(Conversation, bool, Option<ConversationStatus>)> {
    let ws = &new.workspace_id;
    if new.sender.kind == SenderKind::Visitor {
        let visitor = match &new.target {
            ConversationTarget::Existing(_) => new.require_contact.as_ref(),
            ConversationTarget::VisitorActive { contact_id, .. } => Some(contact_id),
        };
        if let Some(id) = visitor {
            let k = crate::contacts::load(c, ws, id).await?;
            if k.merged_into.is_some() {
                return Err(StoreError::ContactMerged);
            }
            if k.blocked_at.is_some() {
                return Err(StoreError::ContactBlocked);
            }
        }
    }
    let (mut conv, created) = match &new.target {
        ConversationTarget::Existing(id) => {
            let conv = conversations::load(c, ws, id).await?;
            if new
                .require_contact
                .as_ref()
                .is_some_and(|cid| cid != &conv.contact_id)
            {
                return Err(StoreError::NotFound);
            }
            // A visitor's message to a resolved conversation goes to their
            // active conversation in the inbox if they have one (a stale
            // tab, or a merge that brought two contacts together: a contact
            // has one active conversation per inbox). Otherwise it reopens
            // the conversation within the inbox's reopen window, or starts a
            // new one (routing prefers their previous agent).
            if new.sender.kind == SenderKind::Visitor && conv.status == ConversationStatus::Resolved
            {
                match active_of(c, ws, &conv.inbox_id, &conv.contact_id).await? {
                    Some(active) => (active, false),
                    None if within_reopen_window(c, &conv.id, now).await? => (conv, false),
                    None => {
                        changes.push(Ev::ConversationCreated {
                            inbox_id: conv.inbox_id.clone(),
                        });
                        let fresh =
                            open_conversation(c, ws, &conv.inbox_id, &conv.contact_id, now).await?;
                        (fresh, true)
                    }
                }
            } else {
                (conv, false)
            }
        }
        ConversationTarget::VisitorActive {
            inbox_id,
            contact_id,
        } => {
            match active_of(c, ws, inbox_id, contact_id).await? {
                Some(active) => (active, false),
                None => match recently_resolved(c, ws, inbox_id, contact_id, now).await? {
                    // Reopened below, with the agent who had it.
                    Some(conv) => (conv, false),
                    None => {
                        changes.push(Ev::ConversationCreated {
                            inbox_id: inbox_id.clone(),
                        });
                        (
                            open_conversation(c, ws, inbox_id, contact_id, now).await?,
                            true,
                        )
                    }
                },
            }
        }
    };
    if !conv.status.accepts_messages() {
        // A resend of a message stored before the close still gets its ack.
        if let Some(cmid) = &new.client_msg_id
            && let Some(_) = find_duplicate(c, &new.sender.id, cmid).await?
        {
            return Err(duplicate_of(c, ws, &new.sender.id, cmid).await);
        }
        return Err(StoreError::Invalid("the conversation is closed".into()));
    }
    if new.only_while.is_some_and(|s| s != conv.status) {
        return Err(StoreError::Invalid(NOT_IN_STATUS.into()));
    }
    let mut reopened_from = None;
    if new.sender.kind == SenderKind::Visitor
        && let Some(to) = conv.status.on_visitor_message()
    {
        reopened_from = Some(conv.status);
        conversations::set_status(c, &mut conv, to, changes, now).await?;
        // The agent who had it gets it back, if they still work here;
        // otherwise it is routed again (see `after_commit`).
        if let Some(uid) = conv.assignee_id.clone()
            && !active_user(c, &uid).await?
        {
            conversations::unassign(c, &mut conv, changes, now).await?;
        }
    }
    // Conditional on the status we checked: the row lock this takes makes a
    // concurrent close (PostgreSQL) either wait for us or make us retry.
    let row = sqlx::query(concat!(
        "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $2, ",
        kefu_core::waiting_sql!("$4", "$2"),
        " WHERE id = $1 AND status = $3 RETURNING last_seq, waiting_since"
    ))
    .bind(&conv.id)
    .bind(now)
    .bind(conv.status.as_str())
    .bind(kefu_core::Waiting::of(new.sender.kind, new.kind).as_str())
    .fetch_optional(&mut *c)
    .await?
    .ok_or_else(|| StoreError::Conflict("the conversation changed concurrently; retry".into()))?;
    conv.last_seq = row.try_get("last_seq")?;
    conv.waiting_since = row.try_get("waiting_since")?;
    conv.last_activity_at = now;
    Ok((conv, created, reopened_from))
}

/// The visitor's active conversation in an inbox, if any.
async fn active_of(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    inbox_id: &str,
    contact_id: &ContactId,
) -> Result<Option<Conversation>> {
    let r = sqlx::query(concat!(
        "SELECT ",
        conversations::cols!(),
        " FROM conversations WHERE contact_id = $1 AND inbox_id = $2 AND workspace_id = $3
          AND status IN ('bot', 'queued', 'open', 'pending') ORDER BY id DESC LIMIT 1"
    ))
    .bind(contact_id)
    .bind(inbox_id)
    .bind(ws)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(conversations::from_row).transpose()
}

/// Whether a resolved conversation may still be reopened by a visitor's
/// message: resolved within its inbox's reopen window.
async fn within_reopen_window(
    c: &mut AnyConnection,
    id: &ConversationId,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS ok FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
         WHERE c.id = $1 AND COALESCE(c.resolved_at, c.updated_at) >= $2 - i.reopen_window_secs * 1000",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?
    .is_some())
}

/// The visitor's conversation in this inbox resolved within the inbox's
/// reopen window, newest first: their next message reopens it.
async fn recently_resolved(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    inbox_id: &str,
    contact_id: &ContactId,
    now: i64,
) -> Result<Option<Conversation>> {
    let r = sqlx::query(concat!(
        "SELECT ",
        conversations::cols!(),
        " FROM conversations WHERE contact_id = $1 AND inbox_id = $2 AND workspace_id = $3 AND status = 'resolved'
          AND COALESCE(resolved_at, updated_at) >= $4 - (SELECT i.reopen_window_secs FROM inboxes i WHERE i.id = $2) * 1000
          ORDER BY COALESCE(resolved_at, updated_at) DESC LIMIT 1"
    ))
    .bind(contact_id)
    .bind(inbox_id)
    .bind(ws)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(conversations::from_row).transpose()
}

async fn active_user(c: &mut AnyConnection, id: &UserId) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS ok FROM users WHERE id = $1 AND active = 1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
            .is_some(),
    )
}

async fn open_conversation(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    inbox_id: &str,
    contact_id: &ContactId,
    now: i64,
) -> Result<Conversation> {
    let conv = Conversation {
        id: new_id().into(),
        workspace_id: ws.clone(),
        inbox_id: inbox_id.to_string(),
        contact_id: contact_id.clone(),
        status: ConversationStatus::Open,
        assignee_id: None,
        last_seq: 0,
        last_activity_at: now,
        created_at: now,
        updated_at: now,
        priority: kefu_core::Priority::Normal,
        tags: Vec::new(),
        snoozed_until: None,
        waiting_since: None,
    };
    sqlx::query(concat!(
        "INSERT INTO conversations (",
        conversations::cols!(),
        ") VALUES ($1, $2, $3, $4, $5, NULL, 0, $6, $6, $6, 'normal', '[]', NULL, NULL)"
    ))
    .bind(&conv.id)
    .bind(ws)
    .bind(inbox_id)
    .bind(contact_id)
    .bind(conv.status.as_str())
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(conv)
}
