//! The one door: every change to a conversation is a command here, one per
//! file. A command validates, makes one store write (which stores the typed
//! events of the change in the same transaction) and hands the events to
//! [`after_commit`], which does everything that follows a change: frames to
//! the hub, routing triggers, waking the outbox's consumers.
//!
//! Transports (REST in `api/`, WebSocket in `ws/`, SSE) only parse input and
//! call a command; routing's worker calls the same commands. A command runs
//! as a task of its own ([`run`]), so a caller that goes away (an HTTP client
//! disconnecting mid-request) never cuts it between the commit and the
//! publishing.

mod after;
mod assign;
mod claim;
mod delete;
mod labels;
mod presence;
mod read;
mod run_macro;
mod send;
mod status;
mod transfer;

pub use after::{after_commit, conversation_frame, topics};
pub use assign::assign;
pub use claim::claim;
pub use delete::delete_message;
pub use labels::set_labels;
pub use presence::set_presence;
pub use read::{read, typing};
pub use run_macro::{ActionOutcome, ActionState, MacroRun, run_macro};
pub use send::{SendRequest, send, send_many, system_message};
pub use status::{change_status, snooze, wake_snoozed};
pub use transfer::{Transfer, transfer};

use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use kefu_core::ConversationId;
use kefu_store::{Conversation, StoreError};
use std::future::Future;

/// Runs a command to completion as its own task: dropping the returned
/// future (a disconnected client) does not stop it between its commit and
/// its [`after_commit`]. Shutdown waits for these tasks before the store closes.
pub async fn run<T, F>(state: &SharedState, command: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: Future<Output = ApiResult<T>> + Send + 'static,
{
    match state.work.spawn(command).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "a conversation command failed to complete");
            Err(ApiError::internal())
        }
    }
}

/// Loads a conversation the principal may see, or "not found".
pub async fn visible_conversation(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
) -> ApiResult<Conversation> {
    match state.store.get_conversation(who.workspace_id(), id).await {
        Ok(c) if who.can_see(&c) => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(ApiError::not_found("conversation")),
        Err(e) => Err(e.into()),
    }
}
