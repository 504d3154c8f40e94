//! How long a year of reports takes to ask for: generates `--conversations`
//! conversations spread over 365 days (answered, replied, queued, some with
//! the bot, some reopened or transferred), folds them with the real metric
//! definitions into facts, stores them, then times the report queries over
//! the whole year on the chosen backend.
//!
//! ```sh
//! cargo run --release -p kefu-store --example reports_bench -- sqlite 300000
//! cargo run --release -p kefu-store --example reports_bench -- postgres 300000
//! ```

use kefu_core::{ConversationId, ConversationStatus as S};
use kefu_reports::{Calendar, ConvState, GroupBy, Range, Step, apply, range::BUCKET_MS, summarize};
use kefu_store::{ReportFilter, ReportKey, ReportUpdate, Store, new_id, testing};
use std::time::Instant;

/// Deterministic numbers without a dependency (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct as i64
    }
}

/// Business time as a third of the clock (the query's cost does not depend on it).
struct Third;
impl Calendar for Third {
    fn open_ms(&self, from: i64, to: i64) -> i64 {
        (to - from).max(0) / 3
    }
}

const MIN: i64 = 60_000;
const YEAR_START: i64 = 1_735_660_800_000; // 2025-01-01T00:00:00+08:00

fn timeline(rng: &mut Rng, i: u64) -> Vec<(i64, Step)> {
    let agents = 40;
    let groups = ["sales", "support", "billing", "vip", "returns"];
    let t0 = YEAR_START + rng.below(365 * 24 * 60) * MIN;
    let agent = format!("agent-{}", rng.below(agents));
    let group = groups[rng.below(groups.len() as u64) as usize].to_string();
    let inbox = format!("inbox-{}", i % 3);
    let bot = rng.chance(30);
    let mut t = t0;
    let mut s = vec![(
        t,
        Step::Created {
            inbox_id: inbox,
            status: if bot { S::Bot } else { S::Open },
        },
    )];
    s.push((t, Step::CustomerMessage));
    if bot {
        t += rng.below(5) * MIN + 20_000;
        if !rng.chance(60) {
            s.push((
                t,
                Step::StatusChanged {
                    from: S::Bot,
                    to: S::Resolved,
                },
            ));
            return s;
        }
        s.push((t, Step::HandedOff));
        s.push((
            t,
            Step::StatusChanged {
                from: S::Bot,
                to: S::Queued,
            },
        ));
    }
    s.push((
        t,
        Step::Queued {
            group: group.clone(),
        },
    ));
    t += rng.below(10) * MIN + 5_000;
    s.push((
        t,
        Step::Assigned {
            to: agent.clone(),
            group: Some(group),
        },
    ));
    t += rng.below(5) * MIN + 10_000;
    s.push((
        t,
        Step::AgentReply {
            agent: agent.clone(),
        },
    ));
    for _ in 0..rng.below(4) {
        t += rng.below(10) * MIN + 5_000;
        s.push((t, Step::CustomerMessage));
        t += rng.below(8) * MIN + 5_000;
        s.push((
            t,
            Step::AgentReply {
                agent: agent.clone(),
            },
        ));
    }
    if rng.chance(5) {
        s.push((t, Step::Transferred { to_group: None }));
    }
    t += rng.below(30) * MIN + 60_000;
    s.push((
        t,
        Step::StatusChanged {
            from: S::Open,
            to: S::Resolved,
        },
    ));
    if rng.chance(10) {
        t += rng.below(600) * MIN;
        s.push((
            t,
            Step::StatusChanged {
                from: S::Resolved,
                to: S::Open,
            },
        ));
        s.push((t, Step::CustomerMessage));
        t += rng.below(20) * MIN + 5_000;
        s.push((t, Step::AgentReply { agent }));
        t += rng.below(20) * MIN + 5_000;
        s.push((
            t,
            Step::StatusChanged {
                from: S::Open,
                to: S::Resolved,
            },
        ));
    }
    s
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).map(String::as_str).unwrap_or("sqlite");
    let n: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Store = match backend {
        "postgres" => testing::postgres_store().await.expect("PostgreSQL"),
        _ => testing::sqlite_store(dir.path()).await.expect("SQLite"),
    };
    let (ws, _) = store.ensure_workspace("bench").await.expect("workspace");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let (mut facts_total, mut batch) = (0usize, Vec::new());
    for i in 0..n {
        let mut st = ConvState::default();
        let mut facts = Vec::new();
        for (at, step) in timeline(&mut rng, i) {
            facts.extend(apply(&mut st, at, &step, &Third));
        }
        facts_total += facts.len();
        batch.push(ReportUpdate {
            workspace_id: ws.id.clone(),
            conversation_id: ConversationId::new(new_id()),
            read_at: 0,
            position: i as i64 + 1,
            state: st,
            facts,
        });
        if batch.len() == 1000 {
            store
                .save_report_updates(std::mem::take(&mut batch))
                .await
                .expect("save");
        }
    }
    store.save_report_updates(batch).await.expect("save");
    let load = started.elapsed();
    println!(
        "{backend}: {n} conversations, {facts_total} facts stored in {:.1} s ({:.0} facts/s)",
        load.as_secs_f64(),
        facts_total as f64 / load.as_secs_f64()
    );
    let range = Range::parse("2025-01-01", "2025-12-31", "Asia/Shanghai").expect("range");
    // As the API picks: the hourly sums summed into local days and hours by
    // the database (a zone without a DST change in the period), the hourly
    // sums as they are (one with), the facts (filters, other zones).
    assert_eq!(range.fixed_offset_hours(), Some(8));
    for (name, key, by) in [
        (
            "day (local days)",
            ReportKey::LocalDays { offset: 8 },
            GroupBy::Day,
        ),
        (
            "hour_of_week (local)",
            ReportKey::LocalWeekHours { offset: 8 },
            GroupBy::HourOfWeek,
        ),
        ("day (hourly sums)", ReportKey::Hourly, GroupBy::Day),
        ("day (facts)", ReportKey::Bucket(BUCKET_MS), GroupBy::Day),
        ("agent", ReportKey::Agent, GroupBy::Agent),
        ("group", ReportKey::Group, GroupBy::Group),
        ("inbox", ReportKey::Inbox, GroupBy::Inbox),
    ] {
        let (mut times, mut sql, mut rust) = (Vec::new(), Vec::new(), Vec::new());
        let (mut rows, mut sums_n) = (0, 0);
        for _ in 0..5 {
            let t = Instant::now();
            let sums = store
                .report_sums(&ws.id, range.from, range.to, key, &ReportFilter::default())
                .await
                .expect("sums");
            let q = t.elapsed();
            let (r, total) = summarize(&sums, &range, by, true);
            rows = r.len();
            sums_n = sums.len();
            assert!(total.conversations_opened as u64 == n);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            sql.push(q.as_secs_f64() * 1000.0);
            rust.push((t.elapsed() - q).as_secs_f64() * 1000.0);
        }
        for v in [&mut times, &mut sql, &mut rust] {
            v.sort_by(f64::total_cmp);
        }
        println!(
            "  a year by {name:<22} {rows:>4} rows: median {:.0} ms (query {:.0} ms for {sums_n} sums, summing up {:.0} ms), best {:.0} ms, worst {:.0} ms",
            times[2], sql[2], rust[2], times[0], times[4]
        );
    }
    let t = Instant::now();
    let one = store
        .report_sums(
            &ws.id,
            range.from,
            range.to,
            ReportKey::Bucket(BUCKET_MS),
            &ReportFilter {
                agent_id: Some("agent-7".into()),
                ..Default::default()
            },
        )
        .await
        .expect("sums");
    println!(
        "  a year of one agent by day: {:.0} ms ({} sums)",
        t.elapsed().as_secs_f64() * 1000.0,
        one.len()
    );
}
