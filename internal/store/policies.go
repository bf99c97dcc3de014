package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/escalation"
)

// CreateEscalationPolicy validates and stores a policy. Every target must
// exist.
func (s *Store) CreateEscalationPolicy(ctx context.Context, actor string, p *klaxon.EscalationPolicy) error {
	if err := validatePolicy(p); err != nil {
		return err
	}
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	return s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO escalation_policies (name, description, repeat_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			p.Name, p.Description, p.Repeat, toDB(p.CreatedAt), toDB(p.UpdatedAt)).Scan(&p.ID)
		if isUniqueViolation(err) {
			return policyNameTaken(p.Name)
		}
		if err != nil {
			return fmt.Errorf("store: create escalation policy: %w", err)
		}
		if err := insertSteps(ctx, tx, p.ID, p.Steps); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "escalation_policy.create", "escalation_policy", p.ID, auditJSON(map[string]any{"name": p.Name}))
	})
}

func validatePolicy(p *klaxon.EscalationPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return escalation.FromDomain(*p).Validate()
}

func policyNameTaken(name string) error {
	return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "name", Message: fmt.Sprintf("an escalation policy named %q already exists", name)}
}

// targetTables maps a target type to the table its ids live in.
var targetTables = map[klaxon.TargetType]string{
	klaxon.TargetUser: "users", klaxon.TargetSchedule: "schedules", klaxon.TargetTeam: "teams",
}

func insertSteps(ctx context.Context, tx *sql.Tx, policyID int64, steps []klaxon.EscalationStep) error {
	for i, step := range steps {
		if _, err := tx.ExecContext(ctx, `INSERT INTO escalation_steps (policy_id, position, delay_minutes) VALUES ($1, $2, $3)`,
			policyID, i, step.DelayMinutes); err != nil {
			return fmt.Errorf("store: insert escalation step: %w", err)
		}
		for j, t := range step.Targets {
			field := fmt.Sprintf("steps[%d].targets[%d].id", i, j)
			if err := mustExist(ctx, tx, targetTables[t.Type], t.ID, field, string(t.Type)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO escalation_targets (policy_id, step, position, target_type, target_id) VALUES ($1, $2, $3, $4, $5)`,
				policyID, i, j, string(t.Type), t.ID); err != nil {
				return fmt.Errorf("store: insert escalation target: %w", err)
			}
		}
	}
	return nil
}

const policyColumns = `id, name, description, repeat_count, created_at, updated_at`

// EscalationPolicy returns one policy with its steps, or ENOTFOUND.
func (s *Store) EscalationPolicy(ctx context.Context, id int64) (klaxon.EscalationPolicy, error) {
	return policyByID(ctx, s.r, id)
}

func policyByID(ctx context.Context, q queryer, id int64) (klaxon.EscalationPolicy, error) {
	p, err := scanPolicy(q.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM escalation_policies WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, klaxon.Errorf(klaxon.ENOTFOUND, "escalation policy %d not found", id)
	}
	if err != nil {
		return p, fmt.Errorf("store: escalation policy %d: %w", id, err)
	}
	return p, loadSteps(ctx, q, map[int64]*klaxon.EscalationPolicy{id: &p}, `policy_id = $1`, id)
}

func scanPolicy(row interface{ Scan(...any) error }) (klaxon.EscalationPolicy, error) {
	var p klaxon.EscalationPolicy
	var created, updated int64
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Repeat, &created, &updated)
	p.CreatedAt, p.UpdatedAt = fromDB(created), fromDB(updated)
	return p, err
}

func loadSteps(ctx context.Context, q queryer, byID map[int64]*klaxon.EscalationPolicy, where string, args ...any) error {
	rows, err := q.QueryContext(ctx, `SELECT policy_id, delay_minutes FROM escalation_steps WHERE `+where+` ORDER BY policy_id, position`, args...)
	if err != nil {
		return fmt.Errorf("store: escalation steps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var step klaxon.EscalationStep
		if err := rows.Scan(&pid, &step.DelayMinutes); err != nil {
			return fmt.Errorf("store: escalation steps: %w", err)
		}
		if p := byID[pid]; p != nil {
			p.Steps = append(p.Steps, step)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: escalation steps: %w", err)
	}
	rows.Close()
	trows, err := q.QueryContext(ctx, `SELECT policy_id, step, target_type, target_id FROM escalation_targets WHERE `+where+` ORDER BY policy_id, step, position`, args...)
	if err != nil {
		return fmt.Errorf("store: escalation targets: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var pid, tid int64
		var step int
		var typ string
		if err := trows.Scan(&pid, &step, &typ, &tid); err != nil {
			return fmt.Errorf("store: escalation targets: %w", err)
		}
		if p := byID[pid]; p != nil && step < len(p.Steps) {
			p.Steps[step].Targets = append(p.Steps[step].Targets, klaxon.Target{Type: klaxon.TargetType(typ), ID: tid})
		}
	}
	return trows.Err()
}

// ListEscalationPolicies returns policies with their steps, newest first.
func (s *Store) ListEscalationPolicies(ctx context.Context, p klaxon.Page) ([]klaxon.EscalationPolicy, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+policyColumns+` FROM escalation_policies WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list escalation policies: %w", err)
	}
	defer rows.Close()
	var out []klaxon.EscalationPolicy
	for rows.Next() {
		pol, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list escalation policies: %w", err)
		}
		out = append(out, pol)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list escalation policies: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	byID := make(map[int64]*klaxon.EscalationPolicy, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	return out, loadSteps(ctx, s.r, byID, `policy_id BETWEEN $1 AND $2`, out[len(out)-1].ID, out[0].ID)
}

// UpdateEscalationPolicy applies a patch and returns the policy as stored.
func (s *Store) UpdateEscalationPolicy(ctx context.Context, actor string, id int64, patch klaxon.PolicyPatch) (klaxon.EscalationPolicy, error) {
	var p klaxon.EscalationPolicy
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = policyByID(ctx, tx, id); err != nil {
			return err
		}
		changed := map[string]any{}
		if patch.Name != nil && *patch.Name != p.Name {
			p.Name, changed["name"] = *patch.Name, *patch.Name
		}
		if patch.Description != nil && *patch.Description != p.Description {
			p.Description, changed["description"] = *patch.Description, *patch.Description
		}
		if patch.Repeat != nil && *patch.Repeat != p.Repeat {
			p.Repeat, changed["repeat"] = *patch.Repeat, *patch.Repeat
		}
		if patch.Steps != nil && !reflect.DeepEqual(*patch.Steps, p.Steps) {
			p.Steps, changed["steps"] = *patch.Steps, len(*patch.Steps)
		}
		if err := validatePolicy(&p); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		p.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE escalation_policies SET name = $1, description = $2, repeat_count = $3, updated_at = $4 WHERE id = $5`,
			p.Name, p.Description, p.Repeat, toDB(p.UpdatedAt), id)
		if isUniqueViolation(err) {
			return policyNameTaken(p.Name)
		}
		if err != nil {
			return fmt.Errorf("store: update escalation policy %d: %w", id, err)
		}
		if _, ok := changed["steps"]; ok {
			// Steps are a value of the policy, like a schedule's layers.
			for _, table := range []string{"escalation_targets", "escalation_steps"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE policy_id = $1`, id); err != nil {
					return fmt.Errorf("store: replace steps of policy %d: %w", id, err)
				}
			}
			if err := insertSteps(ctx, tx, id, p.Steps); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "escalation_policy.update", "escalation_policy", id, auditJSON(changed))
	})
	return p, err
}
