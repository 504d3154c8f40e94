//! The socket as the HTTP server (and, after an upgrade, the WebSocket) sees
//! it: reads are reported to the connection's [`Activity`], a write that
//! makes no progress for `write_stall` fails with `TimedOut` (the client
//! stopped reading), and the connection's [`Permit`] is held for exactly as
//! long as the socket is open.

use super::{
    activity::Activity,
    gate::{Gate, Permit},
};
use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::{Instant, Sleep},
};

pub struct ConnIo {
    inner: TcpStream,
    activity: Arc<Activity>,
    write_stall: Duration,
    /// Armed while a write is pending: fires after `write_stall`, with the
    /// bytes the kernel still had to send when it was armed.
    stalled: Option<(Pin<Box<Sleep>>, Option<i64>)>,
    gate: Arc<Gate>,
    _permit: Permit,
}

impl ConnIo {
    pub fn new(
        inner: TcpStream,
        activity: Arc<Activity>,
        write_stall: Duration,
        gate: Arc<Gate>,
        permit: Permit,
    ) -> ConnIo {
        ConnIo {
            inner,
            activity,
            write_stall,
            stalled: None,
            gate,
            _permit: permit,
        }
    }

    pub fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    /// Notes a write that went out, or guards one that could not.
    fn progress(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match r {
            Poll::Pending => self.check_stall(cx),
            Poll::Ready(Ok(n)) => {
                self.stalled = None;
                if n > 0 {
                    self.activity.on_write();
                }
                Poll::Ready(Ok(n))
            }
            err => err,
        }
    }

    /// Called when a write could not progress: fails once the client has
    /// taken nothing for `write_stall`. A pending write alone is not a stall:
    /// with megabytes of kernel buffer, a slow reader can keep `write` pending
    /// for a long time while it drains, so the kernel's own queue of unsent
    /// bytes decides whether the client is still reading.
    fn check_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let stall = self.write_stall;
        let unsent = unsent_bytes(&self.inner);
        let (sleep, before) = self.stalled.get_or_insert_with(|| {
            (
                Box::pin(tokio::time::sleep_until(Instant::now() + stall)),
                unsent,
            )
        });
        loop {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = unsent_bytes(&self.inner);
            match (*before, now) {
                (Some(b), Some(n)) if n < b => {
                    // The client took some: give it another period.
                    *before = Some(n);
                    sleep.as_mut().reset(Instant::now() + stall);
                }
                _ => break,
            }
        }
        self.gate
            .counters
            .cut_write_stall
            .fetch_add(1, Ordering::Relaxed);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client stopped reading",
        )))
    }
}

/// Bytes written to the socket that the peer has not yet acknowledged
/// (Linux `SIOCOUTQ`); `None` where that cannot be asked.
fn unsent_bytes(s: &TcpStream) -> Option<i64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let mut n: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (= SIOCOUTQ) writes one int through the pointer we own.
        let r = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
        (r == 0).then_some(n as i64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = s;
        None
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let n = buf.filled().len() - before;
            if n > 0 {
                this.activity.on_read(n);
            }
        }
        r
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.progress(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.progress(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
