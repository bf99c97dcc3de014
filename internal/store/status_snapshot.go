package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// What the public page shows, read at one instant; and the loading of
// incidents' updates and components, shared by every read of incidents.

// snapshotMaxClosed is how many closed incidents the snapshot holds at
// most: the most recently updated, however old, so that history imported
// from another page shows in full (the page renders them all at every
// change; a thousand keeps that under a few milliseconds).
const snapshotMaxClosed = 1000

// StatusSnapshot reads everything the public page shows in one read
// transaction: the page, the components in page order, the incidents to
// show (every one not over, and the 1,000 closed ones updated last)
// newest first with their updates, each component's
// history since since (with its last change before), and the generation.
func (s *Store) StatusSnapshot(ctx context.Context, since time.Time) (klaxon.StatusSnapshot, error) {
	var snap klaxon.StatusSnapshot
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect.name == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead // one instant for every query
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return snap, fmt.Errorf("store: status snapshot: %w", err)
	}
	defer tx.Rollback()
	now := s.now()
	snap.ReadAt, snap.HistorySince = now, since.UTC().Truncate(time.Microsecond)
	if err := tx.QueryRowContext(ctx, `SELECT generation FROM status_page WHERE id = 1`).Scan(&snap.Generation); err != nil {
		return snap, fmt.Errorf("store: status snapshot: %w", err)
	}
	if snap.Page, err = statusPage(ctx, tx); err != nil {
		return snap, err
	}
	if snap.Components, err = listComponents(ctx, tx); err != nil {
		return snap, err
	}
	open, err := incidentRows(ctx, tx, `WHERE status NOT IN `+closedStatuses+` ORDER BY id`)
	if err != nil {
		return snap, err
	}
	closed, err := incidentRows(ctx, tx, `WHERE status IN `+closedStatuses+` ORDER BY updated_at DESC, id DESC LIMIT $1`, snapshotMaxClosed)
	if err != nil {
		return snap, err
	}
	snap.Incidents = append(open, closed...)
	slices.SortFunc(snap.Incidents, func(a, b klaxon.StatusIncident) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	// The details of all of them at once, with the components read above.
	if err := incidentDetails(ctx, tx, snap.Incidents, snap.Components); err != nil {
		return snap, err
	}
	for _, c := range snap.Components {
		before, err := queryChanges(ctx, tx, `WHERE component_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT 1`, c.ID, toDB(snap.HistorySince))
		if err != nil {
			return snap, err
		}
		snap.History = append(snap.History, before...)
	}
	after, err := queryChanges(ctx, tx, `WHERE at >= $1 ORDER BY at, id`, toDB(snap.HistorySince))
	if err != nil {
		return snap, err
	}
	snap.History = append(snap.History, after...)
	return snap, tx.Commit()
}

// loadIncidentDetails fills in the updates (newest first, with the
// components each named, in page order) and components (page order) of
// incs, a few queries for all of them.
func loadIncidentDetails(ctx context.Context, q queryer, incs []klaxon.StatusIncident) error {
	if len(incs) == 0 {
		return nil
	}
	comps, err := listComponents(ctx, q)
	if err != nil {
		return err
	}
	return incidentDetails(ctx, q, incs, comps)
}

// incidentDetails is loadIncidentDetails with the components, in page
// order, already read.
func incidentDetails(ctx context.Context, q queryer, incs []klaxon.StatusIncident, comps []klaxon.StatusComponent) error {
	if len(incs) == 0 {
		return nil
	}
	order, names := map[int64]int{}, map[int64]string{}
	for i, c := range comps {
		order[c.ID], names[c.ID] = i, c.Name
	}
	byID := map[int64]*klaxon.StatusIncident{}
	ids := make([]int64, len(incs))
	for i := range incs {
		incs[i].Updates, incs[i].Components = nil, nil
		byID[incs[i].ID], ids[i] = &incs[i], incs[i].ID
	}
	updates := map[int64]*klaxon.IncidentUpdate{}
	var updateOrder []int64
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		in, args := inList(part)
		rows, err := q.QueryContext(ctx, `SELECT id, incident_id, status, body, display_at, created_at FROM status_incident_updates
WHERE incident_id IN (`+in+`) ORDER BY display_at DESC, id DESC`, args...)
		if err != nil {
			return fmt.Errorf("store: status incident updates: %w", err)
		}
		for rows.Next() {
			u := &klaxon.IncidentUpdate{}
			var status string
			var display, created int64
			if err := rows.Scan(&u.ID, &u.IncidentID, &status, &u.Body, &display, &created); err != nil {
				rows.Close()
				return fmt.Errorf("store: status incident updates: %w", err)
			}
			u.Status, u.DisplayAt, u.CreatedAt = klaxon.IncidentStatus(status), fromDB(display), fromDB(created)
			updates[u.ID] = u
			updateOrder = append(updateOrder, u.ID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: status incident updates: %w", err)
		}
		rows, err = q.QueryContext(ctx, `SELECT update_id, component_id, old_state, new_state FROM status_update_components
WHERE incident_id IN (`+in+`)`, args...)
		if err != nil {
			return fmt.Errorf("store: status update components: %w", err)
		}
		for rows.Next() {
			var updateID int64
			var a klaxon.AffectedComponent
			var old, new string
			if err := rows.Scan(&updateID, &a.ComponentID, &old, &new); err != nil {
				rows.Close()
				return fmt.Errorf("store: status update components: %w", err)
			}
			a.Name, a.Old, a.New = names[a.ComponentID], klaxon.ComponentState(old), klaxon.ComponentState(new)
			if u := updates[updateID]; u != nil {
				u.Affected = append(u.Affected, a)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: status update components: %w", err)
		}
	}
	byPage := func(a, b int64) int { return order[a] - order[b] }
	seen := map[int64]map[int64]bool{}
	for _, id := range updateOrder {
		u := updates[id]
		slices.SortFunc(u.Affected, func(a, b klaxon.AffectedComponent) int { return byPage(a.ComponentID, b.ComponentID) })
		inc := byID[u.IncidentID]
		inc.Updates = append(inc.Updates, *u)
		if seen[inc.ID] == nil {
			seen[inc.ID] = map[int64]bool{}
		}
		for _, a := range u.Affected {
			if !seen[inc.ID][a.ComponentID] {
				seen[inc.ID][a.ComponentID] = true
				inc.Components = append(inc.Components, a.ComponentID)
			}
		}
	}
	for i := range incs {
		slices.SortFunc(incs[i].Components, byPage)
	}
	return nil
}

// inList is "$1, $2, …" for ids, and ids as arguments.
func inList(ids []int64) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), id
	}
	return strings.Join(ph, ", "), args
}
