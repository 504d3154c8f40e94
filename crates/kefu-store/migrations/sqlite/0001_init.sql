-- kefu schema v1. Times are epoch milliseconds (INTEGER), ids are UUIDv7 text:
-- the same representation as the PostgreSQL schema, so the SQL is shared.
CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    capacity      INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'offline',
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_workspace ON users(workspace_id, id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    refresh_hash  TEXT NOT NULL UNIQUE,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    revoked_at    INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE INDEX api_keys_workspace ON api_keys(workspace_id, id);

CREATE TABLE inboxes (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    name            TEXT NOT NULL,
    public_key      TEXT NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    welcome_text    TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX inboxes_workspace ON inboxes(workspace_id, id);

CREATE TABLE contacts (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    inbox_id      TEXT NOT NULL REFERENCES inboxes(id),
    external_id   TEXT,
    name          TEXT,
    email         TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    page_url      TEXT,
    referrer      TEXT,
    language      TEXT,
    user_agent    TEXT,
    ip            TEXT,
    last_seen_at  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX contacts_workspace ON contacts(workspace_id, id);

CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id),
    inbox_id          TEXT NOT NULL REFERENCES inboxes(id),
    contact_id        TEXT NOT NULL REFERENCES contacts(id),
    status            TEXT NOT NULL,
    assignee_id       TEXT REFERENCES users(id),
    last_seq          INTEGER NOT NULL DEFAULT 0,
    last_activity_at  INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX conversations_list ON conversations(workspace_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations(contact_id, id);
-- A visitor has at most one active conversation per inbox: their next message lands there.
CREATE UNIQUE INDEX conversations_one_active ON conversations(contact_id, inbox_id) WHERE status IN ('open', 'pending');

CREATE TABLE messages (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    seq              INTEGER NOT NULL,
    sender_kind      TEXT NOT NULL,
    sender_id        TEXT NOT NULL,
    client_msg_id    TEXT,
    kind             TEXT NOT NULL,
    content          TEXT NOT NULL,
    attachment       TEXT,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_seq ON messages(conversation_id, seq);
CREATE UNIQUE INDEX messages_dedupe ON messages(sender_id, client_msg_id);

CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    kind             TEXT NOT NULL,
    actor_kind       TEXT NOT NULL,
    actor_id         TEXT NOT NULL,
    data             TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX events_conversation ON events(conversation_id, id);

CREATE TABLE conversation_reads (
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    reader_id        TEXT NOT NULL,
    reader_kind      TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, reader_id)
);

CREATE TABLE attachments (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    uploader_kind  TEXT NOT NULL,
    uploader_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    storage_key    TEXT NOT NULL,
    conversation_id TEXT,
    created_at     INTEGER NOT NULL
);
