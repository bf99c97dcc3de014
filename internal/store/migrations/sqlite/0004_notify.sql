-- The escalation engine and notifications, SQLite dialect.

-- Sending to an SMS or voice number needs proof that it belongs to the
-- person; other methods are usable when created. NULL means unverified.
ALTER TABLE contact_methods ADD COLUMN verified_at INTEGER;
UPDATE contact_methods SET verified_at = created_at WHERE type NOT IN ('sms', 'voice');

-- Minutes after an acknowledgement at which an unresolved alert triggers
-- again; 0 means never.
ALTER TABLE services ADD COLUMN ack_timeout_minutes INTEGER NOT NULL DEFAULT 0;

-- One row per open alert whose escalation still has something to do: when to
-- evaluate it next, the policy as it was when it first ran, and a lease so
-- that one node at a time works on it.
CREATE TABLE escalations (
    alert_id    INTEGER PRIMARY KEY,
    policy      TEXT    NOT NULL DEFAULT '', -- JSON snapshot; '' until the first pass
    due_at      INTEGER NOT NULL,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX escalations_due ON escalations (due_at);

-- Every step that has fired, by its stable identity: a step fires once.
CREATE TABLE escalation_firings (
    alert_id INTEGER NOT NULL,
    firing   TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (alert_id, firing)
);

-- The durable notification jobs: one row per message to one contact method,
-- created in the transaction that decided it, claimed with a lease.
CREATE TABLE notifications (
    id                INTEGER PRIMARY KEY,
    idempotency_key   TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    alert_id          INTEGER NOT NULL,
    service_id        INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    contact_method_id INTEGER NOT NULL,
    firing            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    reason            TEXT    NOT NULL DEFAULT '',
    due_at            INTEGER NOT NULL,
    lease_owner       TEXT    NOT NULL DEFAULT '',
    lease_until       INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT    NOT NULL DEFAULT '',
    provider_id       TEXT    NOT NULL DEFAULT '',
    bundle_id         INTEGER,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    delivered_at      INTEGER,
    failed_at         INTEGER,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX notifications_key ON notifications (idempotency_key);
CREATE INDEX notifications_pending ON notifications (due_at) WHERE status = 'pending';
CREATE INDEX notifications_alert ON notifications (alert_id, id);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_recent ON notifications (contact_method_id, service_id, sent_at);
CREATE INDEX notifications_provider ON notifications (provider_id) WHERE provider_id <> '';

-- Response links work once: the hash of every link used.
CREATE TABLE response_links_used (
    link_hash BLOB    PRIMARY KEY,
    used_at   INTEGER NOT NULL
);
