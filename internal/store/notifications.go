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

// Notification jobs: created pending (by the engine, in the transaction that
// decided them), claimed with a lease, then marked sent, retried, failed or
// suppressed by the node that holds the lease. A node that dies holding a
// lease loses nothing: when the lease runs out the job is due again.

func insertNotification(ctx context.Context, tx *sql.Tx, n *klaxon.Notification, now time.Time) error {
	if n.Status == "" {
		n.Status = klaxon.NotificationPending
	}
	if n.Kind == "" {
		n.Kind = klaxon.NotificationAlert
	}
	n.CreatedAt = now
	err := tx.QueryRowContext(ctx, `INSERT INTO notifications (idempotency_key, kind, alert_id, service_id, user_id, contact_method_id, firing, status, reason, due_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
		n.IdempotencyKey, string(n.Kind), n.AlertID, n.ServiceID, n.UserID, n.ContactMethodID, n.Firing,
		string(n.Status), n.Reason, toDB(n.DueAt), toDB(now)).Scan(&n.ID)
	if err == sql.ErrNoRows {
		return nil // decided before: applying the same decision twice adds nothing
	}
	if err != nil {
		return fmt.Errorf("store: insert notification %s: %w", n.IdempotencyKey, err)
	}
	return nil
}

// AddNotifications stores new jobs (a failover to another contact method, a
// verification code) and tells the engine.
func (s *Store) AddNotifications(ctx context.Context, ns []klaxon.Notification) error {
	now := s.now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		for i := range ns {
			if err := insertNotification(ctx, tx, &ns[i], now); err != nil {
				return err
			}
		}
		return s.notify(ctx, tx, channelWork)
	})
	if err == nil {
		s.signalWork()
	}
	return err
}

func suppressPending(ctx context.Context, tx *sql.Tx, alertID int64, reason string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE notifications SET status = 'suppressed', reason = $1, updated_at = $2
WHERE alert_id = $3 AND status = 'pending' AND lease_owner = '' AND kind <> 'lifecycle'`, reason, toDB(now), alertID); err != nil {
		return fmt.Errorf("store: suppress notifications of alert %d: %w", alertID, err)
	}
	return nil
}

const jobColumns = `n.id, n.idempotency_key, n.kind, n.alert_id, n.service_id, n.user_id, n.contact_method_id, n.firing,
n.status, n.reason, n.due_at, n.attempts, n.last_error, n.provider_id, COALESCE(n.bundle_id, 0), n.created_at,
n.sent_at, n.delivered_at, n.failed_at, COALESCE(c.type, ''), COALESCE(c.address, ''), c.verified_at, COALESCE(u.name, ''),
n.payload, n.subscription_id, n.event, n.actor`

func scanJob(row interface{ Scan(...any) error }) (klaxon.NotificationJob, error) {
	var j klaxon.NotificationJob
	var kind, status, ctype, event string
	var due, created int64
	var sent, delivered, failed, verified sql.NullInt64
	err := row.Scan(&j.ID, &j.IdempotencyKey, &kind, &j.AlertID, &j.ServiceID, &j.UserID, &j.ContactMethodID, &j.Firing,
		&status, &j.Reason, &due, &j.Attempts, &j.LastError, &j.ProviderID, &j.BundleID, &created,
		&sent, &delivered, &failed, &ctype, &j.Address, &verified, &j.UserName, &j.Code,
		&j.SubscriptionID, &event, &j.Actor)
	j.Event = klaxon.WebhookEvent(event)
	j.Kind, j.Status, j.ContactType = klaxon.NotificationKind(kind), klaxon.NotificationStatus(status), klaxon.ContactType(ctype)
	j.DueAt, j.CreatedAt = fromDB(due), fromDB(created)
	j.SentAt, j.DeliveredAt, j.FailedAt = nullTime(sent), nullTime(delivered), nullTime(failed)
	j.Verified = verified.Valid
	return j, err
}

const jobFrom = ` FROM notifications n LEFT JOIN contact_methods c ON c.id = n.contact_method_id LEFT JOIN users u ON u.id = n.user_id`

// ClaimNotifications leases up to limit pending notifications due at now,
// oldest first, and loads what sending them needs. A lifecycle delivery
// waits while an earlier one of the same alert to the same subscription is
// pending (being sent, or waiting for a retry), so that a receiver sees an
// alert's events in the order they happened.
func (s *Store) ClaimNotifications(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]klaxon.NotificationJob, error) {
	return s.claimJobs(ctx, owner, now, leaseFor, `status = 'pending' AND due_at <= $1 AND lease_until <= $1 AND `+deliveryInTurn+`
ORDER BY due_at, id LIMIT $2`, toDB(now), limit)
}

// deliveryInTurn holds for a pending notification unless it is a lifecycle
// delivery with an earlier one of its alert and subscription still pending.
// The alert's own notifications are few, and found by notifications_alert.
const deliveryInTurn = `(notifications.subscription_id = 0 OR NOT EXISTS (SELECT 1 FROM notifications e
WHERE e.alert_id = notifications.alert_id AND e.id < notifications.id AND e.subscription_id = notifications.subscription_id AND e.status = 'pending'))`

// ClaimBundle leases the other pending notifications to the same contact
// method about alerts on the same service that are due by now: the ones a
// bundled message will cover along with the job already claimed.
func (s *Store) ClaimBundle(ctx context.Context, owner string, job klaxon.NotificationJob, now time.Time, leaseFor time.Duration, limit int) ([]klaxon.NotificationJob, error) {
	return s.claimJobs(ctx, owner, now, leaseFor, `status = 'pending' AND due_at <= $1 AND lease_until <= $1
AND contact_method_id = $3 AND service_id = $4 AND kind = 'alert' AND subscription_id = 0 AND id <> $5 ORDER BY due_at, id LIMIT $2`,
		toDB(now), limit, job.ContactMethodID, job.ServiceID, job.ID)
}

func (s *Store) claimJobs(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, where string, args ...any) ([]klaxon.NotificationJob, error) {
	var jobs []klaxon.NotificationJob
	err := s.claim(ctx, func(tx *sql.Tx) error {
		ids, err := queryIDs(ctx, tx, `SELECT id FROM notifications WHERE `+where+s.dialect.skipLocked, args...)
		if err != nil {
			return fmt.Errorf("store: claim notifications: %w", err)
		}
		jobs, err = s.leaseJobs(ctx, tx, owner, ids, now, leaseFor)
		return err
	})
	return jobs, err
}

// leaseJobs leases the notifications ids to owner in tx and loads what
// sending them needs.
func (s *Store) leaseJobs(ctx context.Context, tx *sql.Tx, owner string, ids []int64, now time.Time, leaseFor time.Duration) ([]klaxon.NotificationJob, error) {
	jobs := make([]klaxon.NotificationJob, 0, len(ids))
	if err := s.lockPeopleOf(ctx, tx, ids); err != nil {
		return nil, err
	}
	err := func() error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE notifications SET lease_owner = $1, lease_until = $2 WHERE id = $3`,
				owner, toDB(now.Add(leaseFor)), id); err != nil {
				return fmt.Errorf("store: lease notification %d: %w", id, err)
			}
			j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+jobFrom+` WHERE n.id = $1`, id))
			if err != nil {
				return fmt.Errorf("store: load notification %d: %w", id, err)
			}
			if j.Service, err = serviceByID(ctx, tx, j.ServiceID); err != nil && j.ServiceID != 0 {
				return err
			}
			if j.AlertID != 0 {
				if j.Alert, err = s.alertByID(ctx, tx, j.AlertID); err != nil {
					return err
				}
			}
			if j.AlertID != 0 && j.Kind != klaxon.NotificationLifecycle {
				if j.InMaintenance, err = inMaintenance(ctx, tx, j.ServiceID, now); err != nil {
					return err
				}
			}
			if j.SubscriptionID != 0 {
				if j.Subscription, err = subscriptionByID(ctx, tx, j.SubscriptionID); err != nil && klaxon.ErrorCodeOf(err) != klaxon.ENOTFOUND {
					return err
				}
			}
			if j.Kind == klaxon.NotificationAlert && j.UserID != 0 && j.AlertID != 0 && j.Alert.Status != klaxon.AlertResolved {
				if j.AlertNumber, err = s.alertNumber(ctx, tx, j.UserID, j.AlertID, now); err != nil {
					return err
				}
			}
			jobs = append(jobs, j)
		}
		return nil
	}()
	return jobs, err
}

// lockPeopleOf locks, on PostgreSQL, the people the jobs page, in the order
// of their ids, before alertNumber locks them one by one in the order of the
// jobs: two nodes claiming pages for the same people in different orders
// would otherwise deadlock. SQLite has one writer and locks nothing.
func (s *Store) lockPeopleOf(ctx context.Context, tx *sql.Tx, jobIDs []int64) error {
	if s.dialect.forUpdate == "" || len(jobIDs) < 2 {
		return nil
	}
	args := make([]any, len(jobIDs))
	in := make([]string, len(jobIDs))
	for i, id := range jobIDs {
		args[i], in[i] = id, fmt.Sprintf("$%d", i+1)
	}
	_, err := queryIDs(ctx, tx, `SELECT id FROM users WHERE id IN (SELECT user_id FROM notifications WHERE id IN (`+
		strings.Join(in, ", ")+`)) ORDER BY id`+s.dialect.forUpdate, args...)
	if err != nil {
		return fmt.Errorf("store: lock the people of claimed pages: %w", err)
	}
	return nil
}

func queryIDs(ctx context.Context, q queryer, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// LastSent is when a message about the service last went to the contact
// method, for bundling: pages that follow within the bundling window wait
// and go out together. A message being sent right now (a leased job other
// than those in exclude, the caller's own, whose first is the job asking)
// counts as sent at now, so that a page decided while the first is on its
// way waits for the window too. Of two such jobs leased at once, only the
// lower id counts for the other: one of them goes now, not both later.
func (s *Store) LastSent(ctx context.Context, contactMethodID, serviceID int64, now time.Time, exclude []int64) (time.Time, bool, error) {
	if len(exclude) == 0 {
		return time.Time{}, false, errors.New("store: last sent: the asking job is required")
	}
	var at sql.NullInt64
	args := []any{contactMethodID, serviceID, toDB(now)}
	notIn := ""
	for _, id := range exclude {
		args = append(args, id)
		notIn += fmt.Sprintf(", $%d", len(args))
	}
	if notIn != "" {
		notIn = " AND id NOT IN (" + notIn[2:] + ")"
	}
	err := s.r.QueryRowContext(ctx, `SELECT MAX(CASE WHEN sent_at IS NOT NULL THEN sent_at ELSE $3 END) FROM notifications
WHERE contact_method_id = $1 AND service_id = $2 AND subscription_id = 0 AND (sent_at IS NOT NULL OR (status = 'pending' AND lease_owner <> '' AND lease_until > $3 AND id < $4))`+notIn,
		args...).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: last sent: %w", err)
	}
	return fromDB(at.Int64), at.Valid, nil
}

// FinishNotifications records the result for jobs that owner holds leases
// on, and releases them. Jobs whose lease was lost are left alone (the node
// that took them over records its own result) and reported by
// klaxon.ErrLeaseLost.
func (s *Store) FinishNotifications(ctx context.Context, owner string, ids []int64, r klaxon.NotificationResult) error {
	now := s.now()
	lost, failedOver := false, false
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			var sent, failed sql.NullInt64
			due := sql.NullInt64{}
			switch r.Status {
			case klaxon.NotificationSent:
				sent = sql.NullInt64{Int64: toDB(now), Valid: true}
			case klaxon.NotificationFailed:
				failed = sql.NullInt64{Int64: toDB(now), Valid: true}
			case klaxon.NotificationPending:
				due = sql.NullInt64{Int64: toDB(r.RetryAt), Valid: true}
			}
			attempted := 0
			if r.Attempted {
				attempted = 1
			}
			res, err := tx.ExecContext(ctx, `UPDATE notifications SET status = $1, bundle_id = $2, provider_id = $3, reason = $4, last_error = $5,
attempts = attempts + $6, due_at = COALESCE($7, due_at), sent_at = COALESCE($8, sent_at), failed_at = COALESCE($9, failed_at),
payload = CASE WHEN $1 = 'pending' THEN payload ELSE '' END,
lease_owner = '', lease_until = 0, updated_at = $10 WHERE id = $11 AND lease_owner = $12`,
				string(r.Status), nullID(r.BundleID), r.ProviderID, r.Reason, klaxon.Truncate(r.Error, 1000), attempted,
				due, sent, failed, toDB(now), id, owner)
			if err != nil {
				return fmt.Errorf("store: finish notification %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				lost = true
				continue
			}
			if r.Failover {
				// In this transaction: a crash cannot record the failure
				// and lose the page on the next method.
				created, err := failoverTx(ctx, tx, id, now)
				if err != nil {
					return err
				}
				failedOver = failedOver || created
			}
		}
		if failedOver {
			return s.notify(ctx, tx, channelWork)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if failedOver {
		s.signalWork()
	}
	if lost {
		return klaxon.ErrLeaseLost
	}
	return nil
}

// RecordDelivery applies a provider's delivery callback to the notification
// it sent with that provider id: delivered, or failed with the provider's
// reason — and then the person is paged on their next contact method at
// once, as after a send that failed (failoverTx). Unknown ids are ignored
// (false), as providers retry callbacks.
func (s *Store) RecordDelivery(ctx context.Context, providerID string, delivered bool, reason string) (bool, error) {
	now := s.now()
	var n int64
	failedOver := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if delivered {
			res, err = tx.ExecContext(ctx, `UPDATE notifications SET status = 'delivered', delivered_at = $1, updated_at = $1 WHERE provider_id = $2 AND status IN ('sent', 'delivered')`, toDB(now), providerID)
			if err != nil {
				return fmt.Errorf("store: record delivery: %w", err)
			}
			n, _ = res.RowsAffected()
			return nil
		}
		// Undelivered: the person was not reached, so they are paged on
		// their next method, as after a failed send.
		ids, err := queryIDs(ctx, tx, `SELECT id FROM notifications WHERE provider_id = $1 AND status IN ('sent', 'delivered') ORDER BY id`, providerID)
		if err != nil {
			return fmt.Errorf("store: record delivery: %w", err)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE notifications SET status = 'failed', failed_at = $1, reason = $2, updated_at = $1 WHERE id = $3`, toDB(now), reason, id); err != nil {
				return fmt.Errorf("store: record delivery: %w", err)
			}
			created, err := failoverTx(ctx, tx, id, now)
			if err != nil {
				return err
			}
			failedOver = failedOver || created
		}
		n = int64(len(ids))
		if failedOver {
			return s.notify(ctx, tx, channelWork)
		}
		return nil
	})
	if failedOver {
		s.signalWork()
	}
	return n > 0, err
}

// NotificationsSentWith returns the notification whose idempotency key is
// key, and every notification its message carried (a bundle), oldest first:
// what a key pressed during a page call answers. An unknown key is
// ENOTFOUND.
func (s *Store) NotificationsSentWith(ctx context.Context, key string) ([]klaxon.Notification, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM notifications WHERE idempotency_key = $1`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, klaxon.Errorf(klaxon.ENOTFOUND, "no notification has the key %q", klaxon.Truncate(key, 80))
	}
	if err != nil {
		return nil, fmt.Errorf("store: notification by key: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+jobFrom+` WHERE n.id = $1 OR n.bundle_id = $1 ORDER BY n.id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: notifications sent with %d: %w", id, err)
	}
	defer rows.Close()
	var out []klaxon.Notification
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: notifications sent with %d: %w", id, err)
		}
		out = append(out, j.Notification)
	}
	return out, rows.Err()
}

// ListNotifications returns the notifications of an alert (alertID not 0)
// or of a user (userID not 0), newest first: the pages and verifications,
// not the alert's webhook deliveries (ListWebhookDeliveries has those).
func (s *Store) ListNotifications(ctx context.Context, alertID, userID int64, p klaxon.Page) ([]klaxon.Notification, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+jobFrom+` WHERE n.id < $1
AND (CAST($3 AS BIGINT) = 0 OR n.alert_id = $3) AND (CAST($4 AS BIGINT) = 0 OR n.user_id = $4) AND n.subscription_id = 0
ORDER BY n.id DESC LIMIT $2`, p.Before, p.Limit, alertID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list notifications: %w", err)
	}
	defer rows.Close()
	var out []klaxon.Notification
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list notifications: %w", err)
		}
		out = append(out, j.Notification)
	}
	return out, rows.Err()
}

// NextWork is the earliest instant at which an escalation or a notification
// falls due (including a lease running out), so that the engine can sleep
// exactly until then. ok is false when nothing is scheduled.
func (s *Store) NextWork(ctx context.Context) (time.Time, bool, error) {
	var esc, job sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) FROM escalations`).Scan(&esc); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next escalation: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) FROM notifications WHERE status = 'pending' AND `+deliveryInTurn).Scan(&job); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next notification: %w", err)
	}
	next := int64(0)
	for _, v := range []sql.NullInt64{esc, job} {
		if v.Valid && v.Int64 < neverDue && (next == 0 || v.Int64 < next) {
			next = v.Int64
		}
	}
	return fromDB(next), next != 0, nil
}
