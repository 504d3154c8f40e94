//! Reports' tables: each conversation's report state (what the `reports`
//! consumer remembers between events) and the facts it appends, summed per
//! period at query time. The definitions are kefu-reports'; here they are
//! rows.

use crate::{Result, Store, StoreError};
use kefu_core::{ConversationId, WorkspaceId};
use kefu_reports::{ConvState, Fact, summary::AggKey, summary::AggRow};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// A conversation's report state and the outbox position it includes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportState {
    /// 0 for a conversation never seen.
    pub position: i64,
    pub state: ConvState,
}

/// What the consumer made of one conversation's events in a batch.
#[derive(Debug, Clone)]
pub struct ReportUpdate {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    /// The position the state was read at (0: new).
    pub read_at: i64,
    /// The position of the last event folded in.
    pub position: i64,
    pub state: ConvState,
    pub facts: Vec<Fact>,
}

/// Which facts a report sums, besides its workspace and period.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub agent_id: Option<String>,
    pub group: Option<String>,
    pub inbox_id: Option<String>,
}

impl ReportFilter {
    fn is_empty(&self) -> bool {
        self.agent_id.is_none() && self.group.is_none() && self.inbox_id.is_none()
    }

    /// Appends the filter's conditions (after the three binds every report
    /// query has: workspace, from, to); returns the values to bind in order.
    fn push_sql(&self, sql: &mut String) -> Vec<&str> {
        let mut binds = Vec::new();
        for (col, v) in [
            ("agent_id", &self.agent_id),
            ("group_name", &self.group),
            ("inbox_id", &self.inbox_id),
        ] {
            if let Some(v) = v {
                binds.push(v.as_str());
                sql.push_str(&format!(" AND {col} = ${}", 3 + binds.len()));
            }
        }
        binds
    }
}

/// How a report's facts are keyed in the sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKey {
    /// Quarter-hour buckets (`at / bucket_ms`).
    Bucket(i64),
    /// Hours, from the hourly sums (no filter; `from` and `to` whole
    /// hours): keyed as quarter-hour buckets (`hour * 4`) like `Bucket`.
    Hourly,
    /// Local days from the hourly sums, in a zone `offset` hours east of
    /// UTC all through the period: keyed by the bucket of each local midnight.
    LocalDays {
        offset: i64,
    },
    /// Local hours of the week, likewise: keyed by the bucket of that hour
    /// in one week.
    LocalWeekHours {
        offset: i64,
    },
    Agent,
    Group,
    Inbox,
}

/// Facts per multi-row INSERT (9 binds each, well under SQLite's limit).
const FACTS_PER_INSERT: usize = 200;

const HOUR_MS: i64 = 3_600_000;

/// Adds a batch's facts to the hourly sums (one upsert per workspace, hour and metric).
async fn add_hourly(c: &mut AnyConnection, updates: &[ReportUpdate]) -> Result<()> {
    let mut sums: std::collections::BTreeMap<(&str, i64, &str), (i64, i64, i64)> =
        Default::default();
    for u in updates {
        for f in &u.facts {
            let e = sums
                .entry((
                    u.workspace_id.as_str(),
                    f.at.div_euclid(HOUR_MS),
                    f.metric.as_str(),
                ))
                .or_default();
            e.0 += 1;
            e.1 += f.value.unwrap_or(0);
            e.2 += f.value_bh.unwrap_or(0);
        }
    }
    add_daily_keyed(c, updates).await?;
    for ((ws, hour, metric), (n, sum, sum_bh)) in sums {
        sqlx::query(
            "INSERT INTO report_hourly (workspace_id, hour, metric, n, sum, sum_bh) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (workspace_id, hour, metric) DO UPDATE SET
               n = report_hourly.n + excluded.n, sum = report_hourly.sum + excluded.sum, sum_bh = report_hourly.sum_bh + excluded.sum_bh",
        )
        .bind(ws)
        .bind(hour)
        .bind(metric)
        .bind(n)
        .bind(sum)
        .bind(sum_bh)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

const DAY_MS: i64 = 24 * HOUR_MS;

/// A stored report state; one that does not parse (written by another
/// release, or damaged) starts over empty, logged, rather than stopping the
/// consumer for every conversation: its events already counted stay counted
/// (the position is kept), and its later figures lack what the state knew.
fn parse_state(ws: &WorkspaceId, conv: &str, json: &str) -> ConvState {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::error!(workspace_id = %ws, conversation_id = conv, error = %e, "a report state does not parse; counting its conversation on from an empty state");
        ConvState::default()
    })
}

/// The three ways reports are keyed by who or where, as `report_daily_keyed.dim`.
const DIMS: [&str; 3] = ["agent", "group", "inbox"];

/// A fact's key in dimension `dim` ('' for none).
fn fact_key<'a>(f: &'a Fact, dim: &str) -> &'a str {
    match dim {
        "agent" => f.agent.as_deref().unwrap_or(""),
        "group" => f.group.as_deref().unwrap_or(""),
        _ => &f.inbox,
    }
}

/// Adds a batch's facts to the daily sums per agent, group and inbox.
async fn add_daily_keyed(c: &mut AnyConnection, updates: &[ReportUpdate]) -> Result<()> {
    type Key<'a> = (&'a str, &'a str, i64, &'a str, &'a str);
    let mut sums: std::collections::BTreeMap<Key, (i64, i64, i64)> = Default::default();
    for u in updates {
        for f in &u.facts {
            for dim in DIMS {
                let e = sums
                    .entry((
                        u.workspace_id.as_str(),
                        dim,
                        f.at.div_euclid(DAY_MS),
                        fact_key(f, dim),
                        f.metric.as_str(),
                    ))
                    .or_default();
                e.0 += 1;
                e.1 += f.value.unwrap_or(0);
                e.2 += f.value_bh.unwrap_or(0);
            }
        }
    }
    for ((ws, dim, day, k, metric), (n, sum, sum_bh)) in sums {
        sqlx::query(
            "INSERT INTO report_daily_keyed (workspace_id, dim, day, k, metric, n, sum, sum_bh) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (workspace_id, dim, day, k, metric) DO UPDATE SET
               n = report_daily_keyed.n + excluded.n, sum = report_daily_keyed.sum + excluded.sum,
               sum_bh = report_daily_keyed.sum_bh + excluded.sum_bh",
        )
        .bind(ws)
        .bind(dim)
        .bind(day)
        .bind(k)
        .bind(metric)
        .bind(n)
        .bind(sum)
        .bind(sum_bh)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

async fn insert_facts(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    conv: &ConversationId,
    facts: &[Fact],
) -> Result<()> {
    for chunk in facts.chunks(FACTS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO report_facts (workspace_id, conversation_id, metric, at, value, value_bh, agent_id, group_name, inbox_id) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 9;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for f in chunk {
            q = q
                .bind(ws.as_str())
                .bind(conv.as_str())
                .bind(f.metric.as_str())
                .bind(f.at)
                .bind(f.value)
                .bind(f.value_bh)
                .bind(f.agent.clone())
                .bind(f.group.clone())
                .bind(f.inbox.clone());
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

async fn save(c: &mut AnyConnection, u: &ReportUpdate) -> Result<()> {
    let state = serde_json::to_string(&u.state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let done = if u.read_at == 0 {
        sqlx::query(
            "INSERT INTO report_states (workspace_id, conversation_id, position, state)
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, conversation_id) DO NOTHING",
        )
        .bind(u.workspace_id.as_str())
        .bind(u.conversation_id.as_str())
        .bind(u.position)
        .bind(&state)
        .execute(&mut *c)
        .await?
    } else {
        sqlx::query(
            "UPDATE report_states SET position = $3, state = $4
             WHERE workspace_id = $1 AND conversation_id = $2 AND position = $5",
        )
        .bind(u.workspace_id.as_str())
        .bind(u.conversation_id.as_str())
        .bind(u.position)
        .bind(&state)
        .bind(u.read_at)
        .execute(&mut *c)
        .await?
    };
    if done.rows_affected() != 1 {
        // Another consumer (another node) counted these events meanwhile:
        // refuse, and the caller folds again from the newer state.
        return Err(StoreError::Conflict(format!(
            "report state of conversation {} moved on",
            u.conversation_id
        )));
    }
    insert_facts(c, &u.workspace_id, &u.conversation_id, &u.facts).await
}

impl Store {
    /// The report states of these conversations (absent: never seen).
    pub async fn report_states(
        &self,
        keys: &[(WorkspaceId, ConversationId)],
    ) -> Result<HashMap<(WorkspaceId, ConversationId), ReportState>> {
        // Per workspace, so each read is a range of the primary key.
        let mut by_ws: HashMap<&WorkspaceId, Vec<&ConversationId>> = HashMap::new();
        for (ws, c) in keys {
            by_ws.entry(ws).or_default().push(c);
        }
        let mut out = HashMap::new();
        for (ws, convs) in by_ws {
            for chunk in convs.chunks(200) {
                let mut sql = String::from(
                    "SELECT conversation_id, position, state FROM report_states WHERE workspace_id = $1 AND conversation_id IN (",
                );
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", i + 2));
                }
                sql.push(')');
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ws.as_str());
                for c in chunk {
                    q = q.bind(c.as_str());
                }
                for r in q.fetch_all(self.reader()).await? {
                    let conv: String = r.try_get("conversation_id")?;
                    let json: String = r.try_get("state")?;
                    let state = parse_state(ws, &conv, &json);
                    out.insert(
                        (ws.clone(), ConversationId::new(conv)),
                        ReportState {
                            position: r.try_get("position")?,
                            state,
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    /// Saves a batch's states and facts in one transaction; fails with
    /// `Conflict` (saving nothing) if any state moved on since it was read.
    pub async fn save_report_updates(&self, updates: Vec<ReportUpdate>) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.write(move |c| {
            Box::pin(async move {
                for u in &updates {
                    save(c, u).await?;
                }
                add_hourly(c, &updates).await
            })
        })
        .await
    }

    /// Facts of `[from, to)` summed per metric and key.
    pub async fn report_sums(
        &self,
        ws: &WorkspaceId,
        from: i64,
        to: i64,
        key: ReportKey,
        filter: &ReportFilter,
    ) -> Result<Vec<AggRow>> {
        let key_sql = match key {
            ReportKey::Hourly => return self.report_hourly(ws, from, to, None).await,
            ReportKey::LocalDays { offset } => {
                return self.report_hourly(ws, from, to, Some((offset, 24))).await;
            }
            ReportKey::LocalWeekHours { offset } => {
                return self.report_hourly(ws, from, to, Some((offset, 168))).await;
            }
            // A constant bucket size from the caller, not text: safe to format in.
            ReportKey::Bucket(ms) => format!("at / {}", ms.max(1)),
            ReportKey::Agent | ReportKey::Group | ReportKey::Inbox if filter.is_empty() => {
                return self.report_keyed(ws, from, to, key).await;
            }
            ReportKey::Agent => "agent_id".into(),
            ReportKey::Group => "group_name".into(),
            ReportKey::Inbox => "inbox_id".into(),
        };
        let mut sql = format!(
            "SELECT metric, {key_sql} AS k, COUNT(*) AS n,
                    CAST(COALESCE(SUM(value), 0) AS BIGINT) AS s,
                    CAST(COALESCE(SUM(value_bh), 0) AS BIGINT) AS sb
             FROM report_facts WHERE workspace_id = $1 AND at >= $2 AND at < $3"
        );
        let binds = filter.push_sql(&mut sql);
        sql.push_str(" GROUP BY metric, k");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ws.as_str())
            .bind(from)
            .bind(to);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.reader()).await?;
        rows.iter()
            .map(|r| {
                let k = match key {
                    ReportKey::Bucket(_) => AggKey::Bucket(r.try_get::<i64, _>("k")?),
                    _ => AggKey::Name(r.try_get::<Option<String>, _>("k")?),
                };
                Ok(AggRow {
                    metric: r.try_get("metric")?,
                    key: k,
                    count: r.try_get("n")?,
                    sum: r.try_get("s")?,
                    sum_bh: r.try_get("sb")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// [`Store::report_sums`] per agent, group or inbox without a filter:
    /// the whole UTC days of `[from, to)` from the daily sums, the partial
    /// days at either end from the facts.
    async fn report_keyed(
        &self,
        ws: &WorkspaceId,
        from: i64,
        to: i64,
        key: ReportKey,
    ) -> Result<Vec<AggRow>> {
        let (dim, col) = match key {
            ReportKey::Agent => ("agent", "agent_id"),
            ReportKey::Group => ("group", "group_name"),
            _ => ("inbox", "inbox_id"),
        };
        let first_day = from.div_euclid(DAY_MS) + i64::from(from.rem_euclid(DAY_MS) != 0);
        let end_day = to.div_euclid(DAY_MS);
        let mut sums: HashMap<(String, Option<String>), (i64, i64, i64)> = HashMap::new();
        let mut add = |metric: String, k: Option<String>, n: i64, s: i64, sb: i64| {
            let e = sums.entry((metric, k)).or_default();
            e.0 += n;
            e.1 += s;
            e.2 += sb;
        };
        // The facts of the partial days (the whole period if it has no whole day).
        let edges = if first_day < end_day {
            vec![(from, first_day * DAY_MS), (end_day * DAY_MS, to)]
        } else {
            vec![(from, to)]
        };
        // `col` is one of three fixed column names.
        let facts_sql = format!(
            "SELECT metric, {col} AS k, COUNT(*) AS n,
                    CAST(COALESCE(SUM(value), 0) AS BIGINT) AS s,
                    CAST(COALESCE(SUM(value_bh), 0) AS BIGINT) AS sb
             FROM report_facts WHERE workspace_id = $1 AND at >= $2 AND at < $3 GROUP BY metric, k"
        );
        for (a, b) in edges.into_iter().filter(|(a, b)| a < b) {
            let rows = sqlx::query(sqlx::AssertSqlSafe(facts_sql.clone()))
                .bind(ws.as_str())
                .bind(a)
                .bind(b)
                .fetch_all(self.reader())
                .await?;
            for r in &rows {
                add(
                    r.try_get("metric")?,
                    r.try_get("k")?,
                    r.try_get("n")?,
                    r.try_get("s")?,
                    r.try_get("sb")?,
                );
            }
        }
        if first_day < end_day {
            let rows = sqlx::query(
                "SELECT metric, k, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(sum) AS BIGINT) AS s,
                        CAST(SUM(sum_bh) AS BIGINT) AS sb
                 FROM report_daily_keyed WHERE workspace_id = $1 AND dim = $2 AND day >= $3 AND day < $4
                 GROUP BY metric, k",
            )
            .bind(ws.as_str())
            .bind(dim)
            .bind(first_day)
            .bind(end_day)
            .fetch_all(self.reader())
            .await?;
            for r in &rows {
                let k: String = r.try_get("k")?;
                add(
                    r.try_get("metric")?,
                    (!k.is_empty()).then_some(k),
                    r.try_get("n")?,
                    r.try_get("s")?,
                    r.try_get("sb")?,
                );
            }
        }
        Ok(sums
            .into_iter()
            .map(|((metric, k), (count, sum, sum_bh))| AggRow {
                metric,
                key: AggKey::Name(k),
                count,
                sum,
                sum_bh,
            })
            .collect())
    }

    /// Where outbox consumer `name` has got to (`None`: never started).
    pub async fn outbox_consumer_position(&self, name: &str) -> Result<Option<i64>> {
        let r = sqlx::query("SELECT position FROM outbox_consumers WHERE name = $1")
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        r.map(|r| r.try_get("position"))
            .transpose()
            .map_err(Into::into)
    }
}

impl Store {
    /// The hourly sums of `[from, to)` (both rounded down to the hour),
    /// per hour, or (`fold`: offset hours and a period of 24 or 168 hours)
    /// per local day or local hour of the week, summed by the database.
    async fn report_hourly(
        &self,
        ws: &WorkspaceId,
        from: i64,
        to: i64,
        fold: Option<(i64, i64)>,
    ) -> Result<Vec<AggRow>> {
        // Hours since the epoch are positive here; the offset keeps them so
        // (at most 14 hours), and both are integers the caller computed.
        let (sql, off, period) = match fold {
            None => (
                "SELECT metric, hour AS k, n, sum, sum_bh FROM report_hourly
                 WHERE workspace_id = $1 AND hour >= $2 AND hour < $3"
                    .to_string(),
                0,
                0,
            ),
            Some((off, 24)) => (
                format!(
                    "SELECT metric, (hour + {off}) / 24 AS k, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(sum) AS BIGINT) AS sum, CAST(SUM(sum_bh) AS BIGINT) AS sum_bh
                     FROM report_hourly WHERE workspace_id = $1 AND hour >= $2 AND hour < $3 GROUP BY metric, k"
                ),
                off,
                24,
            ),
            Some((off, period)) => (
                format!(
                    "SELECT metric, (hour + {off}) % {period} AS k, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(sum) AS BIGINT) AS sum, CAST(SUM(sum_bh) AS BIGINT) AS sum_bh
                     FROM report_hourly WHERE workspace_id = $1 AND hour >= $2 AND hour < $3 GROUP BY metric, k"
                ),
                off,
                period,
            ),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ws.as_str())
            .bind(from.div_euclid(HOUR_MS))
            .bind(to.div_euclid(HOUR_MS))
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                let k: i64 = r.try_get("k")?;
                // Back to a UTC hour in that local day (its midnight) or
                // local hour of the week (in the epoch's first week).
                let hour = match period {
                    0 => k,
                    24 => k * 24 - off,
                    _ => k - off,
                };
                Ok(AggRow {
                    metric: r.try_get("metric")?,
                    key: AggKey::Bucket(hour * 4),
                    count: r.try_get("n")?,
                    sum: r.try_get("sum")?,
                    sum_bh: r.try_get("sum_bh")?,
                })
            })
            .collect()
    }

    /// How many CSAT ratings of 1, 2, 3, 4 and 5 fall in `[from, to)`.
    pub async fn report_csat_distribution(
        &self,
        ws: &WorkspaceId,
        from: i64,
        to: i64,
        filter: &ReportFilter,
    ) -> Result<[i64; 5]> {
        let mut sql = String::from(
            "SELECT value, COUNT(*) AS n FROM report_facts
             WHERE workspace_id = $1 AND at >= $2 AND at < $3 AND metric = 'csat'",
        );
        let binds = filter.push_sql(&mut sql);
        sql.push_str(" GROUP BY value");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ws.as_str())
            .bind(from)
            .bind(to);
        for b in binds {
            q = q.bind(b);
        }
        let mut out = [0; 5];
        for r in q.fetch_all(self.reader()).await? {
            let v: Option<i64> = r.try_get("value")?;
            if let Some(slot) = v
                .and_then(|v| usize::try_from(v - 1).ok())
                .and_then(|i| out.get_mut(i))
            {
                *slot += r.try_get::<i64, _>("n")?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_that_does_not_parse_starts_over_instead_of_failing() {
        let ws = WorkspaceId::from("ws");
        let good = ConvState {
            inbox_id: "web".into(),
            created_at: Some(5),
            ..Default::default()
        };
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(parse_state(&ws, "c", &json), good);
        assert_eq!(parse_state(&ws, "c", "{not json"), ConvState::default());
        assert_eq!(
            parse_state(&ws, "c", r#"{"inbox_id": 7}"#),
            ConvState::default()
        );
    }
}
