//! Property tests of the pure engine: assignment never overfills or picks an
//! ineligible agent, sticky wins when it can, round-robin is fair, the queue
//! is priority-then-FIFO, and the parser never panics. Plus time-zone edges.

use kefu_routing::assign::{Candidate, Strategy as Strat, pick};
use kefu_routing::clock::{BusinessHours, Period, local_time};
use kefu_routing::queue::Queue;
use kefu_routing::{Known, compile};
use proptest::prelude::*;

fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
    prop::collection::vec((any::<bool>(), 0u32..5, 0u32..6, 0i64..100), 0..12).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (online, capacity, active, last))| Candidate {
                id: format!("a{i:02}"),
                online,
                capacity,
                active,
                last_assigned_ms: last,
            })
            .collect()
    })
}

fn strategy() -> impl Strategy<Value = Strat> {
    prop_oneof![
        Just(Strat::LeastLoaded),
        Just(Strat::RoundRobin),
        Just(Strat::Grab)
    ]
}

proptest! {
    /// Repeated decisions (each applied) never push anyone over capacity and
    /// only stop when nobody eligible is left.
    #[test]
    fn never_over_capacity(mut agents in candidates(), strat in strategy(), n in 0usize..40) {
        let mut cursor: Option<String> = None;
        for _ in 0..n {
            let Some(chosen) = pick(&agents, strat, None, cursor.as_deref()).map(|c| c.id.clone()) else {
                prop_assert!(agents.iter().all(|a| !a.eligible()));
                break;
            };
            let a = agents.iter_mut().find(|a| a.id == chosen).unwrap();
            prop_assert!(a.online && a.active < a.capacity);
            a.active += 1;
            cursor = Some(chosen);
        }
        for a in &agents {
            prop_assert!(a.active <= a.capacity.max(5), "started ≤ 5");
        }
    }

    /// Least-loaded picks a minimum of `active` among the eligible.
    #[test]
    fn least_loaded_is_least(agents in candidates()) {
        if let Some(c) = pick(&agents, Strat::LeastLoaded, None, None) {
            prop_assert!(agents.iter().filter(|a| a.eligible()).all(|a| a.active >= c.active));
        }
    }

    /// The previous agent gets the visitor back whenever they can take them.
    #[test]
    fn sticky_wins_when_eligible(agents in candidates(), i in 0usize..12, strat in strategy()) {
        if let Some(prev) = agents.get(i) {
            let got = pick(&agents, strat, Some(&prev.id), None).map(|c| c.id.clone());
            if prev.eligible() {
                prop_assert_eq!(got, Some(prev.id.clone()));
            }
        }
    }

    /// Round-robin over k always-eligible agents gives each one every k-th conversation.
    #[test]
    fn round_robin_is_fair(k in 1usize..8, rounds in 1usize..5) {
        let agents: Vec<Candidate> = (0..k).map(|i| Candidate { id: format!("a{i}"), online: true, capacity: 100, active: 0, last_assigned_ms: 0 }).collect();
        let mut cursor: Option<String> = None;
        let mut counts = vec![0; k];
        for _ in 0..k * rounds {
            let c = pick(&agents, Strat::RoundRobin, None, cursor.as_deref()).unwrap();
            counts[c.id[1..].parse::<usize>().unwrap()] += 1;
            cursor = Some(c.id.clone());
        }
        prop_assert!(counts.iter().all(|&n| n == rounds));
    }

    /// The queue pops by priority (highest first), then arrival; positions are 1..=len.
    #[test]
    fn queue_order(items in prop::collection::vec((0u8..4, 0u64..1000), 0..60), removals in prop::collection::vec(0usize..60, 0..10)) {
        let mut q = Queue::default();
        let mut model: Vec<(u8, u64, String)> = Vec::new();
        for (i, (p, a)) in items.iter().enumerate() {
            let id = format!("c{i}");
            q.push(&id, *p, *a);
            model.push((*p, *a, id));
        }
        for r in removals {
            let id = format!("c{r}");
            let was = model.iter().position(|m| m.2 == id);
            prop_assert_eq!(q.remove(&id), was.is_some());
            if let Some(w) = was { model.remove(w); }
        }
        model.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        for (i, m) in model.iter().enumerate() {
            prop_assert_eq!(q.position(&m.2), Some(i + 1));
        }
        let popped: Vec<String> = std::iter::from_fn(|| q.pop().map(|w| w.conversation_id)).collect();
        prop_assert_eq!(popped, model.into_iter().map(|m| m.2).collect::<Vec<_>>());
    }

    /// Any input: an error or a rule set, never a panic.
    #[test]
    fn parser_never_panics(src in "\\PC{0,200}") {
        let _ = compile(&src, &Known::default());
    }

    /// DSL-shaped noise reaches deeper into the parser and checker.
    #[test]
    fn parser_never_panics_on_dsl_soup(words in prop::collection::vec(prop_oneof![
        Just("rule"), Just("\"r\""), Just("when"), Just("then"), Just("end"), Just("continue"), Just("priority"),
        Just("&&"), Just("||"), Just("!"), Just("("), Just(")"), Just("["), Just("]"), Just(","), Just("."),
        Just("customer.level"), Just("page.url"), Just("contains"), Just("matches"), Just("in"), Just("=="), Just(">"),
        Just("3"), Just("-2"), Just("\"x\""), Just("true"), Just("route_to(\"g\")"), Just("tag"), Just("group(\"g\")"),
        Just("time.between(\"09:00\",\"18:00\")"), Just("\"[\""),
    ], 0..40)) {
        let _ = compile(&words.join(" "), &Known::default());
    }
}

const HOUR: i64 = 3_600_000;

#[test]
fn local_time_across_dst_and_midnight() {
    // 2026-03-08 is the US spring-forward day: 01:59 EST is followed by 03:00 EDT.
    let before = 1_772_953_140_000; // 2026-03-08T06:59:00Z = 01:59 EST
    let t = local_time(before, "America/New_York", &[]).unwrap();
    assert_eq!((t.hour, t.minute, t.date.as_str()), (1, 59, "2026-03-08"));
    let t = local_time(before + 60_000, "America/New_York", &[]).unwrap();
    assert_eq!((t.hour, t.minute), (3, 0), "no 02:00 on the DST day");
    // Shanghai has no DST; midnight turns the date and the weekday.
    let t = local_time(1_795_449_600_000 - 1, "Asia/Shanghai", &[]).unwrap(); // 2026-11-23T16:00Z - 1 ms
    assert_eq!(
        (t.hour, t.minute, t.date.as_str(), t.weekday),
        (23, 59, "2026-11-23", 1)
    );
    let t = local_time(1_795_449_600_000, "Asia/Shanghai", &["2026-11-24".into()]).unwrap();
    assert_eq!(
        (t.hour, t.date.as_str(), t.weekday, t.holiday),
        (0, "2026-11-24", 2, true)
    );
    assert!(local_time(0, "Mars/Olympus", &[]).is_err());
}

#[test]
fn business_hours_with_zone_overnight_and_holidays() {
    let hours = BusinessHours {
        timezone: "Europe/Berlin".into(),
        periods: vec![
            Period {
                day: 1,
                open: "09:00".into(),
                close: "17:00".into(),
            },
            // Friday night shift into Saturday morning.
            Period {
                day: 5,
                open: "22:00".into(),
                close: "02:00".into(),
            },
        ],
        holidays: vec!["2026-12-21".into()],
    };
    // Monday 2026-11-23 in Berlin is UTC+1: 08:00Z = 09:00 local.
    let mon_0900 = 1_795_392_000_000 + 8 * HOUR; // 2026-11-23T08:00Z
    assert!(!hours.is_open(mon_0900 - 60_000).unwrap());
    assert!(hours.is_open(mon_0900).unwrap());
    assert!(hours.is_open(mon_0900 + 8 * HOUR - 60_000).unwrap());
    assert!(
        !hours.is_open(mon_0900 + 8 * HOUR).unwrap(),
        "closes at 17:00"
    );
    // Friday 2026-11-27 22:30 local → Saturday 01:30 still open, 02:00 closed.
    let fri_2230 = 1_795_392_000_000 + 4 * 24 * HOUR + 21 * HOUR + 30 * 60_000;
    assert!(hours.is_open(fri_2230).unwrap());
    assert!(hours.is_open(fri_2230 + 3 * HOUR).unwrap());
    assert!(!hours.is_open(fri_2230 + 3 * HOUR + 30 * 60_000).unwrap());
    // Monday 2026-12-21 is a holiday.
    assert!(!hours.is_open(mon_0900 + 28 * 24 * HOUR + HOUR).unwrap());
    // Summer time: Monday 2026-06-01 09:30 in Berlin is 07:30Z (UTC+2).
    assert!(hours.is_open(1_780_299_000_000).unwrap());
}
