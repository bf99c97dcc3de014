package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The escalation rows: one per open alert whose escalation may still do
// something. Ingestion creates the row in the transaction that creates the
// alert, and every change to the alert (acknowledge, resolve, escalate now)
// sets its due_at to now in the transaction that makes the change, so the
// engine's work can never be lost between the two.

// neverDue is the due_at of an escalation with nothing scheduled: it stays
// so that an acknowledgement can still set an acknowledgement timeout, and
// is woken by the next change of its alert.
const neverDue = int64(1) << 62

// Work returns a channel that receives a value whenever the store has
// committed something the engine should look at now (a new alert, an
// acknowledgement, a new notification): this node's commits, and on
// PostgreSQL the other nodes' too, whose transactions NOTIFY (notify.go). It
// holds at most one value: several signals before the engine looks are one.
func (s *Store) Work() <-chan struct{} { return s.work }

func (s *Store) signalWork() { signal(s.work) }

// wakeEscalation makes an alert's escalation due now, in tx.
func wakeEscalation(ctx context.Context, tx *sql.Tx, alertID int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE escalations SET due_at = $1 WHERE alert_id = $2`, toDB(now), alertID); err != nil {
		return fmt.Errorf("store: wake escalation of alert %d: %w", alertID, err)
	}
	return nil
}

// ClaimEscalations leases up to limit escalations that are due at now and
// not leased by another node (and takes back any this owner still holds:
// a batch whose completion failed is retried at once, not when its
// leases run out), and loads what the engine needs to evaluate
// them. On PostgreSQL, FOR UPDATE SKIP LOCKED lets several nodes claim at
// once without waiting on each other.
func (s *Store) ClaimEscalations(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]klaxon.EscalationWork, error) {
	var work []klaxon.EscalationWork
	err := s.claim(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT alert_id, policy FROM escalations
WHERE (due_at <= $1 AND lease_until <= $1) OR lease_owner = $3 ORDER BY due_at LIMIT $2`+s.dialect.skipLocked, toDB(now), limit, owner)
		if err != nil {
			return fmt.Errorf("store: claim escalations: %w", err)
		}
		var ids []int64
		policies := map[int64]string{}
		for rows.Next() {
			var id int64
			var policy string
			if err := rows.Scan(&id, &policy); err != nil {
				rows.Close()
				return fmt.Errorf("store: claim escalations: %w", err)
			}
			ids = append(ids, id)
			policies[id] = policy
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: claim escalations: %w", err)
		}
		for _, id := range ids {
			// due_at moves to the lease's end: if this node dies, the
			// escalation falls due again when its lease runs out.
			if _, err := tx.ExecContext(ctx, `UPDATE escalations SET lease_owner = $1, lease_until = $2, due_at = $2 WHERE alert_id = $3`,
				owner, toDB(now.Add(leaseFor)), id); err != nil {
				return fmt.Errorf("store: lease escalation %d: %w", id, err)
			}
			w, err := s.loadEscalationWork(ctx, tx, id, policies[id])
			if err != nil {
				return err
			}
			work = append(work, w)
		}
		return nil
	})
	return work, err
}

// historyKinds are the alert log entries that change an escalation.
var historyKinds = map[string]bool{"acknowledged": true, "unacknowledged": true, "escalated": true, "resolved": true}

func (s *Store) loadEscalationWork(ctx context.Context, tx *sql.Tx, alertID int64, snapshot string) (klaxon.EscalationWork, error) {
	var w klaxon.EscalationWork
	var err error
	if w.Alert, err = s.alertByID(ctx, tx, alertID); err != nil {
		return w, err
	}
	if w.Service, err = serviceByID(ctx, tx, w.Alert.ServiceID); err != nil {
		return w, err
	}
	switch {
	case snapshot != "":
		var p klaxon.EscalationPolicy
		if err := json.Unmarshal([]byte(snapshot), &p); err != nil {
			return w, fmt.Errorf("store: escalation policy snapshot of alert %d: %w", alertID, err)
		}
		w.Policy, w.Snapshot = &p, true
	case w.Service.EscalationPolicyID != 0:
		p, err := policyByID(ctx, tx, w.Service.EscalationPolicyID)
		if err != nil {
			return w, err
		}
		w.Policy = &p
	}
	w.History = append(w.History, klaxon.AlertLogEntry{AlertID: alertID, At: w.Alert.CreatedAt, Kind: "triggered"})
	log, err := alertLog(ctx, tx, alertID)
	if err != nil {
		return w, err
	}
	for _, e := range log {
		if historyKinds[e.Kind] {
			w.History = append(w.History, e)
		}
	}
	w.Fired = map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT firing FROM escalation_firings WHERE alert_id = $1`, alertID)
	if err != nil {
		return w, fmt.Errorf("store: firings of alert %d: %w", alertID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return w, fmt.Errorf("store: firings of alert %d: %w", alertID, err)
		}
		w.Fired[key] = true
	}
	return w, rows.Err()
}

// CompleteEscalations applies what the engine decided for claimed
// escalations, all in one transaction, and releases their leases. An
// outcome whose lease owner no longer holds (it ran out and another node
// took the work over) is skipped, so nothing is applied twice; lost counts
// them. The new jobs already due at now come back leased to owner, loaded
// for sending: the engine sends them at once instead of claiming them in
// another transaction, which is most of the way from an event to a page.
//
// At most claimDue due jobs are claimed; the others stay pending, due, for
// the next claim.
func (s *Store) CompleteEscalations(ctx context.Context, owner string, outcomes []klaxon.EscalationOutcome, now time.Time, leaseFor time.Duration, claimDue int) (due []klaxon.NotificationJob, lost int, err error) {
	stamp := s.now()
	later := false
	err = s.claim(ctx, func(tx *sql.Tx) error { // not fsynced: see claim
		lost, later = 0, false
		var dueIDs []int64
		for i := range outcomes {
			o := &outcomes[i]
			applied, err := s.completeEscalation(ctx, tx, owner, o, stamp)
			if err != nil {
				return err
			}
			if !applied {
				lost++
				continue
			}
			for _, n := range o.Notifications {
				switch {
				case n.ID == 0: // decided before
				case !n.DueAt.After(now) && n.Status == klaxon.NotificationPending:
					dueIDs = append(dueIDs, n.ID)
				default:
					later = true
				}
			}
		}
		if len(dueIDs) > claimDue {
			dueIDs, later = dueIDs[:max(claimDue, 0)], true
		}
		if later {
			// Another node may have a free sender before this one.
			if err := s.notify(ctx, tx, channelWork); err != nil {
				return err
			}
		}
		due, err = s.leaseJobs(ctx, tx, owner, dueIDs, now, leaseFor)
		return err
	})
	if err != nil {
		return nil, lost, err
	}
	if later {
		s.signalWork() // the engine's next sleep must end by their due time
	}
	return due, lost, nil
}

func (s *Store) completeEscalation(ctx context.Context, tx *sql.Tx, owner string, o *klaxon.EscalationOutcome, now time.Time) (bool, error) {
	next := neverDue
	if !o.Next.IsZero() {
		next = toDB(o.Next)
	}
	var res sql.Result
	var err error
	if o.Done {
		res, err = tx.ExecContext(ctx, `DELETE FROM escalations WHERE alert_id = $1 AND lease_owner = $2`, o.AlertID, owner)
	} else {
		var snapshot sql.NullString
		if o.Policy != nil {
			b, err := json.Marshal(o.Policy)
			if err != nil {
				return false, fmt.Errorf("store: encode policy snapshot: %w", err)
			}
			snapshot = sql.NullString{String: string(b), Valid: true}
		}
		// The claim set due_at to the lease's end; a change of the alert
		// while the engine worked (even after the lease ran out) set it
		// to then. Keep that time, when it is earlier than the next
		// deadline, so the change is evaluated, not missed.
		res, err = tx.ExecContext(ctx, `UPDATE escalations SET policy = COALESCE($1, policy),
due_at = CASE WHEN due_at <> lease_until AND due_at < $2 THEN due_at ELSE $2 END, lease_owner = '', lease_until = 0
WHERE alert_id = $3 AND lease_owner = $4`, snapshot, next, o.AlertID, owner)
	}
	if err != nil {
		return false, fmt.Errorf("store: complete escalation of alert %d: %w", o.AlertID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	if o.Unacknowledge {
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET status = 'triggered', acknowledged_at = NULL WHERE id = $1 AND status = 'acknowledged'`, o.AlertID)
		if err != nil {
			return false, fmt.Errorf("store: unacknowledge alert %d: %w", o.AlertID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			a, err := s.alertByID(ctx, tx, o.AlertID)
			if err != nil {
				return false, err
			}
			if err := enqueueLifecycle(ctx, tx, a, klaxon.WebhookAlertUnacknowledged, "", now); err != nil {
				return false, err
			}
		}
	}
	for _, e := range o.Log {
		if err := s.logAlert(ctx, tx, o.AlertID, e.At, e.Kind, e.Actor, e.Message); err != nil {
			return false, err
		}
	}
	for _, f := range o.Fired {
		if _, err := tx.ExecContext(ctx, `INSERT INTO escalation_firings (alert_id, firing, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			o.AlertID, f.Key, toDB(f.At)); err != nil {
			return false, fmt.Errorf("store: record firing %s of alert %d: %w", f.Key, o.AlertID, err)
		}
	}
	for i := range o.Notifications {
		if err := insertNotification(ctx, tx, &o.Notifications[i], now); err != nil {
			return false, err
		}
	}
	if o.Done {
		return true, suppressPending(ctx, tx, o.AlertID, "alert resolved", now)
	}
	return true, nil
}
