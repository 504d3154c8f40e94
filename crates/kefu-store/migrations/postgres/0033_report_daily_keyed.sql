-- The facts summed per UTC day, metric and one of who/where (an agent, a
-- group, an inbox), kept with them (same transaction): reports per agent,
-- group or inbox over months read these (a year: some 365 rows per agent
-- and metric) plus the facts of the period's two partial days, instead of
-- every fact. `k` is '' where the fact has none (an unassigned conversation).
CREATE TABLE report_daily_keyed (
    workspace_id  TEXT NOT NULL,
    day           BIGINT NOT NULL,
    dim           TEXT NOT NULL,
    k             TEXT NOT NULL,
    metric        TEXT NOT NULL,
    n             BIGINT NOT NULL,
    sum           BIGINT NOT NULL,
    sum_bh        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, dim, day, k, metric)
);
INSERT INTO report_daily_keyed (workspace_id, day, dim, k, metric, n, sum, sum_bh)
SELECT workspace_id, at / 86400000, 'agent', COALESCE(agent_id, ''), metric,
       COUNT(*), COALESCE(SUM(value), 0), COALESCE(SUM(value_bh), 0)
FROM report_facts GROUP BY workspace_id, at / 86400000, COALESCE(agent_id, ''), metric;
INSERT INTO report_daily_keyed (workspace_id, day, dim, k, metric, n, sum, sum_bh)
SELECT workspace_id, at / 86400000, 'group', COALESCE(group_name, ''), metric,
       COUNT(*), COALESCE(SUM(value), 0), COALESCE(SUM(value_bh), 0)
FROM report_facts GROUP BY workspace_id, at / 86400000, COALESCE(group_name, ''), metric;
INSERT INTO report_daily_keyed (workspace_id, day, dim, k, metric, n, sum, sum_bh)
SELECT workspace_id, at / 86400000, 'inbox', inbox_id, metric,
       COUNT(*), COALESCE(SUM(value), 0), COALESCE(SUM(value_bh), 0)
FROM report_facts GROUP BY workspace_id, at / 86400000, inbox_id, metric;
