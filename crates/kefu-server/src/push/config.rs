//! `[push]`: Web Push to agents' browsers (docs/push.md). On by default:
//! the VAPID key it needs is generated on first start like the other secrets.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// Off: nothing is pushed and the API answers 409 `push_disabled`.
    pub enabled: bool,
    /// The VAPID `sub` claim: a `mailto:` address or `https:` URL where the
    /// operators of a push service can reach whoever runs this server (some
    /// services refuse pushes without one). Empty: `mailto:` the
    /// `[mail] from_address` when it is set, else `public_url`.
    pub subject: String,
    /// How long a push service keeps a notification for a browser that is
    /// offline (the `TTL` header), in seconds; 0: deliver now or drop it.
    pub ttl_secs: u64,
    /// Longest wait for one push service request, in milliseconds.
    pub timeout_ms: u64,
    /// Attempts per notification and subscription (a 404/410 answer ends
    /// the subscription at once instead).
    pub max_attempts: u32,
    /// The wait after the first failed attempt, in milliseconds; it doubles
    /// with each further failure.
    pub retry_base_ms: u64,
    /// A subscription that failed this many notifications in a row (no
    /// success in between) is deleted: its browser is gone for good.
    pub drop_after_failures: i64,
    /// Browsers (subscriptions) one agent may have; subscribing another
    /// drops the oldest.
    pub max_subscriptions_per_user: i64,
    /// Accept endpoints that are not `https:` or that point into loopback,
    /// private, link-local and other internal ranges. Off: refused, like
    /// webhook URLs, because an endpoint is a URL any agent can make kefu
    /// POST to. Real push services are public `https:` hosts; this is for
    /// tests and a push service run on one's own network.
    pub allow_private_endpoints: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            enabled: true,
            subject: String::new(),
            ttl_secs: 86_400,
            timeout_ms: 10_000,
            max_attempts: 3,
            retry_base_ms: 2_000,
            drop_after_failures: 50,
            max_subscriptions_per_user: 10,
            allow_private_endpoints: false,
        }
    }
}

impl PushConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        let subject_ok = self.subject.is_empty()
            || self.subject.starts_with("mailto:")
            || self.subject.starts_with("https://");
        if !subject_ok {
            return Err("push.subject must be a mailto: address or an https:// URL".into());
        }
        for (k, v) in [
            ("push.timeout_ms", self.timeout_ms),
            ("push.max_attempts", u64::from(self.max_attempts)),
            ("push.retry_base_ms", self.retry_base_ms),
            (
                "push.drop_after_failures",
                self.drop_after_failures.max(0) as u64,
            ),
            (
                "push.max_subscriptions_per_user",
                self.max_subscriptions_per_user.max(0) as u64,
            ),
        ] {
            if v == 0 {
                return Err(format!("{k} must be greater than 0"));
            }
        }
        // RFC 8030 allows any TTL; push services cap it (FCM: 4 weeks).
        if self.ttl_secs > 28 * 86_400 {
            return Err("push.ttl_secs is at most 2419200 (four weeks)".into());
        }
        Ok(())
    }
}
