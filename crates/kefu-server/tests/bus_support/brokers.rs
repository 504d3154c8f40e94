//! The brokers the bus tests talk to: the machine's (started with the
//! machine's own command when down, or the test fails saying so), a private
//! `nats-server` a test starts and stops by its own pid, and a relay in front
//! of the machine's RabbitMQ that a test can cut like a network failure.

use crate::bus_support::check::Got;
use futures::StreamExt;
use std::{
    collections::HashSet,
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const NATS_BIN: &str = "/usr/sbin/nats-server";

pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// Makes sure a machine service answers on `port`, starting it with the
/// machine's own command (docs: the machine notes) if it does not.
pub fn ensure_service(name: &str, port: u16, start: &[&str], wait: Duration) {
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

pub fn ensure_machine_nats() {
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

pub fn ensure_machine_rabbitmq() {
    ensure_service(
        "RabbitMQ",
        5672,
        &["rabbitmq-server", "-detached"],
        Duration::from_secs(90),
    );
}

/// A name no other test run uses (streams, subjects, exchanges).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// A `nats-server` of this test's own on a free port, with its own store
/// directory; stopped by its own pid, never by name.
pub struct PrivateNats {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// A port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivateNats {
    /// Not started yet: kefu may be pointed at it first.
    pub fn new(dir: &Path) -> PrivateNats {
        assert!(
            Path::new(NATS_BIN).exists(),
            "{NATS_BIN} is required for the fault test (Debian package nats-server)"
        );
        PrivateNats {
            child: None,
            port: free_port(),
            dir: dir.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port and store) and waits until
    /// JetStream answers.
    pub async fn start(&mut self) {
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
    pub fn stop(&mut self, signal: i32) {
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

/// Reads the whole stream with a pull consumer, oldest first.
pub async fn read_stream(js: &async_nats::jetstream::Context, stream: &str) -> Vec<Got> {
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

pub async fn amqp_connect() -> lapin::Connection {
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
pub fn kefu_channels_confirm() -> (Vec<bool>, String) {
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

/// How many messages the stream holds.
pub async fn stream_len(nats_url: &str, stream: &str) -> Option<u64> {
    let c = async_nats::connect(nats_url).await.ok()?;
    let js = async_nats::jetstream::new(c);
    let mut s = js.get_stream(stream).await.ok()?;
    Some(s.info().await.ok()?.state.messages)
}

/// A TCP relay on a port of its own in front of the machine's RabbitMQ.
/// Cutting it is a network failure: every relayed connection is closed and
/// the port refuses new ones until it is up again. The broker stays up (it is
/// the machine's, shared by others, and never stopped).
pub struct Relay {
    port: u16,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    /// Down until [`Relay::up`].
    pub fn new(target: SocketAddr) -> Relay {
        Relay {
            port: free_port(),
            target,
            task: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Listens (on the same port every time) and relays each connection.
    pub async fn up(&mut self) {
        assert!(self.task.is_none(), "already up");
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(Instant::now() < deadline, "relay port {}: {e}", self.port);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Dropped (aborted) with the task: every relayed connection closes.
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.spawn(async move {
                    // No Nagle delay: the relay must not slow the broker's answers.
                    let _ = inbound.set_nodelay(true);
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = outbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Closes every relayed connection and stops listening.
    pub async fn cut(&mut self) {
        let task = self.task.take().expect("up");
        task.abort();
        let _ = task.await;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// A test's own exchange (declared as kefu declares it) and a queue bound to
/// all of it, on a direct connection to the machine's RabbitMQ.
pub struct TestQueue {
    pub exchange: String,
    pub queue: String,
    ch: lapin::Channel,
    _conn: lapin::Connection,
}

impl TestQueue {
    pub async fn new() -> TestQueue {
        use lapin::{ExchangeKind, options::*, types::FieldTable};
        let exchange = unique("kefu.test.");
        let queue = unique("kefu-test-");
        let conn = amqp_connect().await;
        let ch = conn.create_channel().await.unwrap();
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
        TestQueue {
            exchange,
            queue,
            ch,
            _conn: conn,
        }
    }

    /// Consumes until `distinct` different events have arrived, then for
    /// `quiet` more (to catch repeats and extras). Checks what every delivery
    /// carries: persistent, JSON, its type.
    pub async fn take(&self, distinct: usize, quiet: Duration) -> Vec<Got> {
        use lapin::{options::BasicConsumeOptions, types::FieldTable};
        let mut consumer = self
            .ch
            .basic_consume(
                self.queue.as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut got: Vec<Got> = Vec::new();
        let mut ids = HashSet::new();
        loop {
            let wait = if ids.len() < distinct {
                Duration::from_secs(15)
            } else {
                quiet
            };
            let d = match tokio::time::timeout(wait, consumer.next()).await {
                Ok(d) => d.expect("consumer open").expect("delivery"),
                Err(_) if ids.len() >= distinct => return got,
                Err(_) => panic!("{} of {distinct} events delivered", ids.len()),
            };
            let p = &d.properties;
            assert_eq!(*p.delivery_mode(), Some(2), "persistent");
            assert_eq!(
                p.content_type().as_ref().map(|s| s.as_str()),
                Some("application/json")
            );
            let body: serde_json::Value = serde_json::from_slice(&d.data).unwrap();
            assert_eq!(p.kind().as_ref().map(|s| s.as_str()), body["type"].as_str());
            let id = p.message_id().as_ref().expect("message_id").to_string();
            assert_eq!(body["id"].as_str(), Some(id.as_str()));
            ids.insert(id.clone());
            got.push(Got {
                id,
                key: d.routing_key.to_string(),
                payload: d.data,
            });
        }
    }

    /// Deletes the exchange (the queue goes with the connection).
    pub async fn delete(self) {
        self.ch
            .exchange_delete(
                self.exchange.as_str().into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await
            .unwrap();
    }
}
