//! Why full-text search indexes Chinese as bigrams and not as jieba's words
//! (docs/search.md): over realistic customer-service messages, every
//! Chinese substring of one to four characters an agent might type is
//! looked up in two indexes, and compared with what the messages really
//! contain. A measurement, not a check of the product (the bigram index's
//! guarantee is property-tested in kefu_core::search):
//!
//! `cargo test -p kefu-bot --test search_segmentation -- --ignored --nocapture`

use jieba_rs::Jieba;
use kefu_core::search::{Document, Query};
use std::collections::BTreeSet;

/// A message, its bigram document and its jieba words.
type Indexed<'a> = (&'a str, Document, BTreeSet<String>);

const MESSAGES: &[&str] = &[
    "你好，我的订单什么时候发货？",
    "我想申请退款，蓝牙耳机质量有问题",
    "快递三天了还没到，能帮我查一下吗",
    "请问空气炸锅现在有优惠券吗？",
    "发票抬头写错了，怎么修改",
    "账号登录不了，一直提示密码错误",
    "机械键盘的颜色和图片上不一样",
    "能不能换成白色的羽绒服",
    "我在深圳，运费是多少",
    "已经帮您登记，三个工作日内处理完毕",
    "您好，请提供一下订单号，我帮您查询",
    "亲，这边已经为您加急处理了",
    "扫地机器人坏了，按钮按下去没有反应",
    "退货地址是哪里？我要寄回保温杯",
    "物流显示已签收，但是我没有收到包裹",
    "会员积分怎么兑换充电宝",
    "为什么我的优惠券不能用",
    "请问杭州有线下门店吗",
    "尺码偏小，可以换大一号吗",
    "您的退款已经原路退回，请注意查收",
    "王小明说电饭煲的内胆有划痕",
    "麻烦转人工客服，机器人听不懂",
    "收货人写成了李丽丽，能改吗",
    "双十一的满减活动还有吗",
];

/// The CJK runs of a text (what a Chinese query is taken from).
fn runs(text: &str) -> Vec<Vec<char>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for c in text.chars() {
        if kefu_core::search::is_cjk(c) {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether the bigram index finds `query` in `doc` (its phrase, or the one
/// character among the characters).
fn bigrams_find(doc: &Document, query: &str) -> bool {
    let q = Query::parse(query).unwrap();
    let p = &q.phrases[0];
    if query.chars().count() == 1 {
        return doc.chars.contains(&p.tokens[0]);
    }
    doc.tokens
        .windows(p.tokens.len())
        .any(|w| w == &p.tokens[..])
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn bigrams_find_every_substring_jieba_words_do_not() {
    let jieba = Jieba::new();
    let docs: Vec<Indexed> = MESSAGES
        .iter()
        .map(|m| {
            let words = jieba
                .cut_for_search(m, true)
                .into_iter()
                .map(|w| w.word.to_lowercase())
                .filter(|w| w.chars().any(kefu_core::search::is_cjk))
                .collect();
            (*m, Document::of(m), words)
        })
        .collect();
    // The words jieba itself cuts the messages into (two characters or
    // more): what a dictionary agrees with.
    let mut words = BTreeSet::new();
    for m in MESSAGES {
        for t in jieba.cut(m, true) {
            if t.word.chars().count() >= 2 && t.word.chars().all(kefu_core::search::is_cjk) {
                words.insert(t.word.to_string());
            }
        }
    }
    let (mut wn, mut wb, mut wj) = (0, 0, 0);
    for q in &words {
        let q_words: Vec<String> = jieba
            .cut(q, true)
            .into_iter()
            .map(|t| t.word.to_string())
            .collect();
        for (text, doc, w) in &docs {
            if text.contains(q.as_str()) {
                wn += 1;
                wb += usize::from(bigrams_find(doc, q));
                wj += usize::from(q_words.iter().all(|x| w.contains(x)));
            }
        }
    }
    println!(
        "jieba's own words ({} distinct, {wn} occurrences): bigrams find {wb} ({:.1}%), jieba words {wj} ({:.1}%)",
        words.len(),
        100.0 * wb as f64 / wn as f64,
        100.0 * wj as f64 / wn as f64
    );
    // Things an agent remembers and types.
    let mut typed = Vec::new();
    for q in [
        "小明",
        "丽丽",
        "快递三天",
        "原路退回",
        "满减",
        "转人工",
        "优惠券不能用",
        "三个工作日",
        "查收",
        "内胆",
    ] {
        let q_words: Vec<String> = jieba
            .cut(q, true)
            .into_iter()
            .map(|t| t.word.to_string())
            .collect();
        let (text, doc, w) = docs
            .iter()
            .find(|d| d.0.contains(q))
            .expect("a message with it");
        assert!(bigrams_find(doc, q), "{q} in {text}");
        let j = q_words.iter().all(|x| w.contains(x));
        typed.push(format!("{q} {}", if j { "found" } else { "missed" }));
    }
    println!("typed by an agent, jieba words: {}", typed.join(", "));
    let mut queries = BTreeSet::new();
    for m in MESSAGES {
        for run in runs(m) {
            for len in 1..=4 {
                for w in run.windows(len) {
                    queries.insert(w.iter().collect::<String>());
                }
            }
        }
    }
    let (mut expected, mut by_bigrams, mut by_jieba, mut jieba_wrong, mut bigram_wrong) =
        (0, 0, 0, 0, 0);
    let mut missed = Vec::new();
    for q in &queries {
        let q_words: Vec<String> = jieba
            .cut(q, true)
            .into_iter()
            .map(|t| t.word.to_string())
            .collect();
        for (text, doc, words) in &docs {
            let truth = text.contains(q.as_str());
            let b = bigrams_find(doc, q);
            let j = q_words.iter().all(|w| words.contains(w));
            if truth {
                expected += 1;
                by_bigrams += usize::from(b);
                by_jieba += usize::from(j);
                if !j && missed.len() < 12 {
                    missed.push(format!("{q} in {text}"));
                }
            } else {
                bigram_wrong += usize::from(b);
                jieba_wrong += usize::from(j);
            }
        }
    }
    let tokens = |f: &dyn Fn(&Indexed) -> usize| {
        docs.iter().map(f).sum::<usize>() as f64 / docs.len() as f64
    };
    println!(
        "{} messages, {} distinct Chinese substrings of 1-4 characters, {expected} (substring, message) pairs",
        MESSAGES.len(),
        queries.len()
    );
    println!(
        "bigrams + characters: found {by_bigrams}/{expected} ({:.1}%), {bigram_wrong} wrong; {:.1} tokens per message",
        100.0 * by_bigrams as f64 / expected as f64,
        tokens(&|d| d.1.tokens.len() + d.1.chars.len())
    );
    println!(
        "jieba words (search mode): found {by_jieba}/{expected} ({:.1}%), {jieba_wrong} wrong; {:.1} tokens per message",
        100.0 * by_jieba as f64 / expected as f64,
        tokens(&|d| d.2.len())
    );
    println!("jieba misses, e.g.: {}", missed.join("; "));
    assert_eq!(by_bigrams, expected);
    assert_eq!(bigram_wrong, 0);
}
