//! Web Push: notifications on agents' devices while the console is closed
//! or in the background (docs/push.md).
//!
//! An agent turns it on in "My settings": the console's service worker
//! subscribes the browser with our VAPID public key and posts the
//! subscription (`api/push.rs`), stored per user (kefu-store `push.rs`).
//! Features that want to tell an agent something (an assigned conversation,
//! a mention) call [`send_to_user`] with a [`PushMessage`]; each of the
//! user's browsers then gets the message as JSON, encrypted to that
//! browser's keys, through the browser vendor's push service ([`send`]).
//!
//! Sending happens in tasks owned by [`Pusher`] (shutdown waits for them
//! briefly, see [`Pusher::drain`]), so a caller never waits on a push
//! service: a few attempts with a short backoff, then the subscription's
//! failure is counted. A 404 or 410 answer deletes the subscription, which
//! is how push services say the browser unsubscribed. Nothing is queued in
//! the database: a notification is only worth something now, and push
//! services hold it for a browser that is offline (`[push] ttl_secs`).
//! A subscription lasts as long as the login session that made it, so a
//! browser someone logged out of gets nothing more.

pub mod config;
pub mod send;
pub mod subscription;
pub mod vapid;

pub use config::PushConfig;
pub use vapid::{VapidKey, VapidKeyError};

use crate::app::SharedState;
use kefu_core::{UserId, WorkspaceId};
use std::{sync::Arc, time::Duration};
use tokio_util::task::TaskTracker;

/// What a push notification says; serialised as the JSON payload the service worker reads.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushMessage {
    /// The notification's first line ("New conversation", "Alice mentioned you").
    pub title: String,
    /// A short excerpt; cut to fit one push if need be.
    pub body: String,
    /// Where a click goes: a console link such as
    /// [`crate::mail::conversation_link`] makes (only `/console/` URLs are
    /// opened as they are; others open the console at their `#route`).
    pub url: String,
    /// Names what it is about (`conversation-<id>`): a later notification
    /// with the same tag replaces it instead of stacking up.
    pub tag: String,
}

/// Largest plaintext one push carries: push services take at most 4096
/// bytes of body, of which the aes128gcm header (86 bytes), the padding
/// delimiter (1) and the tag (16) take 103.
pub const MAX_PAYLOAD_BYTES: usize = 4096 - 103;

/// Test notifications one agent may ask for per minute: each is a POST to
/// every push service of theirs, and the button is no way to make kefu
/// hammer a URL (an endpoint is any public `https:` URL an agent posted).
pub const TESTS_PER_MINUTE: u32 = 6;

/// Why push could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Key(#[from] VapidKeyError),
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// What requests share with the sending tasks: our VAPID key (none when
/// push is off), the `sub` claim, the HTTP client and the tasks in flight.
pub struct Pusher {
    key: Option<VapidKey>,
    subject: String,
    client: reqwest::Client,
    tasks: TaskTracker,
    /// Test notifications per agent (see [`TESTS_PER_MINUTE`]).
    pub tests: governor::DefaultKeyedRateLimiter<String>,
}

impl Pusher {
    /// Reads the VAPID key and builds the client: the same guarded resolver
    /// as webhooks (with `[push] allow_private_endpoints`), no redirects,
    /// no proxies from the environment.
    pub fn new(cfg: &crate::config::Config) -> Result<Pusher, PushError> {
        let p = &cfg.push;
        let key = if p.enabled {
            Some(VapidKey::from_base64url(
                cfg.secrets.vapid_private_key.expose(),
            )?)
        } else {
            None
        };
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(crate::webhooks::guard::GuardedResolver {
                allow_private: p.allow_private_endpoints,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_millis(p.timeout_ms))
            .user_agent(concat!("kefu-push/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Pusher {
            key,
            subject: subject(cfg),
            client,
            tasks: TaskTracker::new(),
            tests: governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(TESTS_PER_MINUTE).unwrap_or(std::num::NonZeroU32::MIN),
            )),
        })
    }

    /// Whether push is on.
    pub fn enabled(&self) -> bool {
        self.key.is_some()
    }

    /// Our VAPID public key (base64url, 65 bytes): the console's
    /// `applicationServerKey`. `None` when push is off.
    pub fn public_key(&self) -> Option<&str> {
        self.key.as_ref().map(VapidKey::public_key)
    }

    /// Resolves once every notification handed over so far is done, its
    /// outcome recorded (tests wait on this instead of sleeping).
    pub async fn idle(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    /// Waits up to `within` for notifications in flight (the store must
    /// still be open to record them); the rest are dropped.
    pub async fn drain(&self, within: Duration) {
        self.tasks.close();
        let _ = tokio::time::timeout(within, self.tasks.wait()).await;
    }
}

/// A start-up note when push is on but browsers will not allow it at
/// `public_url` (service workers need https, or localhost).
pub fn https_note(cfg: &crate::config::Config) -> Option<String> {
    let u = url::Url::parse(&cfg.public_url).ok()?;
    let local = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    (cfg.push.enabled && u.scheme() != "https" && !local).then(|| {
        format!(
            "push notifications need the console on https:// (public_url is {}); see docs/push.md",
            cfg.public_url
        )
    })
}

/// The VAPID `sub` claim: `[push] subject`, else `mailto:` the mail sender,
/// else the public URL.
fn subject(cfg: &crate::config::Config) -> String {
    if !cfg.push.subject.is_empty() {
        cfg.push.subject.clone()
    } else if cfg.mail.from_address.contains('@') {
        format!("mailto:{}", cfg.mail.from_address)
    } else if !cfg.public_url.is_empty() {
        cfg.public_url.clone()
    } else {
        format!("http://{}", cfg.listen)
    }
}

/// The JSON the service worker reads, the body cut (then the title) until
/// it fits in one push.
fn payload(msg: &PushMessage) -> Vec<u8> {
    let mut m = msg.clone();
    loop {
        let json = serde_json::to_vec(&m).unwrap_or_default();
        if json.len() <= MAX_PAYLOAD_BYTES {
            return json;
        }
        let over = json.len() - MAX_PAYLOAD_BYTES;
        let cut = |s: &mut String| {
            // Each char is at least a byte; cut a few more for the ellipsis.
            let keep = s.chars().count().saturating_sub(over + 4);
            *s = s.chars().take(keep).collect::<String>() + "…";
        };
        if m.body.chars().count() > 1 {
            cut(&mut m.body);
        } else if m.title.chars().count() > 1 {
            cut(&mut m.title);
        } else {
            // Only the url or tag is that long: send without them.
            m.url.clear();
            m.tag.clear();
        }
    }
}

/// Sends `msg` to every subscription of `user_id`; returns how many were handed to a push service.
///
/// Returns once the notifications are handed to sending tasks: delivery
/// (with retries) goes on in the background, and its outcome is recorded on
/// each subscription. Nothing is sent, and 0 returned, when push is off or
/// the user is deactivated.
pub async fn send_to_user(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    msg: &PushMessage,
) -> Result<usize, kefu_store::StoreError> {
    if !state.push.enabled() {
        return Ok(0);
    }
    let subs = state
        .store
        .list_push_subscriptions(workspace_id, user_id)
        .await?;
    if subs.is_empty() || !state.store.get_user(workspace_id, user_id).await?.active {
        return Ok(0);
    }
    let body: Arc<[u8]> = payload(msg).into();
    for sub in &subs {
        state
            .push
            .tasks
            .spawn(send::deliver(state.clone(), sub.clone(), body.clone()));
    }
    Ok(subs.len())
}

/// What a test notification came to, per subscription of the caller.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct TestReport {
    /// Subscriptions tried.
    pub subscriptions: usize,
    /// Taken by their push service.
    pub delivered: usize,
    /// Gone (the push service answered 404 or 410) and deleted.
    pub removed: usize,
    /// Not delivered; see `errors`.
    pub failed: usize,
    /// Why, one line per failed subscription.
    pub errors: Vec<String>,
}

/// Sends `msg` to each of the user's subscriptions once, waiting for the
/// answers (the console's "Send a test notification" shows them), and
/// records them like any other push.
pub async fn send_test(
    state: &SharedState,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    msg: &PushMessage,
) -> Result<TestReport, kefu_store::StoreError> {
    let subs = state
        .store
        .list_push_subscriptions(workspace_id, user_id)
        .await?;
    let body = payload(msg);
    let outcomes = futures::future::join_all(subs.iter().map(|sub| {
        let body = &body;
        async move {
            let o = send::post(state, sub, body).await;
            send::record(state, sub, &o).await;
            o
        }
    }))
    .await;
    let mut report = TestReport {
        subscriptions: subs.len(),
        ..Default::default()
    };
    for o in outcomes {
        match o {
            send::Outcome::Delivered => report.delivered += 1,
            send::Outcome::Gone => report.removed += 1,
            send::Outcome::Failed { why, .. } => {
                report.failed += 1;
                report.errors.push(why);
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_noted_when_browsers_need_it() {
        let mut cfg = crate::config::Config::default();
        for (url, note) in [
            ("http://127.0.0.1:8080", false),
            ("http://localhost:8080", false),
            ("https://kefu.example.com", false),
            ("http://kefu.example.com", true),
            ("http://10.0.0.5:8080", true),
        ] {
            cfg.public_url = url.into();
            assert_eq!(https_note(&cfg).is_some(), note, "{url}");
        }
        cfg.push.enabled = false;
        assert!(https_note(&cfg).is_none());
    }

    #[test]
    fn payloads_fit_in_one_push() {
        let msg = PushMessage {
            title: "新对话".into(),
            body: "长".repeat(5000),
            url: "https://kefu.example.com/console/#/inbox/1".into(),
            tag: "conversation-1".into(),
        };
        let p = payload(&msg);
        assert!(p.len() <= MAX_PAYLOAD_BYTES, "{}", p.len());
        let v: serde_json::Value = serde_json::from_slice(&p).unwrap();
        assert_eq!(v["title"], "新对话");
        assert_eq!(v["url"], msg.url);
        assert!(v["body"].as_str().unwrap().ends_with('…'));
        let short = PushMessage {
            body: "hi".into(),
            ..msg
        };
        assert_eq!(payload(&short), serde_json::to_vec(&short).unwrap());
    }
}
