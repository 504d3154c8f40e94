//! Routing: groups of agents, the workspace's rule set (versioned; a change
//! applies to the next decision, an invalid one is rejected with
//! line:column and the old set keeps running), and the dry-run simulator.

use super::Page;
use crate::{
    app::SharedState,
    auth::{Admin, Caller, Scoped, need},
    conversations::{self, Transfer},
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
    routing::{Compiled, candidate, known},
};
use axum::{extract::State, http::StatusCode};
use kefu_core::{ConversationId, UserId, WorkspaceId};
use kefu_routing::{Context, Decision, Route};
use kefu_store::{
    BusinessHours, StoreError,
    routing::{Group, GroupSettings, RuleSetVersion},
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    pub name: String,
    /// `least_loaded` (default), `round_robin` or `grab`.
    #[serde(default)]
    pub strategy: kefu_core::Strategy,
    /// User ids of the members.
    #[serde(default)]
    pub members: Vec<String>,
    /// Seconds a conversation may wait in this group's line (0 or absent: no limit).
    #[serde(default)]
    pub queue_timeout_secs: i64,
    /// Where overdue conversations go; absent: they leave the line for
    /// offline follow-up and the visitor is told.
    pub timeout_to_group: Option<String>,
    /// When the group answers (time zone: the workspace's unless given);
    /// absent: always. Outside them, conversations routed here are left for
    /// offline follow-up and the visitor gets `offline_message`.
    pub business_hours: Option<BusinessHours>,
    /// Up to 1,000 characters; empty: a built-in bilingual message.
    #[serde(default)]
    pub offline_message: String,
    /// Agents created later join this group by themselves.
    #[serde(default)]
    pub auto_join: bool,
}

impl GroupInput {
    fn settings(&self) -> GroupSettings {
        GroupSettings {
            auto_join: self.auto_join,
            queue_timeout_secs: self.queue_timeout_secs,
            timeout_to_group: self.timeout_to_group.clone(),
            business_hours: self.business_hours.clone(),
            offline_message: self.offline_message.trim().to_string(),
        }
    }
}

fn group_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::conflict("a group with this name exists"),
        StoreError::Invalid(m) => ApiError::validation(m),
        other => ApiError::from_store(other, "group"),
    }
}

#[utoipa::path(get, operation_id = "routing_list_groups", path = "/api/v1/groups", tag = "routing", security(("bearer" = [])),
    responses((status = 200, description = "Every group, by name (the list comes whole)", body = Page<Group>), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn list_groups(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
) -> ApiResult<ApiJson<Page<Group>>> {
    Ok(ApiJson(Page::whole(
        state.store.list_groups(who.workspace_id()).await?,
    )))
}

#[utoipa::path(post, operation_id = "routing_create_group", path = "/api/v1/groups", tag = "routing", security(("bearer" = [])), request_body = GroupInput,
    responses((status = 201, description = "Created", body = Group), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 409, description = "The name exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn create_group(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(g): ApiJson<GroupInput>,
) -> ApiResult<(StatusCode, ApiJson<Group>)> {
    let settings = g.settings();
    check_settings(&state, who.workspace_id(), &g.name, &settings).await?;
    let (group, _) = state
        .store
        .save_group(who.workspace_id(), None, &g.name, g.strategy, g.members)
        .await
        .map_err(group_error)?;
    Ok((
        StatusCode::CREATED,
        ApiJson(with_settings(&state, group, settings).await?),
    ))
}

/// Refuses bad settings before anything is saved.
async fn check_settings(
    state: &SharedState,
    ws: &WorkspaceId,
    name: &str,
    s: &GroupSettings,
) -> ApiResult<()> {
    if let Some(bh) = &s.business_hours {
        crate::routing::check_hours(bh).map_err(ApiError::validation)?;
    }
    if s.offline_message.chars().count() > 1000 {
        return Err(ApiError::validation(
            "offline_message is longer than 1000 characters",
        ));
    }
    let (secs, to) = (s.queue_timeout_secs, s.timeout_to_group.as_deref());
    if !(0..=7 * 86_400).contains(&secs) {
        return Err(ApiError::validation(
            "queue_timeout_secs must be 0 to 604800",
        ));
    }
    if let Some(t) = to {
        if t == name.trim() {
            return Err(ApiError::validation("a group cannot time out into itself"));
        }
        if !state
            .store
            .list_groups(ws)
            .await?
            .iter()
            .any(|g| g.name == t)
        {
            return Err(ApiError::validation(format!("there is no group {t:?}")));
        }
    }
    Ok(())
}

/// Saves the settings part of a group (after the group itself).
async fn with_settings(
    state: &SharedState,
    mut group: Group,
    s: GroupSettings,
) -> ApiResult<Group> {
    state
        .store
        .set_group_settings(&group.workspace_id, &group.id, &s)
        .await
        .map_err(group_error)?;
    group.queue_timeout_secs = s.queue_timeout_secs;
    group.timeout_to_group = s.timeout_to_group;
    group.business_hours = s.business_hours;
    group.offline_message = s.offline_message;
    Ok(group)
}

#[utoipa::path(put, operation_id = "routing_update_group", path = "/api/v1/groups/{id}", tag = "routing", security(("bearer" = [])), params(("id" = String, Path)), request_body = GroupInput,
    responses((status = 200, description = "Success", body = Group), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 409, description = "The name exists", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn update_group(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(g): ApiJson<GroupInput>,
) -> ApiResult<ApiJson<Group>> {
    let settings = g.settings();
    check_settings(&state, who.workspace_id(), &g.name, &settings).await?;
    let (group, renamed_from) = state
        .store
        .save_group(
            who.workspace_id(),
            Some(&id),
            &g.name,
            g.strategy,
            g.members,
        )
        .await
        .map_err(group_error)?;
    // The group's own settings are saved even if the rules cannot follow.
    let group = with_settings(&state, group, settings).await?;
    // The rules follow a rename (a new version), so routing to it goes on.
    if let Some(old) = renamed_from {
        crate::routing::follow_rename(
            &state,
            who.workspace_id(),
            &old,
            &group.name,
            &format!("rename:{}", who.sender().id),
        )
        .await?;
    }
    Ok(ApiJson(group))
}

#[utoipa::path(delete, operation_id = "routing_delete_group", path = "/api/v1/groups/{id}", tag = "routing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn delete_group(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let left = state
        .store
        .delete_group(who.workspace_id(), &id, who.actor())
        .await
        .map_err(group_error)?;
    // Whoever waited there is out of the line: agents and visitors see it.
    for changed in &left {
        conversations::after_commit(&state, &changed.events);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesInput {
    /// The whole rule set in the DSL (docs/rules.md).
    pub source: String,
}

/// The rule set in force; `version` 0 and empty `source` before the first save.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RulesOut {
    pub version: i64,
    pub source: String,
    pub created_at: Option<i64>,
}

impl From<Option<RuleSetVersion>> for RulesOut {
    fn from(v: Option<RuleSetVersion>) -> Self {
        match v {
            Some(v) => RulesOut {
                version: v.version,
                source: v.source,
                created_at: Some(v.created_at),
            },
            None => RulesOut {
                version: 0,
                source: String::new(),
                created_at: None,
            },
        }
    }
}

/// A rule set that does not compile: `invalid_rules`, the message starting with `line:column`.
fn invalid(e: kefu_routing::RuleError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_rules",
        e.to_string(),
    )
}

#[utoipa::path(get, operation_id = "routing_get_rules", path = "/api/v1/routing/rules", tag = "routing", security(("bearer" = [])),
    responses((status = 200, description = "Success", body = RulesOut), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn get_rules(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
) -> ApiResult<ApiJson<RulesOut>> {
    Ok(ApiJson(
        state
            .store
            .current_rule_set(who.workspace_id())
            .await?
            .into(),
    ))
}

/// Checks and saves a new version; the next routing decision uses it. An
/// invalid set is rejected (422 `invalid_rules`, "line:column: …") and the
/// running one stays.
#[utoipa::path(put, operation_id = "routing_put_rules", path = "/api/v1/routing/rules", tag = "routing", security(("bearer" = [])), request_body = RulesInput,
    responses((status = 200, description = "Saved and in force", body = RulesOut), (status = 403, description = "Not allowed for this principal", body = ErrorBody),
        (status = 422, description = "invalid_rules: line:column and what was expected", body = ErrorBody)))]
pub async fn put_rules(
    State(state): State<SharedState>,
    Admin(who): Admin,
    ApiJson(req): ApiJson<RulesInput>,
) -> ApiResult<ApiJson<RulesOut>> {
    let ws = who.workspace_id().clone();
    let engine = kefu_routing::compile(&req.source, &known(&state, &ws).await?).map_err(invalid)?;
    let saved = state
        .store
        .save_rule_set(&ws, &req.source, &who.sender().id)
        .await?;
    state.routing.put(
        &ws,
        Arc::new(Compiled {
            version: saved.version,
            engine,
        }),
    );
    Ok(ApiJson(Some(saved).into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateInput {
    /// Rules to try instead of the ones in force (nothing is saved).
    pub source: Option<String>,
    /// What the visitor and conversation look like; `time` and `groups`
    /// default to now (workspace time zone) and the live figures.
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulateOut {
    /// `route`, `priority`, `tags`, `replies`, `to_bot`, `offline`, and
    /// `trace`: every rule looked at, whether it matched and why not.
    #[schema(value_type = Object)]
    pub decision: Decision,
    /// The agent the route would go to right now, if anyone can take it.
    pub agent_id: Option<String>,
    /// The context as evaluated (defaults filled in).
    #[schema(value_type = Object)]
    pub context: Context,
}

/// Dry run: which rule matches this context, which agent would get it, and why.
#[utoipa::path(post, operation_id = "routing_simulate", path = "/api/v1/routing/simulate", tag = "routing", security(("bearer" = [])), request_body = SimulateInput,
    responses((status = 200, description = "The decision and its explanation", body = SimulateOut), (status = 422, description = "invalid_rules or a bad context", body = ErrorBody)))]
pub async fn simulate(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::SettingsRead>,
    ApiJson(req): ApiJson<SimulateInput>,
) -> ApiResult<ApiJson<SimulateOut>> {
    let ws = who.workspace_id().clone();
    let engine = match &req.source {
        Some(src) => Arc::new(Compiled {
            version: 0,
            engine: kefu_routing::compile(src, &known(&state, &ws).await?).map_err(invalid)?,
        }),
        None => state.routing.get(&state, &ws).await?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_rules",
                "there is no rule set yet; pass `source`",
            )
        })?,
    };
    let given = req.context.as_object().cloned().unwrap_or_default();
    let mut ctx: Context = serde_json::from_value(req.context)
        .map_err(|e| ApiError::validation(format!("context: {e}")))?;
    let w = state.store.get_workspace(&ws).await?;
    if !given.contains_key("time") {
        ctx.time = kefu_routing::clock::local_time(kefu_store::now_ms(), &w.timezone, &w.holidays)
            .unwrap_or_default();
    }
    if !given.contains_key("groups") {
        ctx.groups = crate::routing::group_stats(&state, &w).await?;
    }

    let decision = engine.engine.explain(&ctx);
    let agent_id = match &decision.route {
        Some(Route::Group(g)) => candidate(&state, &ws, g, None).await?.map(String::from),
        Some(Route::Agent(a)) => Some(a.clone()),
        None => None,
    };
    Ok(ApiJson(SimulateOut {
        decision,
        agent_id,
        context: ctx,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// The agent to hand the conversation to…
    pub to_agent_id: Option<UserId>,
    /// …or the group whose line it joins (assigned at once if someone can take it).
    pub to_group: Option<String>,
    /// An internal note for the receiving side (never shown to the visitor).
    #[serde(default)]
    pub note: String,
}

/// Transfers a conversation to another agent or to a group, with an
/// internal note. The receiving agent must be active and below capacity;
/// the conversation open or pending. The note is a private message and the
/// transfer an event in the conversation's history.
#[utoipa::path(post, operation_id = "routing_transfer", path = "/api/v1/conversations/{id}/transfer", tag = "routing", security(("bearer" = [])), params(("id" = String, Path)), request_body = TransferInput,
    responses((status = 200, description = "Transferred (assigned, or waiting in the group's line)", body = kefu_store::Conversation), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody),
        (status = 409, description = "at_capacity: the agent cannot take it now; conversation_closed", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn transfer(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<TransferInput>,
) -> ApiResult<ApiJson<kefu_store::Conversation>> {
    let to = match (req.to_agent_id, req.to_group) {
        (Some(agent), None) => Transfer::Agent(agent),
        (None, Some(group)) => Transfer::Group(group),
        _ => return Err(ApiError::validation("give either to_agent_id or to_group")),
    };
    let changed = conversations::transfer(&state, &who, &id, to, req.note).await?;
    Ok(ApiJson(changed.after))
}

/// Grab mode (抢单): claims a conversation offered to the caller's group.
/// Exactly one claim wins; the others get 409 `already_taken` and see the
/// winner in a `conversation` frame.
#[utoipa::path(post, operation_id = "routing_claim", path = "/api/v1/conversations/{id}/claim", tag = "routing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Claimed: assigned to the caller", body = kefu_store::Conversation), (status = 403, description = "Only agents claim", body = ErrorBody),
        (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody), (status = 409, description = "already_taken (or the caller is not a member, or full)", body = ErrorBody)))]
pub async fn claim(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::ConversationsWrite>,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<ApiJson<kefu_store::Conversation>> {
    Ok(ApiJson(
        conversations::claim(&state, &who, &id).await?.after,
    ))
}

/// One group's line, for the live queue view.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupQueueOut {
    pub group: String,
    pub waiting: i64,
    /// The waiting conversations in order (at most 50).
    pub conversation_ids: Vec<ConversationId>,
}

/// Every group's line now; `group_queue` frames keep it live afterwards.
#[utoipa::path(get, operation_id = "routing_queues", path = "/api/v1/routing/queues", tag = "routing", security(("bearer" = [])),
    responses((status = 200, description = "One line per group (the list comes whole)", body = Page<GroupQueueOut>), (status = 403, description = "Not allowed for this principal", body = ErrorBody)))]
pub async fn queues(
    State(state): State<SharedState>,
    Scoped(who, ..): Scoped<need::ConversationsRead>,
) -> ApiResult<ApiJson<Page<GroupQueueOut>>> {
    let ws = who.workspace_id();
    let mut out = Vec::new();
    for g in state.store.list_groups(ws).await? {
        let line = state.store.queue(ws, &g.name, 1000).await?;
        out.push(GroupQueueOut {
            waiting: line.len() as i64,
            conversation_ids: line
                .into_iter()
                .take(50)
                .map(|q| q.conversation_id)
                .collect(),
            group: g.name,
        });
    }
    Ok(ApiJson(Page::whole(out)))
}
