-- The bot in conversations (docs/bot.md): an inbox's bot settings, the
-- buttons and entry a bot message carries, each conversation's bot state,
-- the visitors' thumbs on bot answers, and the questions it could not answer.
ALTER TABLE inboxes ADD COLUMN bot TEXT NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN bot TEXT;

-- One row per conversation the bot has spoken in. `choices`: the entry ids
-- of its last "did you mean" (JSON array), so a visitor's pick answers.
CREATE TABLE bot_sessions (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id),
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    bot_turns        INTEGER NOT NULL,
    low_streak       INTEGER NOT NULL,
    choices          TEXT NOT NULL,
    handed_off_at    INTEGER,
    handoff_reason   TEXT,
    last_seq         INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- A visitor's thumbs up or down on one bot answer (the last one counts).
CREATE TABLE bot_feedback (
    message_id       TEXT PRIMARY KEY REFERENCES messages(id),
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    entry_id         TEXT,
    helpful          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX bot_feedback_entry ON bot_feedback(workspace_id, entry_id);

-- Questions the bot could not answer (handed off, low confidence, a thumbs
-- down): agents turn them into knowledge-base entries or dismiss them.
CREATE TABLE bot_questions (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    message_id       TEXT NOT NULL,
    question         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    best_entry       TEXT,
    best_score       REAL,
    status           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX bot_questions_message ON bot_questions(message_id, reason);
CREATE INDEX bot_questions_open ON bot_questions(workspace_id, status, created_at);
