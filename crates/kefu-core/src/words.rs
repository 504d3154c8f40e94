//! Domain words that would otherwise travel as strings: a conversation's
//! priority and a group's assignment strategy. Their JSON and database
//! forms are the same lowercase names as before, so nothing stored or on the
//! wire changes; what changes is that a typo no longer compiles.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

/// How urgent a conversation is: orders a group's line (highest first).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// The line's order (higher goes first); the SQL in kefu-store's
    /// routing (`rank_sql!`) repeats it and a test there checks they agree.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The names, for error messages.
    pub fn names() -> String {
        Self::ALL.map(Priority::as_str).join(", ")
    }
}

impl FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("priority must be one of {}, found {s:?}", Self::names()))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a group hands out conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Fewest open conversations; ties go to the agent idle longest.
    #[default]
    LeastLoaded,
    /// The next eligible member after the last one assigned, in a fixed order.
    RoundRobin,
    /// Offered to every eligible member; the first to claim it wins (抢单).
    Grab,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Self::LeastLoaded, Self::RoundRobin, Self::Grab];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LeastLoaded => "least_loaded",
            Self::RoundRobin => "round_robin",
            Self::Grab => "grab",
        }
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "strategy must be one of {}, found {s:?}",
                    Self::ALL.map(Strategy::as_str).join(", ")
                )
            })
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_text_and_json() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("max".parse::<Priority>().is_err());
        assert!("random".parse::<Strategy>().is_err());
    }

    #[test]
    fn ranks_order_the_line() {
        assert!(Priority::Urgent.rank() > Priority::High.rank());
        assert!(Priority::High.rank() > Priority::Normal.rank());
        assert!(Priority::Normal.rank() > Priority::Low.rank());
        assert_eq!(Priority::default(), Priority::Normal);
    }
}
