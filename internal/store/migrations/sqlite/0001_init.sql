-- Klaxon core schema, SQLite dialect. Times are Unix microseconds (INTEGER)
-- in both dialects so that every query text is shared.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    user_id    INTEGER NOT NULL DEFAULT 0,
    hash       BLOB    NOT NULL,
    hint       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (hash);

CREATE TABLE services (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX services_name ON services (name);

CREATE TABLE integrations (
    id         INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES services (id),
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    key_hash   BLOB    NOT NULL,
    key_hint   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    rotated_at INTEGER
);
CREATE UNIQUE INDEX integrations_key_hash ON integrations (key_hash);
CREATE INDEX integrations_service ON integrations (service_id);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    service_id      INTEGER NOT NULL,
    dedup_key       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    urgency         TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    component       TEXT    NOT NULL,
    grp             TEXT    NOT NULL,
    class           TEXT    NOT NULL,
    event_count     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    last_event_at   INTEGER NOT NULL
);
-- At most one open alert per (service, dedup key): the database, not the
-- process, is what makes deduplication hold across crashes and nodes.
CREATE UNIQUE INDEX alerts_open_dedup ON alerts (service_id, dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_service ON alerts (service_id, id);

-- The hot table: one row per accepted event, one secondary index.
CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    alert_id       INTEGER NOT NULL,
    service_id     INTEGER NOT NULL,
    integration_id INTEGER NOT NULL,
    action         TEXT    NOT NULL,
    dedup_key      TEXT    NOT NULL,
    severity       TEXT    NOT NULL,
    summary        TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    component      TEXT    NOT NULL,
    grp            TEXT    NOT NULL,
    class          TEXT    NOT NULL,
    extra          TEXT    NOT NULL,
    ts             INTEGER NOT NULL,
    received_at    INTEGER NOT NULL
);
CREATE INDEX events_alert ON events (alert_id);

CREATE TABLE change_events (
    id             INTEGER PRIMARY KEY,
    service_id     INTEGER NOT NULL,
    integration_id INTEGER NOT NULL,
    summary        TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    extra          TEXT    NOT NULL,
    ts             INTEGER NOT NULL,
    received_at    INTEGER NOT NULL
);
CREATE INDEX change_events_service ON change_events (service_id, id);

CREATE TABLE alert_log (
    id       INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    actor    TEXT    NOT NULL,
    message  TEXT    NOT NULL
);
CREATE INDEX alert_log_alert ON alert_log (alert_id, id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   INTEGER NOT NULL,
    detail      TEXT    NOT NULL
);
