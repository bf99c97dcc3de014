package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// failoverTx pages the person of a failed notification on the contact
// method that follows the failed one in their notification rules for the
// alert's urgency, at once: what happens when a method fails after its
// retries, cannot be used, or the provider reports the message
// undelivered. It runs in the transaction that records the failure
// (FinishNotifications, RecordDelivery), so no crash can keep the one
// without the other. The new job's idempotency key extends the failed
// job's, so deciding it twice creates it once, and the chain ends at the
// person's last method. It reports whether a job was created; nothing is
// created for an alert no longer triggered.
func failoverTx(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (bool, error) {
	var n klaxon.Notification
	var kind, status, urgency string
	err := tx.QueryRowContext(ctx, `SELECT n.idempotency_key, n.kind, n.alert_id, n.service_id, n.user_id, n.contact_method_id, n.firing, a.status, a.urgency
FROM notifications n JOIN alerts a ON a.id = n.alert_id WHERE n.id = $1`, id).Scan(
		&n.IdempotencyKey, &kind, &n.AlertID, &n.ServiceID, &n.UserID, &n.ContactMethodID, &n.Firing, &status, &urgency)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // not about an alert (a verification, a lifecycle delivery)
	}
	if err != nil {
		return false, fmt.Errorf("store: failover of notification %d: %w", id, err)
	}
	if klaxon.NotificationKind(kind) != klaxon.NotificationAlert || klaxon.AlertStatus(status) != klaxon.AlertTriggered {
		return false, nil
	}
	order, err := queryIDs(ctx, tx, `SELECT contact_method_id FROM notification_rules WHERE user_id = $1 AND urgency = $2
ORDER BY delay_minutes, contact_method_id`, n.UserID, urgency)
	if err != nil {
		return false, fmt.Errorf("store: failover of notification %d: %w", id, err)
	}
	order = uniqueInOrder(order)
	i := slices.Index(order, n.ContactMethodID)
	if i < 0 || i+1 >= len(order) {
		return false, nil
	}
	next := order[i+1]
	job := klaxon.Notification{IdempotencyKey: fmt.Sprintf("%s.f%d", n.IdempotencyKey, next), Kind: klaxon.NotificationAlert,
		AlertID: n.AlertID, ServiceID: n.ServiceID, UserID: n.UserID, ContactMethodID: next, Firing: n.Firing,
		Reason: "failover", DueAt: now}
	if err := insertNotification(ctx, tx, &job, now); err != nil {
		return false, err
	}
	return job.ID != 0, nil
}

// uniqueInOrder keeps the first occurrence of each id.
func uniqueInOrder(ids []int64) []int64 {
	out := ids[:0]
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
