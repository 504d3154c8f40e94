-- Outgoing webhooks: subscriptions per workspace, and one delivery per
-- (subscription, event) with its attempts. The dispatcher creates
-- deliveries in the same transaction that moves its outbox cursor, so an
-- event committed before a crash is delivered after the restart with the
-- same delivery id (the `webhook-id` header).
CREATE TABLE webhook_subscriptions (
    id                     TEXT PRIMARY KEY,
    workspace_id           TEXT NOT NULL REFERENCES workspaces(id),
    url                    TEXT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    -- JSON array of event type names; ["*"] is every type.
    event_types            TEXT NOT NULL,
    -- `whsec_<base64>`; during a rotation the previous one signs too until
    -- previous_secret_until (epoch ms).
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  INTEGER,
    active                 INTEGER NOT NULL DEFAULT 1,
    -- Set when sending is held (too many failures in a row, or by an admin).
    paused_at              INTEGER,
    pause_reason           TEXT,
    consecutive_failures   INTEGER NOT NULL DEFAULT 0,
    -- The outbox head when it was created: it hears of events after it only.
    start_position         INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_ws ON webhook_subscriptions(workspace_id, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    -- NULL for test deliveries.
    event_id         TEXT,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    -- pending (not tried yet), failed (will retry), delivered, dead.
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Attempts since it was created or last replayed (the retry schedule's step).
    round_attempts   INTEGER NOT NULL DEFAULT 0,
    -- When it is due (or, while being sent, when its lease runs out); NULL once settled.
    next_attempt_at  INTEGER,
    last_status      INTEGER,
    last_latency_ms  INTEGER,
    last_error       TEXT,
    last_response    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries(subscription_id, event_id);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries(subscription_id, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE next_attempt_at IS NOT NULL;

CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    -- The HTTP status, NULL when no answer came (refused, timeout, blocked).
    status       INTEGER,
    latency_ms   INTEGER NOT NULL,
    error        TEXT,
    response     TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
