//! Per-key rate limits every transport shares (messages, logins, widget
//! sessions, typing over HTTP). Changes to conversations are in
//! [`crate::conversations`].

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use std::num::NonZeroU32;

/// Per-key rate limits shared by every transport.
pub struct Limiters {
    pub visitor_messages: DefaultKeyedRateLimiter<String>,
    pub login: DefaultKeyedRateLimiter<String>,
    pub widget_sessions: DefaultKeyedRateLimiter<String>,
    /// Typing indicators over HTTP, per sender (WebSockets have their frame limit).
    pub http_typing: DefaultKeyedRateLimiter<String>,
}

impl Limiters {
    pub fn new(l: &crate::config::Limits) -> Self {
        let per_min = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Limiters {
            visitor_messages: RateLimiter::keyed(per_min(l.visitor_messages_per_minute)),
            login: RateLimiter::keyed(per_min(l.login_attempts_per_minute)),
            widget_sessions: RateLimiter::keyed(per_min(l.widget_sessions_per_minute)),
            http_typing: RateLimiter::keyed(per_min(l.http_typing_per_minute)),
        }
    }

    /// Forgets idle keys so the limiters' memory stays bounded.
    pub fn prune(&self) {
        self.visitor_messages.retain_recent();
        self.login.retain_recent();
        self.widget_sessions.retain_recent();
        self.http_typing.retain_recent();
    }
}

/// `Err(seconds to wait)` when `key` is over its limit.
pub fn check_rate(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), u64> {
    limiter.check_key(&key.to_string()).map_err(|not_until| {
        let clock = governor::clock::DefaultClock::default();
        // Rounded up: a client told "wait 5 s" that waits 5 s must get through.
        let wait = not_until.wait_time_from(clock.now());
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    })
}
