-- Routing is part of the conversation state machine: a conversation waiting
-- in a group's line is `queued`, one the bot handles is `bot`; both are
-- active (the visitor's next message lands there). Conversations get the
-- priority and tags rules and agents give them.
ALTER TABLE conversations ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE conversations ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
UPDATE conversations SET status = 'queued'
 WHERE assignee_id IS NULL AND queued_at IS NOT NULL AND queue_group IS NOT NULL AND status IN ('open', 'pending');
UPDATE conversations SET priority = CASE queue_priority WHEN 0 THEN 'low' WHEN 2 THEN 'high' WHEN 3 THEN 'urgent' ELSE 'normal' END
 WHERE queued_at IS NOT NULL;
DROP INDEX conversations_one_active;
CREATE UNIQUE INDEX conversations_one_active ON conversations(contact_id, inbox_id) WHERE status IN ('bot', 'queued', 'open', 'pending');
-- Business hours per group (JSON like an inbox's; NULL: always open) and
-- what visitors routed there are told outside them.
ALTER TABLE agent_groups ADD COLUMN business_hours TEXT;
ALTER TABLE agent_groups ADD COLUMN offline_message TEXT NOT NULL DEFAULT '';
