//! Web Push subscriptions, on SQLite and PostgreSQL.

use kefu_core::Role;
use kefu_store::*;

struct Fixture {
    store: Store,
    ws: Workspace,
    _dir: Option<tempfile::TempDir>,
}

async fn fixture(store: Store, dir: Option<tempfile::TempDir>) -> Fixture {
    let (ws, _) = store
        .ensure_workspace(&format!("push-{}", new_id()))
        .await
        .unwrap();
    Fixture {
        store,
        ws,
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

async fn user(s: &Store, ws: &Workspace, name: &str) -> User {
    s.create_user(NewUser {
        workspace_id: ws.id.clone(),
        email: format!("{name}-{}@example.com", new_id()),
        name: name.into(),
        password_hash: "x".into(),
        role: Role::Agent,
        capacity: 5,
    })
    .await
    .unwrap()
}

fn sub(ws: &Workspace, u: &User, endpoint: &str) -> NewPushSubscription {
    NewPushSubscription {
        workspace_id: ws.id.clone(),
        user_id: u.id.clone(),
        endpoint: endpoint.into(),
        p256dh: "BP".into(),
        auth: "au".into(),
        user_agent: Some("Firefox".into()),
        session_id: None,
    }
}

async fn subscriptions_are_per_user_and_renewed_by_endpoint(f: Fixture) {
    let s = &f.store;
    let (alice, bob) = (user(s, &f.ws, "alice").await, user(s, &f.ws, "bob").await);
    let a1 = s
        .save_push_subscription(sub(&f.ws, &alice, "https://push.example/a1"), 10)
        .await
        .unwrap();
    assert_eq!(a1.failures, 0);
    assert_eq!(a1.last_success_at, None);
    assert_eq!(a1.user_agent.as_deref(), Some("Firefox"));
    s.save_push_subscription(sub(&f.ws, &alice, "https://push.example/a2"), 10)
        .await
        .unwrap();
    s.save_push_subscription(sub(&f.ws, &bob, "https://push.example/b1"), 10)
        .await
        .unwrap();
    let mine = s
        .list_push_subscriptions(&f.ws.id, &alice.id)
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|x| x.endpoint.as_str()).collect::<Vec<_>>(),
        ["https://push.example/a1", "https://push.example/a2"]
    );

    // Success and failures are counted; a success forgets the failures.
    assert_eq!(s.record_push_failure(&a1.id).await.unwrap(), 1);
    assert_eq!(s.record_push_failure(&a1.id).await.unwrap(), 2);
    s.record_push_success(&a1.id).await.unwrap();
    let a1 = &s
        .list_push_subscriptions(&f.ws.id, &alice.id)
        .await
        .unwrap()[0];
    assert_eq!(a1.failures, 0);
    assert!(a1.last_success_at.is_some());
    assert_eq!(s.record_push_failure(&a1.id).await.unwrap(), 1);

    // The same browser subscribed again: one row, same id, new keys, fresh counts.
    let mut again = sub(&f.ws, &alice, "https://push.example/a1");
    again.p256dh = "BQ".into();
    let renewed = s.save_push_subscription(again, 10).await.unwrap();
    assert_eq!(renewed.id, a1.id);
    assert_eq!((renewed.p256dh.as_str(), renewed.failures), ("BQ", 0));
    assert_eq!(renewed.last_success_at, None);
    assert_eq!(
        s.list_push_subscriptions(&f.ws.id, &alice.id)
            .await
            .unwrap()
            .len(),
        2
    );

    // Bob cannot delete Alice's; Alice can, once.
    assert!(matches!(
        s.delete_push_subscription(&f.ws.id, &bob.id, "https://push.example/a2")
            .await,
        Err(StoreError::NotFound)
    ));
    s.delete_push_subscription(&f.ws.id, &alice.id, "https://push.example/a2")
        .await
        .unwrap();
    assert!(matches!(
        s.delete_push_subscription(&f.ws.id, &alice.id, "https://push.example/a2")
            .await,
        Err(StoreError::NotFound)
    ));

    // Bob logs into Alice's browser and subscribes it: it is his now.
    let moved = s
        .save_push_subscription(sub(&f.ws, &bob, "https://push.example/a1"), 10)
        .await
        .unwrap();
    assert_eq!(moved.user_id, bob.id);
    assert!(
        s.list_push_subscriptions(&f.ws.id, &alice.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Gone (404/410): removed by id, once.
    assert!(s.remove_push_subscription(&moved.id).await.unwrap());
    assert!(!s.remove_push_subscription(&moved.id).await.unwrap());
    assert!(matches!(
        s.record_push_failure(&moved.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn a_user_keeps_only_the_newest(f: Fixture) {
    let s = &f.store;
    let u = user(s, &f.ws, "carol").await;
    let other = user(s, &f.ws, "dave").await;
    s.save_push_subscription(sub(&f.ws, &other, "https://push.example/d"), 2)
        .await
        .unwrap();
    for i in 0..4 {
        s.save_push_subscription(sub(&f.ws, &u, &format!("https://push.example/c{i}")), 2)
            .await
            .unwrap();
        // Distinct creation times, so "newest" is well defined.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let left = s.list_push_subscriptions(&f.ws.id, &u.id).await.unwrap();
    assert_eq!(
        left.iter().map(|x| x.endpoint.as_str()).collect::<Vec<_>>(),
        ["https://push.example/c2", "https://push.example/c3"]
    );
    // Another user's are untouched.
    assert_eq!(
        s.list_push_subscriptions(&f.ws.id, &other.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn other_workspaces_see_nothing(f: Fixture) {
    let s = &f.store;
    let u = user(s, &f.ws, "erin").await;
    s.save_push_subscription(sub(&f.ws, &u, "https://push.example/e"), 10)
        .await
        .unwrap();
    let (other_ws, _) = s
        .ensure_workspace(&format!("push-other-{}", new_id()))
        .await
        .unwrap();
    assert!(
        s.list_push_subscriptions(&other_ws.id, &u.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        s.delete_push_subscription(&other_ws.id, &u.id, "https://push.example/e")
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.list_push_subscriptions(&f.ws.id, &u.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_subscription_ends_with_its_login_session(f: Fixture) {
    let s = &f.store;
    let u = user(s, &f.ws, "frank").await;
    let future = now_ms() + 3_600_000;
    let laptop = s.create_session(&u.id, "r-laptop", future).await.unwrap();
    let phone = s.create_session(&u.id, "r-phone", future).await.unwrap();
    let mut on_laptop = sub(&f.ws, &u, "https://push.example/laptop");
    on_laptop.session_id = Some(laptop.id.clone());
    let mut on_phone = sub(&f.ws, &u, "https://push.example/phone");
    on_phone.session_id = Some(phone.id.clone());
    let laptop_row = s.save_push_subscription(on_laptop, 10).await.unwrap();
    s.save_push_subscription(on_phone, 10).await.unwrap();
    let endpoints =
        |v: Vec<PushSubscription>| v.into_iter().map(|x| x.endpoint).collect::<Vec<_>>();
    assert_eq!(
        endpoints(s.list_push_subscriptions(&f.ws.id, &u.id).await.unwrap()),
        ["https://push.example/laptop", "https://push.example/phone"]
    );
    // Logged out on the laptop: it gets nothing more; the phone still does.
    s.revoke_session(&laptop.id).await.unwrap();
    assert_eq!(
        endpoints(s.list_push_subscriptions(&f.ws.id, &u.id).await.unwrap()),
        ["https://push.example/phone"]
    );
    // The dead row goes when a browser is next subscribed.
    let mut again = sub(&f.ws, &u, "https://push.example/phone");
    again.session_id = Some(phone.id.clone());
    s.save_push_subscription(again, 10).await.unwrap();
    assert!(
        !s.remove_push_subscription(&laptop_row.id).await.unwrap(),
        "already deleted"
    );
    assert_eq!(
        s.list_push_subscriptions(&f.ws.id, &u.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { super::$name(super::postgres().await).await } )* }
    };
}

suite!(
    subscriptions_are_per_user_and_renewed_by_endpoint,
    a_user_keeps_only_the_newest,
    other_workspaces_see_nothing,
    a_subscription_ends_with_its_login_session,
);
