//! Signed incoming requests, per the Standard Webhooks spec
//! (standardwebhooks.com), for senders that sign rather than hold an API
//! key: `webhook-id` (unique per message), `webhook-timestamp` (unix
//! seconds) and `webhook-signature`, a space-separated list of
//! `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`. Secrets are
//! `whsec_<base64 of 32 random bytes>` and the HMAC key is the decoded
//! bytes, so any Standard Webhooks library can sign for kefu.
//!
//! Pure: the caller supplies the secrets and the clock.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// Longest `webhook-id` accepted.
pub const MAX_ID_LEN: usize = 256;
/// Most signatures one header may carry (a sender rotating has two).
const MAX_SIGNATURES: usize = 8;

/// A new random secret, `whsec_…`.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The HMAC key of a `whsec_…` secret (the bytes its base64 encodes).
fn key_bytes(secret: &str) -> Vec<u8> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD
        .decode(b64)
        .unwrap_or_else(|_| secret.as_bytes().to_vec())
}

fn mac(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key_bytes(secret))
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `v1,<base64>` signature of `body` sent as message `id` at `timestamp`
/// (what a sender puts in `webhook-signature`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, id, &timestamp.to_string(), body).finalize();
    format!("v1,{}", STANDARD.encode(tag.into_bytes()))
}

/// The three headers of a signed request, as received.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

/// Why a signed request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// A header is malformed, or no signature matches any secret.
    #[error("the signature does not verify")]
    BadSignature,
    /// The timestamp is further from now than the tolerance (a replay, or a
    /// badly wrong clock).
    #[error("webhook-timestamp is outside the tolerance")]
    Stale,
}

/// Checks a signed request against the secrets that verify now: the
/// timestamp within `tolerance_secs` of `now_secs`, and one `v1` signature
/// matching one secret (compared in constant time).
pub fn verify(
    secrets: &[&str],
    h: Signed<'_>,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), Refused> {
    if h.id.is_empty()
        || h.id.len() > MAX_ID_LEN
        || h.id.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Refused::BadSignature);
    }
    let ts: i64 = h
        .timestamp
        .trim()
        .parse()
        .map_err(|_| Refused::BadSignature)?;
    if (now_secs - ts).abs() > tolerance_secs {
        return Err(Refused::Stale);
    }
    let candidates: Vec<Vec<u8>> = h
        .signature
        .split_whitespace()
        .take(MAX_SIGNATURES)
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    for secret in secrets {
        for sig in &candidates {
            if mac(secret, h.id, h.timestamp.trim(), body)
                .verify_slice(sig)
                .is_ok()
            {
                return Ok(());
            }
        }
    }
    Err(Refused::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn headers(sig: &str) -> Signed<'_> {
        Signed {
            id: ID,
            timestamp: "1614265330",
            signature: sig,
        }
    }

    /// The example of the Standard Webhooks reference libraries.
    #[test]
    fn matches_the_spec_example() {
        let sig = sign(SECRET, ID, TS, BODY);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(verify(&[SECRET], headers(&sig), BODY, TS, 300), Ok(()));
    }

    #[test]
    fn any_listed_signature_and_any_secret_verify() {
        let other = new_secret();
        assert!(other.starts_with(SECRET_PREFIX) && other.len() == 6 + 44);
        let sig = sign(SECRET, ID, TS, BODY);
        let both = format!("v1,bm9wZQ== {sig}");
        assert_eq!(
            verify(&[&other, SECRET], headers(&both), BODY, TS, 300),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let sig = sign(SECRET, ID, TS, BODY);
        let bad = |h: Signed<'_>, body: &[u8], now: i64| verify(&[SECRET], h, body, now, 300);
        // Another body, another secret, another id.
        assert_eq!(bad(headers(&sig), b"{}", TS), Err(Refused::BadSignature));
        assert_eq!(
            verify(&[&new_secret()], headers(&sig), BODY, TS, 300),
            Err(Refused::BadSignature)
        );
        let other_id = Signed {
            id: "msg_other",
            ..headers(&sig)
        };
        assert_eq!(bad(other_id, BODY, TS), Err(Refused::BadSignature));
        // Too old or too far ahead: stale, whatever the signature.
        assert_eq!(bad(headers(&sig), BODY, TS + 301), Err(Refused::Stale));
        assert_eq!(bad(headers(&sig), BODY, TS - 301), Err(Refused::Stale));
        assert_eq!(bad(headers(&sig), BODY, TS + 300), Ok(()));
        // Malformed headers.
        for s in ["", "v1", "v1,", "v2,abc", sig.trim_start_matches("v1,")] {
            assert_eq!(
                bad(headers(s), BODY, TS),
                Err(Refused::BadSignature),
                "{s:?}"
            );
        }
        let no_ts = Signed {
            timestamp: "yesterday",
            ..headers(&sig)
        };
        assert_eq!(bad(no_ts, BODY, TS), Err(Refused::BadSignature));
        let empty_id = Signed {
            id: "",
            ..headers(&sig)
        };
        assert_eq!(bad(empty_id, BODY, TS), Err(Refused::BadSignature));
    }
}
