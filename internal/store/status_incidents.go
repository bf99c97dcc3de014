package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Incidents and scheduled maintenances on the status page, and their
// updates. Every update goes through addUpdate, which stores the
// components it names (with their states before and after), writes their
// history, derives the incident's status and times from its updates, and
// creates the subscribers' deliveries, all in the update's transaction.

const incidentCols = `id, name, status, impact, maintenance, scheduled_for, scheduled_until, created_at, updated_at,
monitoring_at, resolved_at, postmortem, postmortem_published_at`

// closedStatuses is the SQL list of klaxon.IncidentStatus.Closed.
const closedStatuses = `('resolved', 'postmortem', 'completed')`

// importAge is how far in the past an update must be placed (with "at") to
// count as imported history: it is recorded, but sent to no subscriber.
const importAge = 24 * time.Hour

func scanIncident(row interface{ Scan(...any) error }) (klaxon.StatusIncident, error) {
	var i klaxon.StatusIncident
	var status, impact string
	var sFor, sUntil, created, updated, monitoring, resolved, published int64
	err := row.Scan(&i.ID, &i.Name, &status, &impact, &i.Maintenance, &sFor, &sUntil, &created, &updated,
		&monitoring, &resolved, &i.Postmortem, &published)
	i.Status, i.Impact = klaxon.IncidentStatus(status), klaxon.IncidentImpact(impact)
	i.ScheduledFor, i.ScheduledUntil = fromDB(sFor), fromDB(sUntil)
	i.CreatedAt, i.UpdatedAt, i.MonitoringAt, i.ResolvedAt = fromDB(created), fromDB(updated), fromDB(monitoring), fromDB(resolved)
	i.PostmortemPublishedAt = fromDB(published)
	return i, err
}

// incidentRow returns an incident's own row, without updates.
func incidentRow(ctx context.Context, q queryRower, id int64) (klaxon.StatusIncident, error) {
	i, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM status_incidents WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return i, klaxon.Errorf(klaxon.ENOTFOUND, "status incident %d not found", id)
	}
	if err != nil {
		return i, fmt.Errorf("store: status incident %d: %w", id, err)
	}
	return i, nil
}

// incidentByID returns an incident with its updates and components.
func incidentByID(ctx context.Context, q queryer, id int64) (klaxon.StatusIncident, error) {
	i, err := incidentRow(ctx, q, id)
	if err != nil {
		return i, err
	}
	list := []klaxon.StatusIncident{i}
	if err := loadIncidentDetails(ctx, q, list); err != nil {
		return i, err
	}
	return list[0], nil
}

// StatusIncident returns an incident or maintenance with its updates
// (newest first) and components (page order); ENOTFOUND when unknown.
func (s *Store) StatusIncident(ctx context.Context, id int64) (klaxon.StatusIncident, error) {
	return incidentByID(ctx, s.r, id)
}

// ListStatusIncidents returns incidents and maintenances, newest first (by
// id), with their updates.
func (s *Store) ListStatusIncidents(ctx context.Context, p klaxon.Page) ([]klaxon.StatusIncident, error) {
	p = p.Normalized()
	return queryIncidents(ctx, s.r, `WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
}

// queryIncidents returns the incidents where selects, with their updates
// and components.
func queryIncidents(ctx context.Context, q queryer, where string, args ...any) ([]klaxon.StatusIncident, error) {
	out, err := incidentRows(ctx, q, where, args...)
	if err != nil {
		return nil, err
	}
	return out, loadIncidentDetails(ctx, q, out)
}

// incidentRows returns the rows of the incidents where selects, without
// updates.
func incidentRows(ctx context.Context, q queryer, where string, args ...any) ([]klaxon.StatusIncident, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+incidentCols+` FROM status_incidents `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list status incidents: %w", err)
	}
	var out []klaxon.StatusIncident
	for rows.Next() {
		i, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list status incidents: %w", err)
		}
		out = append(out, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list status incidents: %w", err)
	}
	return out, nil
}

// CreateStatusIncident opens an incident with its first update, setting
// the states of n.Components. Its impact, when not given, follows from the
// worst state it sets.
func (s *Store) CreateStatusIncident(ctx context.Context, actor string, n klaxon.NewIncident) (klaxon.StatusIncident, error) {
	now := s.now()
	if err := n.Validate(now); err != nil {
		return klaxon.StatusIncident{}, err
	}
	if n.Impact == "" {
		n.Impact = impactOf(n.Components)
	}
	var inc klaxon.StatusIncident
	err := s.statusWrite(ctx, func(st *statusTx) error {
		at := placeAt(n.At, st.now)
		var id int64
		if err := st.tx.QueryRowContext(ctx, `INSERT INTO status_incidents (name, status, impact, maintenance, scheduled_for, scheduled_until,
created_at, updated_at, monitoring_at, resolved_at, postmortem, postmortem_published_at, written_at)
VALUES ($1, $2, $3, 0, 0, 0, $4, $4, 0, 0, '', 0, $5) RETURNING id`, n.Name, string(n.Status), string(n.Impact), toDB(at), toDB(st.now)).Scan(&id); err != nil {
			return fmt.Errorf("store: create status incident: %w", err)
		}
		inc = klaxon.StatusIncident{ID: id, Status: n.Status}
		if _, err := s.addUpdate(ctx, st, inc, updateSpec{status: n.Status, body: n.Message, at: at,
			imported: !n.At.IsZero() && st.now.Sub(n.At) > importAge, set: n.Components, actor: actor}); err != nil {
			return err
		}
		var err error
		if inc, err = incidentByID(ctx, st.tx, id); err != nil {
			return err
		}
		return s.audit(ctx, st.tx, actor, "status_incident.create", "status_incident", id,
			auditJSON(map[string]any{"name": n.Name, "status": n.Status, "impact": n.Impact}))
	})
	return inc, err
}

// impactOf is the impact of an incident setting these states: the worst
// one decides.
func impactOf(states map[int64]klaxon.ComponentState) klaxon.IncidentImpact {
	worst := klaxon.ComponentOperational
	for _, s := range states {
		if s.Rank() > worst.Rank() {
			worst = s
		}
	}
	switch worst {
	case klaxon.ComponentMajorOutage:
		return klaxon.ImpactCritical
	case klaxon.ComponentPartialOutage:
		return klaxon.ImpactMajor
	case klaxon.ComponentDegraded:
		return klaxon.ImpactMinor
	}
	return klaxon.ImpactNone
}

// placeAt is an update's display time: at, or now when at is zero or
// (within the minute Validate allows for clock skew) in the future.
func placeAt(at, now time.Time) time.Time {
	if at.IsZero() || at.After(now) {
		return now
	}
	return at.UTC().Truncate(time.Microsecond)
}

// AddIncidentUpdate adds an update to an incident or maintenance and
// returns both. The status must be one of the incident's kind; empty keeps
// the current one.
func (s *Store) AddIncidentUpdate(ctx context.Context, actor string, incidentID int64, u klaxon.NewIncidentUpdate) (klaxon.StatusIncident, klaxon.IncidentUpdate, error) {
	now := s.now()
	if err := u.Validate(now); err != nil {
		return klaxon.StatusIncident{}, klaxon.IncidentUpdate{}, err
	}
	var inc klaxon.StatusIncident
	var upd klaxon.IncidentUpdate
	err := s.statusWrite(ctx, func(st *statusTx) error {
		var err error
		if inc, err = incidentRow(ctx, st.tx, incidentID); err != nil {
			return err
		}
		status := u.Status
		if status == "" {
			status = inc.Status
		}
		if !status.ValidFor(inc.Maintenance) {
			if inc.Maintenance {
				return klaxon.FieldError("status", "a maintenance's status must be scheduled, in_progress, verifying or completed, not %q", status)
			}
			return klaxon.FieldError("status", "an incident's status must be investigating, identified, monitoring, resolved or postmortem, not %q", status)
		}
		updateID, err := s.addUpdate(ctx, st, inc, updateSpec{status: status, body: u.Message, at: placeAt(u.At, st.now),
			imported: !u.At.IsZero() && st.now.Sub(u.At) > importAge, set: u.Components, actor: actor})
		if err != nil {
			return err
		}
		if inc, err = incidentByID(ctx, st.tx, incidentID); err != nil {
			return err
		}
		for _, x := range inc.Updates {
			if x.ID == updateID {
				upd = x
			}
		}
		return s.audit(ctx, st.tx, actor, "status_incident.update", "status_incident", incidentID,
			auditJSON(map[string]any{"update_id": updateID, "status": status}))
	})
	return inc, upd, err
}

// updateSpec is an update to add.
type updateSpec struct {
	status klaxon.IncidentStatus
	body   string
	at     time.Time
	// imported updates are history: no subscriber is sent them.
	imported bool
	// set changes components' states; named lists components the update
	// concerns without changing them (a maintenance's, when scheduled).
	set   map[int64]klaxon.ComponentState
	named []int64
	actor string
}

// addUpdate adds an update to inc (as it was before) in st, and returns its
// id.
func (s *Store) addUpdate(ctx context.Context, st *statusTx, inc klaxon.StatusIncident, u updateSpec) (int64, error) {
	for _, id := range append(slices.Collect(maps.Keys(u.set)), u.named...) {
		if err := mustBeComponent(ctx, st.tx, id); err != nil {
			return 0, err
		}
	}
	var updateID int64
	if err := st.tx.QueryRowContext(ctx, `INSERT INTO status_incident_updates (incident_id, status, body, display_at, created_at)
VALUES ($1, $2, $3, $4, $5) RETURNING id`, inc.ID, string(u.status), u.body, toDB(u.at), toDB(st.now)).Scan(&updateID); err != nil {
		return 0, fmt.Errorf("store: add update to status incident %d: %w", inc.ID, err)
	}
	source := klaxon.ChangeIncident
	if inc.Maintenance {
		source = klaxon.ChangeMaintenance
	}
	set, owner := u.set, map[int64]int64{}
	if u.status.Closed() && len(set) == 0 && len(u.named) == 0 {
		// Over, naming nothing: what this incident did is undone.
		var err error
		if set, owner, err = componentsLeftBy(ctx, st.tx, inc.ID, u.at); err != nil {
			return 0, err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(set)) {
		if err := affect(ctx, st, inc.ID, updateID, id, set[id], true, restoredChange(id, set[id], u.at, source, inc.ID, owner[id], u.actor)); err != nil {
			return 0, err
		}
	}
	for _, id := range u.named {
		if err := affect(ctx, st, inc.ID, updateID, id, "", false, klaxon.ComponentChange{}); err != nil {
			return 0, err
		}
	}
	if len(u.set) > 0 && !u.status.Closed() {
		if err := closeAgain(ctx, st, inc.ID, u.at, slices.Collect(maps.Keys(u.set)), source, u.actor); err != nil {
			return 0, err
		}
	}
	if err := deriveIncident(ctx, st.tx, inc.ID, st.now); err != nil {
		return 0, err
	}
	if u.imported {
		return updateID, nil
	}
	n, err := enqueueUpdateDeliveries(ctx, st.tx, inc.ID, updateID, st.now)
	if err != nil {
		return 0, err
	}
	st.delivered = st.delivered || n > 0
	return updateID, nil
}

// mustBeComponent answers an unknown component, or a group (whose state is
// computed), as a 400 naming the field components.
func mustBeComponent(ctx context.Context, q queryRower, id int64) error {
	var group bool
	err := q.QueryRowContext(ctx, `SELECT is_group FROM status_components WHERE id = $1`, id).Scan(&group)
	if errors.Is(err, sql.ErrNoRows) {
		return klaxon.FieldError("components", "status component %d does not exist", id)
	}
	if err != nil {
		return fmt.Errorf("store: status component %d: %w", id, err)
	}
	if group {
		return klaxon.FieldError("components", "%d is a group, whose state is computed from its components; name those", id)
	}
	return nil
}

// affect records that an update named a component: with its state before
// and after (set), or unchanged. A change is a history row.
func affect(ctx context.Context, st *statusTx, incidentID, updateID, componentID int64, state klaxon.ComponentState, set bool, ch klaxon.ComponentChange) error {
	at := ch.At
	if !set {
		at = st.now
	}
	old, _, err := stateAt(ctx, st.tx, componentID, at)
	if err != nil {
		return err
	}
	if !set {
		state = old
	}
	if _, err := st.tx.ExecContext(ctx, `INSERT INTO status_update_components (update_id, incident_id, component_id, old_state, new_state)
VALUES ($1, $2, $3, $4, $5)`, updateID, incidentID, componentID, string(old), string(state)); err != nil {
		return fmt.Errorf("store: components of status update %d: %w", updateID, err)
	}
	if !set || old == state {
		return nil
	}
	return recordChange(ctx, st, ch, updateID)
}

// componentsLeftBy returns the components of incident id whose latest
// change at or before at came from it and left them not operational, each
// with the state it returns to: the state it had before the incident first
// changed it when another incident or maintenance that is not over set
// that state (a maintenance ending during an outage leaves the outage
// shown), operational otherwise (as an admin closing an incident on
// Statuspage would set it). owner names, for a state restored that way,
// the incident it belongs to again.
func componentsLeftBy(ctx context.Context, tx *sql.Tx, id int64, at time.Time) (set map[int64]klaxon.ComponentState, owner map[int64]int64, err error) {
	ids, err := queryIDs(ctx, tx, `SELECT DISTINCT component_id FROM status_update_components WHERE incident_id = $1 ORDER BY component_id`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("store: components of status incident %d: %w", id, err)
	}
	set, owner = map[int64]klaxon.ComponentState{}, map[int64]int64{}
	for _, c := range ids {
		state, by, err := stateAt(ctx, tx, c, at)
		if err != nil {
			return nil, nil, err
		}
		if by == id && state != klaxon.ComponentOperational {
			if set[c], owner[c], err = stateBefore(ctx, tx, c, id); err != nil {
				return nil, nil, err
			}
		}
	}
	return set, owner, nil
}

// stateBefore is the state component c returns to when incident id is
// over, and the open incident or maintenance that set it (0 for none): the
// state in force just before id first changed it, if such an incident set
// it; operational otherwise.
func stateBefore(ctx context.Context, tx *sql.Tx, c, id int64) (klaxon.ComponentState, int64, error) {
	var state string
	var by int64
	var open bool
	err := tx.QueryRowContext(ctx, `SELECT h.state, h.incident_id, i.status NOT IN `+closedStatuses+`
FROM status_component_changes h JOIN status_incidents i ON i.id = h.incident_id
WHERE h.component_id = $1 AND h.id = (
  SELECT p.id FROM status_component_changes p, status_component_changes f
  WHERE p.component_id = $1 AND f.id = (SELECT id FROM status_component_changes WHERE component_id = $1 AND incident_id = $2 ORDER BY at, id LIMIT 1)
  AND (p.at < f.at OR (p.at = f.at AND p.id < f.id))
  ORDER BY p.at DESC, p.id DESC LIMIT 1)`, c, id).Scan(&state, &by, &open)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !open) {
		return klaxon.ComponentOperational, 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("store: state of status component %d before incident %d: %w", c, id, err)
	}
	return klaxon.ComponentState(state), by, nil
}

// restoredChange is the history row of component c going to state at at,
// as incident id (of source) closes: a state restored for another open
// incident (owner) is that incident's again, so that its own close undoes
// it.
func restoredChange(c int64, state klaxon.ComponentState, at time.Time, source string, id, owner int64, actor string) klaxon.ComponentChange {
	ch := klaxon.ComponentChange{ComponentID: c, State: state, At: at, Source: source, IncidentID: id, Actor: actor}
	if owner != 0 {
		ch.IncidentID, ch.Source = owner, klaxon.ChangeIncident
	}
	return ch
}

// closeAgain keeps a closed incident closed when an update placed before
// its close (an import that arrives out of order) changes components: the
// first closing update after at undoes, at its own time, what the new
// update did, as it would have had the updates come in order.
func closeAgain(ctx context.Context, st *statusTx, id int64, at time.Time, components []int64, source, actor string) error {
	var closeID, closeAt int64
	err := st.tx.QueryRowContext(ctx, `SELECT id, display_at FROM status_incident_updates WHERE incident_id = $1 AND display_at > $2
AND status IN `+closedStatuses+` ORDER BY display_at, id LIMIT 1`, id, toDB(at)).Scan(&closeID, &closeAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: close of status incident %d: %w", id, err)
	}
	left, owner, err := componentsLeftBy(ctx, st.tx, id, fromDB(closeAt))
	if err != nil {
		return err
	}
	for _, c := range slices.Sorted(slices.Values(components)) {
		target, ok := left[c]
		if !ok {
			continue
		}
		var named int
		if err := st.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM status_update_components WHERE update_id = $1 AND component_id = $2`,
			closeID, c).Scan(&named); err != nil {
			return fmt.Errorf("store: components of status update %d: %w", closeID, err)
		}
		if named > 0 {
			continue // the close said what this component became
		}
		if err := affect(ctx, st, id, closeID, c, target, true, restoredChange(c, target, fromDB(closeAt), source, id, owner[c], actor)); err != nil {
			return err
		}
	}
	return nil
}

// deriveIncident sets an incident's status and times from its updates in
// display order: the latest decides the status (a postmortem published by
// now turns resolved into postmortem; one published later does so then,
// through AdvanceMaintenances), the first is when it began.
func deriveIncident(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT status, display_at FROM status_incident_updates WHERE incident_id = $1 ORDER BY display_at, id`, id)
	if err != nil {
		return fmt.Errorf("store: updates of status incident %d: %w", id, err)
	}
	var status klaxon.IncidentStatus
	var created, updated, monitoring, resolved int64
	for rows.Next() {
		var s string
		var at int64
		if err := rows.Scan(&s, &at); err != nil {
			rows.Close()
			return fmt.Errorf("store: updates of status incident %d: %w", id, err)
		}
		prev := status
		status = klaxon.IncidentStatus(s)
		if created == 0 {
			created = at
		}
		updated = at
		switch {
		case status.Closed() && !prev.Closed():
			resolved = at
		case !status.Closed():
			resolved = 0
		}
		switch status {
		case klaxon.IncidentMonitoring:
			if monitoring == 0 {
				monitoring = at
			}
		case klaxon.IncidentInvestigating, klaxon.IncidentIdentified:
			monitoring = 0
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: updates of status incident %d: %w", id, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE status_incidents SET
status = CASE WHEN $1 = 'resolved' AND postmortem_published_at <> 0 AND postmortem_published_at <= $7 THEN 'postmortem' ELSE $1 END,
created_at = $2, updated_at = $3, monitoring_at = $4, resolved_at = $5 WHERE id = $6`,
		string(status), created, updated, monitoring, resolved, id, toDB(now))
	if err != nil {
		return fmt.Errorf("store: derive status incident %d: %w", id, err)
	}
	return nil
}

// SetPostmortem writes an incident's postmortem. Publishing it (a
// PublishedAt) turns a resolved incident's status to postmortem; taking
// the publication back turns it to resolved again.
func (s *Store) SetPostmortem(ctx context.Context, actor string, incidentID int64, pm klaxon.Postmortem) (klaxon.StatusIncident, error) {
	if err := pm.Validate(); err != nil {
		return klaxon.StatusIncident{}, err
	}
	var inc klaxon.StatusIncident
	err := s.statusWrite(ctx, func(st *statusTx) error {
		if _, err := incidentRow(ctx, st.tx, incidentID); err != nil {
			return err
		}
		published := toDB(pm.PublishedAt.UTC().Truncate(time.Microsecond))
		if _, err := st.tx.ExecContext(ctx, `UPDATE status_incidents SET postmortem = $1, postmortem_published_at = $2 WHERE id = $3`,
			pm.Body, published, incidentID); err != nil {
			return fmt.Errorf("store: postmortem of status incident %d: %w", incidentID, err)
		}
		if err := deriveIncident(ctx, st.tx, incidentID, st.now); err != nil {
			return err
		}
		var err error
		if inc, err = incidentByID(ctx, st.tx, incidentID); err != nil {
			return err
		}
		return s.audit(ctx, st.tx, actor, "status_incident.postmortem", "status_incident", incidentID,
			auditJSON(map[string]any{"published_at": pm.PublishedAt}))
	})
	return inc, err
}
