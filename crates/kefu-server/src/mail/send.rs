//! The sender: claims due mails, writes each from the store's state at that
//! moment, sends it, records what happened.

use super::{
    reply_token,
    templates::{self, Content, Lang, Line},
    transport::Outgoing,
};
use crate::{app::SharedState, hub::contact_topic};
use kefu_core::{
    AgentStatus, ConversationId, Message, MessageKind, SenderKind, UserId, WorkspaceId,
};
use kefu_store::{MailOutcome, QueuedMail, StoreError, Workspace, now_ms};
use std::{collections::HashMap, time::Duration};

/// What composing a mail came to.
enum Composed {
    Send(Box<Outgoing>, Option<i64>),
    Skip(String),
}

pub async fn run(state: SharedState) {
    let cfg = state.cfg.mail.clone();
    let lease = i64::try_from(cfg.timeout_ms).unwrap_or(60_000) + 30_000;
    let poll = Duration::from_millis(cfg.poll_ms.max(10));
    loop {
        if state.shutdown.is_cancelled() {
            return;
        }
        let batch = match state.store.claim_mails(lease, 16).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "claiming mails failed");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = state.mail.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = state.shutdown.cancelled() => return,
            }
            continue;
        }
        for m in batch {
            let outcome = deliver(&state, &m).await;
            if let Err(e) = state.store.finish_mail(&m.id, outcome).await {
                // Due again once the lease ends: at least once.
                tracing::warn!(mail = %m.id, error = %e, "recording a mail's outcome failed");
            }
        }
    }
}

async fn deliver(state: &SharedState, m: &QueuedMail) -> MailOutcome {
    let Some(transport) = state.mail.transport.as_ref() else {
        return MailOutcome::Retry {
            error: "mail is off".into(),
            at: now_ms() + 60_000,
        };
    };
    let composed = match compose(state, m).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return MailOutcome::Skipped("gone".into()),
        Err(e) => return retry(state, m, e.to_string()),
    };
    match composed {
        Composed::Skip(why) => MailOutcome::Skipped(why),
        Composed::Send(out, through_seq) => match transport.send(*out).await {
            Ok(()) => {
                tracing::info!(mail = %m.id, kind = %m.kind, "mail sent");
                MailOutcome::Sent { through_seq }
            }
            Err(e) if e.permanent => MailOutcome::Dead(e.message),
            Err(e) => retry(state, m, e.message),
        },
    }
}

fn retry(state: &SharedState, m: &QueuedMail, error: String) -> MailOutcome {
    tracing::warn!(mail = %m.id, attempts = m.attempts, error = %error, "sending a mail failed");
    if m.attempts >= state.cfg.mail.max_attempts {
        return MailOutcome::Dead(error);
    }
    // retry_base_ms (30 s), then doubling, up to an hour.
    let base = i64::try_from(state.cfg.mail.retry_base_ms).unwrap_or(30_000);
    let wait = base
        .saturating_mul(1 << (m.attempts.clamp(1, 12) - 1))
        .min(3_600_000);
    MailOutcome::Retry {
        error,
        at: now_ms() + wait,
    }
}

fn when(ws: &Workspace, ms: i64) -> String {
    let tz = jiff::tz::TimeZone::get(&ws.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn text_of(m: &Message, lang: Lang) -> String {
    let name = m
        .attachment
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    match (m.kind, lang) {
        (MessageKind::Image, Lang::Zh) => format!("[图片] {name}"),
        (MessageKind::Image, Lang::En) => format!("[image] {name}"),
        (MessageKind::File, Lang::Zh) => format!("[文件] {name}"),
        (MessageKind::File, Lang::En) => format!("[file] {name}"),
        _ => m.content.clone(),
    }
}

/// Names of the agents who wrote `msgs`.
async fn agent_names(
    state: &SharedState,
    ws: &WorkspaceId,
    msgs: &[Message],
) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for m in msgs {
        if m.sender.kind == SenderKind::Agent && !names.contains_key(&m.sender.id) {
            let name = state
                .store
                .get_user(ws, &UserId::from(m.sender.id.clone()))
                .await
                .map(|u| u.name)
                .unwrap_or_default();
            names.insert(m.sender.id.clone(), name);
        }
    }
    names
}

fn reply_headers(state: &SharedState, conv: &ConversationId) -> (Option<String>, Option<String>) {
    let domain = state.cfg.mail.reply_domain().to_string();
    match reply_token::make(state.mail.reply_key(), conv) {
        Some(t) => (
            Some(format!("reply+{t}@{domain}")),
            Some(format!(
                "<kefu.{t}.{}@{domain}>",
                uuid::Uuid::now_v7().simple()
            )),
        ),
        None => (None, None),
    }
}

async fn compose(state: &SharedState, m: &QueuedMail) -> Result<Composed, StoreError> {
    let ws = state.store.get_workspace(&m.workspace_id).await?;
    let ws_lang = Lang::of_workspace(&ws.language);
    let cfg = &state.cfg.mail;
    let payload_str = |k: &str| {
        m.payload
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let outgoing = |r: templates::Rendered| Outgoing {
        to: m.recipient.clone(),
        reply_to: None,
        message_id: None,
        in_reply_to: None,
        subject: r.subject,
        text: r.text,
        html: r.html,
    };
    match m.kind.as_str() {
        "visitor_reply" | "transcript" => {
            let conv_id = m.conversation_id.clone().ok_or(StoreError::NotFound)?;
            let conv = state
                .store
                .get_conversation(&m.workspace_id, &conv_id)
                .await?;
            let contact = state
                .store
                .get_contact(&m.workspace_id, &conv.contact_id)
                .await?;
            let Some(email) = contact.email.clone().filter(|e| e.contains('@')) else {
                return Ok(Composed::Skip("the contact has no e-mail".into()));
            };
            let inbox = state
                .store
                .get_inbox(&m.workspace_id, &conv.inbox_id)
                .await?;
            let lang = Lang::pick(contact.language.as_deref(), ws_lang);
            let replies = m.kind == "visitor_reply";
            let msgs = if replies {
                if state
                    .hub
                    .has_subscribers(&contact_topic(contact.id.as_str()))
                {
                    return Ok(Composed::Skip("the visitor is online".into()));
                }
                let mailed = state.store.last_mailed_seq(&conv.id).await?;
                let read = state
                    .store
                    .read_position(&conv.id, contact.id.as_str())
                    .await?;
                state
                    .store
                    .list_messages(
                        &conv.id,
                        mailed.max(read),
                        None,
                        cfg.max_messages_per_mail,
                        false,
                    )
                    .await?
                    .into_iter()
                    .filter(|x| matches!(x.sender.kind, SenderKind::Agent | SenderKind::Api))
                    .filter(|x| {
                        matches!(
                            x.kind,
                            MessageKind::Text | MessageKind::Image | MessageKind::File
                        )
                    })
                    .collect::<Vec<_>>()
            } else {
                state
                    .store
                    .list_messages(&conv.id, 0, None, cfg.max_messages_per_mail, false)
                    .await?
            };
            if msgs.is_empty() {
                return Ok(Composed::Skip("nothing unread to send".into()));
            }
            let through = msgs.last().map(|x| x.seq);
            let names = agent_names(state, &m.workspace_id, &msgs).await;
            let you = if lang == Lang::Zh { "您" } else { "You" };
            let lines = msgs
                .iter()
                .map(|x| Line {
                    who: match x.sender.kind {
                        SenderKind::Visitor => you.to_string(),
                        SenderKind::Agent => names
                            .get(&x.sender.id)
                            .filter(|n| !n.is_empty())
                            .cloned()
                            .unwrap_or_else(|| inbox.display_name.clone()),
                        _ => inbox.display_name.clone(),
                    },
                    when: when(&ws, x.created_at),
                    text: text_of(x, lang),
                })
                .collect();
            let from = inbox.display_name.clone();
            let content = if replies {
                Content::VisitorReplies { from, lines }
            } else {
                Content::Transcript { from, lines }
            };
            let (reply_to, message_id) = reply_headers(state, &conv.id);
            let mut out = outgoing(templates::render(&content, lang));
            out.to = email;
            out.reply_to = reply_to;
            out.message_id = message_id;
            Ok(Composed::Send(
                Box::new(out),
                if replies { through } else { None },
            ))
        }
        "assigned" | "mention" => {
            let conv_id = m.conversation_id.clone().ok_or(StoreError::NotFound)?;
            let uid = m.user_id.clone().ok_or(StoreError::NotFound)?;
            let user = state.store.get_user(&m.workspace_id, &uid).await?;
            if !user.active || user.status == AgentStatus::Online {
                return Ok(Composed::Skip("the agent is online".into()));
            }
            let conv = state
                .store
                .get_conversation(&m.workspace_id, &conv_id)
                .await?;
            if m.kind == "assigned" && conv.assignee_id.as_ref() != Some(&uid) {
                return Ok(Composed::Skip("no longer assigned to them".into()));
            }
            let contact = state
                .store
                .get_contact(&m.workspace_id, &conv.contact_id)
                .await?;
            let contact_name = contact
                .name
                .clone()
                .or(contact.email.clone())
                .unwrap_or_else(|| {
                    if ws_lang == Lang::Zh {
                        "访客".into()
                    } else {
                        "a visitor".into()
                    }
                });
            let link = super::conversation_link(state, &conv.id);
            let content = if m.kind == "assigned" {
                let last = state
                    .store
                    .list_messages_before(&conv.id, conv.last_seq + 1, 20, false)
                    .await?
                    .into_iter()
                    .rev()
                    .find(|x| x.sender.kind == SenderKind::Visitor);
                Content::Assigned {
                    contact: contact_name,
                    excerpt: last
                        .map(|x| excerpt(&text_of(&x, ws_lang)))
                        .unwrap_or_default(),
                    link,
                }
            } else {
                Content::Mention {
                    by: payload_str("by"),
                    contact: contact_name,
                    excerpt: excerpt(&payload_str("excerpt")),
                    link,
                }
            };
            Ok(Composed::Send(
                Box::new(outgoing(templates::render(&content, ws_lang))),
                None,
            ))
        }
        "invite" => {
            let token = payload_str("token");
            if token.is_empty() {
                return Ok(Composed::Skip("no token".into()));
            }
            let content = Content::Invite {
                workspace: ws.name.clone(),
                inviter: payload_str("inviter"),
                link: format!("{}/console/#/invite/{token}", super::base_url(state)),
                hours: cfg.invite_ttl_hours,
            };
            Ok(Composed::Send(
                Box::new(outgoing(templates::render(&content, ws_lang))),
                None,
            ))
        }
        "reset" => {
            let token = payload_str("token");
            if token.is_empty() {
                return Ok(Composed::Skip("no token".into()));
            }
            // A link made with another lifetime than "forgot password"'s
            // (an imported agent's, `[mail] invite_ttl_hours`) says so in
            // its payload: the mail states the validity the token really has.
            let minutes = m
                .payload
                .get("valid_minutes")
                .and_then(|v| v.as_u64())
                .unwrap_or(cfg.reset_ttl_minutes);
            let content = Content::Reset {
                link: format!("{}/console/#/reset/{token}", super::base_url(state)),
                minutes,
            };
            Ok(Composed::Send(
                Box::new(outgoing(templates::render(&content, ws_lang))),
                None,
            ))
        }
        other => Ok(Composed::Skip(format!("unknown kind {other}"))),
    }
}

/// At most 500 characters of a message for a notification.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(500).collect();
    if s.chars().count() > 500 {
        out.push('…');
    }
    out
}
