package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Webhook subscriptions, and the deliveries of alert lifecycle events to
// them. A delivery is a notification job of kind 'lifecycle', created in the
// transaction that changed the alert (ingest, or a person's response), so
// that no change is committed without its deliveries; the engine claims,
// sends, retries and finishes it like any page.

// enqueueLifecycleSQL creates one delivery of an event ($4, whose bit is
// $5) on alert $1 of service $3 at $2, caused by $6 (a person, or empty), for
// every enabled subscription that wants the event and covers the service.
// It is one statement whatever the number of subscriptions, and finds
// nothing cheaply when there are none: it runs in the ingest transaction
// for every new alert. The key names the subscription, alert, event and
// instant, so deciding the same event twice adds nothing. (SQLite parses
// the upsert after an INSERT … SELECT only when the SELECT has a WHERE.)
const enqueueLifecycleSQL = `INSERT INTO notifications (idempotency_key, kind, alert_id, service_id, user_id, contact_method_id, firing, status,
due_at, created_at, updated_at, subscription_id, event, actor)
SELECT 'w' || w.id || '.a' || CAST($1 AS BIGINT) || '.' || CAST($4 AS TEXT) || '.' || CAST($2 AS BIGINT), 'lifecycle',
CAST($1 AS BIGINT), CAST($3 AS BIGINT), 0, 0, '', 'pending', CAST($2 AS BIGINT), CAST($2 AS BIGINT), CAST($2 AS BIGINT),
w.id, CAST($4 AS TEXT), CAST($6 AS TEXT)
FROM webhook_subscriptions w
WHERE w.disabled_at IS NULL AND (w.events & CAST($5 AS BIGINT)) <> 0 AND (w.service_id = 0 OR w.service_id = CAST($3 AS BIGINT))
ON CONFLICT (idempotency_key) DO NOTHING`

// anyHooksSQL asks whether any subscription is enabled: the ingest
// transaction asks once, and skips enqueueLifecycleSQL when none is.
const anyHooksSQL = `SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE disabled_at IS NULL)`

// lifecycleArgs are enqueueLifecycleSQL's arguments.
func lifecycleArgs(alertID, serviceID int64, event klaxon.WebhookEvent, actor string, at int64) []any {
	return []any{alertID, at, serviceID, string(event), event.Bit(), actor}
}

// enqueueLifecycle creates, in tx, the deliveries of a change a person made
// to an alert.
func enqueueLifecycle(ctx context.Context, tx *sql.Tx, a klaxon.Alert, event klaxon.WebhookEvent, actor string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, enqueueLifecycleSQL, lifecycleArgs(a.ID, a.ServiceID, event, actor, toDB(now))...); err != nil {
		return fmt.Errorf("store: webhook deliveries of alert %d: %w", a.ID, err)
	}
	return nil
}

// responseEvent is the lifecycle event of a response's log kind.
func responseEvent(kind string) klaxon.WebhookEvent {
	switch kind {
	case "acknowledged":
		return klaxon.WebhookAlertAcknowledged
	case "escalated":
		return klaxon.WebhookAlertEscalated
	}
	return klaxon.WebhookAlertResolved
}

const subscriptionColumns = `id, url, service_id, events, description, disabled_at, created_at, updated_at`

func scanSubscription(row interface{ Scan(...any) error }) (klaxon.WebhookSubscription, error) {
	var w klaxon.WebhookSubscription
	var mask, created, updated int64
	var disabled sql.NullInt64
	err := row.Scan(&w.ID, &w.URL, &w.ServiceID, &mask, &w.Description, &disabled, &created, &updated)
	w.Events, w.DisabledAt = klaxon.EventsOfMask(mask), nullTime(disabled)
	w.CreatedAt, w.UpdatedAt = fromDB(created), fromDB(updated)
	return w, err
}

// CreateWebhookSubscription stores a new, enabled subscription. Its service,
// when it names one, must exist (EINVALID on service_id otherwise).
func (s *Store) CreateWebhookSubscription(ctx context.Context, actor string, w *klaxon.WebhookSubscription) error {
	if err := w.Validate(); err != nil {
		return err
	}
	w.Events = klaxon.EventsOfMask(w.EventMask()) // as read back: in lifecycle order
	w.CreatedAt, w.DisabledAt = s.now(), nil
	w.UpdatedAt = w.CreatedAt
	return s.write(ctx, func(tx *sql.Tx) error {
		if w.ServiceID != 0 {
			if err := mustExist(ctx, tx, "services", w.ServiceID, "service_id", "service"); err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_subscriptions (url, service_id, events, description, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, w.URL, w.ServiceID, w.EventMask(), w.Description, toDB(w.CreatedAt)).Scan(&w.ID); err != nil {
			return fmt.Errorf("store: create webhook subscription: %w", err)
		}
		// The URL stays out of the audit log: its path or query may hold
		// the receiver's own token.
		return s.audit(ctx, tx, actor, "webhook.create", "webhook", w.ID,
			auditJSON(map[string]any{"service_id": w.ServiceID, "events": w.Events}))
	})
}

// WebhookSubscription returns one subscription, or ENOTFOUND.
func (s *Store) WebhookSubscription(ctx context.Context, id int64) (klaxon.WebhookSubscription, error) {
	return subscriptionByID(ctx, s.r, id)
}

func subscriptionByID(ctx context.Context, q queryRower, id int64) (klaxon.WebhookSubscription, error) {
	w, err := scanSubscription(q.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, klaxon.Errorf(klaxon.ENOTFOUND, "webhook %d not found", id)
	}
	if err != nil {
		return w, fmt.Errorf("store: webhook %d: %w", id, err)
	}
	return w, nil
}

// ListWebhookSubscriptions returns subscriptions, newest first.
func (s *Store) ListWebhookSubscriptions(ctx context.Context, p klaxon.Page) ([]klaxon.WebhookSubscription, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	defer rows.Close()
	var out []klaxon.WebhookSubscription
	for rows.Next() {
		w, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// SetWebhookSubscriptionEnabled enables or disables a subscription.
// Disabling suppresses its pending deliveries that no node is sending (the
// engine suppresses the rest when it claims them); enabling applies to
// events from then on. Setting the state it has already changes nothing.
func (s *Store) SetWebhookSubscriptionEnabled(ctx context.Context, actor string, id int64, enabled bool) (klaxon.WebhookSubscription, error) {
	var w klaxon.WebhookSubscription
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if w, err = subscriptionByID(ctx, tx, id); err != nil {
			return err
		}
		if w.Enabled() == enabled {
			return nil
		}
		now := s.now()
		w.UpdatedAt, w.DisabledAt = now, &now
		action := "webhook.disable"
		if enabled {
			w.DisabledAt, action = nil, "webhook.enable"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET disabled_at = $1, updated_at = $2 WHERE id = $3`,
			toNullDB(w.DisabledAt), toDB(now), id); err != nil {
			return fmt.Errorf("store: %s %d: %w", action, id, err)
		}
		if !enabled {
			if _, err := tx.ExecContext(ctx, `UPDATE notifications SET status = 'suppressed', reason = $1, updated_at = $2
WHERE subscription_id = $3 AND subscription_id <> 0 AND status = 'pending' AND lease_owner = ''`,
				klaxon.ReasonWebhookDisabled, toDB(now), id); err != nil {
				return fmt.Errorf("store: suppress deliveries of webhook %d: %w", id, err)
			}
		}
		return s.audit(ctx, tx, actor, action, "webhook", id, "")
	})
	return w, err
}

// ListWebhookDeliveries returns a subscription's deliveries, newest first;
// ENOTFOUND for an unknown subscription.
func (s *Store) ListWebhookDeliveries(ctx context.Context, subscriptionID int64, p klaxon.Page) ([]klaxon.Notification, error) {
	if _, err := subscriptionByID(ctx, s.r, subscriptionID); err != nil {
		return nil, err
	}
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+jobFrom+`
WHERE n.subscription_id = $1 AND n.subscription_id <> 0 AND n.id < $2 ORDER BY n.id DESC LIMIT $3`, subscriptionID, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []klaxon.Notification
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list webhook deliveries: %w", err)
		}
		out = append(out, j.Notification)
	}
	return out, rows.Err()
}
