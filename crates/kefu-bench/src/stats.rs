//! Latency recording: HDR histograms overall, per second and per measured
//! step, plus counters.

use crate::pace::Bucket;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Instant,
};

fn hist() -> Histogram<u64> {
    // 1 µs to 120 s, 3 significant digits.
    Histogram::new_with_bounds(1, 120_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).expect("histogram"))
}

/// One direction's latencies. Only messages sent in a measured step are
/// recorded (see [`crate::pace::Bucket`]); each goes to the step it was
/// *sent* in, however late it arrives, so a backlog is charged to the step
/// that built it and not to the quiet one after.
pub struct Recorder {
    start: Instant,
    /// Since the last [`Recorder::reset`] (the soak's phases).
    total: Histogram<u64>,
    per_second: Vec<Histogram<u64>>,
    per_step: Vec<Histogram<u64>>,
}

impl Recorder {
    pub fn new(start: Instant) -> Self {
        Recorder {
            start,
            total: hist(),
            per_second: Vec::new(),
            per_step: Vec::new(),
        }
    }

    /// Records a latency of a message sent in measured step `step`.
    pub fn record(&mut self, micros: u64, step: usize) {
        let v = micros.clamp(1, 120_000_000);
        let _ = self.total.record(v);
        let sec = self.start.elapsed().as_secs() as usize;
        while self.per_second.len() <= sec {
            self.per_second.push(hist());
        }
        let _ = self.per_second[sec].record(v);
        while self.per_step.len() <= step {
            self.per_step.push(hist());
        }
        let _ = self.per_step[step].record(v);
    }

    pub fn reset(&mut self) {
        self.total.reset();
    }

    pub fn summary(&self) -> Latency {
        Latency::of(&self.total)
    }

    /// The messages sent in measured step `step`, whenever they arrived.
    pub fn step(&self, step: usize) -> Latency {
        self.per_step.get(step).map(Latency::of).unwrap_or_default()
    }

    /// (second, p50 ms, p99 ms) for seconds that saw traffic.
    pub fn timeline(&self) -> Vec<(u64, f64, f64)> {
        self.per_second
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty())
            .map(|(s, h)| {
                (
                    s as u64,
                    h.value_at_quantile(0.5) as f64 / 1000.0,
                    h.value_at_quantile(0.99) as f64 / 1000.0,
                )
            })
            .collect()
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Latency {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// Everything the simulated users count.
pub struct Stats {
    /// Time zero of the run: per-second timelines and the soak's records count from it.
    pub start: Instant,
    /// Visitor send → the owning agent receives it.
    pub v2a: Mutex<Recorder>,
    /// Agent reply → the visitor receives it.
    pub a2v: Mutex<Recorder>,
    /// Visitor send → its `ack` (the server stored it and said so).
    pub ack: Mutex<Recorder>,
    /// A visitor send's due time → when it actually went out: the load
    /// generator's own lateness (timer granularity, CPU it did not get). It
    /// is inside the latencies above, which count from the due time.
    pub send_lag: Mutex<Recorder>,
    /// Visitor sends not acknowledged within the run's ack deadline.
    pub ack_overdue: AtomicU64,
    /// Sent and acknowledged counts visitors and agents together; these, visitors only.
    pub visitor_sent: AtomicU64,
    pub visitor_acked: AtomicU64,
    /// Visitors whose connection ended while the run was on.
    pub visitors_dropped: AtomicU64,
    /// The soak's phase: 1-based while one runs, 0 before, past the last after.
    pub phase: AtomicUsize,
    /// Per phase (index as `phase`): visitor sends made, and how many of
    /// those were acknowledged, whenever the ack came. A phase is judged by
    /// its own sends, not by the acks that happened to arrive within it.
    pub by_phase: Mutex<Vec<(u64, u64)>>,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub errors: AtomicU64,
    /// Error frames by `code`, so a report says what went wrong.
    pub error_codes: Mutex<std::collections::BTreeMap<String, u64>>,
    pub duplicates: AtomicU64,
    /// Agent connections re-established after the server closed them.
    pub agent_reconnects: AtomicU64,
    pub gaps: AtomicU64,
}

impl Stats {
    pub fn new() -> Self {
        let start = Instant::now();
        Stats {
            start,
            v2a: Mutex::new(Recorder::new(start)),
            a2v: Mutex::new(Recorder::new(start)),
            ack: Mutex::new(Recorder::new(start)),
            send_lag: Mutex::new(Recorder::new(start)),
            ack_overdue: AtomicU64::new(0),
            visitor_sent: AtomicU64::new(0),
            visitor_acked: AtomicU64::new(0),
            visitors_dropped: AtomicU64::new(0),
            phase: AtomicUsize::new(0),
            by_phase: Mutex::new(Vec::new()),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            error_codes: Mutex::new(Default::default()),
            duplicates: AtomicU64::new(0),
            agent_reconnects: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
        }
    }

    /// Microseconds from the run's start to `at` (monotonic clock): the
    /// time stamp a message carries. Sender and receiver share this process,
    /// so the receiver's [`Stats::since`] of it is the end-to-end latency.
    pub fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_micros() as u64
    }

    /// Microseconds from a message's time stamp ([`Stats::micros`]) to now.
    pub fn since(&self, stamp: u64) -> u64 {
        self.micros(Instant::now()).saturating_sub(stamp)
    }

    pub fn v2a(&self, micros: u64, step: Bucket) {
        if let (Some(step), Ok(mut r)) = (step, self.v2a.lock()) {
            r.record(micros, step);
        }
    }

    pub fn a2v(&self, micros: u64, step: Bucket) {
        if let (Some(step), Ok(mut r)) = (step, self.a2v.lock()) {
            r.record(micros, step);
        }
    }

    /// Counts an error frame the server sent, by its code.
    pub fn error_frame(&self, code: &str) {
        Stats::inc(&self.errors);
        if let Ok(mut m) = self.error_codes.lock() {
            *m.entry(code.to_string()).or_default() += 1;
        }
    }

    fn count_phase(&self, phase: usize, f: impl FnOnce(&mut (u64, u64))) {
        if let Ok(mut v) = self.by_phase.lock() {
            if v.len() <= phase {
                v.resize(phase + 1, (0, 0));
            }
            f(&mut v[phase]);
        }
    }

    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Tracks per-conversation `seq` continuity for one receiver: duplicates and gaps.
#[derive(Default)]
pub struct SeqTracker {
    last: std::collections::HashMap<String, i64>,
}

impl SeqTracker {
    /// Returns false for a duplicate; counts gaps.
    pub fn see(&mut self, stats: &Stats, conv: &str, seq: i64) -> bool {
        match self.last.get_mut(conv) {
            Some(last) if seq <= *last => {
                Stats::inc(&stats.duplicates);
                false
            }
            Some(last) => {
                if seq > *last + 1 {
                    stats
                        .gaps
                        .fetch_add((seq - *last - 1) as u64, Ordering::Relaxed);
                }
                *last = seq;
                true
            }
            None => {
                self.last.insert(conv.to_string(), seq);
                true
            }
        }
    }
}

/// One visitor's sends waiting for their `ack`: how long each took from
/// the time it was due, and which are overdue (counted once each, when
/// first seen overdue; a late ack is still timed).
#[derive(Default)]
pub struct AckClock {
    /// client_msg_id → (due at, counted overdue, soak phase it was sent in, step).
    pending: std::collections::HashMap<String, (Instant, bool, usize, Bucket)>,
}

impl AckClock {
    /// A send that was due at `due`, in measured step `step`.
    pub fn sent(&mut self, stats: &Stats, client_msg_id: String, due: Instant, step: Bucket) {
        Stats::inc(&stats.visitor_sent);
        let phase = stats.phase.load(Ordering::Relaxed);
        stats.count_phase(phase, |e| e.0 += 1);
        self.pending
            .insert(client_msg_id, (due, false, phase, step));
    }

    pub fn acked(&mut self, stats: &Stats, client_msg_id: &str) {
        if let Some((at, _, phase, step)) = self.pending.remove(client_msg_id) {
            Stats::inc(&stats.visitor_acked);
            stats.count_phase(phase, |e| e.1 += 1);
            if let (Some(step), Ok(mut r)) = (step, stats.ack.lock()) {
                r.record(at.elapsed().as_micros() as u64, step);
            }
        }
    }

    /// The server answered the send with an error frame: counted as an
    /// error, not as a missing ack.
    pub fn answered(&mut self, client_msg_id: &str) {
        self.pending.remove(client_msg_id);
    }

    /// Counts the sends that have waited longer than `limit` since the last look.
    pub fn overdue(&mut self, stats: &Stats, limit: std::time::Duration) {
        for (at, counted, _, _) in self.pending.values_mut() {
            if !*counted && at.elapsed() > limit {
                *counted = true;
                Stats::inc(&stats.ack_overdue);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Warm-up messages (no step) are in no histogram; the others land in
    /// the step they were sent in, whenever they arrive.
    #[test]
    fn warm_up_stays_out_and_steps_keep_their_own_messages() {
        let s = Stats::new();
        s.v2a(90_000, None);
        s.v2a(1_000, Some(0));
        s.v2a(2_000, Some(1));
        s.v2a(3_000, Some(1));
        s.a2v(50_000, None);
        let r = s.v2a.lock().expect("lock");
        assert_eq!(r.summary().count, 3, "the warm-up's 90 ms is not there");
        assert!(r.summary().max < 4.0);
        assert_eq!(r.step(0).count, 1);
        assert_eq!((r.step(1).count, r.step(1).max.round()), (2, 3.0));
        assert_eq!(r.step(2).count, 0);
        assert_eq!(r.timeline().len(), 1, "nor in the per-second timeline");
        assert_eq!(s.a2v.lock().expect("lock").summary().count, 0);
    }

    #[test]
    fn acks_are_timed_from_the_due_time() {
        let s = Stats::new();
        let mut clock = AckClock::default();
        let due = Instant::now() - std::time::Duration::from_millis(30);
        clock.sent(&s, "a".into(), due, Some(0));
        clock.sent(&s, "w".into(), Instant::now(), None);
        clock.acked(&s, "a");
        clock.acked(&s, "w");
        let r = s.ack.lock().expect("lock");
        assert_eq!(r.step(0).count, 1);
        assert!(r.step(0).p50 >= 30.0, "a late send's wait counts");
        assert_eq!(r.summary().count, 1, "the warm-up's ack is not timed");
        assert_eq!(Stats::get(&s.visitor_acked), 2, "but it is counted");
    }
}
