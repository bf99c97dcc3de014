package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Maintenance windows are never deleted: ending one early sets its end to
// now, so the record of when a service was quiet stays.

const maintenanceColumns = `id, service_id, starts_at, ends_at, description, created_at`

func scanMaintenance(row interface{ Scan(...any) error }) (klaxon.MaintenanceWindow, error) {
	var m klaxon.MaintenanceWindow
	var start, end, created int64
	err := row.Scan(&m.ID, &m.ServiceID, &start, &end, &m.Description, &created)
	m.Start, m.End, m.CreatedAt = fromDB(start), fromDB(end), fromDB(created)
	return m, err
}

// CreateMaintenanceWindow stores a window on an existing service. A window
// that has already ended is refused: it would change nothing.
func (s *Store) CreateMaintenanceWindow(ctx context.Context, actor string, m *klaxon.MaintenanceWindow) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.CreatedAt = s.now()
	if !m.End.After(m.CreatedAt) {
		return klaxon.FieldError("end", "is in the past; a window must end after now")
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := serviceByID(ctx, tx, m.ServiceID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO maintenance_windows (service_id, starts_at, ends_at, description, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			m.ServiceID, toDB(m.Start), toDB(m.End), m.Description, toDB(m.CreatedAt)).Scan(&m.ID); err != nil {
			return fmt.Errorf("store: create maintenance window: %w", err)
		}
		return s.audit(ctx, tx, actor, "maintenance_window.create", "service", m.ServiceID,
			auditJSON(map[string]any{"id": m.ID, "start": m.Start, "end": m.End}))
	})
}

// ListMaintenanceWindows returns a service's windows that end after since,
// by start; cancelled ones (ended at their start) are left out.
func (s *Store) ListMaintenanceWindows(ctx context.Context, serviceID int64, since time.Time) ([]klaxon.MaintenanceWindow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+maintenanceColumns+` FROM maintenance_windows WHERE service_id = $1 AND ends_at > $2 AND ends_at > starts_at ORDER BY starts_at, id`,
		serviceID, toDB(since))
	if err != nil {
		return nil, fmt.Errorf("store: list maintenance windows: %w", err)
	}
	defer rows.Close()
	var out []klaxon.MaintenanceWindow
	for rows.Next() {
		m, err := scanMaintenance(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list maintenance windows: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// EndMaintenanceWindow ends a window now (or cancels one not yet started,
// by ending it at its start), and returns it.
func (s *Store) EndMaintenanceWindow(ctx context.Context, actor string, serviceID, id int64) (klaxon.MaintenanceWindow, error) {
	var m klaxon.MaintenanceWindow
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = scanMaintenance(tx.QueryRowContext(ctx, `SELECT `+maintenanceColumns+` FROM maintenance_windows WHERE id = $1 AND service_id = $2`, id, serviceID))
		if errors.Is(err, sql.ErrNoRows) {
			return klaxon.Errorf(klaxon.ENOTFOUND, "maintenance window %d of service %d not found", id, serviceID)
		}
		if err != nil {
			return fmt.Errorf("store: maintenance window %d: %w", id, err)
		}
		now := s.now()
		if !m.End.After(now) {
			return nil // over already
		}
		m.End = now
		if m.Start.After(now) {
			m.End = m.Start // not started: cancelled
		}
		if _, err := tx.ExecContext(ctx, `UPDATE maintenance_windows SET ends_at = $1 WHERE id = $2`, toDB(m.End), id); err != nil {
			return fmt.Errorf("store: end maintenance window %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "maintenance_window.end", "service", serviceID, auditJSON(map[string]any{"id": id}))
	})
	return m, err
}

// inMaintenance reports whether the service has a window covering now.
func inMaintenance(ctx context.Context, q queryRower, serviceID int64, now time.Time) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM maintenance_windows WHERE service_id = $1 AND starts_at <= $2 AND ends_at > $2 LIMIT 1`,
		serviceID, toDB(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: maintenance of service %d: %w", serviceID, err)
	}
	return true, nil
}
