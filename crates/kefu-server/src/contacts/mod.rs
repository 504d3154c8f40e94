//! Commands about contacts that come from outside a conversation: an agent
//! editing a contact; a company's own systems recording business events
//! ("order 6610 refunded") on a customer. Like the conversation commands (`conversations/`), one per
//! file; each validates, makes its store write (which stores the change's
//! events in the same transaction) and hands the events to
//! [`crate::conversations::after_commit`].

mod edit;
mod record_event;

pub use edit::edit_contact;
pub use record_event::{EVENT_LINES_SENDER, EventSource, IncomingEvent, Recorded, record_event};

use crate::config::Limits;
use serde_json::{Map, Value};

/// Longest attribute name.
const MAX_ATTRIBUTE_NAME: usize = 64;

/// Checks attributes to merge into a contact whose attributes are `current`
/// (a `null` value removes a key): names 1 to 64 characters, values text (at
/// most `max_attribute_chars`), numbers, booleans or null, and at most
/// `max_contact_attributes` once merged. `Err` says what is wrong.
pub fn check_attributes(
    l: &Limits,
    current: &Value,
    new: &Map<String, Value>,
) -> Result<(), String> {
    let max_chars = l.max_attribute_chars;
    for (k, v) in new {
        if k.is_empty() || k.chars().count() > MAX_ATTRIBUTE_NAME || k.chars().any(char::is_control)
        {
            return Err(format!(
                "attribute names must be 1 to {MAX_ATTRIBUTE_NAME} characters, without control characters"
            ));
        }
        let ok = match v {
            Value::String(s) => s.chars().count() <= max_chars,
            Value::Number(_) | Value::Bool(_) | Value::Null => true,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "attribute {k:?} must be a string of at most {max_chars} characters, a number, a boolean or null"
            ));
        }
    }
    let after = match current {
        Value::Object(m) => {
            let mut keys: std::collections::HashSet<&String> = m.keys().collect();
            for (k, v) in new {
                if v.is_null() {
                    keys.remove(k);
                } else {
                    keys.insert(k);
                }
            }
            keys.len()
        }
        _ => new.len(),
    };
    if after > l.max_contact_attributes {
        return Err(format!(
            "a contact may have at most {} attributes",
            l.max_contact_attributes
        ));
    }
    Ok(())
}
