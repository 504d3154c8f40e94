//! Rules for text that comes from outside.
//!
//! PostgreSQL cannot store the NUL character in a text column (it refuses
//! the whole statement), while SQLite stores it. No legitimate input needs
//! one, so every edge (JSON bodies, WebSocket frames, paths and query
//! strings) refuses NUL before it reaches a store: both backends answer the
//! same, and never with an internal error.

/// What a client is told when its input carries NUL.
pub const NUL_REFUSED: &str = "text must not contain the NUL character (\\u0000)";

/// Whether a JSON document holds a NUL anywhere in its strings (or keys):
/// the escape `\u0000`, or a raw NUL byte (which no valid JSON carries).
///
/// Scans the raw text rather than the parsed value, so it costs one pass
/// and no allocation. A backslash always starts a two-character escape or
/// a `\u` escape with four hex digits in valid JSON, so skipping the character after each backslash
/// tells `\\u0000` (a backslash, then the text `u0000`) from a real NUL.
pub fn json_has_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            0 => return true,
            b'\\' => {
                if json.get(i + 1..i + 6) == Some(b"u0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Whether percent-encoded text (a URL path or query) decodes to a NUL.
/// Percent-decoding is a single pass, so only `%00` itself (or a raw NUL)
/// becomes one; `%2500` is the text `%00`.
pub fn percent_encoded_has_nul(s: &str) -> bool {
    s.as_bytes().windows(3).any(|w| w == b"%00") || s.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_escaped_and_raw_nul() {
        assert!(json_has_nul(br#"{"a":"x\u0000"}"#));
        assert!(json_has_nul(br#"{"x\u0000":1}"#));
        assert!(json_has_nul(b"{\"a\":\"\0\"}"));
        assert!(!json_has_nul(br#"{"a":"x\\u0000"}"#));
        assert!(json_has_nul(br#"{"a":"x\\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\u0001\u0100"}"#));
        assert!(!json_has_nul(br#"{"a":"\\"}"#));
        assert!(!json_has_nul(b"\\"));
    }

    #[test]
    fn finds_percent_encoded_nul() {
        assert!(percent_encoded_has_nul("/a/b%00.png"));
        assert!(percent_encoded_has_nul("x=%00"));
        assert!(!percent_encoded_has_nul("x=%2500"));
        assert!(!percent_encoded_has_nul("x=%20%0A"));
    }

    proptest! {
        /// Agrees with a real parser on every serialized string.
        #[test]
        fn agrees_with_serde(s in "\\PC*|[\\\\u0\"\\x00-\\x1f]{0,12}") {
            let json = serde_json::to_string(&serde_json::json!({ "k": s })).unwrap();
            prop_assert_eq!(json_has_nul(json.as_bytes()), s.contains('\0'));
        }
    }
}
