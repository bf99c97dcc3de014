-- Schedules, overrides and escalation policies, SQLite dialect. Layers and
-- steps are rows (not JSON) so that "who references this user" is a query:
-- warnings and the guarded deletion path both need it.
CREATE TABLE schedules (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL,
    feed_generation INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX schedules_name ON schedules (name);

CREATE TABLE schedule_layers (
    schedule_id    INTEGER NOT NULL REFERENCES schedules (id),
    position       INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    start_local    TEXT    NOT NULL,
    rotation_unit  TEXT    NOT NULL,
    rotation_every INTEGER NOT NULL,
    restrictions   TEXT    NOT NULL, -- JSON; restrictions reference nothing
    PRIMARY KEY (schedule_id, position)
);

CREATE TABLE schedule_layer_users (
    schedule_id INTEGER NOT NULL,
    layer       INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (schedule_id, layer, position)
);
CREATE INDEX schedule_layer_users_user ON schedule_layer_users (user_id);

CREATE TABLE schedule_overrides (
    id          INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES schedules (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX schedule_overrides_schedule ON schedule_overrides (schedule_id, ends_at);
CREATE INDEX schedule_overrides_user ON schedule_overrides (user_id);

CREATE TABLE escalation_policies (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    repeat_count INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX escalation_policies_name ON escalation_policies (name);

CREATE TABLE escalation_steps (
    policy_id     INTEGER NOT NULL REFERENCES escalation_policies (id),
    position      INTEGER NOT NULL,
    delay_minutes INTEGER NOT NULL,
    PRIMARY KEY (policy_id, position)
);

CREATE TABLE escalation_targets (
    policy_id   INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   INTEGER NOT NULL,
    PRIMARY KEY (policy_id, step, position)
);
CREATE INDEX escalation_targets_target ON escalation_targets (target_type, target_id);

ALTER TABLE services ADD COLUMN escalation_policy_id INTEGER REFERENCES escalation_policies (id);
ALTER TABLE users ADD COLUMN feed_generation INTEGER NOT NULL DEFAULT 0;
