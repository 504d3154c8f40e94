-- A message without a client id (agents' API sends, bots, imported history)
-- can never conflict on (sender_id, client_msg_id): NULLs are distinct in a
-- unique index. Such rows no longer get an entry there: the index shrinks by
-- what they took and each of their inserts skips one B-tree insert at a
-- position chosen by the sender (8 million random inserts in a GOFLY import).
-- The appends name the same WHERE in their ON CONFLICT target; a lookup by
-- `client_msg_id = ?` implies it, so it still uses the index.
DROP INDEX messages_dedupe;
CREATE UNIQUE INDEX messages_dedupe ON messages(sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
