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

// Status page components and groups, in page order, and their history. A
// component's state is only ever changed by adding a history row
// (recordChange): the state kept on the component is that of its history
// row with the latest time, so that history placed in the past (an import)
// shows in the uptime of its days without overwriting a newer state.

const componentCols = `c.id, c.name, c.description, c.is_group, c.group_id, c.position, c.state, c.service_id, c.follow_service, c.follow_state, c.created_at, c.updated_at`

// pageOrder orders components as the page shows them: top-level items
// (groups and ungrouped components) by position, each group followed by its
// members by position. It needs the group joined as g.
const pageOrder = ` ORDER BY COALESCE(g.position, c.position), CASE WHEN c.group_id = 0 THEN 0 ELSE 1 END, c.position, c.id`

const componentFrom = ` FROM status_components c LEFT JOIN status_components g ON g.id = c.group_id`

func scanComponent(row interface{ Scan(...any) error }) (klaxon.StatusComponent, error) {
	var c klaxon.StatusComponent
	var state, follow string
	var created, updated int64
	err := row.Scan(&c.ID, &c.Name, &c.Description, &c.Group, &c.GroupID, &c.Position, &state, &c.ServiceID,
		&c.FollowService, &follow, &created, &updated)
	c.State, c.FollowState = klaxon.ComponentState(state), klaxon.ComponentState(follow)
	c.CreatedAt, c.UpdatedAt = fromDB(created), fromDB(updated)
	return c, err
}

func componentByID(ctx context.Context, q queryRower, id int64) (klaxon.StatusComponent, error) {
	c, err := scanComponent(q.QueryRowContext(ctx, `SELECT `+componentCols+` FROM status_components c WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, klaxon.Errorf(klaxon.ENOTFOUND, "status component %d not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("store: status component %d: %w", id, err)
	}
	return c, nil
}

func listComponents(ctx context.Context, q queryer) ([]klaxon.StatusComponent, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+componentCols+componentFrom+pageOrder)
	if err != nil {
		return nil, fmt.Errorf("store: list status components: %w", err)
	}
	defer rows.Close()
	var out []klaxon.StatusComponent
	for rows.Next() {
		c, err := scanComponent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list status components: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// StatusComponent returns one component or group, or ENOTFOUND.
func (s *Store) StatusComponent(ctx context.Context, id int64) (klaxon.StatusComponent, error) {
	return componentByID(ctx, s.r, id)
}

// ListStatusComponents returns every component and group in page order.
func (s *Store) ListStatusComponents(ctx context.Context) ([]klaxon.StatusComponent, error) {
	return listComponents(ctx, s.r)
}

// CreateStatusComponent adds a component, operational, at the end of its
// group (n.Group, created at the end of the page when no group has that
// name) or of the page. A component named like another in the same group is
// ECONFLICT.
func (s *Store) CreateStatusComponent(ctx context.Context, actor string, n klaxon.NewStatusComponent) (klaxon.StatusComponent, error) {
	c := klaxon.StatusComponent{Name: n.Name, Description: n.Description, State: klaxon.ComponentOperational,
		FollowState: klaxon.ComponentMajorOutage}
	if err := c.Validate(); err != nil {
		return c, err
	}
	if n.Group != "" {
		if err := klaxon.ValidateName("group", n.Group); err != nil {
			return c, err
		}
	}
	err := s.statusWrite(ctx, func(st *statusTx) error {
		var err error
		if c.GroupID, err = s.groupNamed(ctx, st, actor, n.Group); err != nil {
			return err
		}
		c.ID, err = s.insertComponent(ctx, st, c)
		if err != nil {
			return err
		}
		if c, err = componentByID(ctx, st.tx, c.ID); err != nil {
			return err
		}
		return s.audit(ctx, st.tx, actor, "status_component.create", "status_component", c.ID,
			auditJSON(map[string]any{"name": c.Name, "group_id": c.GroupID}))
	})
	return c, err
}

// insertComponent stores c (a component or a group) last among its
// siblings.
func (s *Store) insertComponent(ctx context.Context, st *statusTx, c klaxon.StatusComponent) (int64, error) {
	pos, err := nextPosition(ctx, st.tx, c.GroupID)
	if err != nil {
		return 0, err
	}
	var id int64
	err = st.tx.QueryRowContext(ctx, `INSERT INTO status_components (name, description, is_group, group_id, position, state, service_id,
follow_service, follow_state, followed_state, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 'operational', 0, 0, $6, 'operational', $7, $7) RETURNING id`,
		c.Name, c.Description, boolDB(c.Group), c.GroupID, pos, string(c.FollowState), toDB(st.now)).Scan(&id)
	if isUniqueViolation(err) {
		return 0, nameConflict(c)
	}
	if err != nil {
		return 0, fmt.Errorf("store: create status component: %w", err)
	}
	return id, nil
}

func nameConflict(c klaxon.StatusComponent) error {
	what := "a component"
	if c.Group {
		what = "a group"
	} else if c.GroupID != 0 {
		what = "a component of the same group"
	}
	return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "name", Message: fmt.Sprintf("%s named %q already exists", what, c.Name)}
}

// groupNamed returns the id of the group named name, creating it at the
// end of the page when there is none; 0 for an empty name.
func (s *Store) groupNamed(ctx context.Context, st *statusTx, actor, name string) (int64, error) {
	if name == "" {
		return 0, nil
	}
	var id int64
	err := st.tx.QueryRowContext(ctx, `SELECT id FROM status_components WHERE is_group = 1 AND group_id = 0 AND name = $1`, name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: status group %q: %w", name, err)
	}
	g := klaxon.StatusComponent{Name: name, Group: true, FollowState: klaxon.ComponentMajorOutage}
	if id, err = s.insertComponent(ctx, st, g); err != nil {
		return 0, err
	}
	return id, s.audit(ctx, st.tx, actor, "status_component.create", "status_component", id,
		auditJSON(map[string]any{"name": name, "group": true}))
}

func nextPosition(ctx context.Context, tx *sql.Tx, groupID int64) (int, error) {
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(position) FROM status_components WHERE group_id = $1`, groupID).Scan(&last); err != nil {
		return 0, fmt.Errorf("store: last status component position: %w", err)
	}
	return int(last.Int64) + 1, nil
}

// UpdateStatusComponent changes a component or group. A new State is a
// history row (source manual); a group's state is computed, never set.
// Group moves the component to the end of that group (or of the page), and
// Position then places it among its siblings, which are renumbered.
func (s *Store) UpdateStatusComponent(ctx context.Context, actor string, id int64, p klaxon.ComponentPatch) (klaxon.StatusComponent, error) {
	var c klaxon.StatusComponent
	err := s.statusWrite(ctx, func(st *statusTx) error {
		var err error
		if c, err = componentByID(ctx, st.tx, id); err != nil {
			return err
		}
		was := c
		changed := map[string]any{}
		if p.Name != nil {
			c.Name, changed["name"] = *p.Name, *p.Name
		}
		if p.Description != nil {
			c.Description, changed["description"] = *p.Description, *p.Description
		}
		if p.ServiceID != nil {
			c.ServiceID, changed["service_id"] = *p.ServiceID, *p.ServiceID
		}
		if p.FollowService != nil {
			c.FollowService, changed["follow_service"] = *p.FollowService, *p.FollowService
		}
		if p.FollowState != nil {
			c.FollowState, changed["follow_state"] = *p.FollowState, *p.FollowState
		}
		if p.State != nil {
			if c.Group {
				return klaxon.FieldError("state", "a group's state is computed from its components; set theirs")
			}
			c.State, changed["state"] = *p.State, *p.State
		}
		if p.Group != nil && c.Group && *p.Group != "" {
			return klaxon.FieldError("group", "groups do not nest; a group cannot join another group")
		}
		if p.Group != nil && *p.Group != "" {
			if err := klaxon.ValidateName("group", *p.Group); err != nil {
				return err
			}
		}
		if p.Position != nil && *p.Position < 1 {
			return klaxon.FieldError("position", "must be 1 or more (1 is the top)")
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if c.ServiceID != 0 && c.ServiceID != was.ServiceID {
			if err := mustExist(ctx, st.tx, "services", c.ServiceID, "service_id", "service"); err != nil {
				return err
			}
		}
		// Turning following on starts from "nothing applied", so that an
		// outage already under way is applied at the next FollowServices.
		resetFollowed := c.FollowService && !was.FollowService
		_, err = st.tx.ExecContext(ctx, `UPDATE status_components SET name = $1, description = $2, service_id = $3, follow_service = $4,
follow_state = $5, followed_state = CASE WHEN $6 = 1 THEN 'operational' ELSE followed_state END, updated_at = $7 WHERE id = $8`,
			c.Name, c.Description, c.ServiceID, boolDB(c.FollowService), string(c.FollowState), boolDB(resetFollowed), toDB(st.now), id)
		if isUniqueViolation(err) {
			return nameConflict(c)
		}
		if err != nil {
			return fmt.Errorf("store: update status component %d: %w", id, err)
		}
		if p.Group != nil {
			groupID, err := s.groupNamed(ctx, st, actor, *p.Group)
			if err != nil {
				return err
			}
			if groupID != was.GroupID {
				changed["group_id"] = groupID
				if err := moveToGroup(ctx, st, c, groupID); err != nil {
					return err
				}
			}
		}
		if p.Position != nil {
			changed["position"] = *p.Position
			if err := moveToPosition(ctx, st.tx, id, *p.Position); err != nil {
				return err
			}
		}
		if p.State != nil && *p.State != was.State {
			if err := recordChange(ctx, st, klaxon.ComponentChange{ComponentID: id, State: *p.State, At: st.now,
				Source: klaxon.ChangeManual, Actor: actor}, 0); err != nil {
				return err
			}
		}
		if c, err = componentByID(ctx, st.tx, id); err != nil {
			return err
		}
		return s.audit(ctx, st.tx, actor, "status_component.update", "status_component", id, auditJSON(changed))
	})
	return c, err
}

// moveToGroup moves c to the end of group groupID (0: of the page) and
// closes the gap it leaves in its old group.
func moveToGroup(ctx context.Context, st *statusTx, c klaxon.StatusComponent, groupID int64) error {
	pos, err := nextPosition(ctx, st.tx, groupID)
	if err != nil {
		return err
	}
	oldGroup := c.GroupID
	c.GroupID = groupID
	_, err = st.tx.ExecContext(ctx, `UPDATE status_components SET group_id = $1, position = $2 WHERE id = $3`, groupID, pos, c.ID)
	if isUniqueViolation(err) {
		return nameConflict(c)
	}
	if err != nil {
		return fmt.Errorf("store: move status component %d: %w", c.ID, err)
	}
	siblings, err := siblingIDs(ctx, st.tx, oldGroup)
	if err != nil {
		return err
	}
	return renumber(ctx, st.tx, siblings)
}

// siblingIDs returns the components of group groupID (0: the top-level
// items) in order.
func siblingIDs(ctx context.Context, tx *sql.Tx, groupID int64) ([]int64, error) {
	ids, err := queryIDs(ctx, tx, `SELECT id FROM status_components WHERE group_id = $1 ORDER BY position, id`, groupID)
	if err != nil {
		return nil, fmt.Errorf("store: status components of group %d: %w", groupID, err)
	}
	return ids, nil
}

// renumber gives ids the positions 1, 2, … in order.
func renumber(ctx context.Context, tx *sql.Tx, ids []int64) error {
	for i, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE status_components SET position = $1 WHERE id = $2 AND position <> $1`, i+1, id); err != nil {
			return fmt.Errorf("store: renumber status component %d: %w", id, err)
		}
	}
	return nil
}

// moveToPosition places component id at the 1-based position pos among its
// siblings (the last place when pos is past the end).
func moveToPosition(ctx context.Context, tx *sql.Tx, id int64, pos int) error {
	var groupID int64
	if err := tx.QueryRowContext(ctx, `SELECT group_id FROM status_components WHERE id = $1`, id).Scan(&groupID); err != nil {
		return fmt.Errorf("store: status component %d: %w", id, err)
	}
	ids, err := siblingIDs(ctx, tx, groupID)
	if err != nil {
		return err
	}
	ids = slices.DeleteFunc(ids, func(x int64) bool { return x == id })
	ids = slices.Insert(ids, min(pos, len(ids)+1)-1, id)
	return renumber(ctx, tx, ids)
}

// ComponentHistory returns a component's changes since since, oldest
// first, preceded by its last change before since (so its state at since
// is known); ENOTFOUND for an unknown component.
func (s *Store) ComponentHistory(ctx context.Context, id int64, since time.Time) ([]klaxon.ComponentChange, error) {
	if _, err := componentByID(ctx, s.r, id); err != nil {
		return nil, err
	}
	before, err := queryChanges(ctx, s.r, `WHERE component_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT 1`, id, toDB(since))
	if err != nil {
		return nil, err
	}
	after, err := queryChanges(ctx, s.r, `WHERE component_id = $1 AND at >= $2 ORDER BY at, id`, id, toDB(since))
	return append(before, after...), err
}

const changeCols = `component_id, state, at, source, incident_id, alert_id, actor`

func queryChanges(ctx context.Context, q queryer, where string, args ...any) ([]klaxon.ComponentChange, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+changeCols+` FROM status_component_changes `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: component history: %w", err)
	}
	defer rows.Close()
	var out []klaxon.ComponentChange
	for rows.Next() {
		var ch klaxon.ComponentChange
		var state string
		var at int64
		if err := rows.Scan(&ch.ComponentID, &state, &at, &ch.Source, &ch.IncidentID, &ch.AlertID, &ch.Actor); err != nil {
			return nil, fmt.Errorf("store: component history: %w", err)
		}
		ch.State, ch.At = klaxon.ComponentState(state), fromDB(at)
		out = append(out, ch)
	}
	return out, rows.Err()
}

// recordChange adds a history row (of incident update updateID, or 0) and
// makes its state the component's current one unless a later change
// exists.
func recordChange(ctx context.Context, st *statusTx, ch klaxon.ComponentChange, updateID int64) error {
	if _, err := st.tx.ExecContext(ctx, `INSERT INTO status_component_changes (component_id, state, at, source, incident_id, update_id, alert_id, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, ch.ComponentID, string(ch.State), toDB(ch.At), ch.Source, ch.IncidentID, updateID, ch.AlertID, ch.Actor); err != nil {
		return fmt.Errorf("store: record change of status component %d: %w", ch.ComponentID, err)
	}
	if _, err := st.tx.ExecContext(ctx, `UPDATE status_components SET state = $1, updated_at = $2
WHERE id = $3 AND NOT EXISTS (SELECT 1 FROM status_component_changes h WHERE h.component_id = $3 AND h.at > $4)`,
		string(ch.State), toDB(st.now), ch.ComponentID, toDB(ch.At)); err != nil {
		return fmt.Errorf("store: set state of status component %d: %w", ch.ComponentID, err)
	}
	return nil
}

// stateAt is a component's state at t (its latest change at or before t;
// operational before any), and the incident behind that change (0 for
// none).
func stateAt(ctx context.Context, q queryRower, componentID int64, t time.Time) (klaxon.ComponentState, int64, error) {
	var state string
	var incidentID int64
	err := q.QueryRowContext(ctx, `SELECT state, incident_id FROM status_component_changes WHERE component_id = $1 AND at <= $2
ORDER BY at DESC, id DESC LIMIT 1`, componentID, toDB(t)).Scan(&state, &incidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return klaxon.ComponentOperational, 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("store: state of status component %d: %w", componentID, err)
	}
	return klaxon.ComponentState(state), incidentID, nil
}
