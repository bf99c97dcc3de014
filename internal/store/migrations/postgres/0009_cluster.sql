-- Cluster membership, PostgreSQL dialect. Times are Unix microseconds, as
-- everywhere in the store.

-- One row per node process: it records itself every few seconds
-- (Heartbeat), so that GET /api/v1/cluster can tell which nodes are alive.
-- A node's id lives as long as its process; rows not seen for a week are
-- deleted by the heartbeats of the living.
CREATE TABLE nodes (
    id         TEXT   PRIMARY KEY,
    version    TEXT   NOT NULL,
    host       TEXT   NOT NULL,
    pid        BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX nodes_last_seen ON nodes (last_seen);
