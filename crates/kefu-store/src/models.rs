//! Rows of the store, as the rest of kefu sees them.

use kefu_core::{AgentStatus, ConversationStatus, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tenant. Everything else belongs to exactly one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// A member of a workspace who logs into the console.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub workspace_id: String,
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
    pub user_id: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// A workspace API key (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// A channel visitors write in: for now, a website widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Inbox {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    /// Public key the widget snippet carries; not a secret.
    pub public_key: String,
    /// Origins allowed to embed the widget (`https://shop.example.com`); empty = any.
    pub allowed_origins: Vec<String>,
    pub display_name: String,
    pub welcome_text: String,
    pub created_at: i64,
}

/// A visitor or customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: String,
    pub workspace_id: String,
    pub inbox_id: String,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub language: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub last_seen_at: i64,
    pub created_at: i64,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    pub workspace_id: String,
    pub inbox_id: String,
    pub contact_id: String,
    pub status: ConversationStatus,
    /// At most one assignee at any time.
    pub assignee_id: Option<String>,
    /// The `seq` of the newest message.
    pub last_seq: i64,
    pub last_activity_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One entry of a conversation's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: String,
    pub conversation_id: String,
    /// `created`, `status_changed`, `assigned`.
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: i64,
}

/// Who caused a change, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: kefu_core::SenderKind,
    pub id: String,
}

/// An uploaded file's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: String,
    pub workspace_id: String,
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
    pub status: Option<ConversationStatus>,
    pub inbox_id: Option<String>,
    pub assignee_id: Option<String>,
    pub unassigned: bool,
    pub contact_id: Option<String>,
}

/// Keyset cursor of the conversation list: the last row's (activity, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCursor {
    pub last_activity_at: i64,
    pub id: String,
}

impl ActivityCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.last_activity_at, self.id)
    }

    pub fn decode(s: &str) -> Option<ActivityCursor> {
        let (ts, id) = s.split_once('_')?;
        Some(ActivityCursor {
            last_activity_at: ts.parse().ok()?,
            id: id.to_string(),
        })
    }
}
