//! The kefu server: REST API, realtime gateway, auth, and the pieces the
//! `kefu` command runs. See docs/architecture.md for how they fit.

pub mod api;
pub mod app;
pub mod auth;
pub mod blob;
pub mod bot;
pub mod bus;
pub mod chat;
pub mod client_ip;
pub mod config;
pub mod contacts;
pub mod conversations;
pub mod delivered;
pub mod error;
pub mod hub;
pub mod import;
pub mod inbox_cache;
pub mod input;
pub mod mail;
pub mod net;
pub mod notify;
pub mod outbox;
pub mod push;
pub mod reports;
pub mod routing;
pub mod sensitive;
pub mod sse;
pub mod web;
pub mod webhooks;
pub mod ws;

/// The OpenAPI document of the REST API, as served at /api/openapi.json.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router(&config::Limits::default()).1
}
