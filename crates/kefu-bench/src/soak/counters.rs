//! The server's own view: `GET /api/v1/server/connections` (owner token),
//! read once a second through the run, so the report says what the server
//! counted (refusals, cuts per stage, open sockets) and when; and, as a
//! load balancer would, `GET /healthz` once a second (the reserved headroom
//! exists to keep it answering).
//!
//! The fields are kept as the server sends them (a map of numbers), so a
//! counter added to the server shows up here without a change.

use serde::Serialize;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::task::JoinHandle;

pub type Counters = BTreeMap<String, f64>;

/// One reading of the counters.
#[derive(Debug, Clone, Serialize)]
pub struct Reading {
    /// Seconds since the run's start.
    pub at: f64,
    pub values: Counters,
}

/// Reads the counters in the background.
pub struct Poller {
    readings: Arc<Mutex<Vec<Reading>>>,
    /// When a reading failed (seconds since the start).
    failures: Arc<Mutex<Vec<f64>>>,
    /// (seconds since the start, answered 200) per health check.
    health: Arc<Mutex<Vec<(f64, bool)>>>,
    task: JoinHandle<()>,
    fetch: Fetch,
}

#[derive(Clone)]
struct Fetch {
    http: reqwest::Client,
    url: String,
    token: String,
    start: Instant,
}

impl Fetch {
    async fn healthy(&self) -> bool {
        let url = self.url.replace("/api/v1/server/connections", "/healthz");
        let r = self
            .http
            .get(url)
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        r.is_ok_and(|r| r.status().is_success())
    }

    async fn read(&self) -> Option<Reading> {
        let r = self
            .http
            .get(&self.url)
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: serde_json::Value = r.json().await.ok()?;
        let values = v
            .as_object()?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect();
        Some(Reading {
            at: self.start.elapsed().as_secs_f64(),
            values,
        })
    }
}

impl Poller {
    /// Starts reading every second. A fresh connection each time (the soak
    /// shortens keep-alive budgets; a pooled one would race the server's close).
    pub fn start(base: &str, owner_token: &str, start: Instant) -> anyhow::Result<Poller> {
        let fetch = Fetch {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()?,
            url: format!("{base}/api/v1/server/connections"),
            token: owner_token.to_string(),
            start,
        };
        let readings = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let health = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let (fetch, readings, failures) = (fetch.clone(), readings.clone(), failures.clone());
            let health = health.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let at = fetch.start.elapsed().as_secs_f64();
                    let ok = fetch.healthy().await;
                    if let Ok(mut h) = health.lock() {
                        h.push((at, ok));
                    }
                    match fetch.read().await {
                        Some(r) => {
                            if let Ok(mut v) = readings.lock() {
                                v.push(r);
                            }
                        }
                        None => {
                            if let Ok(mut f) = failures.lock() {
                                f.push(at);
                            }
                        }
                    }
                }
            })
        };
        Ok(Poller {
            readings,
            failures,
            health,
            task,
            fetch,
        })
    }

    /// A reading now (at a phase boundary), kept with the others.
    pub async fn read_now(&self) -> Option<Reading> {
        let r = self.fetch.read().await?;
        if let Ok(mut v) = self.readings.lock() {
            v.push(r.clone());
        }
        Some(r)
    }

    /// Stops polling; returns every reading in time order, the failed reads
    /// and the health checks.
    pub fn finish(self) -> Polled {
        self.task.abort();
        let mut readings = self.readings.lock().map(|v| v.clone()).unwrap_or_default();
        readings.sort_by(|a, b| a.at.total_cmp(&b.at));
        Polled {
            readings,
            failures_at: self.failures.lock().map(|v| v.clone()).unwrap_or_default(),
            health: self.health.lock().map(|v| v.clone()).unwrap_or_default(),
        }
    }
}

/// What the poller saw.
pub struct Polled {
    pub readings: Vec<Reading>,
    pub failures_at: Vec<f64>,
    pub health: Vec<(f64, bool)>,
}

/// `after - before` for every counter both have (gauges like `open` included;
/// the caller picks the ones that are counters).
pub fn delta(before: &Counters, after: &Counters) -> Counters {
    after
        .iter()
        .filter_map(|(k, a)| Some((k.clone(), a - before.get(k)?)))
        .collect()
}
