//! The realtime protocol (WebSocket, and later SSE): frame types and parsing.
//!
//! Frames are JSON objects with a `type`. The protocol version is negotiated
//! once, in the `auth` / `hello` handshake, rather than repeated in every frame.
//! docs/protocol.md is the reference for clients; keep it in step with this file.

use crate::{
    AgentStatus, ConversationId, ConversationStatus, Message, MessageKind, UserId, WorkspaceId,
};
use serde::{Deserialize, Serialize};

pub use crate::message::Message as WireMessage;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A client's position in one conversation: "I have everything up to `after_seq`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPoint {
    pub conversation_id: ConversationId,
    #[serde(default)]
    pub after_seq: i64,
}

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// First frame of a connection unless the token came in the upgrade request.
    Auth {
        #[serde(default = "default_version")]
        v: u32,
        token: String,
    },
    /// Send a message. Visitors may omit `conversation_id`: their first message
    /// opens a conversation in their inbox.
    Send {
        client_msg_id: String,
        #[serde(default)]
        conversation_id: Option<ConversationId>,
        #[serde(default = "default_kind")]
        kind: MessageKind,
        #[serde(default)]
        content: String,
        #[serde(default)]
        attachment_id: Option<String>,
    },
    /// Resume after a reconnect: receive every message after each `after_seq`,
    /// in order, then a `synced` frame. A visitor sending an empty list gets all
    /// of their conversations from the start.
    Sync {
        #[serde(default)]
        conversations: Vec<SyncPoint>,
    },
    Typing {
        conversation_id: ConversationId,
        on: bool,
    },
    /// Read receipt: "I have read up to `seq`".
    Read {
        conversation_id: ConversationId,
        seq: i64,
    },
    /// Agents only: set own availability.
    Presence { status: AgentStatus },
    Ping {
        #[serde(default)]
        id: Option<String>,
    },
}

fn default_version() -> u32 {
    PROTOCOL_VERSION
}
fn default_kind() -> MessageKind {
    MessageKind::Text
}

/// Why a client frame could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame is not valid JSON: {0}")]
    BadJson(String),
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    #[error("invalid {kind} frame: {detail}")]
    BadFrame { kind: String, detail: String },
}

impl FrameError {
    /// The machine-readable code sent in the `error` frame.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::BadJson(_) => "bad_json",
            FrameError::UnknownType(_) => "unknown_type",
            FrameError::BadFrame { .. } => "bad_frame",
        }
    }
}

const KNOWN_TYPES: [&str; 7] = ["auth", "send", "sync", "typing", "read", "presence", "ping"];

/// Parses one client frame, telling malformed JSON, unknown types and bad
/// fields apart so the client gets a precise error code.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) => Ok(f),
        Err(err) => {
            #[derive(Deserialize)]
            struct Probe {
                #[serde(rename = "type")]
                kind: Option<serde_json::Value>,
            }
            match serde_json::from_str::<Probe>(text) {
                Err(e) => Err(FrameError::BadJson(e.to_string())),
                Ok(Probe {
                    kind: Some(serde_json::Value::String(k)),
                }) if KNOWN_TYPES.contains(&k.as_str()) => Err(FrameError::BadFrame {
                    kind: k,
                    detail: err.to_string(),
                }),
                Ok(Probe {
                    kind: Some(serde_json::Value::String(k)),
                }) => Err(FrameError::UnknownType(k.chars().take(64).collect())),
                Ok(_) => Err(FrameError::BadFrame {
                    kind: "unknown".into(),
                    detail: "missing string field `type`".into(),
                }),
            }
        }
    }
}

/// Who the connection belongs to, as told in `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `agent`, `visitor` or `api`.
    pub kind: String,
    pub id: String,
    pub workspace_id: WorkspaceId,
}

/// A visitor's view of one of their conversations in `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationHead {
    pub id: ConversationId,
    pub status: ConversationStatus,
    pub last_seq: i64,
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Hello {
        v: u32,
        identity: Identity,
        /// The server pings at this interval; a connection silent for
        /// `idle_timeout_ms` is closed.
        heartbeat_ms: u64,
        idle_timeout_ms: u64,
        /// For visitors: their conversations, so the client knows what to sync.
        conversations: Vec<ConversationHead>,
    },
    /// A `send` was stored durably. Repeated for a resend of the same `client_msg_id`.
    Ack {
        client_msg_id: String,
        id: String,
        conversation_id: ConversationId,
        seq: i64,
        created_at: i64,
    },
    Message {
        message: Message,
    },
    /// The end of a `sync` reply.
    Synced {
        conversations: Vec<SyncPoint>,
    },
    Typing {
        conversation_id: ConversationId,
        sender_kind: String,
        sender_id: String,
        on: bool,
    },
    Read {
        conversation_id: ConversationId,
        reader_kind: String,
        reader_id: String,
        seq: i64,
    },
    Presence {
        user_id: UserId,
        status: AgentStatus,
    },
    /// A message's author took it back: show "message deleted" in its place
    /// (its text and attachment are gone; the same frame reaches everyone
    /// who saw the message).
    MessageDeleted {
        conversation_id: ConversationId,
        seq: i64,
        deleted_at: i64,
    },
    /// A conversation's status, assignee, priority or tags changed (agents
    /// and its visitor; the visitor's copy has no priority or tags).
    Conversation {
        conversation_id: ConversationId,
        status: ConversationStatus,
        assignee_id: Option<UserId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<crate::Priority>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tags: Option<Vec<String>>,
        /// Agents' copies: snoozed until (ms); absent: not snoozed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snoozed_until: Option<i64>,
        /// Agents' copies: since when the customer waits (ms); absent: nobody waits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waiting_since: Option<i64>,
        /// When the conversation last changed (ms): a client holding a
        /// newer copy (from a REST answer that overtook this frame) keeps it.
        #[serde(default)]
        updated_at: i64,
    },
    /// Grab mode (抢单): a new conversation offered to the eligible members
    /// of `group` (`agents`); the first to claim it
    /// (`POST /api/v1/conversations/{id}/claim`) gets it, and everyone sees a
    /// `conversation` frame with the winner.
    Offer {
        conversation_id: ConversationId,
        group: String,
        agents: Vec<UserId>,
    },
    /// For agents: a group's line changed (live queue view).
    GroupQueue {
        group: String,
        waiting: i64,
        /// The first waiting conversations, in order (at most 50).
        conversation_ids: Vec<ConversationId>,
    },
    /// The visitor's place in line while nobody can take the conversation
    /// (1 = next); sent when it changes. An assignment ends it (a
    /// `conversation` frame with the assignee).
    Queue {
        conversation_id: ConversationId,
        position: i64,
        /// Rough wait from recent handling times, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        estimated_wait_ms: Option<u64>,
    },
    /// For agents (and API keys) of the workspace: a business system
    /// recorded an event on a contact (`POST /api/v1/events`). Never sent to
    /// visitors.
    ContactEvent {
        event: crate::event::BusinessEvent,
    },
    /// For agents (and API keys) of the workspace: a contact's name, e-mail,
    /// phone or attributes changed (the visitor said, or an agent edited).
    Contact {
        contact: crate::event::Contact,
    },
    /// For one agent (all their tabs): a colleague mentioned them in a
    /// note, or a conversation was assigned to them. Also kept for the
    /// console's bell (`GET /api/v1/notifications`).
    Notification {
        id: String,
        /// `mention` or `assigned`.
        kind: String,
        conversation_id: ConversationId,
        /// The note's seq for mentions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<i64>,
        actor_id: String,
        actor_name: String,
        excerpt: String,
        created_at: i64,
    },
    Pong {
        id: Option<String>,
    },
    Error {
        code: String,
        message: String,
        /// The `client_msg_id` of the `send` this error answers, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
    },
    /// The server is going away (shutdown, overload): reconnect after `after_ms` and resume.
    Reconnect {
        reason: String,
        after_ms: u64,
    },
}

impl ServerFrame {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            code: code.to_string(),
            message: message.into(),
            client_msg_id: None,
        }
    }

    /// Serializes the frame. Serializing our own types cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"type":"error","code":"internal","message":"encoding failed"}"#)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_send_with_defaults() {
        let f =
            parse_client_frame(r#"{"type":"send","client_msg_id":"a1","content":"你好"}"#).unwrap();
        assert_eq!(
            f,
            ClientFrame::Send {
                client_msg_id: "a1".into(),
                conversation_id: None,
                kind: MessageKind::Text,
                content: "你好".into(),
                attachment_id: None
            }
        );
    }

    #[test]
    fn classifies_errors() {
        assert_eq!(parse_client_frame("{nope").unwrap_err().code(), "bad_json");
        assert_eq!(
            parse_client_frame(r#"{"type":"dance"}"#)
                .unwrap_err()
                .code(),
            "unknown_type"
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"send"}"#).unwrap_err().code(),
            "bad_frame"
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"read","conversation_id":"c","seq":"x"}"#)
                .unwrap_err()
                .code(),
            "bad_frame"
        );
        assert_eq!(
            parse_client_frame(r#"[1,2]"#).unwrap_err().code(),
            "bad_json"
        );
        assert_eq!(
            parse_client_frame(r#"{"type":7}"#).unwrap_err().code(),
            "bad_frame"
        );
    }

    #[test]
    fn server_frames_are_tagged() {
        let j = ServerFrame::Pong { id: None }.to_json();
        assert_eq!(j, r#"{"type":"pong","id":null}"#);
    }
}
