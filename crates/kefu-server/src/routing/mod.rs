//! Routing new conversations with the workspace's rules: the compiled rule
//! set per workspace (replaced atomically when a new version is saved, so
//! the next decision uses it), the context a decision looks at, and the
//! capacity-checked assignment.

mod worker;
pub use worker::Router;

use crate::app::SharedState;
use crate::conversations::after_commit;
use kefu_core::{AgentStatus, SenderKind, bot::BotMode};
use kefu_core::{ConversationId, UserId, WorkspaceId};
use kefu_routing::assign::{Candidate, Strategy, pick};
use kefu_routing::eval::{ConversationInfo, Customer, GroupStats, PageInfo};
use kefu_routing::{Context, Decision, Engine, Known, Route};
use kefu_store::{Actor, BusinessHours, Conversation, StoreError, Workspace};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The rule set in force per workspace, compiled, and "no rules yet" too, so
/// routing costs no query when there is nothing to run. This node's saves
/// replace it at once; another node's are picked up within [`RECHECK`]. A
/// lock only around map reads and swaps, never across an await.
#[derive(Default)]
pub struct Rules {
    by_workspace: RwLock<HashMap<WorkspaceId, Cached>>,
    /// Rings after each look at `[routing] rules_file` (tests wait on it).
    file_checked: tokio::sync::Notify,
}

/// When it was loaded, and the rules (`None`: the workspace has none).
type Cached = (Instant, Option<Arc<Compiled>>);

/// How long a cached rule set is used before the store is asked again.
pub const RECHECK: Duration = Duration::from_secs(5);

pub struct Compiled {
    pub version: i64,
    pub engine: Engine,
}

/// The id of the system actor routing's own changes are recorded under.
pub const ROUTER_ID: &str = "routing";

/// The actor routing's own changes are recorded under.
fn router() -> Actor {
    Actor {
        kind: SenderKind::System,
        id: ROUTER_ID.into(),
    }
}

impl Rules {
    /// Resolves after the rules file watcher's next complete look at the file
    /// that started after this call (so a change written before it is seen).
    pub async fn rules_file_checked(&self) {
        for _ in 0..2 {
            self.file_checked.notified().await;
        }
    }

    /// The workspace's compiled rules (loaded on first use); `None`: no rules yet.
    pub async fn get(
        &self,
        state: &SharedState,
        workspace_id: &WorkspaceId,
    ) -> Result<Option<Arc<Compiled>>, StoreError> {
        if let Ok(map) = self.by_workspace.read()
            && let Some((at, c)) = map.get(workspace_id)
            && at.elapsed() < RECHECK
        {
            return Ok(c.clone());
        }
        let loaded = match state.store.current_rule_set(workspace_id).await? {
            None => None,
            // Saved sets were checked against the groups of their time; a group
            // deleted since simply has no members when routed to.
            Some(v) => match kefu_routing::compile(&v.source, &Known::default()) {
                Ok(engine) => Some(Arc::new(Compiled {
                    version: v.version,
                    engine,
                })),
                Err(e) => {
                    tracing::error!(%workspace_id, version = v.version, error = %e, "the stored rule set does not compile");
                    None
                }
            },
        };
        if let Ok(mut map) = self.by_workspace.write() {
            // A save on this node that raced this load keeps its newer version.
            let newer = map
                .get(workspace_id)
                .and_then(|(_, old)| old.as_ref())
                .is_some_and(|old| loaded.as_ref().is_none_or(|l| old.version > l.version));
            if !newer {
                map.insert(workspace_id.clone(), (Instant::now(), loaded.clone()));
            }
        }
        Ok(loaded)
    }

    /// Makes `c` the rule set in force, unless a newer version already is.
    pub fn put(&self, workspace_id: &WorkspaceId, c: Arc<Compiled>) {
        if let Ok(mut map) = self.by_workspace.write() {
            let newer = map
                .get(workspace_id)
                .and_then(|(_, old)| old.as_ref())
                .is_some_and(|old| old.version > c.version);
            if !newer {
                map.insert(workspace_id.clone(), (Instant::now(), Some(c)));
            }
        }
    }
}

/// Checks business hours as given by an admin: the shape and the time zone.
pub fn check_hours(bh: &BusinessHours) -> Result<(), String> {
    bh.check()?;
    if let Some(tz) = &bh.timezone
        && kefu_routing::clock::local_time(0, tz, &[]).is_err()
    {
        return Err(format!(
            "business_hours.timezone {tz:?} is not a known time zone (e.g. Asia/Shanghai)"
        ));
    }
    Ok(())
}

/// Whether `bh` is open at `now_ms`: in its time zone (the workspace's if it
/// names none) and not on one of the workspace's holidays. The older
/// fixed-offset form keeps its own arithmetic.
pub fn hours_open(bh: &BusinessHours, ws: &Workspace, now_ms: i64) -> bool {
    if bh.timezone.is_none() && bh.utc_offset_minutes.is_some() {
        return bh.is_open_at_fixed_offset(now_ms);
    }
    let hours = kefu_routing::clock::BusinessHours {
        timezone: bh.timezone.clone().unwrap_or_else(|| ws.timezone.clone()),
        periods: bh
            .periods
            .iter()
            .map(|p| kefu_routing::clock::Period {
                day: u32::from(p.day),
                open: p.open.clone(),
                close: p.close.clone(),
            })
            .collect(),
        holidays: ws.holidays.clone(),
    };
    // A zone that stopped existing (checked when saved) must not shut the door.
    hours.is_open(now_ms).unwrap_or(true)
}

/// The groups of a workspace as rules may name them.
pub async fn known(state: &SharedState, workspace_id: &WorkspaceId) -> Result<Known, StoreError> {
    let groups = state.store.list_groups(workspace_id).await?;
    Ok(Known {
        groups: Some(groups.into_iter().map(|g| g.name).collect::<HashSet<_>>()),
    })
}

/// Live figures per group for the rules' `group("…")`: members online,
/// online members with room, how many wait in its line, and whether it is
/// within its business hours.
pub async fn group_stats(
    state: &SharedState,
    ws: &Workspace,
) -> Result<HashMap<String, GroupStats>, StoreError> {
    let workspace_id = &ws.id;
    let now = kefu_store::now_ms();
    // Three queries whatever the number of groups: this runs for every new conversation.
    let mut members = state.store.all_group_members(workspace_id).await?;
    let lines = state.store.queue_lengths(workspace_id).await?;
    let mut groups = HashMap::new();
    for g in state.store.list_groups(workspace_id).await? {
        let members = members.remove(&g.name).unwrap_or_default();
        let online = members
            .iter()
            .filter(|m| m.status == AgentStatus::Online)
            .count() as u32;
        let available = members.iter().filter(|m| m.can_take_one()).count() as u32;
        let queue = lines
            .get(&g.name)
            .copied()
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        groups.insert(
            g.name,
            GroupStats {
                online,
                available,
                queue,
                open: g
                    .business_hours
                    .as_ref()
                    .is_none_or(|bh| hours_open(bh, ws, now)),
            },
        );
    }
    Ok(groups)
}

/// What the rules look at for `conv`, whose first message is
/// `first_message`; `returning`: the contact had conversations before.
pub async fn context(
    state: &SharedState,
    conv: &Conversation,
    first_message: &str,
    returning: bool,
) -> Result<Context, StoreError> {
    let ws = state.store.get_workspace(&conv.workspace_id).await?;
    let contact = state
        .store
        .get_contact(&conv.workspace_id, &conv.contact_id)
        .await?;
    let inbox = state
        .inboxes
        .get(&state.store, &conv.workspace_id, &conv.inbox_id)
        .await?;
    let now = kefu_store::now_ms();
    let time = kefu_routing::clock::local_time(now, &ws.timezone, &ws.holidays).unwrap_or_default();
    let groups = group_stats(state, &ws).await?;
    let days = i64::from(state.cfg.routing.recent_events_days);
    let recent_events = state
        .store
        .recent_event_types(&conv.workspace_id, &contact.id, now - days * 86_400_000)
        .await?;
    let attrs = contact.attributes.as_object().cloned().unwrap_or_default();
    let tags = match attrs.get("tags") {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Context {
        customer: Customer {
            name: contact.name,
            email: contact.email,
            language: contact.language,
            country: attrs
                .get("country")
                .and_then(|c| c.as_str())
                .map(str::to_string),
            external_id: contact.external_id.clone(),
            identified: contact.external_id.is_some(),
            returning,
            tags,
            recent_events,
            attributes: attrs,
        },
        conversation: ConversationInfo {
            inbox: inbox.name.clone(),
            channel: "web".into(),
            first_message: first_message.to_string(),
        },
        page: PageInfo {
            url: contact.page_url.unwrap_or_default(),
            referrer: contact.referrer.unwrap_or_default(),
        },
        // Filled by `route` for rules that read them (see `bot::reading`).
        message: Default::default(),
        bot: Default::default(),
        time,
        groups,
    })
}

/// Who routing would give a conversation routed to `group` (pure choice
/// over the members' current load; the assignment re-checks capacity).
pub async fn candidate(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    group: &str,
    sticky: Option<&str>,
) -> Result<Option<UserId>, StoreError> {
    let strategy = state
        .store
        .group_strategy(workspace_id, group)
        .await?
        .unwrap_or_default();
    let members = state.store.group_members(workspace_id, group).await?;
    let cursor = members
        .iter()
        .max_by_key(|m| m.last_assigned_at)
        .filter(|m| m.last_assigned_at > 0)
        .map(|m| m.user_id.to_string());
    let cands: Vec<Candidate> = members
        .iter()
        .map(|m| Candidate {
            id: m.user_id.to_string(),
            online: m.status == AgentStatus::Online,
            capacity: u32::try_from(m.capacity).unwrap_or(0),
            active: u32::try_from(m.active).unwrap_or(u32::MAX),
            last_assigned_ms: m.last_assigned_at,
        })
        .collect();
    Ok(pick(&cands, strategy, sticky, cursor.as_deref()).map(|c| UserId::new(c.id.clone())))
}

/// Routes a conversation that was just opened (run by the worker).
pub(crate) async fn route(
    state: &SharedState,
    conv: &Conversation,
    first_message: &str,
) -> Result<Option<Decision>, StoreError> {
    let rules = state.routing.get(state, &conv.workspace_id).await?;
    // One read of the contact's history serves both `customer.returning` and stickiness.
    let earlier = earlier(state, conv).await?;
    let sticky = earlier
        .iter()
        .find_map(|c| c.assignee_id.as_ref().map(UserId::to_string));
    // A hand-off routes with the visitor's first message, as rules expect.
    let first_message = if first_message.is_empty() {
        first_visitor_text(state, conv).await?
    } else {
        first_message.to_string()
    };
    let mut decision = match &rules {
        Some(rules) => {
            let mut ctx = context(state, conv, &first_message, !earlier.is_empty()).await?;
            // Only rules that read them pay for the bot's reading of the message.
            if rules.engine.reads("message") || rules.engine.reads("bot") {
                (ctx.message, ctx.bot) = crate::bot::reading(state, conv, &first_message).await?;
            }
            rules.engine.decide(&ctx)
        }
        None => Decision::default(),
    };
    // The bot takes it on a rule's `to_bot()`, and in a bot-first inbox
    // unless a rule routed it to people.
    let to_bot = match crate::bot::runner::may_take(state, conv).await? {
        Some(bot) => decision.to_bot || (bot.mode == BotMode::BotFirst && decision.route.is_none()),
        None => false,
    };
    // What no rule routes goes to the workspace's default group: on a fresh
    // install every agent, least-loaded, so nobody has to write a rule first.
    if decision.route.is_none()
        && !decision.offline
        && let Some(group) = state
            .store
            .get_workspace(&conv.workspace_id)
            .await?
            .default_group
    {
        decision.route = Some(Route::Group(group));
    }
    apply(state, conv, &decision, sticky.as_deref(), to_bot).await?;
    Ok(Some(decision))
}

/// The text of the visitor's first message in `conv` (empty if none).
async fn first_visitor_text(
    state: &SharedState,
    conv: &Conversation,
) -> Result<String, StoreError> {
    Ok(state
        .store
        .list_messages(&conv.id, 0, None, 50, false)
        .await?
        .into_iter()
        .find(|m| m.sender.kind == SenderKind::Visitor)
        .map(|m| m.content)
        .unwrap_or_default())
}

/// Carries out a decision for a conversation nobody has yet: its priority
/// and tags first (the line's order depends on the priority), the rule's
/// replies, then the bot (`to_bot`), offline follow-up or the route.
async fn apply(
    state: &SharedState,
    conv: &Conversation,
    decision: &Decision,
    sticky: Option<&str>,
    to_bot: bool,
) -> Result<(), StoreError> {
    let mut conv = conv.clone();
    if decision.priority.is_some() || !decision.tags.is_empty() {
        match state
            .store
            .set_labels(
                &conv.workspace_id,
                &conv.id,
                kefu_store::LabelEdit {
                    // The rules' checker only lets known names through.
                    priority: decision.priority.as_deref().and_then(|p| p.parse().ok()),
                    add: decision.tags.clone(),
                    ..Default::default()
                },
                router(),
            )
            .await
        {
            Ok(changed) => {
                after_commit(state, &changed.events);
                conv = changed.after;
            }
            // Labels must never stop the route (e.g. the conversation already has 20 tags).
            Err(e @ (StoreError::Invalid(_) | StoreError::Conflict(_))) => {
                tracing::warn!(conversation_id = %conv.id, error = %e, "the rule's priority/tags were not applied");
            }
            Err(e) => return Err(e),
        }
    }
    for (i, text) in decision.replies.iter().enumerate() {
        auto_reply(state, &conv, &format!("auto-reply-{i}"), text).await?;
    }
    // Taken meanwhile (an agent was quicker): the route below finds it assigned.
    if to_bot && crate::bot::runner::give(state, &conv, router()).await? {
        return Ok(());
    }
    if decision.offline {
        let told = !decision.replies.is_empty();
        offline(state, &conv, None, false, "rule", (!told).then_some("")).await?;
        return Ok(());
    }
    match &decision.route {
        Some(Route::Group(g)) => to_group(state, &conv, g, sticky).await,
        Some(Route::Agent(who)) => {
            let user = match state.store.find_user_by_email(who).await? {
                Some(u) if u.workspace_id == conv.workspace_id => Some(u.id),
                _ => state
                    .store
                    .get_user(&conv.workspace_id, &UserId::new(who.as_str()))
                    .await
                    .ok()
                    .map(|u| u.id),
            };
            // An agent who cannot take it now leaves it unassigned for everyone to see.
            if let Some(uid) = user
                && let Some(changed) = state
                    .store
                    .auto_assign(&conv.workspace_id, &conv.id, &uid, "", router())
                    .await?
            {
                after_commit(state, &changed.events);
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// Routes a conversation to group `name`: outside the group's business
/// hours to offline follow-up; in grab mode into the line with offers to
/// every eligible member; otherwise to the strategy's pick, or into the
/// line when nobody can take it now.
async fn to_group(
    state: &SharedState,
    conv: &Conversation,
    name: &str,
    sticky: Option<&str>,
) -> Result<(), StoreError> {
    let ws = &conv.workspace_id;
    let Some(group) = find_group(state, ws, name).await? else {
        // Deleted since the rules were saved: it stays unassigned for everyone to see.
        return Ok(());
    };
    if !open_now(state, &group).await? {
        offline(
            state,
            conv,
            Some(name),
            false,
            "closed",
            Some(&group.offline_message),
        )
        .await?;
        return Ok(());
    }
    if group.strategy != Strategy::Grab
        && let Some(uid) = candidate(state, ws, name, sticky).await?
        && let Some(changed) = state
            .store
            .auto_assign(ws, &conv.id, &uid, name, router())
            .await?
    {
        after_commit(state, &changed.events);
        return Ok(());
    }
    // Nobody can take it now (or grab mode): it waits in the group's line.
    if let Some(changed) = state.store.enqueue(ws, &conv.id, name, router()).await? {
        after_commit(state, &changed.events);
    }
    if group.strategy == Strategy::Grab {
        let agents = eligible(state, ws, name).await?;
        offer(state, ws, name, &conv.id, &agents);
    }
    announce_queue(state, ws, name).await
}

/// What a visitor left for offline follow-up is told when nobody configured
/// a message: busy after a wait in line, away otherwise.
fn offline_text(reason: &str) -> &'static str {
    if reason == "queue_timeout" {
        "All our agents are busy; we will reply here as soon as we can. 客服繁忙，我们会尽快在这里回复您。"
    } else {
        "All our agents are away right now; leave your question here and we will reply as soon as we can. 客服暂时不在线，请留下您的问题，我们会尽快在这里回复您。"
    }
}

/// Leaves a conversation for offline follow-up (out of any line, open and
/// unassigned, tagged `offline`) and tells the visitor: `message`, or
/// [`offline_text`] when it is empty; `None` says nothing (a rule's own reply
/// already did). `group`: where it was routed; `only_if_waiting`: only if it
/// still waits in that group's line.
async fn offline(
    state: &SharedState,
    conv: &Conversation,
    group: Option<&str>,
    only_if_waiting: bool,
    reason: &str,
    message: Option<&str>,
) -> Result<bool, StoreError> {
    // Nobody can answer now: the inbox's bot does, if it has one and never
    // handed this conversation off (after a queue timeout only if the inbox
    // says so).
    if let Some(bot) = crate::bot::runner::may_take(state, conv).await?
        && (reason != "queue_timeout" || bot.take_timeouts)
        && (!only_if_waiting || still_waiting(state, conv).await?)
        && crate::bot::runner::give(state, conv, router()).await?
    {
        if let Some(g) = group {
            announce_queue(state, &conv.workspace_id, g).await?;
        }
        return Ok(true);
    }
    let Some(changed) = state
        .store
        .to_offline(
            &conv.workspace_id,
            &conv.id,
            group,
            only_if_waiting,
            reason,
            router(),
        )
        .await?
    else {
        return Ok(false);
    };
    after_commit(state, &changed.events);
    let after = changed.after;
    if let Some(m) = message {
        let text = if m.trim().is_empty() {
            offline_text(reason)
        } else {
            m
        };
        // One notice per move (a conversation can time out again after a reopen).
        let key = format!("offline-{reason}-{}", after.updated_at);
        auto_reply(state, &after, &key, text).await?;
    }
    Ok(true)
}

/// Whether `conv` still waits in a line (a drain or claim may have just
/// taken it).
async fn still_waiting(state: &SharedState, conv: &Conversation) -> Result<bool, StoreError> {
    let now = state
        .store
        .get_conversation(&conv.workspace_id, &conv.id)
        .await?;
    Ok(now.status == kefu_core::ConversationStatus::Queued && now.assignee_id.is_none())
}

/// Longest line announced position by position.
const ANNOUNCED: i64 = 1000;

/// Tells every waiting visitor of `group` their place in line.
pub async fn announce_queue(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    group: &str,
) -> Result<(), StoreError> {
    let line = state.store.queue(workspace_id, group, ANNOUNCED).await?;
    // Agents: the live queue view.
    state.hub.publish_many(
        &[crate::hub::workspace_topic(workspace_id)],
        &kefu_core::protocol::ServerFrame::GroupQueue {
            group: group.to_string(),
            waiting: line.len() as i64,
            conversation_ids: line
                .iter()
                .take(50)
                .map(|q| q.conversation_id.clone())
                .collect(),
        },
    );
    // The estimate: recent handling times spread over the members online now.
    let handled = state
        .store
        .recent_handling_ms(workspace_id, group, 20)
        .await?;
    let serving = state
        .store
        .group_members(workspace_id, group)
        .await?
        .iter()
        .filter(|m| m.status == AgentStatus::Online)
        .count() as u32;
    for q in line {
        let position = usize::try_from(q.position).unwrap_or(usize::MAX);
        state.hub.publish_many(
            &[crate::hub::contact_topic(&q.contact_id)],
            &kefu_core::protocol::ServerFrame::Queue {
                conversation_id: q.conversation_id,
                position: q.position,
                estimated_wait_ms: kefu_routing::queue::estimate_wait_ms(
                    position, &handled, serving,
                ),
            },
        );
    }
    Ok(())
}

/// The members of a grab-mode group who may claim now (online, below capacity).
async fn eligible(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    group: &str,
) -> Result<Vec<UserId>, StoreError> {
    Ok(state
        .store
        .group_members(workspace_id, group)
        .await?
        .into_iter()
        .filter(|m| m.can_take_one())
        .map(|m| m.user_id)
        .collect())
}

/// Offers a waiting conversation to `agents` (see [`eligible`]).
fn offer(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    group: &str,
    conversation_id: &ConversationId,
    agents: &[UserId],
) {
    if !agents.is_empty() {
        state.hub.publish_many(
            &[crate::hub::workspace_topic(workspace_id)],
            &kefu_core::protocol::ServerFrame::Offer {
                conversation_id: conversation_id.clone(),
                group: group.to_string(),
                agents: agents.to_vec(),
            },
        );
    }
}

/// Hands waiting conversations to agents who can take them now (someone
/// resolved a conversation, came online, got more capacity), head of each
/// line first, then tells the rest their new places (run by the worker).
pub(crate) async fn drain(
    state: &SharedState,
    workspace_id: &WorkspaceId,
) -> Result<(), StoreError> {
    let waiting: std::collections::HashSet<String> = state
        .store
        .queued_groups(workspace_id)
        .await?
        .into_iter()
        .collect();
    for g in state.store.list_groups(workspace_id).await? {
        let group = g.name;
        if !waiting.contains(&group) {
            // Nothing waits (perhaps the last one was just taken by hand): say so.
            announce_queue(state, workspace_id, &group).await?;
            continue;
        }
        if g.strategy == Strategy::Grab {
            // Nobody is assigned in grab mode: whoever has room now gets the offers again.
            let agents = eligible(state, workspace_id, &group).await?;
            for q in state.store.queue(workspace_id, &group, ANNOUNCED).await? {
                offer(state, workspace_id, &group, &q.conversation_id, &agents);
            }
            announce_queue(state, workspace_id, &group).await?;
            continue;
        }
        // Bounded: a line never loops forever on a decision that keeps failing.
        for _ in 0..ANNOUNCED {
            let Some(head) = state.store.queue(workspace_id, &group, 1).await?.pop() else {
                break;
            };
            let Some(uid) = candidate(state, workspace_id, &group, None).await? else {
                break;
            };
            match state
                .store
                .auto_assign(workspace_id, &head.conversation_id, &uid, &group, router())
                .await?
            {
                Some(changed) => after_commit(state, &changed.events),
                // Someone else took it, or the agent filled up meanwhile: look again.
                None => continue,
            }
        }
        announce_queue(state, workspace_id, &group).await?;
    }
    Ok(())
}

/// Watches `[routing] rules_file`: every change that compiles becomes the
/// configured workspace's next rule set version and applies at once; one
/// that does not is logged with line:column and the running set stays.
/// Polling (not inotify) also sees files replaced by editors, git checkouts
/// and config-map updates.
pub fn spawn_rules_file_watcher(state: &SharedState) -> Option<tokio::task::JoinHandle<()>> {
    let cfg = state.cfg.routing.clone();
    if cfg.rules_file.is_empty() {
        return None;
    }
    let state = state.clone();
    Some(tokio::spawn(async move {
        let path = std::path::PathBuf::from(&cfg.rules_file);
        let every = Duration::from_millis(cfg.rules_poll_ms.max(100));
        let mut last_seen: Option<String> = None;
        loop {
            match tokio::fs::read_to_string(&path).await {
                Ok(mut source) if last_seen.as_deref() != Some(source.as_str()) => {
                    match load_rules_file(&state, &cfg.rules_workspace, &source, &cfg.rules_file)
                        .await
                    {
                        Ok(Some(v)) => {
                            tracing::info!(file = %cfg.rules_file, version = v, "routing rules loaded from the file")
                        }
                        Ok(None) => {}
                        Err(FileError::Invalid(e)) => {
                            tracing::error!(file = %cfg.rules_file, error = %e, "routing rules file not applied; the running rules stay")
                        }
                        Err(FileError::Store(e)) => {
                            // Transient (database): the same content is tried again next time.
                            tracing::warn!(file = %cfg.rules_file, error = %e, "routing rules file not applied yet");
                            source.clear();
                        }
                    }
                    if !source.is_empty() {
                        last_seen = Some(source);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if last_seen.is_some() {
                        tracing::warn!(file = %cfg.rules_file, error = %e, "cannot read the routing rules file");
                    }
                }
            }
            state.routing.file_checked.notify_waiters();
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = state.shutdown.cancelled() => return,
            }
        }
    }))
}

/// After group `old` was renamed to `new`: the rule set in force, with its
/// references to `old` renamed, becomes the next version and applies at
/// once. `None`: the rules did not name it (or there are none). A save of
/// the rules that happens meanwhile is not overwritten: the rename is
/// applied to it instead.
pub async fn follow_rename(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    old: &str,
    new: &str,
    by: &str,
) -> Result<Option<i64>, StoreError> {
    for _ in 0..5 {
        let Some(current) = state.store.current_rule_set(workspace_id).await? else {
            return Ok(None);
        };
        let Some(source) = kefu_routing::rename_group(&current.source, old, new) else {
            return Ok(None);
        };
        // Stored sets may name groups deleted since (they route nothing there),
        // so only the language is checked, as when a stored set is loaded.
        let engine = match kefu_routing::compile(&source, &Known::default()) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(%workspace_id, error = %e, "the rules cannot follow the group rename; edit them");
                return Ok(None);
            }
        };
        if let Some(saved) = state
            .store
            .save_rule_set_after(workspace_id, &source, by, Some(current.version))
            .await?
        {
            state.routing.put(
                workspace_id,
                Arc::new(Compiled {
                    version: saved.version,
                    engine,
                }),
            );
            return Ok(Some(saved.version));
        }
    }
    tracing::error!(
        %workspace_id,
        "the rules kept changing; the group rename was not applied to them"
    );
    Ok(None)
}

/// Why a rules file was not applied.
enum FileError {
    /// The file's content is wrong (no such workspace, does not compile).
    Invalid(String),
    /// The database failed; worth trying again.
    Store(StoreError),
}

/// Applies the file's rules if they differ from the ones in force; the new version, if any.
async fn load_rules_file(
    state: &SharedState,
    workspace: &str,
    source: &str,
    file: &str,
) -> Result<Option<i64>, FileError> {
    let ws = state
        .store
        .find_workspace_by_name(workspace)
        .await
        .map_err(FileError::Store)?
        .ok_or_else(|| FileError::Invalid(format!("no workspace named {workspace:?}")))?;
    let current = state
        .store
        .current_rule_set(&ws.id)
        .await
        .map_err(FileError::Store)?;
    if current.as_ref().is_some_and(|c| c.source == source) {
        return Ok(None);
    }
    let known = known(state, &ws.id).await.map_err(FileError::Store)?;
    let engine =
        kefu_routing::compile(source, &known).map_err(|e| FileError::Invalid(e.to_string()))?;
    let saved = state
        .store
        .save_rule_set(&ws.id, source, &format!("file:{file}"))
        .await
        .map_err(FileError::Store)?;
    state.routing.put(
        &ws.id,
        Arc::new(Compiled {
            version: saved.version,
            engine,
        }),
    );
    Ok(Some(saved.version))
}

/// A rule's `auto_reply` or an offline notice: a message from the system,
/// which the visitor sees. `key` makes it idempotent per conversation.
async fn auto_reply(
    state: &SharedState,
    conv: &Conversation,
    key: &str,
    text: &str,
) -> Result<(), StoreError> {
    // Idempotent: a retried decision does not say it twice.
    crate::conversations::system_message(
        state,
        conv,
        ROUTER_ID,
        &format!("{key}-{}", conv.id),
        text,
    )
    .await
    .map(|_| ())
}

/// Moves conversations that waited longer than their group allows: to the
/// group's timeout group, or out of the line for offline follow-up (the
/// visitor is told); and wakes snoozed conversations. Runs until shutdown.
pub fn spawn_queue_timeouts(state: &SharedState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let every = Duration::from_millis(state.cfg.routing.queue_check_ms.max(100));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = state.shutdown.cancelled() => return,
            }
            if let Err(e) = expire(&state).await {
                tracing::warn!(error = %e, "checking queue timeouts failed");
            }
            // The same clock wakes snoozed conversations.
            if let Err(e) = crate::conversations::wake_snoozed(&state).await {
                tracing::warn!(error = %e, "waking snoozed conversations failed");
            }
        }
    })
}

async fn expire(state: &SharedState) -> Result<(), StoreError> {
    for o in state.store.overdue(kefu_store::now_ms(), 100).await? {
        // One bad row must not stop the timeouts of everyone else.
        if let Err(e) = expire_one(state, &o).await {
            tracing::warn!(conversation_id = %o.conversation_id, error = %e, "queue timeout not applied");
        }
    }
    Ok(())
}

async fn expire_one(
    state: &SharedState,
    o: &kefu_store::routing::Overdue,
) -> Result<(), StoreError> {
    // Only if it still waits there: a drain or claim may have just assigned
    // it. A fallback group outside its business hours is no fallback.
    if let Some(to) = &o.to_group
        && group_open(state, &o.workspace_id, to).await?
        && let Some(changed) = state
            .store
            .requeue_overdue(&o.workspace_id, &o.conversation_id, &o.group, to, router())
            .await?
    {
        after_commit(state, &changed.events);
        announce_queue(state, &o.workspace_id, &o.group).await?;
        state.router.drain(&o.workspace_id);
        return Ok(());
    }
    // No fallback (or it is gone or closed): out of the line for offline follow-up,
    // with the "busy" notice (the group's offline message is for its closed hours).
    let conv = state
        .store
        .get_conversation(&o.workspace_id, &o.conversation_id)
        .await?;
    offline(
        state,
        &conv,
        Some(&o.group),
        true,
        "queue_timeout",
        Some(""),
    )
    .await?;
    announce_queue(state, &o.workspace_id, &o.group).await
}

/// Group `name` of the workspace, if it exists.
async fn find_group(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    name: &str,
) -> Result<Option<kefu_store::routing::Group>, StoreError> {
    Ok(state
        .store
        .list_groups(workspace_id)
        .await?
        .into_iter()
        .find(|g| g.name == name))
}

/// Whether `g` is within its business hours now (a group without hours always is).
async fn open_now(state: &SharedState, g: &kefu_store::routing::Group) -> Result<bool, StoreError> {
    let Some(bh) = &g.business_hours else {
        return Ok(true);
    };
    let ws = state.store.get_workspace(&g.workspace_id).await?;
    Ok(hours_open(bh, &ws, kefu_store::now_ms()))
}

/// Whether group `name` exists and is within its business hours now.
async fn group_open(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    name: &str,
) -> Result<bool, StoreError> {
    match find_group(state, workspace_id, name).await? {
        Some(g) => open_now(state, &g).await,
        None => Ok(false),
    }
}

/// The contact's earlier conversations, newest first (at most a few).
async fn earlier(
    state: &SharedState,
    conv: &Conversation,
) -> Result<Vec<Conversation>, StoreError> {
    let filter = kefu_store::ConversationFilter {
        contact_id: Some(conv.contact_id.clone()),
        ..Default::default()
    };
    Ok(state
        .store
        .list_conversations(&conv.workspace_id, &filter, None, 6)
        .await?
        .into_iter()
        .filter(|c| c.id != conv.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_ranks_priorities_like_the_domain() {
        for p in kefu_core::Priority::ALL {
            assert_eq!(
                kefu_routing::queue::priority_rank(p.as_str()),
                p.rank(),
                "{p}"
            );
        }
    }

    fn ws(tz: &str, holidays: &[&str]) -> Workspace {
        Workspace {
            id: "w".into(),
            name: "w".into(),
            timezone: tz.into(),
            language: "en".into(),
            holidays: holidays.iter().map(|h| h.to_string()).collect(),
            created_at: 0,
            default_group: None,
            reply_takes: true,
        }
    }

    fn hours(tz: Option<&str>, day: u8, open: &str, close: &str) -> BusinessHours {
        BusinessHours {
            timezone: tz.map(str::to_string),
            utc_offset_minutes: None,
            periods: vec![kefu_store::OpeningPeriod {
                day,
                open: open.into(),
                close: close.into(),
            }],
        }
    }

    #[test]
    fn hours_follow_the_zone_daylight_saving_and_holidays() {
        // Monday 2026-03-09 13:30 UTC: 09:30 in New York (EDT since Sunday), 21:30 in Shanghai.
        let t = 1_773_063_000_000;
        let ny = ws("America/New_York", &[]);
        assert!(hours_open(&hours(None, 1, "09:00", "17:00"), &ny, t));
        // The group's own zone wins over the workspace's.
        assert!(!hours_open(
            &hours(Some("Asia/Shanghai"), 1, "09:00", "17:00"),
            &ny,
            t
        ));
        assert!(hours_open(
            &hours(Some("Asia/Shanghai"), 1, "21:00", "22:00"),
            &ny,
            t
        ));
        // A workspace holiday closes the day.
        let off = ws("America/New_York", &["2026-03-09"]);
        assert!(!hours_open(&hours(None, 1, "09:00", "17:00"), &off, t));
        // The older fixed offset keeps its arithmetic (UTC-5: 08:30, not open yet).
        let fixed = BusinessHours {
            timezone: None,
            utc_offset_minutes: Some(-300),
            ..hours(None, 1, "09:00", "17:00")
        };
        assert!(!hours_open(&fixed, &ny, t));
    }

    #[test]
    fn bad_hours_are_refused() {
        assert!(check_hours(&hours(Some("Mars/Base"), 1, "09:00", "17:00")).is_err());
        assert!(check_hours(&hours(None, 1, "17:00", "09:00")).is_err());
        assert!(check_hours(&hours(Some("Europe/Berlin"), 6, "00:00", "24:00")).is_ok());
    }
}
