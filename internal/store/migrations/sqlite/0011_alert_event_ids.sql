-- Which events belong to which alert, SQLite dialect.
--
-- An index on events (alert_id) put every event's entry at its alert's place
-- in the index: in a storm over thousands of alerts each group commit
-- rewrote most of the index's pages into the WAL, more than the events
-- themselves. The embedded store now writes an alert's event ids in lists,
-- one row per alert each time its folded counts are written out
-- (internal/store/folds.go), and the index goes.
--
-- ids is a JSON array of at most 4,096 event ids (the store splits longer
-- ones); first_id is the smallest, n the count.
-- Every event up to ingest_folds.flushed_through with an alert is in
-- exactly one list whose first_id is at most that mark; lists of later
-- events are rebuilt from the events by the recount when the store opens.
CREATE TABLE alert_event_ids (
    alert_id INTEGER NOT NULL,
    first_id INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    ids      TEXT    NOT NULL,
    PRIMARY KEY (alert_id, first_id)
) WITHOUT ROWID;

-- The events already counted, in lists of at most 4,096 consecutive ids
-- per alert (so that no list is too large to read for an alert's newest
-- events). Events past the mark (left by a process that died with counts
-- in memory) are listed, and their alerts counted, by the recount.
INSERT INTO alert_event_ids (alert_id, first_id, n, ids)
SELECT alert_id, MIN(id), COUNT(*), json_group_array(id) FROM (
    SELECT alert_id, id FROM events
    WHERE alert_id <> 0 AND id <= (SELECT flushed_through FROM ingest_folds WHERE id = 1)
    ORDER BY id)
GROUP BY alert_id, id / 4096;

DROP INDEX events_alert;
