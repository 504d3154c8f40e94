//! `{"entries": [ … ]}` (or a bare array) of [`Entry`] objects.

use super::{FormatError, Imported, ItemError};
use crate::kb::Entry;

pub fn import(text: &str) -> Result<Imported, FormatError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| FormatError::Json(e.to_string()))?;
    let items = match v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(mut o) => match o.remove("entries") {
            Some(serde_json::Value::Array(a)) => a,
            _ => {
                return Err(FormatError::Json(
                    "expected {\"entries\": [...]} or an array".into(),
                ));
            }
        },
        _ => {
            return Err(FormatError::Json(
                "expected {\"entries\": [...]} or an array".into(),
            ));
        }
    };
    let mut out = Imported::default();
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<Entry>(item) {
            Ok(e) => out.push(i + 1, Ok(e)),
            Err(e) => out.errors.push(ItemError {
                item: i + 1,
                message: e.to_string(),
            }),
        }
    }
    Ok(out)
}

pub fn export(entries: &[Entry]) -> String {
    let doc = serde_json::json!({ "entries": entries });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{\"entries\":[]}".into()) + "\n"
}
