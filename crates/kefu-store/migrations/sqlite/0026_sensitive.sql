-- The sensitive-word filter (docs/sensitive-words.md). Words per workspace,
-- stored trimmed and ASCII-lowercased (matching ignores ASCII case, so
-- "Fraud" and "fraud" are one word), each with its action: mask, block or
-- flag. `created_by` is the admin's user id (or "import").
CREATE TABLE sensitive_words (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    word          TEXT NOT NULL,
    action        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, word)
);

-- Bumped in the same transaction as every change to a workspace's words:
-- a server's compiled matcher built at one revision is stale at another
-- (one cheap read every few seconds instead of one per message).
CREATE TABLE sensitive_revisions (
    workspace_id  TEXT PRIMARY KEY REFERENCES workspaces(id),
    revision      INTEGER NOT NULL
);

-- Messages that contained a `flag` word, for agents to review. `words` is a
-- JSON array of the flag words as written; `action` what happened to the
-- stored message (flag: unchanged; mask: masked as well). No foreign key on
-- message_id, like bot_questions: a review outlives what happens to it.
CREATE TABLE sensitive_flags (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    message_id       TEXT NOT NULL,
    sender_kind      TEXT NOT NULL,
    sender_id        TEXT NOT NULL,
    words            TEXT NOT NULL,
    action           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    reviewed_at      INTEGER,
    reviewed_by      TEXT
);
CREATE UNIQUE INDEX sensitive_flags_message ON sensitive_flags(message_id);
CREATE INDEX sensitive_flags_workspace ON sensitive_flags(workspace_id, id);
