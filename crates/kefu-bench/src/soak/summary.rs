//! From what the run collected to the soak's result: per phase, how normal
//! traffic fared; per attack, how the server ended its connections and how
//! fast; and the verdict, the list of reasons the run failed (empty = pass).

use super::{
    attack::Record,
    config::Config,
    counters::{self, Counters, Polled, Reading},
    newcomer::Newcomer,
    raw::Ending,
};
use crate::stats::{Latency, Stats};
use serde::Serialize;
use std::{collections::BTreeMap, sync::atomic::AtomicU64};

/// Counters of the normal traffic at one moment; phases are differences.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tally {
    pub sent: u64,
    pub acked: u64,
    pub visitor_sent: u64,
    pub visitor_acked: u64,
    pub errors: u64,
    pub ack_overdue: u64,
    pub agent_reconnects: u64,
    pub visitors_dropped: u64,
}

impl Tally {
    pub fn take(s: &Stats) -> Tally {
        let g = |c: &AtomicU64| Stats::get(c);
        Tally {
            sent: g(&s.sent),
            acked: g(&s.acked),
            visitor_sent: g(&s.visitor_sent),
            visitor_acked: g(&s.visitor_acked),
            errors: g(&s.errors),
            ack_overdue: g(&s.ack_overdue),
            agent_reconnects: g(&s.agent_reconnects),
            visitors_dropped: g(&s.visitors_dropped),
        }
    }

    pub fn minus(&self, b: &Tally) -> Tally {
        Tally {
            sent: self.sent.saturating_sub(b.sent),
            acked: self.acked.saturating_sub(b.acked),
            visitor_sent: self.visitor_sent.saturating_sub(b.visitor_sent),
            visitor_acked: self.visitor_acked.saturating_sub(b.visitor_acked),
            errors: self.errors.saturating_sub(b.errors),
            ack_overdue: self.ack_overdue.saturating_sub(b.ack_overdue),
            agent_reconnects: self.agent_reconnects.saturating_sub(b.agent_reconnects),
            visitors_dropped: self.visitors_dropped.saturating_sub(b.visitors_dropped),
        }
    }
}

/// A phase's latencies (the recorders are reset when it starts).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latencies {
    pub visitor_to_agent: Latency,
    pub agent_to_visitor: Latency,
    pub ack: Latency,
}

impl Latencies {
    pub fn take(s: &Stats) -> Latencies {
        let sum = |r: &std::sync::Mutex<crate::stats::Recorder>| {
            r.lock().map(|r| r.summary()).unwrap_or_default()
        };
        Latencies {
            visitor_to_agent: sum(&s.v2a),
            agent_to_visitor: sum(&s.a2v),
            ack: sum(&s.ack),
        }
    }
}

/// What the run collected for one phase.
pub struct PhaseRaw {
    pub start: f64,
    pub end: f64,
    /// Readings up to here belong to the phase.
    pub read_until: f64,
    pub tally: Tally,
    pub latency: Latencies,
    pub counters_before: Option<Counters>,
    pub counters_after: Option<Counters>,
}

/// Milliseconds: how many, median, 99th percentile, most.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Spread {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<u64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64;
        Spread {
            count: v.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NewcomerSummary {
    pub tried: usize,
    pub ok: usize,
    /// Arrival → first message acknowledged, of those that got in (seconds).
    pub p50_secs: f64,
    pub max_secs: f64,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub attacks: Vec<String>,
    pub checked: bool,
    /// The share of newcomers this phase expects to get in.
    pub min_newcomer_ratio: f64,
    pub start_secs: f64,
    pub secs: f64,
    /// Normal visitor messages offered (chat rate × duration) and what came of them.
    pub offered: u64,
    pub tally: Tally,
    /// Visitor sends made in this phase, and how many of them were
    /// acknowledged by the end of the run (filled in by [`SoakOutcome::settle`]).
    pub sends: u64,
    pub sends_acked: u64,
    /// `sends_acked / sends`.
    pub served_ratio: f64,
    pub error_ratio: f64,
    pub latency: Latencies,
    pub newcomers: NewcomerSummary,
    /// The server's counters over the phase (differences; `open` is the change).
    pub server: Counters,
    /// Most connections open at one reading during the phase (None: every
    /// reading failed), and whether the server was in its reserved headroom
    /// (a reading with `open >= max - reserved`, or connections served
    /// priority-only or refused as full during the phase).
    pub open_max: Option<f64>,
    pub pressure: bool,
    /// Counter readings that failed, and `/healthz` checks answered / made.
    pub server_read_failures: usize,
    pub health_ok: usize,
    pub health_checks: usize,
    /// Attack connections that ended in this phase, per attack.
    pub attack_ends: BTreeMap<String, PhaseEnds>,
}

/// One attack's connections that ended in one phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseEnds {
    pub cut: u64,
    pub refused: u64,
    /// Established → cut (ms): the budget in force (pressure shortens it).
    pub time_to_cut: Spread,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    pub name: String,
    pub kind: super::config::AttackKind,
    pub connections: usize,
    pub addresses: usize,
    pub active_secs: f64,
    /// Connections opened (or tried).
    pub attempts: usize,
    /// By how they ended: "503", "408", "ws close 4001", "closed (FIN)", …
    pub outcomes: BTreeMap<String, u64>,
    pub refused: u64,
    pub cut: u64,
    pub served: u64,
    pub connect_failed: u64,
    pub open_at_stop: u64,
    /// Cut and refused connections per second of the attack's activity.
    pub ended_per_sec: f64,
    pub cut_per_sec: f64,
    /// Established → cut, and → refused (ms).
    pub time_to_cut: Spread,
    pub time_to_refusal: Spread,
    /// The longest any of its connections stayed open (seconds).
    pub longest_open_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SoakOutcome {
    pub passed: bool,
    /// Why the run failed; empty when it passed.
    pub failures: Vec<String>,
    pub chat_rate: u64,
    pub ack_timeout_secs: u64,
    pub phases: Vec<PhaseReport>,
    pub attacks: Vec<AttackReport>,
    /// Per second of the run: attack connections the server ended (cut or
    /// refused), one column per attack.
    pub ends_per_second: Vec<Vec<u64>>,
    /// Every reading of `GET /api/v1/server/connections`.
    pub server_readings: Vec<Reading>,
    /// Readings that failed (the owner's request was not answered).
    pub server_read_failures: u64,
    /// Every health check: (seconds since the start, answered 200).
    pub health: Vec<(f64, bool)>,
    pub min_served_ratio: f64,
}

impl SoakOutcome {
    /// The checks that wait for the end of the run (in-flight sends drained):
    /// each phase's own sends acknowledged, the visitors kept sending, and
    /// no acknowledged message lost. `by_phase` is [`Stats::by_phase`]
    /// (phase `i` at index `i + 1`).
    ///
    /// [`Stats::by_phase`]: crate::stats::Stats::by_phase
    pub fn settle(&mut self, by_phase: &[(u64, u64)], lost: u64) {
        let min = self.min_served_ratio;
        for (i, p) in self.phases.iter_mut().enumerate() {
            let (sends, acked) = by_phase.get(i + 1).copied().unwrap_or((0, 0));
            p.sends = sends;
            p.sends_acked = acked;
            p.served_ratio = acked as f64 / sends.max(1) as f64;
            if !p.checked {
                continue;
            }
            if p.served_ratio < min {
                self.failures.push(format!(
                    "phase {}: {acked} of the {sends} normal sends made in it were acknowledged ({:.1} %, at least {:.0} % expected)",
                    p.name,
                    p.served_ratio * 100.0,
                    min * 100.0
                ));
            }
            if (sends as f64) < min * p.offered as f64 {
                self.failures.push(format!(
                    "phase {}: the visitors made {sends} of {} offered sends (at least {:.0} % expected)",
                    p.name,
                    p.offered,
                    min * 100.0
                ));
            }
        }
        if lost > 0 {
            self.failures.push(format!(
                "{lost} acknowledged normal messages never reached their agent"
            ));
        }
        self.passed = self.failures.is_empty();
    }
}

pub fn build(
    cfg: &Config,
    phases: Vec<PhaseRaw>,
    records: &[Record],
    newcomers: Vec<Newcomer>,
    polled: Polled,
) -> SoakOutcome {
    let mut failures = Vec::new();
    let phase_reports: Vec<PhaseReport> = phases
        .into_iter()
        .enumerate()
        .map(|(i, raw)| phase_report(cfg, i, raw, &newcomers, &polled, records))
        .collect();
    for p in phase_reports.iter().filter(|p| p.checked) {
        judge_phase(cfg, p, &mut failures);
    }
    let attacks: Vec<AttackReport> = cfg
        .attacks
        .iter()
        .enumerate()
        .map(|(i, _)| attack_report(cfg, i, records))
        .collect();
    for (a, r) in cfg.attacks.iter().zip(&attacks) {
        if let Some(limit) = a.cut_within_secs
            && r.longest_open_secs > limit
        {
            failures.push(format!(
                "attack {}: a connection stayed open {:.1} s (its budget: {limit} s)",
                a.name, r.longest_open_secs
            ));
        }
    }
    SoakOutcome {
        passed: failures.is_empty(),
        failures,
        chat_rate: cfg.chat_rate,
        ack_timeout_secs: cfg.ack_timeout_secs,
        phases: phase_reports,
        attacks,
        ends_per_second: ends_per_second(cfg.attacks.len(), records),
        server_readings: polled.readings,
        server_read_failures: polled.failures_at.len() as u64,
        health: polled.health,
        min_served_ratio: cfg.min_served_ratio,
    }
}

fn phase_report(
    cfg: &Config,
    i: usize,
    raw: PhaseRaw,
    newcomers: &[Newcomer],
    polled: &Polled,
    records: &[Record],
) -> PhaseReport {
    let p = &cfg.phases[i];
    let secs = raw.end - raw.start;
    let offered = (cfg.chat_rate as f64 * secs).round() as u64;
    let t = raw.tally;
    let server = match (&raw.counters_before, &raw.counters_after) {
        (Some(b), Some(a)) => counters::delta(b, a),
        _ => Counters::new(),
    };
    let inside = |at: f64| at >= raw.start && at <= raw.read_until;
    // Gauges only from the phase proper (the boundary reading comes after
    // its attacks stopped).
    let within: Vec<&Reading> = polled
        .readings
        .iter()
        .filter(|r| r.at >= raw.start && r.at <= raw.end)
        .collect();
    let health: Vec<bool> = polled
        .health
        .iter()
        .filter(|h| inside(h.0))
        .map(|h| h.1)
        .collect();
    let mut ends: BTreeMap<String, (PhaseEnds, Vec<u64>)> = BTreeMap::new();
    for r in records {
        let at = r.ended_ms as f64 / 1000.0;
        if at < raw.start || at >= raw.read_until {
            continue;
        }
        let (e, took) = ends.entry(cfg.attacks[r.attack].name.clone()).or_default();
        match r.how.ending() {
            Ending::Cut => {
                e.cut += 1;
                took.push(r.ended_ms.saturating_sub(r.opened_ms));
            }
            Ending::Refused => e.refused += 1,
            _ => {}
        }
    }
    let attack_ends = ends
        .into_iter()
        .map(|(name, (e, took))| {
            let time_to_cut = Spread::of(took);
            (name, PhaseEnds { time_to_cut, ..e })
        })
        .collect();
    let get = |r: &Reading, k: &str| r.values.get(k).copied().unwrap_or(0.0);
    let open_max = within.iter().map(|r| get(r, "open")).reduce(f64::max);
    let counted = |k: &str| server.get(k).is_some_and(|d| *d > 0.0);
    let pressure = counted("priority_only")
        || counted("refused_full")
        || within
            .iter()
            .any(|r| get(r, "open") >= get(r, "max") - get(r, "reserved") && get(r, "max") > 0.0);
    PhaseReport {
        name: p.name.clone(),
        attacks: p.attacks.clone(),
        checked: p.checked,
        min_newcomer_ratio: p.min_newcomer_ratio.unwrap_or(cfg.min_newcomer_ratio),
        start_secs: raw.start,
        secs,
        offered,
        sends: 0,
        sends_acked: 0,
        served_ratio: 0.0,
        error_ratio: t.errors as f64 / t.sent.max(1) as f64,
        tally: t,
        latency: raw.latency,
        newcomers: newcomer_summary(newcomers.iter().filter(|n| n.phase == i)),
        server,
        open_max,
        pressure,
        server_read_failures: polled.failures_at.iter().filter(|at| inside(**at)).count(),
        health_ok: health.iter().filter(|ok| **ok).count(),
        health_checks: health.len(),
        attack_ends,
    }
}

fn judge_phase(cfg: &Config, p: &PhaseReport, failures: &mut Vec<String>) {
    let t = &p.tally;
    if t.ack_overdue > 0 {
        failures.push(format!(
            "phase {}: {} normal sends not acknowledged within {} s",
            p.name, t.ack_overdue, cfg.ack_timeout_secs
        ));
    }
    if p.error_ratio > cfg.max_error_ratio {
        failures.push(format!(
            "phase {}: {} errors in {} normal sends ({:.2} %, at most {:.2} % allowed)",
            p.name,
            t.errors,
            t.sent,
            p.error_ratio * 100.0,
            cfg.max_error_ratio * 100.0
        ));
    }
    if t.visitors_dropped > 0 {
        failures.push(format!(
            "phase {}: the server closed {} normal visitors' connections",
            p.name, t.visitors_dropped
        ));
    }
    if p.health_checks > 0 && (p.health_ok as f64 / p.health_checks as f64) < cfg.min_health_ratio {
        failures.push(format!(
            "phase {}: {} of {} health checks answered (at least {:.0} % expected)",
            p.name,
            p.health_ok,
            p.health_checks,
            cfg.min_health_ratio * 100.0
        ));
    }
    let n = &p.newcomers;
    let min_newcomers = p.min_newcomer_ratio;
    if n.tried > 0 && (n.ok as f64 / n.tried as f64) < min_newcomers {
        failures.push(format!(
            "phase {}: {} of {} new visitors got in within {} s (at least {:.0} % expected); last error: {}",
            p.name,
            n.ok,
            n.tried,
            cfg.newcomer_timeout_secs,
            min_newcomers * 100.0,
            n.first_error.as_deref().unwrap_or("-")
        ));
    }
}

fn newcomer_summary<'a>(it: impl Iterator<Item = &'a Newcomer>) -> NewcomerSummary {
    let all: Vec<&Newcomer> = it.collect();
    let mut ok: Vec<f64> = all.iter().filter(|n| n.ok).map(|n| n.secs).collect();
    ok.sort_by(f64::total_cmp);
    NewcomerSummary {
        tried: all.len(),
        ok: ok.len(),
        p50_secs: ok.get(ok.len() / 2).copied().unwrap_or(0.0),
        max_secs: ok.last().copied().unwrap_or(0.0),
        first_error: all.iter().find(|n| !n.ok).and_then(|n| n.error.clone()),
    }
}

fn attack_report(cfg: &Config, i: usize, records: &[Record]) -> AttackReport {
    let a = &cfg.attacks[i];
    let mine: Vec<&Record> = records.iter().filter(|r| r.attack == i).collect();
    let active_secs: f64 = cfg
        .phases
        .iter()
        .filter(|p| p.attacks.contains(&a.name))
        .map(|p| p.secs as f64)
        .sum();
    let mut outcomes = BTreeMap::new();
    let (mut refused, mut cut, mut served, mut failed, mut open) = (0, 0, 0, 0, 0);
    let (mut to_cut, mut to_refusal) = (Vec::new(), Vec::new());
    let mut longest = 0u64;
    for r in &mine {
        *outcomes.entry(r.how.label()).or_insert(0) += 1;
        let took = r.ended_ms.saturating_sub(r.opened_ms);
        match r.how.ending() {
            Ending::Refused => {
                refused += 1;
                to_refusal.push(took);
            }
            Ending::Cut => {
                cut += 1;
                to_cut.push(took);
            }
            Ending::Served => served += 1,
            Ending::Failed => failed += 1,
            Ending::Open => open += 1,
        }
        if r.how.ending() != Ending::Failed {
            longest = longest.max(took);
        }
    }
    let per_sec = |n: u64| n as f64 / active_secs.max(1e-9);
    AttackReport {
        name: a.name.clone(),
        kind: a.kind,
        connections: a.connections,
        addresses: a.addresses,
        active_secs,
        attempts: mine.len(),
        outcomes,
        refused,
        cut,
        served,
        connect_failed: failed,
        open_at_stop: open,
        ended_per_sec: per_sec(refused + cut),
        cut_per_sec: per_sec(cut),
        time_to_cut: Spread::of(to_cut),
        time_to_refusal: Spread::of(to_refusal),
        longest_open_secs: longest as f64 / 1000.0,
    }
}

/// Rows of `[second, ended by attack 0, ended by attack 1, …]`.
fn ends_per_second(attacks: usize, records: &[Record]) -> Vec<Vec<u64>> {
    let ended: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.how.ending(), Ending::Cut | Ending::Refused))
        .collect();
    let Some(last) = ended.iter().map(|r| r.ended_ms / 1000).max() else {
        return Vec::new();
    };
    let first = ended.iter().map(|r| r.ended_ms / 1000).min().unwrap_or(0);
    let mut rows: Vec<Vec<u64>> = (first..=last)
        .map(|s| {
            let mut row = vec![0; attacks + 1];
            row[0] = s;
            row
        })
        .collect();
    for r in ended {
        let row = (r.ended_ms / 1000 - first) as usize;
        rows[row][r.attack + 1] += 1;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::raw::How;

    fn cfg() -> Config {
        toml::from_str(
            r#"
chat_rate = 10
min_newcomer_ratio = 0.5
min_health_ratio = 0.9
phases = [{ name = "base", secs = 2 }, { name = "attack", secs = 4, attacks = ["s"] }]
attacks = [{ name = "s", kind = "silent", connections = 2, cut_within_secs = 3.0 }]
"#,
        )
        .expect("parses")
    }

    fn raw(start: f64, end: f64, dropped: u64, overdue: u64) -> PhaseRaw {
        PhaseRaw {
            start,
            end,
            read_until: end,
            tally: Tally {
                sent: 100,
                acked: 100,
                visitor_sent: 20,
                visitor_acked: 20,
                errors: 0,
                ack_overdue: overdue,
                agent_reconnects: 0,
                visitors_dropped: dropped,
            },
            latency: Latencies::default(),
            counters_before: None,
            counters_after: None,
        }
    }

    fn no_polls() -> Polled {
        Polled {
            readings: Vec::new(),
            failures_at: Vec::new(),
            health: Vec::new(),
        }
    }

    fn rec(opened_ms: u64, ended_ms: u64, how: How) -> Record {
        Record {
            attack: 0,
            opened_ms,
            ended_ms,
            how,
        }
    }

    #[test]
    fn a_healthy_run_passes_and_attacks_are_tallied() {
        let records = [
            rec(2_000, 4_000, How::Eof),
            rec(2_100, 2_110, How::Status(503)),
            rec(4_100, 6_000, How::OpenAtStop),
        ];
        let mut o = build(
            &cfg(),
            vec![raw(0.0, 2.0, 0, 0), raw(2.0, 6.0, 0, 0)],
            &records,
            Vec::new(),
            no_polls(),
        );
        // Sends per phase (index 0: before the first), acknowledged by the end.
        o.settle(&[(3, 3), (20, 20), (40, 39)], 0);
        assert!(o.passed, "{:?}", o.failures);
        assert_eq!((o.phases[1].sends, o.phases[1].sends_acked), (40, 39));
        let a = &o.attacks[0];
        assert_eq!((a.cut, a.refused, a.open_at_stop), (1, 1, 1));
        assert_eq!(a.time_to_cut.p50, 2000.0);
        assert_eq!(a.ended_per_sec, 0.5);
        assert_eq!(o.ends_per_second, vec![vec![2, 1], vec![3, 0], vec![4, 1]]);
    }

    #[test]
    fn stalled_normal_traffic_and_long_lived_attacks_fail() {
        let records = [rec(2_000, 6_000, How::OpenAtStop)];
        let newcomers = vec![Newcomer {
            phase: 1,
            ok: false,
            secs: 10.0,
            attempts: 5,
            error: Some("503".into()),
        }];
        let polled = Polled {
            health: vec![(1.0, true), (3.0, false), (4.0, true)],
            ..no_polls()
        };
        let mut o = build(
            &cfg(),
            vec![raw(0.0, 2.0, 0, 0), raw(2.0, 6.0, 2, 3)],
            &records,
            newcomers,
            polled,
        );
        assert!(!o.passed);
        o.settle(&[(0, 0), (20, 20), (30, 20)], 2);
        assert!(!o.passed);
        let all = o.failures.join("\n");
        assert!(all.contains("3 normal sends not acknowledged"), "{all}");
        assert!(all.contains("closed 2 normal visitors"), "{all}");
        assert!(all.contains("20 of the 30 normal sends"), "{all}");
        assert!(all.contains("made 30 of 40 offered"), "{all}");
        assert!(all.contains("0 of 1 new visitors"), "{all}");
        assert!(all.contains("phase attack: 1 of 2 health checks"), "{all}");
        assert!(!all.contains("phase base: "), "{all}");
        assert!(all.contains("stayed open 4.0 s"), "{all}");
        assert!(all.contains("2 acknowledged normal messages"), "{all}");
    }
}
