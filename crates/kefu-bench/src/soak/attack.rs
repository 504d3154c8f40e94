//! A running attack: `connections` sockets, each one a loop that opens a
//! connection of the attack's kind, records when and how it ended, and opens
//! another (after `reconnect_ms`; a flood paces itself to `per_second`), as
//! an attack tool does, until the attack is stopped.

use super::{
    config::{Attack, AttackKind},
    raw::{self, How},
};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::{sync::watch, task::JoinHandle};

/// One attack connection's life, in milliseconds since the run's start.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    /// Index of the attack (file order).
    pub attack: usize,
    /// When the connection was established (or, if it never was, tried).
    pub opened_ms: u64,
    pub ended_ms: u64,
    pub how: How,
}

/// Every attack connection of the run, shared by the attack loops.
#[derive(Clone)]
pub struct Records {
    start: Instant,
    all: Arc<Mutex<Vec<Record>>>,
}

impl Records {
    pub fn new(start: Instant) -> Records {
        Records {
            start,
            all: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_millis() as u64
    }

    fn push(&self, attack: usize, tried: Instant, life: raw::Life) {
        let r = Record {
            attack,
            opened_ms: self.ms(life.opened.unwrap_or(tried)),
            ended_ms: self.ms(Instant::now()),
            how: life.how,
        };
        if let Ok(mut all) = self.all.lock() {
            all.push(r);
        }
    }

    pub fn snapshot(&self) -> Vec<Record> {
        self.all.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// An attack while it runs; [`Running::stop`] ends it and waits for its sockets.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts attack number `index`.
pub fn start(index: usize, a: &Attack, server: SocketAddr, records: &Records) -> Running {
    let (stop, rx) = watch::channel(false);
    let tasks = (0..a.connections)
        .map(|slot| {
            let (a, records, mut rx) = (a.clone(), records.clone(), rx.clone());
            tokio::spawn(
                async move { socket_loop(index, slot, &a, server, &records, &mut rx).await },
            )
        })
        .collect();
    Running { stop, tasks }
}

impl Running {
    /// Stops every socket (each records itself `OpenAtStop` if the server
    /// had not ended it) and waits for them, at most a few seconds.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(6), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// One socket of an attack, reconnecting until stopped.
async fn socket_loop(
    index: usize,
    slot: usize,
    a: &Attack,
    server: SocketAddr,
    records: &Records,
    stop: &mut watch::Receiver<bool>,
) {
    let src = raw::source(index, slot, a.addresses);
    // A flood's sockets share `per_second`, staggered so they do not fire together.
    let mut pace = (a.kind == AttackKind::Flood).then(|| {
        let period = Duration::from_secs_f64(a.connections as f64 / a.per_second as f64);
        let first =
            tokio::time::Instant::now() + period.mul_f64(slot as f64 / a.connections as f64);
        let mut i = tokio::time::interval_at(first, period);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    while !*stop.borrow() {
        if let Some(p) = pace.as_mut() {
            tokio::select! {
                _ = p.tick() => {}
                _ = stop.changed() => return,
            }
        }
        let tried = Instant::now();
        let life = raw::one(a, server, src, stop).await;
        let stopped = life.how == How::OpenAtStop;
        records.push(index, tried, life);
        if stopped {
            return;
        }
        if a.reconnect_ms > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(a.reconnect_ms)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
