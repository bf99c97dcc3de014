package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

const alertColumns = `id, service_id, dedup_key, status, severity, urgency, summary, source, component, grp, class, event_count, created_at, acknowledged_at, resolved_at, last_event_at`

func scanAlert(row interface{ Scan(...any) error }) (klaxon.Alert, error) {
	var a klaxon.Alert
	var status, severity, urgency string
	var created, last int64
	var acked, resolved sql.NullInt64
	err := row.Scan(&a.ID, &a.ServiceID, &a.DedupKey, &status, &severity, &urgency, &a.Summary, &a.Source, &a.Component,
		&a.Group, &a.Class, &a.EventCount, &created, &acked, &resolved, &last)
	a.Status, a.Severity, a.Urgency = klaxon.AlertStatus(status), klaxon.Severity(severity), klaxon.Urgency(urgency)
	a.CreatedAt, a.LastEventAt = fromDB(created), fromDB(last)
	a.AcknowledgedAt, a.ResolvedAt = nullTime(acked), nullTime(resolved)
	return a, err
}

// ListAlerts returns alerts matching f, newest first.
func (s *Store) ListAlerts(ctx context.Context, f klaxon.AlertFilter) ([]klaxon.Alert, error) {
	p := f.Page.Normalized()
	defer s.folds.reading()()
	rows, err := s.r.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts
WHERE id < $1 AND ($2 = '' OR status = $2) AND (CAST($3 AS BIGINT) = 0 OR service_id = $3) AND created_at >= $4
ORDER BY id DESC LIMIT $5`, p.Before, string(f.Status), f.ServiceID, toDB(f.Since), p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list alerts: %w", err)
	}
	defer rows.Close()
	var out []klaxon.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list alerts: %w", err)
		}
		s.folds.overlay(&a)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Alert returns one alert, or ENOTFOUND.
func (s *Store) Alert(ctx context.Context, id int64) (klaxon.Alert, error) {
	return s.alertByID(ctx, s.r, id)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryer is a *sql.DB or a *sql.Tx, for reads that run inside or outside a
// transaction.
type queryer interface {
	queryRower
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// alertByID reads an alert, with the event counts folded in memory and not
// yet written to its row (folds.go).
func (s *Store) alertByID(ctx context.Context, q queryRower, id int64) (klaxon.Alert, error) {
	defer s.folds.reading()()
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	s.folds.overlay(&a)
	if errors.Is(err, sql.ErrNoRows) {
		return a, klaxon.Errorf(klaxon.ENOTFOUND, "alert %d not found", id)
	}
	if err != nil {
		return a, fmt.Errorf("store: alert %d: %w", id, err)
	}
	return a, nil
}

// MaxAlertEvents bounds the events AlertEvents returns.
const MaxAlertEvents = 100

// AlertEvents returns the newest events of an alert, newest first, at most
// MaxAlertEvents of them.
func (s *Store) AlertEvents(ctx context.Context, alertID int64) ([]klaxon.Event, error) {
	if s.folds != nil {
		return s.alertEventsListed(ctx, alertID)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE alert_id = $1 ORDER BY id DESC LIMIT $2`, alertID, MaxAlertEvents)
	if err != nil {
		return nil, fmt.Errorf("store: alert events: %w", err)
	}
	return scanEvents(rows)
}

const eventColumns = `id, alert_id, service_id, integration_id, action, dedup_key, severity, summary, source, component, grp, class, extra, ts, received_at`

// alertEventsListed is AlertEvents on SQLite, which has no index on
// events (alert_id): the ids come from the alert's lists and from memory
// (folds.go), the events by their ids.
func (s *Store) alertEventsListed(ctx context.Context, alertID int64) ([]klaxon.Event, error) {
	ids, err := s.alertEventIDs(ctx, alertID)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	args := make([]any, len(ids), len(ids)+1)
	marks := make([]string, len(ids))
	for i, id := range ids {
		args[i], marks[i] = id, "$"+strconv.Itoa(i+1)
	}
	// alert_id too: an id listed wrongly can only lose an event, never
	// show another alert's.
	args = append(args, alertID)
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id IN (`+strings.Join(marks, ",")+`) AND alert_id = $`+strconv.Itoa(len(args))+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alert events: %w", err)
	}
	return scanEvents(rows)
}

// alertEventIDs returns the ids of the newest MaxAlertEvents events of an
// alert, newest first: those still in memory, then the lists, newest list
// first. The lists needed are read while holding off commits that move ids
// from memory to lists, and decoded after.
func (s *Store) alertEventIDs(ctx context.Context, alertID int64) ([]int64, error) {
	ids, lists, err := s.alertEventIDsRead(ctx, alertID)
	if err != nil {
		return nil, err
	}
	for _, list := range lists {
		listed, err := decodeIDs(list)
		if err != nil {
			return nil, err
		}
		slices.Sort(listed)
		for i := len(listed) - 1; i >= 0 && len(ids) < MaxAlertEvents; i-- {
			ids = append(ids, listed[i])
		}
	}
	return ids, nil
}

func (s *Store) alertEventIDsRead(ctx context.Context, alertID int64) (ids []int64, lists []string, err error) {
	defer s.folds.reading()()
	ids = s.folds.eventIDs(alertID)
	if len(ids) >= MaxAlertEvents {
		return ids[:MaxAlertEvents], nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT n, ids FROM alert_event_ids WHERE alert_id = $1 ORDER BY first_id DESC`, alertID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: alert event ids: %w", err)
	}
	defer rows.Close()
	for have := len(ids); have < MaxAlertEvents && rows.Next(); {
		var n int
		var list string
		if err := rows.Scan(&n, &list); err != nil {
			return nil, nil, fmt.Errorf("store: alert event ids: %w", err)
		}
		lists, have = append(lists, list), have+n
	}
	return ids, lists, rows.Err()
}

func scanEvents(rows *sql.Rows) ([]klaxon.Event, error) {
	defer rows.Close()
	var out []klaxon.Event
	for rows.Next() {
		var ev klaxon.Event
		var action, severity, extra string
		var ts, received int64
		if err := rows.Scan(&ev.ID, &ev.AlertID, &ev.ServiceID, &ev.IntegrationID, &action, &ev.DedupKey, &severity, &ev.Summary,
			&ev.Source, &ev.Component, &ev.Group, &ev.Class, &extra, &ts, &received); err != nil {
			return nil, fmt.Errorf("store: alert events: %w", err)
		}
		if err := readEvent(&ev, severity, extra); err != nil {
			return nil, err
		}
		ev.Action = klaxon.Action(action)
		ev.Timestamp, ev.ReceivedAt = fromDB(ts), fromDB(received)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// AlertLog returns what happened to an alert (acknowledged, resolved,
// escalated, notes), oldest first.
func (s *Store) AlertLog(ctx context.Context, alertID int64) ([]klaxon.AlertLogEntry, error) {
	return alertLog(ctx, s.r, alertID)
}

func alertLog(ctx context.Context, q queryer, alertID int64) ([]klaxon.AlertLogEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, alert_id, at, kind, actor, message FROM alert_log WHERE alert_id = $1 ORDER BY id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("store: alert log: %w", err)
	}
	defer rows.Close()
	var out []klaxon.AlertLogEntry
	for rows.Next() {
		var e klaxon.AlertLogEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.AlertID, &at, &e.Kind, &e.Actor, &e.Message); err != nil {
			return nil, fmt.Errorf("store: alert log: %w", err)
		}
		e.At = fromDB(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AcknowledgeAlert acknowledges an alert on a person's or tool's behalf.
// Acknowledging an acknowledged alert changes nothing; a resolved alert
// cannot be acknowledged (ECONFLICT).
func (s *Store) AcknowledgeAlert(ctx context.Context, actor string, id int64) (klaxon.Alert, error) {
	return s.ChangeAlert(ctx, actor, id, klaxon.AlertAcknowledged, "")
}

// ResolveAlert resolves an alert. Resolving a resolved alert changes nothing.
func (s *Store) ResolveAlert(ctx context.Context, actor string, id int64) (klaxon.Alert, error) {
	return s.ChangeAlert(ctx, actor, id, klaxon.AlertResolved, "")
}

// ChangeAlert acknowledges or resolves an alert, recording how in the
// alert's log ("from an email link"), and wakes its escalation so that it
// stops (or, with an acknowledgement timeout, knows when to resume).
func (s *Store) ChangeAlert(ctx context.Context, actor string, id int64, to klaxon.AlertStatus, how string) (klaxon.Alert, error) {
	return s.Respond(ctx, klaxon.Response{AlertID: id, Actor: actor, To: to, How: how})
}

// EscalateAlert moves a triggered alert's escalation to its next step now,
// instead of at the step's deadline. An acknowledged or resolved alert
// cannot be escalated (ECONFLICT): acknowledge means someone has it.
func (s *Store) EscalateAlert(ctx context.Context, actor string, id int64, how string) (klaxon.Alert, error) {
	return s.Respond(ctx, klaxon.Response{AlertID: id, Actor: actor, Escalate: true, How: how})
}

// Respond applies one response to an alert in one transaction: the
// single-use link it came through (if any) is spent, the alert changes, the
// change is logged and audited, and the alert's escalation is woken. A link
// already spent is ECONFLICT and changes nothing.
func (s *Store) Respond(ctx context.Context, r klaxon.Response) (klaxon.Alert, error) {
	var a klaxon.Alert
	changed := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if len(r.OnceKey) > 0 {
			_, err := tx.ExecContext(ctx, `INSERT INTO response_links_used (link_hash, used_at) VALUES ($1, $2)`, r.OnceKey, toDB(now))
			if isUniqueViolation(err) {
				return klaxon.ErrResponseSpent
			}
			if err != nil {
				return fmt.Errorf("store: spend response link: %w", err)
			}
		}
		var err error
		if a, err = s.alertByID(ctx, tx, r.AlertID); err != nil {
			return err
		}
		kind := "escalated"
		if r.Escalate {
			changed, err = true, escalateTx(&a)
		} else {
			kind = string(r.To)
			changed, err = s.changeTx(ctx, tx, &a, r.To, now)
		}
		if err != nil || !changed {
			return err
		}
		if err := s.logAlert(ctx, tx, a.ID, now, kind, r.Actor, r.How); err != nil {
			return err
		}
		if err := enqueueLifecycle(ctx, tx, a, responseEvent(kind), r.Actor, now); err != nil {
			return err
		}
		if err := wakeEscalation(ctx, tx, a.ID, now); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, channelWork); err != nil {
			return err
		}
		return s.audit(ctx, tx, r.Actor, "alert."+verbFor(kind), "alert", a.ID, "")
	})
	if err == nil && changed {
		s.signalWork()
	}
	return a, err
}

func escalateTx(a *klaxon.Alert) error {
	if a.Status != klaxon.AlertTriggered {
		return klaxon.Errorf(klaxon.ECONFLICT, "alert %d is %s; only a triggered alert can be escalated", a.ID, a.Status)
	}
	return nil
}

// changeTx moves a to status to, in tx, and reports whether that changed
// anything: moving to the status it has already is not a change.
func (s *Store) changeTx(ctx context.Context, tx *sql.Tx, a *klaxon.Alert, to klaxon.AlertStatus, now time.Time) (bool, error) {
	switch {
	case a.Status == to:
		return false, nil
	case a.Status == klaxon.AlertResolved:
		return false, klaxon.Errorf(klaxon.ECONFLICT, "alert %d is resolved and cannot be %s", a.ID, to)
	}
	var res sql.Result
	var err error
	if to == klaxon.AlertAcknowledged {
		a.AcknowledgedAt = &now
		res, err = tx.ExecContext(ctx, `UPDATE alerts SET status = 'acknowledged', acknowledged_at = $1 WHERE id = $2 AND status = 'triggered'`, toDB(now), a.ID)
	} else {
		a.ResolvedAt = &now
		res, err = tx.ExecContext(ctx, `UPDATE alerts SET status = 'resolved', resolved_at = $1 WHERE id = $2 AND status <> 'resolved'`, toDB(now), a.ID)
	}
	if err != nil {
		return false, fmt.Errorf("store: %s alert %d: %w", to, a.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, klaxon.Errorf(klaxon.ECONFLICT, "alert %d changed while being %s; retry", a.ID, to)
	}
	if to == klaxon.AlertResolved {
		s.folds.forget(a.ServiceID, a.DedupKey) // in the transaction: no group may fold into it after
	}
	a.Status = to
	return true, nil
}

func verbFor(kind string) string {
	switch kind {
	case "acknowledged":
		return "acknowledge"
	case "escalated":
		return "escalate"
	}
	return "resolve"
}

func (s *Store) logAlert(ctx context.Context, tx *sql.Tx, alertID int64, at time.Time, kind, actor, message string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_log (alert_id, at, kind, actor, message) VALUES ($1, $2, $3, $4, $5)`,
		alertID, toDB(at), kind, actor, message); err != nil {
		return fmt.Errorf("store: alert log: %w", err)
	}
	return nil
}

// AddAlertNote records a note on an alert.
func (s *Store) AddAlertNote(ctx context.Context, actor string, alertID int64, body string) (klaxon.AlertLogEntry, error) {
	e := klaxon.AlertLogEntry{AlertID: alertID, At: s.now(), Kind: "note", Actor: actor, Message: body}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.alertByID(ctx, tx, alertID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO alert_log (alert_id, at, kind, actor, message) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			alertID, toDB(e.At), e.Kind, actor, body).Scan(&e.ID); err != nil {
			return fmt.Errorf("store: add note: %w", err)
		}
		return s.audit(ctx, tx, actor, "alert.note", "alert", alertID, "")
	})
	return e, err
}

// auditJSON renders an audit detail; it never fails on the simple maps the
// store passes.
func auditJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
