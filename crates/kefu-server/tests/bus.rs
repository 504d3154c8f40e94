//! The event bus against real brokers, never mocks: the machine's NATS
//! JetStream (127.0.0.1:4222) and RabbitMQ (127.0.0.1:5672), a private
//! `nats-server` a test starts, stops and restarts itself, and the machine's
//! RabbitMQ behind a relay a test cuts. A machine broker that is down is
//! started with the machine's own command, or the test fails saying so;
//! nothing is skipped.
//!
//! Every test drives real chat traffic (visitors over WebSocket, an agent
//! over REST), then compares what the broker holds with the outbox itself:
//! every event, byte for byte, under its subject or routing key, and each
//! conversation's events in commit order.
#![cfg(all(feature = "nats", feature = "amqp"))]

mod bus_support;
mod common;

use bus_support::{amqp::*, check::*, machine::*, nats::*, traffic::*};
use common::*;
use kefu_core::{Role, event::Event};
use kefu_server::config::{Config, Secret};
use std::{
    net::SocketAddr,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

fn nats_subject(prefix: &str) -> impl Fn(&Event) -> String + '_ {
    move |e| format!("{prefix}.{}.{}", e.workspace_id, e.change.type_name())
}

fn routing_key(e: &Event) -> String {
    format!("{}.{}", e.workspace_id, e.change.type_name())
}

/// Chat as fast as the tests push it (the limits are for real visitors).
fn unlimited(c: &mut Config) {
    c.limits.visitor_messages_per_minute = 1_000_000;
    c.limits.ws_frames_per_second = 10_000;
    c.limits.ws_frame_burst = 10_000;
    c.limits.widget_sessions_per_minute = 10_000;
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
        unlimited(c);
    })
    .await;
    let t = app.tenant(Role::Agent).await;
    chat(&app, &t, 8, 25).await;
    drained(&app, "bus:nats", Duration::from_secs(60)).await;
    let expected = all_events(&app).await;
    let got = read_stream(&js, &stream).await;
    let tally = check(&expected, &got, nats_subject(&prefix), Repeats::Refused);
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
            nats_subject(&prefix)(&first.event),
            async_nats::jetstream::message::PublishMessage::build()
                .payload(first.payload.clone().into())
                .message_id(&first.event.id),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(ack.duplicate, "a republished event id is a duplicate");
    assert_eq!(
        stream_len("127.0.0.1:4222", &stream).await,
        Some(expected.len() as u64)
    );
    eprintln!("nats ({db:?}): {tally:?}");
    js.delete_stream(&stream).await.unwrap();
    app.stop().await;
}

/// Several concurrent conversations over the machine's RabbitMQ: a queue
/// bound to the exchange gets every event exactly once, in order per
/// conversation, persistent, with its id, type and JSON content type, from a
/// channel RabbitMQ reports in confirm mode.
async fn amqp_delivers_in_order(db: Db) {
    ensure_machine_rabbitmq();
    let q = TestQueue::new().await;
    let app = spawn_with(db, |c| {
        c.bus.amqp.enabled = true;
        c.bus.amqp.url = Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f");
        c.bus.amqp.exchange = q.exchange.clone();
        unlimited(c);
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
    let got = q.take(expected.len(), Duration::from_millis(500)).await;
    let tally = check(&expected, &got, routing_key, Repeats::Refused);
    assert_eq!(
        (tally.events, tally.conversations),
        (expected.len(), 8),
        "{tally:?}"
    );
    assert!(tally.without_conversation >= 16, "{tally:?}");
    eprintln!("amqp ({db:?}): {tally:?}");
    app.stop().await;
    q.delete().await;
}

/// The broker a fault test takes down and brings back.
trait Broker {
    async fn up(&mut self);
    async fn down(&mut self, hard: bool);
}

impl Broker for PrivateNats {
    async fn up(&mut self) {
        self.start().await
    }
    /// SIGTERM (a clean shutdown), or SIGKILL.
    async fn down(&mut self, hard: bool) {
        self.stop(if hard { libc::SIGKILL } else { libc::SIGTERM })
    }
}

impl Broker for Relay {
    async fn up(&mut self) {
        Relay::up(self).await
    }
    async fn down(&mut self, _: bool) {
        self.cut().await
    }
}

/// The fault script both outage tests share, under continuous chat: kefu
/// started with the broker down (and serves); the broker comes up and the
/// backlog goes out; it goes down mid-stream (cleanly, then hard) and comes
/// back. Checks along the way that every send was acknowledged (a send
/// without an ack within 5 s fails the test), including while the broker was
/// down, and that the events waited in the outbox meanwhile. Ends with every
/// event handed on.
async fn outage(app: &TestApp, broker: &mut impl Broker, consumer: &str) {
    let (s, _) = app.get("", "/readyz").await;
    assert_eq!(s, 200, "serving with the broker down");
    let t = app.tenant(Role::Agent).await;
    let load = Load::new();
    load.down.store(true, Ordering::Relaxed);
    let traffic = futures::future::join_all((0..6).map(|n| load.visitor(app, &t, n)));
    let script = async {
        let pause = |secs| tokio::time::sleep(Duration::from_secs(secs));
        // 1. Down from the start: events wait in the outbox.
        pause(1).await;
        let waiting = app.store.outbox_head().await.unwrap();
        assert!(waiting > 0);
        assert_eq!(
            cursor(app, consumer).await,
            0,
            "nothing handed on while down"
        );
        eprintln!(
            "down at start: {} sends acked, {waiting} events waiting",
            load.acked_while_down.load(Ordering::Relaxed)
        );
        // 2. Up: the backlog goes out.
        broker.up().await;
        load.down.store(false, Ordering::Relaxed);
        let up = Instant::now();
        while cursor(app, consumer).await < waiting {
            assert!(
                up.elapsed() < Duration::from_secs(40),
                "backlog not delivered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "backlog of {waiting} handed on {:?} after the broker came up",
            up.elapsed()
        );
        // 3. Down mid-stream (the cursor is moving), then back; twice.
        for hard in [false, true] {
            pause(1).await;
            let (before, acked_before) = (
                cursor(app, consumer).await,
                load.acked_while_down.load(Ordering::Relaxed),
            );
            broker.down(hard).await;
            load.down.store(true, Ordering::Relaxed);
            pause(3).await;
            let during = load.acked_while_down.load(Ordering::Relaxed) - acked_before;
            let head = app.store.outbox_head().await.unwrap();
            let at = cursor(app, consumer).await;
            assert!(during > 0, "chat went on while the broker was down");
            assert!(head > at, "events wait in the outbox");
            eprintln!(
                "down{} at cursor {before} for 3 s: {during} sends acked, {} events waiting",
                if hard { " (hard)" } else { "" },
                head - at
            );
            broker.up().await;
            load.down.store(false, Ordering::Relaxed);
            // Flowing again before the next fault, so that one is mid-stream too.
            let back = Instant::now();
            while cursor(app, consumer).await <= at {
                assert!(back.elapsed() < Duration::from_secs(30), "stuck at {at}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            eprintln!(
                "flowing again {:?} after the broker came back",
                back.elapsed()
            );
        }
        pause(1).await;
        load.stop.store(true, Ordering::Relaxed);
    };
    tokio::join!(traffic, script);
    app.state.routing_idle().await;
    let began = Instant::now();
    let head = drained(app, consumer, Duration::from_secs(60)).await;
    eprintln!(
        "drained to {head} {:?} after the load stopped; {} sends acked ({} while the broker was down), slowest ack {} ms",
        began.elapsed(),
        load.acked.load(Ordering::Relaxed),
        load.acked_while_down.load(Ordering::Relaxed),
        load.slowest_ms.load(Ordering::Relaxed),
    );
}

/// A private nats-server: kefu starts while it is down and serves; it comes
/// up, is stopped mid-stream (SIGTERM, then SIGKILL) and restarted on the
/// same port and store while visitors keep sending; in the end every event
/// is in the stream exactly once, in order per conversation.
async fn nats_outage_loses_nothing(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let mut nats = PrivateNats::new(tmp.path());
    let prefix = unique("kefutest");
    let stream = unique("KEFUTEST_");
    let app = spawn_with(db, |c| {
        c.bus.nats.enabled = true;
        c.bus.nats.url = Secret::new(nats.url());
        c.bus.nats.stream = stream.clone();
        c.bus.nats.subject_prefix = prefix.clone();
        unlimited(c);
    })
    .await;
    outage(&app, &mut nats, "bus:nats").await;
    let expected = all_events(&app).await;
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let got = read_stream(&js, &stream).await;
    let tally = check(&expected, &got, nats_subject(&prefix), Repeats::Refused);
    assert_eq!(tally.events, expected.len());
    eprintln!("nats outage ({db:?}): {tally:?}");
    app.stop().await;
}

/// The machine's RabbitMQ behind a relay: kefu starts while it is cut and
/// serves; the connection is cut mid-stream twice and restored while
/// visitors keep sending; in the end the queue has every event, in order
/// per conversation (first arrivals: a publish whose confirm was lost is
/// published again, and counted), and stopping kefu with the broker
/// unreachable is prompt.
async fn amqp_outage_loses_nothing(db: Db) {
    ensure_machine_rabbitmq();
    let q = TestQueue::new().await;
    let mut relay = Relay::new(SocketAddr::from(([127, 0, 0, 1], 5672)));
    let port = relay.port();
    let app = spawn_with(db, |c| {
        c.bus.amqp.enabled = true;
        c.bus.amqp.url = Secret::new(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"));
        c.bus.amqp.exchange = q.exchange.clone();
        unlimited(c);
    })
    .await;
    outage(&app, &mut relay, "bus:amqp").await;
    let expected = all_events(&app).await;
    let got = q.take(expected.len(), Duration::from_secs(1)).await;
    let tally = check(&expected, &got, routing_key, Repeats::Allowed);
    assert_eq!(tally.events, expected.len());
    eprintln!(
        "amqp outage ({db:?}): {tally:?}; {} deliveries repeated an event (a lost confirm)",
        tally.repeats
    );
    relay.cut().await;
    let began = Instant::now();
    app.stop().await;
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        began.elapsed()
    );
    q.delete().await;
}

/// Publishing rate: a backlog of `visitors` conversations of `messages`
/// messages built while the broker is down, timed from the first event
/// handed on to the last, with the default batch (256). Events of one
/// conversation go one acknowledgement at a time, so the shape matters.
/// Prints events/s; run with `--ignored --nocapture`.
async fn backlog_rate(
    app: &TestApp,
    broker: &mut impl Broker,
    consumer: &str,
    (visitors, messages): (usize, usize),
) -> f64 {
    let t = app.tenant(Role::Agent).await;
    chat(app, &t, visitors, messages).await;
    let head = app.store.outbox_head().await.unwrap();
    broker.up().await;
    let mut first: Option<(Instant, i64)> = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let at = cursor(app, consumer).await;
        assert!(Instant::now() < deadline, "{consumer} at {at} of {head}");
        if at > 0 && first.is_none() {
            first = Some((Instant::now(), at));
        }
        if at >= head {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (t0, from) = first.unwrap();
    let rate = (head - from) as f64 / t0.elapsed().as_secs_f64();
    eprintln!(
        "{consumer}, {visitors} conversations of {messages} messages: {} events in {:?}: {rate:.0} events/s",
        head - from,
        t0.elapsed()
    );
    rate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test --test bus rate -- --ignored --nocapture"]
async fn nats_publish_rate() {
    for shape in RATE_SHAPES {
        let tmp = tempfile::tempdir().unwrap();
        let mut nats = PrivateNats::new(tmp.path());
        let app = spawn_with(Db::Sqlite, |c| {
            c.bus.nats.enabled = true;
            c.bus.nats.url = Secret::new(nats.url());
            unlimited(c);
        })
        .await;
        backlog_rate(&app, &mut nats, "bus:nats", shape).await;
        app.stop().await;
    }
}

/// Few busy conversations, and many short ones.
const RATE_SHAPES: [(usize, usize); 2] = [(10, 400), (100, 40)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test --test bus rate -- --ignored --nocapture"]
async fn amqp_publish_rate() {
    ensure_machine_rabbitmq();
    for shape in RATE_SHAPES {
        let q = TestQueue::new().await;
        let mut relay = Relay::new(SocketAddr::from(([127, 0, 0, 1], 5672)));
        let port = relay.port();
        let app = spawn_with(Db::Sqlite, |c| {
            c.bus.amqp.enabled = true;
            c.bus.amqp.url = Secret::new(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"));
            c.bus.amqp.exchange = q.exchange.clone();
            unlimited(c);
        })
        .await;
        backlog_rate(&app, &mut relay, "bus:amqp", shape).await;
        app.stop().await;
        q.delete().await;
    }
}

/// Multi-threaded, so the server and the clients run side by side.
macro_rules! bus_tests {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::common::Db::Sqlite).await } )* }
        mod on_postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::common::Db::Postgres).await } )* }
    };
}

bus_tests!(
    nats_delivers_in_order,
    amqp_delivers_in_order,
    nats_outage_loses_nothing,
    amqp_outage_loses_nothing,
);
