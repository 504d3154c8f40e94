-- A contact's conversations by recent activity (the visitor's `hello`, the
-- console's "past conversations"): equality on contact_id plus the list
-- order, so the planner never walks the whole workspace's activity index.
CREATE INDEX conversations_contact_activity ON conversations(contact_id, last_activity_at DESC, id DESC);
DROP INDEX conversations_contact;
