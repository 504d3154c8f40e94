//! What one connection is doing, as far as its timeouts care, and the pure
//! rule that turns that into the next deadline.
//!
//! The I/O wrapper records reads, the service wrapper records requests
//! starting and finishing; the connection's watchdog sleeps until
//! [`next_deadline`] and closes the connection when one passes.

use std::{
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant},
};
use tokio::sync::Notify;

/// Timeouts of the connection stages the watchdog guards (the body and
/// write stalls are guarded where the bytes flow).
#[derive(Debug, Clone, Copy)]
pub struct StageTimeouts {
    pub first_byte: Duration,
    pub header: Duration,
    pub keep_alive_idle: Duration,
}

/// A stage whose budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Closed to make room: the process was full and it had said nothing.
    Evicted,
    FirstByte,
    Header,
    KeepAlive,
}

const NONE: u64 = u64::MAX;

/// Shared between a connection's I/O, its service and its watchdog. Times
/// are milliseconds since `start`.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    bytes_read: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicU32,
    /// When the connection last had no request in flight.
    idle_since: AtomicU64,
    /// When a write last made progress: a response hyper has taken whole
    /// (and so finished, as far as the service knows) may still be going out.
    last_write: AtomicU64,
    /// First byte read while idle: a new request head is arriving.
    head_started: AtomicU64,
    evicted: AtomicBool,
    pub changed: Notify,
}

/// A copy of [`Activity`] at one moment, for [`next_deadline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub bytes_read: u64,
    pub requests: u64,
    pub in_flight: u32,
    pub idle_since_ms: u64,
    pub last_write_ms: u64,
    pub head_started_ms: Option<u64>,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            start: Instant::now(),
            bytes_read: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Bytes arrived from the client.
    pub fn on_read(&self, n: usize) {
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_started.load(Ordering::Relaxed) == NONE
        {
            self.head_started.store(self.now_ms(), Ordering::Relaxed);
            self.changed.notify_one();
        }
    }

    /// No byte has come yet (and it was not evicted already).
    pub fn is_silent(&self) -> bool {
        self.bytes_read.load(Ordering::Relaxed) == 0 && !self.is_evicted()
    }

    /// Asks the connection's watchdog to close it (the process is full).
    pub fn evict(&self) {
        self.evicted.store(true, Ordering::Relaxed);
        self.changed.notify_one();
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Bytes went out to the client.
    pub fn on_write(&self) {
        self.last_write.store(self.now_ms(), Ordering::Relaxed);
    }

    pub fn request_started(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(NONE, Ordering::Relaxed);
        self.changed.notify_one();
    }

    pub fn request_finished(&self) {
        self.idle_since.store(self.now_ms(), Ordering::Relaxed);
        self.head_started.store(NONE, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.changed.notify_one();
    }

    pub fn snapshot(&self) -> Snapshot {
        let head = self.head_started.load(Ordering::Relaxed);
        Snapshot {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            idle_since_ms: self.idle_since.load(Ordering::Relaxed),
            last_write_ms: self.last_write.load(Ordering::Relaxed),
            head_started_ms: (head != NONE).then_some(head),
        }
    }
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

/// When (ms since the connection's start) and why the connection must be
/// closed if nothing changes; `None` while a request is in flight (its body
/// and writes have their own guards).
pub fn next_deadline(s: &Snapshot, t: &StageTimeouts) -> Option<(u64, Stage)> {
    let ms = |d: Duration| d.as_millis() as u64;
    if s.in_flight > 0 {
        return None;
    }
    if s.bytes_read == 0 {
        return Some((ms(t.first_byte), Stage::FirstByte));
    }
    // Idle from the end of the last response's bytes, not from the moment
    // hyper took it whole: a big download keeps its connection.
    let idle = s.idle_since_ms.max(s.last_write_ms) + ms(t.keep_alive_idle);
    match s.head_started_ms {
        Some(h) => {
            let head = h + ms(t.header);
            // A head that started while idle never gets more than the idle budget either.
            Some(if s.requests == 0 || head <= idle {
                (head, Stage::Header)
            } else {
                (idle, Stage::KeepAlive)
            })
        }
        None => Some((idle, Stage::KeepAlive)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: StageTimeouts = StageTimeouts {
        first_byte: Duration::from_secs(2),
        header: Duration::from_secs(5),
        keep_alive_idle: Duration::from_secs(30),
    };

    fn snap() -> Snapshot {
        Snapshot {
            bytes_read: 0,
            requests: 0,
            in_flight: 0,
            idle_since_ms: 0,
            last_write_ms: 0,
            head_started_ms: None,
        }
    }

    #[test]
    fn silent_connection_gets_the_first_byte_budget() {
        assert_eq!(next_deadline(&snap(), &T), Some((2000, Stage::FirstByte)));
    }

    #[test]
    fn a_started_head_gets_the_header_budget() {
        let s = Snapshot {
            bytes_read: 10,
            head_started_ms: Some(700),
            ..snap()
        };
        assert_eq!(next_deadline(&s, &T), Some((5700, Stage::Header)));
    }

    #[test]
    fn in_flight_requests_are_not_timed_here() {
        let s = Snapshot {
            bytes_read: 10,
            requests: 1,
            in_flight: 1,
            ..snap()
        };
        assert_eq!(next_deadline(&s, &T), None);
    }

    #[test]
    fn idle_keep_alive_then_a_late_head() {
        let idle = Snapshot {
            bytes_read: 100,
            requests: 1,
            idle_since_ms: 1000,
            ..snap()
        };
        assert_eq!(next_deadline(&idle, &T), Some((31_000, Stage::KeepAlive)));
        let late = Snapshot {
            head_started_ms: Some(29_000),
            ..idle
        };
        assert_eq!(next_deadline(&late, &T), Some((31_000, Stage::KeepAlive)));
        let early = Snapshot {
            head_started_ms: Some(2_000),
            ..idle
        };
        assert_eq!(next_deadline(&early, &T), Some((7_000, Stage::Header)));
    }

    #[test]
    fn a_response_still_going_out_keeps_the_connection() {
        let s = Snapshot {
            bytes_read: 100,
            requests: 1,
            idle_since_ms: 1000,
            last_write_ms: 50_000,
            ..snap()
        };
        assert_eq!(next_deadline(&s, &T), Some((80_000, Stage::KeepAlive)));
    }

    #[test]
    fn activity_records_heads_and_requests() {
        let a = Activity::new();
        a.on_read(16);
        let s = a.snapshot();
        assert!(s.head_started_ms.is_some() && s.bytes_read == 16);
        a.request_started();
        a.on_read(4);
        assert_eq!(
            a.snapshot().head_started_ms,
            None,
            "reads in flight are body"
        );
        a.request_finished();
        let s = a.snapshot();
        assert_eq!((s.requests, s.in_flight, s.head_started_ms), (1, 0, None));
    }
}
