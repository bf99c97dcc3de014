-- Maintenance windows: a service's alerts are recorded but page nobody.
CREATE TABLE maintenance_windows (
    id          INTEGER PRIMARY KEY,
    service_id  INTEGER NOT NULL REFERENCES services (id),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX maintenance_windows_service ON maintenance_windows (service_id, ends_at);
