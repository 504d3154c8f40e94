-- The contacts page: blocking a contact and merging two.
-- blocked_at: when an agent blocked them (their widget sessions and sends are
-- refused; NULL: not blocked). merged_into: the contact this one was merged
-- into; its conversations, notes and business events moved there, and a
-- visitor token of it is followed to that contact at the next session.
ALTER TABLE contacts ADD COLUMN blocked_at BIGINT;
ALTER TABLE contacts ADD COLUMN blocked_by TEXT;
ALTER TABLE contacts ADD COLUMN merged_into TEXT;
-- The contacts a merge moves (csat and import rows name the contact too).
CREATE INDEX csat_ratings_contact ON csat_ratings(contact_id);
CREATE INDEX import_map_target ON import_map(workspace_id, target_id);
