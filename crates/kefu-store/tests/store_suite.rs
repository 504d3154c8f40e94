//! One suite, run against both backends: SQLite (a temp file) and PostgreSQL
//! (a fresh schema on the local server).

use kefu_core::{ConversationStatus, MessageKind, Role, Sender, SenderKind};
use kefu_store::*;

struct Fixture {
    store: Store,
    ws: Workspace,
    inbox: Inbox,
    agent: User,
    _dir: Option<tempfile::TempDir>,
}

async fn fixture(store: Store, dir: Option<tempfile::TempDir>) -> Fixture {
    let (ws, inbox) = testing::workspace_with_inbox(&store, "acme").await.unwrap();
    let agent = store
        .create_user(NewUser {
            workspace_id: ws.id.clone(),
            email: format!("agent-{}@example.com", new_id()),
            name: "Agent".into(),
            password_hash: "x".into(),
            role: Role::Agent,
            capacity: 5,
        })
        .await
        .unwrap();
    Fixture {
        store,
        ws,
        inbox,
        agent,
        _dir: dir,
    }
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = testing::sqlite_store(dir.path()).await.unwrap();
    fixture(store, Some(dir)).await
}

async fn postgres() -> Fixture {
    fixture(
        testing::postgres_store()
            .await
            .expect("PostgreSQL for the store suite"),
        None,
    )
    .await
}

fn visitor_msg(f: &Fixture, contact: &Contact, cmid: &str, text: &str) -> NewMessage {
    NewMessage {
        workspace_id: f.ws.id.clone(),
        target: ConversationTarget::VisitorActive {
            inbox_id: f.inbox.id.clone(),
            contact_id: contact.id.clone(),
        },
        sender: Sender {
            kind: SenderKind::Visitor,
            id: contact.id.to_string(),
        },
        client_msg_id: Some(cmid.into()),
        kind: MessageKind::Text,
        content: text.into(),
        attachment: None,
        require_contact: Some(contact.id.clone()),
        bot: None,
        only_while: None,
    }
}

async fn first_message_opens_conversation_and_dedupes(f: Fixture) {
    let s = &f.store;
    let v = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    let a = s
        .append_message(visitor_msg(&f, &v, "m1", "你好"))
        .await
        .unwrap();
    assert!(a.created && !a.duplicate);
    assert_eq!(a.message.seq, 1);
    let again = s
        .append_message(visitor_msg(&f, &v, "m1", "你好"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message.id, a.message.id);
    let b = s
        .append_message(visitor_msg(&f, &v, "m2", "hello"))
        .await
        .unwrap();
    assert_eq!(b.message.conversation_id, a.message.conversation_id);
    assert_eq!(b.message.seq, 2);
    let all = s
        .list_messages(&a.conversation.id, 0, None, 100, true)
        .await
        .unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    let events = s
        .list_events(&f.ws.id, &a.conversation.id, None, 10)
        .await
        .unwrap();
    assert_eq!(events[0].kind, "conversation_created");
}

async fn seq_is_dense_under_concurrency(f: Fixture) {
    let s = f.store.clone();
    let v = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    let first = s
        .append_message(visitor_msg(&f, &v, "first", "x"))
        .await
        .unwrap();
    let conv = first.conversation.id.clone();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (s, ws, agent, conv) = (s.clone(), f.ws.id.clone(), f.agent.id.clone(), conv.clone());
        tasks.push(tokio::spawn(async move {
            s.append_message(NewMessage {
                workspace_id: ws,
                target: ConversationTarget::Existing(conv),
                sender: Sender {
                    kind: SenderKind::Agent,
                    id: agent.to_string(),
                },
                client_msg_id: Some(format!("c{i}")),
                kind: MessageKind::Text,
                content: format!("reply {i}"),
                attachment: None,
                require_contact: None,
                bot: None,
                only_while: None,
            })
            .await
            .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = s.list_messages(&conv, 0, None, 1000, true).await.unwrap();
    assert_eq!(
        all.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=41).collect::<Vec<_>>()
    );
    let page = s
        .list_messages(&conv, 10, Some(15), 100, true)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![11, 12, 13, 14, 15]
    );
    let back = s.list_messages_before(&conv, 5, 2, true).await.unwrap();
    assert_eq!(back.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3, 4]);
    // A resend gives back the stored message and leaves no hole in seq.
    let reply = |cmid: &str| NewMessage {
        workspace_id: f.ws.id.clone(),
        target: ConversationTarget::Existing(conv.clone()),
        sender: Sender {
            kind: SenderKind::Agent,
            id: f.agent.id.to_string(),
        },
        client_msg_id: Some(cmid.into()),
        kind: MessageKind::Text,
        content: "again".into(),
        attachment: None,
        require_contact: None,
        bot: None,
        only_while: None,
    };
    let again = s.append_message(reply("c7")).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message.content, "reply 7");
    let next = s.append_message(reply("new")).await.unwrap();
    assert_eq!(next.message.seq, 42);
    assert_eq!(
        s.get_conversation(&f.ws.id, &conv).await.unwrap().last_seq,
        42
    );
    // The same send racing itself (likely within one SQLite batch): stored
    // once, every copy answered with it, and seq stays dense.
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let (s, m) = (s.clone(), reply("raced"));
            tokio::spawn(async move { s.append_message(m).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for r in racers {
        match r.await.unwrap() {
            Ok(a) => seqs.push(a.message.seq),
            // PostgreSQL may answer a racing copy with a retryable conflict.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        !seqs.is_empty() && seqs.iter().all(|&q| q == 43),
        "{seqs:?}"
    );
    let last = s.append_message(reply("after-race")).await.unwrap();
    assert_eq!(last.message.seq, 44);
}

async fn status_machine_and_events(f: Fixture) {
    let s = &f.store;
    let v = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    let a = s
        .append_message(visitor_msg(&f, &v, "m1", "hi"))
        .await
        .unwrap();
    let actor = Actor {
        kind: SenderKind::Agent,
        id: f.agent.id.to_string(),
    };
    let c = s
        .change_status(
            &f.ws.id,
            &a.conversation.id,
            ConversationStatus::Resolved,
            actor.clone(),
        )
        .await
        .unwrap()
        .after;
    assert_eq!(c.status, ConversationStatus::Resolved);
    let err = s
        .change_status(&f.ws.id, &c.id, ConversationStatus::Pending, actor.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Transition(_)), "{err:?}");
    // The visitor writing again in a resolved conversation (by id) reopens it.
    let mut m = visitor_msg(&f, &v, "m2", "still there?");
    m.target = ConversationTarget::Existing(c.id.clone());
    let r = s.append_message(m).await.unwrap();
    assert_eq!(r.reopened_from, Some(ConversationStatus::Resolved));
    assert_eq!(r.conversation.status, ConversationStatus::Open);
    let assigned = s
        .assign(&f.ws.id, &c.id, Some(f.agent.id.clone()), actor.clone())
        .await
        .unwrap()
        .after;
    assert_eq!(assigned.assignee_id.as_deref(), Some(f.agent.id.as_str()));
    assert!(matches!(
        s.assign(&f.ws.id, &c.id, Some("nobody".into()), actor.clone())
            .await,
        Err(StoreError::Invalid(_))
    ));
    s.change_status(&f.ws.id, &c.id, ConversationStatus::Closed, actor.clone())
        .await
        .unwrap();
    let mut m = visitor_msg(&f, &v, "m3", "closed?");
    m.target = ConversationTarget::Existing(c.id.clone());
    assert!(matches!(
        s.append_message(m).await,
        Err(StoreError::Invalid(_))
    ));
    let kinds: Vec<String> = s
        .list_events(&f.ws.id, &c.id, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    // One active conversation per visitor and inbox: reopening an old one while
    // a newer one is open is refused with a clear message, and nothing changes.
    let w = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    // No reopen window: a message after a resolve starts a new conversation.
    s.update_inbox(
        &f.ws.id,
        &f.inbox.id,
        kefu_store::InboxPatch {
            reopen_window_secs: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let old = s
        .append_message(visitor_msg(&f, &w, "o1", "first"))
        .await
        .unwrap()
        .conversation;
    s.change_status(
        &f.ws.id,
        &old.id,
        ConversationStatus::Resolved,
        actor.clone(),
    )
    .await
    .unwrap();
    let newer = s
        .append_message(visitor_msg(&f, &w, "o2", "again"))
        .await
        .unwrap();
    assert!(newer.created);
    // Writing into the old one (past the reopen window) lands in the
    // visitor's active conversation instead; the old one stays resolved.
    let mut m = visitor_msg(&f, &w, "o3", "back to the old one");
    m.target = ConversationTarget::Existing(old.id.clone());
    let landed = s.append_message(m).await.unwrap();
    assert_eq!(landed.conversation.id, newer.conversation.id);
    assert!(!landed.created);
    // An agent reopening the old one while the newer is active: refused, clearly.
    match s
        .change_status(&f.ws.id, &old.id, ConversationStatus::Open, actor.clone())
        .await
    {
        Err(StoreError::Conflict(msg)) => {
            assert!(msg.contains("another active conversation"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.get_conversation(&f.ws.id, &old.id).await.unwrap().status,
        ConversationStatus::Resolved
    );
    assert_eq!(
        kinds,
        [
            "conversation_created",
            "conversation_status_changed",
            "conversation_status_changed",
            "conversation_assigned",
            "conversation_status_changed"
        ]
    );
}

async fn keyset_pages_and_filters(f: Fixture) {
    let s = &f.store;
    let mut ids = Vec::new();
    for i in 0..7 {
        let v = s
            .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
            .await
            .unwrap()
            .0;
        let a = s
            .append_message(visitor_msg(&f, &v, &format!("k{i}"), "hi"))
            .await
            .unwrap();
        ids.push(a.conversation.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<ActivityCursor> = None;
    loop {
        let page = s
            .list_conversations(&f.ws.id, &ConversationFilter::default(), cursor.as_ref(), 3)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        cursor = Some(ActivityCursor {
            key: last.last_activity_at,
            id: last.id.clone(),
        });
        seen.extend(page.into_iter().map(|c| c.id));
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest activity first, every conversation once");
    let open = ConversationFilter {
        statuses: vec![ConversationStatus::Resolved],
        ..Default::default()
    };
    assert!(
        s.list_conversations(&f.ws.id, &open, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let un = ConversationFilter {
        unassigned: true,
        ..Default::default()
    };
    assert_eq!(
        s.list_conversations(&f.ws.id, &un, None, 10)
            .await
            .unwrap()
            .len(),
        7
    );
    let contacts = s
        .list_contacts(&f.ws.id, &Default::default(), None, 4)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 4);
    let rest = s
        .list_contacts(&f.ws.id, &Default::default(), Some(&contacts[3].id), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 3);
}

async fn tenants_are_isolated(f: Fixture) {
    let s = &f.store;
    let v = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    let a = s
        .append_message(visitor_msg(&f, &v, "m1", "hi"))
        .await
        .unwrap();
    let other = s
        .create_workspace(&format!("other-{}", new_id()))
        .await
        .unwrap();
    assert!(matches!(
        s.get_conversation(&other.id, &a.conversation.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.get_contact(&other.id, &v.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        s.list_conversations(&other.id, &ConversationFilter::default(), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        s.get_user(&other.id, &f.agent.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn sessions_keys_and_reads(f: Fixture) {
    let s = &f.store;
    let sess = s
        .create_session(&f.agent.id, "h1", now_ms() + 60_000)
        .await
        .unwrap();
    let rotated = s
        .rotate_session("h1", "h2", now_ms() + 60_000)
        .await
        .unwrap();
    assert_eq!(rotated.id, sess.id);
    assert!(matches!(
        s.rotate_session("h1", "h3", now_ms() + 60_000).await,
        Err(StoreError::NotFound)
    ));
    s.revoke_session(&sess.id).await.unwrap();
    assert!(s.get_session(&sess.id).await.unwrap().revoked_at.is_some());
    assert!(matches!(
        s.rotate_session("h2", "h4", now_ms() + 60_000).await,
        Err(StoreError::NotFound)
    ));
    let key = s
        .create_api_key(
            &f.ws.id,
            "erp",
            "khash",
            "kefu_sk_ab",
            &["events:write".to_string()],
        )
        .await
        .unwrap();
    let found = s.find_api_key("khash").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.scopes),
        (key.id.clone(), vec!["events:write".to_string()])
    );
    s.revoke_api_key(&f.ws.id, &key.id).await.unwrap();
    assert!(s.find_api_key("khash").await.unwrap().is_none());
    let dup = s
        .create_user(NewUser {
            workspace_id: f.ws.id.clone(),
            email: f.agent.email.to_uppercase(),
            name: "x".into(),
            password_hash: "x".into(),
            role: Role::Agent,
            capacity: 1,
        })
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(_))),
        "emails are unique, case-insensitively"
    );
    let v = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    let a = s
        .append_message(visitor_msg(&f, &v, "m1", "hi"))
        .await
        .unwrap();
    assert!(
        s.mark_read(&a.conversation.id, "agent", &f.agent.id, 1)
            .await
            .unwrap()
    );
    assert!(
        !s.mark_read(&a.conversation.id, "agent", &f.agent.id, 1)
            .await
            .unwrap(),
        "never moves back or stays"
    );
    assert_eq!(
        s.read_positions(&a.conversation.id).await.unwrap(),
        (0, 1),
        "the agents' position, and none yet for the visitor"
    );
    s.mark_read(&a.conversation.id, "visitor", v.id.as_str(), 1)
        .await
        .unwrap();
    assert_eq!(s.read_positions(&a.conversation.id).await.unwrap(), (1, 1));
    assert_eq!(
        s.read_position(&a.conversation.id, &f.agent.id)
            .await
            .unwrap(),
        1
    );
}

/// A pipelined run of one visitor's sends: stored in order, resends answered
/// with the first copy, and a send that needs the general path (reopening a
/// resolved conversation) keeps its place in the order.
async fn append_many_keeps_order(f: Fixture) {
    let s = &f.store;
    let v = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    let first = s
        .append_message(visitor_msg(&f, &v, "a", "one"))
        .await
        .unwrap();
    let conv = first.conversation.id.clone();
    let msgs = ["b", "a", "c", "d"].map(|c| visitor_msg(&f, &v, c, c));
    let r: Vec<_> = s
        .append_messages(msgs.to_vec())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        r.iter().map(|a| a.message.seq).collect::<Vec<_>>(),
        [2, 1, 3, 4]
    );
    assert!(r[1].duplicate && !r[0].duplicate && !r[2].duplicate);
    let actor = Actor {
        kind: SenderKind::Agent,
        id: f.agent.id.to_string(),
    };
    s.change_status(&f.ws.id, &conv, ConversationStatus::Resolved, actor)
        .await
        .unwrap();
    // "e" reopens the conversation (general path); "f" and "g" come after it.
    let msgs = ["e", "f", "g"].map(|c| NewMessage {
        target: ConversationTarget::Existing(conv.clone()),
        ..visitor_msg(&f, &v, c, c)
    });
    let r: Vec<_> = s
        .append_messages(msgs.to_vec())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        r.iter().map(|a| a.message.seq).collect::<Vec<_>>(),
        [5, 6, 7]
    );
    assert_eq!(r[0].reopened_from, Some(ConversationStatus::Resolved));
    let all = s.list_messages(&conv, 0, None, 100, true).await.unwrap();
    assert_eq!(
        all.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["one", "b", "c", "d", "e", "f", "g"]
    );
}

async fn contact_events_once_per_key(f: Fixture) {
    let s = &f.store;
    let (visitor, _) = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap();
    s.identify_contact(
        &f.ws.id,
        &visitor.id,
        None,
        Some("Wang.Fang@Example.com".into()),
        serde_json::Map::new(),
    )
    .await
    .unwrap();
    // Found by e-mail in any case, by id; not by an unknown external id or from another workspace.
    let by_mail = ContactRef {
        email: Some("wang.fang@example.COM".into()),
        ..Default::default()
    };
    assert_eq!(
        s.find_contact_for_event(&f.ws.id, &by_mail)
            .await
            .unwrap()
            .id,
        visitor.id
    );
    let by_id = ContactRef {
        external_id: Some("nobody".into()),
        id: Some(visitor.id.to_string()),
        ..Default::default()
    };
    assert_eq!(
        s.find_contact_for_event(&f.ws.id, &by_id).await.unwrap().id,
        visitor.id
    );
    let (other_ws, _) = s
        .ensure_workspace(&format!("other-{}", new_id()))
        .await
        .unwrap();
    assert!(matches!(
        s.find_contact_for_event(&other_ws.id, &by_mail).await,
        Err(StoreError::NotFound)
    ));

    let head = s.outbox_head().await.unwrap();
    let new = |key: Option<&str>, kind: &str, at: i64| NewContactEvent {
        workspace_id: f.ws.id.clone(),
        contact_id: visitor.id.clone(),
        event_type: kind.into(),
        title: format!("{kind} 6610"),
        data: serde_json::json!({"order": 6610, "amount": "¥299.00"}),
        occurred_at: at,
        source: "api_key:k1".into(),
        idempotency_key: key.map(str::to_string),
        set_attributes: serde_json::Map::new(),
        actor: Actor {
            kind: SenderKind::Api,
            id: "k1".into(),
        },
    };
    let now = now_ms();
    let mut first = new(Some("erp-1"), "order.refunded", now - 1000);
    first.set_attributes.insert("plan".into(), "pro".into());
    let a = s.record_contact_event(first.clone()).await.unwrap();
    assert!(!a.duplicate);
    assert_eq!(a.contact.attributes["plan"], "pro");
    let kinds: Vec<&str> = a.events.iter().map(|e| e.change.type_name()).collect();
    assert_eq!(kinds, ["contact_updated", "contact_event_recorded"]);
    // The same key again: the first event, nothing stored, no events.
    let mut again = first.clone();
    again.title = "something else".into();
    let b = s.record_contact_event(again).await.unwrap();
    assert!(b.duplicate && b.events.is_empty());
    assert_eq!(b.event, a.event);
    // Keys are per workspace; no key never conflicts.
    s.record_contact_event(new(None, "order.shipped", now - 500))
        .await
        .unwrap();
    s.record_contact_event(new(None, "order.shipped", now - 400))
        .await
        .unwrap();
    s.record_contact_event(new(Some("erp-2"), "plan.upgraded", now - 40 * 86_400_000))
        .await
        .unwrap();
    // A contact of another workspace is not found, even with a fresh key.
    let mut foreign = new(Some("erp-3"), "x", now);
    foreign.workspace_id = other_ws.id.clone();
    assert!(matches!(
        s.record_contact_event(foreign).await,
        Err(StoreError::NotFound)
    ));

    // Newest first, in pages.
    let all = s
        .list_contact_events(&f.ws.id, &visitor.id, None, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].id, a.event.id);
    let page = s
        .list_contact_events(&f.ws.id, &visitor.id, Some(&all[1].id), 10)
        .await
        .unwrap();
    assert_eq!(page, all[2..].to_vec());
    assert!(
        s.list_contact_events(&other_ws.id, &visitor.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Recent types: each once, newest first, old ones left out.
    assert_eq!(
        s.recent_event_types(&f.ws.id, &visitor.id, now - 7 * 86_400_000)
            .await
            .unwrap(),
        ["order.shipped", "order.refunded"]
    );

    // Each recorded event is in the outbox, once, with its contact and no conversation.
    let rows = s.outbox_after(head, 100).await.unwrap();
    let recorded: Vec<_> = rows
        .iter()
        .filter(|r| r.event.change.type_name() == "contact_event_recorded")
        .collect();
    assert_eq!(recorded.len(), 4);
    let e = &recorded[0].event;
    assert_eq!(e.contact_id.as_deref(), Some(visitor.id.as_str()));
    assert!(e.conversation.is_none());
    assert_eq!(e.actor.kind, SenderKind::Api);
    let payload: serde_json::Value = serde_json::from_str(&recorded[0].payload).unwrap();
    assert_eq!(payload["data"]["event"]["event_type"], "order.refunded");
    assert_eq!(payload["data"]["event"]["data"]["order"], 6610);

    // The inbound signing secret: made, rotated with a grace period, shown without the secret.
    assert!(s.inbound_keys(&f.ws.id, now).await.unwrap().is_none());
    let info = s
        .rotate_inbound_secret(&f.ws.id, "whsec_one", "whsec_on", 60_000)
        .await
        .unwrap();
    assert_eq!(info.previous_until, None);
    let info = s
        .rotate_inbound_secret(&f.ws.id, "whsec_two", "whsec_tw", 60_000)
        .await
        .unwrap();
    assert!(info.previous_until.is_some());
    let keys = s.inbound_keys(&f.ws.id, now_ms()).await.unwrap().unwrap();
    assert_eq!(
        (keys.current.as_str(), keys.previous.as_deref()),
        ("whsec_two", Some("whsec_one"))
    );
    let later = s
        .inbound_keys(&f.ws.id, now_ms() + 120_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.previous, None, "the grace period ends");
    assert_eq!(
        s.inbound_secret_info(&f.ws.id)
            .await
            .unwrap()
            .unwrap()
            .prefix,
        "whsec_tw"
    );
    assert!(s.inbound_keys(&other_ws.id, now).await.unwrap().is_none());
}

/// Webhooks: deliveries are created once per (subscription, event) with the
/// cursor in one write, only for subscriptions that want the type and came
/// before the event; claims lease; attempts move a delivery through
/// failed → delivered / dead; failures in a row pause; replay, rotation,
/// tenancy and deletion.
async fn webhooks_dispatch_claim_and_retry(f: Fixture) {
    let s = &f.store;
    let early = s
        .create_contact(&f.ws.id, &f.inbox.id, VisitInfo::default())
        .await
        .unwrap()
        .0;
    let new = |types: &[&str], url: &str| NewWebhook {
        workspace_id: f.ws.id.clone(),
        url: url.into(),
        description: "test".into(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    };
    let only_msgs = s
        .create_webhook(new(&["message_created"], "https://a.example.com/hook"))
        .await
        .unwrap();
    let all = s
        .create_webhook(new(&["*"], "https://b.example.com/hook"))
        .await
        .unwrap();
    assert!(all.active && !all.paused && all.wants("contact_created"));
    assert!(matches!(
        s.create_webhook(new(&["nope"], "https://c.example.com"))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let (other_ws, _) = s
        .ensure_workspace(&format!("other-{}", new_id()))
        .await
        .unwrap();
    assert!(matches!(
        s.get_webhook(&other_ws.id, &all.id).await,
        Err(StoreError::NotFound)
    ));

    let head = s.outbox_head().await.unwrap();
    let a = s
        .append_message(visitor_msg(&f, &early, "w1", "hello hooks"))
        .await
        .unwrap();
    let consumer = format!("webhooks-{}", new_id());
    let from = s.outbox_cursor(&consumer, 0).await.unwrap();
    let rows = s.outbox_after(from, 100).await.unwrap();
    let through = rows.last().unwrap().position;
    let after_creation: Vec<&OutboxRow> = rows.iter().filter(|r| r.position > head).collect();
    assert!(
        after_creation
            .iter()
            .all(|r| r.event.change.type_name() != "contact_created")
    );
    let msgs = after_creation
        .iter()
        .filter(|r| r.event.change.type_name() == "message_created")
        .count();
    let created = s
        .dispatch_webhooks(&consumer, rows.clone(), through)
        .await
        .unwrap();
    assert_eq!(
        created,
        msgs + after_creation.len(),
        "one per wanted event and subscription"
    );
    assert_eq!(
        s.dispatch_webhooks(&consumer, rows, through).await.unwrap(),
        0,
        "never twice"
    );
    assert_eq!(
        s.outbox_cursor(&consumer, 0).await.unwrap(),
        through,
        "cursor moved with them"
    );

    let now = now_ms();
    let due = s
        .claim_webhook_deliveries(now, now + 60_000, 100)
        .await
        .unwrap();
    assert_eq!(due.len(), created);
    assert!(
        due.iter()
            .all(|d| d.keys.previous.is_none() && d.round_attempts == 0)
    );
    assert!(
        s.claim_webhook_deliveries(now, now + 60_000, 100)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let d = due
        .iter()
        .find(|d| d.subscription_id == only_msgs.id)
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&d.payload).unwrap();
    assert_eq!(body["data"]["message"]["id"], a.message.id.as_str());

    let fail = |status| AttemptOutcome {
        started_at: now,
        status: Some(status),
        latency_ms: 12,
        error: None,
        response: Some("nope".into()),
        success: false,
    };
    let r = s
        .record_webhook_attempt(&d.id, fail(500), Some(now), 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r,
        Recorded {
            state: DeliveryState::Failed,
            paused: false
        }
    );
    let again = s
        .claim_webhook_deliveries(now_ms(), now_ms() + 60_000, 100)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].round_attempts, 1);
    let ok = AttemptOutcome {
        status: Some(204),
        success: true,
        response: None,
        ..fail(204)
    };
    let r = s
        .record_webhook_attempt(&d.id, ok.clone(), None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.state, DeliveryState::Delivered);
    let detail = s
        .get_webhook_delivery(&f.ws.id, &only_msgs.id, &d.id)
        .await
        .unwrap();
    assert_eq!(detail.delivery.attempts, 2);
    assert_eq!(detail.delivery.next_attempt_at, None);
    assert_eq!(
        detail
            .attempts_log
            .iter()
            .map(|a| a.status)
            .collect::<Vec<_>>(),
        [Some(500), Some(204)]
    );
    assert_eq!(detail.payload["id"], body["id"]);
    assert!(matches!(
        s.get_webhook_delivery(&other_ws.id, &only_msgs.id, &d.id)
            .await,
        Err(StoreError::NotFound)
    ));

    // Out of retries: dead. A replay sends it again with the same id.
    let r = s
        .record_webhook_attempt(&d.id, fail(410), None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.state, DeliveryState::Dead);
    let dead = s
        .list_webhook_deliveries(&f.ws.id, &only_msgs.id, Some(DeliveryState::Dead), None, 10)
        .await
        .unwrap();
    assert_eq!(
        dead.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        [d.id.as_str()]
    );
    let replayed = s
        .replay_webhook_delivery(&f.ws.id, &only_msgs.id, &d.id)
        .await
        .unwrap();
    assert_eq!(
        (replayed.id.as_str(), replayed.state),
        (d.id.as_str(), DeliveryState::Pending)
    );
    let again = s
        .claim_webhook_deliveries(now_ms(), now_ms() + 60_000, 100)
        .await
        .unwrap();
    assert_eq!(
        (again.len(), again[0].round_attempts),
        (1, 0),
        "a replay starts a new round"
    );
    s.record_webhook_attempt(&d.id, ok.clone(), None, 10)
        .await
        .unwrap();

    // Failures in a row pause the subscription: its deliveries wait.
    let all_due: Vec<&DueDelivery> = due.iter().filter(|x| x.subscription_id == all.id).collect();
    assert!(all_due.len() >= 2);
    let r = s
        .record_webhook_attempt(&all_due[0].id, fail(503), Some(now), 2)
        .await
        .unwrap()
        .unwrap();
    assert!(!r.paused);
    let r = s
        .record_webhook_attempt(&all_due[1].id, fail(503), Some(now), 2)
        .await
        .unwrap()
        .unwrap();
    assert!(r.paused);
    let w = s.get_webhook(&f.ws.id, &all.id).await.unwrap();
    assert!(
        w.paused && w.pause_reason.as_deref() == Some("failing") && w.consecutive_failures == 2
    );
    assert!(
        s.claim_webhook_deliveries(now_ms(), now_ms() + 60_000, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.next_webhook_due().await.unwrap(), None);
    let w = s.resume_webhook(&f.ws.id, &all.id).await.unwrap();
    assert!(!w.paused && w.consecutive_failures == 0);
    // Rotation: the previous secret signs too while the overlap lasts.
    s.rotate_webhook_secret(
        &f.ws.id,
        &all.id,
        "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0".into(),
        now_ms() + 60_000,
    )
    .await
    .unwrap();
    let again = s
        .claim_webhook_deliveries(now_ms(), now_ms() + 60_000, 100)
        .await
        .unwrap();
    assert_eq!(again.len(), 2, "the held deliveries are due once resumed");
    assert_eq!(again[0].keys.current, "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0");
    assert_eq!(
        again[0].keys.previous.as_deref(),
        Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    );

    // Range replay: only the states asked for.
    let n = s
        .replay_webhook_range(
            &f.ws.id,
            &all.id,
            0,
            now_ms(),
            vec![DeliveryState::Dead, DeliveryState::Failed],
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let page = s
        .list_webhook_deliveries(&f.ws.id, &all.id, None, None, 1)
        .await
        .unwrap();
    let rest = s
        .list_webhook_deliveries(&f.ws.id, &all.id, None, Some(&page[0].id), 100)
        .await
        .unwrap();
    assert_eq!(page.len() + rest.len(), all_due.len());
    assert!(rest.iter().all(|x| x.id < page[0].id), "newest first");

    // A test delivery; then deleting the subscription takes its deliveries along.
    let t = s
        .create_webhook_delivery(&f.ws.id, &all.id, "webhook_test", "{}".into())
        .await
        .unwrap();
    assert_eq!(
        (t.event_id.as_deref(), t.state),
        (None, DeliveryState::Pending)
    );
    let w = s
        .update_webhook(
            &f.ws.id,
            &all.id,
            WebhookPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!w.active);
    s.delete_webhook(&f.ws.id, &all.id).await.unwrap();
    assert!(matches!(
        s.get_webhook(&f.ws.id, &all.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        s.list_webhook_deliveries(&f.ws.id, &all.id, None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.list_webhooks(&f.ws.id, None, 10).await.unwrap().len(), 1);

    // Retention: settled deliveries older than the cut go, attempts with them.
    assert_eq!(s.prune_webhook_deliveries(0, 100).await.unwrap(), 0);
    assert_eq!(
        s.prune_webhook_deliveries(now_ms() + 1000, 100)
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        s.get_webhook_delivery(&f.ws.id, &only_msgs.id, &d.id).await,
        Err(StoreError::NotFound)
    ));
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { super::$name(super::postgres().await).await } )* }
    };
}

suite!(
    first_message_opens_conversation_and_dedupes,
    seq_is_dense_under_concurrency,
    status_machine_and_events,
    keyset_pages_and_filters,
    tenants_are_isolated,
    sessions_keys_and_reads,
    append_many_keeps_order,
    contact_events_once_per_key,
    webhooks_dispatch_claim_and_retry,
);
