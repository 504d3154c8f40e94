-- Routing: groups (skills) of agents with an assignment strategy, and the
-- workspace's rule sets, versioned (the newest is the one in force).
CREATE TABLE agent_groups (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    strategy      TEXT NOT NULL DEFAULT 'least_loaded',
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX agent_groups_name ON agent_groups(workspace_id, name);

CREATE TABLE group_members (
    group_id          TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users(id),
    -- When routing last gave this member a conversation (least-loaded ties, round-robin).
    last_assigned_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE rule_sets (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    version       INTEGER NOT NULL,
    source        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX rule_sets_version ON rule_sets(workspace_id, version);

CREATE INDEX conversations_assignee ON conversations(assignee_id, status);
