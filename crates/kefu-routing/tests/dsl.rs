//! The rule DSL: parsing, errors (exact messages, like snapshots), evaluation
//! semantics (priority, continue, first route wins), and explanations.

use kefu_routing::eval::{Customer, GroupStats, LocalTime, PageInfo};
use kefu_routing::{Context, Known, Route, compile};
use std::collections::HashSet;

fn known() -> Known {
    Known {
        groups: Some(HashSet::from([
            "vip_group".to_string(),
            "billing".to_string(),
            "general".to_string(),
        ])),
    }
}

const RULES: &str = r#"
# VIP customers on the checkout page during office hours.
rule "VIP customers" priority 10
when customer.level > 3 && time.between("09:00", "18:00") && page.url contains "/checkout"
then route_to("vip_group"), set_priority("high"), tag("vip")
end

rule "Tag Chinese speakers" priority 20
when customer.language == "zh-CN"
then tag("zh") continue
end

rule "Billing questions"
when conversation.first_message matches "(?i)invoice|refund|发票|退款" && group("billing").online > 0
then route_to("billing")
end

rule "Everyone else" priority -1
when true
then route_to("general")
end
"#;

fn ctx() -> Context {
    Context {
        customer: Customer {
            language: Some("zh-CN".into()),
            attributes: serde_json::from_str(r#"{"level": 5}"#).unwrap(),
            ..Default::default()
        },
        page: PageInfo {
            url: "https://shop.example.com/checkout?step=2".into(),
            ..Default::default()
        },
        time: LocalTime {
            hour: 10,
            minute: 30,
            weekday: 1,
            date: "2026-11-23".into(),
            holiday: false,
        },
        ..Default::default()
    }
}

#[test]
fn priority_then_continue_then_first_match_wins() {
    let engine = compile(RULES, &known()).unwrap();
    let names: Vec<_> = engine.rules.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Tag Chinese speakers",
            "VIP customers",
            "Billing questions",
            "Everyone else"
        ]
    );
    let d = engine.explain(&ctx());
    assert_eq!(d.route, Some(Route::Group("vip_group".into())));
    assert_eq!(d.priority.as_deref(), Some("high"));
    assert_eq!(d.tags, ["zh", "vip"]);
    assert_eq!(
        d.trace.len(),
        2,
        "stops at the first match without continue"
    );
    assert!(d.trace.iter().all(|s| s.matched));
}

#[test]
fn falls_through_with_reasons() {
    let engine = compile(RULES, &known()).unwrap();
    let mut c = ctx();
    c.customer.attributes = serde_json::from_str(r#"{"level": 2}"#).unwrap();
    c.conversation.first_message = "Where is my 发票?".into();
    // Billing has nobody online: falls to "Everyone else".
    let d = engine.explain(&c);
    assert!(engine.decide(&c).trace.is_empty());
    assert_eq!(d.route, Some(Route::Group("general".into())));
    assert_eq!(
        d.trace[1].why,
        "`customer.level > 3` is false; customer.level = 2"
    );
    assert_eq!(d.trace[2].why, "`group(\"billing\").online > 0` is false");
    c.groups.insert(
        "billing".into(),
        GroupStats {
            online: 2,
            available: 1,
            queue: 0,
            open: true,
        },
    );
    assert_eq!(
        engine.decide(&c).route,
        Some(Route::Group("billing".into()))
    );
    // Outside office hours, at night, the VIP rule does not apply.
    let mut night = ctx();
    night.time.hour = 23;
    assert_eq!(
        engine.decide(&night).route,
        Some(Route::Group("general".into()))
    );
}

#[test]
fn overnight_spans_and_lists() {
    let src = r#"rule "night" when time.between("22:00", "06:00") && time.weekday in [0, 6] then offline() end
                 rule "tags" when customer.tags contains "wholesale" || !customer.identified then to_bot() end"#;
    let engine = compile(src, &Known::default()).unwrap();
    let mut c = ctx();
    c.time.weekday = 6;
    for (h, open) in [
        (21, false),
        (22, true),
        (23, true),
        (0, true),
        (5, true),
        (6, false),
    ] {
        c.time.hour = h;
        c.time.minute = 0;
        assert_eq!(engine.decide(&c).offline, open, "hour {h}");
    }
    c.time.hour = 12;
    c.customer.identified = true;
    assert!(!engine.decide(&c).to_bot);
    c.customer.tags = vec!["wholesale".into()];
    assert!(engine.decide(&c).to_bot);
}

/// Business events: `customer.recent_events` is a list of event types, and
/// attributes an event set are plain `customer.<attribute>`s.
#[test]
fn recent_events_and_attributes_set_by_events() {
    let src = r#"
rule "refunds" priority 10
when customer.recent_events contains "order.refunded"
then route_to("billing"), tag("refund")
end
rule "enterprise" when customer.plan == "enterprise" && !("order.refunded" in customer.recent_events) then route_to("vip_group") end
rule "rest" priority -1 when true then route_to("general") end
"#;
    let engine = compile(src, &known()).unwrap();
    let mut c = ctx();
    assert_eq!(
        engine.decide(&c).route,
        Some(Route::Group("general".into()))
    );
    let d = engine.explain(&c);
    assert_eq!(
        d.trace[0].why,
        "`customer.recent_events contains \"order.refunded\"` is false; customer.recent_events = []"
    );
    c.customer.recent_events = vec!["order.shipped".into(), "order.refunded".into()];
    let d = engine.decide(&c);
    assert_eq!(
        (d.route, d.tags),
        (
            Some(Route::Group("billing".into())),
            vec!["refund".to_string()]
        )
    );
    // Types match whole and exactly: no prefix, no other case.
    c.customer.recent_events = vec!["order.refunded.partial".into(), "Order.Refunded".into()];
    assert_eq!(
        engine.decide(&c).route,
        Some(Route::Group("general".into()))
    );
    c.customer
        .attributes
        .insert("plan".into(), serde_json::json!("enterprise"));
    assert_eq!(
        engine.decide(&c).route,
        Some(Route::Group("vip_group".into()))
    );
    c.customer.recent_events.push("order.refunded".into());
    assert_eq!(
        engine.decide(&c).route,
        Some(Route::Group("billing".into()))
    );
    // A list, not text or a number.
    let e = compile(
        r#"rule "x" when customer.recent_events > 1 then offline() end"#,
        &Known::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(e, "1:38: `>` compares numbers, found a list and a number");
    // The simulator's JSON context takes it too.
    let given: kefu_routing::Context = serde_json::from_value(
        serde_json::json!({"customer": {"recent_events": ["order.refunded"]}}),
    )
    .unwrap();
    assert_eq!(
        engine.decide(&given).route,
        Some(Route::Group("billing".into()))
    );
}

/// Errors say where and what was expected (exact messages, snapshot-style).
#[test]
fn error_messages() {
    let cases: &[(&str, &str)] = &[
        (
            "rule \"a\" when true then route_to(\"general\")",
            "1:44: expected `,` and another action, `continue` or `end`, found the end of the rules",
        ),
        (
            "rule a when true then tag(\"x\") end",
            "1:6: expected the rule's name in quotes, found `a`",
        ),
        (
            "rule \"a\"\nwhen customer.level > \"3\"\nthen tag(\"x\") end",
            "2:21: `>` compares numbers, found a number and text",
        ),
        (
            "rule \"a\" when page.url = \"x\" then tag(\"x\") end",
            "1:24: `=` is not an operator; compare with `==`",
        ),
        (
            "rule \"a\" when page.uri == \"x\" then tag(\"x\") end",
            "1:15: unknown variable `page.uri`; expected one of customer.level, customer.name, customer.email, customer.language, customer.country, customer.external_id, customer.identified, customer.tags, customer.returning, customer.recent_events, conversation.inbox, conversation.channel, conversation.first_message, message.intent, message.language, bot.confidence, bot.reason, page.url, page.referrer, time.hour, time.minute, time.weekday, time.date, time.holiday or customer.<attribute>",
        ),
        (
            "rule \"a\" when true then route_to(\"sales\") end",
            "1:25: there is no group \"sales\"",
        ),
        (
            "rule \"a\" when true then set_priority(\"max\") end",
            "1:25: priority must be one of low, normal, high, urgent, found \"max\"",
        ),
        (
            "rule \"a\" when true then tag(\"a tag far longer than thirty-two chars\") end",
            "1:25: a tag is 1 to 32 printable characters",
        ),
        (
            "rule \"a\" when true then escalate() end",
            "1:25: unknown action `escalate`; expected one of route_to, route_to_agent, set_priority, tag, auto_reply, to_bot, offline",
        ),
        (
            "rule \"a\" when time.between(\"9:00\", \"18:00\") then tag(\"x\") end",
            "1:28: expected a time \"HH:MM\" from 00:00 to 24:00",
        ),
        (
            "rule \"a\" when group(\"billing\") > 0 then tag(\"x\") end",
            "1:15: expected group(\"billing\") followed by .online, .available, .queue, .open",
        ),
        (
            "rule \"a\" when page.url matches \"(\" then tag(\"x\") end",
            "1:32: invalid regular expression: error: unclosed group",
        ),
        (
            "rule \"a\" when page.url == \"x",
            "1:27: this string is not closed with `\"`",
        ),
        (
            "rule \"a\" when page.url then tag(\"x\") end",
            "1:15: a `when` condition must be true/false, this is text",
        ),
        (
            "rule \"a\" when true then tag(\"x\") end\nrule \"a\" when true then tag(\"y\") end",
            "2:1: a second rule is named \"a\"; names must be unique",
        ),
        (
            "rule \"a\" when (true then tag(\"x\") end",
            "1:21: expected `)`, found `then`",
        ),
        (
            "rule \"a\" priority high when true then tag(\"x\") end",
            "1:19: expected a whole number after `priority`, found `high`",
        ),
        (
            "rule \"a\"\nwhen page.url contains \"x\" &&\nthen tag(\"x\") end",
            "3:1: expected a value, a variable or `(`, found `then`",
        ),
    ];
    for (src, want) in cases {
        let got = compile(src, &known()).err().map(|e| e.to_string());
        assert_eq!(got.as_deref(), Some(*want), "for {src:?}");
    }
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    let deep = format!(
        "rule \"a\" when {}true{} then tag(\"x\") end",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert!(
        compile(&deep, &Known::default())
            .unwrap_err()
            .message
            .contains("nest deeper")
    );
    let nots = format!(
        "rule \"a\" when {}true then tag(\"x\") end",
        "!".repeat(10_000)
    );
    assert!(compile(&nots, &Known::default()).is_err());
    // Long && / || chains nest as deep as they are long: bounded too.
    for op in ["||", "&&", " or "] {
        let chain = format!(
            "rule \"a\" when true{} then tag(\"x\") end",
            format!("{op}true").repeat(25_000)
        );
        assert!(
            compile(&chain, &Known::default())
                .unwrap_err()
                .message
                .contains("nest deeper"),
            "{op}"
        );
    }
    let fine = format!(
        "rule \"a\" when true{} then tag(\"x\") end",
        " || true".repeat(100)
    );
    assert!(compile(&fine, &Known::default()).is_ok());
    let lists = format!(
        "rule \"a\" when 1 in {}1{} then tag(\"x\") end",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(compile(&lists, &Known::default()).is_err());
    assert!(
        compile(&"x".repeat(300 * 1024), &Known::default())
            .unwrap_err()
            .message
            .contains("limit")
    );
}

#[test]
fn rules_read_what_the_bot_made_of_the_message() {
    let src = r#"rule "refunds to billing" when message.intent == "refunds" && bot.confidence >= 0.3 then route_to("billing") end
rule "asked" when bot.reason == "asked" && message.language == "en" then set_priority("high") end"#;
    let engine = compile(src, &known()).unwrap();
    assert!(engine.reads("message") && engine.reads("bot") && !engine.reads("page"));
    let mut c = ctx();
    c.message.intent = "refunds".into();
    c.bot.confidence = 0.42;
    assert_eq!(
        engine.decide(&c).route,
        Some(Route::Group("billing".into()))
    );
    c.bot.confidence = 0.2;
    assert_eq!(engine.decide(&c).route, None);
    c.bot.reason = "asked".into();
    c.message.language = "en".into();
    assert_eq!(engine.decide(&c).priority.as_deref(), Some("high"));
    assert!(
        compile(
            r#"rule "x" when bot.confidence == "high" then tag("x") end"#,
            &known()
        )
        .is_err()
    );
}
