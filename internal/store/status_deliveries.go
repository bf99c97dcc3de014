package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Status deliveries: the messages owed to subscribers, created pending in
// the transaction of the update (or subscription) they carry, claimed
// with a lease by a node's status worker, and finished by it: sent,
// failed (given up), or pending again at a later time. A node that dies
// holding a lease loses nothing: when the lease runs out the delivery is
// due again.

// ClaimStatusDeliveries leases up to limit pending deliveries due at now,
// oldest first, to owner for lease, and loads what sending them needs: the
// subscriber, the incident as it stood after the update (its updates up to
// the one carried), and the page. Attempts counts the claims, this one
// included. On PostgreSQL, deliveries another node is claiming are skipped.
func (s *Store) ClaimStatusDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]klaxon.StatusDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	if owner == "" {
		return nil, errors.New("store: claim status deliveries: an owner is required")
	}
	var out []klaxon.StatusDelivery
	err := s.claim(ctx, func(tx *sql.Tx) error {
		out = nil
		// Only each subscriber's oldest pending delivery is claimable, so
		// that a subscriber reads the updates in the order they were made,
		// a retry included, and never two at once.
		ids, err := queryIDs(ctx, tx, `SELECT d.id FROM status_deliveries d WHERE d.status = 'pending' AND d.due_at <= $1 AND d.lease_until <= $1
AND NOT EXISTS (SELECT 1 FROM status_deliveries e WHERE e.subscriber_id = d.subscriber_id AND e.status = 'pending' AND e.id < d.id)
ORDER BY d.due_at, d.id LIMIT $2`+s.dialect.skipLocked, toDB(now), limit)
		if err != nil {
			return fmt.Errorf("store: claim status deliveries: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		page, err := statusPage(ctx, tx)
		if err != nil {
			return err
		}
		incidents := map[int64]klaxon.StatusIncident{}
		for _, id := range ids {
			var d klaxon.StatusDelivery
			var kind string
			var subscriberID, incidentID int64
			if err := tx.QueryRowContext(ctx, `UPDATE status_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
WHERE id = $4 RETURNING id, kind, subscriber_id, incident_id, update_id, attempts`, owner, toDB(now.Add(lease)), toDB(s.now()), id).
				Scan(&d.ID, &kind, &subscriberID, &incidentID, &d.UpdateID, &d.Attempts); err != nil {
				return fmt.Errorf("store: lease status delivery %d: %w", id, err)
			}
			d.Kind, d.Page = klaxon.StatusDeliveryKind(kind), page
			if d.Subscriber, err = subscriberByID(ctx, tx, subscriberID); err != nil {
				return err
			}
			if incidentID != 0 {
				inc, ok := incidents[incidentID]
				if !ok {
					if inc, err = incidentByID(ctx, tx, incidentID); err != nil {
						return err
					}
					incidents[incidentID] = inc
				}
				d.Incident = asOfUpdate(inc, d.UpdateID)
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// asOfUpdate is inc as update id left it: without the updates written
// after it, and with its status.
func asOfUpdate(inc klaxon.StatusIncident, id int64) klaxon.StatusIncident {
	ups := make([]klaxon.IncidentUpdate, 0, len(inc.Updates))
	for _, u := range inc.Updates {
		if u.ID > id {
			continue
		}
		ups = append(ups, u)
		// Its status is the carried update's: a delivery sent late (a
		// retry, a backlog) says what was true when the update was made.
		if u.ID == id && u.Status != "" && inc.Status != u.Status &&
			!(inc.Status == klaxon.IncidentPostmortem && u.Status == klaxon.IncidentResolved) {
			inc.Status = u.Status
			if !u.Status.Closed() {
				inc.ResolvedAt = time.Time{}
			}
		}
	}
	inc.Updates = ups
	return inc
}

// FinishStatusDelivery records how an attempt ended, if owner still holds
// the delivery's lease: sent or failed for good, or pending again at
// r.RetryAt (now when zero). A delivery owner does not hold (its lease
// was taken over, or it was cancelled by an unsubscription, or it is
// finished) is left alone and klaxon.ErrLeaseLost returned; an unknown one
// is ENOTFOUND.
func (s *Store) FinishStatusDelivery(ctx context.Context, id int64, owner string, r klaxon.StatusDeliveryResult) error {
	now := s.now()
	status, due := "pending", sql.NullInt64{}
	switch {
	case r.Sent:
		status = "sent"
	case r.Failed:
		status = "failed"
	default:
		retry := r.RetryAt
		if retry.IsZero() {
			retry = now
		}
		due = sql.NullInt64{Int64: toDB(retry), Valid: true}
	}
	finished := int64(0)
	if status != "pending" {
		finished = toDB(now)
	}
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE status_deliveries SET status = $1, due_at = COALESCE($2, due_at), last_error = $3,
lease_owner = '', lease_until = 0, updated_at = $4, finished_at = $5 WHERE id = $6 AND lease_owner = $7 AND lease_owner <> '' AND status = 'pending'`,
			status, due, klaxon.Truncate(r.Error, 1000), toDB(now), finished, id, owner)
		if err != nil {
			return fmt.Errorf("store: finish status delivery %d: %w", id, err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil || n == 1 {
		return err
	}
	if err := mustExist(ctx, s.r, "status_deliveries", id, "id", "status delivery"); err != nil {
		if klaxon.ErrorCodeOf(err) == klaxon.EINVALID {
			return klaxon.Errorf(klaxon.ENOTFOUND, "status delivery %d not found", id)
		}
		return err
	}
	return klaxon.ErrLeaseLost
}

// NextStatusDelivery is the earliest instant a pending delivery can be
// claimed: when it falls due (or its lease runs out), counting only each
// subscriber's oldest pending delivery, as ClaimStatusDeliveries does (a
// later one, due or not, waits for it), so that the worker can sleep
// until then instead of waking for deliveries it may not claim; ok is
// false when none is pending.
func (s *Store) NextStatusDelivery(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(CASE WHEN d.lease_until > d.due_at THEN d.lease_until ELSE d.due_at END) FROM status_deliveries d WHERE d.status = 'pending'
AND NOT EXISTS (SELECT 1 FROM status_deliveries e WHERE e.subscriber_id = d.subscriber_id AND e.status = 'pending' AND e.id < d.id)`).
		Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next status delivery: %w", err)
	}
	return fromDB(next.Int64), next.Valid, nil
}
