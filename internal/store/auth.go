package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Bootstrap creates the first admin and their API token on a database that
// has no users, and reports whether it did. Several nodes may start at once:
// the settings row taken in the same transaction lets only one of them win.
func (s *Store) Bootstrap(ctx context.Context, admin *klaxon.User, token string) (bool, error) {
	created := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('bootstrapped', $1) ON CONFLICT (key) DO NOTHING`,
			s.now().Format(time.RFC3339Nano))
		if err != nil {
			return fmt.Errorf("store: bootstrap: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // another node or an earlier start bootstrapped already
		}
		admin.CreatedAt = s.now()
		admin.UpdatedAt = admin.CreatedAt
		if admin.Role == "" {
			admin.Role = klaxon.RoleOwner
		}
		if admin.TimeZone == "" {
			admin.TimeZone = klaxon.DefaultTimeZone
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO users (name, email, time_zone, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			admin.Name, admin.Email, admin.TimeZone, string(admin.Role), toDB(admin.CreatedAt), toDB(admin.UpdatedAt)).Scan(&admin.ID); err != nil {
			return fmt.Errorf("store: bootstrap admin: %w", err)
		}
		t := klaxon.APIToken{Name: "bootstrap", Role: admin.Role, UserID: admin.ID, Hash: klaxon.HashSecret(token), Hint: klaxon.SecretHint(token)}
		if err := s.insertToken(ctx, tx, &t); err != nil {
			return err
		}
		created = true
		return s.audit(ctx, tx, "system", "user.bootstrap", "user", admin.ID, auditJSON(map[string]any{"email": admin.Email}))
	})
	return created, err
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, t *klaxon.APIToken) error {
	t.CreatedAt = s.now()
	err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, role, user_id, hash, hint, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		t.Name, string(t.Role), t.UserID, t.Hash, t.Hint, toDB(t.CreatedAt)).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	return nil
}

// CreateAPIToken stores a new API token for the given secret (only its hash
// is kept).
func (s *Store) CreateAPIToken(ctx context.Context, actor string, t *klaxon.APIToken, secret string) error {
	if !t.Role.Valid() {
		return klaxon.FieldError("role", "must be owner, admin, responder or viewer, not %q", t.Role)
	}
	if err := klaxon.ValidateName("name", t.Name); err != nil {
		return err
	}
	t.Hash, t.Hint = klaxon.HashSecret(secret), klaxon.SecretHint(secret)
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.insertToken(ctx, tx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "token.create", "token", t.ID, auditJSON(map[string]any{"name": t.Name, "role": t.Role}))
	})
}

const tokenColumns = `id, name, role, user_id, hash, hint, created_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (klaxon.APIToken, error) {
	var t klaxon.APIToken
	var role string
	var created int64
	var revoked sql.NullInt64
	err := row.Scan(&t.ID, &t.Name, &role, &t.UserID, &t.Hash, &t.Hint, &created, &revoked)
	t.Role, t.CreatedAt, t.RevokedAt = klaxon.Role(role), fromDB(created), nullTime(revoked)
	return t, err
}

// APITokenByHash finds a live token. Unknown and revoked tokens are
// EUNAUTHORIZED.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (klaxon.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && t.RevokedAt != nil) {
		return t, klaxon.Errorf(klaxon.EUNAUTHORIZED, "unknown or revoked API token")
	}
	if err != nil {
		return t, fmt.Errorf("store: token by hash: %w", err)
	}
	return t, nil
}

// APIToken returns one token (revoked or not), or ENOTFOUND.
func (s *Store) APIToken(ctx context.Context, id int64) (klaxon.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, klaxon.Errorf(klaxon.ENOTFOUND, "token %d not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("store: token %d: %w", id, err)
	}
	return t, nil
}

// ListAPITokens returns every token (hashes included, for the caller to
// drop), oldest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]klaxon.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	var out []klaxon.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken stops a token from working. Revoking twice is harmless.
func (s *Store) RevokeAPIToken(ctx context.Context, actor string, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, toDB(s.now()), id)
		if err != nil {
			return fmt.Errorf("store: revoke token %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return klaxon.Errorf(klaxon.ENOTFOUND, "token %d not found", id)
		}
		return s.audit(ctx, tx, actor, "token.revoke", "token", id, "")
	})
}
