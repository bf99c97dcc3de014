-- Outbound webhooks for alert lifecycle events, SQLite dialect.

-- A subscription: where to POST which events, for one service or all
-- (service_id 0). events is a bit mask in the order of klaxon.WebhookEvents
-- (1 triggered, 2 acknowledged, 4 resolved, 8 escalated), so that the
-- ingest transaction matches subscriptions with one comparison. Disabled,
-- never deleted: disabled_at is NULL while it is enabled.
CREATE TABLE webhook_subscriptions (
    id          INTEGER PRIMARY KEY,
    url         TEXT    NOT NULL,
    service_id  INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    description TEXT    NOT NULL,
    disabled_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Deliveries are notification jobs of kind 'lifecycle' (user_id and
-- contact_method_id 0): claimed, leased, retried and finished like any
-- page. They carry the subscription, the event, and the person who caused
-- it; the payload is rendered at send time from the alert's current row.
ALTER TABLE notifications ADD COLUMN subscription_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN event TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN actor TEXT NOT NULL DEFAULT '';
CREATE INDEX notifications_subscription ON notifications (subscription_id, id) WHERE subscription_id <> 0;

-- A delivery has no person and no contact method: the indexes that find a
-- person's or a method's pages leave deliveries out, so that a delivery,
-- written in the ingest transaction, updates two indexes fewer (its insert
-- costs a third less). Queries that use them say subscription_id = 0.
DROP INDEX notifications_user;
CREATE INDEX notifications_user ON notifications (user_id, id) WHERE subscription_id = 0;
DROP INDEX notifications_recent;
CREATE INDEX notifications_recent ON notifications (contact_method_id, service_id, sent_at) WHERE subscription_id = 0;
