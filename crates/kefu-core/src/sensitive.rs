//! The sensitive-word filter's vocabulary shared by every layer: what a word
//! does to a message that contains it. The store keeps it as its lowercase
//! name, the API speaks the same name, and kefu-bot's matcher orders the
//! actions by strength (a word listed twice keeps its strongest action).

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

/// What a sensitive word does to a message that contains it. Ordered from
/// the weakest to the strongest: `flag < mask < block`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveAction {
    /// The message goes through unchanged and is kept for review.
    Flag,
    /// The word is replaced by `*`, one per character.
    Mask,
    /// The message is refused.
    Block,
}

impl SensitiveAction {
    pub const ALL: [SensitiveAction; 3] = [Self::Flag, Self::Mask, Self::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Mask => "mask",
            Self::Block => "block",
        }
    }
}

impl FromStr for SensitiveAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("action must be one of mask, block, flag; found {s:?}"))
    }
}

impl fmt::Display for SensitiveAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_by_strength() {
        for a in SensitiveAction::ALL {
            assert_eq!(a.as_str().parse::<SensitiveAction>(), Ok(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert!("Mask".parse::<SensitiveAction>().is_err());
        assert!(SensitiveAction::Block > SensitiveAction::Mask);
        assert!(SensitiveAction::Mask > SensitiveAction::Flag);
    }
}
