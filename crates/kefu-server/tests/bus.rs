//! The event bus against real brokers, never mocks: the machine's NATS
//! JetStream (127.0.0.1:4222) and RabbitMQ (127.0.0.1:5672), and a private
//! `nats-server` this file starts, stops and restarts itself. A broker of the
//! machine that is down is started with the machine's own command, or the
//! test fails saying so; nothing is skipped.
//!
//! Every test drives real chat traffic (visitors over WebSocket, an agent
//! over REST, routing), then compares what the broker holds with the outbox
//! itself: every event exactly once, byte for byte, with its subject or
//! routing key, and each conversation's events in commit order.
#![cfg(all(feature = "nats", feature = "amqp"))]

mod common;

use common::*;
use futures::StreamExt;
use kefu_core::{Role, event::Event};
use kefu_server::config::Secret;
use kefu_store::OutboxRow;
use serde_json::json;
use std::{
    collections::{HashMap, HashSet},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::{Duration, Instant},
};

const NATS_BIN: &str = "/usr/sbin/nats-server";

// ---------------------------------------------------------------------------
// Brokers

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// Makes sure a machine service answers on `port`, starting it with the
/// machine's own command (docs: the machine notes) if it does not.
fn ensure_service(name: &str, port: u16, start: &[&str], wait: Duration) {
    if port_open(port) {
        return;
    }
    let cmd = start.join(" ");
    eprintln!("{name} is not answering on 127.0.0.1:{port}; starting it: {cmd}");
    let status = Command::new(start[0]).args(&start[1..]).status();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if port_open(port) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{name} is required on 127.0.0.1:{port} and did not come up with `{cmd}` ({status:?}); \
         start it (make services) and run the tests again"
    );
}

fn ensure_machine_nats() {
    ensure_service(
        "NATS (JetStream)",
        4222,
        &[
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            NATS_BIN,
            "--",
            "-a",
            "127.0.0.1",
            "-p",
            "4222",
            "-js",
            "-sd",
            "/var/lib/nats-server",
            "-l",
            "/var/log/nats-server.log",
        ],
        Duration::from_secs(15),
    );
}

fn ensure_machine_rabbitmq() {
    ensure_service(
        "RabbitMQ",
        5672,
        &["rabbitmq-server", "-detached"],
        Duration::from_secs(90),
    );
}

/// A name no other test run uses (streams, subjects, exchanges).
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// A `nats-server` of this test's own on a free port, with its own store
/// directory; stopped by its own pid, never by name.
struct PrivateNats {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl PrivateNats {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Not started yet: kefu may be pointed at it first.
    fn new(dir: &Path) -> PrivateNats {
        assert!(
            Path::new(NATS_BIN).exists(),
            "{NATS_BIN} is required for the fault test (Debian package nats-server)"
        );
        PrivateNats {
            child: None,
            port: Self::free_port(),
            dir: dir.to_path_buf(),
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port and store) and waits until
    /// JetStream answers.
    async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats.log"))
            .unwrap();
        let child = Command::new(NATS_BIN)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.join("store"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            // JetStream answers its API (account info) once it is up.
            if let Ok(c) = async_nats::connect(self.url()).await
                && let Ok(m) = c.request("$JS.API.INFO", "".into()).await
                && serde_json::from_slice::<serde_json::Value>(&m.payload)
                    .is_ok_and(|v| v.get("error").is_none())
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "private nats-server did not come up; see {}",
                self.dir.join("nats.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `signal` to its own pid and waits for it to exit.
    fn stop(&mut self, signal: i32) {
        let mut child = self.child.take().expect("running");
        let pid = child.id() as libc::pid_t;
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
        child.wait().expect("nats-server exits");
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Traffic

/// A visitor's session, with an identify call (contact events, which have no
/// conversation), then `messages` sends over WebSocket, each acknowledged;
/// the agent answers once over REST while the visitor goes on, and resolves
/// the conversation at the end. Returns the conversation id.
async fn visitor_chat(app: &TestApp, t: &Tenant, n: usize, messages: usize) -> String {
    let (vtoken, _) = app.visitor(&t.inbox).await;
    let (s, _) = app
        .post(
            &vtoken,
            "/api/v1/widget/identify",
            json!({"name": format!("访客 {n}"), "attributes": {"n": n}}),
        )
        .await;
    assert_eq!(s, 200);
    let (mut ws, _) = app.ws(&vtoken).await;
    let ack = ws.send_text(None, &format!("v{n}-0"), "你好").await;
    let conv = ack["conversation_id"].as_str().unwrap().to_string();
    let agent_reply = async {
        let (s, r) = app
            .post(
                &t.token,
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"client_msg_id": format!("a{n}"), "content": "您好，请讲"}),
            )
            .await;
        assert!(s == 200 || s == 201, "agent reply: {s} {r}");
    };
    let visitor_goes_on = async {
        for i in 1..messages {
            ws.send_text(Some(&conv), &format!("v{n}-{i}"), &format!("消息 {i}"))
                .await;
        }
    };
    tokio::join!(agent_reply, visitor_goes_on);
    let (s, r) = app
        .post(
            &t.token,
            &format!("/api/v1/conversations/{conv}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "resolve: {r}");
    conv
}

/// `visitors` chats at once; returns when every send is acknowledged and
/// routing has settled.
async fn chat(app: &TestApp, t: &Tenant, visitors: usize, messages: usize) {
    futures::future::join_all((0..visitors).map(|n| visitor_chat(app, t, n, messages))).await;
    app.state.routing_idle().await;
}

/// Waits until consumer `name` has passed every event in the outbox.
async fn drained(app: &TestApp, name: &str, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let head = app.store.outbox_head().await.unwrap();
        let cursor = app.store.outbox_cursor(name, 0).await.unwrap();
        if cursor >= head {
            return head;
        }
        assert!(
            Instant::now() < deadline,
            "{name} still at {cursor} of {head} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn all_events(app: &TestApp) -> Vec<OutboxRow> {
    app.store.outbox_after(0, 1_000_000).await.unwrap()
}

// ---------------------------------------------------------------------------
// Checking what a broker holds against the outbox

/// One message as a broker's consumer saw it.
#[derive(Debug)]
struct Got {
    /// `Nats-Msg-Id` / AMQP `message_id`.
    id: String,
    /// The subject / routing key.
    key: String,
    payload: Vec<u8>,
}

#[derive(Debug, Default)]
struct Tally {
    events: usize,
    conversations: usize,
    messages: usize,
    without_conversation: usize,
}

/// Every outbox event arrived exactly once, byte for byte, under the key
/// `key_of` gives it, and each conversation's events arrived in outbox
/// (commit) order, its messages' `seq` rising.
fn check(expected: &[OutboxRow], got: &[Got], key_of: impl Fn(&Event) -> String) -> Tally {
    let mut seen = HashSet::new();
    for g in got {
        assert!(seen.insert(g.id.as_str()), "event {} arrived twice", g.id);
    }
    let by_id: HashMap<&str, &OutboxRow> =
        expected.iter().map(|r| (r.event.id.as_str(), r)).collect();
    for g in got {
        let row = by_id
            .get(g.id.as_str())
            .unwrap_or_else(|| panic!("{} is not an outbox event", g.id));
        assert_eq!(g.key, key_of(&row.event), "key of {}", g.id);
        assert!(
            g.payload == row.payload.as_bytes(),
            "payload of {} differs from the outbox",
            g.id
        );
    }
    let missing: Vec<&str> = by_id
        .keys()
        .filter(|id| !seen.contains(*id))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} events never arrived, e.g. {:?}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(3)]
    );
    // Order per conversation: as committed.
    let per_conv = |ids: &mut dyn Iterator<Item = &str>| {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for id in ids {
            if let Some(c) = by_id[id].event.conversation_id() {
                m.entry(c.to_string()).or_default().push(id.to_string());
            }
        }
        m
    };
    let want = per_conv(&mut expected.iter().map(|r| r.event.id.as_str()));
    let have = per_conv(&mut got.iter().map(|g| g.id.as_str()));
    let mut tally = Tally {
        events: got.len(),
        conversations: want.len(),
        ..Tally::default()
    };
    for (conv, ids) in &want {
        assert_eq!(
            have.get(conv),
            Some(ids),
            "conversation {conv}: events out of order"
        );
        let seqs: Vec<i64> = ids
            .iter()
            .filter_map(|id| match &by_id[id.as_str()].event.change {
                kefu_core::event::ConversationEvent::MessageCreated { message } => {
                    Some(message.seq)
                }
                _ => None,
            })
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "conversation {conv}: message seqs {seqs:?}"
        );
        tally.messages += seqs.len();
    }
    tally.without_conversation = expected
        .iter()
        .filter(|r| r.event.conversation.is_none())
        .count();
    tally
}

// ---------------------------------------------------------------------------
// NATS

/// Reads the whole stream with a pull consumer, oldest first.
async fn read_stream(js: &async_nats::jetstream::Context, stream: &str) -> Vec<Got> {
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
    let mut s = js.get_stream(stream).await.unwrap();
    let total = s.info().await.unwrap().state.messages as usize;
    let consumer = s
        .create_consumer(pull::Config {
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut got = Vec::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < total {
        assert!(
            Instant::now() < deadline,
            "read {} of {total} stream messages",
            got.len()
        );
        let mut batch = consumer
            .fetch()
            .max_messages(500)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_string())
                .expect("Nats-Msg-Id header");
            got.push(Got {
                id,
                key: m.subject.to_string(),
                payload: m.payload.to_vec(),
            });
        }
    }
    got
}

/// Several concurrent conversations over the machine's JetStream: every
/// event in the stream exactly once, in order per conversation, with its
/// `Nats-Msg-Id`; JetStream drops a republish of the same id.
async fn nats_delivers_in_order(db: Db) {
    ensure_machine_nats();
    let prefix = unique("kefutest");
    let stream = unique("KEFUTEST_");
    let client = async_nats::connect("127.0.0.1:4222").await.unwrap();
    let js = async_nats::jetstream::new(client);
    let app = spawn_with(db, |c| {
        c.bus.nats.enabled = true;
        c.bus.nats.url = Secret::new("nats://127.0.0.1:4222");
        c.bus.nats.stream = stream.clone();
        c.bus.nats.subject_prefix = prefix.clone();
        c.limits.visitor_messages_per_minute = 100_000;
    })
    .await;
    let t = app.tenant(Role::Agent).await;
    chat(&app, &t, 8, 25).await;
    drained(&app, "bus:nats", Duration::from_secs(60)).await;
    let expected = all_events(&app).await;
    let got = read_stream(&js, &stream).await;
    let tally = check(&expected, &got, |e| {
        format!("{prefix}.{}.{}", e.workspace_id, e.change.type_name())
    });
    assert_eq!(
        (tally.events, tally.conversations),
        (expected.len(), 8),
        "{tally:?}"
    );
    assert!(tally.without_conversation >= 16, "{tally:?}");

    // The stream dedupes on the id kefu sets: the same event again is dropped.
    let first = &expected[0];
    let ack = js
        .send_publish(
            format!(
                "{prefix}.{}.{}",
                first.event.workspace_id,
                first.event.change.type_name()
            ),
            async_nats::jetstream::message::PublishMessage::build()
                .payload(first.payload.clone().into())
                .message_id(&first.event.id),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(ack.duplicate, "a republished event id is a duplicate");
    let mut s = js.get_stream(&stream).await.unwrap();
    assert_eq!(
        s.info().await.unwrap().state.messages as usize,
        expected.len()
    );
    eprintln!("nats ({db:?}): {tally:?}");
    js.delete_stream(&stream).await.unwrap();
    app.stop().await;
}

// ---------------------------------------------------------------------------
// RabbitMQ

async fn amqp_connect() -> lapin::Connection {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match lapin::Connection::connect(
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            lapin::ConnectionProperties::default(),
        )
        .await
        {
            Ok(c) => return c,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "RabbitMQ refuses connections: {e}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The `confirm` flag of every channel on a connection kefu opened (client
/// property `connection_name` = "kefu"), as RabbitMQ itself reports it.
fn kefu_channels_confirm() -> (Vec<bool>, String) {
    let out = |args: &[&str]| {
        let o = Command::new("rabbitmqctl")
            .args(args)
            .output()
            .expect("rabbitmqctl");
        assert!(o.status.success(), "rabbitmqctl {args:?}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let conns = out(&[
        "-q",
        "--no-table-headers",
        "list_connections",
        "pid",
        "client_properties",
    ]);
    let channels = out(&[
        "-q",
        "--no-table-headers",
        "list_channels",
        "connection",
        "confirm",
    ]);
    let kefu_conns: HashSet<String> = conns
        .lines()
        .filter(|l| l.contains(r#"{"connection_name","kefu"}"#))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let confirms = channels
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let conn = f.next()?;
            let confirm = f.next()?;
            kefu_conns.contains(conn).then(|| confirm == "true")
        })
        .collect();
    (confirms, format!("{conns}\n{channels}"))
}

/// Several concurrent conversations over the machine's RabbitMQ: a queue
/// bound to the exchange gets every event exactly once, in order per
/// conversation, persistent, with its id, type and JSON content type, from a
/// channel in confirm mode.
async fn amqp_delivers_in_order(db: Db) {
    use lapin::{ExchangeKind, options::*, types::FieldTable};
    ensure_machine_rabbitmq();
    let exchange = unique("kefu.test.");
    let queue = unique("kefu-test-");
    let conn = amqp_connect().await;
    let ch = conn.create_channel().await.unwrap();
    // The same declaration as kefu's, so the queue can be bound before kefu connects.
    ch.exchange_declare(
        exchange.as_str().into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let app = spawn_with(db, |c| {
        c.bus.amqp.enabled = true;
        c.bus.amqp.url = Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f");
        c.bus.amqp.exchange = exchange.clone();
        c.limits.visitor_messages_per_minute = 100_000;
    })
    .await;
    let t = app.tenant(Role::Agent).await;
    chat(&app, &t, 8, 25).await;
    drained(&app, "bus:amqp", Duration::from_secs(60)).await;
    let (confirms, listed) = kefu_channels_confirm();
    assert!(
        !confirms.is_empty() && confirms.iter().all(|c| *c),
        "kefu's channels in confirm mode: {confirms:?}\nrabbitmqctl:\n{listed}"
    );
    let expected = all_events(&app).await;
    let mut consumer = ch
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {} delivered", got.len(), expected.len()))
            .unwrap()
            .unwrap();
        let p = &d.properties;
        assert_eq!(*p.delivery_mode(), Some(2), "persistent");
        assert_eq!(
            p.content_type().as_ref().map(|s| s.as_str()),
            Some("application/json")
        );
        let row_type =
            serde_json::from_slice::<serde_json::Value>(&d.data).unwrap()["type"].clone();
        assert_eq!(p.kind().as_ref().map(|s| s.as_str()), row_type.as_str());
        got.push(Got {
            id: p.message_id().as_ref().expect("message_id").to_string(),
            key: d.routing_key.to_string(),
            payload: d.data,
        });
    }
    // Nothing more is coming.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), consumer.next())
            .await
            .is_err(),
        "more deliveries than events"
    );
    let tally = check(&expected, &got, |e| {
        format!("{}.{}", e.workspace_id, e.change.type_name())
    });
    assert_eq!(
        (tally.events, tally.conversations),
        (expected.len(), 8),
        "{tally:?}"
    );
    assert!(tally.without_conversation >= 16, "{tally:?}");
    eprintln!("amqp ({db:?}): {tally:?}");
    app.stop().await;
    ch.exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------
// Faults

/// Visitors sending without pause until `stop`; counts the acknowledged
/// sends, and those acknowledged while `down` is set.
struct Load {
    stop: AtomicBool,
    down: AtomicBool,
    acked: AtomicUsize,
    acked_while_down: AtomicUsize,
    slowest_ms: AtomicUsize,
}

impl Load {
    fn new() -> Load {
        Load {
            stop: AtomicBool::new(false),
            down: AtomicBool::new(false),
            acked: AtomicUsize::new(0),
            acked_while_down: AtomicUsize::new(0),
            slowest_ms: AtomicUsize::new(0),
        }
    }

    async fn visitor(&self, app: &TestApp, t: &Tenant, n: usize) {
        let (vtoken, _) = app.visitor(&t.inbox).await;
        let (mut ws, _) = app.ws(&vtoken).await;
        let mut conv: Option<String> = None;
        let mut i = 0;
        while !self.stop.load(Ordering::Relaxed) {
            let began = Instant::now();
            // send_text fails the test if no ack comes within 5 s.
            let ack = ws
                .send_text(conv.as_deref(), &format!("v{n}-{i}"), &format!("消息 {i}"))
                .await;
            let ms = began.elapsed().as_millis() as usize;
            self.slowest_ms.fetch_max(ms, Ordering::Relaxed);
            conv.get_or_insert_with(|| ack["conversation_id"].as_str().unwrap().to_string());
            self.acked.fetch_add(1, Ordering::Relaxed);
            if self.down.load(Ordering::Relaxed) {
                self.acked_while_down.fetch_add(1, Ordering::Relaxed);
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn stream_len(nats_url: &str, stream: &str) -> Option<u64> {
    let c = async_nats::connect(nats_url).await.ok()?;
    let js = async_nats::jetstream::new(c);
    let mut s = js.get_stream(stream).await.ok()?;
    Some(s.info().await.ok()?.state.messages)
}

async fn cursor(app: &TestApp, name: &str) -> i64 {
    app.store.outbox_cursor(name, 0).await.unwrap()
}

/// kefu starts while its (private) NATS is down and serves; the backlog goes
/// out once NATS is up; NATS is stopped mid-stream and restarted on the same
/// port and store while visitors keep sending (and keep getting acks); in the
/// end every event is in the stream exactly once, in order per conversation.
async fn nats_outage_loses_nothing(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let mut nats = PrivateNats::new(tmp.path());
    let prefix = unique("kefutest");
    let stream = unique("KEFUTEST_");
    let url = nats.url();
    let app = spawn_with(db, |c| {
        c.bus.nats.enabled = true;
        c.bus.nats.url = Secret::new(url.clone());
        c.bus.nats.stream = stream.clone();
        c.bus.nats.subject_prefix = prefix.clone();
        c.limits.visitor_messages_per_minute = 1_000_000;
        c.limits.ws_frames_per_second = 10_000;
        c.limits.ws_frame_burst = 10_000;
    })
    .await;
    // Serving with the broker unreachable.
    let (s, _) = app.get("", "/healthz").await;
    assert_eq!(s, 200);
    let t = app.tenant(Role::Agent).await;
    let load = Load::new();
    load.down.store(true, Ordering::Relaxed);
    let traffic = futures::future::join_all((0..6).map(|n| load.visitor(&app, &t, n)));
    let script = async {
        let wait_for = |secs| tokio::time::sleep(Duration::from_secs(secs));
        // 1. Down from the start: events wait in the outbox.
        wait_for(1).await;
        let waiting = app.store.outbox_head().await.unwrap();
        assert!(waiting > 0);
        assert_eq!(
            cursor(&app, "bus:nats").await,
            0,
            "nothing handed on while down"
        );
        eprintln!(
            "down at start: {} sends acked, {waiting} events waiting",
            load.acked_while_down.load(Ordering::Relaxed)
        );
        // 2. Up: the backlog goes out (kefu creates the stream).
        nats.start().await;
        load.down.store(false, Ordering::Relaxed);
        let up = Instant::now();
        while cursor(&app, "bus:nats").await < waiting {
            assert!(
                up.elapsed() < Duration::from_secs(40),
                "backlog not delivered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "backlog of {waiting} delivered {:?} after NATS came up",
            up.elapsed()
        );
        // 3. Stopped mid-stream (the cursor is moving), then restarted.
        wait_for(1).await;
        let before = cursor(&app, "bus:nats").await;
        let acked_before = load.acked_while_down.load(Ordering::Relaxed);
        nats.stop(libc::SIGTERM);
        load.down.store(true, Ordering::Relaxed);
        eprintln!("NATS stopped at cursor {before}");
        wait_for(3).await;
        let during = load.acked_while_down.load(Ordering::Relaxed) - acked_before;
        let (head, at) = (
            app.store.outbox_head().await.unwrap(),
            cursor(&app, "bus:nats").await,
        );
        assert!(during > 0, "chat went on while NATS was down");
        assert!(head > at, "events wait in the outbox");
        eprintln!(
            "NATS down 3 s: {during} sends acked, {} events waiting",
            head - at
        );
        nats.start().await;
        load.down.store(false, Ordering::Relaxed);
        // 4. A second outage, killed this time (no clean shutdown).
        wait_for(1).await;
        nats.stop(libc::SIGKILL);
        load.down.store(true, Ordering::Relaxed);
        wait_for(2).await;
        nats.start().await;
        load.down.store(false, Ordering::Relaxed);
        wait_for(1).await;
        load.stop.store(true, Ordering::Relaxed);
    };
    tokio::join!(traffic, script);
    app.state.routing_idle().await;
    let began = Instant::now();
    let head = drained(&app, "bus:nats", Duration::from_secs(60)).await;
    eprintln!("drained to {head} in {:?}", began.elapsed());
    let expected = all_events(&app).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let got = read_stream(&js, &stream).await;
    let tally = check(&expected, &got, |e| {
        format!("{prefix}.{}.{}", e.workspace_id, e.change.type_name())
    });
    eprintln!(
        "nats outage ({db:?}): {tally:?}; {} sends acked, {} while NATS was down, slowest ack {} ms; stream {:?}",
        load.acked.load(Ordering::Relaxed),
        load.acked_while_down.load(Ordering::Relaxed),
        load.slowest_ms.load(Ordering::Relaxed),
        stream_len(&nats.url(), &stream).await
    );
    app.stop().await;
}

/// Tests share the machine's brokers and two cores: multi-threaded, so the
/// server and the clients run side by side.
macro_rules! bus_tests {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::common::Db::Sqlite).await } )* }
        mod on_postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::common::Db::Postgres).await } )* }
    };
}

bus_tests!(
    nats_delivers_in_order,
    amqp_delivers_in_order,
    nats_outage_loses_nothing
);
