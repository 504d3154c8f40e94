//! The NATS JetStream adapter: each event is published to
//! `<subject_prefix>.<workspace id>.<event type>` with `Nats-Msg-Id` set to
//! the event id (JetStream drops a repeat within the stream's duplicate
//! window) and `Nats-Expected-Stream` set to the configured stream, and
//! counts as handed on once JetStream has acknowledged storing it.
//!
//! A batch is pipelined: every publish is sent, then the acks are awaited in
//! order, and only the leading acknowledged rows count. The client is made on
//! the first batch and then reconnects by itself; while it is not connected a
//! batch fails at once (nothing is queued in the client), so the events wait
//! in the outbox rather than in memory.

use super::{Failed, Publisher, route, scrub, shown};
use crate::config::NatsConfig;
use async_nats::{
    Client, ConnectOptions, Event as ClientEvent,
    connection::State,
    jetstream::{
        self,
        context::PublishErrorKind,
        message::PublishMessage,
        stream::{Config as StreamConfig, StorageType},
    },
};
use kefu_store::OutboxRow;
use std::time::Duration;

/// Longest wait for a connection, an API answer or one publish ack.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The duplicate window of a stream kefu creates (JetStream's default).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// One NATS connection and the JetStream context over it, for the `bus:nats`
/// consumer.
pub struct Nats {
    cfg: NatsConfig,
    conn: Option<(Client, jetstream::Context)>,
    /// The stream was found or created on this connection (checked again
    /// after JetStream said there is none, e.g. a broker with a fresh store).
    stream_ready: bool,
}

impl Nats {
    pub fn new(cfg: NatsConfig) -> Nats {
        Nats {
            cfg,
            conn: None,
            stream_ready: false,
        }
    }

    /// The JetStream context, connecting first if there is none yet; an
    /// error while the client is (re)connecting.
    async fn context(&mut self) -> Result<jetstream::Context, String> {
        if let Some((client, js)) = &self.conn {
            return match client.connection_state() {
                State::Connected => Ok(js.clone()),
                state => Err(format!(
                    "NATS not connected ({state:?}); the client is reconnecting"
                )),
            };
        }
        let url = self.cfg.url.clone();
        let shown_url = shown(&url);
        let mut opts = ConnectOptions::new()
            .name("kefu")
            .connection_timeout(TIMEOUT)
            .event_callback(move |e| {
                let url = shown_url.clone();
                async move {
                    match e {
                        ClientEvent::Connected => tracing::info!(url = %url, "NATS connected"),
                        ClientEvent::Disconnected => {
                            tracing::warn!(url = %url, "NATS disconnected; reconnecting")
                        }
                        other => tracing::debug!(url = %url, event = %other, "NATS client event"),
                    }
                }
            });
        if !self.cfg.credentials_file.is_empty() {
            opts = opts
                .credentials_file(&self.cfg.credentials_file)
                .await
                .map_err(|e| format!("NATS credentials file {}: {e}", self.cfg.credentials_file))?;
        }
        let client = opts
            .connect(url.expose())
            .await
            .map_err(|e| scrub(format!("connecting to NATS at {}: {e}", shown(&url)), &url))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(TIMEOUT)
            .build(client.clone());
        self.stream_ready = false;
        self.conn = Some((client, js.clone()));
        Ok(js)
    }

    /// Makes sure the stream exists, when kefu is to create it.
    async fn ensure_stream(&mut self, js: &jetstream::Context) -> Result<(), String> {
        if self.stream_ready || !self.cfg.create_stream {
            return Ok(());
        }
        js.get_or_create_stream(StreamConfig {
            name: self.cfg.stream.clone(),
            subjects: vec![format!("{}.>", self.cfg.subject_prefix)],
            storage: StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            description: Some("kefu events (docs/integrations.md)".into()),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("creating JetStream stream {}: {e}", self.cfg.stream))?;
        tracing::info!(stream = %self.cfg.stream, "JetStream stream ready");
        self.stream_ready = true;
        Ok(())
    }
}

impl Publisher for Nats {
    const CONSUMER: &'static str = "bus:nats";

    async fn publish(&mut self, rows: &[OutboxRow]) -> Result<(), Failed> {
        let js = self.context().await.map_err(Failed::none)?;
        self.ensure_stream(&js).await.map_err(Failed::none)?;
        // Send them all, then collect the acks in order.
        let mut acks = Vec::with_capacity(rows.len());
        let mut send_error = None;
        for row in rows {
            let mut msg = PublishMessage::build()
                .payload(row.payload.clone().into())
                .message_id(&row.event.id)
                .expected_stream(&self.cfg.stream);
            if let Some(c) = row.event.conversation_id() {
                msg = msg.header("Kefu-Conversation-Id", c);
            }
            let subject = format!("{}.{}", self.cfg.subject_prefix, route(&row.event));
            match js.send_publish(subject, msg).await {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    // Nothing after it is sent, so nothing overtakes it.
                    send_error = Some(format!("publishing event {}: {e}", row.event.id));
                    break;
                }
            }
        }
        let mut confirmed = 0;
        for ack in acks {
            match ack.await {
                Ok(_) => confirmed += 1,
                Err(e) => {
                    if e.kind() == PublishErrorKind::StreamNotFound {
                        self.stream_ready = false;
                    }
                    let id = &rows[confirmed].event.id;
                    return Err(Failed {
                        confirmed,
                        reason: format!("JetStream did not acknowledge event {id}: {e}"),
                    });
                }
            }
        }
        match send_error {
            None => Ok(()),
            Some(reason) => Err(Failed { confirmed, reason }),
        }
    }
}
