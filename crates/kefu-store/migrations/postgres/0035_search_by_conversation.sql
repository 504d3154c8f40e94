-- A conversation's index rows newest first (docs/search.md): a search for a
-- frequent word walks the conversations by activity and reads each one's
-- rows through this index until a match (conversation search), or reads
-- the newest conversations a filter passes (message search with a status,
-- agent, label… filter), instead of walking every message newest first.
-- Built in the migration's transaction: writes to message_search wait for
-- it (some seconds per million messages).
CREATE INDEX message_search_conversation ON message_search (conversation_id, created_at DESC, message_id DESC);
