-- Which events belong to which alert: the embedded store keeps lists of
-- event ids per alert instead of an index on events (alert_id) (see the
-- SQLite migration and internal/store/folds.go). PostgreSQL keeps its index,
-- which its nodes share, and has the table only so that both dialects have
-- the same tables.
CREATE TABLE alert_event_ids (
    alert_id BIGINT NOT NULL,
    first_id BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    ids      TEXT   NOT NULL,
    PRIMARY KEY (alert_id, first_id)
);
