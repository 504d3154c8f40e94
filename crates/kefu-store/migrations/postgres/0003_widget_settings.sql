-- The widget's look and behaviour per inbox (color, position, pre-chat form,
-- business hours, offline behaviour), as one JSON document: the API validates
-- it as a whole (WidgetSettings), and new settings need no migration.
ALTER TABLE inboxes ADD COLUMN widget TEXT NOT NULL DEFAULT '{}';
