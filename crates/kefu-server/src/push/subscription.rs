//! A browser's `PushSubscription` as the console posts it, checked once
//! into a type that can only hold a usable one.

use crate::webhooks::guard::{self, UrlProblem};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// Longest endpoint kept (real ones are a few hundred bytes).
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// A subscription whose endpoint may be pushed to and whose keys are
/// usable, in canonical base64url (no padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// What is wrong with a posted subscription; each maps to a 400 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionProblem {
    /// Not an absolute `https:` URL (or too long, or with credentials).
    #[error("{0}")]
    BadEndpoint(String),
    /// Points into loopback or private networks (see `webhooks::guard`).
    #[error("{0}")]
    EndpointNotAllowed(String),
    /// `keys.p256dh` is not a base64url P-256 public key (65 bytes, uncompressed).
    #[error("keys.p256dh must be the browser's P-256 public key: base64url of 65 bytes")]
    BadP256dh,
    /// `keys.auth` is not base64url of 16 bytes.
    #[error("keys.auth must be the browser's auth secret: base64url of 16 bytes")]
    BadAuth,
}

impl SubscriptionProblem {
    /// The API's machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SubscriptionProblem::BadEndpoint(_) => "bad_endpoint",
            SubscriptionProblem::EndpointNotAllowed(_) => "endpoint_not_allowed",
            SubscriptionProblem::BadP256dh => "bad_p256dh",
            SubscriptionProblem::BadAuth => "bad_auth",
        }
    }
}

/// Checks an endpoint: `https:` (any scheme the guard takes when
/// `allow_private`), not into private networks unless `allow_private`.
/// The same check runs before every push, so a changed setting applies to
/// stored rows too.
pub fn check_endpoint(
    endpoint: &str,
    allow_private: bool,
) -> Result<url::Url, SubscriptionProblem> {
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(SubscriptionProblem::BadEndpoint(format!(
            "endpoint is longer than {MAX_ENDPOINT_LEN} bytes"
        )));
    }
    let url = guard::check_url(endpoint, allow_private).map_err(|p| match p {
        UrlProblem::Invalid(m) => SubscriptionProblem::BadEndpoint(m.replacen("url", "endpoint", 1)),
        UrlProblem::Blocked(m) => SubscriptionProblem::EndpointNotAllowed(m.replace(
            "kefu does not send webhooks into its own network unless [webhooks] allow_private_networks = true",
            "kefu does not push into its own network unless [push] allow_private_endpoints = true",
        )),
    })?;
    if url.scheme() != "https" && !allow_private {
        return Err(SubscriptionProblem::BadEndpoint(
            "endpoint must be an https:// URL (push services are)".into(),
        ));
    }
    Ok(url)
}

fn decode(s: &str) -> Option<Vec<u8>> {
    // Browsers send unpadded base64url; some libraries pad.
    URL_SAFE_NO_PAD.decode(s.trim().trim_end_matches('=')).ok()
}

/// Checks a posted subscription.
pub fn check(
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    allow_private: bool,
) -> Result<CheckedSubscription, SubscriptionProblem> {
    let url = check_endpoint(endpoint, allow_private)?;
    let key = decode(p256dh)
        .filter(|k| k.len() == 65)
        .filter(|k| p256::PublicKey::from_sec1_bytes(k).is_ok())
        .ok_or(SubscriptionProblem::BadP256dh)?;
    let secret = decode(auth)
        .filter(|a| a.len() == 16)
        .ok_or(SubscriptionProblem::BadAuth)?;
    Ok(CheckedSubscription {
        endpoint: url.to_string(),
        p256dh: URL_SAFE_NO_PAD.encode(key),
        auth: URL_SAFE_NO_PAD.encode(secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    fn browser_key() -> String {
        let k = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        URL_SAFE_NO_PAD.encode(k.public_key().to_encoded_point(false).as_bytes())
    }

    #[test]
    fn accepts_a_real_looking_subscription() {
        let auth = URL_SAFE_NO_PAD.encode([9u8; 16]);
        let c = check(
            "https://fcm.googleapis.com/fcm/send/abc:def",
            &browser_key(),
            &format!("{auth}=="),
            false,
        )
        .unwrap();
        assert_eq!(c.auth, auth);
        assert_eq!(c.p256dh, browser_key());
    }

    #[test]
    fn refuses_what_it_should() {
        let (k, a) = (browser_key(), URL_SAFE_NO_PAD.encode([9u8; 16]));
        let code = |e: &str, k: &str, a: &str, allow: bool| {
            check(e, k, a, allow).map(|_| ()).map_err(|p| p.code())
        };
        assert_eq!(
            code("http://push.example.com/x", &k, &a, false),
            Err("bad_endpoint")
        );
        assert_eq!(code("not a url", &k, &a, true), Err("bad_endpoint"));
        assert_eq!(
            code("ftp://push.example.com/", &k, &a, true),
            Err("bad_endpoint")
        );
        let long = format!("https://push.example.com/{}", "x".repeat(MAX_ENDPOINT_LEN));
        assert_eq!(code(&long, &k, &a, true), Err("bad_endpoint"));
        assert_eq!(
            code("https://127.0.0.1:9/x", &k, &a, false),
            Err("endpoint_not_allowed")
        );
        assert_eq!(
            code("https://localhost/x", &k, &a, false),
            Err("endpoint_not_allowed")
        );
        assert_eq!(
            code("https://10.1.2.3/x", &k, &a, false),
            Err("endpoint_not_allowed")
        );
        // Allowed by the setting: loopback and plain http (a test endpoint).
        assert_eq!(code("http://127.0.0.1:9/x", &k, &a, true), Ok(()));
        let e = "https://push.example.com/x";
        assert_eq!(code(e, "", &a, false), Err("bad_p256dh"));
        assert_eq!(code(e, &k[..40], &a, false), Err("bad_p256dh"));
        assert_eq!(code(e, "!!!", &a, false), Err("bad_p256dh"));
        // 65 bytes that are not a point on the curve.
        let mut off = vec![4u8];
        off.extend([1u8; 64]);
        assert_eq!(
            code(e, &URL_SAFE_NO_PAD.encode(off), &a, false),
            Err("bad_p256dh")
        );
        assert_eq!(code(e, &k, "", false), Err("bad_auth"));
        assert_eq!(
            code(e, &k, &URL_SAFE_NO_PAD.encode([1u8; 15]), false),
            Err("bad_auth")
        );
    }
}
