-- PostgreSQL's 0035 adds an index on its message_search table (a
-- conversation's index rows newest first). SQLite's FTS5 search reads the
-- index newest first by rowid and has no such table: nothing to do.
SELECT 1;
