package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

const serviceColumns = `id, name, description, state, COALESCE(escalation_policy_id, 0), ack_timeout_minutes, created_at, updated_at`

func scanService(row interface{ Scan(...any) error }) (klaxon.Service, error) {
	var svc klaxon.Service
	var state string
	var created, updated int64
	err := row.Scan(&svc.ID, &svc.Name, &svc.Description, &state, &svc.EscalationPolicyID, &svc.AckTimeoutMinutes, &created, &updated)
	svc.State = klaxon.ServiceState(state)
	svc.CreatedAt, svc.UpdatedAt = fromDB(created), fromDB(updated)
	return svc, err
}

// CreateService stores a new service and sets its ID and times. Names are
// unique: a second service with the same name is ECONFLICT.
func (s *Store) CreateService(ctx context.Context, actor string, svc *klaxon.Service) error {
	if svc.State == "" {
		svc.State = klaxon.ServiceActive
	}
	if err := svc.Validate(); err != nil {
		return err
	}
	svc.CreatedAt = s.now()
	svc.UpdatedAt = svc.CreatedAt
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := checkPolicyRef(ctx, tx, svc.EscalationPolicyID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO services (name, description, state, escalation_policy_id, ack_timeout_minutes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			svc.Name, svc.Description, string(svc.State), nullID(svc.EscalationPolicyID), svc.AckTimeoutMinutes, toDB(svc.CreatedAt), toDB(svc.UpdatedAt)).Scan(&svc.ID)
		if isUniqueViolation(err) {
			return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "name", Message: fmt.Sprintf("a service named %q already exists", svc.Name)}
		}
		if err != nil {
			return fmt.Errorf("store: create service: %w", err)
		}
		return s.audit(ctx, tx, actor, "service.create", "service", svc.ID, auditJSON(map[string]any{"name": svc.Name}))
	})
}

// Service returns one service, or ENOTFOUND.
func (s *Store) Service(ctx context.Context, id int64) (klaxon.Service, error) {
	return serviceByID(ctx, s.r, id)
}

func serviceByID(ctx context.Context, q queryRower, id int64) (klaxon.Service, error) {
	svc, err := scanService(q.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return svc, klaxon.Errorf(klaxon.ENOTFOUND, "service %d not found", id)
	}
	if err != nil {
		return svc, fmt.Errorf("store: service %d: %w", id, err)
	}
	return svc, nil
}

// ListServices returns services, newest first.
func (s *Store) ListServices(ctx context.Context, p klaxon.Page) ([]klaxon.Service, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+serviceColumns+` FROM services WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list services: %w", err)
	}
	defer rows.Close()
	var out []klaxon.Service
	for rows.Next() {
		svc, err := scanService(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list services: %w", err)
		}
		out = append(out, svc)
	}
	return out, rows.Err()
}

// UpdateService applies a patch and returns the service as stored.
func (s *Store) UpdateService(ctx context.Context, actor string, id int64, patch klaxon.ServicePatch) (klaxon.Service, error) {
	var svc klaxon.Service
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if svc, err = serviceByID(ctx, tx, id); err != nil {
			return err
		}
		changed := map[string]any{}
		if patch.Name != nil && *patch.Name != svc.Name {
			svc.Name, changed["name"] = *patch.Name, *patch.Name
		}
		if patch.Description != nil && *patch.Description != svc.Description {
			svc.Description, changed["description"] = *patch.Description, *patch.Description
		}
		if patch.State != nil && *patch.State != svc.State {
			svc.State, changed["state"] = *patch.State, *patch.State
		}
		if patch.EscalationPolicyID != nil && *patch.EscalationPolicyID != svc.EscalationPolicyID {
			if err := checkPolicyRef(ctx, tx, *patch.EscalationPolicyID); err != nil {
				return err
			}
			svc.EscalationPolicyID, changed["escalation_policy_id"] = *patch.EscalationPolicyID, *patch.EscalationPolicyID
		}
		if patch.AckTimeoutMinutes != nil && *patch.AckTimeoutMinutes != svc.AckTimeoutMinutes {
			svc.AckTimeoutMinutes, changed["ack_timeout_minutes"] = *patch.AckTimeoutMinutes, *patch.AckTimeoutMinutes
		}
		if err := svc.Validate(); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		svc.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE services SET name = $1, description = $2, state = $3, escalation_policy_id = $4, ack_timeout_minutes = $5, updated_at = $6 WHERE id = $7`,
			svc.Name, svc.Description, string(svc.State), nullID(svc.EscalationPolicyID), svc.AckTimeoutMinutes, toDB(svc.UpdatedAt), id)
		if isUniqueViolation(err) {
			return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "name", Message: fmt.Sprintf("a service named %q already exists", svc.Name)}
		}
		if err != nil {
			return fmt.Errorf("store: update service %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "service.update", "service", id, auditJSON(changed))
	})
	return svc, err
}

// checkPolicyRef refuses a reference to an escalation policy that does not
// exist; 0 means none.
func checkPolicyRef(ctx context.Context, q queryRower, policyID int64) error {
	if policyID == 0 {
		return nil
	}
	return mustExist(ctx, q, "escalation_policies", policyID, "escalation_policy_id", "escalation policy")
}

// nullID stores the id 0 ("none") as NULL, so foreign keys hold.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

const integrationColumns = `id, service_id, name, kind, key_hash, key_hint, created_at, rotated_at`

func scanIntegration(row interface{ Scan(...any) error }) (klaxon.Integration, error) {
	var in klaxon.Integration
	var kind string
	var created int64
	var rotated sql.NullInt64
	err := row.Scan(&in.ID, &in.ServiceID, &in.Name, &kind, &in.KeyHash, &in.KeyHint, &created, &rotated)
	in.Kind = klaxon.IntegrationKind(kind)
	in.CreatedAt, in.RotatedAt = fromDB(created), nullTime(rotated)
	return in, err
}

// CreateIntegration opens a new door into a service and returns its key. The
// key is returned only here; the store keeps its hash.
func (s *Store) CreateIntegration(ctx context.Context, actor string, in *klaxon.Integration) (key string, err error) {
	if !in.Kind.Valid() {
		return "", klaxon.FieldError("kind", "must be api or pagerduty, not %q", in.Kind)
	}
	if in.Name == "" {
		in.Name = string(in.Kind)
	}
	if err := klaxon.ValidateName("name", in.Name); err != nil {
		return "", err
	}
	key = klaxon.NewSecret()
	in.KeyHash, in.KeyHint = klaxon.HashSecret(key), klaxon.SecretHint(key)
	in.CreatedAt = s.now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := serviceByID(ctx, tx, in.ServiceID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO integrations (service_id, name, kind, key_hash, key_hint, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			in.ServiceID, in.Name, string(in.Kind), in.KeyHash, in.KeyHint, toDB(in.CreatedAt)).Scan(&in.ID); err != nil {
			return fmt.Errorf("store: create integration: %w", err)
		}
		return s.audit(ctx, tx, actor, "integration.create", "integration", in.ID, auditJSON(map[string]any{"service_id": in.ServiceID, "kind": in.Kind}))
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// ListIntegrations returns a service's integrations, oldest first.
func (s *Store) ListIntegrations(ctx context.Context, serviceID int64) ([]klaxon.Integration, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE service_id = $1 ORDER BY id`, serviceID)
	if err != nil {
		return nil, fmt.Errorf("store: list integrations: %w", err)
	}
	defer rows.Close()
	var out []klaxon.Integration
	for rows.Next() {
		in, err := scanIntegration(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list integrations: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// IntegrationByKey finds the integration whose key hashes to hash, with its
// service. An unknown or rotated-away key is EUNAUTHORIZED.
func (s *Store) IntegrationByKey(ctx context.Context, hash []byte) (klaxon.Integration, klaxon.Service, error) {
	row := s.r.QueryRowContext(ctx, `SELECT i.id, i.service_id, i.name, i.kind, i.key_hash, i.key_hint, i.created_at, i.rotated_at,
s.id, s.name, s.description, s.state, s.created_at, s.updated_at
FROM integrations i JOIN services s ON s.id = i.service_id WHERE i.key_hash = $1`, hash)
	var in klaxon.Integration
	var svc klaxon.Service
	var kind, state string
	var created, svcCreated, svcUpdated int64
	var rotated sql.NullInt64
	err := row.Scan(&in.ID, &in.ServiceID, &in.Name, &kind, &in.KeyHash, &in.KeyHint, &created, &rotated,
		&svc.ID, &svc.Name, &svc.Description, &state, &svcCreated, &svcUpdated)
	if errors.Is(err, sql.ErrNoRows) {
		return in, svc, klaxon.Errorf(klaxon.EUNAUTHORIZED, "unknown integration key")
	}
	if err != nil {
		return in, svc, fmt.Errorf("store: integration by key: %w", err)
	}
	in.Kind, in.CreatedAt, in.RotatedAt = klaxon.IntegrationKind(kind), fromDB(created), nullTime(rotated)
	svc.State, svc.CreatedAt, svc.UpdatedAt = klaxon.ServiceState(state), fromDB(svcCreated), fromDB(svcUpdated)
	return in, svc, nil
}

// RotateIntegrationKey replaces an integration's key; the old key stops
// working at once. It returns the new key, shown only here.
func (s *Store) RotateIntegrationKey(ctx context.Context, actor string, serviceID, id int64) (klaxon.Integration, string, error) {
	key := klaxon.NewSecret()
	var in klaxon.Integration
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		in, err = scanIntegration(tx.QueryRowContext(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1 AND service_id = $2`, id, serviceID))
		if errors.Is(err, sql.ErrNoRows) {
			return klaxon.Errorf(klaxon.ENOTFOUND, "integration %d not found on service %d", id, serviceID)
		}
		if err != nil {
			return fmt.Errorf("store: rotate integration %d: %w", id, err)
		}
		now := s.now()
		in.KeyHash, in.KeyHint, in.RotatedAt = klaxon.HashSecret(key), klaxon.SecretHint(key), &now
		if _, err := tx.ExecContext(ctx, `UPDATE integrations SET key_hash = $1, key_hint = $2, rotated_at = $3 WHERE id = $4`,
			in.KeyHash, in.KeyHint, toDB(now), id); err != nil {
			return fmt.Errorf("store: rotate integration %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "integration.rotate", "integration", id, "")
	})
	if err != nil {
		return in, "", err
	}
	return in, key, nil
}
