//! RabbitMQ for the bus tests: a queue of the test's own on the machine's
//! broker, what RabbitMQ reports of kefu's channels, and a relay a test cuts
//! like a network failure (the machine's broker itself is never stopped).

use super::{check::Got, machine::*};
use futures::StreamExt;
use std::{
    collections::HashSet,
    net::SocketAddr,
    process::Command,
    time::{Duration, Instant},
};

/// A connection to the machine's RabbitMQ (retried while it starts).
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
