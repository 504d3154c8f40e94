//! Connection accounting: every accepted socket takes a [`Permit`] from the
//! [`Gate`] and gives it back when the socket closes (the permit lives inside
//! the socket's I/O wrapper, so an upgraded WebSocket keeps it too).
//!
//! The gate decides at accept time, before a byte is read, what a connection
//! may do ([`Mode`]): serve everything, serve only the operator's priority
//! requests (the reserved headroom), be refused politely (503 / close 1013),
//! or be dropped at once when even that would cost too much.

use super::activity::Activity;
use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Instant,
};

/// The caps the gate enforces; see the `[limits]` keys of the same names.
#[derive(Debug, Clone)]
pub struct Caps {
    /// Effective total (already held below the open-file limit).
    pub max: usize,
    pub reserved: usize,
    pub per_ip: usize,
    pub per_ip_per_sec: f64,
    pub per_ip_burst: f64,
    /// Refusals answered politely (they read a request head) at once;
    /// beyond it a refused connection is answered and closed without reading.
    pub polite_refusals: usize,
}

/// What an accepted connection may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything.
    Serve,
    /// Only health checks, the console and logins (the reserved headroom).
    Priority,
    /// A polite refusal: its request is read and answered 503 / 1013.
    Refuse(Why),
    /// Answered `503` without reading, and closed.
    Drop(Why),
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The process is at `max_connections`.
    Full,
    /// The client address has `max_connections_per_ip` open.
    IpOpen,
    /// The client address opens connections faster than allowed.
    IpRate,
}

impl Why {
    /// The error code a refused client reads.
    pub fn code(self) -> &'static str {
        match self {
            Why::Full => "unavailable",
            Why::IpOpen | Why::IpRate => "too_many_connections",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Why::Full => "this server is at its connection limit; retry later or on another node",
            Why::IpOpen => "too many open connections from your address; retry later",
            Why::IpRate => "too many new connections from your address; slow down",
        }
    }
}

/// Per-address state: open connections and a token bucket of new ones.
#[derive(Debug)]
struct PerIp {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

/// Counters an operator reads (`GET /api/v1/server/connections`).
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub refused_full: AtomicU64,
    pub refused_ip_open: AtomicU64,
    pub refused_ip_rate: AtomicU64,
    pub priority_only: AtomicU64,
    pub cut_first_byte: AtomicU64,
    pub cut_header: AtomicU64,
    pub cut_keep_alive: AtomicU64,
    pub cut_body: AtomicU64,
    pub cut_write_stall: AtomicU64,
    /// WebSockets closed for not authenticating in time (4001).
    pub cut_auth: AtomicU64,
    /// Silent connections closed to make room for a new one when full.
    pub evicted_silent: AtomicU64,
}

/// Shared by the accept loop and every permit.
#[derive(Debug)]
pub struct Gate {
    caps: Caps,
    open: AtomicUsize,
    refusing: AtomicUsize,
    ips: Mutex<HashMap<IpAddr, PerIp>>,
    pub counters: Counters,
    /// True while the process is in its reserved headroom: idle connections
    /// then get the short refusal budgets, so silent sockets make room for
    /// clients with something to say (like Envoy's overload "reduce timeouts").
    pressure: tokio::sync::watch::Sender<bool>,
    /// Connections in the order they came, for evicting the oldest one that
    /// has still not sent a byte when the process is full (entries that
    /// spoke or closed are dropped as they reach the front).
    silent: Mutex<VecDeque<Weak<Activity>>>,
}

/// One accepted socket's share of the gate; released on drop.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    ip: Option<IpAddr>,
    refusing: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let before = self.gate.open.fetch_sub(1, Ordering::Relaxed);
        self.gate.update_pressure(before - 1);
        if self.refusing {
            self.gate.refusing.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(ip) = self.ip {
            let mut ips = self.gate.ips.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = ips.get_mut(&ip) {
                e.open = e.open.saturating_sub(1);
            }
        }
    }
}

/// The key an address is counted under: IPv6 clients usually hold a whole
/// /64, so they are counted per /64 (an IPv4-mapped address as IPv4).
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Gate {
    pub fn new(caps: Caps) -> Arc<Gate> {
        Arc::new(Gate {
            caps,
            open: AtomicUsize::new(0),
            refusing: AtomicUsize::new(0),
            ips: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            pressure: tokio::sync::watch::channel(false).0,
            silent: Mutex::new(VecDeque::new()),
        })
    }

    /// Watched by idle connections (see the field's doc).
    pub fn pressure(&self) -> tokio::sync::watch::Receiver<bool> {
        self.pressure.subscribe()
    }

    /// Pressure starts at the reserved headroom and ends below 90% of it
    /// (hysteresis, so it does not flap at the line).
    fn update_pressure(&self, open: usize) {
        let line = self.caps.max.saturating_sub(self.caps.reserved);
        let on = open >= line;
        let off = open < line - line / 10;
        // A read lock on the common path; the write only on a change.
        let now = *self.pressure.borrow();
        let next = (now || on) && !off;
        if next != now {
            self.pressure.send_replace(next);
        }
    }

    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// Connections open now (every mode).
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Decides for a socket just accepted from `peer`. `per_ip` is false for
    /// a trusted proxy, whose clients are counted per request instead.
    pub fn admit(
        self: &Arc<Self>,
        peer: IpAddr,
        per_ip: bool,
        now: Instant,
        activity: &Arc<Activity>,
    ) -> (Mode, Permit) {
        let c = &self.caps;
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let open = self.open.fetch_add(1, Ordering::Relaxed);
        self.update_pressure(open + 1);
        let mut permit = Permit {
            gate: self.clone(),
            ip: None,
            refusing: false,
        };
        let ip_verdict = if per_ip {
            let key = ip_key(peer);
            let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
            let e = ips.entry(key).or_insert(PerIp {
                open: 0,
                tokens: c.per_ip_burst,
                refilled: now,
            });
            let dt = now.saturating_duration_since(e.refilled).as_secs_f64();
            e.tokens = (e.tokens + dt * c.per_ip_per_sec).min(c.per_ip_burst);
            e.refilled = now;
            if e.open >= c.per_ip {
                Some(Why::IpOpen)
            } else if e.tokens < 1.0 {
                Some(Why::IpRate)
            } else {
                e.tokens -= 1.0;
                e.open += 1;
                permit.ip = Some(key);
                None
            }
        } else {
            None
        };
        // In the headroom or full: a client that may connect takes the place
        // of the oldest connection that has not said a word, rather than
        // being restricted or turned away.
        let line = c.max.saturating_sub(c.reserved);
        let open = if open >= line && ip_verdict.is_none() && self.evict_silent() {
            line.saturating_sub(1)
        } else {
            open
        };
        let mode = decide(open, c, ip_verdict);
        if !matches!(mode, Mode::Drop(_)) {
            self.remember(activity);
        }
        match mode {
            Mode::Refuse(why) | Mode::Drop(why) => self.count_refusal(why),
            Mode::Priority => {
                self.counters.priority_only.fetch_add(1, Ordering::Relaxed);
            }
            Mode::Serve => {}
        }
        let mode = match mode {
            Mode::Refuse(why) => {
                if self.refusing.fetch_add(1, Ordering::Relaxed) < c.polite_refusals {
                    permit.refusing = true;
                    Mode::Refuse(why)
                } else {
                    self.refusing.fetch_sub(1, Ordering::Relaxed);
                    Mode::Drop(why)
                }
            }
            m => m,
        };
        (mode, permit)
    }

    /// Queues a new connection as a candidate for eviction, and forgets a
    /// few at the front that have spoken or closed.
    fn remember(&self, activity: &Arc<Activity>) {
        let mut q = self.silent.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..8 {
            match q.front().map(|w| w.upgrade()) {
                Some(Some(a)) if a.is_silent() => break,
                Some(_) => {
                    q.pop_front();
                }
                None => break,
            }
        }
        q.push_back(Arc::downgrade(activity));
    }

    /// Closes the oldest connection that has not sent a byte; false if none.
    fn evict_silent(&self) -> bool {
        let mut q = self.silent.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(w) = q.pop_front() {
            if let Some(a) = w.upgrade()
                && a.is_silent()
            {
                a.evict();
                self.counters.evicted_silent.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    pub fn count_refusal(&self, why: Why) {
        let c = match why {
            Why::Full => &self.counters.refused_full,
            Why::IpOpen => &self.counters.refused_ip_open,
            Why::IpRate => &self.counters.refused_ip_rate,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes an open slot for a client behind a trusted proxy, for as long as
    /// one of its requests (or the WebSocket it upgraded to) lasts.
    pub fn admit_proxied(self: &Arc<Self>, client: IpAddr) -> Result<ClientSlot, Why> {
        let key = ip_key(client);
        let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
        let e = ips.entry(key).or_insert(PerIp {
            open: 0,
            tokens: self.caps.per_ip_burst,
            refilled: Instant::now(),
        });
        if e.open >= self.caps.per_ip {
            drop(ips);
            self.count_refusal(Why::IpOpen);
            return Err(Why::IpOpen);
        }
        e.open += 1;
        Ok(ClientSlot {
            gate: self.clone(),
            key,
        })
    }

    /// Forgets addresses with nothing open and a full bucket.
    pub fn prune(&self, now: Instant) {
        let c = &self.caps;
        let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
        ips.retain(|_, e| {
            let dt = now.saturating_duration_since(e.refilled).as_secs_f64();
            e.open > 0 || e.tokens + dt * c.per_ip_per_sec < c.per_ip_burst
        });
    }

    /// Addresses tracked now (for tests and the stats endpoint).
    pub fn tracked_ips(&self) -> usize {
        self.ips.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// A proxied client's open slot; released on drop.
#[derive(Debug)]
pub struct ClientSlot {
    gate: Arc<Gate>,
    key: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut ips = self.gate.ips.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = ips.get_mut(&self.key) {
            e.open = e.open.saturating_sub(1);
        }
    }
}

/// The pure decision: `open` connections were open before this one.
fn decide(open: usize, c: &Caps, ip: Option<Why>) -> Mode {
    if open >= c.max {
        return Mode::Drop(Why::Full);
    }
    if let Some(why) = ip {
        return Mode::Refuse(why);
    }
    if open >= c.max.saturating_sub(c.reserved) {
        return Mode::Priority;
    }
    Mode::Serve
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn act() -> Arc<Activity> {
        Arc::new(Activity::new())
    }

    fn caps() -> Caps {
        Caps {
            max: 10,
            reserved: 2,
            per_ip: 3,
            per_ip_per_sec: 1.0,
            per_ip_burst: 5.0,
            polite_refusals: 1,
        }
    }

    #[test]
    fn decision_order() {
        let c = caps();
        assert_eq!(decide(0, &c, None), Mode::Serve);
        assert_eq!(decide(7, &c, None), Mode::Serve);
        assert_eq!(decide(8, &c, None), Mode::Priority);
        assert_eq!(decide(10, &c, None), Mode::Drop(Why::Full));
        assert_eq!(decide(3, &c, Some(Why::IpOpen)), Mode::Refuse(Why::IpOpen));
        assert_eq!(decide(12, &c, Some(Why::IpRate)), Mode::Drop(Why::Full));
    }

    #[test]
    fn per_ip_open_cap_and_release() {
        let g = Gate::new(caps());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let now = Instant::now();
        let held: Vec<_> = (0..3).map(|_| g.admit(a, true, now, &act())).collect();
        assert!(held.iter().all(|(m, _)| *m == Mode::Serve));
        let (m, p) = g.admit(a, true, now, &act());
        assert_eq!(m, Mode::Refuse(Why::IpOpen));
        // Only one polite refusal at a time; the next is dropped unread.
        let (m2, _p2) = g.admit(a, true, now, &act());
        assert_eq!(m2, Mode::Drop(Why::IpOpen));
        drop(p);
        assert_eq!(
            g.admit(b, true, now, &act()).0,
            Mode::Serve,
            "another address is not affected"
        );
        drop(held);
        assert_eq!(
            g.admit(a, true, now, &act()).0,
            Mode::Serve,
            "released on drop"
        );
        assert_eq!(g.counters.refused_ip_open.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn per_ip_rate_refills() {
        let g = Gate::new(Caps {
            per_ip: 100,
            max: 100,
            ..caps()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..5 {
            let (m, p) = g.admit(a, true, t0, &act());
            assert_eq!(m, Mode::Serve);
            drop(p);
        }
        assert_eq!(g.admit(a, true, t0, &act()).0, Mode::Refuse(Why::IpRate));
        let (m, _) = g.admit(a, true, t0 + Duration::from_millis(1100), &act());
        assert_eq!(m, Mode::Serve, "one token back after a second");
    }

    #[test]
    fn reserve_and_full() {
        let g = Gate::new(caps());
        let now = Instant::now();
        let held: Vec<_> = (0..8)
            .map(|i| g.admit(IpAddr::from([10, 0, 0, i as u8]), true, now, &act()))
            .collect();
        assert!(held.iter().all(|(m, _)| *m == Mode::Serve));
        let p1 = g.admit("10.1.0.1".parse().unwrap(), true, now, &act());
        let p2 = g.admit("10.1.0.2".parse().unwrap(), true, now, &act());
        assert_eq!((p1.0, p2.0), (Mode::Priority, Mode::Priority));
        assert!(*g.pressure().borrow(), "the headroom is in use");
        let (m, p3) = g.admit("10.1.0.3".parse().unwrap(), true, now, &act());
        assert_eq!(m, Mode::Drop(Why::Full));
        drop(p3);
        assert_eq!(g.open(), 10, "the dropped one gave its slot back");
        drop((p1, p2));
        assert!(*g.pressure().borrow(), "still within 90% of the line");
        drop(held);
        assert!(!*g.pressure().borrow());
    }

    #[test]
    fn the_headroom_evicts_the_oldest_silent_connection() {
        let g = Gate::new(caps());
        let now = Instant::now();
        // Up to the line (max 10 - reserved 2): all served, nobody evicted.
        let acts: Vec<_> = (0..8).map(|_| act()).collect();
        let _held: Vec<_> = acts
            .iter()
            .enumerate()
            .map(|(i, a)| g.admit(IpAddr::from([10, 0, 0, i as u8]), true, now, a))
            .collect();
        assert!(acts.iter().all(|a| !a.is_evicted()));
        // The oldest has spoken; the second is the oldest silent one.
        acts[0].on_read(10);
        let newcomer = act();
        let (m, _p) = g.admit("10.9.9.9".parse().unwrap(), true, now, &newcomer);
        assert_eq!(m, Mode::Serve, "admitted in the evicted one's place");
        assert!(!acts[0].is_evicted() && acts[1].is_evicted() && !acts[2].is_evicted());
        assert_eq!(g.counters.evicted_silent.load(Ordering::Relaxed), 1);
        // Nobody silent left: the next one gets the headroom only.
        for a in &acts {
            a.on_read(1);
        }
        newcomer.on_read(1);
        let (m, _p2) = g.admit("10.9.9.8".parse().unwrap(), true, now, &act());
        assert_eq!(m, Mode::Priority);
    }

    #[test]
    fn ipv6_counts_per_64_and_prune_forgets() {
        assert_eq!(
            ip_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            ip_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_eq!(
            ip_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        let g = Gate::new(caps());
        let now = Instant::now();
        drop(g.admit("192.0.2.1".parse().unwrap(), true, now, &act()));
        assert_eq!(g.tracked_ips(), 1);
        g.prune(now + Duration::from_secs(10));
        assert_eq!(g.tracked_ips(), 0);
    }

    #[test]
    fn proxied_clients_have_their_own_slots() {
        let g = Gate::new(caps());
        let c: IpAddr = "203.0.113.5".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| g.admit_proxied(c).unwrap()).collect();
        assert_eq!(g.admit_proxied(c).unwrap_err(), Why::IpOpen);
        drop(slots);
        assert!(g.admit_proxied(c).is_ok());
    }
}
