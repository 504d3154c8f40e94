//! The SMTP connection (lettre on tokio with rustls), built once from
//! `[mail]`; lettre pools and reuses connections.

use super::config::{MailConfig, TlsMode};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
};
use std::time::Duration;

pub struct Transport {
    smtp: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// An SMTP failure; permanent ones (5xx) are not retried.
#[derive(Debug)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

/// A mail ready to go.
pub struct Outgoing {
    pub to: String,
    pub reply_to: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Transport {
    pub fn new(cfg: &MailConfig) -> Result<Transport, String> {
        let builder = match cfg.tls {
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
                .map_err(|e| format!("mail.host: {e}"))?,
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)
                .map_err(|e| format!("mail.host: {e}"))?,
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(Duration::from_millis(cfg.timeout_ms)));
        if !cfg.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                cfg.username.clone(),
                cfg.password.expose().to_string(),
            ));
        }
        let from = format!(
            "{} <{}>",
            cfg.from_name.replace(['<', '>', '"'], ""),
            cfg.from_address
        )
        .parse::<Mailbox>()
        .map_err(|e| format!("mail.from_address / from_name: {e}"))?;
        Ok(Transport {
            smtp: builder.build(),
            from,
        })
    }

    pub async fn send(&self, m: Outgoing) -> Result<(), SendError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| SendError {
            permanent: true,
            message: format!("{what}: {e}"),
        };
        let to: Mailbox = m.to.parse().map_err(|e| bad("recipient", &e))?;
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject)
            .message_id(m.message_id);
        if let Some(r) = m.reply_to {
            b = b.reply_to(r.parse().map_err(|e| bad("reply-to", &e))?);
        }
        if let Some(r) = m.in_reply_to {
            b = b.in_reply_to(r.clone()).references(r);
        }
        let msg = b
            .multipart(MultiPart::alternative_plain_html(m.text, m.html))
            .map_err(|e| bad("message", &e))?;
        self.smtp
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}
