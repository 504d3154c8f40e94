//! The mail queue and single-use tokens, on SQLite and PostgreSQL.

use kefu_core::{ConversationId, Role};
use kefu_store::*;

struct Fixture {
    store: Store,
    ws: Workspace,
    _dir: Option<tempfile::TempDir>,
}

async fn fixture(store: Store, dir: Option<tempfile::TempDir>) -> Fixture {
    let (ws, _) = store
        .ensure_workspace(&format!("mail-{}", new_id()))
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

fn reply_mail(f: &Fixture, conv: &ConversationId, due_at: i64) -> NewMail {
    NewMail {
        workspace_id: f.ws.id.clone(),
        kind: "visitor_reply".into(),
        recipient: "eve@example.com".into(),
        conversation_id: Some(conv.clone()),
        user_id: None,
        payload: serde_json::json!({}),
        batch_key: Some(format!("reply:{conv}")),
        dedupe_key: None,
        due_at,
    }
}

async fn replies_batch_claims_lease_and_retry(f: Fixture) {
    let s = &f.store;
    let conv: ConversationId = new_id().into();
    let now = now_ms();
    // Three replies while one mail is pending: one row.
    let added = s
        .enqueue_mails(vec![
            reply_mail(&f, &conv, now - 10),
            reply_mail(&f, &conv, now),
            reply_mail(&f, &conv, now + 10),
        ])
        .await
        .unwrap();
    assert_eq!(added, 1);
    // A dedupe key is used once, ever.
    let mut assigned = reply_mail(&f, &conv, now - 10);
    assigned.kind = "assigned".into();
    assigned.batch_key = None;
    assigned.dedupe_key = Some("assigned:e1".into());
    assert_eq!(
        s.enqueue_mails(vec![assigned.clone(), assigned.clone()])
            .await
            .unwrap(),
        1
    );

    let claimed = s.claim_mails(60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|m| m.attempts == 1));
    // Leased: nobody else claims them now.
    assert!(s.claim_mails(60_000, 10).await.unwrap().is_empty());
    // A reply arriving while its batch is being sent starts a new batch.
    assert_eq!(
        s.enqueue_mails(vec![reply_mail(&f, &conv, now + 60_000)])
            .await
            .unwrap(),
        1
    );

    let reply = claimed.iter().find(|m| m.kind == "visitor_reply").unwrap();
    let other = claimed.iter().find(|m| m.kind == "assigned").unwrap();
    s.finish_mail(
        &reply.id,
        MailOutcome::Sent {
            through_seq: Some(7),
        },
    )
    .await
    .unwrap();
    assert_eq!(s.last_mailed_seq(&conv).await.unwrap(), 7);
    // A failure comes back when due, with its attempts counted.
    s.finish_mail(
        &other.id,
        MailOutcome::Retry {
            error: "421 busy".into(),
            at: now_ms() - 1,
        },
    )
    .await
    .unwrap();
    let again = s.claim_mails(60_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id.as_str(), again[0].attempts),
        (other.id.as_str(), 2)
    );
    s.finish_mail(&again[0].id, MailOutcome::Dead("550 no such user".into()))
        .await
        .unwrap();
    // A lease that ran out (a crash mid-send) makes the mail due again.
    let mut t = reply_mail(&f, &conv, now - 5);
    t.kind = "transcript".into();
    t.batch_key = None;
    s.enqueue_mails(vec![t]).await.unwrap();
    let leased = s.claim_mails(1, 10).await.unwrap();
    assert_eq!(leased.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let reclaimed = s.claim_mails(60_000, 10).await.unwrap();
    assert_eq!((reclaimed.len(), reclaimed[0].attempts), (1, 2));
    assert!(
        s.last_mail_queued_at(&conv, "transcript")
            .await
            .unwrap()
            .is_some()
    );

    let rows = s.list_mails(&f.ws.id, 10).await.unwrap();
    let states: Vec<_> = rows
        .iter()
        .map(|r| (r.kind.as_str(), r.state.as_str()))
        .collect();
    assert!(
        states.contains(&("visitor_reply", "sent")) && states.contains(&("assigned", "dead")),
        "{states:?}"
    );
    assert!(states.contains(&("visitor_reply", "pending")));
}

async fn invitation_and_reset_tokens_are_single_use(f: Fixture) {
    let s = &f.store;
    let future = now_ms() + 60_000;
    s.create_user_token(NewUserToken {
        token_hash: "h-invite".into(),
        purpose: "invite".into(),
        workspace_id: f.ws.id.clone(),
        email: format!("new-{}@example.com", new_id()),
        user_id: None,
        role: Some(Role::Admin),
        created_by: None,
        expires_at: future,
    })
    .await
    .unwrap();
    // The wrong purpose finds nothing.
    assert!(matches!(
        s.peek_user_token("h-invite", "reset").await,
        Err(StoreError::NotFound)
    ));
    let t = s.peek_user_token("h-invite", "invite").await.unwrap();
    assert_eq!(t.role, Some(Role::Admin));
    let u = s
        .accept_invitation("h-invite", "New", "pwhash")
        .await
        .unwrap();
    assert_eq!(
        (u.role, u.name.as_str(), u.email.as_str()),
        (Role::Admin, "New", t.email.as_str())
    );
    assert!(u.email_on_assign);
    assert!(matches!(
        s.accept_invitation("h-invite", "Again", "x").await,
        Err(StoreError::NotFound)
    ));

    // An expired token does nothing.
    s.create_user_token(NewUserToken {
        token_hash: "h-old".into(),
        purpose: "reset".into(),
        workspace_id: f.ws.id.clone(),
        email: u.email.clone(),
        user_id: Some(u.id.clone()),
        role: None,
        created_by: None,
        expires_at: now_ms() - 1,
    })
    .await
    .unwrap();
    assert!(matches!(
        s.reset_password("h-old", "new").await,
        Err(StoreError::NotFound)
    ));

    // A reset sets the password and revokes every session.
    let s1 = s.create_session(&u.id, "r1", future).await.unwrap();
    let s2 = s.create_session(&u.id, "r2", future).await.unwrap();
    s.create_user_token(NewUserToken {
        token_hash: "h-reset".into(),
        purpose: "reset".into(),
        workspace_id: f.ws.id.clone(),
        email: u.email.clone(),
        user_id: Some(u.id.clone()),
        role: None,
        created_by: None,
        expires_at: future,
    })
    .await
    .unwrap();
    let after = s.reset_password("h-reset", "pw2").await.unwrap();
    assert_eq!(after.password_hash, "pw2");
    assert!(s.get_session(&s1.id).await.unwrap().revoked_at.is_some());
    assert!(s.get_session(&s2.id).await.unwrap().revoked_at.is_some());
    assert!(matches!(
        s.reset_password("h-reset", "pw3").await,
        Err(StoreError::NotFound)
    ));

    // Changing one's own password keeps the session that did it.
    let s3 = s.create_session(&u.id, "r3", future).await.unwrap();
    let s4 = s.create_session(&u.id, "r4", future).await.unwrap();
    s.change_password(&f.ws.id, &u.id, "pw4", Some(&s3.id))
        .await
        .unwrap();
    assert!(s.get_session(&s3.id).await.unwrap().revoked_at.is_none());
    assert!(s.get_session(&s4.id).await.unwrap().revoked_at.is_some());

    // The preference is stored with the user.
    let u = s
        .update_user(
            &f.ws.id,
            &u.id,
            UserPatch {
                email_on_assign: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!u.email_on_assign);
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { super::$name(super::postgres().await).await } )* }
    };
}

suite!(
    replies_batch_claims_lease_and_retry,
    invitation_and_reset_tokens_are_single_use,
);
