-- The bot's knowledge base: one row per entry. `alternatives` is a JSON
-- array of phrasings; `language` is zh, en or both. An entry's external id
-- (from the file it was imported from) keeps re-imports idempotent.
CREATE TABLE kb_entries (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    external_id   TEXT,
    question      TEXT NOT NULL,
    alternatives  TEXT NOT NULL,
    answer        TEXT NOT NULL,
    category      TEXT NOT NULL,
    language      TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX kb_entries_external ON kb_entries(workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX kb_entries_workspace ON kb_entries(workspace_id, id);
