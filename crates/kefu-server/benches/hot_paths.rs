//! Micro-benchmarks of the message path's hot spots: the frame codec, the
//! hub's fan-out, and a durable append on the SQLite store.
//! Run: `cargo bench -p kefu-server --bench hot_paths` (`-- --quick` for a short run).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kefu_core::{
    Message, MessageKind, Role, Sender, SenderKind,
    protocol::{ServerFrame, parse_client_frame},
};
use kefu_server::hub::{Hub, Outbound};
use kefu_store::{ConversationTarget, NewInbox, NewMessage, NewUser, VisitInfo};
use std::hint::black_box;
use tokio::sync::mpsc;

fn message() -> Message {
    Message {
        id: "0197a3c2-0000-7000-8000-000000000001".into(),
        conversation_id: "0197a3c2-0000-7000-8000-000000000002".into(),
        seq: 42,
        client_msg_id: Some("c-42".into()),
        sender: Sender {
            kind: SenderKind::Visitor,
            id: "0197a3c2-0000-7000-8000-000000000003".into(),
        },
        kind: MessageKind::Text,
        content: "您好，我的订单 #12345 还没有发货，可以帮我查一下吗？".into(),
        attachment: None,
        created_at: 1_790_000_000_000,
        deleted_at: None,
        bot: None,
    }
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    let send = r#"{"type":"send","client_msg_id":"c-42","conversation_id":"0197a3c2-0000-7000-8000-000000000002","content":"您好，我的订单 #12345 还没有发货，可以帮我查一下吗？"}"#;
    g.bench_function("parse_send", |b| {
        b.iter(|| parse_client_frame(black_box(send)))
    });
    let frame = ServerFrame::Message { message: message() };
    g.bench_function("serialize_message", |b| {
        b.iter(|| black_box(&frame).to_json())
    });
    g.finish();
}

fn fanout(c: &mut Criterion) {
    let mut g = c.benchmark_group("fanout");
    for n in [1usize, 10, 100, 1000] {
        let hub = Hub::default();
        let mut keep = Vec::new();
        for _ in 0..n {
            let (tx, rx) = mpsc::channel(1 << 20);
            let (sub, _) = hub.subscribe(vec!["w:bench".into()], tx, None);
            keep.push((sub, rx));
        }
        let out = Outbound::new(&ServerFrame::Message { message: message() });
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("publish", n), &n, |b, _| {
            b.iter(|| {
                hub.publish("w:bench", &out);
                for (_, rx) in keep.iter_mut() {
                    while rx.try_recv().is_ok() {}
                }
            })
        });
    }
    g.finish();
}

fn store_append(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, conv, agent) = rt.block_on(async {
        let store = kefu_store::testing::sqlite_store(dir.path())
            .await
            .expect("store");
        let (ws, _) = store.ensure_workspace("bench").await.expect("ws");
        let inbox = store
            .create_inbox(NewInbox {
                workspace_id: ws.id.clone(),
                name: "web".into(),
                ..Default::default()
            })
            .await
            .expect("inbox");
        let agent = store
            .create_user(NewUser {
                workspace_id: ws.id.clone(),
                email: "a@bench.local".into(),
                name: "a".into(),
                password_hash: "x".into(),
                role: Role::Agent,
                capacity: 5,
            })
            .await
            .expect("user");
        let v = store
            .create_contact(&ws.id, &inbox.id, VisitInfo::default())
            .await
            .expect("contact")
            .0;
        let first = store
            .append_message(NewMessage {
                workspace_id: ws.id.clone(),
                target: ConversationTarget::VisitorActive {
                    inbox_id: inbox.id.clone(),
                    contact_id: v.id.clone(),
                },
                sender: Sender {
                    kind: SenderKind::Visitor,
                    id: v.id.to_string(),
                },
                client_msg_id: Some("first".into()),
                kind: MessageKind::Text,
                content: "hi".into(),
                attachment: None,
                require_contact: Some(v.id.clone()),
                bot: None,
                only_while: None,
            })
            .await
            .expect("append");
        (store, first.conversation, agent)
    });
    let reply = |cmid: String| NewMessage {
        workspace_id: conv.workspace_id.clone(),
        target: ConversationTarget::Existing(conv.id.clone()),
        sender: Sender {
            kind: SenderKind::Agent,
            id: agent.id.to_string(),
        },
        client_msg_id: Some(cmid),
        kind: MessageKind::Text,
        content: "reply".into(),
        attachment: None,
        require_contact: None,
        bot: None,
        only_while: None,
    };
    let mut g = c.benchmark_group("store");
    let mut n = 0u64;
    // One durable append at a time (latency), and 64 concurrent ones (group commit).
    g.bench_function("append_sqlite_one", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let store = store.clone();
            let m = reply(format!("one-{n}"));
            async move { store.append_message(m).await.expect("append") }
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("append_sqlite_64_concurrent", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let batch: Vec<_> = (0..64)
                .map(|i| {
                    let store = store.clone();
                    let m = reply(format!("many-{n}-{i}"));
                    tokio::spawn(async move { store.append_message(m).await.map(|_| ()) })
                })
                .collect();
            async move {
                for t in batch {
                    let _ = t.await;
                }
            }
        })
    });
    g.finish();
}

criterion_group!(benches, codec, fanout, store_append);
criterion_main!(benches);
