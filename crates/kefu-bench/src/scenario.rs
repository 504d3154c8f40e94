//! Scenario files (TOML): what to simulate and for how long. Every scenario
//! is bounded in connections, messages and time, and targets loopback only.

use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Connect N visitors, hold, measure server memory per connection.
    Idle,
    /// Steady visitor → agent → visitor traffic at one or more offered rates.
    Chat,
    /// N visitors each sending M messages (some with file uploads) as fast as they can pace.
    Seed,
    /// Drop every connection, send to each conversation while they are away,
    /// reconnect all at once and verify each resumes exactly what it missed.
    ReconnectStorm,
    /// Normal chat through phases in which hostile clients attack the server
    /// (see the `[soak]` table); fails if normal traffic stopped being served.
    Soak,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub kind: Kind,
    /// Simulated visitors (one WebSocket each).
    pub visitors: usize,
    /// Simulated agents (one WebSocket each; every agent sees every message).
    #[serde(default = "one")]
    pub agents: usize,
    /// Handshakes (session + WebSocket) in flight at once while ramping up.
    #[serde(default = "default_concurrency")]
    pub connect_concurrency: usize,
    /// Idle: how long to hold the connections.
    #[serde(default = "default_hold")]
    pub hold_secs: u64,
    /// Chat: offered rates (visitor messages per second), each run for `step_secs`.
    #[serde(default)]
    pub rates: Vec<u64>,
    #[serde(default = "default_step")]
    pub step_secs: u64,
    /// Chat: seconds sent at the first rate before the first step and
    /// recorded nowhere (caches, the database and the first conversations
    /// warm up; the visitors' paced schedules settle).
    #[serde(default = "default_warmup")]
    pub warmup_secs: u64,
    /// Chat: the share of visitor messages an agent answers.
    #[serde(default = "one_f")]
    pub reply_ratio: f64,
    /// Seed: messages per visitor, pause between a visitor's messages, share sent as file uploads.
    #[serde(default)]
    pub messages_per_visitor: usize,
    #[serde(default = "default_think")]
    pub think_ms: u64,
    #[serde(default)]
    pub file_ratio: f64,
    /// Reconnect storm: messages each conversation receives while its visitor is away.
    #[serde(default = "one")]
    pub missed_per_visitor: usize,
    /// Bytes of text in each message (beyond the timestamp).
    #[serde(default = "default_payload")]
    pub payload_bytes: usize,
    /// Extra environment for the server (`KEFU_…` settings), e.g. a larger queue.
    #[serde(default)]
    pub server_env: std::collections::BTreeMap<String, String>,
    /// Soak: phases, attacks and pass/fail thresholds.
    #[serde(default)]
    pub soak: Option<crate::soak::Config>,
    /// Hard stop for the whole run.
    #[serde(default = "default_max")]
    pub max_secs: u64,
}

fn one() -> usize {
    1
}
fn one_f() -> f64 {
    1.0
}
fn default_concurrency() -> usize {
    256
}
fn default_hold() -> u64 {
    10
}
fn default_step() -> u64 {
    10
}
fn default_warmup() -> u64 {
    2
}
fn default_think() -> u64 {
    1000
}
fn default_payload() -> usize {
    64
}
fn default_max() -> u64 {
    600
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let s: Scenario =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.visitors > 0 && self.agents > 0,
            "visitors and agents must be > 0"
        );
        anyhow::ensure!(
            self.visitors + self.agents <= 19_500,
            "one process holds at most ~19,900 sockets (ulimit -n 20000)"
        );
        anyhow::ensure!(
            self.kind != Kind::Chat || !self.rates.is_empty(),
            "a chat scenario needs `rates`"
        );
        anyhow::ensure!(
            self.kind != Kind::Seed || self.messages_per_visitor > 0,
            "a seed scenario needs `messages_per_visitor`"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.file_ratio) && (0.0..=1.0).contains(&self.reply_ratio),
            "ratios are between 0 and 1"
        );
        anyhow::ensure!(
            (self.kind == Kind::Soak) == self.soak.is_some(),
            "a soak scenario, and only a soak scenario, has a [soak] table"
        );
        if let Some(soak) = &self.soak {
            soak.check()?;
            anyhow::ensure!(
                soak.secs() + 30 <= self.max_secs,
                "the soak's phases ({} s) and 30 s to set up and drain must fit in max_secs",
                soak.secs()
            );
            anyhow::ensure!(
                self.visitors + self.agents + soak.max_attack_sockets() <= 19_500,
                "one process holds at most ~19,900 sockets (ulimit -n 20000)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// Every scenario file in the repository parses and passes the checks.
    #[test]
    fn shipped_scenarios_are_valid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench");
        let mut n = 0;
        for dir in ["scenarios", "quick", "soak", "crosscheck"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("bench folder") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "toml") {
                    super::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
                    n += 1;
                }
            }
        }
        assert!(n >= 13, "found {n} scenario files");
    }

    #[test]
    fn limits_are_checked() {
        let bad = "name = \"x\"\nkind = \"idle\"\nvisitors = 25000\n";
        let s: super::Scenario = toml::from_str(bad).expect("parses");
        assert!(s.check().is_err(), "more sockets than one process may hold");
        assert!(
            toml::from_str::<super::Scenario>("name = \"x\"\nkind = \"dance\"\nvisitors = 1\n")
                .is_err()
        );
    }
}
