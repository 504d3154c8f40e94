-- E-mail: the queue the sender works through (survives restarts; retried),
-- single-use tokens for invitations and password resets (only their SHA-256
-- is stored), and each agent's choice about assignment e-mails.
ALTER TABLE users ADD COLUMN email_on_assign BIGINT NOT NULL DEFAULT 1;

CREATE TABLE mail_queue (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    -- visitor_reply, transcript, assigned, mention, invite, reset.
    kind             TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    conversation_id  TEXT,
    user_id          TEXT,
    -- JSON; an invitation's or reset's raw token until it is sent, then {}.
    payload          TEXT NOT NULL,
    -- pending, sending (claimed; due_at is the lease's end), sent, skipped, dead.
    state            TEXT NOT NULL,
    -- A visitor's replies batch into the one pending mail of their conversation.
    batch_key        TEXT,
    -- Makes a mail asked for twice (an outbox batch handed on again) one row.
    dedupe_key       TEXT UNIQUE,
    attempts         BIGINT NOT NULL DEFAULT 0,
    due_at           BIGINT NOT NULL,
    -- For visitor replies: the newest message seq the mail carried.
    through_seq      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX mail_queue_batch ON mail_queue(batch_key) WHERE state = 'pending';
CREATE INDEX mail_queue_due ON mail_queue(due_at) WHERE state IN ('pending', 'sending');
CREATE INDEX mail_queue_conversation ON mail_queue(conversation_id, kind, created_at);

CREATE TABLE user_tokens (
    token_hash    TEXT PRIMARY KEY,
    -- invite or reset.
    purpose       TEXT NOT NULL,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    email         TEXT NOT NULL,
    -- The user a reset is for.
    user_id       TEXT,
    -- The role an invitation grants.
    role          TEXT,
    created_by    TEXT,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX user_tokens_email ON user_tokens(email, purpose);
