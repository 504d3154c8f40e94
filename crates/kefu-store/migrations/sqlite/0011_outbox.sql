-- The outbox: every event integrations may see, written in the same
-- transaction as the change it describes. `position` only grows (SQLite has
-- one writer, so positions commit in order); each consumer (a webhook
-- subscription, a bus) keeps its own cursor in outbox_consumers.
CREATE TABLE outbox (
    position         INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT,
    type             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX outbox_created ON outbox(created_at);

CREATE TABLE outbox_consumers (
    name        TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
