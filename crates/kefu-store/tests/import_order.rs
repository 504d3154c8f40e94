//! An import batch that says which checkpoint it follows is written only
//! right after it: a batch handed over behind a failed one is refused and
//! changes nothing, on both backends.

use kefu_store::*;

async fn refused_out_of_order(store: Store) {
    let (ws, _) = store
        .ensure_workspace(&format!("import-{}", new_id()))
        .await
        .unwrap();
    let inbox = store
        .create_inbox(NewInbox {
            workspace_id: ws.id.clone(),
            name: "Website".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let contact = |key: &str| ImportContact {
        id: import_id(1_700_000_000_000, &[&ws.id, "t", key]),
        inbox_id: inbox.id.clone(),
        name: Some(format!("访客 {key}")),
        attributes: serde_json::json!({}),
        referrer: None,
        ip: None,
        created_at: 1_700_000_000_000,
        last_seen_at: 1_700_000_000_000,
    };
    let batch = |key: &str, follows: i64, position: i64| ImportBatch {
        contacts: vec![contact(key)],
        checkpoint: Some(ImportCheckpoint {
            step: "visitors".into(),
            position,
            counts: serde_json::json!({}),
            follows: Some(follows),
        }),
        ..Default::default()
    };
    let w = store
        .import_batch(&ws.id, "t", batch("a", 0, 10))
        .await
        .unwrap();
    assert_eq!(w.contacts, 1);
    // Continues from 20, but 10 is committed: the batch for 10..20 failed.
    let e = store
        .import_batch(&ws.id, "t", batch("c", 20, 30))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    let (at, _) = store
        .import_checkpoint(&ws.id, "t", "visitors")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at, 10);
    // The refused batch wrote nothing: its contact is new to the next one.
    let w = store
        .import_batch(&ws.id, "t", batch("c", 10, 30))
        .await
        .unwrap();
    assert_eq!(w.contacts, 1);
    let (at, _) = store
        .import_checkpoint(&ws.id, "t", "visitors")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at, 30);
}

#[tokio::test]
async fn sqlite_refuses_a_batch_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    refused_out_of_order(testing::sqlite_store(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_refuses_a_batch_out_of_order() {
    refused_out_of_order(testing::postgres_store().await.unwrap()).await;
}
