package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

// Lookups by name, for the objects Klaxon keeps for itself (its own
// service, the canary's person and policy), which it finds again after a
// restart by their reserved names.

// ServiceByName returns the service with that exact name, or ENOTFOUND.
func (s *Store) ServiceByName(ctx context.Context, name string) (klaxon.Service, error) {
	id, err := s.idBy(ctx, `SELECT id FROM services WHERE name = $1`, name, "service")
	if err != nil {
		return klaxon.Service{}, err
	}
	return serviceByID(ctx, s.r, id)
}

// UserByEmail returns the user with that email (ignoring ASCII case), or
// ENOTFOUND.
func (s *Store) UserByEmail(ctx context.Context, email string) (klaxon.User, error) {
	id, err := s.idBy(ctx, `SELECT id FROM users WHERE lower(email) = lower($1)`, email, "user")
	if err != nil {
		return klaxon.User{}, err
	}
	return userByID(ctx, s.r, id)
}

// EscalationPolicyByName returns the policy with that exact name, or
// ENOTFOUND.
func (s *Store) EscalationPolicyByName(ctx context.Context, name string) (klaxon.EscalationPolicy, error) {
	id, err := s.idBy(ctx, `SELECT id FROM escalation_policies WHERE name = $1`, name, "escalation policy")
	if err != nil {
		return klaxon.EscalationPolicy{}, err
	}
	return policyByID(ctx, s.r, id)
}

func (s *Store) idBy(ctx context.Context, query, value, what string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, query, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, klaxon.Errorf(klaxon.ENOTFOUND, "%s %q not found", what, value)
	}
	if err != nil {
		return 0, fmt.Errorf("store: find %s %q: %w", what, value, err)
	}
	return id, nil
}
