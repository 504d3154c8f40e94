//! Extractors that check the caller's role as soon as the caller is known.
//!
//! axum runs the request-parts extractors of a handler before its body
//! extractor, so a handler that takes [`Admin`] or [`Staff`] ahead of its
//! `ApiJson` body refuses a caller without the role (403) before the body is
//! read. A role check inside the handler would come too late: a bad body
//! would answer 422 with schema details to someone who may not call the
//! endpoint at all.

use super::{Auth, Principal};
use crate::{app::SharedState, error::ApiError};
use axum::{extract::FromRequestParts, http::request::Parts};

/// The caller, who is an owner, an admin or an API key with the `admin` scope.
pub struct Admin(pub Principal);

impl FromRequestParts<SharedState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(who) = Auth::from_request_parts(parts, state).await?;
        who.require_admin()?;
        Ok(Admin(who))
    }
}

/// The caller, who is an agent (any role) or an API key with the `admin`
/// scope: not a visitor. Endpoints that API keys with narrower scopes may
/// call take [`super::Scoped`] instead, which names the scope.
pub struct Staff(pub Principal);

impl FromRequestParts<SharedState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(who) = Auth::from_request_parts(parts, state).await?;
        who.require_staff()?;
        who.require_scope(super::Scope::Admin)?;
        Ok(Staff(who))
    }
}
