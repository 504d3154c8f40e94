-- Imports from other systems (docs/import-gofly.md).
-- import_map: which kefu row each source row became (agents, visitors), so a
-- second run finds them instead of creating them again. Messages and
-- conversations need no row here: their ids are derived from the source.
CREATE TABLE import_map (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    source_key    TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    PRIMARY KEY (workspace_id, source, kind, source_key)
);
-- Where each step of an import got to, written in the same transaction as
-- the rows it covers, so an interrupted run continues exactly there.
CREATE TABLE import_checkpoints (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    source        TEXT NOT NULL,
    step          TEXT NOT NULL,
    position      BIGINT NOT NULL,
    counts        TEXT NOT NULL DEFAULT '{}',
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, source, step)
);
-- Client addresses a workspace refuses (GOFLY's ipblack). Kept, listed and
-- imported; not yet enforced by the gateway (see docs/import-gofly.md).
CREATE TABLE ip_blocks (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    ip            TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, ip)
);
