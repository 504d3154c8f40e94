//! Simulated users' connections: the widget session over HTTP, then a
//! WebSocket bound to one of several loopback source addresses (each gives
//! ~28k ephemeral ports), speaking kefu's protocol.

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

/// A `send` frame whose content starts with the send time.
pub fn send_frame(cmid: &str, conversation_id: Option<&str>, payload: &str) -> Message {
    let content = format!("t={} {payload}", crate::stats::now_micros());
    let mut f = json!({"type": "send", "client_msg_id": cmid, "content": content});
    if let Some(c) = conversation_id {
        f["conversation_id"] = json!(c);
    }
    Message::text(f.to_string())
}

/// The send time inside a message's content, if it is one of ours.
pub fn sent_at(content: &str) -> Option<u64> {
    content.strip_prefix("t=")?.split(' ').next()?.parse().ok()
}

pub async fn send(tx: &mut WsTx, m: Message) -> Result<()> {
    tx.send(m).await.context("websocket send")
}
