//! Contacts agents work with: edit name, e-mail, phone and attributes (with
//! clear errors for bad input), everyone sees the new name live, notes, and
//! the workspace's attribute definitions; other workspaces see none of it.

mod common;

use common::*;
use kefu_core::Role;
use serde_json::json;

async fn agents_edit_contacts_keep_notes_and_define_attributes(db: Db) {
    let app = spawn(db).await;
    let owner = app.tenant(Role::Owner).await;
    let (vt, contact) = app.visitor(&owner.inbox).await;
    app.visitor_send(&vt, "m1", "hi").await;
    let (mut agent_ws, _) = app.ws(&owner.token).await;
    let path = format!("/api/v1/contacts/{contact}");

    let (s, c) = app
        .patch(
            &owner.token,
            &path,
            json!({"name": "  韩梅梅 ", "email": "han@example.com", "phone": "+86 138-0013-8000", "attributes": {"plan": "gold", "orders": 3}}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["name"], "韩梅梅");
    assert_eq!(c["phone"], "+86 138-0013-8000");
    assert_eq!(c["attributes"], json!({"plan": "gold", "orders": 3}));
    // Agents see it live, and the list shows the name.
    let f = agent_ws.expect("contact").await;
    assert_eq!(f["contact"]["name"], "韩梅梅");
    let (_, list) = app.get(&owner.token, "/api/v1/conversations").await;
    assert_eq!(list["items"][0]["contact_name"], "韩梅梅");
    // Clear a field, drop an attribute; the rest stays.
    let (s, c) = app
        .patch(
            &owner.token,
            &path,
            json!({"phone": "", "attributes": {"orders": null}}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert!(c["phone"].is_null());
    assert_eq!(c["email"], "han@example.com");
    assert_eq!(c["attributes"], json!({"plan": "gold"}));
    // Bad input: a clear 422, nothing changed.
    for bad in [
        json!({"email": "not-an-email"}),
        json!({"phone": "call me"}),
        json!({"name": "x".repeat(101)}),
        json!({"attributes": {"deep": {"a": 1}}}),
        json!({"nickname": "x"}),
    ] {
        let (s, e) = app.patch(&owner.token, &path, bad.clone()).await;
        assert!(s == 422 || s == 400, "{bad}: {s} {e}");
        assert!(
            e["error"]["code"].is_string() && e["error"]["message"].is_string(),
            "{e}"
        );
    }
    let (_, c) = app.get(&owner.token, &path).await;
    assert_eq!(c["name"], "韩梅梅");
    // The event went to the outbox (integrations hear of it).
    app.state.routing_idle().await;
    let rows = app.store.outbox_after(0, 1000).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.event.change.type_name() == "contact_updated"
                && r.event.actor.kind == kefu_core::SenderKind::Agent)
    );

    // Notes: add, list newest first, delete by the author.
    let notes = format!("{path}/notes");
    for body in ["VIP, prefers e-mail", "Called about order 6610"] {
        let (s, n) = app
            .post(&owner.token, &notes, json!({ "body": body }))
            .await;
        assert_eq!(s, 201, "{n}");
    }
    let (s, e) = app.post(&owner.token, &notes, json!({"body": "  "})).await;
    assert_eq!(s, 422, "{e}");
    let (_, list) = app.get(&owner.token, &notes).await;
    assert_eq!(list["items"][0]["body"], "Called about order 6610");
    assert_eq!(list["items"][0]["author_id"], owner.agent_id.as_str());
    let first = list["items"][1]["id"].as_str().unwrap().to_string();
    let (s, _) = app.delete(&owner.token, &format!("{notes}/{first}")).await;
    assert_eq!(s, 204);
    let (_, list) = app.get(&owner.token, &notes).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Attribute definitions.
    let (s, d) = app
        .put(
            &owner.token,
            "/api/v1/attributes/plan",
            json!({"label": "会员等级", "kind": "text"}),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    let (s, e) = app
        .put(
            &owner.token,
            "/api/v1/attributes/Bad-Key",
            json!({"label": "x"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = app
        .put(
            &owner.token,
            "/api/v1/attributes/email",
            json!({"label": "x"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (_, defs) = app.get(&owner.token, "/api/v1/attributes").await;
    assert_eq!(
        defs["items"],
        json!([{"key": "plan", "label": "会员等级", "kind": "text"}])
    );

    // Another workspace sees and changes none of it.
    let other = app.tenant(Role::Owner).await;
    let (s, _) = app.get(&other.token, &path).await;
    assert_eq!(s, 404);
    let (s, _) = app.patch(&other.token, &path, json!({"name": "x"})).await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&other.token, &notes).await;
    assert_eq!(s, 404);
    let (_, defs) = app.get(&other.token, "/api/v1/attributes").await;
    assert_eq!(defs["items"], json!([]));
    // A plain agent cannot define attributes.
    let (_, a_token) = app
        .agent(
            &owner,
            &format!("a-{}@example.com", kefu_store::new_id()),
            5,
        )
        .await;
    let (s, _) = app
        .put(
            &a_token,
            "/api/v1/attributes/tier",
            json!({"label": "Tier"}),
        )
        .await;
    assert_eq!(s, 403);
    // …nor delete another agent's note.
    let remaining = list["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = app.delete(&a_token, &format!("{notes}/{remaining}")).await;
    assert_eq!(s, 404);
}

both_backends!(agents_edit_contacts_keep_notes_and_define_attributes);
