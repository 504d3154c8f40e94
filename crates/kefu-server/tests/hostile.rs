//! Hostile clients against the real binary over real sockets: every kind of
//! stalled connection is closed within its budget, per-address caps refuse
//! the excess at once, the reserved headroom keeps health checks answering,
//! and with the open-file limit lowered to 1,024 a flood of 1,100 silent
//! sockets does not stop a visitor from chatting.
//!
//! The sleeps here are the behaviour under test (clients that trickle, stall
//! or wait out a budget) or a poll for the real binary to come up; none waits
//! for work kefu could signal.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::{
    net::{IpAddr, SocketAddr},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const BIN: &str = env!("CARGO_BIN_EXE_kefu");

/// These tests measure time budgets and open hundreds of sockets: one at a
/// time, so two servers on a 2-core machine do not skew each other.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const OWNER: &str = "owner@hostile.test";
const PASSWORD: &str = "hostile-passw0rd";

/// The binary on a free port with a fresh SQLite data dir, an owner, an
/// inbox, and short budgets unless a test says otherwise.
struct Kefu {
    child: Child,
    addr: SocketAddr,
    owner: String,
    inbox_key: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The budgets these tests use (seconds); each test measures against them.
const FIRST_BYTE: u64 = 1;
const HEADER: u64 = 2;
const KEEP_ALIVE: u64 = 3;
const BODY: u64 = 2;
const WRITE_STALL: u64 = 2;
const AUTH: u64 = 1;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Kefu {
    async fn start(env: &[(&str, String)], nofile: Option<u64>) -> Kefu {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let base = |c: &mut Command| {
            c.env("KEFU_DATA_DIR", dir.path())
                .env("KEFU_LISTEN", addr.to_string())
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        };
        let mut create = Command::new(BIN);
        base(&mut create);
        let ok = create
            .args(["user", "create", "--workspace", "Hostile", "--email", OWNER])
            .args(["--role", "owner"])
            .env("KEFU_USER_PASSWORD", PASSWORD)
            .status()
            .unwrap();
        assert!(ok.success(), "kefu user create");
        let mut serve = Command::new(BIN);
        base(&mut serve);
        let defaults = [
            ("KEFU_LIMITS__FIRST_BYTE_TIMEOUT_SECS", FIRST_BYTE),
            ("KEFU_LIMITS__HEADER_TIMEOUT_SECS", HEADER),
            ("KEFU_LIMITS__KEEP_ALIVE_IDLE_SECS", KEEP_ALIVE),
            ("KEFU_LIMITS__BODY_STALL_SECS", BODY),
            ("KEFU_LIMITS__BODY_GRACE_SECS", BODY),
            ("KEFU_LIMITS__WRITE_STALL_SECS", WRITE_STALL),
            ("KEFU_LIMITS__AUTH_TIMEOUT_SECS", AUTH),
        ];
        for (k, v) in defaults {
            serve.env(k, v.to_string());
        }
        for (k, v) in env {
            serve.env(k, v);
        }
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: only setrlimit between fork and exec.
            unsafe {
                serve.pre_exec(move || {
                    let r = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let log = std::fs::File::create(dir.path().join("kefu.log")).unwrap();
        let out = std::fs::File::create(dir.path().join("stdout.txt")).unwrap();
        let child = serve.arg("serve").stderr(log).stdout(out).spawn().unwrap();
        // Idle pooled connections are dropped well before the server's
        // short budgets close them: a pooled one it had just closed failed
        // the next request (IncompleteMessage) for reasons not the test's.
        // (Not unpooled: hundreds of fresh connections would meet the
        // per-address connection limits these tests also set.)
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let mut k = Kefu {
            child,
            addr,
            owner: String::new(),
            inbox_key: String::new(),
            http,
            _dir: dir,
        };
        k.wait_ready().await;
        let r: Value = k
            .http
            .post(k.url("/api/v1/auth/login"))
            .json(&json!({"email": OWNER, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        k.owner = r["access_token"].as_str().expect("login").to_string();
        let inbox: Value = k
            .http
            .post(k.url("/api/v1/inboxes"))
            .bearer_auth(&k.owner)
            .json(&json!({"name": "Web", "widget": {"offline": "chat"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        k.inbox_key = inbox["public_key"].as_str().expect("inbox").to_string();
        k
    }

    async fn wait_ready(&self) {
        for _ in 0..300 {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let log = std::fs::read_to_string(self._dir.path().join("kefu.log")).unwrap_or_default();
        panic!("kefu did not become ready:\n{log}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stats(&self) -> Value {
        let r = self
            .http
            .get(self.url("/api/v1/server/connections"))
            .bearer_auth(&self.owner)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// A new visitor: (token, conversation id of its first message).
    async fn visitor(&self, http: &reqwest::Client) -> Result<(String, String), u16> {
        let r = http
            .post(self.url("/api/v1/widget/session"))
            .json(&json!({"inbox_key": self.inbox_key}))
            .send()
            .await
            .map_err(|_| 0u16)?;
        if r.status() != 200 {
            return Err(r.status().as_u16());
        }
        let v: Value = r.json().await.unwrap();
        let token = v["visitor_token"].as_str().unwrap().to_string();
        let r = http
            .post(self.url("/api/v1/widget/messages"))
            .bearer_auth(&token)
            .json(&json!({"content": "你好 hello", "client_msg_id": "first"}))
            .send()
            .await
            .map_err(|_| 0u16)?;
        if r.status() != 201 {
            return Err(r.status().as_u16());
        }
        let v: Value = r.json().await.unwrap();
        Ok((
            token,
            v["message"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string(),
        ))
    }
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection from a chosen loopback address (so "other clients"
/// really have other addresses).
async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(from, 0))?;
    s.connect(to).await
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Reads until the server closes; returns what came and when it closed.
async fn until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Instant>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return (got, None),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(Instant::now())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Closed no earlier than most of the budget and no later than it plus slack.
fn assert_within(what: &str, start: Instant, closed: Option<Instant>, budget: u64) {
    let closed = closed.unwrap_or_else(|| panic!("{what}: still open"));
    let took = closed - start;
    let b = Duration::from_secs(budget);
    assert!(
        took >= b.mul_f64(0.8) && took <= b + Duration::from_millis(1500),
        "{what}: closed after {took:?}, budget {b:?}"
    );
}

#[tokio::test]
async fn stalled_connections_are_closed_within_their_budgets() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(&[], None).await;
    let me = ip("127.0.0.1");

    // Silent after connecting.
    let start = Instant::now();
    let mut silent = connect_from(me, k.addr).await.unwrap();
    // Half a request head, then nothing.
    let mut half = connect_from(me, k.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A body announced as 1000 bytes, four sent.
    let mut short = connect_from(me, k.addr).await.unwrap();
    short
        .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"em")
        .await
        .unwrap();
    // One request, then an idle keep-alive.
    let mut idle = connect_from(me, k.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    let (silent_r, half_r, short_r, idle_r) = tokio::join!(
        until_closed(&mut silent, Duration::from_secs(8)),
        until_closed(&mut half, Duration::from_secs(8)),
        until_closed(&mut short, Duration::from_secs(8)),
        until_closed(&mut idle, Duration::from_secs(8)),
    );
    assert!(silent_r.0.is_empty());
    assert_within("silent TCP", start, silent_r.1, FIRST_BYTE);
    assert_within("half header", start, half_r.1, HEADER);
    let short_text = String::from_utf8_lossy(&short_r.0);
    assert!(
        short_text.starts_with("HTTP/1.1 408") && short_text.contains("body_timeout"),
        "{short_text}"
    );
    assert_within("short body", start, short_r.1, BODY);
    assert!(String::from_utf8_lossy(&idle_r.0).starts_with("HTTP/1.1 200"));
    assert_within("idle keep-alive", start, idle_r.1, KEEP_ALIVE);

    let s = k.stats().await;
    assert!(s["cut_first_byte"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["cut_header"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["cut_body"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["cut_keep_alive"].as_u64().unwrap() >= 1, "{s}");
}

#[tokio::test]
async fn a_trickling_body_is_cut_and_a_slow_honest_upload_is_not() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(&[], None).await;
    let head = |len: usize| {
        format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    // One byte every 300 ms: never stalls long, but far below 512 B/s.
    let mut trickle = TcpStream::connect(k.addr).await.unwrap();
    trickle.write_all(head(1000).as_bytes()).await.unwrap();
    let start = Instant::now();
    let writer = async {
        for _ in 0..30 {
            if trickle.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(6), writer).await;
    let (got, closed) = until_closed(&mut trickle, Duration::from_secs(3)).await;
    assert!(
        String::from_utf8_lossy(&got).contains("408"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    let took = closed.expect("closed") - start;
    assert!(took < Duration::from_secs(BODY + 3), "took {took:?}");

    // 48 KiB at about 12 KiB/s: slow, steady, and served (401: wrong password).
    let body = format!(
        "{{\"email\":\"{OWNER}\",\"password\":\"wrong\",\"pad\":\"{}\"}}",
        "x".repeat(48 * 1024)
    );
    let mut honest = TcpStream::connect(k.addr).await.unwrap();
    honest.write_all(head(body.len()).as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(3 * 1024) {
        honest.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), honest.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(!answer.contains("408"), "{answer}");
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
}

#[tokio::test]
async fn a_websocket_that_never_authenticates_is_closed() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(&[], None).await;
    let start = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", k.addr))
        .await
        .unwrap();
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => break Some(u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => break None,
        }
    };
    assert_eq!(code, Some(4001));
    assert_within(
        "unauthenticated WebSocket",
        start,
        Some(Instant::now()),
        AUTH,
    );
    assert_eq!(k.stats().await["cut_auth"], 1);
}

#[tokio::test]
async fn an_event_stream_that_stops_reading_is_cut() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(&[], None).await;
    let (token, conv) = k.visitor(&k.http).await.unwrap();
    // A tiny receive window, and the stream is never read past its head.
    let s = TcpSocket::new_v4().unwrap();
    s.set_recv_buffer_size(4096).unwrap();
    let mut sse = s.connect(k.addr).await.unwrap();
    sse.write_all(
        format!("GET /api/v1/widget/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = vec![0u8; 512];
    let n = sse.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    // The agent writes long messages until the stream's buffers are full and
    // its queue overflows (the slow consumer is dropped from the hub).
    let big = "客服".repeat(2000);
    for i in 0..600 {
        let r = k
            .http
            .post(k.url(&format!("/api/v1/conversations/{conv}/messages")))
            .bearer_auth(&k.owner)
            .json(&json!({"content": big, "client_msg_id": format!("m{i}")}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        if i % 50 == 49 && k.stats().await["realtime"] == 0 {
            break;
        }
    }
    let flooded = Instant::now();
    loop {
        let s = k.stats().await;
        if s["cut_write_stall"].as_u64().unwrap() >= 1 && s["realtime"].as_u64().unwrap() == 0 {
            break;
        }
        assert!(
            flooded.elapsed() < Duration::from_secs(WRITE_STALL + 3),
            "the stream was not cut: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(sse);
}

#[tokio::test]
async fn per_address_caps_refuse_at_once() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(
        &[
            ("KEFU_LIMITS__MAX_CONNECTIONS_PER_IP", "10".into()),
            ("KEFU_LIMITS__CONNECTIONS_PER_IP_BURST", "1000".into()),
            ("KEFU_LIMITS__CONNECTIONS_PER_IP_PER_SECOND", "1000".into()),
            ("KEFU_LIMITS__FIRST_BYTE_TIMEOUT_SECS", "30".into()),
        ],
        None,
    )
    .await;
    let a = ip("127.0.0.3");
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(connect_from(a, k.addr).await.unwrap());
    }
    // The 11th from the same address: HTTP gets 503 with Retry-After at once.
    let start = Instant::now();
    let mut over = connect_from(a, k.addr).await.unwrap();
    over.write_all(b"GET /api/v1/inboxes HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (got, closed) = until_closed(&mut over, Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&got).to_lowercase();
    assert!(text.starts_with("http/1.1 503"), "{text}");
    assert!(
        text.contains("retry-after: 5") && text.contains("too_many_connections"),
        "{text}"
    );
    // At once, against a first-byte budget of 30 s.
    assert!(closed.unwrap() - start < Duration::from_secs(2));
    // A WebSocket from it is closed with 1013 (try again later).
    let stream = connect_from(a, k.addr).await.unwrap();
    let req = format!("ws://{}/ws", k.addr).into_client_request().unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
        Ok(Some(Ok(Message::Close(Some(f))))) => assert_eq!(u16::from(f.code), 1013),
        other => panic!("expected close 1013, got {other:?}"),
    }
    // Another address is served meanwhile.
    let mut other = connect_from(ip("127.0.0.4"), k.addr).await.unwrap();
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = until_closed(&mut other, Duration::from_secs(3)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    // Rate: 5 new connections per second from one address, then refusals.
    drop(held);
    let k2 = Kefu::start(
        &[
            ("KEFU_LIMITS__CONNECTIONS_PER_IP_BURST", "5".into()),
            ("KEFU_LIMITS__CONNECTIONS_PER_IP_PER_SECOND", "1".into()),
        ],
        None,
    )
    .await;
    let b = ip("127.0.0.5");
    // All seven connect first (the bucket refills one a second), then ask.
    let mut socks = Vec::new();
    for _ in 0..7 {
        socks.push(connect_from(b, k2.addr).await.unwrap());
    }
    let mut answers = Vec::new();
    for s in &mut socks {
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
        let (got, _) = until_closed(s, Duration::from_secs(3)).await;
        answers.push(
            String::from_utf8_lossy(&got)
                .get(9..12)
                .unwrap_or("")
                .to_string(),
        );
    }
    assert_eq!(&answers[..5], &["200"; 5]);
    assert_eq!(&answers[5..], &["503"; 2], "{answers:?}");
    let s = k2.stats().await;
    assert!(s["refused_ip_rate"].as_u64().unwrap() >= 2, "{s}");
}

#[tokio::test]
async fn the_headroom_keeps_health_checks_answering() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(
        &[
            ("KEFU_LIMITS__MAX_CONNECTIONS", "60".into()),
            ("KEFU_LIMITS__RESERVED_CONNECTIONS", "20".into()),
            ("KEFU_LIMITS__FIRST_BYTE_TIMEOUT_SECS", "30".into()),
            // Long enough for the checks below to run while the headroom is in use.
            ("KEFU_LIMITS__PRESSURE_IDLE_SECS", "5".into()),
        ],
        None,
    )
    .await;
    // 45 idle keep-alive connections from several addresses (they spoke, so
    // they are not evicted like silent ones): past 40, the headroom is in use.
    let mut held = Vec::new();
    for i in 0..45u8 {
        let mut c = connect_from(IpAddr::from([127, 0, 2, 1 + i % 9]), k.addr)
            .await
            .unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let _ = c.read(&mut buf).await;
        held.push(c);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = client.get(k.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "health checks use the headroom");
    let r = client
        .post(k.url("/api/v1/widget/session"))
        .json(&json!({"inbox_key": k.inbox_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        503,
        "other requests are refused in the headroom"
    );
    assert!(r.headers().contains_key("retry-after"));
    let r = client
        .get(k.url("/api/v1/server/connections"))
        .bearer_auth(&k.owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a staff member can still look in");
    // Under that pressure silent sockets get the short budget, and room comes back.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(k.visitor(&client).await.is_ok());
    let s = k.stats().await;
    // Cut until the process is out of the headroom (below 90% of its line), not all.
    assert!(s["cut_keep_alive"].as_u64().unwrap() >= 5, "{s}");
    assert!(s["open"].as_u64().unwrap() < 40, "{s}");
    drop(held);
}

/// With `ulimit -n 1024` (a cap of 896 connections), 1,100 silent sockets
/// from five addresses, each under its per-address cap, fill the process;
/// meanwhile a visitor connects, sends and gets the agent's answer live, and
/// `/healthz` answers every time it is asked: the oldest silent sockets make
/// room for clients with something to say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_silent_sockets_do_not_stop_a_visitor() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(
        &[
            ("KEFU_LIMITS__FIRST_BYTE_TIMEOUT_SECS", "10".into()),
            // Every attack socket is admitted: this is about the process cap.
            ("KEFU_LIMITS__CONNECTIONS_PER_IP_BURST", "1000".into()),
        ],
        Some(1024),
    )
    .await;
    // This process holds 1,100 sockets too.
    let fds = kefu_server::net::raise_fd_limit().unwrap_or(u64::MAX);
    assert!(fds > 1300, "the test needs ulimit -n above 1300, not {fds}");
    let s = k.stats().await;
    assert_eq!(s["open_file_limit"], 1024, "{s}");
    assert_eq!(s["max"], 1024 - 128, "{s}");
    let banner = std::fs::read_to_string(k._dir.path().join("stdout.txt")).unwrap();
    assert!(
        banner.contains("warning: open-file limit 1024: kefu will hold at most 896 connections"),
        "the start-up banner says what the limit implies:\n{banner}"
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let health = {
        let url = k.url("/healthz");
        let stop = stop.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            let (mut ok, mut failed) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => ok += 1,
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (ok, failed)
        })
    };
    let mut attack = Vec::new();
    for i in 0..1100u32 {
        let from = IpAddr::from([127, 0, 3, 1 + (i % 5) as u8]);
        if let Ok(s) = connect_from(from, k.addr).await {
            attack.push(s);
        }
    }
    assert_eq!(
        attack.len(),
        1100,
        "the kernel accepted every attack socket"
    );
    // The visitor, with the attack in place.
    let client = reqwest::Client::new();
    let (token, conv) = k
        .visitor(&client)
        .await
        .expect("the visitor gets a session");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", k.addr))
        .await
        .expect("the visitor's WebSocket");
    ws.send(Message::text(
        json!({"type":"auth","token":token}).to_string(),
    ))
    .await
    .unwrap();
    let r = client
        .post(k.url(&format!("/api/v1/conversations/{conv}/messages")))
        .bearer_auth(&k.owner)
        .json(&json!({"content": "我们在 — we are here", "client_msg_id": "answer"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m
                && t.contains("we are here")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(got, Ok(true), "the visitor got the answer live");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = health.await.unwrap();
    assert!(ok > 0 && failed == 0, "healthz: {ok} ok, {failed} failed");
    let s = k.stats().await;
    assert!(s["evicted_silent"].as_u64().unwrap() >= 200, "{s}");
    assert!(s["open"].as_u64().unwrap() <= 900, "{s}");
    drop(attack);
}

/// Behind a trusted proxy the proxy's own sockets are not held to the
/// per-address cap; the clients it forwards are, for as long as their
/// WebSocket stays open.
#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_counted_by_their_own_address() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(
        &[
            ("KEFU_TRUSTED_PROXIES", "[\"127.0.0.0/8\"]".into()),
            ("KEFU_LIMITS__MAX_CONNECTIONS_PER_IP", "3".into()),
            // The held WebSockets stay unauthenticated for the whole test.
            ("KEFU_LIMITS__AUTH_TIMEOUT_SECS", "30".into()),
        ],
        None,
    )
    .await;
    let ws_from = |client: &'static str| {
        let mut req = format!("ws://{}/ws", k.addr).into_client_request().unwrap();
        req.headers_mut()
            .insert("x-forwarded-for", client.parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(ws_from("203.0.113.9").await.unwrap().0);
    }
    let (mut fourth, _) = ws_from("203.0.113.9").await.unwrap();
    match tokio::time::timeout(Duration::from_secs(2), fourth.next()).await {
        Ok(Some(Ok(Message::Close(Some(f))))) => assert_eq!(u16::from(f.code), 1013),
        other => panic!("expected close 1013, got {other:?}"),
    }
    // Another client through the same proxy address is served.
    let (mut other, _) = ws_from("198.51.100.4").await.unwrap();
    let token = k.visitor(&k.http).await.unwrap().0;
    other
        .send(Message::text(
            json!({"type":"auth","token":token}).to_string(),
        ))
        .await
        .unwrap();
    let hello = tokio::time::timeout(Duration::from_secs(2), other.next()).await;
    assert!(
        matches!(&hello, Ok(Some(Ok(Message::Text(t)))) if t.contains("hello")),
        "{hello:?}"
    );
    // Still refused while three are open; closing one frees its slot.
    let (mut fifth, _) = ws_from("203.0.113.9").await.unwrap();
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(2), fifth.next()).await,
        Ok(Some(Ok(Message::Close(Some(f))))) if u16::from(f.code) == 1013
    ));
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (mut again, _) = ws_from("203.0.113.9").await.unwrap();
        again
            .send(Message::text(
                json!({"type":"auth","token":token}).to_string(),
            ))
            .await
            .unwrap();
        match tokio::time::timeout(Duration::from_secs(2), again.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.contains("hello") => break,
            other => assert!(Instant::now() < deadline, "slot not freed: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A response hyper takes whole (an 8 MB download) may take longer to go out
/// than the keep-alive budget: its connection is not cut while bytes flow.
#[tokio::test]
async fn a_slow_download_is_not_cut_by_the_keep_alive_budget() {
    let _serial = SERIAL.lock().await;
    let k = Kefu::start(&[], None).await;
    let file: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file.clone()).file_name("big.bin"),
    );
    let r = k
        .http
        .post(k.url("/api/v1/attachments"))
        .bearer_auth(&k.owner)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(16 * 1024).unwrap();
    let mut s = sock.connect(k.addr).await.unwrap();
    s.write_all(
        format!(
            "GET /api/v1/attachments/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            k.owner
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // About 1 MB/s: 8 s in all, well past the 3 s keep-alive budget.
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    while got.len() < file.len() + 200 {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        if got.windows(4).any(|w| w == b"\r\n\r\n") {
            let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            if got.len() - head_end >= file.len() {
                break;
            }
        }
    }
    let head_end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    assert!(String::from_utf8_lossy(&got[..head_end]).starts_with("HTTP/1.1 200"));
    assert_eq!(
        got.len() - head_end,
        file.len(),
        "the whole file arrived: {}",
        k.stats().await
    );
    assert!(got[head_end..] == file[..]);
    assert!(
        start.elapsed() > Duration::from_secs(KEEP_ALIVE),
        "the download outlasted the budget"
    );
}
