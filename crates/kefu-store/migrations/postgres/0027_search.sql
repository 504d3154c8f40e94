-- Full-text search (docs/search.md). kefu derives the tokens itself
-- (kefu_core::search: Chinese as overlapping bigrams and single characters,
-- other words lowercased) and stores them as a ready tsvector with
-- positions: no text search parser or locale is involved. Written in the
-- same transaction as the row it indexes; a deleted message's row is
-- deleted with it. The conversation and time are copied so that a search
-- sorts and pages without touching messages.
CREATE TABLE message_search (
    message_id       TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    tsv              tsvector NOT NULL
);
CREATE INDEX message_search_tsv ON message_search USING GIN (tsv);
CREATE INDEX message_search_recent ON message_search (workspace_id, created_at DESC, message_id DESC);

CREATE TABLE contact_search (
    contact_id    TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    tsv           tsvector NOT NULL
);
CREATE INDEX contact_search_tsv ON contact_search USING GIN (tsv);

-- Rows that existed before this migration, indexed by the store right after
-- migrating (`Store::migrate`), newest first: rows with an id below `below`
-- (or equal, while `inclusive`) are still to do; the row goes when done.
CREATE TABLE search_backfill (
    name       TEXT PRIMARY KEY,
    below      TEXT NOT NULL,
    inclusive  INTEGER NOT NULL
);
INSERT INTO search_backfill (name, below, inclusive) SELECT 'messages', MAX(id), 1 FROM messages HAVING COUNT(*) > 0;
INSERT INTO search_backfill (name, below, inclusive) SELECT 'contacts', MAX(id), 1 FROM contacts HAVING COUNT(*) > 0;
