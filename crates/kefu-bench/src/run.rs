//! The scenarios. Each simulated user is one task owning its WebSocket.

use crate::{
    client::{self, Stamp, Ws},
    pace::{self, Due, Pacer},
    population::{self, ConnectReport},
    scenario::{Kind, Scenario},
    server::{Accounts, Server},
    stats::{AckClock, Latency, SeqTracker, Stats},
};
use anyhow::{Result, bail};
use futures::StreamExt;
use kefu_core::{SenderKind, protocol::ServerFrame};
use serde::Serialize;
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{
    sync::mpsc::{UnboundedReceiver, unbounded_channel},
    task::JoinHandle,
};

/// One measured step of a chat run. Latencies are of the messages *sent*
/// during the step (however late they arrived), counted from the time each
/// was due; the warm-up before the first step is in none of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Step {
    pub offered_per_sec: u64,
    /// Visitor sends the pacer released in the step.
    pub offered: u64,
    /// Acknowledged sends (visitors' and agents' replies) per second during the step.
    pub achieved_per_sec: f64,
    pub visitor_to_agent: Latency,
    pub agent_to_visitor: Latency,
    /// Visitor send (due time) → its `ack`.
    pub ack: Latency,
    /// Due time → the send went out: the generator's own lateness.
    pub send_lag: Latency,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub connect: ConnectReport,
    pub rss_before_kib: u64,
    pub rss_connected_kib: u64,
    pub rss_peak_kib: u64,
    pub rss_per_connection_bytes: f64,
    /// Chat: seconds at the first rate before the first step, recorded nowhere.
    pub warmup_secs: u64,
    pub steps: Vec<Step>,
    pub visitor_to_agent: Latency,
    pub agent_to_visitor: Latency,
    /// Visitor send → ack, whole run.
    pub ack: Latency,
    /// Visitor sends not acknowledged within the ack deadline.
    pub ack_overdue: u64,
    pub sent: u64,
    pub acked: u64,
    pub errors: u64,
    /// Error frames by code (the rest of `errors` are failed connections or sends).
    pub error_codes: std::collections::BTreeMap<String, u64>,
    /// Agent connections the server closed and the agent re-established (with resume).
    pub agent_reconnects: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub duration_secs: f64,
    pub throughput_per_sec: f64,
    /// Reconnect storm: time until every visitor had resumed, and how many did.
    pub resumed: Option<usize>,
    pub resume_secs: Option<f64>,
    /// Per-second timeline (second, p50 ms, p99 ms) of visitor → agent latency.
    pub timeline_v2a: Vec<(u64, f64, f64)>,
    pub timeline_a2v: Vec<(u64, f64, f64)>,
    /// Soak: phases, attacks, the server's counters and the verdict.
    pub soak: Option<crate::soak::SoakOutcome>,
}

/// Shared state of one run.
struct Ctx {
    stats: Stats,
    agents: usize,
    running: AtomicBool,
    reply_ratio: f64,
    payload: String,
    /// A visitor send not acknowledged within this is overdue.
    ack_deadline: Duration,
    /// Highest acknowledged seq per conversation (any sender).
    acked_seq: Mutex<HashMap<String, i64>>,
    opened: AtomicU64,
    /// Highest seq the owning agent received per conversation.
    agent_seen: Mutex<HashMap<String, i64>>,
}

impl Ctx {
    fn owner(&self, conv: &str) -> usize {
        let h = conv
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        (h % self.agents as u64) as usize
    }

    fn acked(&self, conv: &str, seq: i64) {
        Stats::inc(&self.stats.acked);
        if let Ok(mut m) = self.acked_seq.lock() {
            let e = m.entry(conv.to_string()).or_insert(0);
            *e = (*e).max(seq);
        }
    }
}

pub async fn run(
    s: &Scenario,
    server: &Server,
    acc: &Accounts,
    http: &reqwest::Client,
) -> Result<Outcome> {
    let ctx = Arc::new(Ctx {
        stats: Stats::new(),
        agents: acc.agents.len(),
        running: AtomicBool::new(true),
        reply_ratio: s.reply_ratio,
        payload: "x".repeat(s.payload_bytes),
        ack_deadline: Duration::from_secs(s.soak.as_ref().map_or(10, |c| c.ack_timeout_secs)),
        acked_seq: Mutex::new(HashMap::new()),
        opened: AtomicU64::new(0),
        agent_seen: Mutex::new(HashMap::new()),
    });
    let deadline = Instant::now() + Duration::from_secs(s.max_secs);
    let mut out = Outcome::default();
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (pid, peak) = (server.pid, peak.clone());
        tokio::spawn(async move {
            loop {
                let rss = pid.and_then(crate::server::rss_kib).unwrap_or(0);
                peak.fetch_max(rss, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    // Agents first, so they see every conversation open.
    let mut agent_tasks = Vec::new();
    if s.kind != Kind::Idle {
        for (i, (_, token)) in acc.agents.iter().enumerate() {
            let (ws, _) = client::connect(server.addr, client::source_for(i + 1000), token).await?;
            let again = (server.addr, token.clone());
            agent_tasks.push(tokio::spawn(agent(ws, i, ctx.clone(), again)));
        }
    }
    let tokens = population::sessions(
        http,
        &server.base,
        &acc.inbox_key,
        s.visitors,
        s.connect_concurrency,
    )
    .await?;
    out.rss_before_kib = server.rss_kib();
    let (conns, report) =
        population::connect_all(server.addr, &tokens, s.connect_concurrency).await;
    out.connect = report;
    tokio::time::sleep(Duration::from_millis(500)).await;
    out.rss_connected_kib = server.rss_kib();
    out.rss_per_connection_bytes = (out.rss_connected_kib.saturating_sub(out.rss_before_kib) * 1024)
        as f64
        / out.connect.connected.max(1) as f64;

    match s.kind {
        Kind::Idle => {
            let holders: Vec<JoinHandle<()>> = conns
                .into_iter()
                .flatten()
                .map(|(ws, _)| tokio::spawn(hold(ws)))
                .collect();
            tokio::time::sleep(Duration::from_secs(s.hold_secs)).await;
            let alive = holders.iter().filter(|h| !h.is_finished()).count();
            if alive < out.connect.connected {
                out.errors += (out.connect.connected - alive) as u64;
            }
            for h in holders {
                h.abort();
            }
        }
        Kind::Chat | Kind::Seed | Kind::Soak => {
            let mut tasks = Vec::new();
            // Each connected visitor's queue of sends, for the pacer (chat, soak).
            let mut queues = Vec::new();
            for (i, c) in conns.into_iter().enumerate() {
                let Some((ws, _)) = c else {
                    queues.push(None);
                    continue;
                };
                let plan = if s.kind == Kind::Seed {
                    queues.push(None);
                    Plan::Seed {
                        messages: s.messages_per_visitor,
                        think_ms: s.think_ms,
                        file_ratio: s.file_ratio,
                    }
                } else {
                    let (tx, rx) = unbounded_channel();
                    queues.push(Some(tx));
                    Plan::Rate(rx)
                };
                tasks.push(tokio::spawn(visitor(
                    ws,
                    i,
                    ctx.clone(),
                    plan,
                    http.clone(),
                    server.base.clone(),
                    tokens[i].clone(),
                )));
            }
            let mut pacer = Pacer::new(pace::phases(s.visitors), queues);
            // Every visitor opens its conversation before the measured part.
            while (ctx.opened.load(Ordering::Relaxed) as usize) < tasks.len()
                && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let measured = Instant::now();
            // Chat: (offered rate, achieved/s) per measured step, and the
            // sends the pacer released in each.
            let mut achieved = Vec::new();
            let mut released = Vec::new();
            if s.kind == Kind::Chat {
                // The whole plan at once, a moment ahead.
                let steps = pace::plan(
                    &s.rates,
                    Duration::from_secs(s.step_secs),
                    Duration::from_secs(s.warmup_secs),
                    Instant::now() + Duration::from_millis(100),
                );
                out.warmup_secs = s.warmup_secs;
                pacer.start(steps.clone());
                for st in &steps {
                    tokio::time::sleep_until(st.start.min(deadline).into()).await;
                    let acked0 = Stats::get(&ctx.stats.acked);
                    let t0 = Instant::now();
                    tokio::time::sleep_until((st.start + st.len).min(deadline).into()).await;
                    let secs = t0.elapsed().as_secs_f64();
                    if st.bucket.is_some() {
                        let rate = (Stats::get(&ctx.stats.acked) - acked0) as f64 / secs.max(1e-9);
                        achieved.push((st.rate, rate));
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                released = pacer.stop();
            } else if let Some(cfg) = &s.soak {
                let soak = crate::soak::run(cfg, server, acc, &ctx.stats, &mut pacer);
                out.soak = Some(soak.await?);
                pacer.stop();
            } else {
                while tasks.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            out.duration_secs = measured.elapsed().as_secs_f64();
            tokio::time::sleep(Duration::from_secs(2)).await; // drain in-flight messages
            ctx.running.store(false, Ordering::Relaxed);
            for t in tasks {
                let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
            }
            // After the drain: each step with the messages sent in it.
            let step = |r: &Mutex<crate::stats::Recorder>, i: usize| {
                r.lock().map(|r| r.step(i)).unwrap_or_default()
            };
            for (i, (rate, per_sec)) in achieved.into_iter().enumerate() {
                out.steps.push(Step {
                    offered_per_sec: rate,
                    offered: released.get(i).copied().unwrap_or(0),
                    achieved_per_sec: per_sec,
                    visitor_to_agent: step(&ctx.stats.v2a, i),
                    agent_to_visitor: step(&ctx.stats.a2v, i),
                    ack: step(&ctx.stats.ack, i),
                    send_lag: step(&ctx.stats.send_lag, i),
                });
            }
        }
        Kind::ReconnectStorm => {
            let (resumed, secs, lost, dup) = storm(s, server, acc, &ctx, conns, &tokens).await?;
            out.resumed = Some(resumed);
            out.resume_secs = Some(secs);
            out.lost = lost;
            out.duplicated = dup;
            out.duration_secs = secs;
        }
    }
    ctx.running.store(false, Ordering::Relaxed);
    for t in agent_tasks {
        t.abort();
    }
    if matches!(s.kind, Kind::Chat | Kind::Seed | Kind::Soak) {
        // Loss: gaps seen, plus acknowledged messages an owning agent never saw at the tail.
        out.lost = Stats::get(&ctx.stats.gaps) + tail_loss(&ctx);
        out.duplicated = Stats::get(&ctx.stats.duplicates);
    }
    if let Some(soak) = &mut out.soak {
        // After the drain: every send has had its chance to be acknowledged.
        let by_phase = ctx
            .stats
            .by_phase
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        soak.settle(&by_phase, out.lost);
    }
    sampler.abort();
    out.rss_peak_kib = peak.load(Ordering::Relaxed).max(server.rss_kib());
    out.sent = Stats::get(&ctx.stats.sent);
    out.acked = Stats::get(&ctx.stats.acked);
    out.errors += Stats::get(&ctx.stats.errors);
    out.ack_overdue = Stats::get(&ctx.stats.ack_overdue);
    out.ack = ctx
        .stats
        .ack
        .lock()
        .map(|r| r.summary())
        .unwrap_or_default();
    out.agent_reconnects = Stats::get(&ctx.stats.agent_reconnects);
    out.error_codes = ctx
        .stats
        .error_codes
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    out.visitor_to_agent = ctx
        .stats
        .v2a
        .lock()
        .map(|r| r.summary())
        .unwrap_or_default();
    out.agent_to_visitor = ctx
        .stats
        .a2v
        .lock()
        .map(|r| r.summary())
        .unwrap_or_default();
    out.timeline_v2a = ctx
        .stats
        .v2a
        .lock()
        .map(|r| r.timeline())
        .unwrap_or_default();
    out.timeline_a2v = ctx
        .stats
        .a2v
        .lock()
        .map(|r| r.timeline())
        .unwrap_or_default();
    if out.duration_secs > 0.0 {
        out.throughput_per_sec = out.acked as f64 / out.duration_secs;
    }
    if s.kind == Kind::Chat {
        // Whole-run latency = every step together is less useful than per step; keep the last step's.
        if let Some(last) = out.steps.last() {
            out.visitor_to_agent = last.visitor_to_agent.clone();
            out.agent_to_visitor = last.agent_to_visitor.clone();
        }
    }
    Ok(out)
}

/// Messages acknowledged to their sender that the owning agent never received.
fn tail_loss(ctx: &Ctx) -> u64 {
    let acked = ctx.acked_seq.lock().map(|m| m.clone()).unwrap_or_default();
    let seen = ctx.agent_seen.lock().map(|m| m.clone()).unwrap_or_default();
    acked
        .iter()
        .map(|(conv, &max)| (max - seen.get(conv).copied().unwrap_or(0)).max(0) as u64)
        .sum()
}

/// Keeps a connection open (the library answers pings) until aborted.
async fn hold(mut ws: Ws) {
    while let Ok(Some(_)) = client::next_frame(&mut ws).await {}
}

enum Plan {
    /// Send what the [`Pacer`] releases, when it releases it, until stopped.
    Rate(UnboundedReceiver<Due>),
    /// Send `messages`, pausing ~`think_ms` between them; a share are file uploads.
    Seed {
        messages: usize,
        think_ms: u64,
        file_ratio: f64,
    },
}

/// Seed: `left` more messages, each `think` (± 50 %) after the last one was
/// sent. A person typing, not an open-loop rate: its latencies count from
/// when each message was actually sent.
struct Think {
    next: Instant,
    think: Duration,
    left: usize,
}

async fn visitor(
    ws: Ws,
    idx: usize,
    ctx: Arc<Ctx>,
    plan: Plan,
    http: reqwest::Client,
    base: String,
    token: String,
) -> SeqTracker {
    let (mut tx, mut rx) = ws.split();
    let mut track = SeqTracker::default();
    let mut acks = AckClock::default();
    let mut n = 0usize;
    let cmid = |n: usize| format!("v{idx}-{n}");
    // Open the conversation: all visitors at once, before the run, so not timed.
    acks.sent(&ctx.stats, cmid(0), Instant::now(), None);
    if client::send(
        &mut tx,
        client::send_frame(&cmid(0), None, Stamp::UNTIMED, "hello 你好"),
    )
    .await
    .is_err()
    {
        Stats::inc(&ctx.stats.errors);
        return track;
    }
    let conv = loop {
        match client::next_frame(&mut rx).await {
            Ok(Some(ServerFrame::Ack {
                conversation_id,
                seq,
                client_msg_id,
                ..
            })) => {
                ctx.acked(&conversation_id, seq);
                acks.acked(&ctx.stats, &client_msg_id);
                break conversation_id;
            }
            Ok(Some(_)) => continue,
            _ => {
                Stats::inc(&ctx.stats.errors);
                return track;
            }
        }
    };
    ctx.opened.fetch_add(1, Ordering::Relaxed);
    let (mut dues, mut think, file_ratio) = match plan {
        Plan::Rate(dues) => (Some(dues), None, 0.0),
        Plan::Seed {
            messages,
            think_ms,
            file_ratio,
        } => {
            let think = Duration::from_millis(think_ms);
            let next = Instant::now() + think.mul_f64(rand::random_range(0.5..1.5));
            let left = messages;
            (None, Some(Think { next, think, left }), file_ratio)
        }
    };
    loop {
        let running = ctx.running.load(Ordering::Relaxed);
        let thought = think.as_ref().filter(|t| t.left > 0).map(|t| t.next);
        // Open loop: a send is made when due, whatever is still in flight.
        let send: Option<Due> = tokio::select! {
            f = client::next_frame(&mut rx) => {
                match f {
                    Ok(Some(ServerFrame::Ack { conversation_id, seq, client_msg_id, .. })) => {
                        ctx.acked(&conversation_id, seq);
                        acks.acked(&ctx.stats, &client_msg_id);
                    }
                    Ok(Some(ServerFrame::Message { message })) => {
                        if track.see(&ctx.stats, &message.conversation_id, message.seq)
                            && message.sender.kind == SenderKind::Agent
                            && let Some(stamp) = Stamp::parse(&message.content)
                        {
                            ctx.stats.a2v(ctx.stats.since(stamp.at), stamp.step);
                        }
                    }
                    Ok(Some(ServerFrame::Error { code, client_msg_id, .. })) => {
                        ctx.stats.error_frame(&code);
                        if let Some(id) = client_msg_id {
                            acks.answered(&id);
                        }
                    }
                    Ok(Some(_)) => {}
                    _ => {
                        if ctx.running.load(Ordering::Relaxed) {
                            Stats::inc(&ctx.stats.errors);
                            Stats::inc(&ctx.stats.visitors_dropped);
                        }
                        return track;
                    }
                }
                None
            },
            due = recv(&mut dues), if dues.is_some() && running => {
                if due.is_none() {
                    dues = None; // the run is over
                }
                due
            },
            _ = tokio::time::sleep_until(thought.unwrap_or_else(Instant::now).into()), if thought.is_some() && running => {
                let t = think.as_mut().expect("thinking");
                t.left -= 1;
                t.next = Instant::now() + t.think.mul_f64(rand::random_range(0.5..1.5));
                Some(Due { at: Instant::now(), bucket: Some(0) })
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                acks.overdue(&ctx.stats, ctx.ack_deadline);
                let done = think.as_ref().is_some_and(|t| t.left == 0);
                if !running || done {
                    // Seed visitors stay a moment for their last acks, then leave.
                    if done && running {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    return track;
                }
                None
            },
        };
        let Some(Due { at, bucket: step }) = send else {
            continue;
        };
        if let (Some(step), Ok(mut r)) = (step, ctx.stats.send_lag.lock()) {
            r.record(at.elapsed().as_micros() as u64, step);
        }
        acks.overdue(&ctx.stats, ctx.ack_deadline);
        n += 1;
        acks.sent(&ctx.stats, cmid(n), at, step);
        let stamp = Stamp {
            at: ctx.stats.micros(at),
            step,
        };
        let frame = if file_ratio > 0.0 && rand::random_bool(file_ratio) {
            match upload(&http, &base, &token).await {
                Ok(id) => {
                    // Timed from when the file was uploaded: the message is what is measured.
                    let stamp = Stamp {
                        at: ctx.stats.micros(Instant::now()),
                        step,
                    };
                    tokio_tungstenite::tungstenite::Message::text(serde_json::json!({"type":"send","client_msg_id":cmid(n),"conversation_id":conv,"kind":"image","attachment_id":id,"content":stamp.text()}).to_string())
                }
                Err(_) => {
                    Stats::inc(&ctx.stats.errors);
                    client::send_frame(&cmid(n), Some(&conv), stamp, &ctx.payload)
                }
            }
        } else {
            client::send_frame(&cmid(n), Some(&conv), stamp, &ctx.payload)
        };
        Stats::inc(&ctx.stats.sent);
        if client::send(&mut tx, frame).await.is_err() {
            Stats::inc(&ctx.stats.errors);
            Stats::inc(&ctx.stats.visitors_dropped);
            return track;
        }
    }
}

/// The next send the pacer released (`None`: it never will again).
async fn recv(dues: &mut Option<UnboundedReceiver<Due>>) -> Option<Due> {
    match dues {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A small PNG-looking file (10 KiB), uploaded as the visitor.
async fn upload(http: &reqwest::Client, base: &str, token: &str) -> Result<String> {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
    ];
    bytes.resize(10 * 1024, 7);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("photo.png"),
    );
    let v: serde_json::Value = http
        .post(format!("{base}/api/v1/attachments"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no id"))
}

/// An agent: answers its share of conversations. Like the console, when the
/// server closes its socket (e.g. 1013 slow consumer) it reconnects and
/// resumes its conversations with `sync` from the last `seq` it saw.
async fn agent(
    ws: Ws,
    idx: usize,
    ctx: Arc<Ctx>,
    again: (std::net::SocketAddr, String),
) -> SeqTracker {
    let mut track = SeqTracker::default();
    let mut ws = Some(ws);
    let mut attempt = 0u32;
    // Reply ids stay unique across reconnects (a reused one would be a resend).
    let mut n = 0u64;
    while ctx.running.load(Ordering::Relaxed) {
        let conn = match ws.take() {
            Some(w) => w,
            None => {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
                attempt += 1;
                match client::connect(again.0, client::source_for(idx + 1000), &again.1).await {
                    Ok((mut w, _)) => {
                        Stats::inc(&ctx.stats.agent_reconnects);
                        if resume(&mut w, idx, &ctx).await.is_err() {
                            continue;
                        }
                        w
                    }
                    Err(_) => continue,
                }
            }
        };
        if agent_session(conn, idx, &ctx, &mut track, &mut n).await {
            attempt = 0;
        }
    }
    track
}

/// After a reconnect: `sync` every conversation this agent owns from the last seq it saw.
async fn resume(w: &mut Ws, idx: usize, ctx: &Ctx) -> Result<()> {
    let owned: Vec<(String, i64)> = {
        let acked = ctx.acked_seq.lock().map(|m| m.clone()).unwrap_or_default();
        let seen = ctx.agent_seen.lock().map(|m| m.clone()).unwrap_or_default();
        acked
            .keys()
            .filter(|c| ctx.owner(c) == idx)
            .map(|c| (c.clone(), seen.get(c).copied().unwrap_or(0)))
            .collect()
    };
    for chunk in owned.chunks(200) {
        let entries: Vec<_> = chunk
            .iter()
            .map(|(c, after)| serde_json::json!({"conversation_id": c, "after_seq": after}))
            .collect();
        let frame = serde_json::json!({"type": "sync", "conversations": entries}).to_string();
        futures::SinkExt::send(w, tokio_tungstenite::tungstenite::Message::text(frame)).await?;
    }
    Ok(())
}

/// One connection's life; true if it ran (so backoff starts over).
async fn agent_session(ws: Ws, idx: usize, ctx: &Ctx, track: &mut SeqTracker, n: &mut u64) -> bool {
    let (mut tx, mut rx) = ws.split();
    loop {
        let f = match client::next_frame(&mut rx).await {
            Ok(Some(f)) => f,
            Ok(None) => {
                if ctx.running.load(Ordering::Relaxed) {
                    eprintln!("agent {idx}: the server closed the connection; reconnecting");
                }
                return true;
            }
            Err(e) => {
                if ctx.running.load(Ordering::Relaxed) {
                    eprintln!("agent {idx}: {e:#}; reconnecting");
                }
                return true;
            }
        };
        match f {
            ServerFrame::Message { message } => {
                let conv = &message.conversation_id;
                if ctx.owner(conv) != idx {
                    continue;
                }
                if !track.see(&ctx.stats, conv, message.seq) {
                    continue;
                }
                if let Ok(mut m) = ctx.agent_seen.lock() {
                    m.insert(conv.to_string(), message.seq);
                }
                if message.sender.kind != SenderKind::Visitor {
                    continue;
                }
                let stamp = Stamp::parse(&message.content);
                if let Some(stamp) = stamp {
                    ctx.stats.v2a(ctx.stats.since(stamp.at), stamp.step);
                }
                if message.seq > 1 && ctx.reply_ratio > 0.0 && rand::random_bool(ctx.reply_ratio) {
                    *n += 1;
                    Stats::inc(&ctx.stats.sent);
                    // Answered at once: due now, in the step of the message it answers.
                    let reply = Stamp {
                        at: ctx.stats.micros(Instant::now()),
                        step: stamp.and_then(|s| s.step),
                    };
                    if client::send(
                        &mut tx,
                        client::send_frame(&format!("a{idx}-{n}"), Some(conv), reply, &ctx.payload),
                    )
                    .await
                    .is_err()
                    {
                        Stats::inc(&ctx.stats.errors);
                        return true;
                    }
                }
            }
            ServerFrame::Ack {
                conversation_id,
                seq,
                ..
            } => ctx.acked(&conversation_id, seq),
            ServerFrame::Error { code, .. } => ctx.stats.error_frame(&code),
            _ => {}
        }
    }
}

/// Reconnect storm: see [`Kind::ReconnectStorm`]. Returns (resumed, seconds, lost, duplicated).
async fn storm(
    s: &Scenario,
    server: &Server,
    acc: &Accounts,
    ctx: &Arc<Ctx>,
    conns: Vec<Option<(Ws, ServerFrame)>>,
    tokens: &[String],
) -> Result<(usize, f64, u64, u64)> {
    // Each visitor opens its conversation, then disconnects.
    let opened: Vec<Option<(String, i64)>> = futures::stream::iter(conns.into_iter().enumerate())
        .map(|(i, c)| async move {
            let (ws, _) = c?;
            let (mut tx, mut rx) = ws.split();
            client::send(
                &mut tx,
                client::send_frame(&format!("s{i}"), None, Stamp::UNTIMED, "hello"),
            )
            .await
            .ok()?;
            loop {
                match client::next_frame(&mut rx).await.ok()?? {
                    ServerFrame::Ack {
                        conversation_id,
                        seq,
                        ..
                    } => return Some((conversation_id.into_string(), seq)),
                    _ => continue,
                }
            }
        })
        .buffered(s.connect_concurrency.max(1))
        .collect()
        .await;
    bail_if_none(opened.iter().flatten().count())?;
    // Dropping the connections above disconnected everyone.
    let convs = opened;
    // While everyone is away, agents write `missed_per_visitor` to every conversation.
    let agents = acc.agents.len();
    let mut writers = Vec::new();
    for (a, (_, token)) in acc.agents.iter().enumerate() {
        let mine: Vec<String> = convs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % agents == a)
            .filter_map(|(_, c)| c.as_ref().map(|c| c.0.clone()))
            .collect();
        let (ws, _) = client::connect(server.addr, client::source_for(2000 + a), token).await?;
        let k = s.missed_per_visitor;
        let ctx = ctx.clone();
        writers.push(tokio::spawn(async move {
            write_missed(ws, a, mine, k, ctx).await
        }));
    }
    for w in writers {
        w.await??;
    }
    // Everyone comes back at once and resumes from what they had.
    let start = Instant::now();
    let k = s.missed_per_visitor as i64;
    let results: Vec<(bool, u64, u64)> = futures::stream::iter(tokens.iter().enumerate())
        .map(|(i, t)| {
            let conv = convs[i].clone();
            async move {
                let Some((conv, last_seen)) = conv else {
                    return (false, 0, 0);
                };
                resume_one(server.addr, i, t, &conv, last_seen, k)
                    .await
                    .unwrap_or((false, k as u64, 0))
            }
        })
        .buffer_unordered(s.connect_concurrency.max(1))
        .collect()
        .await;
    let secs = start.elapsed().as_secs_f64();
    let resumed = results.iter().filter(|r| r.0).count();
    let lost = results.iter().map(|r| r.1).sum();
    let dup = results.iter().map(|r| r.2).sum();
    Ok((resumed, secs, lost, dup))
}

fn bail_if_none(n: usize) -> Result<()> {
    if n == 0 {
        bail!("no visitors");
    }
    Ok(())
}

/// One agent sends `k` messages to each of its conversations, 64 in flight.
async fn write_missed(ws: Ws, a: usize, convs: Vec<String>, k: usize, ctx: Arc<Ctx>) -> Result<()> {
    let (mut tx, mut rx) = ws.split();
    let total = convs.len() * k;
    let mut sent = 0usize;
    let mut acked = 0usize;
    let mut it = convs.iter().flat_map(|c| std::iter::repeat_n(c, k));
    while acked < total {
        while sent < total && sent - acked < 64 {
            let Some(conv) = it.next() else { break };
            sent += 1;
            Stats::inc(&ctx.stats.sent);
            client::send(
                &mut tx,
                client::send_frame(
                    &format!("m{a}-{sent}"),
                    Some(conv),
                    Stamp::UNTIMED,
                    "while you were away",
                ),
            )
            .await?;
        }
        match client::next_frame(&mut rx).await? {
            Some(ServerFrame::Ack { .. }) => {
                acked += 1;
                Stats::inc(&ctx.stats.acked);
            }
            Some(ServerFrame::Error { message, .. }) => bail!("agent send failed: {message}"),
            Some(_) => {}
            None => bail!("agent connection closed"),
        }
    }
    Ok(())
}

/// Reconnects one visitor and checks that sync returns exactly seqs
/// `after+1 ..= after+k`. Returns (ok, lost, duplicated).
async fn resume_one(
    server: std::net::SocketAddr,
    i: usize,
    token: &str,
    conv: &str,
    after: i64,
    k: i64,
) -> Result<(bool, u64, u64)> {
    let (ws, _) = client::connect(server, client::source_for(i), token).await?;
    let (mut tx, mut rx) = ws.split();
    let sync = serde_json::json!({"type":"sync","conversations":[{"conversation_id":conv,"after_seq":after}]});
    client::send(
        &mut tx,
        tokio_tungstenite::tungstenite::Message::text(sync.to_string()),
    )
    .await?;
    let mut expect = after + 1;
    let (mut lost, mut dup) = (0u64, 0u64);
    loop {
        match client::next_frame(&mut rx).await? {
            Some(ServerFrame::Message { message }) if message.conversation_id == conv => {
                if message.seq < expect {
                    dup += 1;
                } else {
                    lost += (message.seq - expect) as u64;
                    expect = message.seq + 1;
                }
            }
            Some(ServerFrame::Synced { .. }) => break,
            Some(_) => {}
            None => bail!("closed before synced"),
        }
    }
    lost += (after + k + 1 - expect).max(0) as u64;
    Ok((lost == 0 && dup == 0, lost, dup))
}
