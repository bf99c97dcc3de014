// Package e2e runs the real klaxon binary as a child process on a loopback
// port and checks, from the outside, what Klaxon promises its users: nothing
// acknowledged is lost across kill -9, SIGTERM drains, the README's commands
// work, the CLI's exit codes, the demo, and PagerDuty Events v2 clients
// working by URL alone.
package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to check PostgreSQL directly
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver, to check the data file directly

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// klaxonBin is the binary built once for the whole package run.
var klaxonBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "klaxon-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	klaxonBin, err = harness.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building klaxon:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("e2e: built %s in %s\n", klaxonBin, time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

// testToken is the admin token the harness gives the servers it starts.
const testToken = "klx_e2e_bootstrap_token_0123456789"

// startServer starts "klaxon serve" through the harness, logs its
// start-to-serving time, and makes sure it is gone when the test ends (with
// its output in the log when the test failed).
func startServer(t *testing.T, o harness.Options) *harness.Server {
	t.Helper()
	if o.Token == "" {
		o.Token = testToken
	}
	s := launch(t, o)
	if s.URL == "" {
		t.Fatalf("klaxon exited before listening:\n%s", tail(s.Output(), 8000))
	}
	logReady(t, s.Output())
	return s
}

// launch starts "klaxon serve" through the harness and returns once it
// listens or has exited, killing it when the test ends.
func launch(t *testing.T, o harness.Options) *harness.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := harness.Launch(ctx, klaxonBin, o)
	if err != nil {
		t.Fatalf("start klaxon: %v", err)
	}
	t.Cleanup(func() {
		select {
		case <-s.Done():
		default:
			s.Kill()
		}
		if t.Failed() {
			t.Logf("klaxon output (%s):\n%s", s.URL, tail(s.Output(), 8000))
		}
	})
	return s
}

var readyIn = regexp.MustCompile(`listening on (http://\S+) .*ready in (\S+)`)

// logReady reports the start-to-serving time the server printed (DESIGN §11
// targets ≤ 0.5 s; this is measured and logged, not asserted).
func logReady(t *testing.T, output string) time.Duration {
	t.Helper()
	m := readyIn.FindAllStringSubmatch(output, -1)
	if len(m) == 0 {
		t.Errorf("no \"listening on … ready in …\" line in the output:\n%s", tail(output, 2000))
		return 0
	}
	last := m[len(m)-1]
	d, err := time.ParseDuration(last[2])
	if err != nil {
		t.Errorf("ready time %q: %v", last[2], err)
		return 0
	}
	t.Logf("start to serving: %s (%s)", d, last[1])
	return d
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// newClient is an HTTP client for load: enough idle connections for the
// workers, and a timeout so that no request can hang a test.
func newClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns * 2
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}
}

// post sends a JSON body with an optional bearer secret and returns the
// status and the answer.
func post(ctx context.Context, c *http.Client, url, bearer string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		// The head came but the body did not: as good as no answer.
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

// getJSON GETs an admin API path and decodes the answer.
func getJSON(t *testing.T, s *harness.Server, path string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Do(ctx, "GET", path, nil, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// createService creates a service with an api integration.
func createService(t *testing.T, s *harness.Server, name string) (serviceID, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, key, err := s.CreateService(ctx, name)
	if err != nil {
		t.Fatalf("create service %q: %v", name, err)
	}
	return id, key
}

// apiAlert is an alert as GET /api/v1/alerts/{id} shows it.
type apiAlert struct {
	ID         string `json:"id"`
	ServiceID  string `json:"service_id"`
	DedupKey   string `json:"dedup_key"`
	Status     string `json:"status"`
	Severity   string `json:"severity"`
	Summary    string `json:"summary"`
	Source     string `json:"source"`
	Component  string `json:"component"`
	Group      string `json:"group"`
	Class      string `json:"class"`
	EventCount int64  `json:"event_count"`
	Events     []struct {
		Action   string          `json:"action"`
		DedupKey string          `json:"dedup_key"`
		Summary  string          `json:"summary"`
		Severity string          `json:"severity"`
		Details  json.RawMessage `json:"details"`
		Links    []struct {
			Href string `json:"href"`
			Text string `json:"text"`
		} `json:"links"`
		Images []struct {
			Src  string `json:"src"`
			Href string `json:"href"`
			Alt  string `json:"alt"`
		} `json:"images"`
		Timestamp *time.Time `json:"timestamp"`
	} `json:"events"`
}

// snapshotSQLite copies the SQLite files of a data directory whose server is
// not running (killed or stopped) into a fresh directory and opens the copy,
// so that checking never touches the data the next server start recovers.
// The -shm file is left behind: SQLite rebuilds it from the WAL.
func snapshotSQLite(t *testing.T, dataDir string) *sql.DB {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{"klaxon.db", "klaxon.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dataDir, name))
		if errors.Is(err, os.ErrNotExist) && name != "klaxon.db" {
			continue
		}
		if err != nil {
			t.Fatalf("snapshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
			t.Fatalf("snapshot %s: %v", name, err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dst, "klaxon.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open snapshot: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("open snapshot: %v", err)
	}
	return db
}

// freeAddr returns a loopback address nothing listens on (it was free a
// moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
