//! Local time in a workspace's IANA time zone (DST included) and business
//! hours. Pure: the caller passes the instant.

use crate::check::parse_hhmm;
use crate::eval::LocalTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    #[error("time out of range")]
    OutOfRange,
}

fn zoned(epoch_ms: i64, tz: &str) -> Result<jiff::Zoned, ClockError> {
    let zone = jiff::tz::TimeZone::get(tz).map_err(|_| ClockError::UnknownZone(tz.to_string()))?;
    let ts = jiff::Timestamp::from_millisecond(epoch_ms).map_err(|_| ClockError::OutOfRange)?;
    Ok(ts.to_zoned(zone))
}

/// The wall-clock time at `epoch_ms` in `tz`; `holidays` are `YYYY-MM-DD` dates.
pub fn local_time(epoch_ms: i64, tz: &str, holidays: &[String]) -> Result<LocalTime, ClockError> {
    let z = zoned(epoch_ms, tz)?;
    let date = z.date().to_string();
    Ok(LocalTime {
        hour: u32::try_from(z.hour()).unwrap_or(0),
        minute: u32::try_from(z.minute()).unwrap_or(0),
        weekday: u32::try_from(z.weekday().to_sunday_zero_offset()).unwrap_or(0),
        holiday: holidays.contains(&date),
        date,
    })
}

/// Weekly opening hours in a time zone, with holidays (closed all day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// IANA name, e.g. `Asia/Shanghai`.
    pub timezone: String,
    pub periods: Vec<Period>,
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// `day` 0 = Sunday … 6 = Saturday; `open`/`close` `HH:MM` local; a period
/// with `close` ≤ `open` runs past midnight into the next day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub day: u32,
    pub open: String,
    pub close: String,
}

impl BusinessHours {
    pub fn is_open(&self, epoch_ms: i64) -> Result<bool, ClockError> {
        let now = local_time(epoch_ms, &self.timezone, &self.holidays)?;
        let minute = now.hour * 60 + now.minute;
        let yesterday = (now.weekday + 6) % 7;
        // A holiday closes the day itself; yesterday's overnight period may still run into it.
        let prev_holiday = {
            let prev = local_time(epoch_ms - 86_400_000, &self.timezone, &self.holidays)?;
            prev.holiday
        };
        Ok(self.periods.iter().any(|p| {
            let (Some(open), Some(close)) = (parse_hhmm(&p.open), parse_hhmm(&p.close)) else {
                return false;
            };
            if open < close {
                !now.holiday && p.day == now.weekday && (open..close).contains(&minute)
            } else {
                (!now.holiday && p.day == now.weekday && minute >= open)
                    || (!prev_holiday && p.day == yesterday && minute < close)
            }
        }))
    }
}

/// Longest span [`BusinessHours::open_ms_between`] walks day by day; a
/// longer span (a conversation left open for years) counts only its last
/// part, so one odd row cannot make a report slow.
const MAX_SPAN_DAYS: i64 = 3 * 366;

impl BusinessHours {
    /// Milliseconds of `[from_ms, to_ms)` that fall in opening hours: what a
    /// report counts as "business time" between two instants (the same
    /// rules as [`BusinessHours::is_open`]: a holiday closes its own day,
    /// an overnight period that started the day before still runs into it).
    /// 0 when `to_ms <= from_ms`.
    pub fn open_ms_between(&self, from_ms: i64, to_ms: i64) -> Result<i64, ClockError> {
        if to_ms <= from_ms {
            return Ok(0);
        }
        let from_ms = from_ms.max(to_ms - MAX_SPAN_DAYS * 86_400_000);
        let zone = jiff::tz::TimeZone::get(&self.timezone)
            .map_err(|_| ClockError::UnknownZone(self.timezone.clone()))?;
        let day_of = |ms: i64| -> Result<jiff::civil::Date, ClockError> {
            let ts = jiff::Timestamp::from_millisecond(ms).map_err(|_| ClockError::OutOfRange)?;
            Ok(ts.to_zoned(zone.clone()).date())
        };
        // Local midnight of `date` plus `minutes`, as epoch ms (a time that
        // falls in a DST gap resolves like the zone's clocks do).
        let at = |date: jiff::civil::Date, minutes: u32| -> Result<i64, ClockError> {
            let base = date
                .to_zoned(zone.clone())
                .map_err(|_| ClockError::OutOfRange)?;
            let t = base
                .checked_add(jiff::Span::new().minutes(i64::from(minutes)))
                .map_err(|_| ClockError::OutOfRange)?;
            Ok(t.timestamp().as_millisecond())
        };
        let periods: Vec<(u32, u32, u32)> = self
            .periods
            .iter()
            .filter_map(|p| Some((p.day, parse_hhmm(&p.open)?, parse_hhmm(&p.close)?)))
            .collect();
        // Start a day early: yesterday's overnight period may run into `from`.
        let mut day = day_of(from_ms)?
            .yesterday()
            .map_err(|_| ClockError::OutOfRange)?;
        let last = day_of(to_ms)?;
        let mut spans: Vec<(i64, i64)> = Vec::new();
        while day <= last {
            let weekday = u32::try_from(day.weekday().to_sunday_zero_offset()).unwrap_or(0);
            if !self.holidays.contains(&day.to_string()) {
                for &(d, open, close) in &periods {
                    if d != weekday {
                        continue;
                    }
                    // An overnight period (close <= open) ends on the next day.
                    let end = if close > open { close } else { close + 24 * 60 };
                    spans.push((at(day, open)?, at(day, end)?));
                }
            }
            day = day.tomorrow().map_err(|_| ClockError::OutOfRange)?;
        }
        spans.sort_unstable();
        let mut total = 0;
        let mut covered_to = from_ms;
        for (s, e) in spans {
            let (s, e) = (s.max(covered_to), e.min(to_ms));
            if e > s {
                total += e - s;
                covered_to = e;
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn hours(periods: &[(u32, &str, &str)], holidays: &[&str]) -> BusinessHours {
        BusinessHours {
            timezone: "Asia/Shanghai".into(),
            periods: periods
                .iter()
                .map(|&(day, open, close)| Period {
                    day,
                    open: open.into(),
                    close: close.into(),
                })
                .collect(),
            holidays: holidays.iter().map(|h| h.to_string()).collect(),
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn counts_only_the_open_part_of_a_span() {
        // Monday 2026-11-30, 09:00-18:00 Shanghai (UTC+8).
        let bh = hours(&[(1, "09:00", "18:00")], &[]);
        // 08:00 to 10:30 local: 1.5 h open.
        let n = bh
            .open_ms_between(ms("2026-11-30T00:00:00Z"), ms("2026-11-30T02:30:00Z"))
            .unwrap();
        assert_eq!(n, 3 * H / 2);
        // Across the whole week: the one period.
        let n = bh
            .open_ms_between(ms("2026-11-29T00:00:00Z"), ms("2026-12-06T00:00:00Z"))
            .unwrap();
        assert_eq!(n, 9 * H);
        assert_eq!(bh.open_ms_between(10, 5).unwrap(), 0);
    }

    #[test]
    fn an_overnight_period_runs_past_midnight_and_a_holiday_closes_its_day() {
        // Monday 22:00 to Tuesday 02:00, and Tuesday 09:00-18:00.
        let bh = hours(&[(1, "22:00", "02:00"), (2, "09:00", "18:00")], &[]);
        // Monday 21:00 local (13:00Z) to Tuesday 10:00 local (02:00Z): 4 h + 1 h.
        let (from, to) = (ms("2026-11-30T13:00:00Z"), ms("2026-12-01T02:00:00Z"));
        assert_eq!(bh.open_ms_between(from, to).unwrap(), 5 * H);
        // Tuesday a holiday: Monday's night still runs into it, Tuesday's day does not.
        let bh = hours(
            &[(1, "22:00", "02:00"), (2, "09:00", "18:00")],
            &["2026-12-01"],
        );
        assert_eq!(bh.open_ms_between(from, to).unwrap(), 4 * H);
        // Monday a holiday: its night is closed.
        let bh = hours(
            &[(1, "22:00", "02:00"), (2, "09:00", "18:00")],
            &["2026-11-30"],
        );
        assert_eq!(bh.open_ms_between(from, to).unwrap(), H);
    }

    #[test]
    fn agrees_with_is_open_minute_by_minute() {
        let bh = hours(
            &[
                (1, "22:00", "02:00"),
                (2, "00:00", "03:00"),
                (3, "09:30", "24:00"),
            ],
            &["2026-12-02"],
        );
        let start = ms("2026-11-30T00:00:00Z");
        let mut open_minutes = 0;
        for m in 0..(4 * 24 * 60) {
            if bh.is_open(start + m * 60_000).unwrap() {
                open_minutes += 1;
            }
        }
        let n = bh
            .open_ms_between(start, start + 4 * 24 * 60 * 60_000)
            .unwrap();
        assert_eq!(n, open_minutes * 60_000);
    }
}
