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
    /// Armed while a write is pending; fires after `write_stall`.
    stalled: Option<Pin<Box<Sleep>>>,
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
    fn progress(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
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

    /// Called when a write could not progress: fails once the stall lasted too long.
    fn check_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let stall = self.write_stall;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + stall)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.gate
                    .counters
                    .cut_write_stall
                    .fetch_add(1, Ordering::Relaxed);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
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
