package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Components that follow their linked service: Klaxon sets their state
// from the service's critical alerts. followed_state remembers what
// automation last applied, so that a state an admin set by hand during an
// outage is not overwritten when the alerts resolve.

// following is a following component and what automation wants for it.
type following struct {
	id, serviceID   int64
	state, followed klaxon.ComponentState
	desired         klaxon.ComponentState
	alertID         int64 // the oldest open critical alert; 0 for none
	followState     klaxon.ComponentState
}

// FollowServices applies the linked services' alerts to the components
// that follow them: a component's desired state is its FollowState while
// its service has an open (triggered or acknowledged) critical alert, else
// operational. When that differs from what automation last applied, an
// outage is applied at once, and a recovery only when the state is still
// the one automation set. Each change is a history row (source service,
// with the alert) at now. It returns how many components changed state.
func (s *Store) FollowServices(ctx context.Context, now time.Time) (int, error) {
	todo, err := followChanges(ctx, s.r)
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	changed := 0
	err = s.statusWrite(ctx, func(st *statusTx) error {
		st.changed, changed = false, 0
		todo, err := followChanges(ctx, st.tx) // again, holding the page's lock
		if err != nil {
			return err
		}
		for _, f := range todo {
			applied, err := s.follow(ctx, st, f, now)
			if err != nil {
				return err
			}
			if applied {
				changed++
				st.changed = true // only what the page shows bumps the generation
			}
		}
		return nil
	})
	return changed, err
}

// followChanges returns the following components whose desired state
// differs from what automation last applied.
func followChanges(ctx context.Context, q queryer) ([]following, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, service_id, state, followed_state, follow_state FROM status_components
WHERE follow_service = 1 AND service_id <> 0 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: following status components: %w", err)
	}
	var all []following
	for rows.Next() {
		var f following
		var state, followed, followState string
		if err := rows.Scan(&f.id, &f.serviceID, &state, &followed, &followState); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: following status components: %w", err)
		}
		f.state, f.followed, f.followState = klaxon.ComponentState(state), klaxon.ComponentState(followed), klaxon.ComponentState(followState)
		all = append(all, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: following status components: %w", err)
	}
	var out []following
	for _, f := range all {
		err := q.QueryRowContext(ctx, `SELECT id FROM alerts WHERE service_id = $1 AND status <> 'resolved' AND severity = 'critical' ORDER BY id LIMIT 1`,
			f.serviceID).Scan(&f.alertID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			f.desired = klaxon.ComponentOperational
		case err != nil:
			return nil, fmt.Errorf("store: open critical alerts of service %d: %w", f.serviceID, err)
		default:
			f.desired = f.followState
		}
		if f.desired != f.followed {
			out = append(out, f)
		}
	}
	return out, nil
}

// follow applies f in st and reports whether the component's state
// changed.
func (s *Store) follow(ctx context.Context, st *statusTx, f following, now time.Time) (bool, error) {
	apply := f.state != f.desired
	if f.desired == klaxon.ComponentOperational {
		// A recovery: only when nobody changed the state since automation
		// set it. The alert is the critical one that resolved last.
		apply = apply && f.state == f.followed
		err := st.tx.QueryRowContext(ctx, `SELECT id FROM alerts WHERE service_id = $1 AND status = 'resolved' AND severity = 'critical'
ORDER BY resolved_at DESC, id DESC LIMIT 1`, f.serviceID).Scan(&f.alertID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("store: resolved critical alerts of service %d: %w", f.serviceID, err)
		}
	}
	if apply {
		if err := recordChange(ctx, st, klaxon.ComponentChange{ComponentID: f.id, State: f.desired, At: now,
			Source: klaxon.ChangeService, AlertID: f.alertID, Actor: "system"}, 0); err != nil {
			return false, err
		}
	}
	if _, err := st.tx.ExecContext(ctx, `UPDATE status_components SET followed_state = $1 WHERE id = $2`, string(f.desired), f.id); err != nil {
		return false, fmt.Errorf("store: followed state of status component %d: %w", f.id, err)
	}
	return apply, s.audit(ctx, st.tx, "system", "status_component.follow", "status_component", f.id,
		auditJSON(map[string]any{"state": f.desired, "applied": apply, "alert_id": f.alertID}))
}
