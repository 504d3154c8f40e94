//! Configuration: a TOML file overridden by `KEFU_*` environment variables
//! (`KEFU_LISTEN`, `KEFU_LIMITS__MAX_FRAME_BYTES`, …), with defaults that make
//! `kefu serve` work with no file at all. kefu.example.toml documents every key.

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use std::{fmt, net::SocketAddr, path::PathBuf};

/// A secret string: shows as `***` in `Debug` (it has no `Display`), so it
/// cannot leak through logs or error messages; `expose` is the one way out.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "<unset>" } else { "***" })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP/WebSocket server listens on.
    pub listen: SocketAddr,
    /// The URL users reach kefu at (used in links and printed at start).
    pub public_url: String,
    /// Where the SQLite database, uploads and generated secrets live.
    pub data_dir: PathBuf,
    /// Empty: SQLite in the data dir. `postgres://…` switches to PostgreSQL.
    pub database_url: Secret,
    /// `text` or `json` logs.
    pub log_format: String,
    /// Proxies whose `X-Forwarded-For` is believed (CIDRs, e.g. `10.0.0.0/8`).
    pub trusted_proxies: Vec<String>,
    pub limits: Limits,
    pub auth: AuthConfig,
    pub store: StoreConfig,
    pub routing: RoutingConfig,
    pub outbox: OutboxConfig,
    pub bus: BusConfig,
    pub webhooks: WebhooksConfig,
    pub events: EventsConfig,
    /// E-mail (docs/email.md); off unless `mail.host` is set.
    pub mail: crate::mail::MailConfig,
    /// Web Push to the console (docs/push.md); on when a VAPID key exists.
    pub push: crate::push::PushConfig,
    /// The sensitive-word filter (docs/sensitive-words.md).
    pub sensitive: crate::sensitive::SensitiveConfig,
    /// The bot's optional models (docs/bot.md); all off by default.
    pub bot: crate::bot::config::BotConfig,
    pub secrets: Secrets,
}

/// Every limit kefu enforces, in one place.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket message accepted; larger ones close the connection with 1009.
    pub max_frame_bytes: usize,
    /// Longest message text, in characters.
    pub max_message_chars: usize,
    /// How long after sending an agent may delete their own message; 0: never.
    pub message_delete_secs: u64,
    /// Largest upload.
    pub max_upload_bytes: usize,
    /// Largest agent avatar (a PNG, JPEG, GIF or WebP picture).
    pub max_avatar_bytes: usize,
    /// Largest knowledge-base file an import accepts.
    pub max_kb_import_bytes: usize,
    /// Sensitive words one workspace may list (at most 100,000, the matcher's own limit).
    pub max_sensitive_words: usize,
    /// Longest sensitive word, in characters (at most 64, the matcher's own limit).
    pub max_sensitive_word_chars: usize,
    /// Largest sensitive-word list file an import accepts.
    pub max_sensitive_import_bytes: usize,
    /// Largest JSON request body.
    pub max_body_bytes: usize,
    /// Messages a visitor may send per minute (REST and WebSocket together).
    pub visitor_messages_per_minute: u32,
    /// Frames per second a WebSocket connection may send, and the burst above it.
    pub ws_frames_per_second: u32,
    pub ws_frame_burst: u32,
    /// Login attempts per minute per client address and per email.
    pub login_attempts_per_minute: u32,
    /// Widget sessions (new or resumed visitors) per minute per client address.
    pub widget_sessions_per_minute: u32,
    /// Typing indicators one sender may post over HTTP per minute (the SSE fallback).
    pub http_typing_per_minute: u32,
    /// Frames queued for one connection before it counts as a slow consumer
    /// and is disconnected (it then resumes from its last `seq`).
    pub ws_queue_frames: usize,
    /// The same for agent and API-key connections, which carry the whole
    /// workspace's traffic and so need more room for bursts.
    pub ws_agent_queue_frames: usize,
    /// WebSocket read and write buffer sizes per connection.
    pub ws_read_buffer_bytes: usize,
    pub ws_write_buffer_bytes: usize,
    /// The server pings this often; a connection silent for `idle_timeout_secs` is closed.
    pub heartbeat_secs: u64,
    pub idle_timeout_secs: u64,
    /// Time a new connection has to authenticate.
    pub auth_timeout_secs: u64,
    /// Open TCP connections this process keeps, of every kind (HTTP
    /// keep-alive, WebSocket, SSE, ones still silent). The effective cap is
    /// also held below the open-file limit minus `reserved_file_descriptors`.
    pub max_connections: usize,
    /// Of `max_connections`, the last ones are kept for health checks, the
    /// console and logins: past `max_connections - reserved_connections`
    /// other requests are refused (503 / WebSocket close 1013).
    pub reserved_connections: usize,
    /// Open connections from one client address (an IPv6 client: its /64).
    pub max_connections_per_ip: usize,
    /// New connections per second from one client address, and the burst above it.
    pub connections_per_ip_per_second: u32,
    pub connections_per_ip_burst: u32,
    /// File descriptors kept free for the database, log files and uploads:
    /// the connection cap never goes above `ulimit -n` minus this.
    pub reserved_file_descriptors: usize,
    /// A new connection must send its first byte within this many seconds.
    pub first_byte_timeout_secs: u64,
    /// A request head (request line and headers) must be complete this many
    /// seconds after its first byte.
    pub header_timeout_secs: u64,
    /// An HTTP connection with no request in flight is closed after this many seconds.
    pub keep_alive_idle_secs: u64,
    /// A request body that brings no byte for this many seconds is cut (408).
    pub body_stall_secs: u64,
    /// After `body_grace_secs`, a request body must have come at no less than
    /// this average rate (bytes per second), or it is cut (408): a slow upload
    /// of a big file works, a trickle meant to hold the connection does not.
    pub body_min_bytes_per_sec: u64,
    pub body_grace_secs: u64,
    /// A write towards a client that makes no progress for this many seconds
    /// (the client stopped reading) closes the connection.
    pub write_stall_secs: u64,
    /// Seconds a refused client is asked to wait (`Retry-After`).
    pub retry_after_secs: u64,
    /// The budget of every idle stage (first byte, head, keep-alive) while
    /// the process is in its reserved headroom, and of refused and headroom
    /// connections always.
    pub pressure_idle_secs: u64,
    /// Attributes a contact may have (the widget's `identify` and pre-chat form).
    pub max_contact_attributes: usize,
    /// Longest attribute value (and contact name), in characters.
    pub max_attribute_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 * 1024,
            max_message_chars: 5000,
            message_delete_secs: 120,
            max_upload_bytes: 10 * 1024 * 1024,
            max_avatar_bytes: 1024 * 1024,
            max_kb_import_bytes: 32 * 1024 * 1024,
            max_sensitive_words: 10_000,
            max_sensitive_word_chars: 64,
            max_sensitive_import_bytes: 1024 * 1024,
            max_body_bytes: 256 * 1024,
            visitor_messages_per_minute: 60,
            ws_frames_per_second: 20,
            ws_frame_burst: 60,
            login_attempts_per_minute: 10,
            widget_sessions_per_minute: 30,
            http_typing_per_minute: 60,
            ws_queue_frames: 256,
            ws_agent_queue_frames: 4096,
            ws_read_buffer_bytes: 4 * 1024,
            ws_write_buffer_bytes: 4 * 1024,
            heartbeat_secs: 25,
            idle_timeout_secs: 75,
            auth_timeout_secs: 10,
            max_connections: 19_000,
            reserved_connections: 64,
            max_connections_per_ip: 256,
            connections_per_ip_per_second: 50,
            connections_per_ip_burst: 200,
            reserved_file_descriptors: 128,
            first_byte_timeout_secs: 10,
            header_timeout_secs: 10,
            keep_alive_idle_secs: 60,
            body_stall_secs: 20,
            body_min_bytes_per_sec: 512,
            body_grace_secs: 10,
            write_stall_secs: 30,
            retry_after_secs: 5,
            pressure_idle_secs: 2,
            max_contact_attributes: 50,
            max_attribute_chars: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of an agent's access token.
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token (each use rotates it).
    pub refresh_ttl_secs: u64,
    /// Lifetime of a visitor token.
    pub visitor_ttl_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            visitor_ttl_secs: 365 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Most writes the SQLite writer commits together.
    pub max_batch: usize,
    pub pool_size: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let d = kefu_store::StoreOptions::default();
        StoreConfig {
            max_batch: d.max_batch,
            pool_size: d.pool_size,
        }
    }
}

/// Routing rules from a file (GitOps): watched, and every valid change is
/// saved as the workspace's next rule set version and applies at once; an
/// invalid one is logged with line:column and the running set stays.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Empty: rules are edited in the console / API only.
    pub rules_file: String,
    /// The workspace (by name) the file's rules are for.
    pub rules_workspace: String,
    /// How often the file is checked for changes, in milliseconds.
    pub rules_poll_ms: u64,
    /// How often waiting conversations are checked against their group's
    /// queue timeout, in milliseconds.
    pub queue_check_ms: u64,
    /// `customer.recent_events` holds the types of the contact's business
    /// events that happened in this many days.
    pub recent_events_days: u32,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            rules_file: String::new(),
            rules_workspace: "Default".into(),
            rules_poll_ms: 2000,
            queue_check_ms: 5000,
            recent_events_days: 7,
        }
    }
}

/// The outbox integrations read from (webhooks, the event bus).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Events older than this that every consumer has passed are deleted.
    /// Events a consumer still needs are kept however old they are.
    pub retention_hours: u64,
    /// How often a consumer looks for new events when nothing woke it (other
    /// nodes' events on a shared PostgreSQL), in milliseconds.
    pub poll_ms: u64,
    /// Most events a consumer takes in one read.
    pub batch: i64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            retention_hours: 72,
            poll_ms: 1000,
            batch: 256,
        }
    }
}

/// Outgoing webhooks (see docs/integrations.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allow destinations in loopback, private, link-local, CGNAT and
    /// metadata ranges. Off: such URLs are refused (422) and connections to
    /// names resolving there fail.
    pub allow_private_networks: bool,
    /// Longest wait for one attempt (connect, send, answer), in milliseconds.
    pub timeout_ms: u64,
    /// Waits before each retry after a failed attempt, in milliseconds; when
    /// they run out the delivery is dead. The default spreads ten attempts
    /// over about three days.
    pub retry_schedule_ms: Vec<u64>,
    /// Each wait varies by up to this percentage either way, so receivers
    /// coming back are not hit by every retry at once.
    pub retry_jitter_percent: u64,
    /// Failed attempts in a row (across its deliveries, with no success in
    /// between) after which a subscription is paused until an admin resumes it.
    pub pause_after_failures: i64,
    /// After a secret rotation, the previous secret also signs for this long.
    pub rotation_overlap_secs: u64,
    /// Bytes of a receiver's answer kept in the delivery log (at most 1024).
    pub max_response_bytes: usize,
    /// Deliveries sent at once by this process.
    pub concurrency: usize,
    /// How often the sender looks for due deliveries when nothing woke it, in milliseconds.
    pub poll_ms: u64,
    /// Delivered and dead deliveries are deleted from the log after this many days.
    pub delivery_retention_days: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_private_networks: false,
            timeout_ms: 15_000,
            // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h: about 71.6 h.
            retry_schedule_ms: vec![
                5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000,
                72_000_000, 72_000_000,
            ],
            retry_jitter_percent: 20,
            pause_after_failures: 100,
            rotation_overlap_secs: 24 * 3600,
            max_response_bytes: 1024,
            concurrency: 16,
            poll_ms: 1000,
            delivery_retention_days: 30,
        }
    }
}

/// Incoming business events (`POST /api/v1/events`): their limits and how
/// signed requests are checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Largest request body (413 `payload_too_large` above it).
    pub max_body_bytes: usize,
    /// Largest `data` object, as JSON (422 `data_too_large`).
    pub max_data_bytes: usize,
    /// Longest `title`, in characters (422 `bad_title`).
    pub max_title_chars: usize,
    /// How far `webhook-timestamp` may be from the server's clock (401 `stale_signature`).
    pub signature_tolerance_secs: u64,
    /// After the signing secret is rotated, the previous one still verifies this long.
    pub secret_grace_secs: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            max_body_bytes: 64 * 1024,
            max_data_bytes: 16 * 1024,
            max_title_chars: 200,
            signature_tolerance_secs: 300,
            secret_grace_secs: 24 * 3600,
        }
    }
}

/// The event bus: the outbox's events published to message brokers, each
/// switched on on its own (docs/integrations.md, "Event bus").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    pub nats: NatsConfig,
    pub amqp: AmqpConfig,
}

/// NATS JetStream: subject `<subject_prefix>.<workspace id>.<event type>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    pub enabled: bool,
    /// `nats://host:4222`; a user and password (`nats://user:pass@host`) or a
    /// token (`nats://token@host`) may be in it. Logged with the password masked.
    pub url: Secret,
    /// The JetStream stream the events are published into (checked with
    /// `Nats-Expected-Stream`).
    pub stream: String,
    /// Create the stream (subjects `<subject_prefix>.>`, file storage) when it
    /// does not exist. `false`: an operator manages it.
    pub create_stream: bool,
    pub subject_prefix: String,
    /// A NATS credentials file (`.creds`: user JWT and NKey seed). Empty: none.
    pub credentials_file: String,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            enabled: false,
            url: Secret::new("nats://127.0.0.1:4222"),
            stream: "KEFU_EVENTS".into(),
            create_stream: true,
            subject_prefix: "kefu".into(),
            credentials_file: String::new(),
        }
    }
}

/// RabbitMQ (AMQP 0-9-1): a durable topic exchange, routing key
/// `<workspace id>.<event type>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpConfig {
    pub enabled: bool,
    /// `amqp://user:pass@host:5672/<vhost>` (`%2f` is the default vhost `/`;
    /// `amqps://` for TLS). Logged with the password masked.
    pub url: Secret,
    pub exchange: String,
    /// Declare the exchange (durable, topic) at connect. `false`: it must exist.
    pub declare: bool,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            enabled: false,
            url: Secret::new("amqp://127.0.0.1:5672/%2f"),
            exchange: "kefu.events".into(),
            declare: true,
        }
    }
}

impl BusConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        let n = &self.nats;
        if n.enabled {
            if cfg!(not(feature = "nats")) {
                return bad("bus.nats.enabled: this kefu was built without the `nats` feature");
            }
            let token_ok = |t: &str| {
                !t.is_empty() && !t.contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
            };
            if !n.subject_prefix.split('.').all(token_ok) {
                return bad(
                    "bus.nats.subject_prefix must be dot-separated NATS tokens without wildcards or spaces",
                );
            }
            if n.stream.is_empty()
                || n.stream
                    .contains(|c: char| c.is_whitespace() || ".*>/\\".contains(c))
            {
                return bad(
                    "bus.nats.stream must be a non-empty name without spaces, '.', '*', '>', '/' or '\\'",
                );
            }
        }
        let a = &self.amqp;
        if a.enabled {
            if cfg!(not(feature = "amqp")) {
                return bad("bus.amqp.enabled: this kefu was built without the `amqp` feature");
            }
            if a.exchange.is_empty() {
                return bad("bus.amqp.exchange must not be empty");
            }
        }
        Ok(())
    }
}

/// Secrets; generated into `<data_dir>/secrets.toml` on first start when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Secrets {
    /// Signs access and visitor tokens (HS256).
    pub token_key: Secret,
    /// Identifies this server to browsers' push services (VAPID, RFC 8292):
    /// base64url of the 32-byte P-256 private scalar, the format
    /// `web-push generate-vapid-keys` and most Web Push libraries print.
    /// Browsers bind each subscription to its public half, so changing it
    /// silently ends every subscription.
    pub vapid_private_key: Secret,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            data_dir: PathBuf::from("./data"),
            database_url: Secret::default(),
            log_format: "text".into(),
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            auth: AuthConfig::default(),
            store: StoreConfig::default(),
            routing: RoutingConfig::default(),
            outbox: OutboxConfig::default(),
            bus: BusConfig::default(),
            webhooks: WebhooksConfig::default(),
            events: EventsConfig::default(),
            mail: crate::mail::MailConfig::default(),
            push: crate::push::PushConfig::default(),
            sensitive: crate::sensitive::SensitiveConfig::default(),
            bot: crate::bot::config::BotConfig::default(),
            secrets: Secrets::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then the file (if any), then `KEFU_*` variables.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            fig = fig.merge(Toml::file(path));
        }
        // KEFU_CONFIG and KEFU_USER_PASSWORD belong to the command line, not the file.
        fig = fig.merge(
            Env::prefixed("KEFU_")
                .split("__")
                .filter(|k| !(k == "config" || k == "user_password")),
        );
        let mut cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.validate()?;
        if cfg.public_url.is_empty() {
            cfg.public_url = format!("http://{}", cfg.listen);
        }
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let positive = [
            ("limits.max_frame_bytes", l.max_frame_bytes),
            ("limits.max_message_chars", l.max_message_chars),
            ("limits.max_upload_bytes", l.max_upload_bytes),
            ("limits.max_avatar_bytes", l.max_avatar_bytes),
            ("limits.max_kb_import_bytes", l.max_kb_import_bytes),
            ("limits.max_sensitive_words", l.max_sensitive_words),
            (
                "limits.max_sensitive_word_chars",
                l.max_sensitive_word_chars,
            ),
            (
                "limits.max_sensitive_import_bytes",
                l.max_sensitive_import_bytes,
            ),
            ("limits.max_body_bytes", l.max_body_bytes),
            ("limits.ws_queue_frames", l.ws_queue_frames),
            ("limits.ws_agent_queue_frames", l.ws_agent_queue_frames),
            ("limits.max_connections", l.max_connections),
            ("limits.max_contact_attributes", l.max_contact_attributes),
            ("limits.max_attribute_chars", l.max_attribute_chars),
            ("limits.ws_read_buffer_bytes", l.ws_read_buffer_bytes),
            ("limits.ws_write_buffer_bytes", l.ws_write_buffer_bytes),
            ("limits.max_connections_per_ip", l.max_connections_per_ip),
        ];
        for (k, v) in positive {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{k} must be greater than 0")));
            }
        }
        // The matcher compiles no more than these (kefu-bot's own limits).
        for (k, v, max) in [
            (
                "limits.max_sensitive_words",
                l.max_sensitive_words,
                kefu_bot::sensitive::MAX_WORDS,
            ),
            (
                "limits.max_sensitive_word_chars",
                l.max_sensitive_word_chars,
                kefu_bot::sensitive::MAX_WORD_CHARS,
            ),
        ] {
            if v > max {
                return Err(ConfigError::Invalid(format!("{k} must be at most {max}")));
            }
        }
        if self.sensitive.recheck_ms == 0 {
            return Err(ConfigError::Invalid(
                "sensitive.recheck_ms must be greater than 0".into(),
            ));
        }
        if l.visitor_messages_per_minute == 0
            || l.ws_frames_per_second == 0
            || l.login_attempts_per_minute == 0
        {
            return Err(ConfigError::Invalid(
                "rate limits must be greater than 0".into(),
            ));
        }
        for (k, v) in [
            ("limits.heartbeat_secs", l.heartbeat_secs),
            ("limits.auth_timeout_secs", l.auth_timeout_secs),
            ("limits.ws_frame_burst", l.ws_frame_burst as u64),
            ("limits.first_byte_timeout_secs", l.first_byte_timeout_secs),
            ("limits.header_timeout_secs", l.header_timeout_secs),
            ("limits.keep_alive_idle_secs", l.keep_alive_idle_secs),
            ("limits.body_stall_secs", l.body_stall_secs),
            ("limits.write_stall_secs", l.write_stall_secs),
            ("limits.pressure_idle_secs", l.pressure_idle_secs),
            (
                "limits.connections_per_ip_per_second",
                l.connections_per_ip_per_second as u64,
            ),
            (
                "limits.connections_per_ip_burst",
                l.connections_per_ip_burst as u64,
            ),
            (
                "limits.widget_sessions_per_minute",
                l.widget_sessions_per_minute as u64,
            ),
            (
                "limits.http_typing_per_minute",
                l.http_typing_per_minute as u64,
            ),
            ("auth.access_ttl_secs", self.auth.access_ttl_secs),
            ("auth.refresh_ttl_secs", self.auth.refresh_ttl_secs),
            ("auth.visitor_ttl_secs", self.auth.visitor_ttl_secs),
            ("store.max_batch", self.store.max_batch as u64),
            ("store.pool_size", self.store.pool_size as u64),
            ("events.max_body_bytes", self.events.max_body_bytes as u64),
            ("events.max_data_bytes", self.events.max_data_bytes as u64),
            ("events.max_title_chars", self.events.max_title_chars as u64),
            (
                "events.signature_tolerance_secs",
                self.events.signature_tolerance_secs,
            ),
            (
                "routing.recent_events_days",
                u64::from(self.routing.recent_events_days),
            ),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{k} must be greater than 0")));
            }
        }
        if l.body_min_bytes_per_sec > 0 && l.body_grace_secs == 0 {
            return Err(ConfigError::Invalid(
                "limits.body_grace_secs must be greater than 0 when limits.body_min_bytes_per_sec is set".into(),
            ));
        }
        if l.reserved_connections >= l.max_connections {
            return Err(ConfigError::Invalid(
                "limits.reserved_connections must be below limits.max_connections".into(),
            ));
        }
        if l.idle_timeout_secs <= l.heartbeat_secs {
            return Err(ConfigError::Invalid(
                "limits.idle_timeout_secs must exceed limits.heartbeat_secs".into(),
            ));
        }
        let w = &self.webhooks;
        if w.timeout_ms == 0 || w.concurrency == 0 || w.poll_ms == 0 || w.pause_after_failures <= 0
        {
            return Err(ConfigError::Invalid(
                "webhooks.timeout_ms, concurrency, poll_ms and pause_after_failures must be greater than 0".into(),
            ));
        }
        if w.max_response_bytes > 1024 || w.retry_jitter_percent > 100 {
            return Err(ConfigError::Invalid(
                "webhooks.max_response_bytes is at most 1024 and retry_jitter_percent at most 100"
                    .into(),
            ));
        }
        self.bus.validate()?;
        self.mail.validate().map_err(ConfigError::Invalid)?;
        self.push.validate().map_err(ConfigError::Invalid)?;
        self.bot.validate().map_err(ConfigError::Invalid)?;
        for p in &self.trusted_proxies {
            crate::client_ip::parse_net(p)
                .map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))?;
        }
        Ok(())
    }

    /// The database URL, defaulting to SQLite in the data dir.
    pub fn database_url(&self) -> Secret {
        if self.database_url.is_empty() {
            Secret::new(format!(
                "sqlite://{}",
                self.data_dir.join("kefu.db").display()
            ))
        } else {
            self.database_url.clone()
        }
    }

    /// Creates the data dir and fills in secrets that were not configured,
    /// generating them once into `<data_dir>/secrets.toml` (mode 0600). A
    /// secret added in a later version (the VAPID key) is generated on the
    /// first start of that version and added to the file, keeping the others.
    pub fn prepare_data_dir(&mut self) -> Result<(), ConfigError> {
        let dir = self.data_dir.clone();
        let io = |source| ConfigError::DataDir {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::create_dir_all(dir.join("uploads")).map_err(io)?;
        if !self.secrets.token_key.is_empty() && !self.secrets.vapid_private_key.is_empty() {
            return Ok(());
        }
        let path = dir.join("secrets.toml");
        let existed = path.exists();
        let mut stored: Secrets = if existed {
            Figment::from(Toml::file(&path))
                .extract()
                .map_err(Box::new)?
        } else {
            Secrets::default()
        };
        let mut generated = false;
        if self.secrets.token_key.is_empty() && stored.token_key.is_empty() {
            if existed {
                // Someone emptied it: a new one would log everybody out
                // without saying why, so say it instead.
                return Err(ConfigError::Invalid(format!(
                    "{} has no token_key",
                    path.display()
                )));
            }
            stored.token_key = Secret::new(crate::auth::tokens::random_token(32));
            generated = true;
        }
        if self.secrets.vapid_private_key.is_empty() && stored.vapid_private_key.is_empty() {
            stored.vapid_private_key = Secret::new(crate::push::VapidKey::generate());
            generated = true;
        }
        if generated {
            let text = secrets_file(&[
                ("token_key", stored.token_key.expose()),
                ("vapid_private_key", stored.vapid_private_key.expose()),
            ]);
            if existed {
                replace_private(&path, &text).map_err(io)?;
            } else {
                write_private(&path, &text).map_err(io)?;
            }
        }
        if self.secrets.token_key.is_empty() {
            self.secrets.token_key = stored.token_key;
        }
        if self.secrets.vapid_private_key.is_empty() {
            self.secrets.vapid_private_key = stored.vapid_private_key;
        }
        Ok(())
    }
}

/// The text of `secrets.toml`: the given keys, empty ones left out (a key
/// configured elsewhere is not copied into the file).
fn secrets_file(entries: &[(&str, &str)]) -> String {
    let mut text = String::from(
        "# Generated by kefu on first start. Keep private; back it up with the database.\n",
    );
    for (key, value) in entries.iter().filter(|(_, v)| !v.is_empty()) {
        text.push_str(&format!("{key} = \"{value}\"\n"));
    }
    text
}

/// Rewrites a private file whole: a new file (mode 0600) renamed over the
/// old, so a crash leaves either the old secrets or the new, never half.
fn replace_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("toml.new");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.secrets.token_key = Secret::new("hunter2");
        c.secrets.vapid_private_key = Secret::new("vapidpriv");
        c.database_url = Secret::new("postgres://u:pw@h/db");
        c.bus.nats.url = Secret::new("nats://u:natspw@h:4222");
        c.bus.amqp.url = Secret::new("amqp://u:amqppw@h:5672/%2f");
        let s = format!("{c:?}");
        assert!(!s.contains("natspw") && !s.contains("amqppw"), "{s}");
        assert!(!s.contains("hunter2") && !s.contains("pw@"), "{s}");
        assert!(!s.contains("vapidpriv"), "{s}");
    }

    #[test]
    fn example_file_is_valid_and_matches_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kefu.example.toml");
        let c = Config::load(Some(&path)).expect("kefu.example.toml loads");
        let d = Config::default();
        assert_eq!(
            format!("{:?}", c.limits),
            format!("{:?}", d.limits),
            "the example documents the defaults"
        );
        assert_eq!(format!("{:?}", c.auth), format!("{:?}", d.auth));
        assert_eq!(format!("{:?}", c.webhooks), format!("{:?}", d.webhooks));
        assert_eq!(format!("{:?}", c.outbox), format!("{:?}", d.outbox));
        assert_eq!(format!("{:?}", c.events), format!("{:?}", d.events));
        assert_eq!(format!("{:?}", c.mail), format!("{:?}", d.mail));
        assert_eq!(format!("{:?}", c.push), format!("{:?}", d.push));
        assert_eq!(format!("{:?}", c.sensitive), format!("{:?}", d.sensitive));
        assert_eq!(c.routing.recent_events_days, d.routing.recent_events_days);
        assert_eq!(c.listen, d.listen);
        assert_eq!(format!("{:?}", c.bus), format!("{:?}", d.bus));
        assert_eq!(c.bus.nats.url, d.bus.nats.url);
        assert_eq!(c.bus.amqp.url, d.bus.amqp.url);
    }

    #[test]
    fn mail_settings_are_checked_when_a_host_is_set() {
        let mut c = Config::default();
        c.mail.host = "smtp.example.com".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("mail.from_address"), "{e}");
        c.mail.from_address = "support@example.com".into();
        c.validate().unwrap();
        assert_eq!(c.mail.reply_domain(), "example.com");
        c.mail.poll_ms = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("mail.poll_ms")
        );
        // Off: nothing else is checked.
        let mut off = Config::default();
        off.mail.poll_ms = 0;
        off.validate().unwrap();
    }

    #[test]
    fn secrets_are_generated_once_and_added_to_an_older_file() {
        let dir = tempfile::tempdir().unwrap();
        let load = || {
            let mut c = Config {
                data_dir: dir.path().to_path_buf(),
                ..Config::default()
            };
            c.prepare_data_dir().unwrap();
            c
        };
        let first = load();
        let key = crate::push::VapidKey::from_base64url(first.secrets.vapid_private_key.expose())
            .expect("a usable VAPID key");
        let again = load();
        assert_eq!(again.secrets, first.secrets, "generated once, then read");
        let reloaded =
            crate::push::VapidKey::from_base64url(again.secrets.vapid_private_key.expose())
                .unwrap();
        assert_eq!(reloaded.public_key(), key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets.toml"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // A data dir from before push: its token_key stays, a VAPID key is added.
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, "token_key = \"old-key\"\n").unwrap();
        let upgraded = load();
        assert_eq!(upgraded.secrets.token_key.expose(), "old-key");
        assert!(!upgraded.secrets.vapid_private_key.is_empty());
        assert_ne!(
            upgraded.secrets.vapid_private_key,
            first.secrets.vapid_private_key
        );
        assert_eq!(load().secrets, upgraded.secrets);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("token_key = \"old-key\""), "{text}");

        // Configured keys win and are not copied into the file.
        let fresh = tempfile::tempdir().unwrap();
        let mut c = Config {
            data_dir: fresh.path().to_path_buf(),
            ..Config::default()
        };
        c.secrets.vapid_private_key = Secret::new(crate::push::VapidKey::generate());
        let given = c.secrets.vapid_private_key.clone();
        c.prepare_data_dir().unwrap();
        assert_eq!(c.secrets.vapid_private_key, given);
        let text = std::fs::read_to_string(fresh.path().join("secrets.toml")).unwrap();
        assert!(
            text.contains("token_key") && !text.contains("vapid"),
            "{text}"
        );
    }

    #[test]
    fn bus_settings_are_checked_when_enabled() {
        let mut c = Config::default();
        c.bus.nats.subject_prefix = "a..b".into();
        c.bus.amqp.exchange = String::new();
        assert!(c.validate().is_ok(), "disabled buses are not checked");
        c.bus.nats.enabled = true;
        for bad in ["a..b", "kefu.>", "ke fu", ""] {
            c.bus.nats.subject_prefix = bad.into();
            assert!(c.validate().is_err(), "{bad}");
        }
        c.bus.nats.subject_prefix = "acme.kefu".into();
        c.bus.nats.stream = "A.B".into();
        assert!(c.validate().is_err());
        c.bus.nats.stream = "KEFU_EVENTS".into();
        assert_eq!(c.validate().is_ok(), cfg!(feature = "nats"));
        c.bus.nats.enabled = false;
        c.bus.amqp.enabled = true;
        assert!(c.validate().is_err());
        c.bus.amqp.exchange = "kefu.events".into();
        assert_eq!(c.validate().is_ok(), cfg!(feature = "amqp"));
    }

    #[test]
    fn env_overrides_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "kefu.toml",
                "listen = \"127.0.0.1:9000\"\n[limits]\nmax_frame_bytes = 1000\n",
            )?;
            jail.set_env("KEFU_LIMITS__MAX_FRAME_BYTES", "2000");
            let c =
                Config::load(Some(std::path::Path::new("kefu.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.limits.max_frame_bytes, 2000);
            assert_eq!(c.public_url, "http://127.0.0.1:9000");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kefu.toml", "lisen = \"x\"\n")?;
            let e = Config::load(Some(std::path::Path::new("kefu.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("lisen"), "{e}");
            for bad in [
                "[limits]\nmax_frame_bytes = 0\n",
                "[limits]\nheartbeat_secs = 0\n",
                "[store]\nmax_batch = 0\n",
                "trusted_proxies = [\"x\"]\n",
                "[push]\nsubject = \"http://kefu.example.com\"\n",
                "[push]\nmax_attempts = 0\n",
                "[push]\nttl_secs = 99999999\n",
            ] {
                jail.create_file("kefu.toml", bad)?;
                assert!(
                    Config::load(Some(std::path::Path::new("kefu.toml"))).is_err(),
                    "{bad}"
                );
            }
            Ok(())
        });
    }
}
