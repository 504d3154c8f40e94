//! The NATS JetStream adapter: each event is published to
//! `<subject_prefix>.<workspace id>.<event type>` with `Nats-Msg-Id` set to
//! the event id (JetStream drops a repeat within the stream's duplicate
//! window) and `Nats-Expected-Stream` set to the configured stream, and
//! counts as handed on once JetStream has acknowledged storing it.
//!
//! A batch is pipelined (`pipeline.rs`: no event is sent before the earlier
//! ones of its conversation are acknowledged), the acks are awaited in order,
//! and only the leading acknowledged rows count. The client is made on
//! the first batch, connects in the background and reconnects by itself
//! (at most 2 s between attempts); while it is not connected, `publish`
//! waits for it without sending anything, so the events wait in the outbox,
//! not in the client's memory. (What the client had buffered when a
//! connection dropped it sends after reconnecting: `pipeline.rs` keeps that
//! from reordering a conversation, and JetStream drops the repeats.)

use super::{Failed, Outage, Publisher, pipeline::publish_in_order, route, scrub, shown};
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
use std::{
    future::IntoFuture,
    sync::atomic::{AtomicBool, Ordering::Relaxed},
    time::Duration,
};

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
    outage: Outage,
}

impl Nats {
    pub fn new(cfg: NatsConfig) -> Nats {
        Nats {
            cfg,
            conn: None,
            stream_ready: false,
            outage: Outage::new(Self::CONSUMER),
        }
    }

    /// The client and its JetStream context once the client is connected
    /// (made, and connecting in the background, on first use).
    async fn context(&mut self) -> Result<(Client, jetstream::Context), String> {
        if self.conn.is_none() {
            self.conn = Some(self.client().await?);
        }
        let Some((client, js)) = &self.conn else {
            unreachable!("made above")
        };
        while client.connection_state() != State::Connected {
            self.outage.still(&format!(
                "NATS at {} not connected; the client keeps trying",
                shown(&self.cfg.url)
            ));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.outage.over();
        Ok((client.clone(), js.clone()))
    }

    /// A client that connects in the background and reconnects forever.
    async fn client(&mut self) -> Result<(Client, jetstream::Context), String> {
        let url = self.cfg.url.clone();
        let shown_url = shown(&url);
        let mut opts = ConnectOptions::new()
            .name("kefu")
            .connection_timeout(TIMEOUT)
            .retry_on_initial_connect()
            // Promptly back after a restart: 0, 0.25, 0.5, … capped at 2 s
            // (the client's default grows to 4 s).
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(250 * attempts.saturating_sub(1).min(8) as u64)
            })
            .event_callback(move |e| {
                let url = shown_url.clone();
                async move {
                    match e {
                        ClientEvent::Connected => tracing::info!(url = %url, "NATS connected"),
                        ClientEvent::Disconnected => {
                            tracing::warn!(url = %url, "NATS disconnected; reconnecting")
                        }
                        e @ (ClientEvent::ServerError(_) | ClientEvent::ClientError(_)) => {
                            tracing::warn!(url = %url, event = %e, "NATS error")
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
            .map_err(|e| scrub(format!("NATS at {}: {e}", shown(&url)), &url))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(TIMEOUT)
            .build(client.clone());
        self.stream_ready = false;
        Ok((client, js))
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

/// Resolves once `client` is no longer connected (polled: only one ack is
/// awaited at a time).
async fn disconnected(client: &Client) {
    while client.connection_state() == State::Connected {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Publisher for Nats {
    const CONSUMER: &'static str = "bus:nats";

    async fn publish(&mut self, rows: &[OutboxRow]) -> Result<(), Failed> {
        let (client, js) = self.context().await.map_err(Failed::none)?;
        self.ensure_stream(&js).await.map_err(Failed::none)?;
        let stream_missing = AtomicBool::new(false);
        let (prefix, stream, missing) =
            (&self.cfg.subject_prefix, &self.cfg.stream, &stream_missing);
        let outcome = publish_in_order(rows, |row| {
            let mut msg = PublishMessage::build()
                .payload(row.payload.clone().into())
                .message_id(&row.event.id)
                .expected_stream(stream);
            if let Some(c) = row.event.conversation_id() {
                msg = msg.header("Kefu-Conversation-Id", c.as_str());
            }
            let subject = format!("{prefix}.{}", route(&row.event));
            let (js, client) = (&js, &client);
            async move {
                let ack = js
                    .send_publish(subject, msg)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(async move {
                    tokio::select! {
                        acked = ack.into_future() => acked.map(|_| ()).map_err(|e| {
                            if e.kind() == PublishErrorKind::StreamNotFound {
                                missing.store(true, Relaxed);
                            }
                            e.to_string()
                        }),
                        // Not the 5 s ack timeout: the retry goes out once
                        // the client is back (JetStream drops the repeat if
                        // the message was stored after all).
                        _ = disconnected(client) => Err("the NATS connection dropped before the ack".to_string()),
                    }
                })
            }
        })
        .await;
        if stream_missing.load(Relaxed) {
            self.stream_ready = false;
        }
        outcome
    }
}
