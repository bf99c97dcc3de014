package store

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds every difference between SQLite and PostgreSQL. Query texts
// are shared ($N placeholders, RETURNING, partial-index upserts work in
// both); only connection set-up, DDL and error classification differ.
type dialect struct {
	name   string // "sqlite" or "postgres"
	driver string // database/sql driver name
	// writeDSN and readDSN open the pool for writes and the pool for reads.
	// SQLite gets one writer connection (it has one writer anyway; one
	// connection means no SQLITE_BUSY between our own goroutines) and a pool
	// of read-only readers. PostgreSQL uses one pool for both.
	writeDSN, readDSN string
	// migrationLock, when set, is run in the migration transaction first so
	// that nodes starting together migrate one at a time.
	migrationLock string
	// walPath is SQLite's write-ahead log, which the store fsyncs itself
	// (see durability.go). Empty for PostgreSQL, whose COMMIT is durable.
	walPath string
	// skipLocked ends a SELECT that claims work: on PostgreSQL, rows another
	// node is claiming are skipped instead of waited for. SQLite has one
	// writer, so nothing to skip.
	skipLocked string
	// forUpdate ends a SELECT that serialises writers on a row (a person's
	// alert numbers): on PostgreSQL the row is locked until the transaction
	// ends. SQLite has one writer, so nothing to lock.
	forUpdate string
	// notify, on PostgreSQL, queues a notification on a channel ($1) with
	// a payload ($2) that the server delivers to every listening node when
	// the transaction commits, and drops when it rolls back: the other
	// nodes are woken by exactly the commits that made work (notify.go).
	// Empty on SQLite, whose one process signals itself.
	notify string
	// tryLock and unlock take and release, on PostgreSQL, a session-level
	// advisory lock named by $1 within the current schema, for singleton
	// duties (cluster.go): nodes sharing a schema share the lock, while
	// separate schemas (tests, tenants) do not. Empty on SQLite.
	tryLock, unlock string
}

// dialectFor picks the dialect from a database address: a postgres:// or
// postgresql:// URL, or a path (or sqlite:// URL) to an SQLite file.
func dialectFor(addr string) (dialect, error) {
	switch {
	case strings.HasPrefix(addr, "postgres://"), strings.HasPrefix(addr, "postgresql://"):
		return dialect{
			name: "postgres", driver: "pgx",
			writeDSN: addr, readDSN: addr,
			skipLocked: " FOR UPDATE SKIP LOCKED",
			forUpdate:  " FOR UPDATE",
			// One lock per schema: nodes sharing a schema migrate one at a
			// time, while separate schemas (tests, tenants) do not wait on
			// each other.
			migrationLock: "SELECT pg_advisory_xact_lock(hashtext('klaxon.migrate.' || current_schema()))",
			notify:        "SELECT pg_notify($1, $2)",
			tryLock:       "SELECT pg_try_advisory_lock(hashtextextended('klaxon.singleton.' || current_schema() || '.' || $1, 0))",
			unlock:        "SELECT pg_advisory_unlock(hashtextextended('klaxon.singleton.' || current_schema() || '.' || $1, 0))",
		}, nil
	case addr == "":
		return dialect{}, errors.New("store: empty database address")
	}
	path := strings.TrimPrefix(addr, "sqlite://")
	abs, err := filepath.Abs(path)
	if err != nil {
		return dialect{}, fmt.Errorf("store: database path %q: %w", path, err)
	}
	// synchronous(NORMAL): COMMIT writes the WAL without waiting for the
	// disk, and the store fsyncs the WAL itself before answering anyone
	// (durability.go), so that one fsync can overlap the next group's work.
	common := "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(OFF)"
	u := "file:" + (&url.URL{Path: abs}).EscapedPath()
	return dialect{
		name: "sqlite", driver: "sqlite",
		writeDSN: u + "?" + common + "&_txlock=immediate",
		readDSN:  u + "?" + common + "&_pragma=query_only(1)",
		walPath:  abs + "-wal",
	}, nil
}

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// hot rewrites a statement on the ingest path for the dialect. SQLite reads
// $1, $2… as named parameters, and the driver looks each name up at every
// bind; anonymous ? parameters skip that (BenchmarkIngest: 128–145k →
// 156–167k events/s in batches of 100). Only statements that use each of
// $1…$n once, in order, can be rewritten, and hot panics on any other, so
// that a mistake shows in the first test that opens a store.
func (d dialect) hot(query string) string {
	if d.name != "sqlite" {
		return query
	}
	return sqliteDialectHot(query)
}

func sqliteDialectHot(query string) string {
	var b strings.Builder
	next := 1
	for i := 0; i < len(query); i++ {
		if query[i] != '$' {
			b.WriteByte(query[i])
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(query[i+1 : j]); err != nil || n != next {
			panic(fmt.Sprintf("store: %q uses $%s where $%d is next: it cannot take ? parameters", query, query[i+1:j], next))
		}
		next++
		b.WriteByte('?')
		i = j - 1
	}
	return b.String()
}
