-- The outbox: every event integrations may see, written in the same
-- transaction as the change it describes. `position` only grows in commit
-- order: writers take a transaction-scoped advisory lock before inserting
-- (see kefu-store's events.rs), so a reader never skips a row that commits
-- later with a smaller position. Each consumer (a webhook subscription, a
-- bus) keeps its own cursor in outbox_consumers.
CREATE TABLE outbox (
    position         BIGSERIAL PRIMARY KEY,
    id               TEXT NOT NULL,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT,
    type             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX outbox_created ON outbox(created_at);

CREATE TABLE outbox_consumers (
    name        TEXT PRIMARY KEY,
    position    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
