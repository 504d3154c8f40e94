//! The AMQP 0-9-1 (RabbitMQ) adapter: each event is published to a durable
//! topic exchange with routing key `<workspace id>.<event type>`, persistent
//! (delivery mode 2), `message_id` = the event id, `content_type`
//! `application/json`, `type` = the event type, on a channel in confirm
//! mode; it counts as handed on once the broker has confirmed it (`ack`).
//!
//! A batch is pipelined on the one channel (RabbitMQ keeps a channel's
//! order; `pipeline.rs`: no event is sent before the earlier ones of its
//! conversation are confirmed), the confirms are awaited in order, and only
//! the leading confirmed rows count. Any error drops the connection; the
//! next batch connects again. While the broker cannot be reached, `publish` keeps
//! trying to connect (every 0.5 s, backing off to every 5 s), so the events
//! wait in the outbox and go out within seconds of the broker's return.

use super::{Failed, Outage, Publisher, pipeline::publish_in_order, route, scrub, shown};
use crate::config::AmqpConfig;
use kefu_store::OutboxRow;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
};
use std::time::Duration;

/// Longest wait for a connection, or for a batch's confirms.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Pauses between connection attempts while the broker is unreachable.
const RECONNECT_FIRST: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// One connection and one confirm-mode channel, for the `bus:amqp` consumer.
pub struct Amqp {
    cfg: AmqpConfig,
    conn: Option<(Connection, Channel)>,
    outage: Outage,
}

impl Amqp {
    pub fn new(cfg: AmqpConfig) -> Amqp {
        Amqp {
            cfg,
            conn: None,
            outage: Outage::new(Self::CONSUMER),
        }
    }

    /// The live channel, connecting until it can (and declaring the
    /// exchange) if there is none.
    async fn channel(&mut self) -> Channel {
        if let Some((conn, ch)) = &self.conn {
            if conn.status().connected() && ch.status().connected() {
                return ch.clone();
            }
            tracing::warn!(url = %shown(&self.cfg.url), "AMQP connection lost; reconnecting");
            self.conn = None;
        }
        let mut pause = RECONNECT_FIRST;
        loop {
            match self.connect().await {
                Ok(ch) => {
                    self.outage.over();
                    return ch;
                }
                Err(why) => {
                    self.outage.still(&why);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RECONNECT_MAX);
                }
            }
        }
    }

    /// One attempt: a connection, a confirm-mode channel, the exchange.
    async fn connect(&mut self) -> Result<Channel, String> {
        let url = &self.cfg.url;
        let fail =
            |what: &str, e: lapin::Error| scrub(format!("{what} ({}): {e}", shown(url)), url);
        let props = ConnectionProperties::default().with_connection_name("kefu".into());
        let conn = tokio::time::timeout(TIMEOUT, Connection::connect(url.expose(), props))
            .await
            .map_err(|_| format!("connecting to AMQP at {}: timed out", shown(url)))?
            .map_err(|e| fail("connecting to AMQP", e))?;
        let ch = conn
            .create_channel()
            .await
            .map_err(|e| fail("opening an AMQP channel", e))?;
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| fail("enabling publisher confirms", e))?;
        if self.cfg.declare {
            ch.exchange_declare(
                self.cfg.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| fail(&format!("declaring exchange {}", self.cfg.exchange), e))?;
        }
        tracing::info!(url = %shown(url), exchange = %self.cfg.exchange, "AMQP connected");
        self.conn = Some((conn, ch.clone()));
        Ok(ch)
    }

    async fn send_all(&self, ch: &Channel, rows: &[OutboxRow]) -> Result<(), Failed> {
        publish_in_order(rows, |row| {
            let e = &row.event;
            let mut headers = FieldTable::default();
            if let Some(c) = e.conversation_id() {
                headers.insert(
                    "kefu-conversation-id".into(),
                    AMQPValue::LongString(LongString::from(c.as_str())),
                );
            }
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(ShortString::from(e.id.as_str()))
                .with_type(e.change.type_name().into())
                .with_timestamp(u64::try_from(e.occurred_at / 1000).unwrap_or(0))
                .with_app_id("kefu".into())
                .with_headers(headers);
            let sent = ch.basic_publish(
                self.cfg.exchange.as_str().into(),
                route(e).into(),
                BasicPublishOptions::default(),
                row.payload.as_bytes(),
                props,
            );
            async move {
                let confirm = sent.await.map_err(|e| e.to_string())?;
                Ok(async move {
                    match confirm.await {
                        Ok(Confirmation::Ack(_)) => Ok(()),
                        Ok(Confirmation::Nack(_)) => {
                            Err("refused by the broker (nack)".to_string())
                        }
                        Ok(Confirmation::NotRequested) => {
                            Err("the channel is not in confirm mode".to_string())
                        }
                        Err(err) => Err(err.to_string()),
                    }
                })
            }
        })
        .await
    }
}

impl Publisher for Amqp {
    const CONSUMER: &'static str = "bus:amqp";

    async fn publish(&mut self, rows: &[OutboxRow]) -> Result<(), Failed> {
        let ch = self.channel().await;
        let outcome = match tokio::time::timeout(TIMEOUT, self.send_all(&ch, rows)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failed::none(format!(
                "AMQP confirms did not come within {TIMEOUT:?}"
            ))),
        };
        if let Err(f) = outcome {
            // A fresh connection and channel next time: after a failure the
            // old channel's state (its confirm sequence) is not to be trusted.
            if let Some((conn, _)) = self.conn.take() {
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    conn.close(200, "kefu reconnects".into()),
                )
                .await;
            }
            return Err(Failed {
                reason: scrub(f.reason, &self.cfg.url),
                ..f
            });
        }
        Ok(())
    }
}
