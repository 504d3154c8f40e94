//! List cursors, parsed in one place.
//!
//! A cursor is opaque to clients: they pass back the `next_cursor` of the
//! previous page. Anything else (a typo, a truncated URL, an injection
//! probe) is refused while the query string is parsed, with the same answer
//! on every list: 400 `bad_query`. Without this each list fed whatever came
//! into its SQL comparison and answered 200 with an odd page.

use serde::Deserialize;

/// What every refused cursor is told.
const REFUSED: &str = "cursor is not one this API returned; pass the previous page's next_cursor";

/// The cursor of lists in id order (users, inboxes, contacts, events): the
/// last row's id, a UUID in the hyphenated lower-case form kefu writes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct IdCursor(String);

impl IdCursor {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdCursor {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        is_id(&s).then_some(IdCursor(s)).ok_or(REFUSED)
    }
}

/// The cursor of conversation lists: the last row's sort key and id, as
/// `<key>_<id>` (the key is the activity time for the default order).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ActivityCursor(pub kefu_store::ActivityCursor);

impl TryFrom<String> for ActivityCursor {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        match kefu_store::ActivityCursor::decode(&s) {
            Some(c) if is_id(&c.id) => Ok(ActivityCursor(c)),
            _ => Err(REFUSED),
        }
    }
}

/// Whether `s` is an id as kefu writes them (ids sort as text, so another
/// spelling of the same UUID would page from the wrong place).
fn is_id(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_as_kefu_writes_them() {
        let id = kefu_store::new_id();
        assert!(IdCursor::try_from(id.clone()).is_ok());
        for bad in [
            "",
            "abc",
            "%",
            "'\"--",
            &id.to_uppercase(),
            &id.replace('-', ""),
            &format!("{{{id}}}"),
            &format!(" {id}"),
        ] {
            assert!(IdCursor::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn activity_cursors_round_trip() {
        let c = kefu_store::ActivityCursor {
            key: 1_767_225_600_000,
            id: kefu_store::new_id().into(),
        };
        assert_eq!(ActivityCursor::try_from(c.encode()), Ok(ActivityCursor(c)));
        // The waiting order's keys are negative.
        let w = kefu_store::ActivityCursor {
            key: -1_767_225_600_000,
            id: kefu_store::new_id().into(),
        };
        assert_eq!(ActivityCursor::try_from(w.encode()), Ok(ActivityCursor(w)));
        for bad in [
            "zzz",
            "1_abc",
            "-1_x",
            "_",
            "1_",
            "x_0197a3c4-0000-7000-8000-000000000000",
        ] {
            assert!(
                ActivityCursor::try_from(bad.to_string()).is_err(),
                "{bad:?}"
            );
        }
    }
}
