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
