//! What an API key may do: its scopes. Agents are governed by their role,
//! visitors by owning their conversations; an API key, by the scopes it
//! was given when made. A key without the scope an endpoint needs gets
//! 403 `missing_scope` naming the scope, before the body is read.
//!
//! An endpoint says which scope it needs in its signature, with the
//! extractors here ([`Scoped`] for staff endpoints, [`Caller`] for those
//! visitors call too); the role extractors `Staff` and `Admin` ask API keys
//! for `admin`, so an endpoint that names no scope is open to admin keys only.

use super::{Auth, Principal};
use crate::{app::SharedState, error::ApiError};
use axum::{extract::FromRequestParts, http::request::Parts};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use utoipa::ToSchema;

/// One permission of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// List and read conversations, their messages and audit trail, the
    /// routing lines; the WebSocket feed; download attachments.
    #[serde(rename = "conversations:read")]
    ConversationsRead,
    /// Change status, priority and tags; assign, transfer; read receipts and typing.
    #[serde(rename = "conversations:write")]
    ConversationsWrite,
    /// Send messages and private notes (REST and WebSocket); upload attachments.
    #[serde(rename = "messages:write")]
    MessagesWrite,
    /// List and read contacts and their business events.
    #[serde(rename = "contacts:read")]
    ContactsRead,
    /// Edit contacts (name, e-mail, phone, attributes) and keep notes on them.
    #[serde(rename = "contacts:write")]
    ContactsWrite,
    /// Record business events on contacts (`POST /api/v1/events`).
    #[serde(rename = "events:write")]
    EventsWrite,
    /// Read the workspace's set-up: users, inboxes, groups, routing rules,
    /// shared canned replies and macros, workspace settings; run the routing simulator.
    #[serde(rename = "settings:read")]
    SettingsRead,
    /// Change the set-up, manage API keys and the inbound signing secret,
    /// read the server's connection counters (an admin's rights).
    #[serde(rename = "admin")]
    Admin,
    /// Post e-mail replies into conversations (`POST /api/v1/mail/inbound`,
    /// what a mail relay calls; docs/email.md).
    #[serde(rename = "mail:inbound")]
    MailInbound,
}

impl Scope {
    pub const ALL: [Scope; 9] = [
        Scope::ConversationsRead,
        Scope::ConversationsWrite,
        Scope::MessagesWrite,
        Scope::ContactsRead,
        Scope::ContactsWrite,
        Scope::EventsWrite,
        Scope::SettingsRead,
        Scope::Admin,
        Scope::MailInbound,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ConversationsRead => "conversations:read",
            Scope::ConversationsWrite => "conversations:write",
            Scope::MessagesWrite => "messages:write",
            Scope::ContactsRead => "contacts:read",
            Scope::ContactsWrite => "contacts:write",
            Scope::EventsWrite => "events:write",
            Scope::SettingsRead => "settings:read",
            Scope::Admin => "admin",
            Scope::MailInbound => "mail:inbound",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The scopes of one key, as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u16);

impl Scopes {
    /// The scopes named in `names`; names this build does not know (a
    /// downgrade after a newer version added one) grant nothing.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Scopes {
        Scopes(
            names
                .iter()
                .filter_map(|n| Scope::parse(n.as_ref()))
                .fold(0, |acc, s| acc | s.bit()),
        )
    }

    pub fn contains(self, s: Scope) -> bool {
        self.0 & s.bit() != 0
    }
}

/// The error of a key without `scope`.
pub fn missing(scope: Scope) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "missing_scope",
        format!("this API key lacks the scope {}", scope.as_str()),
    )
}

/// A scope an endpoint needs, named as a type (see [`Scoped`]).
pub trait Needs: Send + Sync + 'static {
    const SCOPE: Scope;
}

/// The types that name scopes in extractor signatures (`Scoped<need::ContactsRead>`).
pub mod need {
    use super::{Needs, Scope};

    macro_rules! needs {
        ($($t:ident),*) => {$(
            #[doc = concat!("Needs [`Scope::", stringify!($t), "`].")]
            pub struct $t;
            impl Needs for $t {
                const SCOPE: Scope = Scope::$t;
            }
        )*};
    }
    needs!(
        ConversationsRead,
        ConversationsWrite,
        MessagesWrite,
        ContactsRead,
        ContactsWrite,
        EventsWrite,
        SettingsRead,
        Admin,
        MailInbound
    );
}

/// The caller, who is an agent (any role) or an API key holding the scope
/// `S`: not a visitor.
pub struct Scoped<S: Needs>(pub Principal, pub PhantomData<S>);

impl<S: Needs> FromRequestParts<SharedState> for Scoped<S> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(who) = Auth::from_request_parts(parts, state).await?;
        who.require_staff()?;
        who.require_scope(S::SCOPE)?;
        Ok(Scoped(who, PhantomData))
    }
}

/// Any caller (agent, visitor, or an API key holding the scope `S`), for
/// endpoints visitors use too; they check what a visitor may see themselves.
pub struct Caller<S: Needs>(pub Principal, pub PhantomData<S>);

impl<S: Needs> FromRequestParts<SharedState> for Caller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(who) = Auth::from_request_parts(parts, state).await?;
        who.require_scope(S::SCOPE)?;
        Ok(Caller(who, PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_grant_nothing() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        let set = Scopes::from_names(&["events:write", "contacts:read", "reports:read"]);
        assert!(set.contains(Scope::EventsWrite) && set.contains(Scope::ContactsRead));
        assert!(!set.contains(Scope::Admin) && !set.contains(Scope::ConversationsRead));
        assert_eq!(Scopes::from_names::<&str>(&[]), Scopes::default());
    }
}
