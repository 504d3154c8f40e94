-- Team basics: personal canned replies and macros.
--
-- A canned reply or macro with an owner is that agent's own (only they see
-- it); without one (NULL) it is shared with the workspace and admins manage
-- it. A shortcut is unique among the shared replies, and among each agent's
-- personal ones; a personal reply may reuse a shared shortcut and wins in
-- that agent's composer. Macro names follow the same rule.
ALTER TABLE canned_replies ADD COLUMN owner_id TEXT;
DROP INDEX canned_replies_shortcut;
CREATE UNIQUE INDEX canned_replies_shortcut ON canned_replies(workspace_id, shortcut) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX canned_replies_personal ON canned_replies(workspace_id, owner_id, shortcut) WHERE owner_id IS NOT NULL;

CREATE TABLE macros (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    -- JSON array of actions (kefu_core::macros::MacroAction), checked on save.
    actions       TEXT NOT NULL,
    owner_id      TEXT,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX macros_name ON macros(workspace_id, name) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX macros_personal_name ON macros(workspace_id, owner_id, name) WHERE owner_id IS NOT NULL;
