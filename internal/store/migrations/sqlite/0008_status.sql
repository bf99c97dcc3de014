-- The public status page, SQLite dialect. Booleans are 0/1 integers and
-- times Unix microseconds (0 for none), as everywhere in the store.

-- The page's settings: exactly one row. generation changes with every
-- status mutation, so that page caches on every node can tell in one cheap
-- read whether what they hold is stale; every status write locks this row
-- first, which also serialises status writers on PostgreSQL.
CREATE TABLE status_page (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    time_zone   TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    generation  INTEGER NOT NULL
);
INSERT INTO status_page (id, name, description, time_zone, url, updated_at, generation) VALUES (1, 'Status', '', 'UTC', '', 0, 1);

-- Components and groups (is_group 1). group_id is 0 for a group and for an
-- ungrouped component; position is 1-based among siblings (the members of
-- one group, or the top-level items). state is the state of the component's
-- latest history row (operational without any); followed_state is what
-- FollowServices last applied.
CREATE TABLE status_components (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    is_group       INTEGER NOT NULL,
    group_id       INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    service_id     INTEGER NOT NULL,
    follow_service INTEGER NOT NULL,
    follow_state   TEXT    NOT NULL,
    followed_state TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX status_components_name ON status_components (group_id, is_group, name);
CREATE INDEX status_components_following ON status_components (service_id) WHERE follow_service = 1;

-- Every state a component has been in, from when and why: uptime comes
-- from here. Imports insert rows in the past.
CREATE TABLE status_component_changes (
    id           INTEGER PRIMARY KEY,
    component_id INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    source       TEXT    NOT NULL,
    incident_id  INTEGER NOT NULL,
    update_id    INTEGER NOT NULL,
    alert_id     INTEGER NOT NULL,
    actor        TEXT    NOT NULL
);
CREATE INDEX status_component_changes_component ON status_component_changes (component_id, at, id);
CREATE INDEX status_component_changes_at ON status_component_changes (at, id);

-- Incidents and scheduled maintenances (maintenance 1). status, created_at,
-- updated_at, monitoring_at and resolved_at follow the updates' display
-- times; written_at is when the row was written.
CREATE TABLE status_incidents (
    id                      INTEGER PRIMARY KEY,
    name                    TEXT    NOT NULL,
    status                  TEXT    NOT NULL,
    impact                  TEXT    NOT NULL,
    maintenance             INTEGER NOT NULL,
    scheduled_for           INTEGER NOT NULL,
    scheduled_until         INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    monitoring_at           INTEGER NOT NULL,
    resolved_at             INTEGER NOT NULL,
    postmortem              TEXT    NOT NULL,
    postmortem_published_at INTEGER NOT NULL,
    written_at              INTEGER NOT NULL
);
CREATE INDEX status_incidents_open ON status_incidents (id) WHERE status NOT IN ('resolved', 'postmortem', 'completed');
CREATE INDEX status_incidents_updated ON status_incidents (updated_at, id);

CREATE TABLE status_incident_updates (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    display_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX status_incident_updates_incident ON status_incident_updates (incident_id, display_at, id);

-- The components an update named, with their state before and after.
CREATE TABLE status_update_components (
    update_id    INTEGER NOT NULL,
    incident_id  INTEGER NOT NULL,
    component_id INTEGER NOT NULL,
    old_state    TEXT    NOT NULL,
    new_state    TEXT    NOT NULL,
    PRIMARY KEY (update_id, component_id)
);
CREATE INDEX status_update_components_incident ON status_update_components (incident_id, component_id);

-- Subscribers. address_key is the address as compared (an email address
-- in lower case): one row per address and kind.
CREATE TABLE status_subscribers (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    address_key     TEXT    NOT NULL,
    confirmed_at    INTEGER NOT NULL,
    unsubscribed_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX status_subscribers_address ON status_subscribers (kind, address_key);

CREATE TABLE status_subscriber_components (
    subscriber_id INTEGER NOT NULL,
    component_id  INTEGER NOT NULL,
    PRIMARY KEY (subscriber_id, component_id)
);

-- Messages owed to subscribers, leased like notification jobs. An update
-- reaches a subscriber once (the unique index); confirmations may repeat
-- (at most hourly), so the index covers updates only.
CREATE TABLE status_deliveries (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    subscriber_id INTEGER NOT NULL,
    incident_id   INTEGER NOT NULL,
    update_id     INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    due_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    last_error    TEXT    NOT NULL,
    lease_owner   TEXT    NOT NULL,
    lease_until   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX status_deliveries_once ON status_deliveries (subscriber_id, update_id, kind) WHERE kind = 'update';
CREATE INDEX status_deliveries_due ON status_deliveries (due_at, id) WHERE status = 'pending';
CREATE INDEX status_deliveries_in_order ON status_deliveries (subscriber_id, id) WHERE status = 'pending';
CREATE INDEX status_deliveries_subscriber ON status_deliveries (subscriber_id, kind, id);
