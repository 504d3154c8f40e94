//! Macros: a named list of actions an agent runs on a conversation in one
//! go (reply, label, assign, set the priority, resolve…).
//!
//! This is the pure part: the actions' shape, their checks when a macro is
//! saved (so a macro that cannot mean anything is refused then, not when an
//! agent runs it), and the variables a reply's text may hold. The server
//! runs each action through the command an agent's own click would use, so
//! nothing here touches a conversation.

use crate::{ConversationStatus, Priority, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most actions one macro holds: a macro is a shortcut for a few clicks,
/// and a run holds the conversation's commands in sequence.
pub const MAX_ACTIONS: usize = 20;
/// Longest macro name (it is a menu entry).
pub const MAX_NAME_CHARS: usize = 80;
/// Longest reply or note; the server's own message limit applies again when it is sent.
pub const MAX_CONTENT_CHARS: usize = 5000;
/// Longest label, as the store allows for tags.
pub const MAX_LABEL_CHARS: usize = 32;
/// Shortest and longest snooze (one minute, 90 days).
pub const MIN_SNOOZE_SECS: i64 = 60;
pub const MAX_SNOOZE_SECS: i64 = 90 * 24 * 3600;

/// One step of a macro. On the wire: `{"type": "add_label", "label": "vip"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MacroAction {
    /// A message to the customer; variables (`{{contact.name}}`…) are filled when it runs.
    Reply {
        content: String,
    },
    /// A private note (agents only); variables are filled too.
    Note {
        content: String,
    },
    AddLabel {
        label: String,
    },
    RemoveLabel {
        label: String,
    },
    /// `me` (whoever runs the macro), an agent's user id, or `group:<name>`
    /// (the conversation waits in that group's line).
    Assign {
        #[schema(value_type = String, example = "group:billing")]
        to: AssignTo,
    },
    Unassign,
    SetPriority {
        priority: Priority,
    },
    Status {
        status: MacroStatus,
    },
    /// Sets the conversation aside for this many seconds (60 to 90 days).
    Snooze {
        for_secs: i64,
    },
}

impl MacroAction {
    /// The action's `type` on the wire, for outcomes and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            MacroAction::Reply { .. } => "reply",
            MacroAction::Note { .. } => "note",
            MacroAction::AddLabel { .. } => "add_label",
            MacroAction::RemoveLabel { .. } => "remove_label",
            MacroAction::Assign { .. } => "assign",
            MacroAction::Unassign => "unassign",
            MacroAction::SetPriority { .. } => "set_priority",
            MacroAction::Status { .. } => "status",
            MacroAction::Snooze { .. } => "snooze",
        }
    }
}

/// Whom an `assign` action gives the conversation to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AssignTo {
    /// The agent running the macro.
    Me,
    Agent(UserId),
    /// A group's line (groups are named by their name).
    Group(String),
}

impl TryFrom<String> for AssignTo {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s.chars().any(char::is_control) {
            return Err("`to` must be `me`, a user id or `group:<name>`".into());
        }
        if s == "me" {
            return Ok(AssignTo::Me);
        }
        if let Some(group) = s.strip_prefix("group:") {
            let group = group.trim();
            if group.is_empty() {
                return Err("`group:` needs a group's name".into());
            }
            return Ok(AssignTo::Group(group.to_string()));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(format!("{s:?} is not a user id"));
        }
        Ok(AssignTo::Agent(UserId::new(s)))
    }
}

impl From<AssignTo> for String {
    fn from(a: AssignTo) -> String {
        match a {
            AssignTo::Me => "me".into(),
            AssignTo::Agent(id) => id.into_string(),
            AssignTo::Group(g) => format!("group:{g}"),
        }
    }
}

/// The statuses a macro may set: those an agent sets by hand (a line and
/// the bot are routing's; closing is a separate, deliberate step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MacroStatus {
    Open,
    Pending,
    Resolved,
}

impl From<MacroStatus> for ConversationStatus {
    fn from(s: MacroStatus) -> Self {
        match s {
            MacroStatus::Open => ConversationStatus::Open,
            MacroStatus::Pending => ConversationStatus::Pending,
            MacroStatus::Resolved => ConversationStatus::Resolved,
        }
    }
}

/// Why a macro cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacroError {
    #[error("a macro's name must be 1 to {MAX_NAME_CHARS} characters")]
    Name,
    #[error("a macro has 1 to {MAX_ACTIONS} actions, not {0}")]
    ActionCount(usize),
    /// `index` counts from 0, as in the `actions` array.
    #[error("actions[{index}] ({kind}): {problem}")]
    Action {
        index: usize,
        kind: &'static str,
        problem: String,
    },
}

/// The name, trimmed, if it fits.
pub fn check_name(name: &str) -> Result<String, MacroError> {
    let n = name.trim();
    let len = n.chars().count();
    if len == 0 || len > MAX_NAME_CHARS || n.chars().any(char::is_control) {
        return Err(MacroError::Name);
    }
    Ok(n.to_string())
}

/// The actions with their texts trimmed, or the first problem found.
pub fn check_actions(actions: Vec<MacroAction>) -> Result<Vec<MacroAction>, MacroError> {
    if actions.is_empty() || actions.len() > MAX_ACTIONS {
        return Err(MacroError::ActionCount(actions.len()));
    }
    actions
        .into_iter()
        .enumerate()
        .map(|(index, a)| {
            let kind = a.kind();
            check_action(a).map_err(|problem| MacroError::Action {
                index,
                kind,
                problem,
            })
        })
        .collect()
}

fn check_action(a: MacroAction) -> Result<MacroAction, String> {
    Ok(match a {
        MacroAction::Reply { content } => MacroAction::Reply {
            content: content_of(&content)?,
        },
        MacroAction::Note { content } => MacroAction::Note {
            content: content_of(&content)?,
        },
        MacroAction::AddLabel { label } => MacroAction::AddLabel {
            label: label_of(&label)?,
        },
        MacroAction::RemoveLabel { label } => MacroAction::RemoveLabel {
            label: label_of(&label)?,
        },
        MacroAction::Snooze { for_secs } => {
            if !(MIN_SNOOZE_SECS..=MAX_SNOOZE_SECS).contains(&for_secs) {
                return Err(format!(
                    "for_secs must be between {MIN_SNOOZE_SECS} and {MAX_SNOOZE_SECS}"
                ));
            }
            MacroAction::Snooze { for_secs }
        }
        other => other,
    })
}

fn content_of(s: &str) -> Result<String, String> {
    let t = s.trim();
    let n = t.chars().count();
    if n == 0 || n > MAX_CONTENT_CHARS {
        return Err(format!(
            "content must be 1 to {MAX_CONTENT_CHARS} characters"
        ));
    }
    Ok(t.to_string())
}

fn label_of(s: &str) -> Result<String, String> {
    let t = s.trim();
    let n = t.chars().count();
    if n == 0 || n > MAX_LABEL_CHARS || t.chars().any(char::is_control) {
        return Err(format!(
            "label must be 1 to {MAX_LABEL_CHARS} printable characters"
        ));
    }
    Ok(t.to_string())
}

/// The variables a reply may hold, as `{{contact.name}}`. The console fills
/// canned replies with the same list (`web/console/src/lib/canned.ts`,
/// `VARIABLES`): keep the two in step.
pub const VARIABLES: [&str; 6] = [
    "contact.name",
    "contact.email",
    "contact.phone",
    "agent.name",
    "agent.email",
    "conversation.id",
];

/// What the variables stand for in one conversation; empty when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables {
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub agent_name: String,
    pub agent_email: String,
    pub conversation_id: String,
}

impl Variables {
    fn get(&self, group: &str, field: &str) -> Option<&str> {
        Some(match (group, field) {
            ("contact", "name") => &self.contact_name,
            ("contact", "email") => &self.contact_email,
            ("contact", "phone") => &self.contact_phone,
            ("agent", "name") => &self.agent_name,
            ("agent", "email") => &self.agent_email,
            ("conversation", "id") => &self.conversation_id,
            _ => return None,
        })
    }
}

/// Fills `{{ group.field }}` with its value, as the console does: an
/// unknown variable stays as typed (a typo shows rather than vanishing), a
/// known one without a value becomes empty.
pub fn fill_variables(text: &str, vars: &Variables) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match variable_at(tail) {
            Some((len, group, field)) => {
                match vars.get(group, field) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&tail[..len]),
                }
                rest = &tail[len..];
            }
            None => {
                // Not a variable here; one may start at the next `{`.
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `{{ group.field }}` at the start of `s` (group `[a-z]+`, field
/// `[a-z_]+`, spaces inside the braces allowed): its length and parts.
fn variable_at(s: &str) -> Option<(usize, &str, &str)> {
    let inner = s.strip_prefix("{{")?;
    let body = inner.trim_start();
    let group_len = body.find(|c: char| !c.is_ascii_lowercase())?;
    let (group, after) = body.split_at(group_len);
    let after = after.strip_prefix('.')?;
    let field_len = after
        .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .unwrap_or(after.len());
    let (field, after) = after.split_at(field_len);
    let after = after.trim_start().strip_prefix("}}")?;
    if group.is_empty() || field.is_empty() {
        return None;
    }
    Some((s.len() - after.len(), group, field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Variables {
        Variables {
            contact_name: "韩梅梅".into(),
            contact_email: "han@example.com".into(),
            agent_name: "Li Lei".into(),
            conversation_id: "c1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn variables_fill_like_the_console() {
        // The same cases as web/console/src/lib/canned.test.ts.
        assert_eq!(
            fill_variables("您好 {{contact.name}}，我是{{ agent.name }}。", &vars()),
            "您好 韩梅梅，我是Li Lei。"
        );
        assert_eq!(
            fill_variables("{{contact.nmae}} {{order.id}}", &vars()),
            "{{contact.nmae}} {{order.id}}"
        );
        assert_eq!(fill_variables("Call {{contact.phone}}!", &vars()), "Call !");
        assert_eq!(
            fill_variables("{{{contact.email}}}", &vars()),
            "{han@example.com}"
        );
        assert_eq!(
            fill_variables("{{ contact. name }} {{", &vars()),
            "{{ contact. name }} {{"
        );
        assert_eq!(fill_variables("x {{conversation.id}}", &vars()), "x c1");
    }

    #[test]
    fn actions_read_and_write_their_wire_shape() {
        let wire = json!([
            {"type": "reply", "content": "Hi {{contact.name}}"},
            {"type": "add_label", "label": "vip"},
            {"type": "assign", "to": "group:billing"},
            {"type": "assign", "to": "me"},
            {"type": "unassign"},
            {"type": "set_priority", "priority": "high"},
            {"type": "status", "status": "resolved"},
            {"type": "snooze", "for_secs": 3600}
        ]);
        let actions: Vec<MacroAction> = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            actions[2],
            MacroAction::Assign {
                to: AssignTo::Group("billing".into())
            }
        );
        assert_eq!(serde_json::to_value(&actions).unwrap(), wire);
        for bad in [
            json!({"type": "reply"}),
            json!({"type": "explode"}),
            json!({"type": "add_label", "label": "x", "extra": 1}),
            json!({"type": "assign", "to": "  "}),
            json!({"type": "assign", "to": "group:"}),
            json!({"type": "status", "status": "closed"}),
        ] {
            assert!(
                serde_json::from_value::<MacroAction>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn checks_trim_and_name_the_action_at_fault() {
        let ok = check_actions(vec![
            MacroAction::Reply {
                content: "  hi ".into(),
            },
            MacroAction::AddLabel {
                label: " vip ".into(),
            },
        ])
        .unwrap();
        assert_eq!(
            ok[0],
            MacroAction::Reply {
                content: "hi".into()
            }
        );
        assert_eq!(
            ok[1],
            MacroAction::AddLabel {
                label: "vip".into()
            }
        );
        assert_eq!(check_actions(vec![]), Err(MacroError::ActionCount(0)));
        assert_eq!(
            check_actions(vec![MacroAction::Unassign; MAX_ACTIONS + 1]),
            Err(MacroError::ActionCount(MAX_ACTIONS + 1))
        );
        let e = check_actions(vec![
            MacroAction::Unassign,
            MacroAction::AddLabel {
                label: "x".repeat(33),
            },
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                MacroError::Action {
                    index: 1,
                    kind: "add_label",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("actions[1] (add_label)"));
        assert!(check_actions(vec![MacroAction::Snooze { for_secs: 5 }]).is_err());
        assert!(
            check_actions(vec![MacroAction::Note {
                content: " ".into()
            }])
            .is_err()
        );
        assert_eq!(check_name("  Refund  ").unwrap(), "Refund");
        assert!(check_name("").is_err() && check_name(&"x".repeat(81)).is_err());
    }
}
