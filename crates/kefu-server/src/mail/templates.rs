//! The mails kefu writes, in Chinese and English, as plain text plus a
//! simple HTML part. Every value from users (names, messages, workspace
//! names) is escaped in the HTML part; links are built by kefu only. Pure.

use super::quote::{MARKER_EN, MARKER_ZH};

/// The language a mail is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// From a language tag (`zh-CN`, `zh`, `en-US`…); `fallback` when absent
    /// or neither.
    pub fn pick(tag: Option<&str>, fallback: Lang) -> Lang {
        match tag.map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t.starts_with("zh") => Lang::Zh,
            Some(t) if t.starts_with("en") => Lang::En,
            _ => fallback,
        }
    }

    /// A workspace's language (`zh-CN` or `en`).
    pub fn of_workspace(tag: &str) -> Lang {
        Lang::pick(Some(tag), Lang::En)
    }
}

/// One message of a conversation as a mail shows it.
#[derive(Debug, Clone)]
pub struct Line {
    pub who: String,
    /// Already formatted in the workspace's time zone.
    pub when: String,
    pub text: String,
}

/// What a mail says.
#[derive(Debug, Clone)]
pub enum Content {
    /// An agent's replies to a visitor who went away.
    VisitorReplies { from: String, lines: Vec<Line> },
    /// A conversation's transcript, on request.
    Transcript { from: String, lines: Vec<Line> },
    /// A conversation assigned to an offline agent.
    Assigned {
        contact: String,
        excerpt: String,
        link: String,
    },
    /// An agent mentioned in a note while offline.
    Mention {
        by: String,
        contact: String,
        excerpt: String,
        link: String,
    },
    /// An invitation to join a workspace.
    Invite {
        workspace: String,
        inviter: String,
        link: String,
        hours: u64,
    },
    /// A password-reset link.
    Reset { link: String, minutes: u64 },
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A link's lifetime in words: whole hours from two hours up (an imported
/// agent's link lasts days: "4320 minutes" would read badly), else minutes.
fn validity(minutes: u64, zh: bool) -> String {
    match (minutes >= 120 && minutes.is_multiple_of(60), zh) {
        (true, true) => format!("{} 小时", minutes / 60),
        (true, false) => format!("{} hours", minutes / 60),
        (false, true) => format!("{minutes} 分钟"),
        (false, false) if minutes == 1 => "1 minute".into(),
        (false, false) => format!("{minutes} minutes"),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Subjects are one line: no header injection through a name.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn html_page(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif;font-size:14px;color:#1f2328;line-height:1.5\">{body}</body></html>"
    )
}

fn html_lines(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| {
            format!(
                "<p style=\"margin:0 0 12px\"><b>{}</b> <span style=\"color:#656d76\">{}</span><br><span style=\"white-space:pre-wrap\">{}</span></p>",
                escape(&l.who),
                escape(&l.when),
                escape(&l.text)
            )
        })
        .collect()
}

fn text_lines(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| format!("{} ({}):\n{}\n", l.who, l.when, l.text))
        .collect::<Vec<_>>()
        .join("\n")
}

fn button(link: &str, label: &str) -> String {
    format!(
        "<p><a href=\"{}\" style=\"display:inline-block;padding:8px 16px;background:#2563eb;color:#fff;text-decoration:none;border-radius:6px\">{}</a></p><p style=\"color:#656d76;font-size:12px\">{}</p>",
        escape(link),
        escape(label),
        escape(link)
    )
}

/// Renders `content` in `lang`.
pub fn render(content: &Content, lang: Lang) -> Rendered {
    let zh = lang == Lang::Zh;
    let (subject, text, html) = match content {
        Content::VisitorReplies { from, lines } => {
            let marker = if zh { MARKER_ZH } else { MARKER_EN };
            let (subject, intro) = if zh {
                (
                    format!("{from} 回复了您"),
                    format!("{from} 在您离开后回复了您。直接回复此邮件即可继续对话。"),
                )
            } else {
                (
                    format!("New reply from {from}"),
                    format!(
                        "{from} replied while you were away. Reply to this e-mail to continue the conversation."
                    ),
                )
            };
            (
                subject,
                format!("{marker}\n\n{intro}\n\n{}", text_lines(lines)),
                format!(
                    "<p style=\"color:#656d76\">{}</p><p>{}</p>{}",
                    escape(marker),
                    escape(&intro),
                    html_lines(lines)
                ),
            )
        }
        Content::Transcript { from, lines } => {
            let (subject, intro) = if zh {
                (
                    format!("您与 {from} 的对话记录"),
                    "以下是您要求的对话记录。".to_string(),
                )
            } else {
                (
                    format!("Your conversation with {from}"),
                    "Here is the transcript you asked for.".to_string(),
                )
            };
            (
                subject,
                format!("{intro}\n\n{}", text_lines(lines)),
                format!("<p>{}</p>{}", escape(&intro), html_lines(lines)),
            )
        }
        Content::Assigned {
            contact,
            excerpt,
            link,
        } => {
            let (subject, intro, open) = if zh {
                (
                    format!("有会话分配给您：{contact}"),
                    format!("您离线时，与 {contact} 的会话分配给了您。"),
                    "打开会话",
                )
            } else {
                (
                    format!("Conversation assigned to you: {contact}"),
                    format!(
                        "While you were offline, the conversation with {contact} was assigned to you."
                    ),
                    "Open the conversation",
                )
            };
            (
                subject,
                format!("{intro}\n\n{excerpt}\n\n{open}: {link}\n"),
                format!(
                    "<p>{}</p><blockquote style=\"white-space:pre-wrap;color:#424a53\">{}</blockquote>{}",
                    escape(&intro),
                    escape(excerpt),
                    button(link, open)
                ),
            )
        }
        Content::Mention {
            by,
            contact,
            excerpt,
            link,
        } => {
            let (subject, intro, open) = if zh {
                (
                    format!("{by} 在备注中提到了您"),
                    format!("{by} 在与 {contact} 的会话中提到了您："),
                    "打开会话",
                )
            } else {
                (
                    format!("{by} mentioned you"),
                    format!("{by} mentioned you in the conversation with {contact}:"),
                    "Open the conversation",
                )
            };
            (
                subject,
                format!("{intro}\n\n{excerpt}\n\n{open}: {link}\n"),
                format!(
                    "<p>{}</p><blockquote style=\"white-space:pre-wrap;color:#424a53\">{}</blockquote>{}",
                    escape(&intro),
                    escape(excerpt),
                    button(link, open)
                ),
            )
        }
        Content::Invite {
            workspace,
            inviter,
            link,
            hours,
        } => {
            let (subject, intro, act, note) = if zh {
                (
                    format!("{inviter} 邀请您加入 {workspace}"),
                    format!(
                        "{inviter} 邀请您以客服身份加入 {workspace}。点击下面的链接设置您的姓名和密码。"
                    ),
                    "接受邀请",
                    format!("链接 {hours} 小时内有效，只能使用一次。"),
                )
            } else {
                (
                    format!("{inviter} invited you to {workspace}"),
                    format!(
                        "{inviter} invited you to join {workspace} as an agent. Follow the link to set your name and password."
                    ),
                    "Accept the invitation",
                    format!("The link works once, for {hours} hours."),
                )
            };
            (
                subject,
                format!("{intro}\n\n{act}: {link}\n\n{note}\n"),
                format!(
                    "<p>{}</p>{}<p style=\"color:#656d76\">{}</p>",
                    escape(&intro),
                    button(link, act),
                    escape(&note)
                ),
            )
        }
        Content::Reset { link, minutes } => {
            let valid = validity(*minutes, zh);
            let (subject, intro, act, note) = if zh {
                (
                    "重置您的密码".to_string(),
                    "有人（希望是您）请求重置您的密码。点击下面的链接设置新密码；重置后，所有已登录的会话都会退出。".to_string(),
                    "设置新密码",
                    format!("链接 {valid}内有效，只能使用一次。如果不是您本人操作，请忽略此邮件。"),
                )
            } else {
                (
                    "Reset your password".to_string(),
                    "Someone (hopefully you) asked to reset your password. Follow the link to set a new one; every signed-in session is signed out.".to_string(),
                    "Set a new password",
                    format!("The link works once, for {valid}. If this was not you, ignore this e-mail."),
                )
            };
            (
                subject,
                format!("{intro}\n\n{act}: {link}\n\n{note}\n"),
                format!(
                    "<p>{}</p>{}<p style=\"color:#656d76\">{}</p>",
                    escape(&intro),
                    button(link, act),
                    escape(&note)
                ),
            )
        }
    };
    Rendered {
        subject: one_line(&subject),
        text,
        html: html_page(&html),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<Line> {
        vec![Line {
            who: "<b>Eve</b>".into(),
            when: "2026-11-30 10:00".into(),
            text: "<script>alert(1)</script> & \"quotes\"".into(),
        }]
    }

    #[test]
    fn everything_from_users_is_escaped_in_html() {
        let r = render(
            &Content::Transcript {
                from: "Shop <x>".into(),
                lines: lines(),
            },
            Lang::En,
        );
        assert!(!r.html.contains("<script>"));
        assert!(
            r.html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;")
        );
        assert!(r.html.contains("&lt;b&gt;Eve&lt;/b&gt;"));
        // The plain part is plain: nothing escaped.
        assert!(r.text.contains("<script>alert(1)</script>"));
        let r = render(
            &Content::Invite {
                workspace: "A\"><img src=x>".into(),
                inviter: "Bob".into(),
                link: "https://k.example/console/accept?token=a\"b".into(),
                hours: 72,
            },
            Lang::En,
        );
        assert!(!r.html.contains("<img"));
        assert!(r.html.contains("token=a&quot;b"));
    }

    #[test]
    fn language_follows_the_tag() {
        assert_eq!(Lang::pick(Some("zh-CN"), Lang::En), Lang::Zh);
        assert_eq!(Lang::pick(Some("en-US"), Lang::Zh), Lang::En);
        assert_eq!(Lang::pick(Some("fr"), Lang::Zh), Lang::Zh);
        assert_eq!(Lang::pick(None, Lang::En), Lang::En);
        let zh = render(
            &Content::Reset {
                link: "l".into(),
                minutes: 60,
            },
            Lang::Zh,
        );
        assert_eq!(zh.subject, "重置您的密码");
        let en = render(
            &Content::Reset {
                link: "l".into(),
                minutes: 60,
            },
            Lang::En,
        );
        assert_eq!(en.subject, "Reset your password");
        assert!(en.text.contains("60 minutes"));
        // An imported agent's link (72 h) says how long it really lasts.
        let long = render(
            &Content::Reset {
                link: "l".into(),
                minutes: 72 * 60,
            },
            Lang::En,
        );
        assert!(long.text.contains("for 72 hours."), "{}", long.text);
        let long_zh = render(
            &Content::Reset {
                link: "l".into(),
                minutes: 72 * 60,
            },
            Lang::Zh,
        );
        assert!(long_zh.text.contains("72 小时内有效"), "{}", long_zh.text);
    }

    #[test]
    fn replies_carry_the_marker_and_subjects_are_one_line() {
        let r = render(
            &Content::VisitorReplies {
                from: "Help\r\nBcc: x@y".into(),
                lines: lines(),
            },
            Lang::Zh,
        );
        assert!(r.text.starts_with(MARKER_ZH));
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }
}
