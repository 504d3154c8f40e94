//! One attack connection of each kind, on a raw socket from a chosen source
//! address, and how it ended: what the server answered (503, 408, a
//! WebSocket close code) or how it closed the socket (FIN, reset).
//!
//! Nothing here trusts the server: every read is bounded, a malformed answer
//! is classified, never unwrapped.

use super::config::{Attack, AttackKind};
use futures::StreamExt;
use serde::Serialize;
use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    sync::watch,
};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

/// How an attack connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum How {
    /// The server answered with this HTTP status (then closed, or we did).
    Status(u16),
    /// The server closed the WebSocket with this code.
    WsClose(u16),
    /// The server closed the socket (FIN) without an answer we count.
    Eof,
    /// The server reset the socket.
    Reset,
    /// The TCP connection (or the WebSocket handshake) did not complete.
    ConnectFailed,
    /// Still open when the attack stopped: the server never ended it.
    OpenAtStop,
}

/// What an ending means for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Ending {
    /// Refused at once past a cap (503, close 1013).
    Refused,
    /// Cut by the server past a budget (408, close 4001, FIN, reset).
    Cut,
    /// Served normally (a flood's `/healthz`).
    Served,
    /// Could not connect.
    Failed,
    /// Outlived the attack.
    Open,
}

impl How {
    pub fn ending(self) -> Ending {
        match self {
            How::Status(503) | How::Status(429) | How::WsClose(1013) => Ending::Refused,
            How::Status(s) if s < 400 => Ending::Served,
            How::Status(_) | How::WsClose(_) | How::Eof | How::Reset => Ending::Cut,
            How::ConnectFailed => Ending::Failed,
            How::OpenAtStop => Ending::Open,
        }
    }

    pub fn label(self) -> String {
        match self {
            How::Status(s) => s.to_string(),
            How::WsClose(c) => format!("ws close {c}"),
            How::Eof => "closed (FIN)".into(),
            How::Reset => "reset (RST)".into(),
            How::ConnectFailed => "connect failed".into(),
            How::OpenAtStop => "open at stop".into(),
        }
    }
}

/// A connection's life: when it was established (None if it never was) and how it ended.
pub struct Life {
    pub opened: Option<std::time::Instant>,
    pub how: How,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// After our write fails (the server closed), how long to look for its answer.
const LAST_WORDS: Duration = Duration::from_secs(1);
/// Bytes of an answer kept for classification.
const KEEP: usize = 512;

/// Attack number `attack` (file order), socket `slot`: 127.0.(10 + attack).(1 + slot % addresses).
pub fn source(attack: usize, slot: usize, addresses: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (10 + attack) as u8, (1 + slot % addresses) as u8)
}

async fn connect(server: SocketAddr, src: Ipv4Addr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::V4(SocketAddrV4::new(src, 0)))?;
    match tokio::time::timeout(CONNECT_TIMEOUT, s.connect(server)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Runs one connection of `a`'s kind until the server ends it or `stop` turns true.
pub async fn one(
    a: &Attack,
    server: SocketAddr,
    src: Ipv4Addr,
    stop: &mut watch::Receiver<bool>,
) -> Life {
    // What the connection sends first, what it trickles after, and whether
    // the first answer is the outcome.
    let body_head;
    let (head, drip, answer_ends): (&[u8], Option<u8>, bool) = match a.kind {
        AttackKind::WsNoAuth => return ws_no_auth(server, src, stop).await,
        AttackKind::Silent => (b"", None, false),
        // A valid head whose last header line never ends.
        AttackKind::SlowHeader => (
            b"GET /healthz HTTP/1.1\r\nHost: kefu\r\nX-Slow: ",
            Some(b'a'),
            false,
        ),
        AttackKind::SlowBody => {
            // A route that reads its body before anything else.
            body_head = format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: kefu\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{",
                a.body_bytes
            );
            (body_head.as_bytes(), Some(b' '), false)
        }
        AttackKind::IdleKeepAlive => (b"GET /healthz HTTP/1.1\r\nHost: kefu\r\n\r\n", None, false),
        AttackKind::Flood => (
            b"GET /healthz HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\n\r\n",
            None,
            true,
        ),
    };
    let Ok(stream) = connect(server, src).await else {
        return Life {
            opened: None,
            how: How::ConnectFailed,
        };
    };
    let opened = Some(std::time::Instant::now());
    let how = trickle(stream, head, drip, a.interval_ms, stop, answer_ends).await;
    Life { opened, how }
}

/// Sends `head`, then one `drip` byte every `interval_ms`, while reading what
/// the server says, until it closes or `stop`. `answer_ends` (a flood): the
/// first complete status line is the outcome.
async fn trickle(
    mut stream: TcpStream,
    head: &[u8],
    drip: Option<u8>,
    interval_ms: u64,
    stop: &mut watch::Receiver<bool>,
    answer_ends: bool,
) -> How {
    let (mut rd, mut wr) = stream.split();
    let mut got = Vec::new();
    if !head.is_empty() && wr.write_all(head).await.is_err() {
        return last_words(&mut rd, got).await;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.reset();
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            biased;
            r = rd.read(&mut buf) => match r {
                Ok(0) => return classify(&got, How::Eof, answer_ends),
                Ok(n) => {
                    keep(&mut got, &buf[..n]);
                    if answer_ends && status(&got).is_some() {
                        return classify(&got, How::Eof, true);
                    }
                }
                Err(e) => return classify(&got, io_end(&e), answer_ends),
            },
            _ = stop.changed() => return How::OpenAtStop,
            _ = tick.tick(), if drip.is_some() => {
                let b = [drip.unwrap_or_default()];
                if wr.write_all(&b).await.is_err() {
                    return last_words(&mut rd, got).await;
                }
            }
        }
    }
}

/// Our write failed: the server closed. Read what it may have said first.
async fn last_words(rd: &mut tokio::net::tcp::ReadHalf<'_>, mut got: Vec<u8>) -> How {
    let mut buf = [0u8; 1024];
    let end = tokio::time::Instant::now() + LAST_WORDS;
    loop {
        match tokio::time::timeout_at(end, rd.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => return classify(&got, How::Eof, false),
            Ok(Ok(n)) => keep(&mut got, &buf[..n]),
            Ok(Err(e)) => return classify(&got, io_end(&e), false),
        }
    }
}

fn keep(got: &mut Vec<u8>, more: &[u8]) {
    let room = KEEP.saturating_sub(got.len());
    got.extend_from_slice(&more[..more.len().min(room)]);
}

fn io_end(e: &std::io::Error) -> How {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => How::Reset,
        _ => How::Eof,
    }
}

/// The status of an HTTP answer at the start of `got`, once its status line is complete.
pub fn status(got: &[u8]) -> Option<u16> {
    let line_end = got.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&got[..line_end]).ok()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// An error answer (or, for a flood, any answer) is the outcome; a success
/// answer followed by a close (the idle keep-alive) ends as the close.
pub fn classify(got: &[u8], end: How, answer_ends: bool) -> How {
    match status(got) {
        Some(s) if s >= 400 || answer_ends => How::Status(s),
        _ => end,
    }
}

/// A WebSocket upgrade that never authenticates; ends with the server's close code.
async fn ws_no_auth(server: SocketAddr, src: Ipv4Addr, stop: &mut watch::Receiver<bool>) -> Life {
    let failed = Life {
        opened: None,
        how: How::ConnectFailed,
    };
    let Ok(stream) = connect(server, src).await else {
        return failed;
    };
    let Ok(req) = format!("ws://{server}/ws").into_client_request() else {
        return failed;
    };
    let opened = Some(std::time::Instant::now());
    let handshake = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::client_async(req, stream),
    );
    let mut ws = match handshake.await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(tungstenite::Error::Http(res))) => {
            return Life {
                opened,
                how: How::Status(res.status().as_u16()),
            };
        }
        Ok(Err(tungstenite::Error::Io(e))) => {
            return Life {
                opened,
                how: io_end(&e),
            };
        }
        Ok(Err(_)) => {
            return Life {
                opened,
                how: How::Eof,
            };
        }
        Err(_) => return failed,
    };
    let how = loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Close(f))) => {
                    break How::WsClose(f.map(|f| u16::from(f.code)).unwrap_or(1005));
                }
                Some(Ok(_)) => continue,
                Some(Err(tungstenite::Error::Io(e))) => break io_end(&e),
                Some(Err(_)) | None => break How::Eof,
            },
            _ = stop.changed() => break How::OpenAtStop,
        }
    };
    Life { opened, how }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        let r503 = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\n";
        assert_eq!(status(r503), Some(503));
        assert_eq!(status(b"HTTP/1.1 50"), None, "an incomplete status line");
        assert_eq!(status(b"garbage\r\n"), None);
        assert_eq!(classify(r503, How::Eof, false), How::Status(503));
        assert_eq!(How::Status(503).ending(), Ending::Refused);
        let ok = b"HTTP/1.1 200 OK\r\n\r\n";
        // An idle keep-alive: the answer was fine, the close is what counts.
        assert_eq!(classify(ok, How::Eof, false), How::Eof);
        assert_eq!(How::Eof.ending(), Ending::Cut);
        // A flood: the answer is the outcome.
        assert_eq!(classify(ok, How::Eof, true), How::Status(200));
        assert_eq!(How::Status(200).ending(), Ending::Served);
        assert_eq!(How::Status(408).ending(), Ending::Cut);
        assert_eq!(How::WsClose(1013).ending(), Ending::Refused);
        assert_eq!(How::WsClose(4001).ending(), Ending::Cut);
    }

    #[test]
    fn attackers_never_use_the_normal_addresses() {
        assert_eq!(source(0, 0, 1), Ipv4Addr::new(127, 0, 10, 1));
        assert_eq!(source(3, 5, 4), Ipv4Addr::new(127, 0, 13, 2));
        assert_eq!(source(199, 253, 254), Ipv4Addr::new(127, 0, 209, 254));
    }
}
