//! Personal and shared canned replies, and macros, on SQLite and PostgreSQL.

use kefu_core::UserId;
use kefu_core::macros::{AssignTo, MacroAction};
use kefu_store::*;

struct Fixture {
    store: Store,
    ws: Workspace,
    _dir: Option<tempfile::TempDir>,
}

async fn fixture(store: Store, dir: Option<tempfile::TempDir>) -> Fixture {
    let (ws, _) = store
        .ensure_workspace(&format!("macros-{}", new_id()))
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

fn shortcuts(rows: &[CannedReply]) -> Vec<(String, bool)> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|c| (c.shortcut.clone(), c.personal))
        .collect();
    v.sort();
    v
}

async fn personal_canned_replies(f: Fixture) {
    let s = &f.store;
    let (ann, bob) = (UserId::new("ann"), UserId::new("bob"));
    s.create_canned(&f.ws.id, "hi", "Hello", "admin", None)
        .await
        .unwrap();
    // A personal reply may reuse a shared shortcut; each owner has their own set.
    let mine = s
        .create_canned(&f.ws.id, "hi", "Hi {{contact.name}}", "ann", Some(&ann))
        .await
        .unwrap();
    assert!(mine.personal && mine.owner_id.as_ref() == Some(&ann));
    s.create_canned(&f.ws.id, "hi", "Hey", "bob", Some(&bob))
        .await
        .unwrap();
    assert!(matches!(
        s.create_canned(&f.ws.id, "hi", "again", "ann", Some(&ann))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_canned(&f.ws.id, "hi", "again", "admin", None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let for_ann = s.list_canned(&f.ws.id, Some(&ann), None, 50).await.unwrap();
    assert_eq!(
        shortcuts(&for_ann),
        vec![("hi".into(), false), ("hi".into(), true)]
    );
    assert!(
        for_ann
            .iter()
            .all(|c| c.owner_id.is_none() || c.owner_id.as_ref() == Some(&ann))
    );
    let for_key = s.list_canned(&f.ws.id, None, None, 50).await.unwrap();
    assert_eq!(shortcuts(&for_key), vec![("hi".into(), false)]);
    // Changes need the owner the row has.
    assert!(matches!(
        s.update_canned(&f.ws.id, &mine.id, Some(&bob), None, Some("x"))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.update_canned(&f.ws.id, &mine.id, None, None, Some("x"))
            .await,
        Err(StoreError::NotFound)
    ));
    let edited = s
        .update_canned(&f.ws.id, &mine.id, Some(&ann), Some("hello"), None)
        .await
        .unwrap();
    assert_eq!(
        (edited.shortcut.as_str(), edited.content.as_str()),
        ("hello", "Hi {{contact.name}}")
    );
    assert_eq!(
        s.get_canned(&f.ws.id, &mine.id).await.unwrap().owner_id,
        Some(ann.clone())
    );
    assert!(matches!(
        s.delete_canned(&f.ws.id, &mine.id, Some(&bob)).await,
        Err(StoreError::NotFound)
    ));
    s.delete_canned(&f.ws.id, &mine.id, Some(&ann))
        .await
        .unwrap();
    assert!(matches!(
        s.get_canned(&f.ws.id, &mine.id).await,
        Err(StoreError::NotFound)
    ));
}

fn new_macro(
    f: &Fixture,
    name: &str,
    owner: Option<&UserId>,
    actions: Vec<MacroAction>,
) -> NewMacro {
    NewMacro {
        workspace_id: f.ws.id.clone(),
        name: name.into(),
        actions,
        owner_id: owner.cloned(),
        created_by: "someone".into(),
    }
}

async fn macros_shared_and_personal(f: Fixture) {
    let s = &f.store;
    let ann = UserId::new("ann");
    let refund = vec![
        MacroAction::Reply {
            content: " Refunded, {{contact.name}}. ".into(),
        },
        MacroAction::AddLabel {
            label: "refund".into(),
        },
        MacroAction::Assign {
            to: AssignTo::Group("billing".into()),
        },
    ];
    let shared = s
        .create_macro(new_macro(&f, " Refund ", None, refund))
        .await
        .unwrap();
    assert_eq!(shared.name, "Refund");
    assert!(!shared.personal);
    // Stored trimmed, read back as written.
    let again = s.get_macro(&f.ws.id, &shared.id).await.unwrap();
    assert_eq!(again, shared);
    assert_eq!(
        again.actions[0],
        MacroAction::Reply {
            content: "Refunded, {{contact.name}}.".into()
        }
    );
    let mine = s
        .create_macro(new_macro(
            &f,
            "Refund",
            Some(&ann),
            vec![MacroAction::Unassign],
        ))
        .await
        .unwrap();
    assert!(mine.personal);
    assert!(matches!(
        s.create_macro(new_macro(&f, "Refund", None, vec![MacroAction::Unassign]))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_macro(new_macro(&f, "Empty", None, vec![])).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.create_macro(new_macro(
            &f,
            "Too long a snooze",
            None,
            vec![MacroAction::Snooze { for_secs: 1 }]
        ))
        .await,
        Err(StoreError::Invalid(m)) if m.starts_with("actions[0] (snooze)")
    ));
    let names = |rows: Vec<Macro>| {
        let mut v: Vec<(String, bool)> = rows.into_iter().map(|m| (m.name, m.personal)).collect();
        v.sort();
        v
    };
    assert_eq!(
        names(s.list_macros(&f.ws.id, Some(&ann), None, 50).await.unwrap()),
        vec![("Refund".into(), false), ("Refund".into(), true)]
    );
    assert_eq!(
        names(
            s.list_macros(&f.ws.id, Some(&UserId::new("bob")), None, 50)
                .await
                .unwrap()
        ),
        vec![("Refund".into(), false)]
    );
    // Paging by id.
    let first = s.list_macros(&f.ws.id, Some(&ann), None, 1).await.unwrap();
    let rest = s
        .list_macros(&f.ws.id, Some(&ann), Some(&first[0].id), 10)
        .await
        .unwrap();
    assert_eq!(first.len() + rest.len(), 2);

    assert!(matches!(
        s.update_macro(&f.ws.id, &mine.id, None, Some("x"), None)
            .await,
        Err(StoreError::NotFound)
    ));
    let changed = s
        .update_macro(
            &f.ws.id,
            &mine.id,
            Some(&ann),
            Some("Mine"),
            Some(vec![MacroAction::Status {
                status: kefu_core::macros::MacroStatus::Resolved,
            }]),
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "Mine");
    assert_eq!(changed.actions.len(), 1);
    assert!(matches!(
        s.update_macro(&f.ws.id, &mine.id, Some(&ann), None, Some(vec![]))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.delete_macro(&f.ws.id, &shared.id, Some(&ann)).await,
        Err(StoreError::NotFound)
    ));
    s.delete_macro(&f.ws.id, &shared.id, None).await.unwrap();
    s.delete_macro(&f.ws.id, &mine.id, Some(&ann))
        .await
        .unwrap();
    assert!(
        s.list_macros(&f.ws.id, Some(&ann), None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    // Another workspace never sees them.
    let (other, _) = s
        .ensure_workspace(&format!("other-{}", new_id()))
        .await
        .unwrap();
    let theirs = s
        .create_macro(NewMacro {
            workspace_id: other.id.clone(),
            ..new_macro(&f, "Theirs", None, vec![MacroAction::Unassign])
        })
        .await
        .unwrap();
    assert!(matches!(
        s.get_macro(&f.ws.id, &theirs.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_macro(&f.ws.id, &theirs.id, None).await,
        Err(StoreError::NotFound)
    ));
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { super::$name(super::postgres().await).await } )* }
    };
}

suite!(personal_canned_replies, macros_shared_and_personal);
