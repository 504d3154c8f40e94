-- The conversation lifecycle: reopening within a window, snooze, how long
-- the customer has waited, default assignment, reply-to-take, closing message.
ALTER TABLE conversations ADD COLUMN resolved_at BIGINT;
ALTER TABLE conversations ADD COLUMN snoozed_until BIGINT;
ALTER TABLE conversations ADD COLUMN waiting_since BIGINT;
ALTER TABLE inboxes ADD COLUMN reopen_window_secs BIGINT NOT NULL DEFAULT 86400;
ALTER TABLE inboxes ADD COLUMN closing_message TEXT NOT NULL DEFAULT 'This conversation has been resolved. Write again any time if you need more help. 本次会话已结束，如需帮助请随时留言。';
ALTER TABLE workspaces ADD COLUMN default_group TEXT;
ALTER TABLE workspaces ADD COLUMN reply_takes INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agent_groups ADD COLUMN auto_join INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE snoozed_until IS NOT NULL;
