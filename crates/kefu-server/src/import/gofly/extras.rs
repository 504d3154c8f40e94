//! The small tables: the inbox and its welcome text, canned replies, the IP
//! blacklist. Each is read whole (GOFLY keeps a handful of rows there) and
//! written in one transaction.
//!
//! - The import's inbox is found by name or created; a new one takes
//!   GOFLY's greeting (a `welcome` row with keyword `welcome`, else the
//!   `WelcomeMessage` setting) as its welcome text.
//! - Every `welcome` row (greetings, offline texts, keyword answers) also
//!   becomes a personal canned reply of its agent, `/<keyword>-<id>`.
//! - `reply_item`s become personal canned replies of their agent,
//!   `/<item name>` (letters, digits, `-`, `_`; `-<id>` added when two
//!   items read the same); the group names are not kept.
//! - `ipblack` rows go to the workspace's IP block list.

use super::content::to_text;
use super::source::{IpBlack, Reply, Welcome};
use super::{Ctx, GoflyError};
use crate::import::StepSummary;
use kefu_store::{
    ImportBatch, ImportCanned, ImportCheckpoint, ImportIpBlock, NewInbox, check_shortcut,
    import_id, now_ms,
};
use std::collections::{HashMap, HashSet};

const DEFAULT_WELCOME: &str = "您好，请问有什么可以帮您？ Hi! How can we help?";

/// The inbox conversations go to, and the welcome step's figures.
pub async fn inbox_and_welcomes(
    ctx: &Ctx<'_>,
    agents: &HashMap<String, String>,
) -> Result<(String, StepSummary), GoflyError> {
    let welcomes = ctx.src.all::<Welcome>().await?;
    let mut s = StepSummary {
        read: welcomes.len() as u64,
        ..Default::default()
    };
    let inbox_id = match find_inbox(ctx).await? {
        Some(id) => id,
        None => {
            let greeting = welcomes
                .iter()
                .filter(|w| w.keyword.trim() == "welcome" && !w.content.trim().is_empty())
                .max_by_key(|w| (w.is_default, -w.id))
                .map(|w| to_text(&w.content, ctx.opts.gofly_url.as_deref()).0);
            let greeting = match greeting {
                Some(g) => Some(g),
                None => ctx.src.config_welcome().await?,
            };
            let inbox = ctx
                .store
                .create_inbox(NewInbox {
                    workspace_id: ctx.ws.clone().into(),
                    name: ctx.opts.inbox.clone(),
                    display_name: ctx.opts.inbox.clone(),
                    welcome_text: greeting.unwrap_or_else(|| DEFAULT_WELCOME.into()),
                    ..Default::default()
                })
                .await?;
            s.wrote("inbox", 1);
            inbox.id
        }
    };
    let mut batch = ImportBatch::default();
    for w in &welcomes {
        let (content, _) = to_text(&w.content, ctx.opts.gofly_url.as_deref());
        if content.is_empty() {
            s.skip("empty welcome text");
            continue;
        }
        let keyword = slug(&w.keyword);
        let base = if keyword.is_empty() {
            "welcome".into()
        } else {
            keyword
        };
        let shortcut = with_suffix(&base, w.id);
        batch.canned.push(canned(
            ctx,
            "welcome",
            w.id,
            shortcut,
            content,
            agents.get(w.user_id.trim()),
            w.created_at,
        ));
    }
    let attempted = batch.canned.len() as u64;
    batch.checkpoint = Some(ImportCheckpoint {
        step: "welcome".into(),
        position: 1,
        counts: s.skipped_json(),
        follows: None,
    });
    let written = ctx.store.import_batch(&ctx.ws, &ctx.source, batch).await?;
    s.wrote("canned replies", written.canned);
    s.wrote("already there", attempted - written.canned);
    Ok((inbox_id, s))
}

async fn find_inbox(ctx: &Ctx<'_>) -> Result<Option<String>, GoflyError> {
    let mut after: Option<String> = None;
    loop {
        let page = ctx
            .store
            .list_inboxes(&ctx.ws.clone().into(), after.as_deref(), 100)
            .await?;
        if let Some(i) = page.iter().find(|i| i.name == ctx.opts.inbox) {
            return Ok(Some(i.id.clone()));
        }
        match page.last() {
            Some(last) if page.len() == 100 => after = Some(last.id.clone()),
            _ => return Ok(None),
        }
    }
}

/// A shortcut from free text: letters, digits, `-` and `_` (spaces become
/// `-`), lowercase, at most 32 characters.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(32).collect()
}

/// `base-id`, cutting `base` so the whole stays within 32 characters.
fn with_suffix(base: &str, id: i64) -> String {
    let tail = format!("-{id}");
    let keep = 32usize.saturating_sub(tail.chars().count());
    format!("{}{tail}", base.chars().take(keep).collect::<String>())
}

fn canned(
    ctx: &Ctx<'_>,
    kind: &str,
    id: i64,
    shortcut: String,
    content: String,
    owner: Option<&String>,
    at: Option<i64>,
) -> ImportCanned {
    let at = at.unwrap_or(0);
    ImportCanned {
        id: import_id(at, &[&ctx.ws, &ctx.source, kind, &id.to_string()]),
        shortcut,
        content: content.chars().take(5000).collect(),
        owner_id: owner.cloned(),
        created_by: owner.cloned().unwrap_or_else(|| "import".into()),
        created_at: if at > 0 { at } else { now_ms() },
    }
}

pub async fn replies(
    ctx: &Ctx<'_>,
    agents: &HashMap<String, String>,
) -> Result<StepSummary, GoflyError> {
    let rows = ctx.src.all::<Reply>().await?;
    let mut s = StepSummary {
        read: rows.len() as u64,
        ..Default::default()
    };
    let mut batch = ImportBatch::default();
    let mut taken: HashSet<(Option<String>, String)> = HashSet::new();
    for r in &rows {
        let (content, _) = to_text(&r.content, ctx.opts.gofly_url.as_deref());
        if content.is_empty() {
            s.skip("empty reply");
            continue;
        }
        let owner = agents.get(r.user_id.trim());
        let base = slug(&r.item_name);
        let mut shortcut = if base.is_empty() {
            format!("reply-{}", r.id)
        } else {
            base.clone()
        };
        if check_shortcut(&shortcut).is_err() || !taken.insert((owner.cloned(), shortcut.clone())) {
            shortcut = with_suffix(if base.is_empty() { "reply" } else { &base }, r.id);
            taken.insert((owner.cloned(), shortcut.clone()));
        }
        batch
            .canned
            .push(canned(ctx, "reply", r.id, shortcut, content, owner, None));
    }
    let attempted = batch.canned.len() as u64;
    batch.checkpoint = Some(ImportCheckpoint {
        step: "replies".into(),
        position: 1,
        counts: s.skipped_json(),
        follows: None,
    });
    let written = ctx.store.import_batch(&ctx.ws, &ctx.source, batch).await?;
    s.wrote("canned replies", written.canned);
    s.wrote(
        "already there (or shortcut in use)",
        attempted - written.canned,
    );
    Ok(s)
}

pub async fn ip_blacks(
    ctx: &Ctx<'_>,
    agents: &HashMap<String, String>,
) -> Result<StepSummary, GoflyError> {
    let rows = ctx.src.all::<IpBlack>().await?;
    let mut s = StepSummary {
        read: rows.len() as u64,
        ..Default::default()
    };
    let mut batch = ImportBatch::default();
    for r in &rows {
        let ip = r.ip.trim();
        let valid = ip.parse::<std::net::IpAddr>().is_ok() || ip.parse::<ipnet::IpNet>().is_ok();
        if !valid {
            s.skip("not an IP address");
            continue;
        }
        batch.ip_blocks.push(ImportIpBlock {
            ip: ip.to_string(),
            note: format!("GOFLY ipblack #{}", r.id),
            created_by: agents.get(r.kefu_id.trim()).cloned().unwrap_or_default(),
            created_at: r.created_at.unwrap_or_else(now_ms),
        });
    }
    batch.checkpoint = Some(ImportCheckpoint {
        step: "ipblack".into(),
        position: 1,
        counts: s.skipped_json(),
        follows: None,
    });
    let written = ctx.store.import_batch(&ctx.ws, &ctx.source, batch).await?;
    s.wrote("blocked addresses", written.ip_blocks);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::{slug, with_suffix};

    #[test]
    fn shortcuts_from_names() {
        assert_eq!(slug("官方地址在哪?"), "官方地址在哪");
        assert_eq!(slug("Opening Hours!"), "opening-hours");
        assert_eq!(slug("  "), "");
        assert_eq!(with_suffix("welcome", 12), "welcome-12");
        assert_eq!(with_suffix(&"x".repeat(40), 7).chars().count(), 32);
    }
}
