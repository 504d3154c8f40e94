//! From summed facts to report rows: one row per day, hour of the week,
//! agent, group or inbox, with counts, averages and rates, and the same as
//! CSV.

use crate::{GroupBy, Metric, Range, range};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Facts of one metric summed over one key: what the store's `GROUP BY` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggRow {
    pub metric: String,
    pub key: AggKey,
    pub count: i64,
    /// Sum of the values (ms; ratings for CSAT).
    pub sum: i64,
    /// Sum of the business-time values.
    pub sum_bh: i64,
}

/// What a row was grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AggKey {
    /// Quarter-hour bucket: `at / BUCKET_MS`.
    Bucket(i64),
    /// An agent's, group's or inbox's id (`None`: the fact has none).
    Name(Option<String>),
}

/// One row of a report. Durations are averages in seconds; `None` where
/// nothing was measured (no division by zero dressed up as 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct SummaryRow {
    /// The day (`YYYY-MM-DD`), hour of the week (`D-HH`, 1 = Monday), or
    /// agent / group / inbox id (`""`: none) of the row; `total` for the total.
    pub key: String,
    pub conversations_opened: i64,
    pub conversations_reopened: i64,
    pub conversations_resolved: i64,
    /// Average resolution time of the conversations resolved.
    pub resolution_time_avg_s: Option<f64>,
    pub first_responses: i64,
    pub first_response_avg_s: Option<f64>,
    pub replies: i64,
    pub reply_time_avg_s: Option<f64>,
    /// Waits in a line that ended with an agent.
    pub queue_waits: i64,
    pub queue_wait_avg_s: Option<f64>,
    /// Waits that ended otherwise (resolved, offline, moved to another line).
    pub queue_abandoned: i64,
    pub bot_conversations: i64,
    pub bot_resolved: i64,
    pub handed_off: i64,
    /// handed_off / bot_conversations.
    pub handoff_rate: Option<f64>,
    /// bot_resolved / bot_conversations.
    pub bot_resolution_rate: Option<f64>,
    pub transfers: i64,
    pub csat_ratings: i64,
    pub csat_avg: Option<f64>,
    /// csat_ratings / conversations_resolved (an approximation where some
    /// inboxes do not ask).
    pub csat_response_rate: Option<f64>,
}

#[derive(Default, Clone, Copy)]
struct Sums {
    count: i64,
    sum: i64,
}

fn avg_s(s: Sums) -> Option<f64> {
    (s.count > 0).then(|| s.sum as f64 / s.count as f64 / 1000.0)
}

fn rate(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn row(key: String, m: &BTreeMap<&'static str, Sums>) -> SummaryRow {
    let get = |metric: Metric| m.get(metric.as_str()).copied().unwrap_or_default();
    let bot = get(Metric::BotConversations).count;
    let csat = get(Metric::Csat);
    SummaryRow {
        key,
        conversations_opened: get(Metric::ConversationsOpened).count,
        conversations_reopened: get(Metric::ConversationsReopened).count,
        conversations_resolved: get(Metric::ConversationsResolved).count,
        resolution_time_avg_s: avg_s(get(Metric::ConversationsResolved)),
        first_responses: get(Metric::FirstResponse).count,
        first_response_avg_s: avg_s(get(Metric::FirstResponse)),
        replies: get(Metric::ReplyTime).count,
        reply_time_avg_s: avg_s(get(Metric::ReplyTime)),
        queue_waits: get(Metric::QueueWait).count,
        queue_wait_avg_s: avg_s(get(Metric::QueueWait)),
        queue_abandoned: get(Metric::QueueAbandoned).count,
        bot_conversations: bot,
        bot_resolved: get(Metric::BotResolved).count,
        handed_off: get(Metric::HandedOff).count,
        handoff_rate: rate(get(Metric::HandedOff).count, bot),
        bot_resolution_rate: rate(get(Metric::BotResolved).count, bot),
        transfers: get(Metric::Transfers).count,
        csat_ratings: csat.count,
        csat_avg: (csat.count > 0).then(|| csat.sum as f64 / csat.count as f64),
        csat_response_rate: rate(csat.count, get(Metric::ConversationsResolved).count),
    }
}

/// Report rows (and the total) from the store's sums. `business` picks the
/// business-time values of durations (CSAT ratings are never business time).
pub fn summarize(
    rows: &[AggRow],
    range: &Range,
    by: GroupBy,
    business: bool,
) -> (Vec<SummaryRow>, SummaryRow) {
    let mut keyed: BTreeMap<String, BTreeMap<&'static str, Sums>> = BTreeMap::new();
    let mut total: BTreeMap<&'static str, Sums> = BTreeMap::new();
    if by == GroupBy::Day {
        for d in range.days() {
            keyed.entry(d).or_default();
        }
    } else if by == GroupBy::HourOfWeek {
        for h in range::hours_of_week() {
            keyed.entry(h).or_default();
        }
    }
    // A bucket's local day or hour, worked out once per bucket (a year has
    // some 9,000 hours but ten times as many rows, one per metric).
    let mut local: std::collections::HashMap<i64, String> = Default::default();
    for r in rows {
        let Some(metric) = Metric::parse(&r.metric) else {
            continue;
        };
        let key = match (&r.key, by) {
            (AggKey::Bucket(b), GroupBy::Day | GroupBy::HourOfWeek) => local
                .entry(*b)
                .or_insert_with(|| {
                    let at = b * range::BUCKET_MS;
                    if by == GroupBy::Day {
                        range.day(at)
                    } else {
                        range.hour_of_week(at)
                    }
                })
                .clone(),
            (AggKey::Name(n), _) => n.clone().unwrap_or_default(),
            (AggKey::Bucket(b), _) => b.to_string(),
        };
        let sum = if business && metric != Metric::Csat {
            r.sum_bh
        } else {
            r.sum
        };
        for m in [keyed.entry(key).or_default(), &mut total] {
            let s = m.entry(metric.as_str()).or_default();
            s.count += r.count;
            s.sum += sum;
        }
    }
    let rows = keyed.into_iter().map(|(k, m)| row(k, &m)).collect();
    (rows, row("total".into(), &total))
}

fn csv_field(s: &str) -> String {
    // Quote what would break a cell, and what a spreadsheet would run as a
    // formula (a group named "=HYPERLINK(…)").
    let formula = s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err();
    if formula {
        return format!("\"'{}\"", s.replace('"', "\"\""));
    }
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl SummaryRow {
    /// The columns in order: (name, value as a CSV cell). Durations and
    /// rates with one decimal (rates as shares, 0.0 to 1.0, three).
    fn cells(&self) -> Vec<(&'static str, String)> {
        let n = |v: i64| v.to_string();
        let s = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
        let r = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_default();
        vec![
            ("key", csv_field(&self.key)),
            ("conversations_opened", n(self.conversations_opened)),
            ("conversations_reopened", n(self.conversations_reopened)),
            ("conversations_resolved", n(self.conversations_resolved)),
            ("resolution_time_avg_s", s(self.resolution_time_avg_s)),
            ("first_responses", n(self.first_responses)),
            ("first_response_avg_s", s(self.first_response_avg_s)),
            ("replies", n(self.replies)),
            ("reply_time_avg_s", s(self.reply_time_avg_s)),
            ("queue_waits", n(self.queue_waits)),
            ("queue_wait_avg_s", s(self.queue_wait_avg_s)),
            ("queue_abandoned", n(self.queue_abandoned)),
            ("bot_conversations", n(self.bot_conversations)),
            ("bot_resolved", n(self.bot_resolved)),
            ("handed_off", n(self.handed_off)),
            ("handoff_rate", r(self.handoff_rate)),
            ("bot_resolution_rate", r(self.bot_resolution_rate)),
            ("transfers", n(self.transfers)),
            ("csat_ratings", n(self.csat_ratings)),
            ("csat_avg", r(self.csat_avg)),
            ("csat_response_rate", r(self.csat_response_rate)),
        ]
    }
}

/// The rows, then the total, as CSV with a header (the JSON's field names).
pub fn to_csv(rows: &[SummaryRow], total: &SummaryRow) -> String {
    let mut out = String::new();
    let header: Vec<&str> = total.cells().into_iter().map(|(k, _)| k).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for r in rows.iter().chain(std::iter::once(total)) {
        let cells: Vec<String> = r.cells().into_iter().map(|(_, v)| v).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(metric: Metric, key: AggKey, count: i64, sum: i64, sum_bh: i64) -> AggRow {
        AggRow {
            metric: metric.as_str().into(),
            key,
            count,
            sum,
            sum_bh,
        }
    }

    #[test]
    fn days_are_local_filled_and_totalled() {
        let r = Range::parse("2026-11-29", "2026-11-30", "Asia/Shanghai").unwrap();
        // 2026-11-29T16:00Z is 2026-11-30 00:00 in Shanghai.
        let b =
            |iso: &str| iso.parse::<jiff::Timestamp>().unwrap().as_millisecond() / range::BUCKET_MS;
        let rows = vec![
            agg(
                Metric::FirstResponse,
                AggKey::Bucket(b("2026-11-29T15:45:00Z")),
                2,
                60_000,
                30_000,
            ),
            agg(
                Metric::FirstResponse,
                AggKey::Bucket(b("2026-11-29T16:00:00Z")),
                1,
                30_000,
                0,
            ),
            agg(
                Metric::BotConversations,
                AggKey::Bucket(b("2026-11-29T16:00:00Z")),
                4,
                0,
                0,
            ),
            agg(
                Metric::HandedOff,
                AggKey::Bucket(b("2026-11-29T16:00:00Z")),
                1,
                0,
                0,
            ),
            AggRow {
                metric: "from_a_newer_version".into(),
                key: AggKey::Bucket(0),
                count: 9,
                sum: 9,
                sum_bh: 9,
            },
        ];
        let (days, total) = summarize(&rows, &r, GroupBy::Day, false);
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].key, "2026-11-29");
        assert_eq!(
            (days[0].first_responses, days[0].first_response_avg_s),
            (2, Some(30.0))
        );
        assert_eq!(
            (days[1].first_responses, days[1].first_response_avg_s),
            (1, Some(30.0))
        );
        assert_eq!(days[1].handoff_rate, Some(0.25));
        assert_eq!(days[0].handoff_rate, None);
        assert_eq!(total.first_responses, 3);
        assert_eq!(total.first_response_avg_s, Some(30.0));
        let (_, bh) = summarize(&rows, &r, GroupBy::Day, true);
        assert_eq!(bh.first_response_avg_s, Some(10.0));
        let (hours, _) = summarize(&rows, &r, GroupBy::HourOfWeek, false);
        assert_eq!(hours.len(), 168);
        // Sunday 23:45 and Monday 00:00 local.
        assert_eq!(
            hours
                .iter()
                .find(|h| h.key == "7-23")
                .unwrap()
                .first_responses,
            2
        );
        assert_eq!(
            hours
                .iter()
                .find(|h| h.key == "1-00")
                .unwrap()
                .first_responses,
            1
        );
    }

    #[test]
    fn csv_has_a_header_every_row_and_safe_cells() {
        let r = Range::parse("0", "1000", "UTC").unwrap();
        let rows = vec![
            agg(
                Metric::ConversationsResolved,
                AggKey::Name(Some("=cmd,1".into())),
                2,
                3000,
                0,
            ),
            agg(
                Metric::ConversationsResolved,
                AggKey::Name(None),
                1,
                1000,
                0,
            ),
        ];
        let (rows, total) = summarize(&rows, &r, GroupBy::Agent, false);
        let csv = to_csv(&rows, &total);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("key,conversations_opened,"));
        assert!(lines[1].starts_with(",0,0,1,1.0,"), "{}", lines[1]);
        assert!(
            lines[2].starts_with("\"'=cmd,1\",0,0,2,1.5,"),
            "{}",
            lines[2]
        );
        assert!(lines[3].starts_with("total,0,0,3,1.3,"), "{}", lines[3]);
    }
}
