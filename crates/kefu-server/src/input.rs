//! The edge where request input enters: JSON bodies, and the check that no
//! path or query string carries a NUL.
//!
//! PostgreSQL refuses NUL in text (the statement fails, which surfaced as a
//! 500) while SQLite stores it; refusing it here, before any handler runs,
//! makes both backends answer alike. See `kefu_core::text`.

use crate::error::ApiError;
use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use kefu_core::text::{NUL_REFUSED, json_has_nul, percent_encoded_has_nul};
use serde::{Serialize, de::DeserializeOwned};

/// A JSON body whose every rejection is an [`ApiError`], and which holds no
/// NUL in any string (422 `validation`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(JsonRejection::from)?;
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        if json_has_nul(&bytes) {
            return Err(ApiError::validation(NUL_REFUSED));
        }
        Ok(ApiJson(value))
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `application/json`, or a `+json` type, with any parameters (as axum's
/// own `Json` accepts).
pub(crate) fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

/// Middleware: 400 for a request whose path (`bad_path`) or query string
/// (`bad_query`) decodes to a NUL, before any extractor or handler sees it.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let uri = req.uri();
    if percent_encoded_has_nul(uri.path()) {
        return ApiError::bad_request("bad_path", "the path must not contain NUL (%00)")
            .into_response();
    }
    if uri.query().is_some_and(percent_encoded_has_nul) {
        return ApiError::bad_request("bad_query", "the query must not contain NUL (%00)")
            .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            json_content_type(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/json"));
        assert!(!with("application/jsonx"));
        assert!(!json_content_type(&HeaderMap::new()));
    }
}
