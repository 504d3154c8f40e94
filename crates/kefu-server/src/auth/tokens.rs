//! Bearer credentials.
//!
//! - Access tokens (agents): short-lived HS256 JWTs naming the login session,
//!   which is checked on use so that logout revokes at once.
//! - Refresh tokens: opaque random strings; only their SHA-256 is stored, and
//!   each use rotates them.
//! - Visitor tokens: long-lived JWTs bound to one contact in one inbox.
//! - API keys: opaque `kefu_sk_…` strings; only their SHA-256 is stored.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kefu_core::Role;
use kefu_core::{ContactId, UserId, WorkspaceId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const API_KEY_PREFIX: &str = "kefu_sk_";
pub const REFRESH_PREFIX: &str = "kefu_rt_";

/// Claims of an agent's access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub ws: WorkspaceId,
    pub sid: String,
    pub role: Role,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

/// Claims of a visitor token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitorClaims {
    pub sub: ContactId,
    pub ws: WorkspaceId,
    pub inbox: String,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid or expired")]
    Invalid,
}

/// Signs and checks tokens with the server's key.
#[derive(Clone)]
pub struct TokenKeys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(***)")
    }
}

fn now_secs() -> i64 {
    kefu_store::now_ms() / 1000
}

impl TokenKeys {
    pub fn new(secret: &str) -> Self {
        TokenKeys {
            enc: EncodingKey::from_secret(secret.as_bytes()),
            dec: DecodingKey::from_secret(secret.as_bytes()),
        }
    }

    fn sign<T: Serialize>(&self, claims: &T) -> String {
        // HS256 signing of a serializable struct cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.enc).unwrap_or_default()
    }

    fn check<T: for<'de> Deserialize<'de>>(&self, token: &str) -> Result<T, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.validate_aud = false;
        jsonwebtoken::decode::<T>(token, &self.dec, &v)
            .map(|d| d.claims)
            .map_err(|_| TokenError::Invalid)
    }

    pub fn access(
        &self,
        user_id: &UserId,
        ws: &WorkspaceId,
        sid: &str,
        role: Role,
        ttl_secs: u64,
    ) -> (String, i64) {
        let iat = now_secs();
        let exp = iat + ttl_secs as i64;
        let c = AccessClaims {
            sub: user_id.clone(),
            ws: ws.clone(),
            sid: sid.into(),
            role,
            typ: "access".into(),
            iat,
            exp,
        };
        (self.sign(&c), exp)
    }

    pub fn check_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let c: AccessClaims = self.check(token)?;
        if c.typ == "access" {
            Ok(c)
        } else {
            Err(TokenError::Invalid)
        }
    }

    pub fn visitor(
        &self,
        contact_id: &ContactId,
        ws: &WorkspaceId,
        inbox: &str,
        ttl_secs: u64,
    ) -> String {
        let iat = now_secs();
        let c = VisitorClaims {
            sub: contact_id.clone(),
            ws: ws.clone(),
            inbox: inbox.into(),
            typ: "visitor".into(),
            iat,
            exp: iat + ttl_secs as i64,
        };
        self.sign(&c)
    }

    pub fn check_visitor(&self, token: &str) -> Result<VisitorClaims, TokenError> {
        let c: VisitorClaims = self.check(token)?;
        if c.typ == "visitor" {
            Ok(c)
        } else {
            Err(TokenError::Invalid)
        }
    }
}

/// `n` random bytes, URL-safe base64.
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 hex: how refresh tokens and API keys are stored and looked up.
/// (They are 256-bit random values, so a fast hash is enough.)
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn new_refresh_token() -> String {
    format!("{REFRESH_PREFIX}{}", random_token(32))
}

pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_token(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_typed() {
        let k = TokenKeys::new("k");
        let (t, _) = k.access(&"u".into(), &"w".into(), "s", Role::Agent, 60);
        assert_eq!(k.check_access(&t).unwrap().sub, "u");
        assert!(
            k.check_visitor(&t).is_err(),
            "an access token is not a visitor token"
        );
        let v = k.visitor(&"c".into(), &"w".into(), "i", 60);
        assert!(k.check_access(&v).is_err());
        assert_eq!(k.check_visitor(&v).unwrap().inbox, "i");
        assert!(TokenKeys::new("other").check_access(&t).is_err());
        let (expired, _) = k.access(&"u".into(), &"w".into(), "s", Role::Agent, 0);
        let mut c = k.check_access(&expired).unwrap();
        c.exp -= 100;
        assert!(k.check_access(&k.sign(&c)).is_err());
    }
}
