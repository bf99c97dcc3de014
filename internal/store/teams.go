package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
)

const teamColumns = `id, name, description, created_at, updated_at`

func scanTeam(row interface{ Scan(...any) error }) (klaxon.Team, error) {
	var t klaxon.Team
	var created, updated int64
	err := row.Scan(&t.ID, &t.Name, &t.Description, &created, &updated)
	t.CreatedAt, t.UpdatedAt = fromDB(created), fromDB(updated)
	t.Members = []klaxon.TeamMembership{}
	return t, err
}

func teamNameTaken(name string) error {
	return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "name", Message: fmt.Sprintf("a team named %q already exists", name)}
}

// CreateTeam stores a new team with its members and sets its ID and times.
// Names are unique; every member must be an existing user. Members are kept
// in user id order.
func (s *Store) CreateTeam(ctx context.Context, actor string, t *klaxon.Team) error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.CreatedAt = s.now()
	t.UpdatedAt = t.CreatedAt
	return s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO teams (name, description, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			t.Name, t.Description, toDB(t.CreatedAt), toDB(t.UpdatedAt)).Scan(&t.ID)
		if isUniqueViolation(err) {
			return teamNameTaken(t.Name)
		}
		if err != nil {
			return fmt.Errorf("store: create team: %w", err)
		}
		for i, m := range t.Members {
			if err := mustExist(ctx, tx, "users", m.UserID, fmt.Sprintf("members[%d].user_id", i), "user"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
				t.ID, m.UserID, string(m.Role), toDB(t.CreatedAt)); err != nil {
				return fmt.Errorf("store: add member to team %d: %w", t.ID, err)
			}
		}
		if t.Members == nil {
			t.Members = []klaxon.TeamMembership{}
		}
		slices.SortFunc(t.Members, func(a, b klaxon.TeamMembership) int { return cmp.Compare(a.UserID, b.UserID) })
		return s.audit(ctx, tx, actor, "team.create", "team", t.ID, auditJSON(map[string]any{"name": t.Name, "members": len(t.Members)}))
	})
}

// Team returns one team with its members, or ENOTFOUND.
func (s *Store) Team(ctx context.Context, id int64) (klaxon.Team, error) {
	return teamByID(ctx, s.r, id)
}

func teamByID(ctx context.Context, q queryer, id int64) (klaxon.Team, error) {
	t, err := scanTeam(q.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, klaxon.Errorf(klaxon.ENOTFOUND, "team %d not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("store: team %d: %w", id, err)
	}
	return t, loadMembers(ctx, q, map[int64]*klaxon.Team{id: &t}, `team_id = $1`, id)
}

// loadMembers fills in the members of the teams in byID, reading the rows
// that where (over team_id) selects.
func loadMembers(ctx context.Context, q queryer, byID map[int64]*klaxon.Team, where string, args ...any) error {
	rows, err := q.QueryContext(ctx, `SELECT team_id, user_id, role FROM team_members WHERE `+where+` ORDER BY team_id, user_id`, args...)
	if err != nil {
		return fmt.Errorf("store: team members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var teamID int64
		var m klaxon.TeamMembership
		var role string
		if err := rows.Scan(&teamID, &m.UserID, &role); err != nil {
			return fmt.Errorf("store: team members: %w", err)
		}
		m.Role = klaxon.TeamRole(role)
		if t := byID[teamID]; t != nil {
			t.Members = append(t.Members, m)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: team members: %w", err)
	}
	return nil
}

// ListTeams returns teams with their members, newest first.
func (s *Store) ListTeams(ctx context.Context, p klaxon.Page) ([]klaxon.Team, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list teams: %w", err)
	}
	defer rows.Close()
	var out []klaxon.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list teams: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list teams: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	byID := make(map[int64]*klaxon.Team, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	// The page is a contiguous id range, so one range query loads its members.
	return out, loadMembers(ctx, s.r, byID, `team_id BETWEEN $1 AND $2`, out[len(out)-1].ID, out[0].ID)
}

// UpdateTeam applies a patch and returns the team as stored.
func (s *Store) UpdateTeam(ctx context.Context, actor string, id int64, patch klaxon.TeamPatch) (klaxon.Team, error) {
	var t klaxon.Team
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = teamByID(ctx, tx, id); err != nil {
			return err
		}
		changed := map[string]any{}
		if patch.Name != nil && *patch.Name != t.Name {
			t.Name, changed["name"] = *patch.Name, *patch.Name
		}
		if patch.Description != nil && *patch.Description != t.Description {
			t.Description, changed["description"] = *patch.Description, *patch.Description
		}
		if err := t.Validate(); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		t.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE teams SET name = $1, description = $2, updated_at = $3 WHERE id = $4`,
			t.Name, t.Description, toDB(t.UpdatedAt), id)
		if isUniqueViolation(err) {
			return teamNameTaken(t.Name)
		}
		if err != nil {
			return fmt.Errorf("store: update team %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "team.update", "team", id, auditJSON(changed))
	})
	return t, err
}

// SetTeamMember adds a user to a team, or changes the role of a member, and
// returns the team as stored. Setting what is already so changes nothing.
func (s *Store) SetTeamMember(ctx context.Context, actor string, teamID int64, m klaxon.TeamMembership) (klaxon.Team, error) {
	if err := m.Validate(); err != nil {
		return klaxon.Team{}, err
	}
	var t klaxon.Team
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := teamByID(ctx, tx, teamID); err != nil {
			return err
		}
		if err := mustExist(ctx, tx, "users", m.UserID, "user_id", "user"); err != nil {
			return err
		}
		var was string
		err := tx.QueryRowContext(ctx, `SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, m.UserID).Scan(&was)
		isMember := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: member of team %d: %w", teamID, err)
		}
		if isMember && was == string(m.Role) {
			t, err = teamByID(ctx, tx, teamID)
			return err
		}
		now := s.now()
		action := "team.add_member"
		if isMember {
			action = "team.update_member"
			_, err = tx.ExecContext(ctx, `UPDATE team_members SET role = $1 WHERE team_id = $2 AND user_id = $3`, string(m.Role), teamID, m.UserID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
				teamID, m.UserID, string(m.Role), toDB(now))
		}
		if isUniqueViolation(err) {
			return klaxon.Errorf(klaxon.ECONFLICT, "user %d was added to team %d by another request at the same time; retry", m.UserID, teamID)
		}
		if err != nil {
			return fmt.Errorf("store: set member of team %d: %w", teamID, err)
		}
		if t, err = touchTeam(ctx, tx, teamID, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, action, "team", teamID, auditJSON(map[string]any{"user_id": m.UserID, "role": m.Role}))
	})
	return t, err
}

// RemoveTeamMember takes a user off a team and returns the team as stored.
// A membership is not an object of its own: removing one deletes nothing
// that anything else refers to. A user who is not a member is ENOTFOUND.
func (s *Store) RemoveTeamMember(ctx context.Context, actor string, teamID, userID int64) (klaxon.Team, error) {
	var t klaxon.Team
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := teamByID(ctx, tx, teamID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID)
		if err != nil {
			return fmt.Errorf("store: remove member from team %d: %w", teamID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return klaxon.Errorf(klaxon.ENOTFOUND, "user %d is not a member of team %d", userID, teamID)
		}
		if t, err = touchTeam(ctx, tx, teamID, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "team.remove_member", "team", teamID, auditJSON(map[string]any{"user_id": userID}))
	})
	return t, err
}

// touchTeam records that a team's members changed, and reads it back.
func touchTeam(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (klaxon.Team, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE teams SET updated_at = $1 WHERE id = $2`, toDB(now), id); err != nil {
		return klaxon.Team{}, fmt.Errorf("store: update team %d: %w", id, err)
	}
	return teamByID(ctx, tx, id)
}
