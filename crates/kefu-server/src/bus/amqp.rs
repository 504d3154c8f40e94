//! The AMQP 0-9-1 (RabbitMQ) adapter: each event is published to a durable
//! topic exchange with routing key `<workspace id>.<event type>`, persistent
//! (delivery mode 2), `message_id` = the event id, `content_type`
//! `application/json`, `type` = the event type, on a channel in confirm
//! mode; it counts as handed on once the broker has confirmed it (`ack`).
//!
//! A batch is pipelined on the one channel (RabbitMQ keeps a channel's
//! order), then the confirms are awaited in order, and only the leading
//! confirmed rows count. Any error drops the connection; the next batch
//! connects again.

use super::{Failed, Publisher, route, scrub, shown};
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

/// One connection and one confirm-mode channel, for the `bus:amqp` consumer.
pub struct Amqp {
    cfg: AmqpConfig,
    conn: Option<(Connection, Channel)>,
}

impl Amqp {
    pub fn new(cfg: AmqpConfig) -> Amqp {
        Amqp { cfg, conn: None }
    }

    /// The channel, connecting (and declaring the exchange) if there is no
    /// live one.
    async fn channel(&mut self) -> Result<Channel, String> {
        if let Some((conn, ch)) = &self.conn {
            if conn.status().connected() && ch.status().connected() {
                return Ok(ch.clone());
            }
            tracing::warn!(url = %shown(&self.cfg.url), "AMQP connection lost; reconnecting");
            self.conn = None;
        }
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
        let mut confirms = Vec::with_capacity(rows.len());
        let mut send_error = None;
        for row in rows {
            let e = &row.event;
            let mut headers = FieldTable::default();
            if let Some(c) = e.conversation_id() {
                headers.insert(
                    "kefu-conversation-id".into(),
                    AMQPValue::LongString(LongString::from(c)),
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
            let sent = ch
                .basic_publish(
                    self.cfg.exchange.as_str().into(),
                    route(e).into(),
                    BasicPublishOptions::default(),
                    row.payload.as_bytes(),
                    props,
                )
                .await;
            match sent {
                Ok(confirm) => confirms.push(confirm),
                Err(err) => {
                    // Nothing after it is sent, so nothing overtakes it.
                    send_error = Some(format!("publishing event {}: {err}", e.id));
                    break;
                }
            }
        }
        let mut confirmed = 0;
        for confirm in confirms {
            let reason = match confirm.await {
                Ok(Confirmation::Ack(_)) => {
                    confirmed += 1;
                    continue;
                }
                Ok(Confirmation::Nack(_)) => "the broker refused it (nack)".to_string(),
                Ok(Confirmation::NotRequested) => "the channel is not in confirm mode".to_string(),
                Err(err) => err.to_string(),
            };
            let id = &rows[confirmed].event.id;
            return Err(Failed {
                confirmed,
                reason: format!("AMQP did not confirm event {id}: {reason}"),
            });
        }
        match send_error {
            None => Ok(()),
            Some(reason) => Err(Failed { confirmed, reason }),
        }
    }
}

impl Publisher for Amqp {
    const CONSUMER: &'static str = "bus:amqp";

    async fn publish(&mut self, rows: &[OutboxRow]) -> Result<(), Failed> {
        let ch = self.channel().await.map_err(Failed::none)?;
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
