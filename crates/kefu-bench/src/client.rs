//! Simulated users' connections: the widget session over HTTP, then a
//! WebSocket bound to one of several loopback source addresses (each gives
//! ~28k ephemeral ports), speaking kefu's protocol.

use crate::pace::Bucket;
use anyhow::{Context, Result, bail};
use futures::{SinkExt, StreamExt, stream::SplitSink};
use kefu_core::protocol::ServerFrame;
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, protocol::WebSocketConfig},
};

pub type Ws = WebSocketStream<TcpStream>;
pub type WsTx = SplitSink<Ws, Message>;

/// Source addresses rotate over 127.0.0.2 ..= 127.0.0.(1 + SOURCES).
const SOURCES: u32 = 8;

pub fn source_for(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (i as u32 % SOURCES) as u8)
}

/// A new anonymous visitor; returns its token.
pub async fn visitor_session(
    http: &reqwest::Client,
    base: &str,
    inbox_key: &str,
) -> Result<String> {
    let v: Value = http
        .post(format!("{base}/api/v1/widget/session"))
        .json(&json!({"inbox_key": inbox_key, "page_url": "https://shop.example.com/bench", "language": "zh-CN"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    v["visitor_token"]
        .as_str()
        .map(str::to_string)
        .context("no visitor_token")
}

/// Opens a WebSocket from `src`, authenticates, waits for `hello`.
pub async fn connect(server: SocketAddr, src: Ipv4Addr, token: &str) -> Result<(Ws, ServerFrame)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(src, 0)))?;
    socket.set_nodelay(true)?;
    let stream = socket.connect(server).await?;
    // Small client buffers too: the load generator holds as many sockets as the server.
    let cfg = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    // As a browser would: the page's Origin, which the server checks per inbox.
    let mut req = format!("ws://{server}/ws").into_client_request()?;
    req.headers_mut().insert(
        "origin",
        tokio_tungstenite::tungstenite::http::HeaderValue::from_static("https://shop.example.com"),
    );
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(cfg)).await?;
    ws.send(Message::text(
        json!({"type": "auth", "v": 1, "token": token}).to_string(),
    ))
    .await?;
    match next_frame(&mut ws).await? {
        Some(f @ ServerFrame::Hello { .. }) => Ok((ws, f)),
        other => bail!("expected hello, got {other:?}"),
    }
}

/// The next protocol frame (pings are answered by the library).
pub async fn next_frame<S>(rx: &mut S) -> Result<Option<ServerFrame>>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(m) = rx.next().await {
        match m? {
            Message::Text(t) => return Ok(Some(serde_json::from_str(&t)?)),
            Message::Close(f) => {
                if let Some(f) = &f
                    && u16::from(f.code) != 1000
                {
                    eprintln!("closed by server: {} {}", u16::from(f.code), f.reason);
                }
                return Ok(None);
            }
            _ => continue,
        }
    }
    Ok(None)
}

/// What a message carries so that its receiver can time it: when it was
/// due ([`crate::stats::Stats::micros`], the run's monotonic clock) and the
/// measured step it belongs to (`None`: recorded nowhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub at: u64,
    pub step: Bucket,
}

impl Stamp {
    /// For messages nobody times (e.g. a newcomer's first message).
    pub const UNTIMED: Stamp = Stamp { at: 0, step: None };

    /// The start of a message's content: `t=<µs> s=<step or ->`.
    pub fn text(&self) -> String {
        match self.step {
            Some(s) => format!("t={} s={s}", self.at),
            None => format!("t={} s=-", self.at),
        }
    }

    /// The stamp at the start of a message's content, if it is one of ours.
    pub fn parse(content: &str) -> Option<Stamp> {
        let mut words = content.split(' ');
        let at = words.next()?.strip_prefix("t=")?.parse().ok()?;
        let step = match words.next()?.strip_prefix("s=")? {
            "-" => None,
            n => Some(n.parse().ok()?),
        };
        Some(Stamp { at, step })
    }
}

/// A `send` frame whose content starts with its [`Stamp`].
pub fn send_frame(
    cmid: &str,
    conversation_id: Option<&str>,
    stamp: Stamp,
    payload: &str,
) -> Message {
    let content = format!("{} {payload}", stamp.text());
    let mut f = json!({"type": "send", "client_msg_id": cmid, "content": content});
    if let Some(c) = conversation_id {
        f["conversation_id"] = json!(c);
    }
    Message::text(f.to_string())
}

pub async fn send(tx: &mut WsTx, m: Message) -> Result<()> {
    tx.send(m).await.context("websocket send")
}

#[cfg(test)]
mod tests {
    use super::Stamp;

    #[test]
    fn stamps_read_back() {
        for s in [
            Stamp {
                at: 123_456,
                step: Some(2),
            },
            Stamp { at: 7, step: None },
        ] {
            assert_eq!(Stamp::parse(&format!("{} hello 你好", s.text())), Some(s));
            assert_eq!(Stamp::parse(&s.text()), Some(s), "with no payload");
        }
        assert_eq!(Stamp::parse("t=12"), None);
        assert_eq!(Stamp::parse("hello"), None);
        assert_eq!(Stamp::parse("t=1 s=x y"), None);
    }
}
