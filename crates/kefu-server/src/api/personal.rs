//! Personal and shared items (canned replies, macros): who may see and
//! change which. A shared item belongs to the workspace and admins manage
//! it; a personal one belongs to the agent who made it, and to nobody else,
//! admins included: to anyone else it does not exist (404). API keys have
//! no person behind them, so they see and manage shared items only.

use crate::{
    auth::Principal,
    error::{ApiError, ApiResult},
};
use kefu_core::UserId;

/// The owner of an item the caller creates: themselves for a personal one
/// (agents only), none for a shared one (admins only).
pub fn owner_for_new(who: &Principal, personal: bool) -> ApiResult<Option<UserId>> {
    if personal {
        who.agent_id().cloned().map(Some).ok_or_else(|| {
            ApiError::validation("only agents have personal items; an API key creates shared ones")
        })
    } else {
        who.require_admin()?;
        Ok(None)
    }
}

/// Whether the caller sees an item owned by `owner`: shared ones, and their own.
pub fn visible(who: &Principal, owner: Option<&UserId>) -> bool {
    owner.is_none() || owner == who.agent_id()
}

/// Before a change: an item the caller does not see is not found (`what`);
/// a shared one needs an admin.
pub fn may_change(who: &Principal, owner: Option<&UserId>, what: &str) -> ApiResult<()> {
    if !visible(who, owner) {
        return Err(ApiError::not_found(what));
    }
    if owner.is_none() {
        who.require_admin()?;
    }
    Ok(())
}
