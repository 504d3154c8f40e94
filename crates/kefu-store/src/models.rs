//! Rows of the store, as the rest of kefu sees them.

pub use kefu_core::event::{Actor, BusinessEvent, Contact, Conversation, ConversationEvent, Event};
use kefu_core::{AgentStatus, ConversationStatus, Role};
use kefu_core::{ContactId, ConversationId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tenant. Everything else belongs to exactly one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    /// IANA time zone for business hours and reports (`Asia/Shanghai`).
    pub timezone: String,
    /// Default language of the console and widget (`zh-CN` or `en`).
    pub language: String,
    /// Public holidays (`YYYY-MM-DD`), for routing rules (`time.holiday`).
    pub holidays: Vec<String>,
    pub created_at: i64,
    /// Where conversations go that no rule routes (a group's name); `None`:
    /// they stay unassigned for agents to pick up.
    pub default_group: Option<String>,
    /// An agent who replies to an unassigned conversation takes it.
    pub reply_takes: bool,
}

/// A saved answer an agent inserts by typing `/shortcut`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CannedReply {
    pub id: String,
    pub workspace_id: WorkspaceId,
    /// Lowercase letters, digits, `-`, `_`; unique among the workspace's
    /// shared replies, and among each agent's personal ones (a personal
    /// reply may reuse a shared shortcut: it wins in its owner's composer).
    pub shortcut: String,
    pub content: String,
    pub created_by: String,
    /// The agent whose personal reply this is (only they see it); `None`:
    /// shared with the workspace.
    pub owner_id: Option<UserId>,
    /// Whether it is someone's personal reply (`owner_id` is set).
    pub personal: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A named list of actions an agent runs on a conversation in one go
/// (docs/macros.md). Personal (an owner) or shared, like canned replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Macro {
    pub id: String,
    pub workspace_id: WorkspaceId,
    /// Unique among the shared macros, and among each agent's own.
    pub name: String,
    /// Run in this order; at most 20.
    pub actions: Vec<kefu_core::macros::MacroAction>,
    /// The agent whose personal macro this is; `None`: shared.
    pub owner_id: Option<UserId>,
    pub personal: bool,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a conversation list shows besides the conversation itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversationPreview {
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// The newest message, if any (notes included: agents see them).
    pub last_message: Option<LastMessage>,
    /// Messages after the caller's read position.
    pub unread: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LastMessage {
    pub kind: kefu_core::MessageKind,
    pub sender_kind: kefu_core::SenderKind,
    /// At most 140 characters.
    pub excerpt: String,
    pub created_at: i64,
}

/// A member of a workspace who logs into the console.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    /// Most conversations automatic routing may give this agent at once.
    pub capacity: i64,
    pub status: AgentStatus,
    pub active: bool,
    pub created_at: i64,
    /// Whether the agent is e-mailed about conversations assigned to them
    /// while they are offline.
    pub email_on_assign: bool,
    /// The uploaded picture (`/api/v1/avatars/{key}`); none: initials.
    pub avatar_url: Option<String>,
    /// Which conversations' visitor messages notify this agent in the
    /// console (mentions and assignments always do).
    pub notify_scope: NotifyScope,
    /// A sound for notifications in the console.
    pub notify_sound: bool,
    /// Desktop notifications while the console is in the background.
    pub notify_desktop: bool,
    /// Web Push for assignments and mentions while no console is open.
    pub notify_push: bool,
}

/// Which conversations notify an agent of a visitor's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyScope {
    /// Only conversations assigned to me.
    Assigned,
    /// Also unassigned ones in my groups (the default).
    #[default]
    Groups,
    /// Every conversation of the workspace.
    All,
}

impl NotifyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyScope::Assigned => "assigned",
            NotifyScope::Groups => "groups",
            NotifyScope::All => "all",
        }
    }
}

impl std::str::FromStr for NotifyScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "assigned" => Ok(NotifyScope::Assigned),
            "groups" => Ok(NotifyScope::Groups),
            "all" => Ok(NotifyScope::All),
            other => Err(format!("unknown notification scope {other:?}")),
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A login session: the refresh token's hash and its revocation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: UserId,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// A workspace API key (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    /// What the key may do (`events:write`, `conversations:read`, …; see
    /// `POST /api/v1/api-keys`).
    pub scopes: Vec<String>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// A channel visitors write in: for now, a website widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Inbox {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// Public key the widget snippet carries; not a secret.
    pub public_key: String,
    /// Origins allowed to embed the widget (`https://shop.example.com`); empty = any.
    pub allowed_origins: Vec<String>,
    pub display_name: String,
    pub welcome_text: String,
    /// How the widget looks and behaves.
    pub widget: WidgetSettings,
    pub created_at: i64,
    /// A visitor's message within this many seconds of a resolve reopens
    /// the conversation with the same agent; later, it starts a new one
    /// (routed with a preference for that agent). 0: never reopen.
    pub reopen_window_secs: i64,
    /// Posted to the visitor when an agent resolves their conversation, in
    /// English: for visitors whose language is not Chinese (and as the
    /// fallback); empty: nothing is posted to them.
    pub closing_message: String,
    /// The same for visitors whose language is Chinese (`zh*`).
    pub closing_message_zh: String,
    /// The inbox's bot (off by default; docs/bot.md).
    pub bot: kefu_core::bot::BotSettings,
}

/// An inbox's widget settings. Every field has a default, so `{}` is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    /// Main color, `#rrggbb`.
    pub color: String,
    /// Which bottom corner the launcher sits in.
    pub position: WidgetPosition,
    /// Questions asked before the first message.
    pub prechat: PrechatForm,
    /// When agents answer; `null`: always (as long as one is online).
    pub business_hours: Option<BusinessHours>,
    /// What visitors see when no agent is online or it is outside business hours.
    pub offline: OfflineMode,
    /// Show the answering agent's name and avatar on their replies
    /// (off: replies come from the inbox's display name).
    pub show_agents: bool,
    /// Ask the customer for a rating after a resolve (CSAT).
    pub csat: CsatSettings,
}

/// The satisfaction survey the widget and chat page show after a resolve:
/// a 1–5 rating and an optional comment. Empty wording: the built-in one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CsatSettings {
    pub enabled: bool,
    /// The question in Chinese (at most 200 characters).
    pub question_zh: String,
    /// The question in English (at most 200 characters).
    pub question_en: String,
}

impl CsatSettings {
    /// Longest question, in characters.
    pub const MAX_QUESTION: usize = 200;

    pub fn check(&self) -> std::result::Result<(), String> {
        for (name, q) in [
            ("question_zh", &self.question_zh),
            ("question_en", &self.question_en),
        ] {
            if q.chars().count() > Self::MAX_QUESTION {
                return Err(format!(
                    "csat.{name} is longer than {} characters",
                    Self::MAX_QUESTION
                ));
            }
        }
        Ok(())
    }
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            color: "#1f6feb".into(),
            position: WidgetPosition::Right,
            prechat: PrechatForm::default(),
            business_hours: None,
            offline: OfflineMode::Form,
            show_agents: false,
            csat: CsatSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WidgetPosition {
    #[default]
    Right,
    Left,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfflineMode {
    /// A form (name, email, message) that becomes a conversation agents see later.
    #[default]
    Form,
    /// The normal chat, with a note that replies may take a while.
    Chat,
}

/// The pre-chat form. Fields with key `name` and `email` fill the contact's
/// name and email; the others go into the contact's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PrechatForm {
    pub enabled: bool,
    pub fields: Vec<PrechatField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrechatField {
    /// `[a-z0-9_]{1,32}`; `name` and `email` are the contact's own fields.
    pub key: String,
    /// Shown to the visitor.
    pub label: String,
    #[serde(default)]
    pub kind: PrechatFieldKind,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrechatFieldKind {
    #[default]
    Text,
    Email,
    Tel,
    Textarea,
}

/// Weekly opening hours in a time zone; the workspace's holidays are closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone, e.g. `Asia/Shanghai` (daylight saving included);
    /// absent: the workspace's time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The older form: a fixed offset in minutes east of UTC (-720 to 840),
    /// used only when `timezone` is absent; no daylight saving, no holidays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
    /// Opening periods; a day without one is closed.
    pub periods: Vec<OpeningPeriod>,
}

/// One opening period on one weekday, e.g. Monday 09:00–18:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningPeriod {
    /// 0 = Sunday, 1 = Monday, … 6 = Saturday.
    pub day: u8,
    /// `HH:MM`, local time.
    pub open: String,
    /// `HH:MM`, after `open`; `24:00` is the end of the day.
    pub close: String,
}

/// Minutes after midnight of an `HH:MM` time (00:00 to 24:00).
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let t = h * 60 + m;
    (m < 60 && t <= 24 * 60).then_some(t)
}

impl BusinessHours {
    /// Checks the shape (not the time zone's name, which needs the tz
    /// database): a human message naming the bad part.
    pub fn check(&self) -> std::result::Result<(), String> {
        if let Some(off) = self.utc_offset_minutes
            && !(-720..=840).contains(&off)
        {
            return Err("business_hours.utc_offset_minutes must be between -720 and 840".into());
        }
        if self.periods.len() > 7 * 4 {
            return Err("business_hours has more than 28 periods".into());
        }
        for p in &self.periods {
            let ok = p.day <= 6
                && matches!((parse_hhmm(&p.open), parse_hhmm(&p.close)), (Some(o), Some(c)) if o < c);
            if !ok {
                return Err(format!(
                    "business_hours period {{day: {}, open: {:?}, close: {:?}}} needs a day 0-6 and HH:MM times with open before close",
                    p.day, p.open, p.close
                ));
            }
        }
        Ok(())
    }

    /// The older fixed-offset form: whether `now_ms` (epoch milliseconds)
    /// falls in an opening period at `utc_offset_minutes` (0 if absent).
    pub fn is_open_at_fixed_offset(&self, now_ms: i64) -> bool {
        let local_min = now_ms.div_euclid(60_000) + i64::from(self.utc_offset_minutes.unwrap_or(0));
        let day_index = local_min.div_euclid(24 * 60);
        // 1970-01-01 was a Thursday (4).
        let weekday = (day_index + 4).rem_euclid(7) as u8;
        let minute = local_min.rem_euclid(24 * 60) as u32;
        self.periods.iter().any(|p| {
            p.day == weekday
                && matches!((parse_hhmm(&p.open), parse_hhmm(&p.close)), (Some(o), Some(c)) if o <= minute && minute < c)
        })
    }
}

/// What the widget session endpoint learned about a visitor's visit.
#[derive(Debug, Clone, Default)]
pub struct VisitInfo {
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub language: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// One entry of a conversation's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub conversation_id: ConversationId,
    /// The event's type (`conversation_status_changed`, …); older rows
    /// carry the short names of before (`status_changed`, `assigned`).
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: i64,
}

/// An uploaded file's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub uploader_kind: String,
    pub uploader_id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    #[serde(skip)]
    pub storage_key: String,
    pub created_at: i64,
}

/// Filters of the conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Any of these statuses; empty: any status.
    pub statuses: Vec<ConversationStatus>,
    pub inbox_id: Option<String>,
    pub assignee_id: Option<UserId>,
    pub unassigned: bool,
    pub contact_id: Option<ContactId>,
    /// Routed through (or waiting in) this group.
    pub group: Option<String>,
    /// Carries this tag.
    pub tag: Option<String>,
    pub priority: Option<kefu_core::Priority>,
}

/// The orders of the conversation list. Each is "a key descending, then id
/// descending", so one keyset cursor serves them all ([`ListSort::key`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListSort {
    /// Most recent activity first.
    #[default]
    Activity,
    /// Newest first.
    Created,
    /// Most urgent first, then most recent activity.
    Priority,
    /// The customer who has waited longest first; nobody waiting last.
    Waiting,
}

/// Above any epoch-ms time: the waiting key of a conversation nobody waits in.
const NOT_WAITING: i64 = 9_000_000_000_000_000;
/// Above any epoch-ms time: one priority step in the priority key.
const RANK_STEP: i64 = 10_000_000_000_000;

impl ListSort {
    /// The key this order sorts `c` by (descending); the SQL of
    /// `list_conversations` computes the same.
    pub fn key(self, c: &kefu_core::event::Conversation) -> i64 {
        match self {
            ListSort::Activity => c.last_activity_at,
            ListSort::Created => c.created_at,
            ListSort::Priority => i64::from(c.priority.rank()) * RANK_STEP + c.last_activity_at,
            ListSort::Waiting => -c.waiting_since.unwrap_or(NOT_WAITING),
        }
    }
}

/// Keyset cursor of the conversation list: the last row's sort key
/// ([`ListSort::key`]) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCursor {
    pub key: i64,
    pub id: ConversationId,
}

impl ActivityCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.key, self.id)
    }

    pub fn decode(s: &str) -> Option<ActivityCursor> {
        let (ts, id) = s.split_once('_')?;
        Some(ActivityCursor {
            key: ts.parse().ok()?,
            id: id.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(day: u8, open: &str, close: &str) -> OpeningPeriod {
        OpeningPeriod {
            day,
            open: open.into(),
            close: close.into(),
        }
    }

    #[test]
    fn business_hours_in_a_fixed_offset() {
        let bh = BusinessHours {
            timezone: None,
            utc_offset_minutes: Some(480),
            periods: vec![period(1, "09:00", "18:00"), period(6, "00:00", "24:00")],
        };
        // 2026-11-23 is a Monday. 01:00 UTC = 09:00 in UTC+8.
        let monday_0100_utc = 1_795_395_600_000_i64;
        assert!(bh.is_open_at_fixed_offset(monday_0100_utc));
        assert!(
            !bh.is_open_at_fixed_offset(monday_0100_utc - 60_000),
            "08:59 local"
        );
        assert!(
            !bh.is_open_at_fixed_offset(monday_0100_utc + 9 * 3_600_000),
            "18:00 local is closed"
        );
        // Sunday 17:00 UTC = Monday 01:00 local: closed; Friday 16:30 UTC = Saturday 00:30 local: open.
        assert!(!bh.is_open_at_fixed_offset(monday_0100_utc - 8 * 3_600_000));
        assert!(bh.is_open_at_fixed_offset(monday_0100_utc - 2 * 86_400_000 - 30 * 60_000));
        let west = BusinessHours {
            timezone: None,
            utc_offset_minutes: Some(-300),
            periods: vec![period(1, "09:00", "10:00")],
        };
        // Monday 14:30 UTC = 09:30 in UTC-5.
        assert!(west.is_open_at_fixed_offset(monday_0100_utc + 13 * 3_600_000 + 30 * 60_000));
    }

    #[test]
    fn hhmm() {
        assert_eq!(parse_hhmm("09:30"), Some(570));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        for bad in ["24:01", "9:30", "09:60", "ab:cd", "0930", ""] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
    }

    #[test]
    fn widget_settings_default_from_empty() {
        let w: WidgetSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(w, WidgetSettings::default());
        assert!(serde_json::from_str::<WidgetSettings>(r#"{"colour":"x"}"#).is_err());
    }
}
