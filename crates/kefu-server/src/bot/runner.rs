//! The bot in conversations: an outbox consumer (named [`CONSUMER`]) that
//! takes a turn on every visitor message in a conversation with the bot,
//! greets when the bot takes a conversation, and hands off to people.
//!
//! **Exactly once, silent after the hand-off.** Each turn answers with a
//! message keyed by the visitor's message (a batch handed on again after a
//! crash stores nothing twice), and the session remembers the last message
//! it took a turn on. Every bot message is stored only while the
//! conversation is still with the bot, checked inside the write
//! (`NewMessage::only_while`): once a hand-off, an agent or a rule has taken
//! it, the bot cannot speak there, whatever is still in flight. A visitor's
//! messages are never the bot's to lose: they are stored before the bot sees
//! them, and those sent during a hand-off are simply there for the agent.
//!
//! **Order and isolation.** Events arrive in commit order. A batch is split
//! by conversation: each conversation's events run in order, different
//! conversations at once (the next batch waits for the slowest, bounded by
//! the plugins' timeouts). An event that fails [`MAX_TRIES`] times is given
//! up on (its conversation goes to people), so one bad row never stops the
//! bot for everyone.

use crate::{
    app::SharedState,
    conversations::after_commit,
    outbox::{Handled, Start},
};
use kefu_bot::{
    Lang, dialog, handoff,
    policy::{self, Decision, Fused, History},
    text,
};
use kefu_core::{
    ConversationId, ConversationStatus, Message, MessageKind, Sender, SenderKind, WorkspaceId,
    bot::{BotChoice, BotMark, BotSettings, HandOffReason},
    event::{Contact, ConversationEvent as Ev, Event},
};
use kefu_store::{
    Actor, BotSession, Conversation, ConversationTarget, NewBotQuestion, NewMessage, StoreError,
};
use std::{collections::HashMap, sync::Arc};

/// The outbox consumer name.
pub const CONSUMER: &str = "bot";

/// The id the bot's messages and changes are recorded under.
pub const BOT_ID: &str = "bot";

/// Visitor messages since the bot last spoke that a greeting answers at once.
const PENDING: i64 = 20;

fn actor() -> Actor {
    Actor {
        kind: SenderKind::Bot,
        id: BOT_ID.into(),
    }
}

/// Tries per event before the bot gives up on it (a retried batch comes back
/// after the outbox's backoff, so this is minutes, not a busy loop).
const MAX_TRIES: u32 = 5;

/// Failed tries per event id (this process's; a restart starts again).
type Tries = Arc<std::sync::Mutex<HashMap<String, u32>>>;

/// Counts a failed try of `event`; true once it has failed [`MAX_TRIES`] times.
fn give_up(tries: &Tries, event: &str) -> bool {
    let Ok(mut t) = tries.lock() else {
        return true;
    };
    // Bounded: ids of events long since handled are dropped now and then.
    if t.len() > 10_000 {
        t.clear();
    }
    let n = t.entry(event.to_string()).or_insert(0);
    *n += 1;
    if *n >= MAX_TRIES {
        t.remove(event);
        return true;
    }
    false
}

/// Starts the consumer; the handle resolves after `state.shutdown`.
pub fn spawn(state: &SharedState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let st = state.clone();
        let tries: Tries = Arc::default();
        // From the oldest event kept: nothing before the bot existed concerns
        // it, and a conversation handed to it while this task was starting
        // is not missed.
        crate::outbox::follow(state, CONSUMER.into(), Start::Oldest, move |rows| {
            let (st, tries) = (st.clone(), tries.clone());
            async move {
                let Some(through) = rows.last().map(|r| r.position) else {
                    return Handled::Through(0);
                };
                // Per conversation, in order; conversations side by side.
                let mut by_conv: HashMap<ConversationId, Vec<Event>> = HashMap::new();
                for row in rows {
                    if let Some(c) = row.event.conversation_id().cloned() {
                        by_conv.entry(c).or_default().push(row.event);
                    }
                }
                let runs = by_conv.into_values().map(|events| {
                    let (st, tries) = (st.clone(), tries.clone());
                    async move {
                        for ev in &events {
                            if let Err(e) = handle(&st, ev).await {
                                if !give_up(&tries, &ev.id) {
                                    return Err(e);
                                }
                                // Failing every time: this conversation goes to
                                // people, and the bot moves on for everyone else.
                                tracing::error!(event_id = %ev.id, error = %e, "the bot gives up on an event after {MAX_TRIES} tries");
                                if let Some(c) = &ev.conversation {
                                    let _ = hand_off(&st, c, HandOffReason::Rule, Lang::Zh, None).await;
                                }
                            }
                        }
                        Ok::<(), StoreError>(())
                    }
                });
                for r in futures::future::join_all(runs).await {
                    if let Err(e) = r {
                        return Handled::Retry(e.to_string());
                    }
                }
                Handled::Through(through)
            }
        })
        .await
    })
}

/// What the bot does about one event.
async fn handle(state: &SharedState, ev: &Event) -> Result<(), StoreError> {
    let Some(conv) = &ev.conversation else {
        return Ok(());
    };
    match &ev.change {
        Ev::MessageCreated { message }
            if conv.status == ConversationStatus::Bot
                && message.sender.kind == SenderKind::Visitor =>
        {
            turn(state, conv, message).await
        }
        Ev::ConversationStatusChanged {
            to: ConversationStatus::Bot,
            ..
        } => take(state, conv).await,
        // Taken from the bot some other way (an agent, a transfer): it never
        // takes the conversation back by itself.
        Ev::ConversationStatusChanged {
            from: ConversationStatus::Bot,
            ..
        } if ev.actor.kind != SenderKind::Bot => {
            state
                .store
                .note_left_bot(&conv.workspace_id, &conv.id, HandOffReason::Agent)
                .await
        }
        _ => Ok(()),
    }
}

/// The inbox's bot settings, if its bot is on.
async fn settings(
    state: &SharedState,
    conv: &Conversation,
) -> Result<Option<BotSettings>, StoreError> {
    let inbox = state
        .inboxes
        .get(&state.store, &conv.workspace_id, &conv.inbox_id)
        .await?;
    Ok(inbox.bot.enabled.then(|| inbox.bot.clone()))
}

/// The bot has just taken `conv`: the greeting, then a turn on what the
/// visitor wrote before (their first message, or what they said while
/// waiting in a line).
async fn take(state: &SharedState, conv: &Conversation) -> Result<(), StoreError> {
    let Some(cfg) = settings(state, conv).await? else {
        return hand_off(state, conv, HandOffReason::Rule, Lang::Zh, None).await;
    };
    let pending = pending_question(state, conv).await?;
    if !cfg.greeting.trim().is_empty() {
        say(
            state,
            conv,
            &format!("bot-greeting-{}", conv.id),
            cfg.greeting.trim(),
            BotMark::default(),
        )
        .await?;
    }
    match pending {
        Some(m) => turn(state, conv, &m).await,
        None => Ok(()),
    }
}

/// The visitor's messages since anyone last answered them, as one question
/// (the last of them carries it), if there are any.
async fn pending_question(
    state: &SharedState,
    conv: &Conversation,
) -> Result<Option<Message>, StoreError> {
    let from = (conv.last_seq - PENDING).max(0);
    let recent = state
        .store
        .list_messages(&conv.id, from, None, PENDING, false)
        .await?;
    let mut asked: Vec<&Message> = Vec::new();
    for m in recent.iter().rev() {
        // A rule's auto-reply or a notice answers nothing the visitor asked.
        if m.sender.kind == SenderKind::System {
            continue;
        }
        if m.sender.kind != SenderKind::Visitor {
            break;
        }
        if m.kind == MessageKind::Text && m.deleted_at.is_none() {
            asked.push(m);
        }
    }
    let Some(last) = asked.first() else {
        return Ok(None);
    };
    let mut m = (*last).clone();
    asked.reverse();
    m.content = asked
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Some(m))
}

/// One turn on a visitor's message: answer, ask "did you mean", say it was
/// not understood, or hand off, as the policy decides.
async fn turn(
    state: &SharedState,
    conv: &Conversation,
    message: &Message,
) -> Result<(), StoreError> {
    if message.kind != MessageKind::Text || message.content.trim().is_empty() {
        return Ok(());
    }
    let mut session = state.store.bot_session(&conv.id).await?;
    if session.handed_off_at.is_some() || message.seq <= session.last_seq {
        return Ok(());
    }
    let Some(cfg) = settings(state, conv).await? else {
        // Turned off while it had conversations: they go to people.
        return hand_off(state, conv, HandOffReason::Rule, Lang::Zh, None).await;
    };
    let question = message.content.trim();
    let lang = text::detect(question);
    let ix = state.bots.index(state, &conv.workspace_id).await?;
    // A pick of one of the last "did you mean" choices answers it, whatever
    // words its label holds (a label may well say "客服").
    let offered: Vec<(&str, &str)> = session
        .choices
        .iter()
        .filter_map(|id| {
            ix.entries
                .get(id)
                .map(|e| (id.as_str(), e.question.as_str()))
        })
        .collect();
    let labels: Vec<&str> = offered.iter().map(|(_, label)| *label).collect();
    let picked = dialog::pick_choice(question, &labels).map(|i| offered[i].0.to_string());
    let mut words: Vec<String> = if cfg.handoff_words.is_empty() {
        handoff::DEFAULT_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect()
    } else {
        cfg.handoff_words.clone()
    };
    // The "talk to a person" button's own words always count.
    for l in [dialog::lines(Lang::Zh), dialog::lines(Lang::En)] {
        words.push(l.person_button.to_string());
    }
    // Line by line too: what the visitor said before the bot took the
    // conversation arrives joined, and "转人工" on its own line is a request.
    let asked = picked.is_none()
        && (handoff::asks_for_person(question, &words)
            || question
                .lines()
                .any(|l| handoff::asks_for_person(l, &words)));
    let was_picked = picked.is_some();
    let (decision, fused) = match picked {
        Some(entry) => (Decision::Answer { entry, score: 1.0 }, Vec::new()),
        None => {
            let fused =
                super::candidates(state, &conv.workspace_id, &ix, &cfg.plugins, question, lang)
                    .await;
            let history = History {
                low_confidence_streak: session.low_streak,
                bot_turns: session.bot_turns,
            };
            let d = policy::decide(&fused, &cfg.thresholds, &cfg.patience, history, asked);
            (d, fused)
        }
    };
    // The session is saved after what the turn says or does is stored: a
    // turn that fails halfway runs again in full on the retry (what it
    // stores is keyed by the message, so nothing is said twice).
    session.last_seq = message.seq;
    session.choices.clear();
    let ws = conv.workspace_id.clone();
    let key = format!("bot-{}", message.id);
    let lines = dialog::lines(lang);
    // The LLM, when the inbox asks for it, writes the answer from the best
    // entries instead of whatever retrieval alone would do; when it is off,
    // slow, failing or does not know, retrieval's decision stands. A
    // visitor's pick of a choice, and a hand-off, are not the LLM's to change.
    if cfg.plugins.llm
        && !was_picked
        && !matches!(decision, Decision::HandOff { .. })
        && let Some(a) = {
            let (earlier, contact) = context(state, conv, message).await?;
            let shared = &state.plugins.config().llm.contact_attributes;
            let ctx = kefu_bot::rag::Context {
                history: earlier
                    .iter()
                    .map(|m| kefu_bot::rag::Turn {
                        customer: m.sender.kind == SenderKind::Visitor,
                        text: &m.content,
                    })
                    .collect(),
                page: contact.page_url.as_deref(),
                facts: facts(&contact, shared),
            };
            super::plugins::llm_answer(state, &ix, &ctx, question, lang, &fused).await
        }
    {
        let mark = BotMark {
            entry: a.cited.first().cloned(),
            cited: a.cited,
            ..Default::default()
        };
        if say(state, conv, &key, &a.text, mark).await? == Said::Blocked {
            return blocked(state, conv, message, &fused, lang, &key, session).await;
        }
        session.bot_turns += 1;
        session.low_streak = 0;
        return state.store.save_bot_session(&ws, session).await;
    }
    match decision {
        Decision::Answer { entry, .. } => {
            let Some(e) = ix.entries.get(&entry) else {
                return state.store.save_bot_session(&ws, session).await;
            };
            let mark = BotMark {
                entry: Some(entry.clone()),
                ..Default::default()
            };
            if say(state, conv, &key, &e.answer, mark).await? == Said::Blocked {
                return blocked(state, conv, message, &fused, lang, &key, session).await;
            }
            session.bot_turns += 1;
            session.low_streak = 0;
            state.store.save_bot_session(&ws, session).await
        }
        Decision::Clarify { choices } => {
            let buttons: Vec<BotChoice> = choices
                .iter()
                .filter_map(|id| {
                    ix.entries.get(id).map(|e| BotChoice {
                        entry: id.clone(),
                        label: e.question.clone(),
                    })
                })
                .collect();
            let offered: Vec<String> = buttons.iter().map(|b| b.entry.clone()).collect();
            let mark = BotMark {
                choices: buttons,
                offer_person: true,
                ..Default::default()
            };
            say(state, conv, &key, lines.did_you_mean, mark).await?;
            session.bot_turns += 1;
            session.choices = offered;
            state.store.save_bot_session(&ws, session).await
        }
        Decision::NotUnderstood => {
            unanswered(state, conv, message, "low_confidence", &fused).await?;
            let mark = BotMark {
                offer_person: true,
                ..Default::default()
            };
            say(state, conv, &key, lines.not_understood, mark).await?;
            session.bot_turns += 1;
            session.low_streak += 1;
            state.store.save_bot_session(&ws, session).await
        }
        Decision::HandOff { reason } => {
            if reason != HandOffReason::Asked {
                unanswered(state, conv, message, "handed_off", &fused).await?;
            }
            hand_off(state, conv, reason, lang, Some(&key)).await?;
            state.store.save_bot_session(&ws, session).await
        }
    }
}

/// The workspace's word list forbids what the bot would say: a person
/// answers instead (the question goes to the unanswered list).
async fn blocked(
    state: &SharedState,
    conv: &Conversation,
    message: &Message,
    fused: &[Fused],
    lang: Lang,
    key: &str,
    session: BotSession,
) -> Result<(), StoreError> {
    unanswered(state, conv, message, "handed_off", fused).await?;
    hand_off(state, conv, HandOffReason::LowConfidence, lang, Some(key)).await?;
    state
        .store
        .save_bot_session(&conv.workspace_id, session)
        .await
}

/// The conversation before `message` (its last visible lines with text,
/// oldest first) and the page the visitor is on: the LLM reads the question
/// in their light.
/// The shared attributes of `contact` (`[bot.llm] contact_attributes`),
/// in the configured order; a string as it is, anything else as JSON.
fn facts<'a>(contact: &Contact, shared: &'a [String]) -> Vec<(&'a str, String)> {
    shared
        .iter()
        .filter_map(|k| {
            let v = contact.attributes.get(k)?;
            let text = match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((k.as_str(), text))
        })
        .collect()
}

/// The conversation's last lines before `message`, and its contact.
async fn context(
    state: &SharedState,
    conv: &Conversation,
    message: &Message,
) -> Result<(Vec<Message>, Contact), StoreError> {
    let n = kefu_bot::rag::MAX_TURNS as i64;
    let from = (message.seq - 1 - n).max(0);
    let earlier: Vec<Message> = state
        .store
        .list_messages(&conv.id, from, Some(message.seq - 1), n, false)
        .await?
        .into_iter()
        .filter(|m| {
            m.kind == MessageKind::Text
                && m.deleted_at.is_none()
                && m.sender.kind != SenderKind::System
        })
        .collect();
    let contact = state
        .store
        .get_contact(&conv.workspace_id, &conv.contact_id)
        .await?;
    Ok((earlier, contact))
}

/// Tells the visitor a person is coming (when the bot still speaks there),
/// then gives the conversation to people; routing takes it from there.
async fn hand_off(
    state: &SharedState,
    conv: &Conversation,
    reason: HandOffReason,
    lang: Lang,
    key: Option<&str>,
) -> Result<(), StoreError> {
    if let Some(key) = key {
        let lines = dialog::lines(lang);
        say(
            state,
            conv,
            &format!("{key}-handoff"),
            lines.handing_off,
            BotMark::default(),
        )
        .await?;
    }
    if let Some(changed) = state
        .store
        .hand_off(&conv.workspace_id, &conv.id, reason, actor())
        .await?
    {
        after_commit(state, &changed.events);
    }
    Ok(())
}

/// Keeps a question the bot could not answer for the agents' list.
async fn unanswered(
    state: &SharedState,
    conv: &Conversation,
    message: &Message,
    reason: &str,
    fused: &[Fused],
) -> Result<(), StoreError> {
    state
        .store
        .add_bot_question(NewBotQuestion {
            workspace_id: conv.workspace_id.clone(),
            conversation_id: conv.id.clone(),
            message_id: message.id.clone(),
            question: message.content.chars().take(1000).collect(),
            reason: reason.into(),
            best_entry: fused.first().map(|f| f.entry.clone()),
            best_score: fused.first().map(|f| f64::from(f.score)),
        })
        .await
}

/// What became of something the bot meant to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    /// Stored (or the conversation left the bot, and it says nothing there).
    Done,
    /// The workspace's sensitive-word list blocks it: nothing was stored.
    Blocked,
}

/// A bot message, screened by the workspace's sensitive-word list like
/// everyone's (masked words masked, flagged ones kept for review, blocked
/// ones not sent), stored only while the conversation is with the bot; a
/// conversation that has left it gets nothing (not an error).
async fn say(
    state: &SharedState,
    conv: &Conversation,
    key: &str,
    text: &str,
    mark: BotMark,
) -> Result<Said, StoreError> {
    let screened = crate::sensitive::screen(state, &conv.workspace_id, text).await?;
    if screened.is_blocked() {
        tracing::warn!(conversation_id = %conv.id, words = ?screened.blocked, "the bot's message is blocked by the sensitive-word list; not sent");
        return Ok(Said::Blocked);
    }
    let text = screened.text.as_str();
    let appended = state
        .store
        .append_message(NewMessage {
            workspace_id: conv.workspace_id.clone(),
            target: ConversationTarget::Existing(conv.id.clone()),
            sender: Sender {
                kind: SenderKind::Bot,
                id: BOT_ID.into(),
            },
            client_msg_id: Some(key.to_string()),
            kind: MessageKind::Text,
            content: text.to_string(),
            attachment: None,
            require_contact: None,
            bot: Some(mark),
            only_while: Some(ConversationStatus::Bot),
        })
        .await;
    match appended {
        Ok(a) => {
            after_commit(state, &a.events);
            if !a.duplicate {
                crate::sensitive::keep_for_review(state, &conv.workspace_id, &a.message, &screened)
                    .await;
            }
            Ok(Said::Done)
        }
        // It left the bot (or was closed) meanwhile: nothing to say there.
        Err(StoreError::Invalid(_)) => Ok(Said::Done),
        Err(e) => Err(e),
    }
}

/// A visitor's thumbs on a bot answer: stored; a thumbs-down, while the
/// conversation is still with the bot, hands it to people.
pub async fn feedback(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    contact_id: &kefu_core::ContactId,
    message_id: &str,
    helpful: bool,
) -> Result<(), StoreError> {
    let (conv_id, entry) = state
        .store
        .bot_feedback(workspace_id, contact_id, message_id, helpful)
        .await?;
    if helpful {
        return Ok(());
    }
    let conv = state.store.get_conversation(workspace_id, &conv_id).await?;
    if conv.status != ConversationStatus::Bot {
        return Ok(());
    }
    // The question the rated answer answered, for the unanswered list.
    let asked = state
        .store
        .list_messages(&conv.id, 0, None, 1000, false)
        .await?;
    if let Some(pos) = asked.iter().position(|m| m.id == message_id)
        && let Some(q) = asked[..pos]
            .iter()
            .rev()
            .find(|m| m.sender.kind == SenderKind::Visitor)
    {
        state
            .store
            .add_bot_question(NewBotQuestion {
                workspace_id: conv.workspace_id.clone(),
                conversation_id: conv.id.clone(),
                message_id: q.id.clone(),
                question: q.content.chars().take(1000).collect(),
                reason: "thumbs_down".into(),
                best_entry: entry,
                best_score: None,
            })
            .await?;
    }
    let lang = asked
        .iter()
        .rev()
        .find(|m| m.sender.kind == SenderKind::Visitor)
        .map_or(Lang::Zh, |m| text::detect(&m.content));
    hand_off(
        state,
        &conv,
        HandOffReason::ThumbsDown,
        lang,
        Some(&format!("bot-thumbs-{message_id}")),
    )
    .await
}

/// Whether the bot may take `conv` now: its inbox's bot is on and it never
/// had this conversation (once it left the bot, by a hand-off or to an
/// agent, it stays with people).
pub async fn may_take(
    state: &SharedState,
    conv: &Conversation,
) -> Result<Option<BotSettings>, StoreError> {
    let Some(cfg) = settings(state, conv).await? else {
        return Ok(None);
    };
    let session: BotSession = state.store.bot_session(&conv.id).await?;
    Ok((!session.started).then_some(cfg))
}

/// Gives `conv` to the bot (routing's `to_bot()`, bot-first inboxes, queue
/// timeouts, nobody to answer). `false`: it could not (taken meanwhile).
pub async fn give(state: &SharedState, conv: &Conversation, by: Actor) -> Result<bool, StoreError> {
    match state.store.to_bot(&conv.workspace_id, &conv.id, by).await? {
        Some(changed) => {
            after_commit(state, &changed.events);
            Ok(true)
        }
        None => Ok(false),
    }
}
