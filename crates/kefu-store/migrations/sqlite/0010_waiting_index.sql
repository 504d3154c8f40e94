-- The lines themselves: only conversations waiting now. The queue timeout
-- check scans every workspace's waiting conversations each few seconds, and
-- resolved conversations keep their queue_group (handling-time statistics),
-- so without this the check and the line counts grew with history.
CREATE INDEX conversations_waiting ON conversations(workspace_id, queue_group, queue_priority DESC, queued_at, id) WHERE status = 'queued';
