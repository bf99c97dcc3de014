package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Status page subscribers. An email address is told nothing until it has
// confirmed (double opt-in); asking again for an active address changes
// nothing, so the public form cannot tell who subscribed; asking again
// for a pending one sends the confirmation again, at most hourly.

// confirmEvery is how often a pending address may be sent a confirmation.
const confirmEvery = time.Hour

const subscriberCols = `id, kind, address, confirmed_at, unsubscribed_at, created_at`

func scanSubscriber(row interface{ Scan(...any) error }) (klaxon.StatusSubscriber, error) {
	var sub klaxon.StatusSubscriber
	var kind string
	var confirmed, unsubscribed, created int64
	err := row.Scan(&sub.ID, &kind, &sub.Address, &confirmed, &unsubscribed, &created)
	sub.Kind = klaxon.SubscriberKind(kind)
	sub.ConfirmedAt, sub.UnsubscribedAt, sub.CreatedAt = fromDB(confirmed), fromDB(unsubscribed), fromDB(created)
	return sub, err
}

func subscriberByID(ctx context.Context, q queryer, id int64) (klaxon.StatusSubscriber, error) {
	sub, err := scanSubscriber(q.QueryRowContext(ctx, `SELECT `+subscriberCols+` FROM status_subscribers WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, klaxon.Errorf(klaxon.ENOTFOUND, "status subscriber %d not found", id)
	}
	if err != nil {
		return sub, fmt.Errorf("store: status subscriber %d: %w", id, err)
	}
	sub.Components, err = subscriberComponents(ctx, q, id)
	return sub, err
}

func subscriberComponents(ctx context.Context, q queryer, id int64) ([]int64, error) {
	ids, err := queryIDs(ctx, q, `SELECT component_id FROM status_subscriber_components WHERE subscriber_id = $1 ORDER BY component_id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: components of status subscriber %d: %w", id, err)
	}
	return ids, nil
}

// addressKey is an address as subscribers are told apart: an email
// address ignoring case.
func addressKey(kind klaxon.SubscriberKind, address string) string {
	if kind == klaxon.SubscriberEmail {
		return strings.ToLower(address)
	}
	return address
}

// CreateStatusSubscriber subscribes sub and fills it in as stored. A new
// email address is stored unconfirmed with a confirmation to send; a
// webhook is confirmed at once. The same address again: when active,
// nothing changes (created false, no error, no email); when pending, its
// components are replaced and the confirmation sent again unless one was
// made within the hour; when unsubscribed, it subscribes anew. Components
// (or groups, which cover their components) must exist.
func (s *Store) CreateStatusSubscriber(ctx context.Context, actor string, sub *klaxon.StatusSubscriber) (bool, error) {
	if err := sub.Validate(); err != nil {
		return false, err
	}
	created := false
	err := s.statusWrite(ctx, func(st *statusTx) error {
		st.changed = false // subscribers are not on the page: nothing to re-render
		for _, id := range sub.Components {
			if err := mustExist(ctx, st.tx, "status_components", id, "components", "status component"); err != nil {
				return err
			}
		}
		// A webhook is confirmed when it (re)subscribes.
		confirmed := int64(0)
		if sub.Kind == klaxon.SubscriberWebhook {
			confirmed = toDB(st.now)
		}
		key := addressKey(sub.Kind, sub.Address)
		old, err := scanSubscriber(st.tx.QueryRowContext(ctx, `SELECT `+subscriberCols+` FROM status_subscribers WHERE kind = $1 AND address_key = $2`,
			string(sub.Kind), key))
		if sub.Kind == klaxon.SubscriberEmail && (errors.Is(err, sql.ErrNoRows) || (err == nil && !old.UnsubscribedAt.IsZero())) {
			if err := checkPendingCap(ctx, st); err != nil {
				return err
			}
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := st.tx.QueryRowContext(ctx, `INSERT INTO status_subscribers (kind, address, address_key, confirmed_at, unsubscribed_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id`, string(sub.Kind), sub.Address, key, confirmed, toDB(st.now)).Scan(&old.ID); err != nil {
				return fmt.Errorf("store: create status subscriber: %w", err)
			}
			created = true
		case err != nil:
			return fmt.Errorf("store: status subscriber: %w", err)
		case old.Active():
			*sub, err = subscriberByID(ctx, st.tx, old.ID)
			return err
		case !old.UnsubscribedAt.IsZero():
			if _, err := st.tx.ExecContext(ctx, `UPDATE status_subscribers SET address = $1, confirmed_at = $2, unsubscribed_at = 0, updated_at = $3 WHERE id = $4`,
				sub.Address, confirmed, toDB(st.now), old.ID); err != nil {
				return fmt.Errorf("store: resubscribe status subscriber %d: %w", old.ID, err)
			}
			created = true
		}
		id := old.ID
		if err := setSubscriberComponents(ctx, st.tx, id, sub.Components); err != nil {
			return err
		}
		if sub.Kind == klaxon.SubscriberEmail {
			if err := s.enqueueConfirm(ctx, st, id); err != nil {
				return err
			}
		}
		if *sub, err = subscriberByID(ctx, st.tx, id); err != nil {
			return err
		}
		// The address stays out of the audit log: a webhook URL may hold
		// its receiver's token, and an email address is personal.
		return s.audit(ctx, st.tx, actor, "status_subscriber.create", "status_subscriber", id,
			auditJSON(map[string]any{"kind": sub.Kind, "components": sub.Components, "created": created}))
	})
	return created, err
}

// MaxPendingSubscribers bounds the email subscriptions made in the last 24
// hours and not confirmed: past it, new ones are refused (EOVERLOAD) until
// some are confirmed or a day has passed. The public form is rate limited
// per visitor; this bounds what many visitors together can make Klaxon
// send to addresses that never asked.
const MaxPendingSubscribers = 1000

func checkPendingCap(ctx context.Context, st *statusTx) error {
	var pending int
	if err := st.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM status_subscribers WHERE kind = 'email' AND confirmed_at = 0
AND unsubscribed_at = 0 AND updated_at > $1`, toDB(st.now.Add(-24*time.Hour))).Scan(&pending); err != nil {
		return fmt.Errorf("store: pending status subscribers: %w", err)
	}
	if pending >= MaxPendingSubscribers {
		return klaxon.Errorf(klaxon.EOVERLOAD, "too many subscriptions are waiting for confirmation; try again later")
	}
	return nil
}

func setSubscriberComponents(ctx context.Context, tx *sql.Tx, id int64, components []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM status_subscriber_components WHERE subscriber_id = $1`, id); err != nil {
		return fmt.Errorf("store: components of status subscriber %d: %w", id, err)
	}
	for _, c := range components {
		if _, err := tx.ExecContext(ctx, `INSERT INTO status_subscriber_components (subscriber_id, component_id) VALUES ($1, $2)`, id, c); err != nil {
			return fmt.Errorf("store: components of status subscriber %d: %w", id, err)
		}
	}
	return nil
}

// enqueueConfirm creates a confirmation delivery for subscriber id unless
// one was created within confirmEvery.
func (s *Store) enqueueConfirm(ctx context.Context, st *statusTx, id int64) error {
	var last sql.NullInt64
	if err := st.tx.QueryRowContext(ctx, `SELECT MAX(created_at) FROM status_deliveries WHERE subscriber_id = $1 AND kind = 'confirm'`, id).Scan(&last); err != nil {
		return fmt.Errorf("store: confirmations of status subscriber %d: %w", id, err)
	}
	if last.Valid && st.now.Sub(fromDB(last.Int64)) < confirmEvery {
		return nil
	}
	if _, err := st.tx.ExecContext(ctx, `INSERT INTO status_deliveries (kind, subscriber_id, incident_id, update_id, status, due_at, attempts,
last_error, lease_owner, lease_until, created_at, updated_at, finished_at) VALUES ('confirm', $1, 0, 0, 'pending', $2, 0, '', '', 0, $2, $2, 0)`,
		id, toDB(st.now)); err != nil {
		return fmt.Errorf("store: confirmation of status subscriber %d: %w", id, err)
	}
	st.delivered = true
	return nil
}

// StatusSubscriber returns one subscriber, or ENOTFOUND.
func (s *Store) StatusSubscriber(ctx context.Context, id int64) (klaxon.StatusSubscriber, error) {
	return subscriberByID(ctx, s.r, id)
}

// ListStatusSubscribers returns subscribers, newest first, with their
// components.
func (s *Store) ListStatusSubscribers(ctx context.Context, p klaxon.Page) ([]klaxon.StatusSubscriber, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+subscriberCols+` FROM status_subscribers WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list status subscribers: %w", err)
	}
	var out []klaxon.StatusSubscriber
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list status subscribers: %w", err)
		}
		out = append(out, sub)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list status subscribers: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	index := map[int64]int{}
	for i, sub := range out {
		ids[i], index[sub.ID] = sub.ID, i
	}
	in, args := inList(ids)
	rows, err = s.r.QueryContext(ctx, `SELECT subscriber_id, component_id FROM status_subscriber_components WHERE subscriber_id IN (`+in+`) ORDER BY component_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list status subscribers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid, cid int64
		if err := rows.Scan(&sid, &cid); err != nil {
			return nil, fmt.Errorf("store: list status subscribers: %w", err)
		}
		out[index[sid]].Components = append(out[index[sid]].Components, cid)
	}
	return out, rows.Err()
}

// ConfirmStatusSubscriber confirms an email address (the subscriber
// followed the link it was sent). Confirming again, or confirming after
// unsubscribing, changes nothing.
func (s *Store) ConfirmStatusSubscriber(ctx context.Context, id int64) (klaxon.StatusSubscriber, error) {
	var sub klaxon.StatusSubscriber
	err := s.statusWrite(ctx, func(st *statusTx) error {
		var err error
		if sub, err = subscriberByID(ctx, st.tx, id); err != nil {
			return err
		}
		st.changed = false // subscribers are not on the page
		if !sub.ConfirmedAt.IsZero() || !sub.UnsubscribedAt.IsZero() {
			return nil
		}
		sub.ConfirmedAt = st.now
		if _, err := st.tx.ExecContext(ctx, `UPDATE status_subscribers SET confirmed_at = $1, updated_at = $1 WHERE id = $2`, toDB(st.now), id); err != nil {
			return fmt.Errorf("store: confirm status subscriber %d: %w", id, err)
		}
		// A confirmation still waiting (a retry, or a second one) would hold
		// up the subscriber's first update, which waits for it in order.
		if _, err := st.tx.ExecContext(ctx, `UPDATE status_deliveries SET status = 'cancelled', lease_owner = '', lease_until = 0, updated_at = $1, finished_at = $1
WHERE subscriber_id = $2 AND kind = 'confirm' AND status = 'pending'`, toDB(st.now), id); err != nil {
			return fmt.Errorf("store: cancel confirmations of status subscriber %d: %w", id, err)
		}
		return s.audit(ctx, st.tx, fmt.Sprintf("status_subscriber:%d", id), "status_subscriber.confirm", "status_subscriber", id, "")
	})
	return sub, err
}

// UnsubscribeStatusSubscriber ends a subscription and cancels what was
// still to be sent to it. Unsubscribing again changes nothing.
func (s *Store) UnsubscribeStatusSubscriber(ctx context.Context, actor string, id int64) (klaxon.StatusSubscriber, error) {
	var sub klaxon.StatusSubscriber
	err := s.statusWrite(ctx, func(st *statusTx) error {
		var err error
		if sub, err = subscriberByID(ctx, st.tx, id); err != nil {
			return err
		}
		st.changed = false // subscribers are not on the page
		if !sub.UnsubscribedAt.IsZero() {
			return nil
		}
		sub.UnsubscribedAt = st.now
		if _, err := st.tx.ExecContext(ctx, `UPDATE status_subscribers SET unsubscribed_at = $1, updated_at = $1 WHERE id = $2`, toDB(st.now), id); err != nil {
			return fmt.Errorf("store: unsubscribe status subscriber %d: %w", id, err)
		}
		if _, err := st.tx.ExecContext(ctx, `UPDATE status_deliveries SET status = 'cancelled', lease_owner = '', lease_until = 0, updated_at = $1, finished_at = $1
WHERE subscriber_id = $2 AND status = 'pending'`, toDB(st.now), id); err != nil {
			return fmt.Errorf("store: cancel deliveries of status subscriber %d: %w", id, err)
		}
		return s.audit(ctx, st.tx, actor, "status_subscriber.unsubscribe", "status_subscriber", id, "")
	})
	return sub, err
}

// enqueueUpdateSQL creates the deliveries of update $2 of incident $1 at
// $3: one per active subscriber who subscribed to everything, or to one of
// the incident's components (or to a group holding one), or whatever the
// subscription when the incident names no component. The unique index
// makes a second run add nothing.
const enqueueUpdateSQL = `INSERT INTO status_deliveries (kind, subscriber_id, incident_id, update_id, status, due_at, attempts,
last_error, lease_owner, lease_until, created_at, updated_at, finished_at)
SELECT 'update', s.id, CAST($1 AS BIGINT), CAST($2 AS BIGINT), 'pending', CAST($3 AS BIGINT), 0, '', '', 0, CAST($3 AS BIGINT), CAST($3 AS BIGINT), 0
FROM status_subscribers s
WHERE s.confirmed_at <> 0 AND s.unsubscribed_at = 0 AND (
NOT EXISTS (SELECT 1 FROM status_subscriber_components sc WHERE sc.subscriber_id = s.id)
OR NOT EXISTS (SELECT 1 FROM status_update_components uc WHERE uc.incident_id = CAST($1 AS BIGINT))
OR EXISTS (SELECT 1 FROM status_subscriber_components sc JOIN status_update_components uc ON uc.incident_id = CAST($1 AS BIGINT)
JOIN status_components c ON c.id = uc.component_id
WHERE sc.subscriber_id = s.id AND (sc.component_id = c.id OR sc.component_id = c.group_id)))
ON CONFLICT DO NOTHING`

// enqueueUpdateDeliveries creates, in tx, the deliveries of an update and
// returns how many.
func enqueueUpdateDeliveries(ctx context.Context, tx *sql.Tx, incidentID, updateID int64, now time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, enqueueUpdateSQL, incidentID, updateID, toDB(now))
	if err != nil {
		return 0, fmt.Errorf("store: deliveries of status update %d: %w", updateID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: deliveries of status update %d: %w", updateID, err)
	}
	return n, nil
}
