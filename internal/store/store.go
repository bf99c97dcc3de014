// Package store is Klaxon's one SQL store. The same query texts serve
// SQLite (embedded, the default) and PostgreSQL; dialect.go holds the few
// differences. Event ingestion goes through a group committer (ingest.go) so
// that many concurrent requests share one transaction and one fsync.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/klaxonhq/klaxon"
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Clock stamps rows; the system clock when nil.
	Clock klaxon.Clock
	// MaxQueuedEvents bounds the events waiting for group commit. Past it,
	// Ingest answers EOVERLOAD at once instead of letting latency grow.
	// Default 50,000.
	MaxQueuedEvents int
	// MaxGroupEvents bounds the events committed in one transaction.
	// Default 4,000.
	MaxGroupEvents int
	// MaxReadConns bounds the read pool. Default 8.
	MaxReadConns int
	// OnCommit, when set, is told the size and duration of every group
	// commit (for metrics). It runs on the committer: keep it cheap.
	OnCommit func(events int, took time.Duration, err error)
	// Logger hears what the store does on its own: losing and regaining
	// the connection that hears other nodes, taking and losing singleton
	// duties. slog.Default() when nil.
	Logger *slog.Logger
}

// Store is the database behind Klaxon. It is safe for concurrent use.
type Store struct {
	dialect dialect
	w, r    *sql.DB // writes and reads; the same pool on PostgreSQL
	clock   klaxon.Clock
	// dbClock: membership is timed by the database's clock (PostgreSQL,
	// in production); a store given a clock of its own (tests) uses it.
	dbClock bool
	ingest  *groupCommitter
	folds   *folds // SQLite only: triggers folded into open alerts in memory (folds.go)

	ingestStmts *ingestStatements
	wal         *walSyncer            // SQLite only: fsyncs the WAL after commits
	failed      atomic.Pointer[error] // set by the first failed fsync; no writes after it
	work        chan struct{}         // see Work

	statusChanges chan struct{} // see StatusChanges
	statusWork    chan struct{} // see StatusWork

	log *slog.Logger
	// PostgreSQL only: pgConfig opens the connections that live outside
	// the pool (the listener, singleton duties); notifyPayload ("schema
	// instance") marks this store's notifications (notify.go), and listen
	// hears the others'.
	pgConfig      *pgx.ConnConfig
	notifyPayload string
	listen        *listener
}

// Open connects to the database at addr (a PostgreSQL URL, or an SQLite file
// path), applies pending migrations and starts the group committer.
func Open(ctx context.Context, addr string, opts Options) (*Store, error) {
	d, err := dialectFor(addr)
	if err != nil {
		return nil, err
	}
	_, systemClock := opts.Clock.(klaxon.SystemClock)
	systemClock = systemClock || opts.Clock == nil
	if opts.Clock == nil {
		opts.Clock = klaxon.SystemClock{}
	}
	if opts.MaxQueuedEvents <= 0 {
		opts.MaxQueuedEvents = 50000
	}
	if opts.MaxGroupEvents <= 0 {
		opts.MaxGroupEvents = 4000
	}
	if opts.MaxReadConns <= 0 {
		opts.MaxReadConns = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w, err := sql.Open(d.driver, d.writeDSN)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d.name, err)
	}
	s := &Store{dialect: d, w: w, r: w, clock: opts.Clock, dbClock: systemClock && d.name == "postgres", work: make(chan struct{}, 1),
		statusChanges: make(chan struct{}, 1), statusWork: make(chan struct{}, 1), log: opts.Logger}
	if d.walPath != "" {
		s.wal = &walSyncer{path: d.walPath}
	}
	if d.name == "sqlite" {
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		w.SetConnMaxIdleTime(0)
	} else {
		w.SetMaxOpenConns(opts.MaxReadConns + 4)
		w.SetMaxIdleConns(opts.MaxReadConns + 4)
	}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", d.name, err)
	}
	if err := migrate(ctx, w, d); err != nil {
		w.Close()
		return nil, err
	}
	if d.readDSN != d.writeDSN {
		r, err := sql.Open(d.driver, d.readDSN)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open %s readers: %w", d.name, err)
		}
		r.SetMaxOpenConns(opts.MaxReadConns)
		r.SetMaxIdleConns(opts.MaxReadConns)
		s.r = r
	}
	if s.ingestStmts, err = prepareIngest(ctx, w, d); err != nil {
		if s.r != w {
			s.r.Close()
		}
		w.Close()
		return nil, err
	}
	if d.notify != "" {
		if err := s.startListening(ctx, addr); err != nil {
			if s.r != w {
				s.r.Close()
			}
			w.Close()
			return nil, err
		}
	}
	if d.name == "sqlite" {
		// Counts folded in memory by a process that then died are
		// recounted from the events before any new event arrives.
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return recountFolds(ctx, tx) }); err != nil {
			s.r.Close()
			w.Close()
			return nil, err
		}
		s.folds = newFolds(time.Now())
	}
	s.ingest = newGroupCommitter(s, opts.MaxQueuedEvents, opts.MaxGroupEvents, opts.OnCommit)
	return s, nil
}

// startListening names this store's notifications and starts hearing the
// other nodes' (notify.go).
func (s *Store) startListening(ctx context.Context, addr string) error {
	cfg, err := pgx.ParseConfig(addr)
	if err != nil {
		return fmt.Errorf("store: parse %s address: %w", s.dialect.name, err)
	}
	s.pgConfig = cfg
	var schema string
	if err := s.w.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("store: current schema: %w", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	self := hex.EncodeToString(b[:])
	s.notifyPayload = schema + " " + self
	if s.listen, err = s.startListener(ctx, schema, self); err != nil {
		return err
	}
	return nil
}

// Dialect names the database in use: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// Close stops accepting events, commits every event already queued, and
// closes the database. Events queued before Close are never dropped.
func (s *Store) Close() error {
	s.ingest.close()
	if s.listen != nil {
		s.listen.close()
	}
	var errs []error
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if s.wal != nil {
		errs = append(errs, s.wal.close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers and that the store has not stopped
// writing after a failed fsync, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.failure(); err != nil {
		return err
	}
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return &commitError{err}
	}
	return nil
}

// commitError is a failed COMMIT, whose outcome is unknown: the connection
// may have dropped after the server committed, or SQLite may have written
// the transaction and then failed its automatic checkpoint. Such work must
// never be applied a second time.
type commitError struct{ err error }

func (e *commitError) Error() string { return "store: commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// outcomeUnknown answers requests whose commit failed: the sender retries,
// and a retry with the same dedup key folds into the same alert.
var outcomeUnknown = &klaxon.Error{Code: klaxon.EUNAVAILABLE,
	Message: "the store could not confirm the write; retry with the same dedup key"}

// write runs fn in a write transaction, commits it and makes it durable
// before returning: what the API answered as done is on disk.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := s.failure(); err != nil {
		return err
	}
	if err := s.inTx(ctx, fn); err != nil {
		return err
	}
	return s.syncWAL()
}

// claim runs fn in a write transaction whose loss in a power cut is
// repaired by doing the work again: leases, and the engine's decisions
// (which it re-derives from the escalation rows that ingestion made
// durable). It does not wait for the WAL's fsync; the next durable write's
// fsync covers it anyway (a process crash loses nothing either way: the
// WAL is in the kernel). A page decided, sent, and then lost with its
// record in a power cut is decided and sent again, with the same
// idempotency key. That saves two disk flushes on the path from event to
// page.
func (s *Store) claim(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := s.failure(); err != nil {
		return err
	}
	return s.inTx(ctx, fn)
}

// Times are stored as Unix microseconds in both dialects.

func toDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromDB(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromDB(n.Int64)
	return &t
}

func toNullDB(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toDB(*t), Valid: true}
}

// now is the store clock's time, truncated to what the database keeps so
// that a value written and read back compares equal.
func (s *Store) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// mustExist answers a reference to a missing object as a 400 naming the
// field that holds the reference.
func mustExist(ctx context.Context, q queryRower, table string, id int64, field, what string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return klaxon.FieldError(field, "%s %d does not exist", what, id)
	}
	if err != nil {
		return fmt.Errorf("store: look up %s %d: %w", what, id, err)
	}
	return nil
}

// audit writes one audit entry in tx.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, actor, action, objectType string, objectID int64, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, object_type, object_id, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		toDB(s.now()), actor, action, objectType, objectID, detail)
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// ListAudit returns audit entries, newest first.
func (s *Store) ListAudit(ctx context.Context, p klaxon.Page) ([]klaxon.AuditEntry, error) {
	p = p.Normalized()
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, object_type, object_id, detail FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2`, p.Before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []klaxon.AuditEntry
	for rows.Next() {
		var e klaxon.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.At = fromDB(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
