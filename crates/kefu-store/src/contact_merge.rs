//! The contacts page's two heavier actions: merging a duplicate contact into
//! another, and blocking a contact (with, optionally, their address). Also
//! the workspace's blocked client addresses, which widget sessions check.

use crate::{Actor, Contact, Event, Result, Store, StoreError, contacts, events, now_ms};
use kefu_core::{ContactId, WorkspaceId, event::ConversationEvent as Ev};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

/// Rows that name a contact and follow it into the contact it is merged
/// into: its conversations, notes, business events, ratings, the import's
/// map (so a re-run finds the merged contact), and earlier merges into it.
const MOVE: [&str; 6] = [
    "UPDATE conversations SET contact_id = $1 WHERE contact_id = $2 AND workspace_id = $3",
    "UPDATE contact_notes SET contact_id = $1 WHERE contact_id = $2 AND workspace_id = $3",
    "UPDATE contact_events SET contact_id = $1 WHERE contact_id = $2 AND workspace_id = $3",
    "UPDATE csat_ratings SET contact_id = $1 WHERE contact_id = $2 AND workspace_id = $3",
    "UPDATE import_map SET target_id = $1 WHERE target_id = $2 AND workspace_id = $3",
    "UPDATE contacts SET merged_into = $1 WHERE merged_into = $2 AND workspace_id = $3",
];

/// The contact a merge leaves: `keep`'s own details win, the duplicate
/// fills what `keep` lacks; the visit details are the most recent visit's;
/// the customer is as old as the older of the two, and blocked if either was.
pub fn merged_details(keep: &Contact, dup: &Contact) -> Contact {
    let mut out = keep.clone();
    let fill = |mine: &mut Option<String>, theirs: &Option<String>| {
        if mine.as_deref().is_none_or(|s| s.trim().is_empty()) {
            mine.clone_from(theirs);
        }
    };
    fill(&mut out.name, &dup.name);
    fill(&mut out.email, &dup.email);
    fill(&mut out.phone, &dup.phone);
    fill(&mut out.external_id, &dup.external_id);
    let mut attrs = match &dup.attributes {
        serde_json::Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    if let serde_json::Value::Object(m) = &keep.attributes {
        for (k, v) in m {
            attrs.insert(k.clone(), v.clone());
        }
    }
    out.attributes = serde_json::Value::Object(attrs);
    if dup.last_seen_at > keep.last_seen_at {
        out.page_url.clone_from(&dup.page_url);
        out.referrer.clone_from(&dup.referrer);
        out.language.clone_from(&dup.language);
        out.user_agent.clone_from(&dup.user_agent);
        out.ip.clone_from(&dup.ip);
        out.last_seen_at = dup.last_seen_at;
    }
    out.created_at = keep.created_at.min(dup.created_at);
    out.blocked_at = keep.blocked_at.or(dup.blocked_at);
    out
}

/// A client address the workspace refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IpBlock {
    pub ip: String,
    /// Why (free text; "blocked with contact …" when blocked with one).
    pub note: String,
    /// Who added it: a user id, `import:gofly`, or empty.
    pub created_by: String,
    pub created_at: i64,
}

/// The note of an address blocked together with a contact (unblocking the
/// contact lifts it again).
fn with_contact_note(id: &ContactId) -> String {
    format!("blocked with contact {id}")
}

impl Store {
    /// Merges the contact `dup` into `keep` in one transaction: `dup`'s
    /// conversations, notes, business events and ratings move to `keep`,
    /// `keep` takes `dup`'s details where it has none ([`merged_details`]),
    /// and `dup` is marked merged (no longer listed or found; its visitor
    /// continues as `keep`). Refused with a conflict when both have an active
    /// conversation in the same inbox (a visitor has one at a time there).
    pub async fn merge_contacts(
        &self,
        workspace_id: &WorkspaceId,
        keep: &ContactId,
        dup: &ContactId,
        actor: Actor,
    ) -> Result<(Contact, Vec<Event>)> {
        if keep == dup {
            return Err(StoreError::Invalid(
                "a contact cannot be merged into itself".into(),
            ));
        }
        let (ws, keep, dup) = (workspace_id.clone(), keep.clone(), dup.clone());
        self.write(move |c| {
            Box::pin(async move {
                let k = live_contact(c, &ws, &keep).await?;
                let d = live_contact(c, &ws, &dup).await?;
                // The statuses of the one-active-conversation rule (migration 0009).
                let clash = sqlx::query(
                    "SELECT inbox_id FROM conversations
                     WHERE workspace_id = $1 AND contact_id IN ($2, $3)
                       AND status IN ('bot', 'queued', 'open', 'pending')
                     GROUP BY inbox_id HAVING COUNT(*) > 1 LIMIT 1",
                )
                .bind(&ws)
                .bind(&keep)
                .bind(&dup)
                .fetch_optional(&mut *c)
                .await?;
                if let Some(r) = clash {
                    let inbox: String = r.try_get("inbox_id")?;
                    return Err(StoreError::Conflict(format!(
                        "both contacts have an active conversation in inbox {inbox}; resolve one of them first"
                    )));
                }
                for sql in MOVE {
                    sqlx::query(sql)
                        .bind(&keep)
                        .bind(&dup)
                        .bind(&ws)
                        .execute(&mut *c)
                        .await?;
                }
                let after = merged_details(&k, &d);
                sqlx::query(
                    "UPDATE contacts SET external_id = $3, name = $4, email = $5, phone = $6, attributes = $7,
                        page_url = $8, referrer = $9, language = $10, user_agent = $11, ip = $12,
                        last_seen_at = $13, created_at = $14, blocked_at = $15
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&keep)
                .bind(&ws)
                .bind(&after.external_id)
                .bind(&after.name)
                .bind(&after.email)
                .bind(&after.phone)
                .bind(after.attributes.to_string())
                .bind(&after.page_url)
                .bind(&after.referrer)
                .bind(&after.language)
                .bind(&after.user_agent)
                .bind(&after.ip)
                .bind(after.last_seen_at)
                .bind(after.created_at)
                .bind(after.blocked_at)
                .execute(&mut *c)
                .await?;
                sqlx::query("UPDATE contacts SET merged_into = $1 WHERE id = $2 AND workspace_id = $3")
                    .bind(&keep)
                    .bind(&dup)
                    .bind(&ws)
                    .execute(&mut *c)
                    .await?;
                let merged = Contact {
                    merged_into: Some(keep.clone()),
                    ..d
                };
                crate::search::index_contact(c, &merged).await?;
                crate::search::index_contact(c, &after).await?;
                let events = events::store_all(
                    c,
                    &ws,
                    None,
                    Some(&keep),
                    &actor,
                    vec![Ev::ContactMerged {
                        contact: after.clone(),
                        merged: Box::new(merged),
                    }],
                    now_ms(),
                )
                .await?;
                Ok((after, events))
            })
        })
        .await
    }

    /// Blocks a contact (their widget sessions and messages are refused), or
    /// lifts the block. With `block_ip`, their last known address is blocked
    /// too (and lifted with them). Blocking a blocked contact changes nothing.
    pub async fn set_contact_blocked(
        &self,
        workspace_id: &WorkspaceId,
        id: &ContactId,
        blocked: bool,
        block_ip: bool,
        actor: Actor,
    ) -> Result<(Contact, Vec<Event>)> {
        let (ws, cid) = (workspace_id.clone(), id.clone());
        self.write(move |c| {
            Box::pin(async move {
                let before = live_contact(c, &ws, &cid).await?;
                if before.blocked_at.is_some() == blocked {
                    return Ok((before, Vec::new()));
                }
                let now = now_ms();
                let after = Contact {
                    blocked_at: blocked.then_some(now),
                    ..before
                };
                sqlx::query("UPDATE contacts SET blocked_at = $3, blocked_by = $4 WHERE id = $1 AND workspace_id = $2")
                    .bind(&cid)
                    .bind(&ws)
                    .bind(after.blocked_at)
                    .bind(blocked.then_some(actor.id.as_str()))
                    .execute(&mut *c)
                    .await?;
                let note = with_contact_note(&cid);
                let change = match (&after.ip, blocked) {
                    (Some(ip), true) if block_ip => {
                        insert_ip_block(c, &ws, ip, &note, &actor.id, now).await?;
                        Ev::ContactBlocked {
                            contact: after.clone(),
                            ip_blocked: Some(ip.clone()),
                        }
                    }
                    (_, true) => Ev::ContactBlocked {
                        contact: after.clone(),
                        ip_blocked: None,
                    },
                    (_, false) => {
                        sqlx::query("DELETE FROM ip_blocks WHERE workspace_id = $1 AND note = $2")
                            .bind(&ws)
                            .bind(&note)
                            .execute(&mut *c)
                            .await?;
                        Ev::ContactUnblocked {
                            contact: after.clone(),
                        }
                    }
                };
                let events =
                    events::store_all(c, &ws, None, Some(&cid), &actor, vec![change], now).await?;
                Ok((after, events))
            })
        })
        .await
    }

    /// The workspace's blocked addresses, newest first.
    pub async fn ip_blocks(&self, workspace_id: &WorkspaceId) -> Result<Vec<IpBlock>> {
        let rows = sqlx::query(
            "SELECT ip, note, created_by, created_at FROM ip_blocks WHERE workspace_id = $1
             ORDER BY created_at DESC, ip",
        )
        .bind(workspace_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IpBlock {
                    ip: r.try_get("ip")?,
                    note: r.try_get("note")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Blocks an address (already blocked: its note is kept).
    pub async fn add_ip_block(
        &self,
        workspace_id: &WorkspaceId,
        ip: &str,
        note: &str,
        by: &str,
    ) -> Result<()> {
        let (ws, ip, note, by) = (
            workspace_id.clone(),
            ip.to_string(),
            note.to_string(),
            by.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move { insert_ip_block(c, &ws, &ip, &note, &by, now_ms()).await })
        })
        .await
    }

    /// Lifts an address's block; false when it was not blocked.
    pub async fn remove_ip_block(&self, workspace_id: &WorkspaceId, ip: &str) -> Result<bool> {
        let (ws, ip) = (workspace_id.clone(), ip.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query("DELETE FROM ip_blocks WHERE workspace_id = $1 AND ip = $2")
                    .bind(&ws)
                    .bind(&ip)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            })
        })
        .await
    }

    /// Whether the workspace refuses this client address.
    pub async fn ip_blocked(&self, workspace_id: &WorkspaceId, ip: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS x FROM ip_blocks WHERE workspace_id = $1 AND ip = $2")
                .bind(workspace_id)
                .bind(ip)
                .fetch_optional(self.reader())
                .await?
                .is_some(),
        )
    }
}

/// A contact that has not been merged away, inside a write.
async fn live_contact(
    c: &mut AnyConnection,
    workspace_id: &WorkspaceId,
    id: &ContactId,
) -> Result<Contact> {
    let k = contacts::load(c, workspace_id, id).await?;
    if k.merged_into.is_some() {
        return Err(StoreError::Invalid(format!(
            "contact {id} was merged into another contact"
        )));
    }
    Ok(k)
}

async fn insert_ip_block(
    c: &mut AnyConnection,
    ws: &WorkspaceId,
    ip: &str,
    note: &str,
    by: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ip_blocks (workspace_id, ip, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (workspace_id, ip) DO NOTHING",
    )
    .bind(ws)
    .bind(ip)
    .bind(note)
    .bind(by)
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(id: &str, seen: i64) -> Contact {
        Contact {
            id: id.into(),
            workspace_id: "ws".into(),
            inbox_id: "i".into(),
            external_id: None,
            name: None,
            email: None,
            phone: None,
            attributes: json!({}),
            page_url: Some(format!("https://shop.example/{id}")),
            referrer: None,
            language: None,
            user_agent: None,
            ip: Some(format!("10.0.0.{seen}")),
            last_seen_at: seen,
            created_at: seen,
            blocked_at: None,
            merged_into: None,
        }
    }

    #[test]
    fn the_kept_contact_wins_and_the_duplicate_fills_gaps() {
        let mut keep = contact("a", 5);
        keep.name = Some("王芳".into());
        keep.email = Some(" ".into());
        keep.attributes = json!({"plan": "vip", "city": "上海"});
        let mut dup = contact("b", 9);
        dup.name = Some("Fang".into());
        dup.email = Some("fang@example.com".into());
        dup.phone = Some("+86 138 0000 0000".into());
        dup.attributes = json!({"plan": "free", "orders": 3});
        dup.created_at = 1;
        let m = merged_details(&keep, &dup);
        assert_eq!(m.id, keep.id);
        assert_eq!(m.name.as_deref(), Some("王芳"));
        assert_eq!(
            m.email.as_deref(),
            Some("fang@example.com"),
            "a blank field is filled"
        );
        assert_eq!(m.phone, dup.phone);
        assert_eq!(
            m.attributes,
            json!({"plan": "vip", "city": "上海", "orders": 3})
        );
        assert_eq!(m.last_seen_at, 9, "the latest visit");
        assert_eq!(m.ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(m.page_url, dup.page_url);
        assert_eq!(m.created_at, 1, "a customer since the older one's start");
        assert_eq!(m.blocked_at, None);
    }

    #[test]
    fn an_older_visit_does_not_replace_the_visit_details_and_a_block_survives() {
        let keep = contact("a", 9);
        let mut dup = contact("b", 5);
        dup.blocked_at = Some(7);
        let m = merged_details(&keep, &dup);
        assert_eq!(m.ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(m.last_seen_at, 9);
        assert_eq!(m.blocked_at, Some(7));
    }
}
