//! The server's identity towards push services (VAPID, RFC 8292): a P-256
//! key pair whose public half browsers bind each subscription to, and the
//! short-lived ES256 JWT every push request carries, signed with it.
//!
//! The JWT is made here with p256's ECDSA rather than by web-push-native's
//! `vapid` feature: that one pulls in jwt-simple and writes `aud` as
//! `scheme://host`, dropping a non-default port, while RFC 8292 wants the
//! endpoint's origin (which has it).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a signed JWT is good for. RFC 8292 allows at most 24 hours;
/// less leaves room for clock skew between us and the push service.
pub const JWT_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The VAPID key pair. Its `Debug` shows the public key only.
#[derive(Clone)]
pub struct VapidKey {
    signing: SigningKey,
    /// base64url (no padding) of the 65-byte uncompressed public point: what
    /// the console hands `pushManager.subscribe` as `applicationServerKey`.
    public: String,
}

/// Why a configured VAPID key cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VapidKeyError {
    #[error("secrets.vapid_private_key is not base64url")]
    NotBase64,
    #[error("secrets.vapid_private_key must be 32 bytes (a P-256 private scalar), not {0}")]
    Length(usize),
    #[error("secrets.vapid_private_key is not a valid P-256 private key")]
    NotAKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    /// A new private key in the stored format (base64url of the scalar).
    pub fn generate() -> String {
        use rand::RngCore;
        loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            // Fails only for 0 or a value >= the group order: about 2^-32.
            if SigningKey::from_slice(&bytes).is_ok() {
                return URL_SAFE_NO_PAD.encode(bytes);
            }
        }
    }

    /// Reads the stored format; padding and surrounding spaces are forgiven.
    pub fn from_base64url(s: &str) -> Result<VapidKey, VapidKeyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim().trim_end_matches('='))
            .map_err(|_| VapidKeyError::NotBase64)?;
        if bytes.len() != 32 {
            return Err(VapidKeyError::Length(bytes.len()));
        }
        let signing = SigningKey::from_slice(&bytes).map_err(|_| VapidKeyError::NotAKey)?;
        let public =
            URL_SAFE_NO_PAD.encode(signing.verifying_key().to_encoded_point(false).as_bytes());
        Ok(VapidKey { signing, public })
    }

    /// The public key, base64url of the uncompressed point (65 bytes).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to a resource of `origin`
    /// (`https://push.example.net`, with the port when it is not the
    /// default): `vapid t=<JWT>, k=<public key>`.
    pub fn authorization(&self, origin: &str, subject: &str) -> String {
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(JWT_LIFETIME)
            .as_secs();
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = URL_SAFE_NO_PAD
            .encode(serde_json::json!({"aud": origin, "exp": exp, "sub": subject}).to_string());
        let signed = format!("{header}.{claims}");
        // ECDSA over SHA-256 with a deterministic nonce (RFC 6979); JWS
        // wants r || s, 32 bytes each, which is this encoding.
        let sig: Signature = self.signing.sign(signed.as_bytes());
        format!(
            "vapid t={signed}.{}, k={}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes()),
            self.public
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{VerifyingKey, signature::Verifier};

    #[test]
    fn generated_keys_load_and_keep_their_public_half() {
        let stored = VapidKey::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(&stored).unwrap().len(), 32);
        let a = VapidKey::from_base64url(&stored).unwrap();
        let b = VapidKey::from_base64url(&format!(" {stored}= ")).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        let public = URL_SAFE_NO_PAD.decode(a.public_key()).unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 4, "uncompressed point");
        assert_ne!(
            VapidKey::from_base64url(&VapidKey::generate())
                .unwrap()
                .public_key(),
            a.public_key()
        );
        // The private half never shows.
        assert!(!format!("{a:?}").contains(&stored));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert_eq!(
            VapidKey::from_base64url("not base64!").unwrap_err(),
            VapidKeyError::NotBase64
        );
        assert_eq!(
            VapidKey::from_base64url(&URL_SAFE_NO_PAD.encode([1u8; 31])).unwrap_err(),
            VapidKeyError::Length(31)
        );
        assert_eq!(
            VapidKey::from_base64url(&URL_SAFE_NO_PAD.encode([0u8; 32])).unwrap_err(),
            VapidKeyError::NotAKey
        );
        assert_eq!(
            VapidKey::from_base64url(&URL_SAFE_NO_PAD.encode([0xffu8; 32])).unwrap_err(),
            VapidKeyError::NotAKey
        );
    }

    #[test]
    fn the_jwt_verifies_with_the_public_key() {
        let key = VapidKey::from_base64url(&VapidKey::generate()).unwrap();
        let h = key.authorization("http://127.0.0.1:8123", "mailto:ops@example.com");
        let (t, k) = h
            .strip_prefix("vapid t=")
            .and_then(|r| r.split_once(", k="))
            .unwrap();
        assert_eq!(k, key.public_key());
        let (signed, sig) = t.rsplit_once('.').unwrap();
        let vk = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        vk.verify(signed.as_bytes(), &sig).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(signed.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["aud"], "http://127.0.0.1:8123");
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > now && exp <= now + 24 * 3600);
    }
}
