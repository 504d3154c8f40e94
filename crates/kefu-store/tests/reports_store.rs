//! Reports' tables on SQLite and PostgreSQL: states saved with their facts
//! in one transaction, a stale state refused (nothing counted twice), sums
//! per quarter hour, agent, group and inbox, filters, and isolation.

use kefu_core::{ConversationId, WorkspaceId};
use kefu_reports::{ConvState, Fact, Metric, summary::AggKey};
use kefu_store::*;

async fn sqlite() -> (Store, Option<tempfile::TempDir>) {
    let dir = tempfile::tempdir().unwrap();
    (testing::sqlite_store(dir.path()).await.unwrap(), Some(dir))
}

async fn postgres() -> (Store, Option<tempfile::TempDir>) {
    (
        testing::postgres_store()
            .await
            .expect("PostgreSQL for the store suite"),
        None,
    )
}

fn fact(
    metric: Metric,
    at: i64,
    value: Option<i64>,
    agent: Option<&str>,
    group: Option<&str>,
) -> Fact {
    Fact {
        metric,
        at,
        value,
        value_bh: value.map(|v| v / 2),
        agent: agent.map(Into::into),
        group: group.map(Into::into),
        inbox: "web".into(),
    }
}

fn update(
    ws: &WorkspaceId,
    conv: &str,
    read_at: i64,
    position: i64,
    facts: Vec<Fact>,
) -> ReportUpdate {
    ReportUpdate {
        workspace_id: ws.clone(),
        conversation_id: ConversationId::new(conv),
        read_at,
        position,
        state: ConvState {
            inbox_id: "web".into(),
            created_at: Some(position),
            ..Default::default()
        },
        facts,
    }
}

const Q: i64 = 15 * 60_000;

async fn reports((store, _dir): (Store, Option<tempfile::TempDir>)) {
    let (ws, _) = store
        .ensure_workspace(&format!("r-{}", new_id()))
        .await
        .unwrap();
    let (other, _) = store
        .ensure_workspace(&format!("r-{}", new_id()))
        .await
        .unwrap();
    let (c1, c2) = (new_id(), new_id());
    store
        .save_report_updates(vec![
            update(
                &ws.id,
                &c1,
                0,
                10,
                vec![
                    fact(Metric::ConversationsOpened, 0, None, None, None),
                    fact(
                        Metric::FirstResponse,
                        60_000,
                        Some(60_000),
                        Some("ann"),
                        Some("sales"),
                    ),
                ],
            ),
            update(
                &ws.id,
                &c2,
                0,
                11,
                vec![
                    fact(Metric::ConversationsOpened, Q, None, None, None),
                    fact(
                        Metric::FirstResponse,
                        Q + 1,
                        Some(30_000),
                        Some("bob"),
                        Some("sales"),
                    ),
                ],
            ),
            update(
                &other.id,
                &new_id(),
                0,
                12,
                vec![fact(Metric::ConversationsOpened, 0, None, None, None)],
            ),
        ])
        .await
        .unwrap();

    // States read back, keyed by workspace and conversation.
    let key1 = (ws.id.clone(), ConversationId::new(c1.clone()));
    let states = store
        .report_states(std::slice::from_ref(&key1))
        .await
        .unwrap();
    assert_eq!(states[&key1].position, 10);
    assert_eq!(states[&key1].state.created_at, Some(10));
    // Another workspace's conversation id never answers for this one.
    let foreign = (other.id.clone(), ConversationId::new(c1.clone()));
    assert!(store.report_states(&[foreign]).await.unwrap().is_empty());

    // A batch whose state moved on meanwhile is refused whole: the first
    // update (valid) is not saved either.
    let c3 = new_id();
    let stale = store
        .save_report_updates(vec![
            update(
                &ws.id,
                &c3,
                0,
                20,
                vec![fact(Metric::ConversationsOpened, 0, None, None, None)],
            ),
            update(
                &ws.id,
                &c1,
                3,
                21,
                vec![fact(Metric::ConversationsResolved, 0, Some(1), None, None)],
            ),
        ])
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    // A new conversation seen twice (another node saved it first): refused too.
    let twice = store
        .save_report_updates(vec![update(&ws.id, &c2, 0, 11, vec![])])
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    // From the position read, it goes on.
    store
        .save_report_updates(vec![update(
            &ws.id,
            &c1,
            10,
            22,
            vec![fact(
                Metric::ConversationsResolved,
                2 * Q,
                Some(120_000),
                Some("ann"),
                Some("sales"),
            )],
        )])
        .await
        .unwrap();

    let by = |k| {
        let store = store.clone();
        let ws = ws.id.clone();
        async move {
            let mut rows = store
                .report_sums(&ws, 0, 3 * Q, k, &ReportFilter::default())
                .await
                .unwrap();
            rows.sort_by(|a, b| {
                (&a.metric, format!("{:?}", a.key)).cmp(&(&b.metric, format!("{:?}", b.key)))
            });
            rows
        }
    };
    let buckets = by(ReportKey::Bucket(Q)).await;
    let opened: Vec<_> = buckets
        .iter()
        .filter(|r| r.metric == "conversations_opened")
        .collect();
    assert_eq!(opened.len(), 2, "{buckets:?}");
    assert_eq!((&opened[0].key, opened[0].count), (&AggKey::Bucket(0), 1));
    assert_eq!((&opened[1].key, opened[1].count), (&AggKey::Bucket(1), 1));
    assert!(
        !buckets
            .iter()
            .any(|r| r.metric == "conversations_resolved" && r.count != 1),
        "the refused batch counted nothing: {buckets:?}"
    );
    // The hourly sums say the same per hour (quarter-hour keys of whole hours).
    let hourly = store
        .report_sums(
            &ws.id,
            0,
            3_600_000,
            ReportKey::Hourly,
            &ReportFilter::default(),
        )
        .await
        .unwrap();
    let opened: Vec<_> = hourly
        .iter()
        .filter(|r| r.metric == "conversations_opened")
        .collect();
    assert_eq!(opened.len(), 1, "both in the first hour: {hourly:?}");
    assert_eq!((&opened[0].key, opened[0].count), (&AggKey::Bucket(0), 2));
    let fr = hourly
        .iter()
        .find(|r| r.metric == "first_response")
        .unwrap();
    assert_eq!((fr.count, fr.sum, fr.sum_bh), (2, 90_000, 45_000));
    let resolved = hourly
        .iter()
        .find(|r| r.metric == "conversations_resolved")
        .unwrap();
    assert_eq!(
        resolved.count, 1,
        "the refused batch added nothing here either"
    );
    // Summed into local days and hours of the week by the database (UTC+8:
    // hour 0 UTC is 08:00 local, on Thursday 1970-01-01).
    let days = store
        .report_sums(
            &ws.id,
            0,
            3_600_000,
            ReportKey::LocalDays { offset: 8 },
            &ReportFilter::default(),
        )
        .await
        .unwrap();
    let opened = days
        .iter()
        .find(|r| r.metric == "conversations_opened")
        .unwrap();
    assert_eq!(
        (&opened.key, opened.count),
        (&AggKey::Bucket(-8 * 4), 2),
        "the local midnight's bucket"
    );
    let week = store
        .report_sums(
            &ws.id,
            0,
            3_600_000,
            ReportKey::LocalWeekHours { offset: 8 },
            &ReportFilter::default(),
        )
        .await
        .unwrap();
    let fr = week.iter().find(|r| r.metric == "first_response").unwrap();
    assert_eq!(
        (&fr.key, fr.count, fr.sum),
        (&AggKey::Bucket(0), 2, 90_000),
        "hour 8 of the week, back in UTC"
    );
    let agents = by(ReportKey::Agent).await;
    let fr: Vec<_> = agents
        .iter()
        .filter(|r| r.metric == "first_response")
        .collect();
    assert_eq!(fr.len(), 2);
    assert_eq!(
        (&fr[0].key, fr[0].sum, fr[0].sum_bh),
        (&AggKey::Name(Some("ann".into())), 60_000, 30_000)
    );
    let none = agents
        .iter()
        .find(|r| r.metric == "conversations_opened")
        .unwrap();
    assert_eq!((&none.key, none.count), (&AggKey::Name(None), 2));
    let groups = by(ReportKey::Group).await;
    let fr = groups
        .iter()
        .find(|r| r.metric == "first_response")
        .unwrap();
    assert_eq!(
        (&fr.key, fr.count, fr.sum),
        (&AggKey::Name(Some("sales".into())), 2, 90_000)
    );
    let inboxes = by(ReportKey::Inbox).await;
    assert!(
        inboxes
            .iter()
            .all(|r| r.key == AggKey::Name(Some("web".into())))
    );

    // The period is [from, to): the resolve at 2Q is outside [0, 2Q).
    let early = store
        .report_sums(&ws.id, 0, 2 * Q, ReportKey::Agent, &ReportFilter::default())
        .await
        .unwrap();
    assert!(!early.iter().any(|r| r.metric == "conversations_resolved"));
    // Filters.
    let ann = store
        .report_sums(
            &ws.id,
            0,
            3 * Q,
            ReportKey::Agent,
            &ReportFilter {
                agent_id: Some("ann".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ann.len(), 2, "{ann:?}");
    assert!(
        ann.iter()
            .all(|r| r.key == AggKey::Name(Some("ann".into())))
    );
    let nothing = store
        .report_sums(
            &ws.id,
            0,
            3 * Q,
            ReportKey::Inbox,
            &ReportFilter {
                inbox_id: Some("other".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(nothing.is_empty());
    // The other workspace has its own.
    let theirs = store
        .report_sums(
            &other.id,
            0,
            3 * Q,
            ReportKey::Inbox,
            &ReportFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].count, 1);

    assert_eq!(
        store
            .outbox_consumer_position("reports-test")
            .await
            .unwrap(),
        None
    );
    store.outbox_cursor("reports-test", 7).await.unwrap();
    assert_eq!(
        store
            .outbox_consumer_position("reports-test")
            .await
            .unwrap(),
        Some(7)
    );
}

#[tokio::test]
async fn reports_on_sqlite() {
    reports(sqlite().await).await
}

#[tokio::test]
async fn reports_on_postgres() {
    reports(postgres().await).await
}

const DAY: i64 = 86_400_000;

/// Per agent, group and inbox over many days: the whole days come from the
/// daily sums and the partial days at either end from the facts; the
/// result equals summing the facts themselves (what a filter reads), for
/// periods starting and ending anywhere in a day.
async fn keyed_sums_over_days((store, _dir): (Store, Option<tempfile::TempDir>)) {
    let (ws, _) = store
        .ensure_workspace(&format!("r-{}", new_id()))
        .await
        .unwrap();
    let agents = [Some("ann"), Some("bob"), None];
    let mut facts_of = Vec::new();
    // 40 days, a fact every 5 h 17 min (so every hour of the day is hit), rotating agents.
    let mut at = 3 * DAY + 7 * Q;
    let mut i = 0;
    while at < 43 * DAY {
        let agent = agents[i % 3];
        facts_of.push(fact(
            if i % 2 == 0 {
                Metric::FirstResponse
            } else {
                Metric::ConversationsOpened
            },
            at,
            (i % 2 == 0).then_some(1_000 + i as i64),
            agent,
            agent.map(|_| if i % 4 == 0 { "sales" } else { "support" }),
        ));
        at += 5 * 3_600_000 + 17 * 60_000;
        i += 1;
    }
    // Several batches (conversations), as the consumer writes them.
    for (n, chunk) in facts_of.chunks(7).enumerate() {
        store
            .save_report_updates(vec![update(
                &ws.id,
                &format!("k{n}"),
                0,
                1 + n as i64,
                chunk.to_vec(),
            )])
            .await
            .unwrap();
    }
    let sorted = |mut v: Vec<kefu_reports::summary::AggRow>| {
        v.sort_by(|a, b| {
            (a.metric.clone(), format!("{:?}", a.key))
                .cmp(&(b.metric.clone(), format!("{:?}", b.key)))
        });
        v.into_iter()
            .map(|r| (r.metric, r.key, r.count, r.sum, r.sum_bh))
            .collect::<Vec<_>>()
    };
    for (from, to) in [
        (0, 50 * DAY),
        (3 * DAY + 5 * 3_600_000, 20 * DAY + 13 * 3_600_000 + 1),
        (10 * DAY, 11 * DAY),
        (10 * DAY + 1, 11 * DAY - 1),
        (12 * DAY + Q, 12 * DAY + 30 * Q),
    ] {
        for key in [ReportKey::Agent, ReportKey::Group, ReportKey::Inbox] {
            let fast = store
                .report_sums(&ws.id, from, to, key, &ReportFilter::default())
                .await
                .unwrap();
            // Summed from the facts in the test itself.
            let mut want: std::collections::HashMap<(String, Option<String>), (i64, i64, i64)> =
                Default::default();
            for f in facts_of.iter().filter(|f| f.at >= from && f.at < to) {
                let k = match key {
                    ReportKey::Agent => f.agent.clone(),
                    ReportKey::Group => f.group.clone(),
                    _ => Some(f.inbox.clone()),
                };
                let e = want.entry((f.metric.as_str().to_string(), k)).or_default();
                e.0 += 1;
                e.1 += f.value.unwrap_or(0);
                e.2 += f.value_bh.unwrap_or(0);
            }
            let want: Vec<_> = want
                .into_iter()
                .map(|((metric, k), (n, s, sb))| kefu_reports::summary::AggRow {
                    metric,
                    key: AggKey::Name(k),
                    count: n,
                    sum: s,
                    sum_bh: sb,
                })
                .collect();
            assert!(!want.is_empty() || to - from < DAY);
            assert_eq!(sorted(fast), sorted(want), "{key:?} over [{from}, {to})");
        }
    }
}

#[tokio::test]
async fn keyed_sums_over_days_on_sqlite() {
    keyed_sums_over_days(sqlite().await).await
}

#[tokio::test]
async fn keyed_sums_over_days_on_postgres() {
    keyed_sums_over_days(postgres().await).await
}
