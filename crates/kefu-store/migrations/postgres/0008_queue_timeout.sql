-- Queue timeouts per group: after queue_timeout_secs (0 = never) a waiting
-- conversation moves to timeout_to_group, or leaves the line for offline follow-up.
ALTER TABLE agent_groups ADD COLUMN queue_timeout_secs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_groups ADD COLUMN timeout_to_group TEXT;
