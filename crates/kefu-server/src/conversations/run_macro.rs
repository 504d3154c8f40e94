//! Run a macro on a conversation: its actions in order, each through the
//! command an agent's own click uses (send, set_labels, assign, transfer,
//! change_status, snooze), so each makes its usual events, frames, webhooks
//! and audit lines, by the agent who runs it, and is allowed exactly when
//! that agent could do it by hand.
//!
//! A run stops at the first action that fails: the actions before it stay
//! done (each was its own committed command, as if clicked), the ones after
//! it are skipped, and the answer says which failed and why. Checking every
//! action up front could not be honest anyway: the conversation may change
//! between the check and the action (an agent leaves, someone resolves it).

use super::{SendRequest, Transfer, visible_conversation};
use crate::{
    app::SharedState,
    auth::{Principal, Scope},
    error::{ApiError, ApiResult},
};
use kefu_core::macros::{AssignTo, MacroAction, Variables, fill_variables};
use kefu_core::{ConversationId, MessageKind};
use kefu_store::{Conversation, LabelEdit, Macro};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What became of one action of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    Done,
    Failed,
    /// Not tried: an earlier action failed.
    Skipped,
}

/// One action's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionOutcome {
    /// The action's place in the macro's `actions`, from 0.
    pub index: usize,
    /// The action's `type`.
    #[serde(rename = "type")]
    pub kind: String,
    pub state: ActionState,
    /// Why it failed: the error code and message the same change made by
    /// hand would have answered (`validation`, `invalid_transition`…).
    pub error: Option<crate::error::ErrorDetail>,
}

/// The outcome of a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct MacroRun {
    pub macro_id: String,
    /// Every action was done.
    pub completed: bool,
    /// One per action, in the macro's order.
    pub outcomes: Vec<ActionOutcome>,
    /// The conversation after the run.
    pub conversation: Conversation,
}

pub async fn run_macro(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    m: Macro,
) -> ApiResult<MacroRun> {
    who.require_staff()?;
    let conv = visible_conversation(state, who, id).await?;
    // A key needs the scopes the actions would need by hand; agents have them all.
    if m.actions
        .iter()
        .any(|a| matches!(a, MacroAction::Reply { .. } | MacroAction::Note { .. }))
    {
        who.require_scope(Scope::MessagesWrite)?;
    }
    let (st, who) = (state.clone(), who.clone());
    // The whole run is one task: a client that goes away mid-run does not
    // leave it stopped between two actions.
    super::run(state, async move {
        let vars = variables(&st, &who, &conv).await;
        let mut outcomes = Vec::with_capacity(m.actions.len());
        let mut failed = false;
        for (index, action) in m.actions.iter().enumerate() {
            let (state, error) = if failed {
                (ActionState::Skipped, None)
            } else {
                match step(&st, &who, &conv.id, action, &vars).await {
                    Ok(()) => (ActionState::Done, None),
                    Err(e) => {
                        failed = true;
                        (
                            ActionState::Failed,
                            Some(crate::error::ErrorDetail {
                                code: e.code.to_string(),
                                message: e.message,
                            }),
                        )
                    }
                }
            };
            outcomes.push(ActionOutcome {
                index,
                kind: action.kind().to_string(),
                state,
                error,
            });
        }
        let conversation = st
            .store
            .get_conversation(&conv.workspace_id, &conv.id)
            .await
            .map_err(|e| ApiError::from_store(e, "conversation"))?;
        Ok(MacroRun {
            macro_id: m.id,
            completed: !failed,
            outcomes,
            conversation,
        })
    })
    .await
}

/// One action, through its command.
async fn step(
    st: &SharedState,
    who: &Principal,
    id: &ConversationId,
    action: &MacroAction,
    vars: &Variables,
) -> ApiResult<()> {
    let labels = |edit: LabelEdit| super::set_labels(st, who, id, edit);
    match action {
        MacroAction::Reply { content } | MacroAction::Note { content } => {
            let kind = if matches!(action, MacroAction::Note { .. }) {
                MessageKind::Note
            } else {
                MessageKind::Text
            };
            super::send(
                st,
                who,
                SendRequest {
                    client_msg_id: Some(kefu_store::new_id()),
                    conversation_id: Some(id.clone()),
                    kind,
                    content: fill_variables(content, vars),
                    attachment_id: None,
                },
            )
            .await?;
        }
        MacroAction::AddLabel { label } => {
            labels(LabelEdit {
                add: vec![label.clone()],
                ..Default::default()
            })
            .await?;
        }
        MacroAction::RemoveLabel { label } => {
            labels(LabelEdit {
                remove: vec![label.clone()],
                ..Default::default()
            })
            .await?;
        }
        MacroAction::SetPriority { priority } => {
            labels(LabelEdit {
                priority: Some(*priority),
                ..Default::default()
            })
            .await?;
        }
        MacroAction::Assign { to } => match to {
            AssignTo::Me => {
                let me = who.agent_id().cloned().ok_or_else(|| {
                    ApiError::validation("`assign` to `me` needs an agent, not an API key")
                })?;
                super::assign(st, who, id, Some(me)).await?;
            }
            AssignTo::Agent(user) => {
                super::assign(st, who, id, Some(user.clone())).await?;
            }
            AssignTo::Group(group) => {
                super::transfer(st, who, id, Transfer::Group(group.clone()), String::new()).await?;
            }
        },
        MacroAction::Unassign => {
            super::assign(st, who, id, None).await?;
        }
        MacroAction::Status { status } => {
            super::change_status(st, who, id, (*status).into()).await?;
        }
        MacroAction::Snooze { for_secs } => {
            let until = kefu_store::now_ms().saturating_add(for_secs.saturating_mul(1000));
            super::snooze(st, who, id, until).await?;
        }
    }
    Ok(())
}

/// The variables' values in this conversation; a value that cannot be
/// read is left empty (the reply still goes, as a canned reply would).
async fn variables(st: &SharedState, who: &Principal, conv: &Conversation) -> Variables {
    let mut v = Variables {
        conversation_id: conv.id.to_string(),
        ..Default::default()
    };
    match st
        .store
        .get_contact(&conv.workspace_id, &conv.contact_id)
        .await
    {
        Ok(c) => {
            v.contact_name = c.name.unwrap_or_default();
            v.contact_email = c.email.unwrap_or_default();
            v.contact_phone = c.phone.unwrap_or_default();
        }
        Err(e) => {
            tracing::warn!(conversation_id = %conv.id, error = %e, "macro: the contact could not be read")
        }
    }
    if let Some(user) = who.agent_id() {
        match st.store.get_user(&conv.workspace_id, user).await {
            Ok(u) => {
                v.agent_name = u.name;
                v.agent_email = u.email;
            }
            Err(e) => {
                tracing::warn!(conversation_id = %conv.id, error = %e, "macro: the agent could not be read")
            }
        }
    }
    v
}
