//! An import batch that says which checkpoint it follows is written only
//! right after it: a batch handed over behind a failed one is refused and
//! changes nothing, on both backends. And SQLite's bulk-load store: its
//! background WAL checkpointer, and a clean close.

use kefu_store::*;

async fn refused_out_of_order(store: Store) {
    let (ws, inbox) = testing::workspace_with_inbox(&store, "import")
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
    let committed = || async {
        let (at, _) = store
            .import_checkpoint(&ws.id, "t", "visitors")
            .await
            .unwrap()
            .unwrap();
        at
    };
    assert_eq!(committed().await, 10);
    // The refused batch wrote nothing: its contact is new to the next one.
    let w = store
        .import_batch(&ws.id, "t", batch("c", 10, 30))
        .await
        .unwrap();
    assert_eq!(w.contacts, 1);
    assert_eq!(committed().await, 30);
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

/// A bulk load's store (`kefu import`) copies its WAL into the database
/// file on a thread of its own while it runs (the writer's own checkpoint
/// waits for 256 MB), and `close` leaves the file whole: the last
/// connection's checkpoint, with the WAL removed, as a server's close does.
#[tokio::test]
async fn sqlite_bulk_load_checkpoints_beside_the_writer_and_closes_clean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kefu.db");
    let url = format!("sqlite://{}", file.display());
    let opts = StoreOptions {
        bulk: true,
        ..Default::default()
    };
    let store = Store::open(&url, &opts).await.unwrap();
    // The migrations write the schema, a few hundred pages, into the WAL.
    store.migrate().await.unwrap();
    let size = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < 100_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the schema never reached the database file ({} bytes)",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    refused_out_of_order(store.clone()).await;
    store.close().await;
    drop(store);
    let wal = dir.path().join("kefu.db-wal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while wal.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL is left after close"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let c = rusqlite::Connection::open(&file).unwrap();
    let checkpoints: i64 = c
        .query_row("SELECT COUNT(*) FROM import_checkpoints", [], |r| r.get(0))
        .unwrap();
    assert_eq!(checkpoints, 1);
}
