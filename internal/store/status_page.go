package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The public status page: its settings, and how every status write is done.
// Each one runs in statusWrite, which locks the page's row first (so that
// status writers on several PostgreSQL nodes take turns, which is what keeps
// positions dense and "the latest change" well defined), bumps the page's
// generation when something changed, and then tells the page caches
// (StatusChanges) and the status delivery workers (StatusWork): this node's
// after the commit, the other nodes' through NOTIFY at the commit.

// statusTx is one status write in progress.
type statusTx struct {
	tx  *sql.Tx
	now time.Time
	// changed, true unless the write turns out to change nothing, bumps
	// the generation; delivered says deliveries were created.
	changed, delivered bool
}

// statusWrite runs fn in a durable write transaction holding the status
// page's row, bumps the generation when st.changed, and signals after the
// commit.
func (s *Store) statusWrite(ctx context.Context, fn func(st *statusTx) error) error {
	var st *statusTx
	err := s.write(ctx, func(tx *sql.Tx) error {
		st = &statusTx{tx: tx, now: s.now(), changed: true}
		var gen int64
		if err := tx.QueryRowContext(ctx, `SELECT generation FROM status_page WHERE id = 1`+s.dialect.forUpdate).Scan(&gen); err != nil {
			return fmt.Errorf("store: lock the status page: %w", err)
		}
		if err := fn(st); err != nil {
			return err
		}
		if st.changed {
			if _, err := tx.ExecContext(ctx, `UPDATE status_page SET generation = generation + 1 WHERE id = 1`); err != nil {
				return fmt.Errorf("store: bump the status page's generation: %w", err)
			}
			if err := s.notify(ctx, tx, channelStatus); err != nil {
				return err
			}
		}
		if st.delivered {
			return s.notify(ctx, tx, channelStatusWork)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if st.changed {
		signal(s.statusChanges)
	}
	if st.delivered {
		signal(s.statusWork)
	}
	return nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// StatusChanges returns a channel that receives a value after every commit
// that changed the status page (its generation), so that the page cache is
// dropped at once: after this node's commits, and on PostgreSQL after the
// other nodes' (NOTIFY; the cache's poll of StatusGeneration covers the
// moments the listener is reconnecting). It holds at most one value.
func (s *Store) StatusChanges() <-chan struct{} { return s.statusChanges }

// StatusWork returns a channel that receives a value after every commit
// that created status deliveries, on this node or (PostgreSQL) another, so
// that the delivery worker need not wait for its next poll. It holds at
// most one value.
func (s *Store) StatusWork() <-chan struct{} { return s.statusWork }

// StatusGeneration is the page's generation: a number that changes with
// every status write. Reading it is one row, cheap enough to ask on every
// request that a cached page would answer.
func (s *Store) StatusGeneration(ctx context.Context) (int64, error) {
	var gen int64
	if err := s.r.QueryRowContext(ctx, `SELECT generation FROM status_page WHERE id = 1`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("store: status generation: %w", err)
	}
	return gen, nil
}

// StatusPage returns the page's settings (Name "Status" and TimeZone "UTC"
// until changed).
func (s *Store) StatusPage(ctx context.Context) (klaxon.StatusPage, error) {
	return statusPage(ctx, s.r)
}

func statusPage(ctx context.Context, q queryRower) (klaxon.StatusPage, error) {
	var p klaxon.StatusPage
	var updated int64
	err := q.QueryRowContext(ctx, `SELECT name, description, time_zone, url, updated_at FROM status_page WHERE id = 1`).
		Scan(&p.Name, &p.Description, &p.TimeZone, &p.URL, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, errors.New("store: the status page's row is missing")
	}
	if err != nil {
		return p, fmt.Errorf("store: status page: %w", err)
	}
	p.UpdatedAt = fromDB(updated)
	return p, nil
}

// UpdateStatusPage changes the page's settings; the result must be valid
// as a whole (a name, a known time zone, an http(s) URL or none).
func (s *Store) UpdateStatusPage(ctx context.Context, actor string, patch klaxon.StatusPagePatch) (klaxon.StatusPage, error) {
	var p klaxon.StatusPage
	err := s.statusWrite(ctx, func(st *statusTx) error {
		var err error
		if p, err = statusPage(ctx, st.tx); err != nil {
			return err
		}
		changed := map[string]any{}
		for _, f := range []struct {
			name string
			from *string
			to   *string
		}{{"name", patch.Name, &p.Name}, {"description", patch.Description, &p.Description},
			{"time_zone", patch.TimeZone, &p.TimeZone}, {"url", patch.URL, &p.URL}} {
			if f.from != nil {
				*f.to = *f.from
				changed[f.name] = *f.from
			}
		}
		if err := p.Validate(); err != nil {
			return err
		}
		p.UpdatedAt = st.now
		if _, err := st.tx.ExecContext(ctx, `UPDATE status_page SET name = $1, description = $2, time_zone = $3, url = $4, updated_at = $5 WHERE id = 1`,
			p.Name, p.Description, p.TimeZone, p.URL, toDB(p.UpdatedAt)); err != nil {
			return fmt.Errorf("store: update status page: %w", err)
		}
		return s.audit(ctx, st.tx, actor, "status_page.update", "status_page", 1, auditJSON(changed))
	})
	return p, err
}

// boolDB is a boolean as the status tables keep it: 0 or 1 in both
// dialects.
func boolDB(b bool) int {
	if b {
		return 1
	}
	return 0
}
