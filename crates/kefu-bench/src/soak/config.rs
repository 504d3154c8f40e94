//! The `[soak]` table of a scenario: the phases of the run, the attacks each
//! phase runs while normal visitors chat, and what counts as a failure.
//!
//! Everything is bounded: a phase lasts `secs`, an attack holds at most
//! `connections` sockets at once and a flood opens at most `per_second`.

use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Normal traffic: visitor messages per second, all visitors together
    /// (agents answer `reply_ratio` of them), in every phase.
    pub chat_rate: u64,
    /// In order; e.g. baseline (no attack), attack, recovery.
    pub phases: Vec<Phase>,
    pub attacks: Vec<Attack>,
    /// A normal visitor's send not acknowledged within this fails the run.
    #[serde(default = "default_ack_timeout")]
    pub ack_timeout_secs: u64,
    /// Per phase: (errors + overdue acks) / sends above this fails the run.
    #[serde(default = "default_error_ratio")]
    pub max_error_ratio: f64,
    /// Per phase: acknowledged visitor sends below this share of the offered
    /// ones fails the run (normal traffic stopped being served).
    #[serde(default = "default_served")]
    pub min_served_ratio: f64,
    /// A new visitor (session, WebSocket, first message acknowledged) tries
    /// every this many milliseconds, in every phase; 0 = none.
    #[serde(default = "default_newcomer_every")]
    pub newcomer_every_ms: u64,
    /// A newcomer retries (as the widget does) until this; past it, it failed.
    #[serde(default = "default_newcomer_timeout")]
    pub newcomer_timeout_secs: u64,
    /// Per phase: newcomers that got in below this share fails the run.
    /// Past the global cap the server serves only its reserved requests, so
    /// a phase that fills the server may expect less than 1.
    #[serde(default)]
    pub min_newcomer_ratio: f64,
    /// Per phase: `/healthz` checks (one a second) answered 200 below this
    /// share fails the run: the reserved headroom exists to keep them answered.
    #[serde(default)]
    pub min_health_ratio: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    pub secs: u64,
    /// Names of the attacks running in this phase. An attack listed in
    /// consecutive phases keeps its connections across the boundary.
    #[serde(default)]
    pub attacks: Vec<String>,
    /// Whether this phase's failures fail the run (default yes).
    #[serde(default = "yes")]
    pub checked: bool,
    /// This phase's own `min_newcomer_ratio` (e.g. lower while the server is full).
    #[serde(default)]
    pub min_newcomer_ratio: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackKind {
    /// Connect and send nothing (first-byte budget).
    Silent,
    /// A request head, one byte every `interval_ms` (header budget).
    SlowHeader,
    /// A complete head announcing `body_bytes`, then one byte every
    /// `interval_ms` (body stall / minimum rate → 408).
    SlowBody,
    /// One request, read the answer, then silence (keep-alive idle budget).
    IdleKeepAlive,
    /// A WebSocket upgrade that never sends its `auth` frame (close 4001).
    WsNoAuth,
    /// `GET /healthz` with `Connection: close`, again and again, at most
    /// `per_second` in all (per-address rate cap).
    Flood,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attack {
    pub name: String,
    pub kind: AttackKind,
    /// Sockets held at once (each reconnects when cut, like an attack tool).
    pub connections: usize,
    /// Source addresses the sockets are spread over: attack number `k` (in
    /// file order) uses 127.0.(10 + k).1 ..= 127.0.(10 + k).`addresses`, so
    /// attackers never share an address with the normal visitors
    /// (127.0.0.1 ..= 127.0.0.9).
    #[serde(default = "one")]
    pub addresses: usize,
    /// Slow kinds: pause between the bytes they trickle.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Slow body: the Content-Length announced.
    #[serde(default = "default_body")]
    pub body_bytes: usize,
    /// Flood: new connections per second, all its sockets together.
    #[serde(default = "default_per_second")]
    pub per_second: u64,
    /// Pause before reconnecting after a connection ended.
    #[serde(default = "default_reconnect")]
    pub reconnect_ms: u64,
    /// If set, one of its connections open longer than this fails the run
    /// (the server's budget for it did not work).
    #[serde(default)]
    pub cut_within_secs: Option<f64>,
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn default_ack_timeout() -> u64 {
    5
}
fn default_error_ratio() -> f64 {
    0.01
}
fn default_served() -> f64 {
    0.9
}
fn default_newcomer_every() -> u64 {
    1000
}
fn default_newcomer_timeout() -> u64 {
    10
}
fn default_interval() -> u64 {
    1000
}
fn default_body() -> usize {
    10_000
}
fn default_per_second() -> u64 {
    100
}
fn default_reconnect() -> u64 {
    100
}

impl Config {
    /// Sockets the attacks hold at most at once (the generator's own budget).
    pub fn max_attack_sockets(&self) -> usize {
        self.attacks.iter().map(|a| a.connections).sum()
    }

    pub fn secs(&self) -> u64 {
        self.phases.iter().map(|p| p.secs).sum()
    }

    pub fn check(&self) -> anyhow::Result<()> {
        use anyhow::ensure;
        ensure!(!self.phases.is_empty(), "a soak needs phases");
        ensure!(
            self.chat_rate > 0,
            "a soak needs normal traffic (chat_rate)"
        );
        ensure!(
            self.attacks.len() <= 200,
            "at most 200 attacks (each has its own 127.0.x.0/24)"
        );
        let mut names = BTreeSet::new();
        for a in &self.attacks {
            ensure!(names.insert(a.name.as_str()), "attack {} twice", a.name);
            ensure!(
                a.connections > 0 && a.connections <= 5000,
                "attack {}: connections between 1 and 5000",
                a.name
            );
            ensure!(
                (1..=254).contains(&a.addresses),
                "attack {}: addresses between 1 and 254",
                a.name
            );
            ensure!(
                a.kind != AttackKind::Flood || (1..=5000).contains(&a.per_second),
                "attack {}: per_second between 1 and 5000",
                a.name
            );
            ensure!(
                a.interval_ms >= 10,
                "attack {}: interval_ms at least 10",
                a.name
            );
        }
        let mut phases = BTreeSet::new();
        for p in &self.phases {
            ensure!(phases.insert(p.name.as_str()), "phase {} twice", p.name);
            ensure!(p.secs > 0, "phase {}: secs must be > 0", p.name);
            ensure!(
                p.min_newcomer_ratio
                    .is_none_or(|r| (0.0..=1.0).contains(&r)),
                "phase {}: min_newcomer_ratio is between 0 and 1",
                p.name
            );
            for a in &p.attacks {
                ensure!(
                    names.contains(a.as_str()),
                    "phase {}: no attack named {a}",
                    p.name
                );
            }
        }
        for r in [
            self.max_error_ratio,
            self.min_served_ratio,
            self.min_newcomer_ratio,
            self.min_health_ratio,
        ] {
            ensure!((0.0..=1.0).contains(&r), "ratios are between 0 and 1");
        }
        ensure!(self.ack_timeout_secs > 0, "ack_timeout_secs must be > 0");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Config {
        toml::from_str(s).expect("parses")
    }

    const OK: &str = r#"
chat_rate = 10
phases = [{ name = "base", secs = 1 }, { name = "attack", secs = 2, attacks = ["s"] }]
attacks = [{ name = "s", kind = "silent", connections = 3 }]
"#;

    #[test]
    fn a_small_soak_is_valid() {
        let c = parse(OK);
        c.check().expect("valid");
        assert_eq!((c.secs(), c.max_attack_sockets()), (3, 3));
        assert_eq!(c.ack_timeout_secs, 5);
    }

    #[test]
    fn unknown_attack_names_and_bad_sizes_are_refused() {
        let c = parse(&OK.replace("attacks = [\"s\"]", "attacks = [\"t\"]"));
        assert!(c.check().is_err());
        let c = parse(&OK.replace("connections = 3", "connections = 3, addresses = 300"));
        assert!(c.check().is_err());
        assert!(toml::from_str::<Config>(&OK.replace("silent", "dance")).is_err());
    }
}
