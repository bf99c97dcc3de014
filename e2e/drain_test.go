package e2e

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// TestSIGTERMDrains: SIGTERM under concurrent load makes the server finish
// what it accepted and exit 0 within its grace period. Every 202 (before or
// after the signal) is stored; a request that arrives while it shuts down
// gets a 2xx (and is stored), a 503 or a connection error, never anything
// else and never a 2xx that is lost.
func TestSIGTERMDrains(t *testing.T) {
	const grace = 10 * time.Second
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		srv := startServer(t, harness.Options{DataDir: dataDir, Args: []string{"--rate-limit", "0", "--shutdown-grace", grace.String()}})
		drain(t, srv, grace, func() *sql.DB { return snapshotSQLite(t, dataDir) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		srv := startServer(t, harness.Options{Args: []string{"--db", url, "--rate-limit", "0", "--shutdown-grace", grace.String()}})
		drain(t, srv, grace, func() *sql.DB {
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

func drain(t *testing.T, srv *harness.Server, grace time.Duration, openDB func() *sql.DB) {
	serviceID, key := createService(t, srv, "drain-test")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	l := newLoad(srv.URL, key, "drain")
	stopLoad := l.run(ctx)
	time.Sleep(time.Second)
	l.late.Store(true)
	inflight := l.inflight.Load()
	sigterm := time.Now()
	err := srv.Stop(grace + 5*time.Second)
	took := time.Since(sigterm)
	time.Sleep(300 * time.Millisecond) // the workers keep sending after the exit
	stopLoad()

	t.Logf("SIGTERM with %d requests in flight; exited after %s (%v); %s", inflight, took.Round(time.Millisecond), err, l.summary())
	if err != nil {
		t.Errorf("after SIGTERM the server did not exit 0: %v", err)
	}
	if took > grace {
		t.Errorf("exit took %s, more than the %s grace period", took, grace)
	}
	for _, u := range l.unexpected {
		t.Errorf("during shutdown: %s", u)
	}
	if !strings.Contains(srv.Output(), `"stopped"`) {
		t.Errorf("the server did not log that it stopped cleanly")
	}
	late := 0
	for _, ev := range l.accepted {
		if ev.late {
			late++
		}
	}
	t.Logf("%d events were acknowledged by requests sent after SIGTERM", late)
	if len(l.accepted) == 0 {
		t.Fatal("no event was acknowledged")
	}
	checkStored(t, openDB(), serviceID, l.accepted, false)
}
