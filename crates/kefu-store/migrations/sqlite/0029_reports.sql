-- Reports (docs/reports.md). The `reports` outbox consumer folds every
-- conversation's events into its state here (JSON of kefu-reports'
-- ConvState) and appends the facts each event yields. `position` is the
-- outbox position of the last event folded in: an event at or below it was
-- already counted (a batch seen twice adds nothing), and a write that finds
-- another position than it read is refused (two nodes never both count).
CREATE TABLE report_states (
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    position         INTEGER NOT NULL,
    state            TEXT NOT NULL,
    PRIMARY KEY (workspace_id, conversation_id)
);

-- One row per fact: a metric, when it happened, its duration (ms, wall
-- clock and business hours; the rating for csat; none for counts), and who
-- and where. Reports sum these over a period at query time.
CREATE TABLE report_facts (
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    metric           TEXT NOT NULL,
    at               INTEGER NOT NULL,
    value            INTEGER,
    value_bh         INTEGER,
    agent_id         TEXT,
    group_name       TEXT,
    inbox_id         TEXT NOT NULL
);
-- Every report reads one workspace's period; the index holds every column
-- a report sums or groups by, so a report reads the index alone.
CREATE INDEX report_facts_period ON report_facts(workspace_id, at, metric, value, value_bh, agent_id, group_name, inbox_id);

-- The facts summed per hour and metric, kept with them (same transaction):
-- reports by day or hour of the week without a filter (the overview, the
-- trends) read some 9,000 rows a year here instead of every fact.
CREATE TABLE report_hourly (
    workspace_id  TEXT NOT NULL,
    hour          INTEGER NOT NULL,
    metric        TEXT NOT NULL,
    n             INTEGER NOT NULL,
    sum           INTEGER NOT NULL,
    sum_bh        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, hour, metric)
);

-- CSAT: a customer's rating of a conversation after a resolve, once per
-- resolve (`resolved_at`, the resolve rated): a second answer to the same
-- resolve is the first one again, not a new row.
CREATE TABLE csat_ratings (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    resolved_at      INTEGER NOT NULL,
    rating           INTEGER NOT NULL,
    comment          TEXT,
    contact_id       TEXT NOT NULL,
    agent_id         TEXT,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX csat_ratings_once ON csat_ratings(conversation_id, resolved_at);
