package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/schedule"
)

// CreateSchedule validates and stores a schedule. Every user in its layers
// must exist.
func (s *Store) CreateSchedule(ctx context.Context, actor string, sc *klaxon.Schedule) error {
	if err := validateSchedule(sc); err != nil {
		return err
	}
	sc.CreatedAt = s.now()
	sc.UpdatedAt = sc.CreatedAt
	return s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO schedules (name, description, time_zone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			sc.Name, sc.Description, sc.TimeZone, toDB(sc.CreatedAt), toDB(sc.UpdatedAt)).Scan(&sc.ID)
		if isUniqueViolation(err) {
			return scheduleNameTaken(sc.Name)
		}
		if err != nil {
			return fmt.Errorf("store: create schedule: %w", err)
		}
		if err := insertLayers(ctx, tx, sc.ID, sc.Layers); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "schedule.create", "schedule", sc.ID, auditJSON(map[string]any{"name": sc.Name}))
	})
}

func validateSchedule(sc *klaxon.Schedule) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	_, err := schedule.Compile(*sc, nil)
	return err
}

func scheduleNameTaken(name string) error {
	return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "name", Message: fmt.Sprintf("a schedule named %q already exists", name)}
}

func insertLayers(ctx context.Context, tx *sql.Tx, scheduleID int64, layers []klaxon.ScheduleLayer) error {
	for i, l := range layers {
		restrictions, err := json.Marshal(restrictionsJSON(l.Restrictions))
		if err != nil {
			return fmt.Errorf("store: encode restrictions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_layers (schedule_id, position, name, start_local, rotation_unit, rotation_every, restrictions) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			scheduleID, i, l.Name, l.Start, l.RotationUnit, l.RotationEvery, string(restrictions)); err != nil {
			return fmt.Errorf("store: insert schedule layer: %w", err)
		}
		for j, uid := range l.UserIDs {
			if err := mustExist(ctx, tx, "users", uid, fmt.Sprintf("layers[%d].users[%d]", i, j), "user"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_layer_users (schedule_id, layer, position, user_id) VALUES ($1, $2, $3, $4)`,
				scheduleID, i, j, uid); err != nil {
				return fmt.Errorf("store: insert schedule layer user: %w", err)
			}
		}
	}
	return nil
}

// restriction is a layer restriction as stored in its JSON column.
type restriction struct {
	Days []string `json:"days,omitempty"`
	From string   `json:"from"`
	To   string   `json:"to"`
}

func restrictionsJSON(rs []klaxon.Restriction) []restriction {
	out := make([]restriction, len(rs))
	for i, r := range rs {
		out[i] = restriction{Days: r.Days, From: r.From, To: r.To}
	}
	return out
}

const scheduleColumns = `id, name, description, time_zone, feed_generation, created_at, updated_at`

// Schedule returns one schedule with its layers, or ENOTFOUND.
func (s *Store) Schedule(ctx context.Context, id int64) (klaxon.Schedule, error) {
	return scheduleByID(ctx, s.r, id)
}

func scheduleByID(ctx context.Context, q queryer, id int64) (klaxon.Schedule, error) {
	sc, err := scanSchedule(q.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, klaxon.Errorf(klaxon.ENOTFOUND, "schedule %d not found", id)
	}
	if err != nil {
		return sc, fmt.Errorf("store: schedule %d: %w", id, err)
	}
	all := map[int64]*klaxon.Schedule{id: &sc}
	return sc, loadLayers(ctx, q, all, `schedule_id = $1`, id)
}

func scanSchedule(row interface{ Scan(...any) error }) (klaxon.Schedule, error) {
	var sc klaxon.Schedule
	var created, updated int64
	err := row.Scan(&sc.ID, &sc.Name, &sc.Description, &sc.TimeZone, &sc.FeedGeneration, &created, &updated)
	sc.CreatedAt, sc.UpdatedAt = fromDB(created), fromDB(updated)
	return sc, err
}

// loadLayers fills in the layers of the schedules in byID, reading the rows
// that where (over schedule_id) selects.
func loadLayers(ctx context.Context, q queryer, byID map[int64]*klaxon.Schedule, where string, args ...any) error {
	rows, err := q.QueryContext(ctx, `SELECT schedule_id, name, start_local, rotation_unit, rotation_every, restrictions FROM schedule_layers WHERE `+where+` ORDER BY schedule_id, position`, args...)
	if err != nil {
		return fmt.Errorf("store: schedule layers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid int64
		var l klaxon.ScheduleLayer
		var restrictions string
		if err := rows.Scan(&sid, &l.Name, &l.Start, &l.RotationUnit, &l.RotationEvery, &restrictions); err != nil {
			return fmt.Errorf("store: schedule layers: %w", err)
		}
		var rs []restriction
		if err := json.Unmarshal([]byte(restrictions), &rs); err != nil {
			return fmt.Errorf("store: schedule %d restrictions: %w", sid, err)
		}
		for _, r := range rs {
			l.Restrictions = append(l.Restrictions, klaxon.Restriction{Days: r.Days, From: r.From, To: r.To})
		}
		if sc := byID[sid]; sc != nil {
			sc.Layers = append(sc.Layers, l)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: schedule layers: %w", err)
	}
	rows.Close()
	urows, err := q.QueryContext(ctx, `SELECT schedule_id, layer, user_id FROM schedule_layer_users WHERE `+where+` ORDER BY schedule_id, layer, position`, args...)
	if err != nil {
		return fmt.Errorf("store: schedule layer users: %w", err)
	}
	defer urows.Close()
	for urows.Next() {
		var sid, uid int64
		var layer int
		if err := urows.Scan(&sid, &layer, &uid); err != nil {
			return fmt.Errorf("store: schedule layer users: %w", err)
		}
		if sc := byID[sid]; sc != nil && layer < len(sc.Layers) {
			sc.Layers[layer].UserIDs = append(sc.Layers[layer].UserIDs, uid)
		}
	}
	return urows.Err()
}

// ListSchedules returns schedules with their layers, newest first.
func (s *Store) ListSchedules(ctx context.Context, p klaxon.Page) ([]klaxon.Schedule, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list schedules: %w", err)
	}
	defer rows.Close()
	var out []klaxon.Schedule
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list schedules: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list schedules: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	byID := make(map[int64]*klaxon.Schedule, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	// The page is a contiguous id range, so one range query loads its layers.
	return out, loadLayers(ctx, s.r, byID, `schedule_id BETWEEN $1 AND $2`, out[len(out)-1].ID, out[0].ID)
}

// UpdateSchedule applies a patch and returns the schedule as stored.
func (s *Store) UpdateSchedule(ctx context.Context, actor string, id int64, patch klaxon.SchedulePatch) (klaxon.Schedule, error) {
	var sc klaxon.Schedule
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if sc, err = scheduleByID(ctx, tx, id); err != nil {
			return err
		}
		changed := map[string]any{}
		if patch.Name != nil && *patch.Name != sc.Name {
			sc.Name, changed["name"] = *patch.Name, *patch.Name
		}
		if patch.Description != nil && *patch.Description != sc.Description {
			sc.Description, changed["description"] = *patch.Description, *patch.Description
		}
		if patch.TimeZone != nil && *patch.TimeZone != sc.TimeZone {
			sc.TimeZone, changed["time_zone"] = *patch.TimeZone, *patch.TimeZone
		}
		if patch.Layers != nil && !sameLayers(*patch.Layers, sc.Layers) {
			sc.Layers, changed["layers"] = *patch.Layers, len(*patch.Layers)
		}
		if err := validateSchedule(&sc); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		sc.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE schedules SET name = $1, description = $2, time_zone = $3, updated_at = $4 WHERE id = $5`,
			sc.Name, sc.Description, sc.TimeZone, toDB(sc.UpdatedAt), id)
		if isUniqueViolation(err) {
			return scheduleNameTaken(sc.Name)
		}
		if err != nil {
			return fmt.Errorf("store: update schedule %d: %w", id, err)
		}
		if _, ok := changed["layers"]; ok {
			// Layer rows are a value of the schedule, not objects of their
			// own: replacing them deletes nothing anyone can reference.
			for _, table := range []string{"schedule_layer_users", "schedule_layers"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE schedule_id = $1`, id); err != nil {
					return fmt.Errorf("store: replace layers of schedule %d: %w", id, err)
				}
			}
			if err := insertLayers(ctx, tx, id, sc.Layers); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "schedule.update", "schedule", id, auditJSON(changed))
	})
	return sc, err
}

func sameLayers(a, b []klaxon.ScheduleLayer) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// CreateOverride puts a person on call over a schedule's layers for a while.
// One person's overrides on one schedule may not overlap: the second would
// say nothing the first does not, and is almost always a typo.
func (s *Store) CreateOverride(ctx context.Context, actor string, o *klaxon.Override) error {
	if o.Start.IsZero() {
		return klaxon.FieldError("start", "is required")
	}
	if o.End.IsZero() {
		return klaxon.FieldError("end", "is required")
	}
	// Truncated to what the database keeps before comparing, so that an
	// override cannot be stored empty.
	o.Start, o.End = o.Start.UTC().Truncate(time.Microsecond), o.End.UTC().Truncate(time.Microsecond)
	if !o.End.After(o.Start) {
		return klaxon.FieldError("end", "must be after start")
	}
	// The database keeps times as microseconds since 1970, 0 meaning none;
	// layers start in 1970 or later, and so do overrides.
	if !o.Start.After(time.Unix(0, 0)) {
		return klaxon.FieldError("start", "must be after 1970-01-01T00:00:00Z")
	}
	o.CreatedAt = s.now()
	return s.write(ctx, func(tx *sql.Tx) error {
		// Lock the schedule's row (PostgreSQL; SQLite has one writer) so
		// that two overlapping overrides created at once cannot both pass
		// the overlap check below.
		res, err := tx.ExecContext(ctx, `UPDATE schedules SET feed_generation = feed_generation WHERE id = $1`, o.ScheduleID)
		if err != nil {
			return fmt.Errorf("store: lock schedule %d: %w", o.ScheduleID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return klaxon.Errorf(klaxon.ENOTFOUND, "schedule %d not found", o.ScheduleID)
		}
		if err := mustExist(ctx, tx, "users", o.UserID, "user_id", "user"); err != nil {
			return err
		}
		var other int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM schedule_overrides WHERE schedule_id = $1 AND user_id = $2 AND starts_at < $3 AND ends_at > $4 LIMIT 1`,
			o.ScheduleID, o.UserID, toDB(o.End), toDB(o.Start)).Scan(&other)
		if err == nil {
			return klaxon.FieldError("start", "overlaps override %d for the same user", other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: check overrides: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO schedule_overrides (schedule_id, user_id, starts_at, ends_at, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			o.ScheduleID, o.UserID, toDB(o.Start), toDB(o.End), toDB(o.CreatedAt)).Scan(&o.ID); err != nil {
			return fmt.Errorf("store: create override: %w", err)
		}
		return s.audit(ctx, tx, actor, "schedule.override", "schedule", o.ScheduleID, auditJSON(map[string]any{
			"override_id": o.ID, "user_id": o.UserID, "start": o.Start, "end": o.End}))
	})
}

// Overrides returns a schedule's overrides that overlap [from, to), in
// creation order (the order in which they win). A zero to means no end.
func (s *Store) Overrides(ctx context.Context, scheduleID int64, from, to time.Time) ([]klaxon.Override, error) {
	end := int64(1<<63 - 1)
	if !to.IsZero() {
		end = toDB(to)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, schedule_id, user_id, starts_at, ends_at, created_at FROM schedule_overrides
WHERE schedule_id = $1 AND ends_at > $2 AND starts_at < $3 ORDER BY id`, scheduleID, toDB(from), end)
	if err != nil {
		return nil, fmt.Errorf("store: overrides of schedule %d: %w", scheduleID, err)
	}
	defer rows.Close()
	var out []klaxon.Override
	for rows.Next() {
		var o klaxon.Override
		var start, end, created int64
		if err := rows.Scan(&o.ID, &o.ScheduleID, &o.UserID, &start, &end, &created); err != nil {
			return nil, fmt.Errorf("store: overrides of schedule %d: %w", scheduleID, err)
		}
		o.Start, o.End, o.CreatedAt = fromDB(start), fromDB(end), fromDB(created)
		out = append(out, o)
	}
	return out, rows.Err()
}

// SchedulesOfUser returns the ids of the schedules a user rotates on or has
// an override on that has not ended by since.
func (s *Store) SchedulesOfUser(ctx context.Context, userID int64, since time.Time) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT schedule_id FROM schedule_layer_users WHERE user_id = $1
UNION SELECT schedule_id FROM schedule_overrides WHERE user_id = $1 AND ends_at > $2 ORDER BY 1`, userID, toDB(since))
	if err != nil {
		return nil, fmt.Errorf("store: schedules of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: schedules of user %d: %w", userID, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
