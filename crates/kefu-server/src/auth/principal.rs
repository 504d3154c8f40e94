//! The resolved identity behind a request or connection, and the checks that
//! keep every caller inside its workspace (and every visitor inside their
//! own conversations).

use super::tokens::{API_KEY_PREFIX, sha256_hex};
use crate::{
    app::SharedState,
    error::{ApiError, ApiResult},
};
use axum::{extract::FromRequestParts, http::request::Parts};
use kefu_core::{ContactId, Role, Sender, SenderKind, UserId, WorkspaceId};
use kefu_store::{Conversation, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A logged-in member of a workspace.
    Agent {
        user_id: UserId,
        workspace_id: WorkspaceId,
        role: Role,
        session_id: String,
    },
    /// A website visitor: sees only their own conversations.
    Visitor {
        contact_id: ContactId,
        workspace_id: WorkspaceId,
        inbox_id: String,
    },
    /// A server-to-server integration, limited to its scopes.
    ApiKey {
        key_id: String,
        workspace_id: WorkspaceId,
        scopes: super::Scopes,
    },
}

impl Principal {
    pub fn workspace_id(&self) -> &WorkspaceId {
        match self {
            Principal::Agent { workspace_id, .. }
            | Principal::Visitor { workspace_id, .. }
            | Principal::ApiKey { workspace_id, .. } => workspace_id,
        }
    }

    /// The sender of messages this principal writes.
    pub fn sender(&self) -> Sender {
        match self {
            Principal::Agent { user_id, .. } => Sender {
                kind: SenderKind::Agent,
                id: user_id.to_string(),
            },
            Principal::Visitor { contact_id, .. } => Sender {
                kind: SenderKind::Visitor,
                id: contact_id.to_string(),
            },
            Principal::ApiKey { key_id, .. } => Sender {
                kind: SenderKind::Api,
                id: key_id.clone(),
            },
        }
    }

    pub fn actor(&self) -> kefu_store::Actor {
        let s = self.sender();
        kefu_store::Actor {
            kind: s.kind,
            id: s.id,
        }
    }

    /// The agent behind this principal (API keys and visitors have none):
    /// whose personal canned replies and macros it sees.
    pub fn agent_id(&self) -> Option<&UserId> {
        match self {
            Principal::Agent { user_id, .. } => Some(user_id),
            _ => None,
        }
    }

    pub fn is_visitor(&self) -> bool {
        matches!(self, Principal::Visitor { .. })
    }

    /// Agents and API keys: the people and systems serving visitors.
    pub fn require_staff(&self) -> ApiResult<()> {
        if self.is_visitor() {
            Err(ApiError::forbidden("this needs an agent or API key"))
        } else {
            Ok(())
        }
    }

    /// Owners, admins and API keys with the `admin` scope.
    pub fn require_admin(&self) -> ApiResult<()> {
        match self {
            Principal::Agent { role, .. } if role.can_administer() => Ok(()),
            Principal::ApiKey { .. } => self.require_scope(super::Scope::Admin),
            _ => Err(ApiError::forbidden("this needs an admin or owner")),
        }
    }

    /// An API key must hold `scope` (403 `missing_scope`); agents and
    /// visitors are not limited by scopes (their role and ownership are).
    pub fn require_scope(&self, scope: super::Scope) -> ApiResult<()> {
        match self {
            Principal::ApiKey { scopes, .. } if !scopes.contains(scope) => {
                Err(super::scopes::missing(scope))
            }
            _ => Ok(()),
        }
    }

    /// Whether this principal may see `conv`. Callers answer "not found"
    /// otherwise, so ids of others' conversations reveal nothing.
    pub fn can_see(&self, conv: &Conversation) -> bool {
        match self {
            Principal::Visitor {
                contact_id,
                workspace_id,
                ..
            } => &conv.contact_id == contact_id && &conv.workspace_id == workspace_id,
            other => conv.workspace_id == *other.workspace_id(),
        }
    }

    /// Whether private notes are shown.
    pub fn sees_notes(&self) -> bool {
        !self.is_visitor()
    }
}

/// Resolves a bearer credential (access token, visitor token or API key).
pub async fn authenticate(state: &SharedState, token: &str) -> ApiResult<Principal> {
    let token = token.trim();
    if token.starts_with(API_KEY_PREFIX) {
        let key = state
            .store
            .find_api_key(&sha256_hex(token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
        return Ok(Principal::ApiKey {
            scopes: super::Scopes::from_names(&key.scopes),
            key_id: key.id,
            workspace_id: key.workspace_id,
        });
    }
    if let Ok(c) = state.keys.check_access(token) {
        let session = match state.store.get_session(&c.sid).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Err(ApiError::unauthorized("session not found")),
            Err(e) => return Err(e.into()),
        };
        if session.revoked_at.is_some() || session.user_id != c.sub {
            return Err(ApiError::unauthorized("session has ended; log in again"));
        }
        let user = match state.store.get_user(&c.ws, &c.sub).await {
            Ok(u) if u.active => u,
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(ApiError::unauthorized("account is deactivated"));
            }
            Err(e) => return Err(e.into()),
        };
        return Ok(Principal::Agent {
            user_id: user.id,
            workspace_id: user.workspace_id,
            role: user.role,
            session_id: session.id,
        });
    }
    if let Ok(c) = state.keys.check_visitor(token) {
        // A blocked or merged-away contact's token no longer works (a store
        // outage must not lock visitors out, so an error lets it through).
        match visitor_standing(state, &c.ws, &c.sub).await {
            Standing::Fine => {}
            Standing::Gone(e) => return Err(e),
        }
        return Ok(Principal::Visitor {
            contact_id: c.sub,
            workspace_id: c.ws,
            inbox_id: c.inbox,
        });
    }
    Err(ApiError::unauthorized("invalid or expired token"))
}

/// Whether a principal authenticated earlier may still act: its session is
/// not revoked, its account active, its key live. Long-lived connections
/// check this periodically; a visitor's ends when their contact is blocked
/// or merged into another.
/// A store error counts as valid: an outage must not log everyone out.
pub async fn still_valid(state: &SharedState, who: &Principal) -> bool {
    match who {
        Principal::Agent {
            session_id,
            user_id,
            workspace_id,
            ..
        } => {
            let session = match state.store.get_session(session_id).await {
                Ok(s) => s,
                Err(StoreError::NotFound) => return false,
                Err(_) => return true,
            };
            if session.revoked_at.is_some() {
                return false;
            }
            match state.store.get_user(workspace_id, user_id).await {
                Ok(u) => u.active,
                Err(StoreError::NotFound) => false,
                Err(_) => true,
            }
        }
        Principal::ApiKey { key_id, .. } => {
            state.store.api_key_is_live(key_id).await.unwrap_or(true)
        }
        Principal::Visitor {
            contact_id,
            workspace_id,
            ..
        } => matches!(
            visitor_standing(state, workspace_id, contact_id).await,
            Standing::Fine
        ),
    }
}

/// Whether a visitor's contact may still chat.
enum Standing {
    Fine,
    /// Blocked, merged into another contact, or deleted: the error to answer.
    Gone(ApiError),
}

async fn visitor_standing(
    state: &SharedState,
    workspace_id: &kefu_core::WorkspaceId,
    contact_id: &kefu_core::ContactId,
) -> Standing {
    match state.store.get_contact(workspace_id, contact_id).await {
        Ok(k) if k.merged_into.is_some() => Standing::Gone(StoreError::ContactMerged.into()),
        Ok(k) if k.blocked_at.is_some() => Standing::Gone(StoreError::ContactBlocked.into()),
        Ok(_) => Standing::Fine,
        Err(StoreError::NotFound) => {
            Standing::Gone(ApiError::unauthorized("invalid or expired token"))
        }
        Err(_) => Standing::Fine,
    }
}

/// A visitor's requests must come from a page of an origin their inbox
/// allows (like the widget session and the WebSocket handshake). Requests
/// without an `Origin` header are not a browser page embedding the widget.
pub async fn check_visitor_origin(
    state: &SharedState,
    who: &Principal,
    origin: Option<&str>,
) -> ApiResult<()> {
    let (
        Principal::Visitor {
            workspace_id,
            inbox_id,
            ..
        },
        Some(_),
    ) = (who, origin)
    else {
        return Ok(());
    };
    let inbox = match state
        .inboxes
        .get(&state.store, workspace_id, inbox_id)
        .await
    {
        Ok(i) => i,
        Err(StoreError::NotFound) => return Err(ApiError::unauthorized("the inbox is gone")),
        Err(e) => return Err(e.into()),
    };
    if crate::api::widget::origin_allowed(&inbox, origin) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this site may not embed the chat",
        ))
    }
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Extractor: the authenticated principal of a REST request.
pub struct Auth(pub Principal);

impl FromRequestParts<SharedState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        let who = authenticate(state, token).await?;
        let origin = crate::api::widget::page_origin(&parts.headers);
        check_visitor_origin(state, &who, origin).await?;
        Ok(Auth(who))
    }
}
