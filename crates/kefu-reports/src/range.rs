//! A report's period, time zone and grouping, parsed from what a caller
//! typed.

use std::str::FromStr;

/// Facts are summed per quarter hour before they are put in local days and
/// hours: every time zone's offset is a multiple of 15 minutes, so a
/// quarter-hour bucket never straddles a local day or hour.
pub const BUCKET_MS: i64 = 15 * 60_000;

/// The longest period one report covers (two years and a day).
pub const MAX_DAYS: i64 = 2 * 366;

/// How the rows of a report are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One row per local day of the period, empty days included.
    Day,
    /// 168 rows, `1-00` (Monday 00:00–01:00) to `7-23` (Sunday 23:00).
    HourOfWeek,
    /// One row per agent (the fact's agent; `""`: none).
    Agent,
    /// One row per group (`""`: none).
    Group,
    /// One row per inbox.
    Inbox,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::HourOfWeek => "hour_of_week",
            GroupBy::Agent => "agent",
            GroupBy::Group => "group",
            GroupBy::Inbox => "inbox",
        }
    }

    /// Whether rows are cut by time (else by a name).
    pub fn by_time(self) -> bool {
        matches!(self, GroupBy::Day | GroupBy::HourOfWeek)
    }
}

impl FromStr for GroupBy {
    type Err = RangeError;
    fn from_str(s: &str) -> Result<GroupBy, RangeError> {
        [
            GroupBy::Day,
            GroupBy::HourOfWeek,
            GroupBy::Agent,
            GroupBy::Group,
            GroupBy::Inbox,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
        .ok_or_else(|| RangeError::GroupBy(s.to_string()))
    }
}

/// Why a period could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeError {
    Zone(String),
    Time(String),
    Order,
    TooLong,
    GroupBy(String),
}

impl std::fmt::Display for RangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RangeError::Zone(z) => write!(f, "unknown time zone {z:?} (e.g. Asia/Shanghai)"),
            RangeError::Time(t) => write!(
                f,
                "{t:?} is neither a date (YYYY-MM-DD) nor epoch milliseconds"
            ),
            RangeError::Order => f.write_str("from must be before to"),
            RangeError::TooLong => write!(f, "a report covers at most {MAX_DAYS} days"),
            RangeError::GroupBy(g) => write!(
                f,
                "unknown group_by {g:?} (expected day, hour_of_week, agent, group or inbox)"
            ),
        }
    }
}

impl std::error::Error for RangeError {}

/// A period `[from, to)` in epoch ms, read in time zone `tz`.
#[derive(Debug, Clone)]
pub struct Range {
    pub from: i64,
    pub to: i64,
    zone: jiff::tz::TimeZone,
}

impl Range {
    /// `from` and `to` are dates in `tz` (`to` included: 2026-11-01 to
    /// 2026-11-30 is all of November) or epoch milliseconds (`to` excluded).
    pub fn parse(from: &str, to: &str, tz: &str) -> Result<Range, RangeError> {
        let zone = jiff::tz::TimeZone::get(tz).map_err(|_| RangeError::Zone(tz.to_string()))?;
        let instant = |s: &str, end: bool| -> Result<i64, RangeError> {
            if let Ok(ms) = s.parse::<i64>() {
                return Ok(ms);
            }
            let bad = || RangeError::Time(s.to_string());
            let date: jiff::civil::Date = s.parse().map_err(|_| bad())?;
            let date = if end {
                date.tomorrow().map_err(|_| bad())?
            } else {
                date
            };
            let z = date.to_zoned(zone.clone()).map_err(|_| bad())?;
            Ok(z.timestamp().as_millisecond())
        };
        let (from, to) = (instant(from, false)?, instant(to, true)?);
        if from >= to {
            return Err(RangeError::Order);
        }
        if to - from > MAX_DAYS * 86_400_000 {
            return Err(RangeError::TooLong);
        }
        Ok(Range { from, to, zone })
    }

    /// The local date (`YYYY-MM-DD`) of an instant.
    pub fn day(&self, ms: i64) -> String {
        self.zoned(ms)
            .map(|z| z.date().to_string())
            .unwrap_or_default()
    }

    /// `D-HH`: ISO weekday (1 = Monday) and local hour of an instant.
    pub fn hour_of_week(&self, ms: i64) -> String {
        self.zoned(ms)
            .map(|z| format!("{}-{:02}", z.weekday().to_monday_one_offset(), z.hour()))
            .unwrap_or_default()
    }

    /// Every local day the period touches, in order.
    pub fn days(&self) -> Vec<String> {
        let (Some(first), Some(last)) = (self.zoned(self.from), self.zoned(self.to - 1)) else {
            return Vec::new();
        };
        let (mut d, last) = (first.date(), last.date());
        let mut out = Vec::new();
        while d <= last {
            out.push(d.to_string());
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        out
    }

    /// Whether the zone's offset is a whole number of hours all through the
    /// period (then hourly sums fall into its local days and hours exactly;
    /// zones such as Asia/Kolkata, +05:30, need quarter hours).
    pub fn whole_hours(&self) -> bool {
        const HOUR: i64 = 3_600_000;
        if self.from % HOUR != 0 || self.to % HOUR != 0 {
            return false;
        }
        let mut t = self.from;
        loop {
            let Some(z) = self.zoned(t) else {
                return false;
            };
            if z.offset().seconds() % 3600 != 0 {
                return false;
            }
            if t >= self.to {
                return true;
            }
            // Offsets change at most a few times a year: a look every day
            // (and at the end) finds every one.
            t = (t + 86_400_000).min(self.to);
        }
    }

    /// The zone's offset in whole hours when it is the same all through a
    /// whole-hour period (no daylight saving change in it): the store can
    /// then sum hours into local days and hours of the week itself.
    pub fn fixed_offset_hours(&self) -> Option<i64> {
        if !self.whole_hours() {
            return None;
        }
        let first = self.zoned(self.from)?.offset().seconds();
        let mut t = self.from;
        while t < self.to {
            if self.zoned(t)?.offset().seconds() != first {
                return None;
            }
            t += 86_400_000;
        }
        (self.zoned(self.to - 1)?.offset().seconds() == first).then_some(i64::from(first / 3600))
    }

    fn zoned(&self, ms: i64) -> Option<jiff::Zoned> {
        jiff::Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned(self.zone.clone()))
    }
}

/// The 168 hour-of-week keys, Monday 00 first.
pub fn hours_of_week() -> Vec<String> {
    (1..=7)
        .flat_map(|d| (0..24).map(move |h| format!("{d}-{h:02}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_local_and_to_is_included() {
        let r = Range::parse("2026-11-01", "2026-11-30", "Asia/Shanghai").unwrap();
        assert_eq!(r.from, 1_793_462_400_000); // 2026-10-31T16:00:00Z
        assert_eq!(r.to - r.from, 30 * 86_400_000);
        assert_eq!(r.days().len(), 30);
        assert_eq!(r.day(r.from), "2026-11-01");
        assert_eq!(r.day(r.from - 1), "2026-10-31");
        // 2026-11-30 is a Monday: 00:00 local is 1-00.
        assert_eq!(r.hour_of_week(r.to - 86_400_000), "1-00");
        assert_eq!(hours_of_week().len(), 168);
        assert!(r.whole_hours());
        assert!(
            !Range::parse("2026-11-01", "2026-11-30", "Asia/Kolkata")
                .unwrap()
                .whole_hours()
        );
        // Lord Howe moves by half an hour in summer (April to October here).
        assert!(
            !Range::parse("2026-01-01", "2026-12-31", "Australia/Lord_Howe")
                .unwrap()
                .whole_hours()
        );
        assert!(
            Range::parse("2026-01-01", "2026-12-31", "America/New_York")
                .unwrap()
                .whole_hours()
        );
        assert!(
            !Range::parse("0", "5400000", "UTC").unwrap().whole_hours(),
            "ends mid-hour"
        );
    }

    #[test]
    fn bad_periods_are_refused_with_a_reason() {
        assert_eq!(
            Range::parse("2026-11-02", "2026-11-01", "UTC").unwrap_err(),
            RangeError::Order
        );
        assert!(matches!(
            Range::parse("yesterday", "2026-11-01", "UTC"),
            Err(RangeError::Time(_))
        ));
        assert!(matches!(
            Range::parse("2026-11-01", "2026-11-02", "Mars/Base"),
            Err(RangeError::Zone(_))
        ));
        assert_eq!(
            Range::parse("2020-01-01", "2026-01-01", "UTC").unwrap_err(),
            RangeError::TooLong
        );
        assert_eq!(Range::parse("0", "1000", "UTC").unwrap().to, 1000);
        assert!("week".parse::<GroupBy>().is_err());
        assert_eq!("hour_of_week".parse::<GroupBy>(), Ok(GroupBy::HourOfWeek));
    }
}
