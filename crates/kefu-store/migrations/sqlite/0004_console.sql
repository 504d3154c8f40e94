-- What the agent console needs: canned replies (inserted with /shortcut) and
-- workspace settings (time zone for business hours and reports, default language).
CREATE TABLE canned_replies (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    shortcut      TEXT NOT NULL,
    content       TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX canned_replies_shortcut ON canned_replies(workspace_id, shortcut);

ALTER TABLE workspaces ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE workspaces ADD COLUMN language TEXT NOT NULL DEFAULT 'zh-CN';
