-- Full-text search (docs/search.md). kefu derives the tokens itself
-- (kefu_core::search: Chinese as overlapping bigrams and single characters,
-- other words lowercased), so FTS5 only splits them on spaces. Contentless
-- tables: the text lives in messages and contacts, and an index row's rowid
-- is its message's or contact's rowid. Written in the same transaction as
-- the row it indexes; a deleted message's row is deleted with it.
CREATE VIRTUAL TABLE message_fts USING fts5(
    body, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
);
CREATE VIRTUAL TABLE contact_fts USING fts5(
    body, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
);

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
