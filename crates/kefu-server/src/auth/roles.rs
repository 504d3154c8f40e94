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

/// The caller, who is an owner, an admin or an API key.
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

/// The caller, who is an agent (any role) or an API key: not a visitor.
pub struct Staff(pub Principal);

impl FromRequestParts<SharedState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(who) = Auth::from_request_parts(parts, state).await?;
        who.require_staff()?;
        Ok(Staff(who))
    }
}
