//! Agents and visitors.
//!
//! Agents: GOFLY's `user` rows become kefu users with the `agent` role,
//! matched by e-mail to a user the workspace already has; deleted ones (and
//! names messages mention that `user` no longer has) become deactivated
//! users so old messages keep a name. GOFLY keeps unsalted MD5 passwords,
//! which kefu will not take over: every new active agent gets a password
//! link (a `reset` token, the same single-use kind "forgot password"
//! makes), printed for the operator or e-mailed when mail is on.
//!
//! Visitors: `visitor` rows become contacts of the import's inbox (a
//! visitor id that only messages mention becomes one in the messages step).

use super::source::{Agent, Visitor};
use super::{Ctx, GoflyError};
use crate::auth::tokens::{random_token, sha256_hex};
use crate::import::StepSummary;
use kefu_core::Role;
use kefu_store::{
    ImportBatch, ImportCheckpoint, ImportContact, ImportUser, NO_PASSWORD, NewMail, NewUserToken,
    import_id, now_ms,
};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// How password links are made.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// The console's address (`[mail] base_url`, else `public_url`).
    pub base_url: String,
    /// How long a link works.
    pub ttl_ms: i64,
    /// Queue an e-mail with the link (mail is configured); the running
    /// server sends it.
    pub mail: bool,
}

/// The agents step's outcome: GOFLY login → kefu user id.
pub struct Agents {
    pub map: HashMap<String, String>,
    pub summary: StepSummary,
}

/// `name` as an e-mail address: itself when it is one, else a local part
/// made of its ASCII letters and digits (`agent-<id>` when none) at `domain`.
fn email_for(name: &str, id: i64, domain: &str) -> String {
    let n = name.trim();
    if n.contains('@') && !n.contains(char::is_whitespace) && n.len() <= 254 {
        return kefu_store::normalize_email(n);
    }
    let local: String = n
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(48)
        .collect::<String>()
        .trim_matches('.')
        .to_lowercase();
    let local = if local.is_empty() {
        format!("agent-{id}")
    } else {
        local
    };
    format!("{local}@{domain}")
}

pub async fn agents(ctx: &Ctx<'_>) -> Result<(Agents, Vec<(String, String)>), GoflyError> {
    let mut map = HashMap::new();
    ctx.store
        .import_map_each(&ctx.ws, &ctx.source, "agent", |k, v| {
            map.insert(k, v);
        })
        .await?;
    let mut s = StepSummary::default();
    let mut batch = ImportBatch::default();
    let mut emails = HashSet::new();
    let mut fresh: Vec<(String, String)> = Vec::new();
    let mut rows: Vec<(i64, String, String, Option<i64>, bool)> = ctx
        .src
        .all::<Agent>()
        .await?
        .into_iter()
        .map(|a| {
            let display = if a.nickname.trim().is_empty() {
                a.name.clone()
            } else {
                a.nickname.clone()
            };
            (a.id, a.name, display, a.created_at, !a.deleted)
        })
        .collect();
    let gone = ctx.src.missing_agents().await?;
    s.read = (rows.len() + gone.len()) as u64;
    for name in gone {
        let display = format!("{name} (deleted in GOFLY)");
        rows.push((0, name, display, None, false));
    }
    for (id, name, display, created, active) in rows {
        let key = name.trim().to_string();
        if key.is_empty() {
            s.skip("agent without a login name");
            continue;
        }
        if map.contains_key(&key) {
            continue;
        }
        let mut email = email_for(&key, id, &ctx.opts.email_domain);
        if !emails.insert(email.clone()) {
            // Two logins that read as the same address: one by a hash of the login.
            let h = import_id(0, &[&key]);
            email = format!("agent-{}@{}", &h[h.len() - 12..], ctx.opts.email_domain);
            emails.insert(email.clone());
        }
        match ctx.store.find_user_by_email(&email).await? {
            Some(u) if u.workspace_id.as_ref() == ctx.ws.as_str() => {
                s.wrote("matched existing users", 1);
                batch
                    .map
                    .push(("agent".into(), key.clone(), u.id.to_string()));
                map.insert(key, u.id.to_string());
                continue;
            }
            Some(_) => {
                s.skip("e-mail already used in another workspace");
                continue;
            }
            None => {}
        }
        let at = created.unwrap_or(0);
        let uid = import_id(at, &[&ctx.ws, &ctx.source, "agent", &key]);
        batch.users.push(ImportUser {
            id: uid.clone(),
            email: email.clone(),
            name: display.chars().take(100).collect(),
            role: Role::Agent,
            active,
            created_at: if at > 0 { at } else { now_ms() },
        });
        batch.map.push(("agent".into(), key.clone(), uid.clone()));
        if active {
            fresh.push((uid.clone(), email));
        } else {
            s.wrote("deactivated (deleted in GOFLY)", 1);
        }
        map.insert(key, uid);
    }
    batch.checkpoint = Some(ImportCheckpoint {
        step: "agents".into(),
        position: 1,
        counts: s.skipped_json(),
        follows: None,
    });
    let written = ctx.store.import_batch(&ctx.ws, &ctx.source, batch).await?;
    s.wrote("users", written.users);
    let mut to_link = fresh;
    if ctx.opts.reissue_links {
        for uid in map.values() {
            if to_link.iter().any(|(id, _)| id == uid) {
                continue;
            }
            if let Some(u) = ctx.store.find_user(&uid.clone().into()).await?
                && u.active
                && u.password_hash == NO_PASSWORD
            {
                to_link.push((uid.clone(), u.email));
            }
        }
    }
    let mut links = Vec::new();
    for (uid, email) in to_link {
        links.push((email.clone(), link(ctx, &uid, &email).await?));
    }
    Ok((Agents { map, summary: s }, links))
}

/// A single-use password link for an imported agent (queued as an e-mail
/// when mail is on: then the link is not returned).
async fn link(ctx: &Ctx<'_>, uid: &str, email: &str) -> Result<String, GoflyError> {
    let token = random_token(32);
    let lo = &ctx.opts.links;
    ctx.store
        .create_user_token(NewUserToken {
            token_hash: sha256_hex(&token),
            purpose: "reset".into(),
            workspace_id: ctx.ws.clone().into(),
            email: email.to_string(),
            user_id: Some(uid.to_string().into()),
            role: None,
            created_by: Some("import".into()),
            expires_at: now_ms() + lo.ttl_ms,
        })
        .await?;
    if lo.mail {
        ctx.store
            .enqueue_mails(vec![NewMail {
                workspace_id: ctx.ws.clone().into(),
                kind: "reset".into(),
                recipient: email.to_string(),
                conversation_id: None,
                user_id: Some(uid.to_string().into()),
                // The mail states this link's lifetime, not the shorter
                // one of a "forgot password" link.
                payload: json!({ "token": token, "valid_minutes": lo.ttl_ms.max(0) / 60_000 }),
                batch_key: None,
                dedupe_key: None,
                due_at: now_ms(),
            }])
            .await?;
        return Ok(String::new());
    }
    Ok(format!(
        "{}/console/#/reset/{token}",
        lo.base_url.trim_end_matches('/')
    ))
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

pub async fn visitors(ctx: &Ctx<'_>, inbox_id: &str) -> Result<StepSummary, GoflyError> {
    let mut s = StepSummary::default();
    let mut after = 0;
    if let Some((pos, counts)) = ctx
        .store
        .import_checkpoint(&ctx.ws, &ctx.source, "visitors")
        .await?
    {
        after = pos;
        s.resume_from(&counts);
    }
    let pb = super::progress_bar::<Visitor>(ctx, after, "visitors").await?;
    let mut chunks = ctx.src.read_ahead::<Visitor>(after, ctx.opts.batch_size, 2);
    while let Some(rows) = chunks.next().await {
        let rows = rows?;
        let Some(last) = rows.last().map(|v| v.id) else {
            break;
        };
        s.read += rows.len() as u64;
        let mut batch = ImportBatch::default();
        for v in &rows {
            let Some(key) = non_empty(&v.visitor_id) else {
                s.skip("visitor without a visitor_id");
                continue;
            };
            let mut attrs = Map::new();
            attrs.insert("gofly_visitor_id".into(), Value::String(key.clone()));
            for (k, val) in [
                ("city", &v.city),
                ("avatar", &v.avatar),
                ("gofly_agent", &v.to_id),
            ] {
                if let Some(val) = non_empty(val) {
                    attrs.insert(k.into(), Value::String(val));
                }
            }
            if let Some(extra) = non_empty(&v.extra) {
                let parsed = serde_json::from_str::<Value>(&extra).unwrap_or(Value::String(extra));
                attrs.insert("gofly_extra".into(), parsed);
            }
            if v.deleted {
                attrs.insert("gofly_deleted".into(), Value::Bool(true));
            }
            let at = v.created_at.or(v.updated_at).unwrap_or(0);
            let id = import_id(at, &[&ctx.ws, &ctx.source, "visitor", &key]);
            batch.contacts.push(ImportContact {
                id: id.clone(),
                inbox_id: inbox_id.to_string(),
                name: non_empty(&v.name).map(|n| n.chars().take(100).collect()),
                attributes: Value::Object(attrs),
                referrer: non_empty(&v.refer),
                ip: non_empty(&v.client_ip).or_else(|| non_empty(&v.source_ip)),
                created_at: at,
                last_seen_at: v.updated_at.unwrap_or(at).max(at),
            });
            batch.map.push(("visitor".into(), key, id));
        }
        batch.checkpoint = Some(ImportCheckpoint {
            step: "visitors".into(),
            position: last,
            counts: s.skipped_json(),
            follows: None,
        });
        let w = ctx.store.import_batch(&ctx.ws, &ctx.source, batch).await?;
        s.wrote("contacts", w.contacts);
        pb.inc(rows.len() as u64);
    }
    pb.finish_and_clear();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::email_for;

    #[test]
    fn logins_become_addresses() {
        assert_eq!(
            email_for("Li.Lei@Example.com", 1, "d.cn"),
            "li.lei@example.com"
        );
        assert_eq!(email_for("kefu2", 1, "d.cn"), "kefu2@d.cn");
        assert_eq!(email_for("客服小王", 7, "d.cn"), "agent-7@d.cn");
        assert_eq!(email_for("小王wang", 7, "d.cn"), "wang@d.cn");
    }
}
