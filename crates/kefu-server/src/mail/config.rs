//! `[mail]`: the SMTP server kefu sends through and the limits of its
//! e-mail features. With no `host`, e-mail is off and everything else works.

use crate::config::Secret;
use serde::{Deserialize, Serialize};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text (a relay on localhost only).
    None,
    /// Plain, then upgraded with STARTTLS (required; port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The SMTP server; empty turns e-mail off.
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Empty: no authentication.
    pub username: String,
    pub password: Secret,
    /// The sender address (`support@example.com`).
    pub from_address: String,
    /// The sender's display name.
    pub from_name: String,
    /// Where links in mails point (invitations, resets); empty: `public_url`.
    pub base_url: String,
    /// The domain of reply addresses (`reply+<token>@<domain>`) that the mail
    /// relay hands to `POST /api/v1/mail/inbound`; empty: the domain of
    /// `from_address` (replies then come back through that mailbox's relay).
    pub reply_domain: String,
    /// Longest wait for one SMTP session (connect, send), in milliseconds.
    pub timeout_ms: u64,
    /// An agent's reply waits this long before it is e-mailed to a visitor
    /// who is away; later replies within the wait go in the same mail.
    pub reply_delay_secs: u64,
    /// At most one transcript per conversation within this many seconds.
    pub transcript_interval_secs: u64,
    /// Most messages one mail carries (a transcript, a batch of replies).
    pub max_messages_per_mail: i64,
    /// Attempts before a mail is given up.
    pub max_attempts: i64,
    /// The wait after the first failed attempt, in milliseconds; each
    /// further failure doubles it, up to an hour.
    pub retry_base_ms: u64,
    /// How often the sender looks for due mails when nothing woke it, in milliseconds.
    pub poll_ms: u64,
    /// Invitation links work this long.
    pub invite_ttl_hours: u64,
    /// Password-reset links work this long.
    pub reset_ttl_minutes: u64,
    /// "Forgot password" mails per address per hour.
    pub resets_per_hour: i64,
    /// Largest body `POST /api/v1/mail/inbound` accepts.
    pub max_inbound_bytes: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            host: String::new(),
            port: 587,
            tls: TlsMode::Starttls,
            username: String::new(),
            password: Secret::default(),
            from_address: String::new(),
            from_name: "kefu".into(),
            base_url: String::new(),
            reply_domain: String::new(),
            timeout_ms: 15_000,
            reply_delay_secs: 120,
            transcript_interval_secs: 300,
            max_messages_per_mail: 200,
            max_attempts: 8,
            retry_base_ms: 30_000,
            poll_ms: 1000,
            invite_ttl_hours: 72,
            reset_ttl_minutes: 60,
            resets_per_hour: 3,
            max_inbound_bytes: 2 * 1024 * 1024,
        }
    }
}

impl MailConfig {
    /// Whether e-mail is on.
    pub fn enabled(&self) -> bool {
        !self.host.is_empty()
    }

    /// The domain reply addresses use.
    pub fn reply_domain(&self) -> &str {
        if !self.reply_domain.is_empty() {
            return &self.reply_domain;
        }
        self.from_address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("localhost")
    }

    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if !self.from_address.contains('@') {
            return Err("mail.from_address must be an e-mail address when mail.host is set".into());
        }
        for (k, v) in [
            ("mail.port", u64::from(self.port)),
            ("mail.timeout_ms", self.timeout_ms),
            ("mail.poll_ms", self.poll_ms),
            ("mail.retry_base_ms", self.retry_base_ms),
            ("mail.invite_ttl_hours", self.invite_ttl_hours),
            ("mail.reset_ttl_minutes", self.reset_ttl_minutes),
            ("mail.max_inbound_bytes", self.max_inbound_bytes as u64),
            ("mail.max_attempts", self.max_attempts.max(0) as u64),
            (
                "mail.max_messages_per_mail",
                self.max_messages_per_mail.max(0) as u64,
            ),
            ("mail.resets_per_hour", self.resets_per_hour.max(0) as u64),
        ] {
            if v == 0 {
                return Err(format!("{k} must be greater than 0"));
            }
        }
        Ok(())
    }
}
