//! `kefu search`: rebuild the full-text index (`reindex`), and measure it
//! (`bench`): generate realistic Chinese, English and mixed customer-service
//! messages into a fresh store (a temp SQLite file, or a fresh PostgreSQL
//! schema), then time a mix of searches while messages keep arriving
//! (docs/search.md, docs/benchmarks.md).

use anyhow::{Context, Result, ensure};
use clap::{Args, Subcommand};
use kefu_core::search::Query;
use kefu_core::{ContactId, ConversationId, MessageKind, Role, Sender, SenderKind};
use kefu_store::{
    ConversationTarget, ImportBatch, ImportConversation, ImportMessage, NewInbox, NewMessage,
    NewUser, SearchFilter, Store, StoreOptions, VisitInfo, new_id,
};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum SearchCommand {
    /// Index every message and contact again, in batches of 500 rows, each
    /// its own short transaction (safe on a live server: search keeps
    /// finding every row meanwhile).
    Reindex,
    /// Generate messages into a fresh store and time searches over them.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct BenchArgs {
    /// Messages to generate (about 50 per conversation).
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Use a fresh schema on this PostgreSQL server instead of a temp SQLite file.
    #[arg(long)]
    postgres: Option<String>,
    /// Rounds of the query mix (each round runs every query once).
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// Messages per second that keep arriving while the searches run.
    #[arg(long, default_value_t = 200)]
    arrivals: u64,
    /// Seed of the generator (the same seed, the same messages).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Keep the generated database (its URL is printed) to look at it afterwards.
    #[arg(long)]
    keep: bool,
}

pub async fn run(cmd: SearchCommand, store: Option<Store>) -> Result<()> {
    match cmd {
        SearchCommand::Reindex => {
            let store = store.context("reindex needs the configured database")?;
            let t = Instant::now();
            let n = store.search_rebuild().await?;
            println!(
                "search index rebuilt: {n} messages and contacts in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            store.close().await;
            Ok(())
        }
        SearchCommand::Bench(args) => bench(args).await,
    }
}

const ZH_TEMPLATES: &[&str] = &[
    "你好，我的订单{order}什么时候发货？",
    "我想申请退款，{product}质量有问题",
    "快递{days}天了还没到，能帮我查一下吗",
    "请问{product}现在有优惠券吗？",
    "发票抬头写错了，怎么修改",
    "账号登录不了，一直提示密码错误",
    "{product}的颜色和图片上不一样",
    "好的，谢谢",
    "收到了，非常感谢！",
    "能不能换成{color}的{product}",
    "我在{city}，运费是多少",
    "已经帮您登记，{days}个工作日内处理完毕",
    "您好，请提供一下订单号，我帮您查询",
    "亲，这边已经为您加急处理了",
    "{product}坏了，按钮按下去没有反应",
    "退货地址是哪里？我要寄回{product}",
    "物流显示已签收，但是我没有收到包裹",
    "会员积分怎么兑换{product}",
    "为什么我的优惠券不能用",
    "请问{city}有线下门店吗",
    "尺码偏小，可以换大一号吗",
    "商品已经寄出，单号是{order}",
    "您的退款已经原路退回，请注意查收",
    "不好意思让您久等了",
];

const EN_TEMPLATES: &[&str] = &[
    "Hi, when will my order {order} ship?",
    "I'd like a refund, the {eproduct} stopped working",
    "My package has been stuck for {days} days, can you check?",
    "Do you have a discount code for the {eproduct}?",
    "The invoice has the wrong company name",
    "I can't log in, it says my password is wrong",
    "The {eproduct} looks different from the photos",
    "Thanks, that helps a lot!",
    "Can I exchange it for a {ecolor} one?",
    "How much is shipping to {ecity}?",
    "We've escalated your case, expect an update within {days} business days",
    "Could you share your order number please?",
    "The tracking says delivered but nothing arrived",
    "Wrong size, I need a bigger one",
    "Your refund for order {order} has been processed",
    "Is there a store in {ecity}?",
];

const MIXED_TEMPLATES: &[&str] = &[
    "我的iPhone15屏幕坏了，{eproduct} also broken",
    "order {order} 还没发货 please check",
    "refund 什么时候到账？",
    "{eproduct} 和 {product} 可以一起寄吗",
];

const PRODUCTS: &[&str] = &[
    "蓝牙耳机",
    "保温杯",
    "空气炸锅",
    "机械键盘",
    "羽绒服",
    "运动鞋",
    "扫地机器人",
    "手机壳",
    "电饭煲",
    "行李箱",
    "台灯",
    "加湿器",
    "咖啡机",
    "双肩包",
    "电动牙刷",
    "充电宝",
];
const EPRODUCTS: &[&str] = &[
    "headphones",
    "water bottle",
    "air fryer",
    "keyboard",
    "down jacket",
    "sneakers",
    "robot vacuum",
    "phone case",
    "rice cooker",
    "suitcase",
    "desk lamp",
    "humidifier",
];
const COLORS: &[&str] = &["黑色", "白色", "红色", "蓝色", "灰色", "粉色"];
const ECOLORS: &[&str] = &["black", "white", "red", "blue", "grey", "pink"];
const CITIES: &[&str] = &[
    "北京", "上海", "深圳", "杭州", "成都", "广州", "武汉", "西安",
];
const ECITIES: &[&str] = &[
    "London",
    "Berlin",
    "Singapore",
    "Sydney",
    "Toronto",
    "Paris",
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "小明", "丽丽",
];
const FIRST: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan",
];
const LAST: &[&str] = &["Smith", "Brown", "Wilson", "Taylor", "Clark", "Walker"];

/// One message's text, like a customer-service chat's.
fn message(rng: &mut StdRng) -> String {
    let r: f64 = rng.random();
    let t = if r < 0.6 {
        *ZH_TEMPLATES.choose(rng).unwrap()
    } else if r < 0.92 {
        *EN_TEMPLATES.choose(rng).unwrap()
    } else {
        *MIXED_TEMPLATES.choose(rng).unwrap()
    };
    let order = format!("A{}", rng.random_range(100_000..1_000_000));
    t.replace("{order}", &order)
        .replace("{product}", PRODUCTS.choose(rng).unwrap())
        .replace("{eproduct}", EPRODUCTS.choose(rng).unwrap())
        .replace("{color}", COLORS.choose(rng).unwrap())
        .replace("{ecolor}", ECOLORS.choose(rng).unwrap())
        .replace("{city}", CITIES.choose(rng).unwrap())
        .replace("{ecity}", ECITIES.choose(rng).unwrap())
        .replace("{days}", &rng.random_range(1..10).to_string())
}

fn name(rng: &mut StdRng) -> String {
    if rng.random_bool(0.7) {
        format!(
            "{}{}",
            SURNAMES.choose(rng).unwrap(),
            GIVEN.choose(rng).unwrap()
        )
    } else {
        format!(
            "{} {}",
            FIRST.choose(rng).unwrap(),
            LAST.choose(rng).unwrap()
        )
    }
}

/// The probe left out of the mix's figures (shown apart): a filter that
/// passes only the oldest 1% of conversations, on a word in 5% of messages.
const WORST: &str = "worst case: zh word + an agent with only the oldest 1%";

/// What one query of the mix asks.
struct Probe {
    label: &'static str,
    q: String,
    kind: Kind,
    filter: SearchFilter,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Messages,
    Conversations,
    Contacts,
}

fn staff() -> SearchFilter {
    SearchFilter {
        include_notes: true,
        ..Default::default()
    }
}

/// The query mix: frequent and rare Chinese words, one character, phrases,
/// English words and prefixes, mixed, names, no match, and filters.
fn probes(
    rare_order: &str,
    agent: &kefu_core::UserId,
    old_agent: &kefu_core::UserId,
) -> Vec<Probe> {
    let m = |label, q: &str| Probe {
        label,
        q: q.into(),
        kind: Kind::Messages,
        filter: staff(),
    };
    let mut v = vec![
        m("zh word (frequent)", "退款"),
        m("zh word (frequent)", "快递"),
        m("zh word", "空气炸锅"),
        m("zh word", "发票"),
        m("zh one character", "退"),
        m("zh one character", "单"),
        m("zh phrase", "申请退款"),
        m("zh phrase", "还没到"),
        m("zh phrase", "密码错误"),
        m("zh two words", "优惠券 不能用"),
        m("en word (frequent)", "refund"),
        m("en word", "invoice"),
        m("en prefix", "deliv"),
        m("en two words", "wrong size"),
        m("en phrase", "stuck for"),
        m("mixed", "iphone15 屏幕"),
        m("mixed", "refund 到账"),
        m("rare order number", rare_order),
        m("no match (zh)", "量子计算机"),
        m("no match (en)", "spaceship"),
    ];
    v.push(Probe {
        label: "zh word + status filter",
        q: "退款".into(),
        kind: Kind::Messages,
        filter: SearchFilter {
            statuses: vec![kefu_core::ConversationStatus::Resolved],
            ..staff()
        },
    });
    v.push(Probe {
        label: "zh word + agent filter",
        q: "快递".into(),
        kind: Kind::Messages,
        filter: SearchFilter {
            assignee_id: Some(agent.clone()),
            ..staff()
        },
    });
    v.push(Probe {
        label: "en word + open, unassigned",
        q: "refund".into(),
        kind: Kind::Messages,
        filter: SearchFilter {
            statuses: vec![kefu_core::ConversationStatus::Open],
            unassigned: true,
            ..staff()
        },
    });
    v.push(Probe {
        label: WORST,
        q: "快递".into(),
        kind: Kind::Messages,
        filter: SearchFilter {
            assignee_id: Some(old_agent.clone()),
            ..staff()
        },
    });
    for (label, q) in [
        ("conversations (zh)", "退款"),
        ("conversations (en)", "refund"),
    ] {
        v.push(Probe {
            label,
            q: q.into(),
            kind: Kind::Conversations,
            filter: staff(),
        });
    }
    for (label, q) in [
        ("contacts (zh name)", "王伟"),
        ("contacts (en name)", "olivia"),
    ] {
        v.push(Probe {
            label,
            q: q.into(),
            kind: Kind::Contacts,
            filter: staff(),
        });
    }
    v
}

async fn fresh_store(
    args: &BenchArgs,
) -> Result<(Store, Option<tempfile::TempDir>, Option<String>)> {
    let opts = StoreOptions::default();
    match &args.postgres {
        Some(base) => {
            let (url, schema) = kefu_store::testing::fresh_postgres_schema(base).await?;
            let store = Store::open(&url, &opts).await?;
            store.migrate().await?;
            Ok((store, None, Some(schema)))
        }
        None => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let store = Store::open(&url, &opts).await?;
            store.migrate().await?;
            Ok((store, Some(dir), None))
        }
    }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

async fn bench(args: BenchArgs) -> Result<()> {
    ensure!(args.messages >= 1000, "--messages must be at least 1000");
    let (store, dir, schema) = fresh_store(&args).await?;
    let result = bench_on(&store, &args).await;
    store.close().await;
    if args.keep {
        match (&schema, dir) {
            (Some(schema), _) => println!("kept: the schema {schema}"),
            (None, Some(dir)) => println!("kept: {}", dir.keep().join("bench.db").display()),
            (None, None) => {}
        }
    } else if let (Some(base), Some(schema)) = (&args.postgres, &schema) {
        kefu_store::testing::drop_postgres_schema(base, schema).await?;
    }
    result
}

async fn bench_on(store: &Store, args: &BenchArgs) -> Result<()> {
    println!(
        "search bench: {} messages on {} (seed {})",
        args.messages,
        store.backend_name(),
        args.seed
    );
    let (ws, _) = store.ensure_workspace("search-bench").await?;
    let inbox = store
        .create_inbox(NewInbox {
            workspace_id: ws.id.clone(),
            name: "Website".into(),
            ..Default::default()
        })
        .await?;
    let agent = store
        .create_user(NewUser {
            workspace_id: ws.id.clone(),
            email: "agent@bench.local".into(),
            name: "Agent".into(),
            password_hash: "x".into(),
            role: Role::Agent,
            capacity: 1000,
        })
        .await?;
    let conversations = (args.messages / 50).max(1);
    let per_conv = args.messages / conversations;

    // Contacts and their first message (which opens the conversation), by
    // 32 writers at once (the SQLite writer commits them in batches).
    let t = Instant::now();
    let writers = 32u64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, ws, inbox) = (store.clone(), ws.id.clone(), inbox.id.clone());
        let seed = args.seed;
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed * 1000 + w);
            let mut out: Vec<(ConversationId, ContactId)> = Vec::new();
            for _ in (w..conversations).step_by(writers as usize) {
                let k = store
                    .create_contact(&ws, &inbox, VisitInfo::default())
                    .await?
                    .0;
                let email = format!("{}@example.com", new_id());
                store
                    .identify_contact(
                        &ws,
                        &k.id,
                        Some(name(&mut rng)),
                        Some(email),
                        Default::default(),
                    )
                    .await?;
                let a = store
                    .append_message(visitor_message(&ws, &inbox, &k.id, message(&mut rng)))
                    .await?;
                out.push((a.conversation.id, k.id));
            }
            anyhow::Ok(out)
        }));
    }
    let mut convs: Vec<(ConversationId, ContactId)> = Vec::new();
    for t in tasks {
        convs.extend(t.await??);
    }
    println!(
        "  {} contacts and conversations in {:.1} s",
        convs.len(),
        t.elapsed().as_secs_f64()
    );

    // The rest of the messages: appended on SQLite (its figure measures
    // the append path), imported on PostgreSQL (see `fill_imported`).
    let t = Instant::now();
    let convs = Arc::new(convs);
    let total = if store.backend_name() == "postgres" {
        let imported = fill_imported(
            store, &ws.id, &inbox.id, &convs, per_conv, &agent.id, args.seed,
        )
        .await?;
        convs.len() as u64 + imported
    } else {
        fill_appended(
            store, &ws.id, &convs, per_conv, &agent.id, args.seed, writers,
        )
        .await?
    };
    let how = if store.backend_name() == "postgres" {
        "imported (Store::import_batch)"
    } else {
        "appended"
    };
    let secs = t.elapsed().as_secs_f64();
    println!(
        "  {total} messages stored and indexed in {secs:.1} s ({:.0} messages/s, {how})",
        total as f64 / secs
    );
    // As in a real inbox: the older conversations (the list is in the order
    // their messages were stored) resolved, the newest tenth open; one agent
    // of ten has every tenth conversation, old and new; another agent only
    // the oldest 1% (a filter that skips nearly every match: the worst case).
    let old_agent = store
        .create_user(NewUser {
            workspace_id: ws.id.clone(),
            email: "old@bench.local".into(),
            name: "Old".into(),
            password_hash: "x".into(),
            role: Role::Agent,
            capacity: 1000,
        })
        .await?;
    let n = convs.len();
    let mut changes = Vec::new();
    for (i, (conv, _)) in convs.iter().enumerate() {
        let (store, ws, conv) = (store.clone(), ws.id.clone(), conv.clone());
        let actor = kefu_store::Actor {
            kind: SenderKind::Agent,
            id: agent.id.to_string(),
        };
        let assignee = if i % 10 == 0 {
            Some(agent.id.clone())
        } else if i < n / 100 {
            Some(old_agent.id.clone())
        } else {
            None
        };
        let resolve = i < n * 9 / 10;
        changes.push(tokio::spawn(async move {
            if let Some(a) = assignee {
                store.assign(&ws, &conv, Some(a), actor.clone()).await?;
            }
            if resolve {
                store
                    .change_status(&ws, &conv, kefu_core::ConversationStatus::Resolved, actor)
                    .await?;
            }
            anyhow::Ok(())
        }));
        if changes.len() >= 64 {
            for c in changes.drain(..) {
                c.await??;
            }
        }
    }
    for c in changes {
        c.await??;
    }

    // Fresh statistics, as autovacuum keeps them on a live server.
    store.search_analyze().await?;

    // A rare order number, said once.
    let rare = "Z987654";
    let (conv0, contact0) = convs[convs.len() - 1].clone();
    store
        .append_message(existing(
            &ws.id,
            &conv0,
            Sender {
                kind: SenderKind::Visitor,
                id: contact0.to_string(),
            },
            Some(contact0),
            format!("我的订单号是 {rare}，请帮我查一下"),
        ))
        .await?;

    // Messages keep arriving while the searches run.
    let stop = Arc::new(AtomicBool::new(false));
    let arrived = Arc::new(AtomicU64::new(0));
    let arrivals = {
        let (store, ws, convs, stop, arrived) = (
            store.clone(),
            ws.id.clone(),
            convs.clone(),
            stop.clone(),
            arrived.clone(),
        );
        let (rate, seed) = (args.arrivals, args.seed);
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed + 99);
            let tick = Duration::from_millis(50);
            let per_tick = (rate as f64 * tick.as_secs_f64()).round() as u64;
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) && per_tick > 0 {
                let mut batch = Vec::new();
                for _ in 0..per_tick {
                    // Visitors write in the open tenth (the newest).
                    let open = &convs[convs.len() * 9 / 10..];
                    let (conv, contact) = open.choose(&mut rng).unwrap();
                    batch.push(existing(
                        &ws,
                        conv,
                        Sender {
                            kind: SenderKind::Visitor,
                            id: contact.to_string(),
                        },
                        Some(contact.clone()),
                        message(&mut rng),
                    ));
                }
                for r in store.append_messages(batch).await {
                    r?;
                    arrived.fetch_add(1, Ordering::Relaxed);
                }
                next += tick;
                tokio::time::sleep_until(next.into()).await;
            }
            anyhow::Ok(())
        })
    };

    let mix = probes(rare, &agent.id, &old_agent.id);
    let mut all: Vec<u64> = Vec::new();
    let mut per: Vec<(String, Vec<u64>, usize)> = mix
        .iter()
        .map(|p| (p.label.to_string(), Vec::new(), 0))
        .collect();
    let t = Instant::now();
    for round in 0..=args.rounds {
        for (i, p) in mix.iter().enumerate() {
            let query = Query::parse(&p.q).context("a probe with nothing to search")?;
            let start = Instant::now();
            let found = match p.kind {
                Kind::Messages => store
                    .search_messages(&ws.id, &query, &p.filter, None, 20)
                    .await?
                    .items
                    .len(),
                Kind::Conversations => store
                    .search_conversations(&ws.id, &query, &p.filter, None, 20)
                    .await?
                    .items
                    .len(),
                Kind::Contacts => store
                    .search_contacts(&ws.id, &query, &p.filter, None, 20)
                    .await?
                    .items
                    .len(),
            };
            let us = start.elapsed().as_micros() as u64;
            // Round 0 warms the caches up and is not counted.
            if round > 0 {
                if p.label != WORST {
                    all.push(us);
                }
                per[i].1.push(us);
                per[i].2 = found;
            }
        }
    }
    let searching = t.elapsed();
    // Freshness: a message that just arrived is found at once.
    let token = format!("fresh{}", rand::rng().random_range(100_000..999_999));
    let (conv1, contact1) = convs[convs.len() - 2].clone();
    store
        .append_message(existing(
            &ws.id,
            &conv1,
            Sender {
                kind: SenderKind::Visitor,
                id: contact1.to_string(),
            },
            Some(contact1),
            format!("刚刚发的 {token}"),
        ))
        .await?;
    let fresh = store
        .search_messages(&ws.id, &Query::parse(&token).unwrap(), &staff(), None, 20)
        .await?
        .items
        .len();
    stop.store(true, Ordering::Relaxed);
    arrivals.await??;
    ensure!(fresh == 1, "a message just stored was not found");

    all.sort_unstable();
    println!(
        "  {} searches in {:.1} s while {} messages arrived ({:.0}/s); a message just stored is found at once",
        all.len(),
        searching.as_secs_f64(),
        arrived.load(Ordering::Relaxed),
        arrived.load(Ordering::Relaxed) as f64 / searching.as_secs_f64()
    );
    println!();
    println!("| query | hits (first page) | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (i, (label, mut v, found)) in per.into_iter().enumerate() {
        v.sort_unstable();
        println!(
            "| {label}: `{}` | {found} | {:.2} | {:.2} |",
            mix[i].q,
            pct(&v, 0.5),
            pct(&v, 0.99)
        );
    }
    println!();
    println!(
        "all searches but the worst case: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(&all, 0.5),
        pct(&all, 0.9),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    Ok(())
}

/// The messages after each conversation's first, through the append (in
/// batches of one sender's messages, by `writers` tasks at once); the
/// number of messages there are now.
async fn fill_appended(
    store: &Store,
    ws: &kefu_core::WorkspaceId,
    convs: &Arc<Vec<(ConversationId, ContactId)>>,
    per_conv: u64,
    agent: &kefu_core::UserId,
    seed: u64,
    writers: u64,
) -> Result<u64> {
    let sent = Arc::new(AtomicU64::new(convs.len() as u64));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, ws, convs, sent) = (store.clone(), ws.clone(), convs.clone(), sent.clone());
        let agent = agent.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed * 7919 + w);
            for (conv, contact) in convs.iter().skip(w as usize).step_by(writers as usize) {
                let mut batch = Vec::new();
                for _ in 1..per_conv {
                    let text = message(&mut rng);
                    batch.push(if rng.random_bool(0.5) {
                        existing(
                            &ws,
                            conv,
                            Sender {
                                kind: SenderKind::Visitor,
                                id: contact.to_string(),
                            },
                            Some(contact.clone()),
                            text,
                        )
                    } else {
                        existing(
                            &ws,
                            conv,
                            Sender {
                                kind: SenderKind::Agent,
                                id: agent.to_string(),
                            },
                            None,
                            text,
                        )
                    });
                }
                let n = batch.len() as u64;
                for r in store.append_messages(batch).await {
                    r?;
                }
                sent.fetch_add(n, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(sent.load(Ordering::Relaxed))
}

/// PostgreSQL: the messages after each conversation's first, through the
/// store's bulk import ([`Store::import_batch`], which indexes them in the
/// same transaction), 100 conversations a batch; the number imported.
/// PostgreSQL's append commits each message alone (about 1,000 a second on
/// the bench machine: 17 minutes for a million); the import writes 1,000
/// rows per statement. The data is what the append would have made: the
/// same generator, visitor or agent at random, `seq` on from 2, stamped
/// with the time it is stored (older conversations first, as the append
/// fills them), each conversation's last `seq` and activity moved along.
/// A batch's conversations end a millisecond apart, up to the moment it is
/// stored (never before the fill began: each conversation's first message
/// is older): one timestamp for a whole batch of 100 conversations is
/// nothing a real inbox holds, and it defeats what a filtered search checks
/// to know its page is complete (a match newer than the last activity of
/// every conversation it did not read).
/// What arrives during the searches still goes through the append.
async fn fill_imported(
    store: &Store,
    ws: &kefu_core::WorkspaceId,
    inbox: &str,
    convs: &Arc<Vec<(ConversationId, ContactId)>>,
    per_conv: u64,
    agent: &kefu_core::UserId,
    seed: u64,
) -> Result<u64> {
    const CONVERSATIONS_PER_BATCH: usize = 100;
    const TASKS: usize = 3;
    // Every conversation's first message is older than this.
    let began = kefu_store::now_ms();
    let chunks: Vec<Vec<(ConversationId, ContactId)>> = convs
        .chunks(CONVERSATIONS_PER_BATCH)
        .map(<[_]>::to_vec)
        .collect();
    let chunks = Arc::new(chunks);
    let mut tasks = Vec::new();
    for w in 0..TASKS {
        let (store, ws, chunks) = (store.clone(), ws.to_string(), chunks.clone());
        let (inbox, agent) = (inbox.to_string(), agent.to_string());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed * 7919 + w as u64);
            let mut n = 0;
            for chunk in chunks.iter().skip(w).step_by(TASKS) {
                let now = kefu_store::now_ms();
                let mut batch = ImportBatch::default();
                for (j, (conv, contact)) in chunk.iter().enumerate() {
                    // The chunk holds 100 conversations: a few ms back.
                    let at = (now - (chunk.len() - 1 - j) as i64).max(began);
                    for seq in 2..=per_conv as i64 {
                        let content = message(&mut rng);
                        let (sender_kind, sender_id) = if rng.random_bool(0.5) {
                            (SenderKind::Visitor, contact.to_string())
                        } else {
                            (SenderKind::Agent, agent.clone())
                        };
                        batch.messages.push(ImportMessage {
                            id: new_id(),
                            conversation_id: conv.to_string(),
                            seq,
                            sender_kind,
                            sender_id,
                            kind: MessageKind::Text,
                            content,
                            created_at: at,
                        });
                    }
                    batch.conversations.push(ImportConversation {
                        id: conv.to_string(),
                        inbox_id: inbox.clone(),
                        contact_id: contact.to_string(),
                        assignee_id: None,
                        last_seq: per_conv as i64,
                        created_at: at,
                        last_activity_at: at,
                    });
                }
                n += batch.messages.len() as u64;
                // Tokenizing is CPU work: off the runtime's threads.
                let prepared = {
                    let store = store.clone();
                    tokio::task::spawn_blocking(move || store.prepare_import(batch)).await?
                };
                store.import_batch(&ws, "search-bench", prepared).await?;
            }
            anyhow::Ok(n)
        }));
    }
    let mut n = 0;
    for t in tasks {
        n += t.await??;
    }
    Ok(n)
}

fn visitor_message(
    ws: &kefu_core::WorkspaceId,
    inbox: &str,
    contact: &ContactId,
    text: String,
) -> NewMessage {
    NewMessage {
        workspace_id: ws.clone(),
        target: ConversationTarget::VisitorActive {
            inbox_id: inbox.to_string(),
            contact_id: contact.clone(),
        },
        sender: Sender {
            kind: SenderKind::Visitor,
            id: contact.to_string(),
        },
        client_msg_id: Some(new_id()),
        kind: MessageKind::Text,
        content: text,
        attachment: None,
        require_contact: Some(contact.clone()),
        bot: None,
        only_while: None,
    }
}

fn existing(
    ws: &kefu_core::WorkspaceId,
    conv: &ConversationId,
    sender: Sender,
    require_contact: Option<ContactId>,
    text: String,
) -> NewMessage {
    NewMessage {
        workspace_id: ws.clone(),
        target: ConversationTarget::Existing(conv.clone()),
        sender,
        client_msg_id: Some(new_id()),
        kind: MessageKind::Text,
        content: text,
        attachment: None,
        require_contact,
        bot: None,
        only_while: None,
    }
}
