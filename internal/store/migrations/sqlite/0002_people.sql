-- People: users' time zones, teams, contact methods and notification rules,
-- SQLite dialect. Times are Unix microseconds, as in 0001.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET updated_at = created_at;
-- Emails are unique whatever their case: Ada@x and ada@x are one mailbox.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (name);

CREATE TABLE team_members (
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    role       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE contact_methods (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    type       TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
-- One row per (user, type, address): the same number twice would page twice.
CREATE UNIQUE INDEX contact_methods_address ON contact_methods (user_id, type, address);
-- The target of notification_rules' foreign key, which keeps a rule on its
-- own user's contact method.
CREATE UNIQUE INDEX contact_methods_owner ON contact_methods (id, user_id);

CREATE TABLE notification_rules (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users (id),
    contact_method_id INTEGER NOT NULL,
    delay_minutes     INTEGER NOT NULL,
    urgency           TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    FOREIGN KEY (contact_method_id, user_id) REFERENCES contact_methods (id, user_id)
);
-- A user's rules in the order they fire; a rule given twice is refused.
CREATE UNIQUE INDEX notification_rules_order ON notification_rules (user_id, urgency, delay_minutes, contact_method_id);
CREATE INDEX notification_rules_contact_method ON notification_rules (contact_method_id);
