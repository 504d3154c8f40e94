//! The hostile-client soak (`kind = "soak"`): normal visitors and agents chat
//! at a steady rate (the chat scenario's simulated users) through phases —
//! typically a baseline, one or more attack phases and a recovery — while
//! raw-socket attackers ([`raw`], [`attack`]) from their own loopback
//! addresses hold silent sockets, trickle heads and bodies, idle on
//! keep-alive, never authenticate WebSockets and flood. Newcomers
//! ([`newcomer`]) arrive throughout; the server's own counters
//! ([`counters`]) are read every second.
//!
//! The point is a verdict ([`summary`]): normal traffic must keep being
//! served during the attacks, or the run fails.

mod attack;
mod config;
mod counters;
mod newcomer;
mod raw;
pub mod report;
mod summary;

pub use config::Config;
pub use summary::SoakOutcome;

use crate::{
    server::{Accounts, Server},
    stats::Stats,
};
use anyhow::Result;
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};
use summary::{PhaseRaw, Tally};

/// Runs the phases. The normal visitors and agents are already connected and
/// have opened their conversations; `pacer` releases their sends (started
/// here as one open-ended step at the soak's `chat_rate`, stopped at the end
/// by the caller).
pub async fn run(
    cfg: &Config,
    server: &Server,
    acc: &Accounts,
    stats: &Stats,
    pacer: &mut crate::pace::Pacer,
) -> Result<SoakOutcome> {
    let records = attack::Records::new(stats.start);
    let poller = counters::Poller::start(&server.base, &acc.owner, stats.start)?;
    let phase_now = Arc::new(AtomicUsize::new(0));
    let newcomers = Newcomers::start(cfg, server, acc, phase_now.clone())?;
    pacer.start(vec![crate::pace::Step {
        rate: cfg.chat_rate,
        start: std::time::Instant::now(),
        // Until the caller stops it: phase boundaries take their own time.
        len: Duration::MAX,
        bucket: Some(0),
    }]);
    let mut running: BTreeMap<usize, attack::Running> = BTreeMap::new();
    let mut phases = Vec::new();
    // The counters at each phase boundary are read after the attacks that end
    // there have stopped and before new ones start: a server full of attack
    // sockets may not answer even its owner (that is measured separately).
    let mut boundary = poller.read_now().await.map(|r| r.values);
    for (pi, phase) in cfg.phases.iter().enumerate() {
        for i in attack_indices(cfg, phase) {
            running
                .entry(i)
                .or_insert_with(|| attack::start(i, &cfg.attacks[i], server.addr, &records));
        }
        phase_now.store(pi, Ordering::Relaxed);
        stats.phase.store(pi + 1, Ordering::Relaxed);
        reset_latency(stats);
        let before = Tally::take(stats);
        let start = stats.start.elapsed().as_secs_f64();
        eprintln!(
            "soak: phase {} ({} s){}",
            phase.name,
            phase.secs,
            if phase.attacks.is_empty() {
                String::new()
            } else {
                format!(", attacks: {}", phase.attacks.join(", "))
            }
        );
        tokio::time::sleep(Duration::from_secs(phase.secs)).await;
        let end = stats.start.elapsed().as_secs_f64();
        let after = Tally::take(stats);
        let latency = summary::Latencies::take(stats);
        let next: Vec<usize> = cfg
            .phases
            .get(pi + 1)
            .map(|p| attack_indices(cfg, p))
            .unwrap_or_default();
        let ending: Vec<usize> = running
            .keys()
            .copied()
            .filter(|i| !next.contains(i))
            .collect();
        for i in ending {
            if let Some(r) = running.remove(&i) {
                r.stop().await;
            }
        }
        let counters_after = poller.read_now().await.map(|r| r.values);
        phases.push(PhaseRaw {
            start,
            end,
            read_until: stats.start.elapsed().as_secs_f64(),
            tally: after.minus(&before),
            latency,
            counters_before: boundary,
            counters_after: counters_after.clone(),
        });
        boundary = counters_after;
    }
    stats.phase.store(cfg.phases.len() + 1, Ordering::Relaxed);
    let arrived = newcomers.finish().await;
    Ok(summary::build(
        cfg,
        phases,
        &records.snapshot(),
        arrived,
        poller.finish(),
    ))
}

/// The attacks (by index) a phase runs.
fn attack_indices(cfg: &Config, phase: &config::Phase) -> Vec<usize> {
    cfg.attacks
        .iter()
        .enumerate()
        .filter(|(_, a)| phase.attacks.contains(&a.name))
        .map(|(i, _)| i)
        .collect()
}

fn reset_latency(stats: &Stats) {
    for r in [&stats.v2a, &stats.a2v, &stats.ack] {
        if let Ok(mut r) = r.lock() {
            r.reset();
        }
    }
}

/// New visitors arriving every `newcomer_every_ms` through all phases.
struct Newcomers {
    stop: Arc<AtomicBool>,
    spawner: tokio::task::JoinHandle<Vec<tokio::task::JoinHandle<newcomer::Newcomer>>>,
}

impl Newcomers {
    fn start(
        cfg: &Config,
        server: &Server,
        acc: &Accounts,
        phase_now: Arc<AtomicUsize>,
    ) -> Result<Newcomers> {
        let stop = Arc::new(AtomicBool::new(false));
        // A fresh connection for each session request: a pooled one would
        // race the server's shortened keep-alive close.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()?;
        let (every, timeout) = (
            cfg.newcomer_every_ms,
            Duration::from_secs(cfg.newcomer_timeout_secs),
        );
        let (base, addr, key) = (server.base.clone(), server.addr, acc.inbox_key.clone());
        let flag = stop.clone();
        let spawner = tokio::spawn(async move {
            let mut arrivals = Vec::new();
            if every == 0 {
                return arrivals;
            }
            let mut tick = tokio::time::interval(Duration::from_millis(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Indices past any normal visitor's, so client ids never clash.
            let mut idx = 1_000_000usize;
            loop {
                tick.tick().await;
                if flag.load(Ordering::Relaxed) {
                    return arrivals;
                }
                idx += 1;
                let phase = phase_now.load(Ordering::Relaxed);
                let (http, base, key) = (http.clone(), base.clone(), key.clone());
                arrivals.push(tokio::spawn(async move {
                    newcomer::arrive(&http, &base, addr, &key, idx, phase, timeout).await
                }));
            }
        });
        Ok(Newcomers { stop, spawner })
    }

    /// Stops arrivals and waits for those on their way (each has a deadline).
    async fn finish(self) -> Vec<newcomer::Newcomer> {
        self.stop.store(true, Ordering::Relaxed);
        let mut out = Vec::new();
        if let Ok(arrivals) = self.spawner.await {
            for a in arrivals {
                if let Ok(n) = a.await {
                    out.push(n);
                }
            }
        }
        out
    }
}
