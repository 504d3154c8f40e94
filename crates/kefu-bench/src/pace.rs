//! Open-loop pacing: when each simulated visitor sends.
//!
//! A run at an offered rate is a sequence of [`Step`]s: a warm-up first,
//! then one per rate (a soak is one open-ended step). Within a step every
//! visitor has its own schedule, one send every `visitors / rate` seconds
//! starting at its *phase*, a point of that interval fixed for the run.
//! Phases are stratified (visitor `i` of `n` starts somewhere in the `i`-th
//! `1/n` of the interval, at random within it), so visitors never align and
//! the offered load is spread evenly across the step: one send in every
//! `1 / rate` slot, none fired together at a step's start or on a tick.
//!
//! The [`Pacer`] releases those sends from a thread of its own that sleeps
//! until each is due (the OS timer, tens of microseconds late, where tokio's
//! timer rounds up to the next millisecond) and hands it to its visitor's
//! task, which sends at once. A visitor never waits for an answer before its
//! next send (open loop), and the time a send was *due* is what its message
//! carries and what its latency counts from: if the generator falls behind,
//! its lateness counts against the figure instead of hiding in it (no
//! coordinated omission). The lateness itself is recorded too (send lag).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::mpsc::UnboundedSender;

/// Where a message's latency is recorded: a measured step's index, or
/// nowhere (the warm-up, and each visitor's first message, which opens its
/// conversation in a burst before the run).
pub type Bucket = Option<usize>;

/// One stretch of a run at one offered rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Offered visitor messages per second, all visitors together.
    pub rate: u64,
    pub start: Instant,
    pub len: Duration,
    /// `None` for the warm-up: sent like the rest, recorded nowhere.
    pub bucket: Bucket,
}

/// A send the pacer hands to a visitor: when it was due, where it counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Due {
    pub at: Instant,
    pub bucket: Bucket,
}

/// A visitor's phase in `[0, 1)`: the `i`-th of `n` strata, `jitter` (in
/// `[0, 1)`, random per visitor) deciding where inside its stratum.
pub fn phase(i: usize, n: usize, jitter: f64) -> f64 {
    let n = n.max(1);
    ((i % n) as f64 + jitter.clamp(0.0, 0.999_999)) / n as f64
}

/// Phases for `n` visitors, one random point in each stratum (ascending).
pub fn phases(n: usize) -> Vec<f64> {
    (0..n).map(|i| phase(i, n, rand::random())).collect()
}

/// Every send of one step, all visitors together, in time order: (offset
/// from the step's start, visitor). Visitor `v` sends at `(phases[v] + k)`
/// intervals of `visitors / rate` seconds, `k = 0, 1, …`, while inside the
/// step. `phases` must be ascending (as [`phases`] makes them), so the
/// order is interval by interval, visitor by visitor, produced lazily (a
/// soak's step is open-ended). Nothing at rate 0.
pub fn sends(rate: u64, phases: &[f64], len: Duration) -> impl Iterator<Item = (Duration, usize)> {
    debug_assert!(phases.windows(2).all(|w| w[0] <= w[1]), "phases ascend");
    let interval = phases.len() as f64 / rate.max(1) as f64;
    let live = rate > 0 && !phases.is_empty();
    (0u64..)
        .take_while(move |_| live)
        .flat_map(move |k| {
            phases
                .iter()
                .enumerate()
                .map(move |(v, p)| (Duration::from_secs_f64((p + k as f64) * interval), v))
        })
        .take_while(move |(at, _)| *at < len)
}

/// Releases the visitors' sends at their due times (see the module doc).
/// Lives for a run; [`Pacer::start`] runs a plan of steps on a thread of its
/// own until the plan ends or [`Pacer::stop`].
pub struct Pacer {
    phases: Arc<Vec<f64>>,
    /// Per visitor (by index), its task's queue of sends; `None` if it never connected.
    visitors: Arc<Vec<Option<UnboundedSender<Due>>>>,
    running: Option<(Arc<AtomicBool>, std::thread::JoinHandle<Vec<u64>>)>,
}

impl Pacer {
    pub fn new(phases: Vec<f64>, visitors: Vec<Option<UnboundedSender<Due>>>) -> Pacer {
        Pacer {
            phases: Arc::new(phases),
            visitors: Arc::new(visitors),
            running: None,
        }
    }

    /// Starts releasing `steps` (stopping whatever plan ran before).
    pub fn start(&mut self, steps: Vec<Step>) {
        self.stop();
        let stop = Arc::new(AtomicBool::new(false));
        let (phases, visitors, flag) = (self.phases.clone(), self.visitors.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("kefu-bench-pacer".into())
            .spawn(move || release(&steps, &phases, &visitors, &flag))
            .expect("spawning the pacer thread");
        self.running = Some((stop, thread));
    }

    /// Stops releasing; returns how many sends it released in each
    /// measured step (by bucket index).
    pub fn stop(&mut self) -> Vec<u64> {
        let Some((stop, thread)) = self.running.take() else {
            return Vec::new();
        };
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap_or_default()
    }
}

/// The pacer thread: walks the steps' merged schedule, sleeping until each
/// send is due (waking at least every 50 ms to see `stop`).
fn release(
    steps: &[Step],
    phases: &[f64],
    visitors: &[Option<UnboundedSender<Due>>],
    stop: &AtomicBool,
) -> Vec<u64> {
    let mut released = Vec::new();
    for st in steps {
        for (offset, v) in sends(st.rate, phases, st.len) {
            let at = st.start + offset;
            loop {
                if stop.load(Ordering::Relaxed) {
                    return released;
                }
                let now = Instant::now();
                if now >= at {
                    break;
                }
                std::thread::sleep((at - now).min(Duration::from_millis(50)));
            }
            if let Some(Some(tx)) = visitors.get(v)
                && tx
                    .send(Due {
                        at,
                        bucket: st.bucket,
                    })
                    .is_ok()
                && let Some(b) = st.bucket
            {
                if released.len() <= b {
                    released.resize(b + 1, 0);
                }
                released[b] += 1;
            }
        }
    }
    released
}

/// The steps of a chat run: `warmup` at the first rate (if any), then each
/// rate for `len`, back to back from `start`.
pub fn plan(rates: &[u64], len: Duration, warmup: Duration, start: Instant) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut at = start;
    if let Some(&first) = rates.first()
        && !warmup.is_zero()
    {
        steps.push(Step {
            rate: first,
            start: at,
            len: warmup,
            bucket: None,
        });
        at += warmup;
    }
    for (i, &rate) in rates.iter().enumerate() {
        steps.push(Step {
            rate,
            start: at,
            len,
            bucket: Some(i),
        });
        at += len;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jitters(n: usize, seed: u64) -> Vec<f64> {
        // A small deterministic generator: the property must hold for any jitter.
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                phase(i, n, (x >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    #[test]
    fn phases_are_stratified() {
        let p = jitters(500, 7);
        for (i, &x) in p.iter().enumerate() {
            assert!((0.0..1.0).contains(&x));
            assert!(x >= i as f64 / 500.0 && x < (i + 1) as f64 / 500.0);
        }
        assert_eq!(phase(3, 4, 0.0), 0.75);
        assert!(phase(3, 4, 1.0) < 1.0, "jitter 1 stays inside the stratum");
    }

    /// 500 msg/s from 500 visitors over 5 s: 2,500 sends, every 1/500 s
    /// slot of the step holds about one (no burst at the step's start or
    /// at any tick), each visitor sends once a second.
    #[test]
    fn sends_are_spread_evenly_across_the_step() {
        for (rate, visitors, secs) in [(500u64, 500usize, 5u64), (500, 100, 4), (2000, 500, 3)] {
            let phases = jitters(visitors, rate);
            let len = Duration::from_secs(secs);
            let s: Vec<_> = sends(rate, &phases, len).collect();
            assert!(s.windows(2).all(|w| w[0].0 <= w[1].0), "in time order");
            assert_eq!(s.len() as u64, rate * secs, "{rate}/s × {secs} s");
            let slot = 1.0 / rate as f64;
            // Never two slots' worth of silence, never a pile-up.
            for w in s.windows(2) {
                let gap = (w[1].0 - w[0].0).as_secs_f64();
                assert!(gap < 2.0 * slot + 1e-9, "gap {gap} at {:?}", w[0].0);
            }
            assert!(s[0].0.as_secs_f64() < 2.0 * slot, "starts at once");
            assert!(s.last().unwrap().0.as_secs_f64() > secs as f64 - 2.0 * slot);
            // Any 10 ms window holds rate/100 sends, give or take one per visitor wrap.
            let per_window = rate as f64 / 100.0;
            let mut counts = vec![0u32; (secs * 100) as usize];
            for (at, _) in &s {
                counts[(at.as_secs_f64() * 100.0) as usize] += 1;
            }
            for (w, &c) in counts.iter().enumerate() {
                assert!(
                    (c as f64 - per_window).abs() <= 2.0,
                    "window {w}: {c} sends, expected {per_window}"
                );
            }
            // Each visitor at its own steady interval.
            let interval = visitors as f64 / rate as f64;
            for v in [0, visitors / 2, visitors - 1] {
                let mine: Vec<f64> = s
                    .iter()
                    .filter(|x| x.1 == v)
                    .map(|x| x.0.as_secs_f64())
                    .collect();
                for w in mine.windows(2) {
                    assert!((w[1] - w[0] - interval).abs() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn more_visitors_than_a_step_holds_still_offer_the_rate() {
        // 2,000 visitors at 100/s: each would send every 20 s; a 10 s step
        // holds the first half of the interval, so half of them send once.
        let phases = jitters(2000, 3);
        assert_eq!(sends(100, &phases, Duration::from_secs(10)).count(), 1000);
    }

    #[test]
    fn a_step_ends_its_schedule_and_rate_zero_sends_nothing() {
        // 5 visitors at 10/s: one send every 0.5 s each.
        let s: Vec<_> = sends(10, &[0.1, 0.3, 0.5, 0.7, 0.9], Duration::from_secs(1)).collect();
        assert_eq!(s.len(), 10);
        assert_eq!(s[2], (Duration::from_millis(250), 2));
        assert_eq!(s[7], (Duration::from_millis(750), 2));
        assert_eq!(sends(0, &[0.1, 0.6], Duration::from_secs(1)).count(), 0);
        assert_eq!(sends(10, &[], Duration::from_secs(1)).count(), 0);
        // Open-ended: lazily, as far as asked.
        assert_eq!(sends(10, &[0.5], Duration::MAX).nth(99).unwrap().1, 0);
    }

    /// The pacer hands each visitor its sends at their due times, counts
    /// the measured ones per step, and the warm-up's in none.
    #[test]
    fn the_pacer_releases_each_send_when_due() {
        let n = 4;
        let (txs, mut rxs): (Vec<_>, Vec<_>) = (0..n)
            .map(|_| tokio::sync::mpsc::unbounded_channel::<Due>())
            .unzip();
        let mut pacer = Pacer::new(phases(n), txs.into_iter().map(Some).collect());
        let t0 = Instant::now() + Duration::from_millis(20);
        // 200/s over 4 visitors: each every 20 ms; 60 ms of warm-up, then 100 ms.
        let steps = plan(
            &[200],
            Duration::from_millis(100),
            Duration::from_millis(60),
            t0,
        );
        pacer.start(steps);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(pacer.stop(), vec![20], "100 ms at 200/s");
        let mut warm = 0;
        for rx in &mut rxs {
            let mut last = None;
            while let Ok(d) = rx.try_recv() {
                assert!(d.at >= t0 && d.at < t0 + Duration::from_millis(160));
                if d.bucket.is_none() {
                    warm += 1;
                    assert!(d.at < t0 + Duration::from_millis(60));
                }
                if let Some(l) = last {
                    let gap: Duration = d.at - l;
                    assert!(gap.as_micros().abs_diff(20_000) < 2, "{gap:?}");
                }
                last = Some(d.at);
            }
        }
        assert_eq!(warm, 12, "60 ms at 200/s");
        assert!(pacer.stop().is_empty(), "stopping twice is harmless");
    }

    /// The warm-up runs at the first rate and records nowhere; the measured
    /// steps follow it back to back.
    #[test]
    fn warm_up_is_a_step_kept_out_of_the_histograms() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let steps = plan(&[500, 2000], s(5), s(2), t0);
        assert_eq!(steps.len(), 3);
        assert_eq!(
            (steps[0].rate, steps[0].bucket, steps[0].len),
            (500, None, s(2))
        );
        assert_eq!(
            (steps[1].rate, steps[1].bucket, steps[1].start),
            (500, Some(0), t0 + s(2))
        );
        assert_eq!(
            (steps[2].rate, steps[2].bucket, steps[2].start),
            (2000, Some(1), t0 + s(7))
        );
        let none = plan(&[500], s(5), Duration::ZERO, t0);
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].bucket, Some(0));
        assert_eq!(none[0].start, t0);
    }
}
