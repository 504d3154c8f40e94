//! What one realtime connection has delivered of each conversation, and what
//! a live message frame needs before it goes out. Frames of one conversation
//! can reach a connection out of order (two commands commit in `seq` order
//! but publish from different tasks), and the range a connection has
//! delivered has a lower end too: an agent who connected mid-conversation
//! first sees seq 7, then the overtaken seq 6 must still go out (it is not
//! a duplicate). Pure, shared by the WebSocket and SSE transports.

use std::collections::HashMap;

/// The decision for one live message frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Already delivered: drop it.
    Duplicate,
    /// Send it.
    Send,
    /// Send stored messages `after < seq <= upto` first (it overtook them),
    /// then it.
    FillFirst { after: i64, upto: i64 },
    /// Send it, then stored messages `after < seq <= upto` (it was overtaken
    /// by later ones that went out first).
    FillAfter { after: i64, upto: i64 },
}

/// Per conversation, the contiguous range of `seq`s delivered.
#[derive(Debug, Default)]
pub struct Delivered {
    ranges: HashMap<String, (i64, i64)>,
}

impl Delivered {
    /// Decides for a live frame of `conv` with `seq`, and records it.
    pub fn admit(&mut self, conv: &str, seq: i64) -> Admit {
        let Some(&(low, high)) = self.ranges.get(conv) else {
            self.ranges.insert(conv.to_string(), (seq, seq));
            return Admit::Send;
        };
        let (range, admit) = if (low..=high).contains(&seq) {
            ((low, high), Admit::Duplicate)
        } else if seq == high + 1 {
            ((low, seq), Admit::Send)
        } else if seq > high {
            (
                (low, seq),
                Admit::FillFirst {
                    after: high,
                    upto: seq - 1,
                },
            )
        } else if seq == low - 1 {
            ((seq, high), Admit::Send)
        } else {
            (
                (seq, high),
                Admit::FillAfter {
                    after: seq,
                    upto: low - 1,
                },
            )
        };
        self.ranges.insert(conv.to_string(), range);
        admit
    }

    /// Records that the client has everything of `conv` up to `upto` (a
    /// catch-up after `hello`, or a gap filled from the store).
    pub fn synced(&mut self, conv: &str, upto: i64) {
        let r = self.ranges.entry(conv.to_string()).or_insert((1, upto));
        r.0 = 1;
        r.1 = r.1.max(upto);
    }

    /// The highest `seq` delivered of `conv`, if any.
    pub fn last(&self, conv: &str) -> Option<i64> {
        self.ranges.get(conv).map(|r| r.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_frames_go_out_and_repeats_are_dropped() {
        let mut d = Delivered::default();
        assert_eq!(d.admit("c", 4), Admit::Send);
        assert_eq!(d.admit("c", 5), Admit::Send);
        assert_eq!(d.admit("c", 5), Admit::Duplicate);
        assert_eq!(d.admit("c", 4), Admit::Duplicate);
        assert_eq!(d.last("c"), Some(5));
    }

    #[test]
    fn a_frame_that_overtook_others_fills_the_gap_first() {
        let mut d = Delivered::default();
        d.admit("c", 2);
        assert_eq!(d.admit("c", 6), Admit::FillFirst { after: 2, upto: 5 });
        for s in 3..=6 {
            assert_eq!(d.admit("c", s), Admit::Duplicate);
        }
    }

    #[test]
    fn an_overtaken_frame_below_the_first_one_still_goes_out() {
        let mut d = Delivered::default();
        assert_eq!(d.admit("c", 7), Admit::Send);
        assert_eq!(d.admit("c", 6), Admit::Send);
        assert_eq!(d.admit("c", 3), Admit::FillAfter { after: 3, upto: 5 });
        for s in 3..=7 {
            assert_eq!(d.admit("c", s), Admit::Duplicate);
        }
    }

    #[test]
    fn a_catch_up_covers_everything_below() {
        let mut d = Delivered::default();
        d.synced("c", 10);
        assert_eq!(d.admit("c", 1), Admit::Duplicate);
        assert_eq!(d.admit("c", 11), Admit::Send);
        d.admit("k", 20);
        d.synced("k", 12);
        assert_eq!(d.admit("k", 15), Admit::Duplicate);
        assert_eq!(d.last("k"), Some(20));
    }
}
