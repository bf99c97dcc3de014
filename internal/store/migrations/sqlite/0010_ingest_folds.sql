-- How far the alerts' event counts are written out. On SQLite, an event
-- that only adds to an open alert is folded in memory and written to the
-- alert's row later (internal/store/folds.go); every event with an id up to
-- flushed_through is counted in its alert's row. After a crash, the alerts
-- of the events past it are recounted from the events themselves.
-- PostgreSQL writes every count in the event's own transaction and keeps
-- the row only so that both dialects have the same tables.
CREATE TABLE ingest_folds (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    flushed_through BIGINT  NOT NULL
);
INSERT INTO ingest_folds (id, flushed_through) SELECT 1, COALESCE(MAX(id), 0) FROM events;
