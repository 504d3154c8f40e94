-- Team basics: agent avatars, each agent's notification preferences, and
-- the notifications (mentions, assignments) they have not read yet.
ALTER TABLE users ADD COLUMN avatar_key TEXT;
-- assigned (conversations assigned to me), groups (also unassigned ones in
-- my groups) or all; mentions and assignments always notify.
ALTER TABLE users ADD COLUMN notify_scope TEXT NOT NULL DEFAULT 'groups';
ALTER TABLE users ADD COLUMN notify_sound INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN notify_desktop INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN notify_push INTEGER NOT NULL DEFAULT 1;

CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    user_id          TEXT NOT NULL,
    -- mention or assigned.
    kind             TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    -- The note's seq for mentions.
    seq              INTEGER,
    actor_id         TEXT NOT NULL,
    actor_name       TEXT NOT NULL,
    excerpt          TEXT NOT NULL,
    -- The event it came from: an outbox batch handed on twice makes one row.
    source           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    read_at          INTEGER
);
CREATE UNIQUE INDEX notifications_source ON notifications(user_id, kind, source);
CREATE INDEX notifications_user ON notifications(user_id, created_at);
CREATE INDEX users_avatar ON users(avatar_key);
