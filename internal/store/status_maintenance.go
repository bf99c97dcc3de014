package store

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Scheduled maintenances: incidents with Maintenance set, which move
// themselves to in_progress at their start and to completed at their end
// (AdvanceMaintenances, run by every node).

// The messages of the automatic transitions, as Statuspage words them.
const (
	maintenanceStartedMessage   = "Scheduled maintenance is currently in progress. We will provide updates as necessary."
	maintenanceCompletedMessage = "The scheduled maintenance has been completed."
)

// CreateMaintenance schedules a maintenance on some components: status
// scheduled, impact maintenance, and a first update "scheduled" carrying
// m.Message and naming the components (their states unchanged until it
// starts).
func (s *Store) CreateMaintenance(ctx context.Context, actor string, m klaxon.NewMaintenance) (klaxon.StatusIncident, error) {
	if err := m.Validate(); err != nil {
		return klaxon.StatusIncident{}, err
	}
	var inc klaxon.StatusIncident
	err := s.statusWrite(ctx, func(st *statusTx) error {
		var id int64
		if err := st.tx.QueryRowContext(ctx, `INSERT INTO status_incidents (name, status, impact, maintenance, scheduled_for, scheduled_until,
created_at, updated_at, monitoring_at, resolved_at, postmortem, postmortem_published_at, written_at)
VALUES ($1, 'scheduled', 'maintenance', 1, $2, $3, $4, $4, 0, 0, '', 0, $4) RETURNING id`,
			m.Name, toDB(m.ScheduledFor), toDB(m.ScheduledUntil), toDB(st.now)).Scan(&id); err != nil {
			return fmt.Errorf("store: create maintenance: %w", err)
		}
		inc = klaxon.StatusIncident{ID: id, Status: klaxon.MaintenanceScheduled, Maintenance: true}
		if _, err := s.addUpdate(ctx, st, inc, updateSpec{status: klaxon.MaintenanceScheduled, body: m.Message, at: st.now,
			named: m.Components, actor: actor}); err != nil {
			return err
		}
		var err error
		if inc, err = incidentByID(ctx, st.tx, id); err != nil {
			return err
		}
		return s.audit(ctx, st.tx, actor, "status_maintenance.create", "status_incident", id,
			auditJSON(map[string]any{"name": m.Name, "scheduled_for": m.ScheduledFor, "scheduled_until": m.ScheduledUntil}))
	})
	return inc, err
}

// dueMaintenances selects the maintenances with a transition due at $1.
const dueMaintenances = ` FROM status_incidents WHERE status NOT IN ` + closedStatuses + ` AND maintenance = 1
AND ((status = 'scheduled' AND scheduled_for <= $1) OR (status IN ('in_progress', 'verifying') AND scheduled_until <= $1))`

// AdvanceMaintenances makes the page's timed transitions due at now (and
// publishes postmortems whose time has come): a scheduled
// maintenance whose start has come goes in_progress (its update placed at
// the start; its components under maintenance), and one in progress or
// verifying whose end has come is completed (at the end; its components
// back to operational unless something changed them since). Each
// transition is a conditional UPDATE, so that nodes running this at once
// make it once. It returns the next instant a transition falls due (zero
// when none is scheduled).
func (s *Store) AdvanceMaintenances(ctx context.Context, now time.Time) (time.Time, error) {
	var due int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*)`+dueMaintenances, toDB(now)).Scan(&due); err != nil {
		return time.Time{}, fmt.Errorf("store: due maintenances: %w", err)
	}
	if due > 0 {
		err := s.statusWrite(ctx, func(st *statusTx) error {
			st.changed = false
			ids, err := queryIDs(ctx, st.tx, `SELECT id`+dueMaintenances+` ORDER BY id`, toDB(now))
			if err != nil {
				return fmt.Errorf("store: due maintenances: %w", err)
			}
			for _, id := range ids {
				if err := s.advanceMaintenance(ctx, st, id, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return time.Time{}, err
		}
	}
	if err := s.publishPostmortems(ctx, now); err != nil {
		return time.Time{}, err
	}
	var next, postmortem *int64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(CASE WHEN status = 'scheduled' THEN scheduled_for ELSE scheduled_until END)
FROM status_incidents WHERE status NOT IN `+closedStatuses+` AND maintenance = 1`).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("store: next maintenance transition: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(postmortem_published_at)`+duePostmortems, neverDue).Scan(&postmortem); err != nil {
		return time.Time{}, fmt.Errorf("store: next postmortem: %w", err)
	}
	switch {
	case next == nil && postmortem == nil:
		return time.Time{}, nil
	case next == nil || (postmortem != nil && *postmortem < *next):
		next = postmortem
	}
	return fromDB(*next), nil
}

// duePostmortems are the resolved incidents whose postmortem is published
// at or before $1 but whose status does not say so yet.
const duePostmortems = ` FROM status_incidents WHERE status = 'resolved' AND postmortem_published_at <> 0 AND postmortem_published_at <= $1`

// publishPostmortems moves resolved incidents whose postmortem's
// publication time has come to the postmortem status (the page shows the
// postmortem from that instant too). Conditional, so safe on every node.
func (s *Store) publishPostmortems(ctx context.Context, now time.Time) error {
	var due int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*)`+duePostmortems, toDB(now)).Scan(&due); err != nil {
		return fmt.Errorf("store: due postmortems: %w", err)
	}
	if due == 0 {
		return nil
	}
	return s.statusWrite(ctx, func(st *statusTx) error {
		res, err := st.tx.ExecContext(ctx, `UPDATE status_incidents SET status = 'postmortem' WHERE status = 'resolved'
AND postmortem_published_at <> 0 AND postmortem_published_at <= $1`, toDB(now))
		if err != nil {
			return fmt.Errorf("store: publish postmortems: %w", err)
		}
		n, _ := res.RowsAffected()
		st.changed = n > 0
		return nil
	})
}

// advanceMaintenance makes the transitions of maintenance id due at now.
func (s *Store) advanceMaintenance(ctx context.Context, st *statusTx, id int64, now time.Time) error {
	inc, err := incidentByID(ctx, st.tx, id)
	if err != nil {
		return err
	}
	if inc.Status == klaxon.MaintenanceScheduled && !inc.ScheduledFor.After(now) {
		res, err := st.tx.ExecContext(ctx, `UPDATE status_incidents SET status = 'in_progress' WHERE id = $1 AND status = 'scheduled'`, id)
		if err != nil {
			return fmt.Errorf("store: start maintenance %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			set := map[int64]klaxon.ComponentState{}
			for _, c := range inc.Components {
				set[c] = klaxon.ComponentUnderMaintenance
			}
			if err := s.transition(ctx, st, inc, klaxon.MaintenanceInProgress, maintenanceStartedMessage, inc.ScheduledFor, set); err != nil {
				return err
			}
			if inc, err = incidentByID(ctx, st.tx, id); err != nil {
				return err
			}
		}
	}
	if (inc.Status == klaxon.MaintenanceInProgress || inc.Status == klaxon.MaintenanceVerifying) && !inc.ScheduledUntil.After(now) {
		res, err := st.tx.ExecContext(ctx, `UPDATE status_incidents SET status = 'completed' WHERE id = $1 AND status IN ('in_progress', 'verifying')`, id)
		if err != nil {
			return fmt.Errorf("store: complete maintenance %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return s.transition(ctx, st, inc, klaxon.MaintenanceCompleted, maintenanceCompletedMessage, inc.ScheduledUntil, nil)
		}
	}
	return nil
}

// transition adds an automatic update to a maintenance. It is placed at
// at, or after the maintenance's latest update when that is later (a
// maintenance scheduled in the past), so that it is the latest.
func (s *Store) transition(ctx context.Context, st *statusTx, inc klaxon.StatusIncident, status klaxon.IncidentStatus, body string,
	at time.Time, set map[int64]klaxon.ComponentState) error {
	if len(inc.Updates) > 0 && inc.Updates[0].DisplayAt.After(at) {
		at = inc.Updates[0].DisplayAt
	}
	updateID, err := s.addUpdate(ctx, st, inc, updateSpec{status: status, body: body, at: at, set: set, actor: "system"})
	if err != nil {
		return err
	}
	st.changed = true
	return s.audit(ctx, st.tx, "system", "status_maintenance."+string(status), "status_incident", inc.ID,
		auditJSON(map[string]any{"update_id": updateID}))
}
