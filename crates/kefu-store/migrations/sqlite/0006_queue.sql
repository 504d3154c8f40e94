-- The routing queue: a conversation routed to a group nobody could take
-- waits there, ordered by priority (higher first) then queued_at.
ALTER TABLE conversations ADD COLUMN queue_group TEXT;
ALTER TABLE conversations ADD COLUMN queue_priority INTEGER NOT NULL DEFAULT 1;
ALTER TABLE conversations ADD COLUMN queued_at INTEGER;
CREATE INDEX conversations_queue ON conversations(workspace_id, queue_group, queue_priority DESC, queued_at, id);
