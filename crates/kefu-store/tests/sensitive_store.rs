//! The sensitive-word filter's rows on SQLite and PostgreSQL: words set and
//! re-set (the summary, the limit applied to the whole batch), the revision
//! that tells caches a list changed, deletes, flags kept once per message,
//! listed with filters and reviewed, and isolation between workspaces.

use kefu_core::{MessageKind, Sender, SenderKind, sensitive::SensitiveAction as A};
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

fn w(word: &str, a: A) -> (String, A) {
    (word.to_string(), a)
}

async fn words_and_revisions((store, _dir): (Store, Option<tempfile::TempDir>)) {
    let (ws, _) = store
        .ensure_workspace(&format!("sw-{}", new_id()))
        .await
        .unwrap();
    let (other, _) = store
        .ensure_workspace(&format!("sw-{}", new_id()))
        .await
        .unwrap();
    assert_eq!(store.sensitive_revision(&ws.id).await.unwrap(), 0);
    assert!(store.sensitive_words(&ws.id).await.unwrap().is_empty());

    let s = store
        .sensitive_set(
            &ws.id,
            vec![w("傻瓜", A::Mask), w("fraud", A::Block), w("傻瓜", A::Flag)],
            "admin-1",
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.added, s.updated, s.unchanged),
        (2, 0, 0),
        "the last action of a repeated word counts"
    );
    let r1 = store.sensitive_revision(&ws.id).await.unwrap();
    assert!(r1 > 0);
    let list = store.sensitive_words(&ws.id).await.unwrap();
    assert_eq!(
        list.iter()
            .map(|x| (x.word.as_str(), x.action))
            .collect::<Vec<_>>(),
        [("fraud", A::Block), ("傻瓜", A::Flag)]
    );
    assert_eq!(list[0].created_by, "admin-1");

    // Setting the same again is no change: the revision stays.
    let s = store
        .sensitive_set(&ws.id, vec![w("fraud", A::Block)], "x", 10)
        .await
        .unwrap();
    assert_eq!((s.added, s.updated, s.unchanged), (0, 0, 1));
    assert_eq!(store.sensitive_revision(&ws.id).await.unwrap(), r1);
    // A new action is a change.
    let s = store
        .sensitive_set(
            &ws.id,
            vec![w("fraud", A::Mask), w("赌博", A::Block)],
            "x",
            10,
        )
        .await
        .unwrap();
    assert_eq!((s.added, s.updated, s.unchanged), (1, 1, 0));
    let r2 = store.sensitive_revision(&ws.id).await.unwrap();
    assert!(r2 > r1);

    // The limit holds for the whole batch: nothing of a batch that passes it is kept.
    let over: Vec<_> = (0..8).map(|i| w(&format!("bulk{i}"), A::Flag)).collect();
    let e = store.sensitive_set(&ws.id, over, "x", 10).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    assert_eq!(store.sensitive_words(&ws.id).await.unwrap().len(), 3);
    assert_eq!(store.sensitive_revision(&ws.id).await.unwrap(), r2);
    // Updating existing words does not count against it.
    store
        .sensitive_set(&ws.id, vec![w("fraud", A::Block)], "x", 3)
        .await
        .unwrap();

    // A big import in one write.
    let many: Vec<_> = (0..3000).map(|i| w(&format!("词{i}"), A::Mask)).collect();
    let s = store
        .sensitive_set(&ws.id, many, "import", 5000)
        .await
        .unwrap();
    assert_eq!(s.added, 3000);

    // Other workspaces see nothing of it; deletes are per workspace.
    assert!(store.sensitive_words(&other.id).await.unwrap().is_empty());
    assert_eq!(store.sensitive_revision(&other.id).await.unwrap(), 0);
    assert_eq!(
        store
            .sensitive_delete(&other.id, vec!["fraud".into()])
            .await
            .unwrap(),
        0
    );
    let r3 = store.sensitive_revision(&ws.id).await.unwrap();
    assert_eq!(
        store
            .sensitive_delete(&ws.id, vec!["fraud".into(), "nope".into()])
            .await
            .unwrap(),
        1
    );
    assert!(store.sensitive_revision(&ws.id).await.unwrap() > r3);
    assert_eq!(store.sensitive_words(&ws.id).await.unwrap().len(), 3002);
}

async fn flags_and_reviews((store, _dir): (Store, Option<tempfile::TempDir>)) {
    let (ws, _) = store
        .ensure_workspace(&format!("sf-{}", new_id()))
        .await
        .unwrap();
    let (other, _) = store
        .ensure_workspace(&format!("sf-{}", new_id()))
        .await
        .unwrap();
    let inbox = store
        .create_inbox(NewInbox {
            workspace_id: ws.id.clone(),
            name: "Web".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (contact, _) = store
        .create_contact(&ws.id, &inbox.id, VisitInfo::default())
        .await
        .unwrap();
    let sender = Sender {
        kind: SenderKind::Visitor,
        id: contact.id.to_string(),
    };
    let mut msgs = Vec::new();
    for (i, text) in ["有点傻", "scam here", "hello"].iter().enumerate() {
        let a = store
            .append_message(NewMessage {
                workspace_id: ws.id.clone(),
                target: ConversationTarget::VisitorActive {
                    inbox_id: inbox.id.clone(),
                    contact_id: contact.id.clone(),
                },
                sender: sender.clone(),
                client_msg_id: Some(format!("m{i}")),
                kind: MessageKind::Text,
                content: text.to_string(),
                attachment: None,
                require_contact: Some(contact.id.clone()),
                bot: None,
                only_while: None,
            })
            .await
            .unwrap();
        msgs.push(a.message);
    }
    let flag = |i: usize, words: &[&str], action: A| NewSensitiveFlag {
        workspace_id: ws.id.clone(),
        conversation_id: msgs[i].conversation_id.clone(),
        message_id: msgs[i].id.clone(),
        sender: sender.clone(),
        words: words.iter().map(|s| s.to_string()).collect(),
        action,
    };
    let f1 = store
        .sensitive_flag(flag(0, &["傻"], A::Flag))
        .await
        .unwrap();
    assert_eq!(f1.words, ["傻"]);
    assert_eq!(f1.content, "有点傻");
    assert_eq!(f1.sender_kind, SenderKind::Visitor);
    assert!(f1.reviewed_at.is_none());
    // Once per message.
    let again = store
        .sensitive_flag(flag(0, &["傻"], A::Flag))
        .await
        .unwrap();
    assert_eq!(again.id, f1.id);
    let f2 = store
        .sensitive_flag(flag(1, &["scam"], A::Mask))
        .await
        .unwrap();

    let list = |f: SensitiveFlagFilter, before: Option<String>, limit: i64| {
        let (s, w) = (store.clone(), ws.id.clone());
        async move {
            s.sensitive_flags(&w, &f, before.as_deref(), limit)
                .await
                .unwrap()
                .into_iter()
                .map(|x| x.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(Default::default(), None, 10).await,
        [f2.id.clone(), f1.id.clone()],
        "newest first"
    );
    assert_eq!(list(Default::default(), None, 1).await, vec![f2.id.clone()]);
    assert_eq!(
        list(Default::default(), Some(f2.id.clone()), 10).await,
        vec![f1.id.clone()]
    );

    let r = store
        .sensitive_review(&ws.id, &f1.id, "agent-1", true)
        .await
        .unwrap();
    assert_eq!(r.reviewed_by.as_deref(), Some("agent-1"));
    let first_at = r.reviewed_at;
    assert!(first_at.is_some());
    // A second review keeps the first reviewer.
    let r = store
        .sensitive_review(&ws.id, &f1.id, "agent-2", true)
        .await
        .unwrap();
    assert_eq!(
        (r.reviewed_by.as_deref(), r.reviewed_at),
        (Some("agent-1"), first_at)
    );
    let open = SensitiveFlagFilter {
        reviewed: Some(false),
        ..Default::default()
    };
    assert_eq!(list(open.clone(), None, 10).await, vec![f2.id.clone()]);
    let done = SensitiveFlagFilter {
        reviewed: Some(true),
        ..Default::default()
    };
    assert_eq!(list(done, None, 10).await, vec![f1.id.clone()]);
    let by_conv = SensitiveFlagFilter {
        conversation_id: Some(msgs[0].conversation_id.clone()),
        sender_kind: Some(SenderKind::Visitor),
        ..Default::default()
    };
    assert_eq!(list(by_conv, None, 10).await.len(), 2);
    let agents = SensitiveFlagFilter {
        sender_kind: Some(SenderKind::Agent),
        ..Default::default()
    };
    assert!(list(agents, None, 10).await.is_empty());
    // Open again.
    let r = store
        .sensitive_review(&ws.id, &f1.id, "x", false)
        .await
        .unwrap();
    assert!(r.reviewed_at.is_none() && r.reviewed_by.is_none());
    assert_eq!(list(open, None, 10).await.len(), 2);

    // Another workspace neither sees nor reviews them.
    assert!(
        store
            .sensitive_flags(&other.id, &Default::default(), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.sensitive_review(&other.id, &f1.id, "x", true).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn words_and_revisions_on_sqlite() {
    words_and_revisions(sqlite().await).await
}

#[tokio::test]
async fn words_and_revisions_on_postgres() {
    words_and_revisions(postgres().await).await
}

#[tokio::test]
async fn flags_and_reviews_on_sqlite() {
    flags_and_reviews(sqlite().await).await
}

#[tokio::test]
async fn flags_and_reviews_on_postgres() {
    flags_and_reviews(postgres().await).await
}
