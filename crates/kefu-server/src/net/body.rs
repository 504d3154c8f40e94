//! Request bodies with a pace: a body that brings no byte for `stall`, or
//! whose average rate after `grace` falls below `min_rate`, ends with an
//! error and the request is answered `408 body_timeout` on a connection that
//! then closes. A slow upload of a big file keeps its connection; a
//! `Content-Length: 1000` that sends four bytes and waits does not.

use axum::body::{Body, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::time::{Instant, Sleep};

/// How fast a body must come.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub stall: Duration,
    pub min_rate: u64,
    pub grace: Duration,
}

impl Pace {
    /// When the body is too late if no more bytes come: after `got` bytes
    /// since `start`, the last at `last`.
    pub fn deadline(&self, start: Instant, last: Instant, got: u64) -> Instant {
        let stall = last + self.stall;
        if self.min_rate == 0 {
            return stall;
        }
        // The time by which `got` bytes are exactly the minimum average rate.
        let rate = start
            + self
                .grace
                .max(Duration::from_secs_f64(got as f64 / self.min_rate as f64));
        stall.min(rate)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the request body came too slowly")]
pub struct TooSlow;

/// Wraps a request body; `timed_out` is set when it gives up, so the
/// service can answer 408 whatever the handler made of the error.
pub struct PacedBody {
    inner: Body,
    pace: Pace,
    start: Option<Instant>,
    last: Instant,
    got: u64,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl PacedBody {
    pub fn new(inner: Body, pace: Pace, timed_out: Arc<AtomicBool>) -> PacedBody {
        PacedBody {
            inner,
            pace,
            start: None,
            last: Instant::now(),
            got: 0,
            sleep: None,
            timed_out,
        }
    }
}

impl HttpBody for PacedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let now = Instant::now();
        let start = *this.start.get_or_insert_with(|| {
            this.last = now;
            now
        });
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.got += d.len() as u64;
                    this.last = now;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                let deadline = this.pace.deadline(start, this.last, this.got);
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.timed_out.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(axum::Error::new(TooSlow))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_the_earlier_of_stall_and_rate() {
        let p = Pace {
            stall: Duration::from_secs(20),
            min_rate: 1000,
            grace: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        // Nothing yet: the grace period decides.
        assert_eq!(p.deadline(t0, t0, 0), t0 + Duration::from_secs(10));
        // 50 kB in: the rate allows 50 s, the stall 20 s after the last byte.
        let last = t0 + Duration::from_secs(5);
        assert_eq!(p.deadline(t0, last, 50_000), last + Duration::from_secs(20));
        // 15 kB in at 14 s: rate runs out at 15 s.
        let last = t0 + Duration::from_secs(14);
        assert_eq!(p.deadline(t0, last, 15_000), t0 + Duration::from_secs(15));
        let no_rate = Pace { min_rate: 0, ..p };
        assert_eq!(no_rate.deadline(t0, t0, 0), t0 + Duration::from_secs(20));
    }
}
