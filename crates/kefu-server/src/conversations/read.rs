//! Read receipts (stored, forward only) and typing indicators (not stored):
//! both go to the other side and to the other agents.

use super::{topics, visible_conversation};
use crate::{
    app::SharedState,
    auth::Principal,
    error::{ApiError, ApiResult},
};
use kefu_core::ConversationId;
use kefu_core::protocol::ServerFrame;

pub async fn typing(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    on: bool,
) -> ApiResult<()> {
    let conv = visible_conversation(state, who, id).await?;
    let s = who.sender();
    let frame = ServerFrame::Typing {
        conversation_id: conv.id.clone(),
        sender_kind: s.kind.as_str().into(),
        sender_id: s.id,
        on,
    };
    state.hub.publish_many(&topics(&conv, false), &frame);
    Ok(())
}

pub async fn read(
    state: &SharedState,
    who: &Principal,
    id: &ConversationId,
    seq: i64,
) -> ApiResult<()> {
    let conv = visible_conversation(state, who, id).await?;
    if seq < 0 || seq > conv.last_seq {
        return Err(ApiError::validation(format!(
            "seq must be between 0 and {}",
            conv.last_seq
        )));
    }
    let s = who.sender();
    if state
        .store
        .mark_read(&conv.id, s.kind.as_str(), &s.id, seq)
        .await?
    {
        let frame = ServerFrame::Read {
            conversation_id: conv.id.clone(),
            reader_kind: s.kind.as_str().into(),
            reader_id: s.id,
            seq,
        };
        state.hub.publish_many(&topics(&conv, false), &frame);
    }
    Ok(())
}
