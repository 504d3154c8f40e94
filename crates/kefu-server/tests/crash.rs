//! Durability: the real binary, under a stream of sends from several
//! visitors, is killed with SIGKILL and restarted. Every acknowledged message
//! must be there, once, with its acknowledged `seq`; and clients retrying
//! their unacknowledged sends after the restart create no duplicates.

mod common;

use common::Ws;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_kefu");
const VISITORS: usize = 4;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn kefu(data: &Path, addr: SocketAddr, db_url: &Option<String>) -> Command {
    let mut c = Command::new(BIN);
    c.env("KEFU_DATA_DIR", data)
        .env("KEFU_LISTEN", addr.to_string())
        .env("KEFU_LIMITS__VISITOR_MESSAGES_PER_MINUTE", "1000000")
        .env("KEFU_LIMITS__WS_FRAMES_PER_SECOND", "100000")
        .env("KEFU_LIMITS__WS_FRAME_BURST", "100000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(u) = db_url {
        c.env("KEFU_DATABASE_URL", u);
    }
    c
}

async fn start(data: &Path, addr: SocketAddr, db_url: &Option<String>) -> Child {
    let mut cmd = kefu(data, addr, db_url);
    cmd.arg("serve");
    common::spawn_ready(cmd, addr).await
}

/// One visitor sending as fast as acks allow (a window of 16 in flight).
async fn stream_sends(
    addr: SocketAddr,
    token: String,
    id: usize,
    acked: Arc<Mutex<Vec<Value>>>,
    sent: Arc<Mutex<Vec<String>>>,
) {
    let mut ws = Ws::connect(addr).await;
    ws.send(json!({"type":"auth","token":token})).await;
    ws.expect("hello").await;
    // The first message opens the conversation; the rest name it.
    let first = ws.send_text(None, &format!("v{id}-0"), "start").await;
    sent.lock().unwrap().push(format!("v{id}-0"));
    acked.lock().unwrap().push(first.clone());
    let conv = first["conversation_id"].as_str().unwrap().to_string();
    let (mut tx, mut rx) = ws.inner.split();
    let (window_tx, mut window_rx) = tokio::sync::mpsc::channel::<()>(16);
    let writer = {
        let sent = sent.clone();
        tokio::spawn(async move {
            for i in 1.. {
                if window_tx.send(()).await.is_err() {
                    return;
                }
                let cmid = format!("v{id}-{i}");
                sent.lock().unwrap().push(cmid.clone());
                let f = json!({"type":"send","client_msg_id":cmid,"conversation_id":conv,"content":format!("message {i} 消息")});
                if tx.send(Message::text(f.to_string())).await.is_err() {
                    return;
                }
            }
        })
    };
    while let Some(Ok(m)) = rx.next().await {
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "ack" {
                acked.lock().unwrap().push(v);
                let _ = window_rx.recv().await;
            }
        }
    }
    writer.abort();
}

async fn crash_and_recover(db_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let status = kefu(dir.path(), addr, &db_url)
        .args([
            "user",
            "create",
            "--workspace",
            "crash",
            "--email",
            "owner@example.com",
            "--role",
            "owner",
        ])
        .env("KEFU_USER_PASSWORD", "crash-test-pw")
        .status()
        .unwrap();
    assert!(status.success());
    let mut server = start(dir.path(), addr, &db_url).await;
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let login = |http: reqwest::Client, base: String| async move {
        let v: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email":"owner@example.com","password":"crash-test-pw"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().unwrap().to_string()
    };
    let token = login(http.clone(), base.clone()).await;
    let inbox: Value = http
        .post(format!("{base}/api/v1/inboxes"))
        .bearer_auth(&token)
        .json(&json!({"name":"Web"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut visitors = Vec::new();
    for _ in 0..VISITORS {
        let v: Value = http
            .post(format!("{base}/api/v1/widget/session"))
            .json(&json!({"inbox_key": inbox["public_key"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        visitors.push(v["visitor_token"].as_str().unwrap().to_string());
    }

    let acked = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (i, t) in visitors.iter().enumerate() {
        tasks.push(tokio::spawn(stream_sends(
            addr,
            t.clone(),
            i,
            acked.clone(),
            sent.clone(),
        )));
    }
    // Let the stream run, then kill -9 in the middle of it.
    for _ in 0..200 {
        if acked.lock().unwrap().len() >= 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let acked: Vec<Value> = acked.lock().unwrap().clone();
    let sent: Vec<String> = sent.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "the stream was running when killed ({} acks)",
        acked.len()
    );

    let mut server = start(dir.path(), addr, &db_url).await;
    let token = login(http.clone(), base.clone()).await;
    let stored = |token: String, conv: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let mut all: Vec<Value> = Vec::new();
            let mut after = 0;
            loop {
                let page: Value = http
                    .get(format!(
                        "{base}/api/v1/conversations/{conv}/messages?after_seq={after}&limit=200"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let items = page["items"].as_array().unwrap().clone();
                if items.is_empty() {
                    return all;
                }
                after = items.last().unwrap()["seq"].as_i64().unwrap();
                all.extend(items);
            }
        }
    };
    let convs: HashSet<String> = acked
        .iter()
        .map(|a| a["conversation_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(convs.len(), VISITORS);
    let mut by_cmid: HashMap<String, Value> = HashMap::new();
    for conv in &convs {
        let msgs = stored(token.clone(), conv.clone()).await;
        let seqs: Vec<i64> = msgs.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=msgs.len() as i64).collect::<Vec<_>>(),
            "seq is dense after recovery"
        );
        for m in msgs {
            let cmid = m["client_msg_id"].as_str().unwrap().to_string();
            assert!(
                by_cmid.insert(cmid.clone(), m).is_none(),
                "{cmid} stored twice"
            );
        }
    }
    for a in &acked {
        let cmid = a["client_msg_id"].as_str().unwrap();
        let m = by_cmid
            .get(cmid)
            .unwrap_or_else(|| panic!("acknowledged {cmid} was lost"));
        assert_eq!(
            (&m["id"], &m["seq"]),
            (&a["id"], &a["seq"]),
            "{cmid} kept its acknowledged id and seq"
        );
    }

    // Clients retry everything they sent (acked or not): nothing is stored twice.
    for (i, t) in visitors.iter().enumerate() {
        let mut ws = Ws::connect(addr).await;
        ws.send(json!({"type":"auth","token":t})).await;
        let hello = ws.expect("hello").await;
        let conv = hello["conversations"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        for cmid in sent.iter().filter(|c| c.starts_with(&format!("v{i}-"))) {
            ws.send_text(Some(&conv), cmid, "retry").await;
        }
    }
    let mut total = 0;
    for conv in &convs {
        let msgs = stored(token.clone(), conv.clone()).await;
        let distinct: HashSet<&str> = msgs
            .iter()
            .map(|m| m["client_msg_id"].as_str().unwrap())
            .collect();
        assert_eq!(distinct.len(), msgs.len());
        total += msgs.len();
    }
    assert_eq!(
        total,
        sent.len(),
        "every sent message is stored exactly once after retries"
    );
    server.kill().unwrap();
    server.wait().unwrap();

    // The outbox (what webhooks and the bus read) holds every stored message
    // exactly once, the acknowledged ones of before the kill included: it is
    // written in the same transaction as the message.
    let url = db_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("kefu.db").display()));
    let store = kefu_store::Store::open(&url, &Default::default())
        .await
        .unwrap();
    let mut in_outbox: HashMap<String, usize> = HashMap::new();
    let mut pos = 0;
    loop {
        let rows = store.outbox_after(pos, 1000).await.unwrap();
        let Some(last) = rows.last() else { break };
        pos = last.position;
        for r in rows {
            if let kefu_core::event::ConversationEvent::MessageCreated { message } = r.event.change
            {
                *in_outbox.entry(message.id).or_default() += 1;
            }
        }
    }
    for m in by_cmid.values() {
        let id = m["id"].as_str().unwrap();
        assert_eq!(
            in_outbox.get(id),
            Some(&1),
            "message {id} once in the outbox"
        );
    }
    assert_eq!(in_outbox.len(), total, "no outbox row without its message");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_message_sqlite() {
    crash_and_recover(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_message_postgres() {
    crash_and_recover(Some(
        kefu_store::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL for the crash test"),
    ))
    .await;
}
