//! The bot's knowledge base on SQLite and PostgreSQL: create, search and
//! filter, idempotent imports by external id, revisions, and isolation.

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

fn fields(ext: Option<&str>, q: &str, lang: &str) -> KbFields {
    KbFields {
        external_id: ext.map(str::to_string),
        question: q.into(),
        alternatives: vec![format!("{q} alt"), "100% 真的_吗".into()],
        answer: format!("answer to {q}"),
        category: "returns".into(),
        language: lang.into(),
        enabled: true,
    }
}

async fn knowledge_base((store, _dir): (Store, Option<tempfile::TempDir>)) {
    let (ws, _) = store
        .ensure_workspace(&format!("kb-{}", new_id()))
        .await
        .unwrap();
    let (other, _) = store
        .ensure_workspace(&format!("kb-{}", new_id()))
        .await
        .unwrap();
    assert_eq!(store.kb_revision(&ws.id).await.unwrap(), (0, 0));

    let a = store
        .kb_create(&ws.id, fields(Some("returns.zh"), "可以退货吗", "zh"))
        .await
        .unwrap();
    assert_eq!(a.alternatives, ["可以退货吗 alt", "100% 真的_吗"]);
    assert!(a.enabled);
    let dup = store
        .kb_create(&ws.id, fields(Some("returns.zh"), "again", "zh"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    // The same external id in another workspace is another entry.
    store
        .kb_create(&other.id, fields(Some("returns.zh"), "其他", "zh"))
        .await
        .unwrap();
    let b = store
        .kb_create(&ws.id, fields(None, "Can I return shoes?", "en"))
        .await
        .unwrap();

    // Search (case-insensitive, Chinese, in phrasings; % and _ literal) and filters.
    let all = |f: KbFilter| {
        let s = store.clone();
        let w = ws.id.clone();
        async move {
            s.kb_list(&w, &f, None, 50)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        all(KbFilter {
            q: Some("退货".into()),
            ..Default::default()
        })
        .await,
        vec![a.id.clone()]
    );
    assert_eq!(
        all(KbFilter {
            q: Some("RETURN SHOES".into()),
            ..Default::default()
        })
        .await,
        vec![b.id.clone()]
    );
    assert_eq!(
        all(KbFilter {
            q: Some("return shoes".into()),
            ..Default::default()
        })
        .await,
        vec![b.id.clone()]
    );
    assert_eq!(
        all(KbFilter {
            q: Some("100%".into()),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        all(KbFilter {
            q: Some("0%".into()),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        all(KbFilter {
            q: Some("x%y".into()),
            ..Default::default()
        })
        .await
        .len(),
        0
    );
    assert_eq!(
        all(KbFilter {
            language: Some("en".into()),
            ..Default::default()
        })
        .await,
        vec![b.id.clone()]
    );
    assert_eq!(
        all(KbFilter {
            enabled: Some(false),
            ..Default::default()
        })
        .await
        .len(),
        0
    );
    // Pages by id.
    let first = store
        .kb_list(&ws.id, &KbFilter::default(), None, 1)
        .await
        .unwrap();
    let next = store
        .kb_list(&ws.id, &KbFilter::default(), Some(&first[0].id), 1)
        .await
        .unwrap();
    assert_ne!(first[0].id, next[0].id);

    // Import: known ids update, unchanged ones stay, others are created; again: nothing changes.
    let mut changed = fields(Some("returns.zh"), "可以退货吗", "zh");
    changed.answer = "可以，7 天内。".into();
    let batch: Vec<KbFields> = std::iter::once(changed.clone())
        .chain((0..1200).map(|i| fields(Some(&format!("bulk-{i}")), &format!("问题 {i}"), "zh")))
        .collect();
    let r1 = store.kb_import(&ws.id, batch.clone()).await.unwrap();
    assert_eq!((r1.created, r1.updated, r1.unchanged), (1200, 1, 0));
    let rev = store.kb_revision(&ws.id).await.unwrap();
    assert_eq!(rev.0, 1202);
    let r2 = store.kb_import(&ws.id, batch).await.unwrap();
    assert_eq!((r2.created, r2.updated, r2.unchanged), (0, 0, 1201));
    assert_eq!(
        store.kb_revision(&ws.id).await.unwrap(),
        rev,
        "an unchanged import is no change"
    );
    assert_eq!(
        store.kb_get(&ws.id, &a.id).await.unwrap().answer,
        "可以，7 天内。"
    );

    // Update and delete, only in the entry's workspace.
    let mut f = fields(Some("returns.zh"), "可以退货吗？", "zh");
    f.enabled = false;
    let u = store.kb_update(&ws.id, &a.id, f.clone()).await.unwrap();
    assert!(!u.enabled);
    assert!(u.updated_at >= a.updated_at);
    assert!(matches!(
        store.kb_update(&other.id, &a.id, f).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.kb_delete(&other.id, &a.id).await,
        Err(StoreError::NotFound)
    ));
    store.kb_delete(&ws.id, &a.id).await.unwrap();
    assert!(matches!(
        store.kb_get(&ws.id, &a.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.kb_all(&other.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn knowledge_base_on_sqlite() {
    knowledge_base(sqlite().await).await
}

#[tokio::test]
async fn knowledge_base_on_postgres() {
    knowledge_base(postgres().await).await
}
