package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

// userColumns reads a user with its klaxon.Reach, counted in the same query
// so that a list of users costs one round trip. A new reason a user might
// not be reached (for example "is on a schedule") is one more count here and
// one more field of klaxon.Reach.
const userColumns = `u.id, u.name, u.email, u.time_zone, u.role, u.created_at, u.updated_at,
(SELECT COUNT(*) FROM contact_methods c WHERE c.user_id = u.id),
(SELECT COUNT(*) FROM notification_rules n WHERE n.user_id = u.id AND n.urgency = 'high'),
(SELECT COUNT(*) FROM notification_rules n WHERE n.user_id = u.id AND n.urgency = 'low'),
(SELECT COUNT(DISTINCT l.schedule_id) FROM schedule_layer_users l WHERE l.user_id = u.id)`

func scanUser(row interface{ Scan(...any) error }) (klaxon.User, error) {
	var u klaxon.User
	var role string
	var created, updated int64
	err := row.Scan(&u.ID, &u.Name, &u.Email, &u.TimeZone, &role, &created, &updated,
		&u.Reach.ContactMethods, &u.Reach.HighUrgencyRules, &u.Reach.LowUrgencyRules, &u.Reach.Schedules)
	u.Role = klaxon.Role(role)
	u.CreatedAt, u.UpdatedAt = fromDB(created), fromDB(updated)
	return u, err
}

func emailTaken(email string) error {
	return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "email", Message: fmt.Sprintf("a user with the email %q already exists", email)}
}

// CreateUser stores a new user and sets its ID and times. A user without a
// time zone gets UTC. Emails are unique whatever their case: a second user
// with the same email is ECONFLICT.
func (s *Store) CreateUser(ctx context.Context, actor string, u *klaxon.User) error {
	if u.TimeZone == "" {
		u.TimeZone = klaxon.DefaultTimeZone
	}
	if err := u.Validate(); err != nil {
		return err
	}
	u.CreatedAt = s.now()
	u.UpdatedAt = u.CreatedAt
	u.Reach = klaxon.Reach{}
	return s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (name, email, time_zone, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			u.Name, u.Email, u.TimeZone, string(u.Role), toDB(u.CreatedAt), toDB(u.UpdatedAt)).Scan(&u.ID)
		if isUniqueViolation(err) {
			return emailTaken(u.Email)
		}
		if err != nil {
			return fmt.Errorf("store: create user: %w", err)
		}
		return s.audit(ctx, tx, actor, "user.create", "user", u.ID, auditJSON(map[string]any{"email": u.Email, "role": u.Role}))
	})
}

// User returns one user with its Reach, or ENOTFOUND.
func (s *Store) User(ctx context.Context, id int64) (klaxon.User, error) {
	return userByID(ctx, s.r, id)
}

func userByID(ctx context.Context, q queryRower, id int64) (klaxon.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, klaxon.Errorf(klaxon.ENOTFOUND, "user %d not found", id)
	}
	if err != nil {
		return u, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

// ListUsers returns users with their Reach, newest first.
func (s *Store) ListUsers(ctx context.Context, p klaxon.Page) ([]klaxon.User, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id < $1 ORDER BY u.id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []klaxon.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser applies a patch and returns the user as stored. Who may give
// or take the owner role is the caller's to decide.
func (s *Store) UpdateUser(ctx context.Context, actor string, id int64, patch klaxon.UserPatch) (klaxon.User, error) {
	var u klaxon.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if u, err = userByID(ctx, tx, id); err != nil {
			return err
		}
		changed := map[string]any{}
		if patch.Name != nil && *patch.Name != u.Name {
			u.Name, changed["name"] = *patch.Name, *patch.Name
		}
		if patch.Email != nil && *patch.Email != u.Email {
			u.Email, changed["email"] = *patch.Email, *patch.Email
		}
		if patch.TimeZone != nil && *patch.TimeZone != u.TimeZone {
			u.TimeZone, changed["time_zone"] = *patch.TimeZone, *patch.TimeZone
		}
		if patch.Role != nil && *patch.Role != u.Role {
			u.Role, changed["role"] = *patch.Role, *patch.Role
		}
		if err := u.Validate(); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		u.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE users SET name = $1, email = $2, time_zone = $3, role = $4, updated_at = $5 WHERE id = $6`,
			u.Name, u.Email, u.TimeZone, string(u.Role), toDB(u.UpdatedAt), id)
		if isUniqueViolation(err) {
			return emailTaken(u.Email)
		}
		if err != nil {
			return fmt.Errorf("store: update user %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "user.update", "user", id, auditJSON(changed))
	})
	return u, err
}
