// Package storetest is the store's conformance suite: Run drives every store
// behaviour against an opener, and the store's own tests call it for SQLite
// files and for PostgreSQL schemas. Other packages use the openers to get a
// real database in their tests.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/klaxonhq/klaxon/internal/store"
)

// Opener opens a fresh, empty store for one test.
type Opener func(t testing.TB, opts store.Options) *store.Store

// OpenSQLite opens a store on a new SQLite file in the test's temp dir.
func OpenSQLite(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "klaxon.db"), opts)
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL returns a database URL for a fresh schema of its own on the
// server named by KLAXON_TEST_POSTGRES, dropped when the test ends. Without
// that variable the test is skipped, unless KLAXON_REQUIRE_POSTGRES=1 (as in
// CI), where it fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("KLAXON_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("KLAXON_REQUIRE_POSTGRES") == "1" {
			t.Fatal("KLAXON_REQUIRE_POSTGRES=1 but KLAXON_TEST_POSTGRES is not set")
		}
		t.Skip("KLAXON_TEST_POSTGRES not set; skipping PostgreSQL test")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if err := admin.Ping(); err != nil {
		if os.Getenv("KLAXON_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("postgres at KLAXON_TEST_POSTGRES unreachable: %v", err)
		}
		t.Skipf("postgres unreachable, skipping: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "klaxon_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("KLAXON_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres opens a store on a fresh schema of the test PostgreSQL.
func OpenPostgres(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), PostgresURL(t), opts)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
