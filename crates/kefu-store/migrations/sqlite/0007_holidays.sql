-- The workspace's holiday calendar (YYYY-MM-DD dates, JSON list): routing's time.holiday.
ALTER TABLE workspaces ADD COLUMN holidays TEXT NOT NULL DEFAULT '[]';
