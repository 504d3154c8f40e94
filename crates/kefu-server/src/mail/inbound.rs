//! Reading an inbound mail: the raw RFC 822 message (mail-parser) or the
//! JSON most relays' inbound webhooks post, down to what kefu needs (who
//! sent it, where the reply token may be, the text, whether it is an
//! auto-reply). Pure.

use serde::Deserialize;
use utoipa::ToSchema;

/// A relay's JSON post: `raw` (the whole RFC 822 message), or the parsed
/// fields most inbound-mail webhooks send.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InboundJson {
    pub raw: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cc: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    /// Extra headers by name (`Auto-Submitted`, `In-Reply-To`, …).
    #[serde(default)]
    pub headers: std::collections::HashMap<String, String>,
}

/// What kefu needs of an inbound mail.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct InboundMail {
    pub from: String,
    /// Recipient headers, joined (where the reply token is).
    pub recipients: String,
    /// `In-Reply-To` and `References`, joined.
    pub thread: String,
    pub message_id: String,
    pub text: String,
    /// An auto-reply (`Auto-Submitted` other than `no`, `Precedence: bulk`…).
    pub automatic: bool,
}

fn addr_of(s: &str) -> String {
    let s = s.trim();
    match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].trim().to_lowercase(),
        _ => s.to_lowercase(),
    }
}

fn addresses(a: Option<&mail_parser::Address>) -> String {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address.as_deref())
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

fn is_automatic(auto_submitted: Option<&str>, precedence: Option<&str>) -> bool {
    let auto = auto_submitted
        .map(|v| !v.trim().eq_ignore_ascii_case("no"))
        .unwrap_or(false);
    let bulk = precedence
        .map(|p| {
            matches!(
                p.trim().to_ascii_lowercase().as_str(),
                "bulk" | "junk" | "list" | "auto_reply"
            )
        })
        .unwrap_or(false);
    auto || bulk
}

/// Parses a raw RFC 822 message.
pub fn parse_raw(raw: &[u8]) -> Option<InboundMail> {
    use mail_parser::{HeaderValue, MessageParser};
    let m = MessageParser::default().parse(raw)?;
    let text_header = |name: &str| -> Option<String> {
        m.header(name).and_then(|h| match h {
            HeaderValue::Text(t) => Some(t.to_string()),
            HeaderValue::TextList(l) => Some(l.join(" ")),
            _ => None,
        })
    };
    let mut recipients = vec![addresses(m.to()), addresses(m.cc())];
    for h in ["Delivered-To", "X-Original-To", "Envelope-To"] {
        if let Some(v) = m.header_raw(h) {
            recipients.push(v.trim().to_string());
        }
    }
    let ids = |v: &HeaderValue| match v {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(" "),
        _ => String::new(),
    };
    let thread = [m.in_reply_to(), m.references()]
        .iter()
        .map(|v| ids(v))
        .collect::<Vec<_>>()
        .join(" ");
    Some(InboundMail {
        from: m
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address.as_deref())
            .unwrap_or("")
            .to_lowercase(),
        recipients: recipients.join(", "),
        thread,
        message_id: m.message_id().unwrap_or("").to_string(),
        text: m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
        automatic: is_automatic(
            text_header("Auto-Submitted").as_deref(),
            text_header("Precedence").as_deref(),
        ) || m.header_raw("X-Autoreply").is_some(),
    })
}

/// Reads a relay's JSON shape.
pub fn parse_json(j: InboundJson) -> Option<InboundMail> {
    if let Some(raw) = &j.raw {
        return parse_raw(raw.as_bytes());
    }
    let h = |name: &str| {
        j.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let text = j
        .text
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| {
            // HTML only: let the MIME parser turn it into text.
            j.html.as_ref().and_then(|html| {
                let raw = format!("Content-Type: text/html; charset=utf-8\r\n\r\n{html}");
                mail_parser::MessageParser::default()
                    .parse(raw.as_bytes())
                    .and_then(|m| m.body_text(0).map(|t| t.to_string()))
            })
        })?;
    Some(InboundMail {
        from: addr_of(j.from.as_deref()?),
        recipients: [
            j.to.clone(),
            j.cc.clone(),
            h("Delivered-To"),
            h("X-Original-To"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", "),
        thread: [
            j.in_reply_to.clone().or(h("In-Reply-To")),
            j.references.clone().or(h("References")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" "),
        message_id: j.message_id.clone().or(h("Message-ID")).unwrap_or_default(),
        text,
        automatic: is_automatic(h("Auto-Submitted").as_deref(), h("Precedence").as_deref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_mail_gives_sender_recipients_thread_and_text() {
        let raw = b"From: Eve <EVE@example.com>\r\nTo: Help <reply+abc@mail.example.com>\r\nSubject: Re: hi\r\nMessage-ID: <m1@example.com>\r\nIn-Reply-To: <kefu.x.1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThanks!\r\n\r\nOn Mon, Help wrote:\r\n> hi\r\n";
        let m = parse_raw(raw).unwrap();
        assert_eq!(m.from, "eve@example.com");
        assert!(m.recipients.contains("reply+abc@mail.example.com"));
        assert!(m.thread.contains("kefu.x.1@example.com"));
        assert_eq!(m.message_id, "m1@example.com");
        assert_eq!(super::super::quote::strip(&m.text), "Thanks!");
        assert!(!m.automatic);
    }

    #[test]
    fn auto_replies_are_recognised() {
        let raw = b"From: eve@example.com\r\nTo: reply+x@example.com\r\nAuto-Submitted: auto-replied\r\n\r\nI am away.";
        assert!(parse_raw(raw).unwrap().automatic);
    }

    #[test]
    fn json_shape_with_html_only_becomes_text() {
        let j = InboundJson {
            from: Some("Eve <eve@example.com>".into()),
            to: Some("reply+x@example.com".into()),
            html: Some("<p>Hello <b>there</b></p>".into()),
            ..Default::default()
        };
        let m = parse_json(j).unwrap();
        assert_eq!(m.from, "eve@example.com");
        assert!(
            m.text.contains("Hello") && m.text.contains("there"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("<b>"));
    }
}
