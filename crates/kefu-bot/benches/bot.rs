//! The bot's speed (docs/benchmarks.md): a decision without an LLM against
//! a knowledge base of 10,000 entries (target p99 ≤ 20 ms), building that
//! index, and the sensitive-word filter with 10,000 words (target ≤ 2 µs per
//! message). Run: cargo bench -p kefu-bot --bench bot
//!
//! The 10,000 entries are the sample set's 58 enabled entries plus
//! generated ones in both languages (products × topics), so the index has a
//! realistic vocabulary; the questions are the sample set's 333 test
//! questions. Percentiles are measured directly (criterion reports means).

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_bot::{
    Entry, Lang, formats,
    pipeline::KnowledgeBase,
    policy::{History, Patience, Thresholds, decide, fuse},
    sensitive::{Action, Filter},
    text::{Analyzer, detect},
};
use std::{hint::black_box, time::Instant};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bot/samples");

fn sample_entries() -> Vec<Entry> {
    let text = std::fs::read_to_string(format!("{SAMPLES}/shop-faq.json")).expect("the sample set");
    formats::import(formats::Format::Json, &text)
        .expect("sample json")
        .entries
}

fn questions() -> Vec<String> {
    std::fs::read_to_string(format!("{SAMPLES}/questions-test.jsonl"))
        .expect("the test questions")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["question"].as_str().map(str::to_string))
        .collect()
}

const ZH_PRODUCTS: &[&str] = &[
    "连衣裙",
    "运动鞋",
    "蓝牙耳机",
    "保温杯",
    "羽绒服",
    "充电宝",
    "牛仔裤",
    "台灯",
    "床单",
    "手表",
];
const ZH_TOPICS: &[&str] = &[
    "尺码怎么选",
    "有没有现货",
    "保修多久",
    "怎么清洗",
    "什么材质",
    "能不能开发票",
    "多久发货",
    "颜色有色差吗",
    "支持以旧换新吗",
    "有没有赠品",
];
const EN_PRODUCTS: &[&str] = &[
    "dress",
    "sneakers",
    "bluetooth earbuds",
    "thermos",
    "down jacket",
    "power bank",
    "jeans",
    "desk lamp",
    "bed sheet",
    "watch",
];
const EN_TOPICS: &[&str] = &[
    "which size should I pick",
    "is it in stock",
    "how long is the warranty",
    "how do I wash it",
    "what is it made of",
    "can I get an invoice",
    "when does it ship",
    "does the colour match the photos",
    "is there a trade-in",
    "does it come with a gift",
];

fn entries(n: usize) -> Vec<(String, Entry)> {
    let mut out: Vec<(String, Entry)> = sample_entries()
        .into_iter()
        .map(|e| (e.external_id.clone().unwrap_or_default(), e))
        .collect();
    let mut i = 0;
    while out.len() < n {
        let (zh, p, t) = (i % 2 == 0, i / 2 % 10, i / 20 % 10);
        let model = i / 200;
        let (q, lang) = if zh {
            (
                format!("{}{}型号{}{}", ZH_PRODUCTS[p], "", model, ZH_TOPICS[t]),
                Lang::Zh,
            )
        } else {
            (
                format!("{} model {} {}", EN_PRODUCTS[p], model, EN_TOPICS[t]),
                Lang::En,
            )
        };
        out.push((
            format!("gen-{i}"),
            Entry {
                external_id: Some(format!("gen-{i}")),
                question: q.clone(),
                alternatives: vec![format!("{q}?")],
                answer: format!("Answer {i}: {q}"),
                category: "products".into(),
                language: lang,
                enabled: true,
            },
        ));
        i += 1;
    }
    out
}

fn percentile(mut us: Vec<f64>, p: f64) -> f64 {
    us.sort_by(f64::total_cmp);
    let i = ((p * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1;
    us[i]
}

fn bench(c: &mut Criterion) {
    let analyzer = Analyzer::new();
    let start = Instant::now();
    // 10,000 enabled entries (the sample set has two disabled ones).
    let kb = KnowledgeBase::new(&analyzer, entries(10_002));
    println!(
        "index of {} entries built in {:.1} ms",
        kb.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    let qs = questions();
    let (t, p) = (Thresholds::default(), Patience::default());
    let decide_one = |q: &str| {
        let lang = detect(q);
        let fused = fuse(&[kb.lexical(&analyzer, q, lang, 10)]);
        decide(&fused, &t, &p, History::default(), false)
    };
    // Percentiles over every question, five rounds.
    let mut times = Vec::new();
    for _ in 0..5 {
        for q in &qs {
            let s = Instant::now();
            black_box(decide_one(q));
            times.push(s.elapsed().as_secs_f64() * 1e6);
        }
    }
    println!(
        "decision at 10,000 entries over {} questions: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        times.len(),
        percentile(times.clone(), 0.5),
        percentile(times.clone(), 0.99),
        percentile(times, 1.0)
    );
    let mut i = 0;
    c.bench_function("decision, 10,000 entries", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            black_box(decide_one(&qs[i]))
        })
    });

    // 10,000 words: real-looking Chinese and English ones and generated ones.
    let words = (0..10_000).map(|i| {
        let w = if i % 2 == 0 {
            format!("敏感词{i}")
        } else {
            format!("badword{i}")
        };
        let a = [Action::Mask, Action::Block, Action::Flag][i % 3];
        (w, a)
    });
    let filter = Filter::new(words).expect("filter");
    let mut times = Vec::new();
    for _ in 0..20 {
        for q in &qs {
            let s = Instant::now();
            black_box(filter.check(q));
            times.push(s.elapsed().as_secs_f64() * 1e6);
        }
    }
    println!(
        "sensitive words (10,000) per message: p50 {:.2} µs, p99 {:.2} µs",
        percentile(times.clone(), 0.5),
        percentile(times, 0.99)
    );
    let mut j = 0;
    c.bench_function("sensitive words, 10,000, one message", |b| {
        b.iter(|| {
            j = (j + 1) % qs.len();
            black_box(filter.check(&qs[j]))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
