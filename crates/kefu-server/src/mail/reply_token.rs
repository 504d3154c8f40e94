//! The token that ties an e-mail to its conversation: the conversation id
//! and a truncated HMAC of it, in the Reply-To address
//! (`reply+<token>@<domain>`) and in the Message-ID (`<kefu.<token>.<n>@…>`)
//! that replies quote in `In-Reply-To`/`References`. Only kefu can make a
//! token, so an inbound mail cannot aim at a conversation by guessing ids.
//!
//! Lowercase hex, 56 characters: with `reply+` it fits the 64-character
//! limit of an address's local part and survives relays that fold case.
//! Pure: the caller passes the key.

use hmac::{Hmac, KeyInit, Mac};
use kefu_core::ConversationId;
use sha2::Sha256;

const MAC_BYTES: usize = 12;
const ID_HEX: usize = 32;
pub const TOKEN_LEN: usize = ID_HEX + 2 * MAC_BYTES;

fn mac(key: &[u8], id_hex: &str) -> [u8; MAC_BYTES] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    m.update(b"kefu-mail-reply:");
    m.update(id_hex.as_bytes());
    let full = m.finalize().into_bytes();
    let mut out = [0u8; MAC_BYTES];
    out.copy_from_slice(&full[..MAC_BYTES]);
    out
}

/// The token of a conversation, or `None` for an id that is not a UUID.
pub fn make(key: &[u8], conversation: &ConversationId) -> Option<String> {
    let id_hex: String = conversation
        .as_str()
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if id_hex.len() != ID_HEX || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("{id_hex}{}", hex::encode(mac(key, &id_hex))))
}

/// The conversation a token names, if kefu made it.
pub fn verify(key: &[u8], token: &str) -> Option<ConversationId> {
    let token = token.to_ascii_lowercase();
    if token.len() != TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (id_hex, tag) = token.split_at(ID_HEX);
    let want = hex::encode(mac(key, id_hex));
    // Constant time: a byte-by-byte early exit would leak the tag.
    let same = want
        .bytes()
        .zip(tag.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if !same {
        return None;
    }
    let h = id_hex;
    Some(ConversationId::from(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

/// Every conversation named by a valid token after `reply+` or `kefu.` in
/// `text` (addresses, `In-Reply-To`, `References`), first found first.
pub fn find(key: &[u8], text: &str) -> Vec<ConversationId> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for marker in ["reply+", "kefu."] {
        let mut rest = lower.as_str();
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            if let Some(candidate) = rest.get(..TOKEN_LEN)
                && let Some(id) = verify(key, candidate)
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test key";

    fn conv() -> ConversationId {
        ConversationId::from("0192f0c4-7a3b-7cde-8f01-23456789abcd".to_string())
    }

    #[test]
    fn a_token_names_its_conversation_and_fits_an_address() {
        let t = make(KEY, &conv()).unwrap();
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(format!("reply+{t}").len() <= 64);
        assert_eq!(verify(KEY, &t), Some(conv()));
        assert_eq!(verify(KEY, &t.to_uppercase()), Some(conv()));
    }

    #[test]
    fn forged_or_foreign_tokens_are_refused() {
        let t = make(KEY, &conv()).unwrap();
        assert_eq!(verify(b"other key", &t), None);
        let mut forged = t.clone();
        forged.replace_range(0..1, if t.starts_with('0') { "1" } else { "0" });
        assert_eq!(verify(KEY, &forged), None);
        assert_eq!(verify(KEY, &t[..TOKEN_LEN - 1]), None);
        assert_eq!(verify(KEY, "zz"), None);
        assert_eq!(
            make(KEY, &ConversationId::from("not-a-uuid".to_string())),
            None
        );
    }

    #[test]
    fn tokens_are_found_in_addresses_and_message_ids() {
        let t = make(KEY, &conv()).unwrap();
        let to = format!("Support <REPLY+{}@mail.example.com>", t.to_uppercase());
        assert_eq!(find(KEY, &to), vec![conv()]);
        let refs = format!("<abc@x> <kefu.{t}.17@example.com>");
        assert_eq!(find(KEY, &refs), vec![conv()]);
        assert!(find(KEY, "reply+0123@example.com").is_empty());
    }
}
