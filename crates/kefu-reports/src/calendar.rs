//! Business time: how much of a span falls in an inbox's opening hours.

/// Counts the open milliseconds of a span (`from` to `to`, epoch ms).
pub trait Calendar {
    fn open_ms(&self, from: i64, to: i64) -> i64;
}

/// An inbox without business hours: every moment counts, so the business
/// variant equals the wall-clock one (as Chatwoot's does for an inbox
/// without working hours).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOpen;

impl Calendar for AlwaysOpen {
    fn open_ms(&self, from: i64, to: i64) -> i64 {
        (to - from).max(0)
    }
}

impl Calendar for kefu_routing::clock::BusinessHours {
    /// A zone unknown to the bundled database (it was checked when saved)
    /// counts the whole span rather than none: the report stays plausible.
    fn open_ms(&self, from: i64, to: i64) -> i64 {
        self.open_ms_between(from, to)
            .unwrap_or_else(|_| (to - from).max(0))
    }
}
