package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// TestBackupRestore: "klaxon backup" copies the store while a server runs
// on it and others keep writing; the copy is consistent; a server started
// on what "klaxon restore" (SQLite) or pg_restore (PostgreSQL) puts back
// shows the same alerts, and the integration keys still work.
func TestBackupRestore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		srv := startServer(t, harness.Options{DataDir: dataDir, Args: []string{"--rate-limit", "0"}})
		fx := seedBackupFixture(t, srv)
		out := filepath.Join(t.TempDir(), "klaxon-backup.db")

		// The backup runs while another sender keeps writing.
		stopWriter := backupBackgroundWriter(t, srv)
		r := runCLI(t, nil, "backup", "--data", dataDir, "--out", out)
		if r.code != 0 {
			t.Fatalf("klaxon backup while the server runs: %s", r)
		}
		for _, want := range []string{"integrity ok", "alerts", "events", out} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("klaxon backup's report does not mention %q:\n%s", want, r.stdout)
			}
		}
		t.Logf("klaxon backup: %s", strings.TrimSpace(r.stdout))
		if st, err := os.Stat(out); err != nil {
			t.Fatal(err)
		} else if st.Mode().Perm() != 0o600 {
			t.Errorf("the backup's mode is %v; want 0600 (it holds secrets)", st.Mode().Perm())
		}
		first, _ := os.ReadFile(out)

		// Never over an existing file without --force.
		r = runCLI(t, nil, "backup", "--data", dataDir, "--out", out)
		if r.code != 1 || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
			t.Errorf("a second backup to the same file: want exit 1 naming --force: %s", r)
		}
		if again, _ := os.ReadFile(out); !bytes.Equal(first, again) {
			t.Errorf("the refused backup changed %s", out)
		}
		backupNoLeftovers(t, filepath.Dir(out), "klaxon-backup.db")
		r = runCLI(t, []string{"KLAXON_DATA=" + dataDir}, "backup", "--out", out, "--force")
		if r.code != 0 {
			t.Fatalf("klaxon backup --force (data dir from KLAXON_DATA): %s", r)
		}

		// No restore under a running server: the data directory is its.
		r = runCLI(t, nil, "restore", "--data", dataDir, "--from", out)
		if r.code != 1 || !strings.Contains(r.stderr, "in use") {
			t.Errorf("klaxon restore while the server runs: want exit 1, \"in use\": %s", r)
		}
		if m, _ := filepath.Glob(filepath.Join(dataDir, "*before-restore*")); len(m) > 0 {
			t.Errorf("the refused restore moved files: %v", m)
		}
		written := stopWriter()
		if err := srv.Stop(20 * time.Second); err != nil {
			t.Fatalf("stop the server: %v", err)
		}
		backupCheckSQLiteFile(t, out, written)

		// Into a fresh data directory, which restore creates.
		fresh := filepath.Join(t.TempDir(), "restored")
		r = runCLI(t, nil, "restore", "--data", fresh, "--from", out)
		if r.code != 0 || !strings.Contains(r.stdout, "integrity ok") {
			t.Fatalf("klaxon restore into a fresh data directory: %s", r)
		}
		t.Logf("klaxon restore: %s", strings.TrimSpace(r.stdout))
		restored := startServer(t, harness.Options{DataDir: fresh})
		fx.check(t, restored)
		if err := restored.Stop(20 * time.Second); err != nil {
			t.Fatalf("stop the restored server: %v", err)
		}
		backupCheckRestoredCounts(t, filepath.Join(fresh, "klaxon.db"))

		// Over an existing database: the old files are moved aside, not lost.
		r = runCLI(t, nil, "restore", "--data", dataDir, "--from", out)
		if r.code != 0 || !strings.Contains(r.stdout, "before-restore") {
			t.Fatalf("klaxon restore over the stopped server's database: %s", r)
		}
		aside, _ := filepath.Glob(filepath.Join(dataDir, "klaxon.db.before-restore-*"))
		if !slices.ContainsFunc(aside, func(p string) bool { return regexp.MustCompile(`before-restore-\d{8}T\d{6}Z$`).MatchString(p) }) {
			t.Errorf("no klaxon.db.before-restore-<timestamp> in %s after restoring over it: %v", dataDir, aside)
		}
		again := startServer(t, harness.Options{DataDir: dataDir})
		fx.check(t, again)
	})

	t.Run("postgres", func(t *testing.T) {
		dbURL := storetest.PostgresURL(t)
		pgDump, pgRestore, found := backupFindPgTools(t)
		if pgDump == "" {
			t.Skipf("pg_dump not found (%s); the PostgreSQL backup is not tested here", found)
		}
		t.Logf("pg_dump: %s", found)
		base, schema := backupSplitSchema(t, dbURL)
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })

		srv := startServer(t, harness.Options{Args: []string{"--db", dbURL, "--rate-limit", "0"}})
		fx := seedBackupFixture(t, srv)
		out := filepath.Join(t.TempDir(), "klaxon.dump")
		stopWriter := backupBackgroundWriter(t, srv)
		r := runCLI(t, nil, "backup", "--db", dbURL, "--out", out, "--pg-dump", pgDump)
		stopWriter()
		if r.code != 0 {
			t.Fatalf("klaxon backup --db (schema %s) while the server runs: %s", schema, r)
		}
		if !strings.Contains(r.stdout, "schema "+schema) || !strings.Contains(r.stdout, "tables with data") {
			t.Errorf("klaxon backup's report does not name the schema and the archive's tables:\n%s", r.stdout)
		}
		t.Logf("klaxon backup: %s", strings.TrimSpace(r.stdout))
		r = runCLI(t, nil, "backup", "--db", dbURL, "--out", out, "--pg-dump", pgDump)
		if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
			t.Errorf("a second backup to the same file: want exit 1, \"already exists\": %s", r)
		}
		if err := srv.Stop(20 * time.Second); err != nil {
			t.Fatalf("stop the server: %v", err)
		}

		// The old schema is set aside (and dropped at the end); pg_restore
		// creates the schema anew from the archive alone.
		if _, err := admin.Exec(`ALTER SCHEMA ` + schema + ` RENAME TO ` + schema + `_before`); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec(`DROP SCHEMA IF EXISTS ` + schema + `_before CASCADE`) })
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, pgRestore, "--clean", "--if-exists", "--no-owner", "--exit-on-error", "-d", base, out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, b)
		}
		var tables int
		if err := admin.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&tables); err != nil || tables == 0 {
			t.Fatalf("schema %s after pg_restore: %d tables, %v", schema, tables, err)
		}
		restored := startServer(t, harness.Options{Args: []string{"--db", dbURL}})
		fx.check(t, restored)
	})
}

// TestBackupRestoreErrors: the mistakes an operator makes get a clear
// message and a non-zero exit, and change nothing.
func TestBackupRestoreErrors(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not an SQLite database "), 200), 0o600); err != nil {
		t.Fatal(err)
	}
	emptySQLite := filepath.Join(t.TempDir(), "other.db")
	if db, err := sql.Open("sqlite", "file:"+emptySQLite); err != nil {
		t.Fatal(err)
	} else {
		_, err := db.Exec(`CREATE TABLE notes (body TEXT)`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A data directory with a database, for the --out mistakes.
	dataDir := t.TempDir()
	srv := startServer(t, harness.Options{DataDir: dataDir})
	if err := srv.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(dataDir)

	for _, c := range []struct {
		name string
		args []string
		code int
		want []string // in stderr, case-insensitive
	}{
		{"missing data dir", []string{"backup", "--data", filepath.Join(empty, "nope"), "--out", filepath.Join(empty, "b.db")}, 1, []string{"does not exist", "nope"}},
		{"no klaxon.db", []string{"backup", "--data", empty, "--out", filepath.Join(t.TempDir(), "b.db")}, 1, []string{"no klaxon.db", empty}},
		{"out dir missing", []string{"backup", "--data", dataDir, "--out", filepath.Join(empty, "no-such-dir", "b.db")}, 1, []string{"cannot write the backup", "no-such-dir", "does not exist"}},
		{"out dir is a file", []string{"backup", "--data", dataDir, "--out", filepath.Join(file, "b.db")}, 1, []string{"cannot write the backup", "not a directory"}},
		{"out is the database", []string{"backup", "--data", dataDir, "--out", filepath.Join(dataDir, "klaxon.db"), "--force"}, 1, []string{"live database"}},
		{"no --out", []string{"backup", "--data", dataDir}, 2, []string{"--out"}},
		{"no pg_dump", []string{"backup", "--db", "postgres://klaxon@127.0.0.1:1/klaxon", "--out", filepath.Join(empty, "b.dump"), "--pg-dump", filepath.Join(empty, "pg_dump")}, 1, []string{"not found", "postgresql-client"}},
		{"restore without --from", []string{"restore", "--data", dataDir}, 2, []string{"--from"}},
		{"restore missing file", []string{"restore", "--data", dataDir, "--from", filepath.Join(empty, "none.db")}, 1, []string{"none.db"}},
		{"restore garbage", []string{"restore", "--data", dataDir, "--from", garbage}, 1, []string{"not a database", "nothing was changed"}},
		{"restore other SQLite", []string{"restore", "--data", dataDir, "--from", emptySQLite}, 1, []string{"not a Klaxon database", "nothing was changed"}},
		{"restore postgres", []string{"restore", "--db", "postgres://klaxon@127.0.0.1/klaxon", "--from", garbage}, 2, []string{"pg_restore --clean --if-exists"}},
	} {
		r := runCLI(t, nil, c.args...)
		if r.code != c.code {
			t.Errorf("%s: klaxon %v: exit %d, want %d\nstdout: %s\nstderr: %s", c.name, c.args, r.code, c.code, r.stdout, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(w)) {
				t.Errorf("%s: klaxon %v: stderr does not mention %q:\n%s", c.name, c.args, w, r.stderr)
			}
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the failed commands left files in %s: %v", empty, names)
	}
	after, _ := os.ReadDir(dataDir)
	if len(after) != len(before) {
		t.Errorf("the refused restores changed %s: %d entries before, %d after", dataDir, len(before), len(after))
	}
}

// backupFixture is what was in the store when it was backed up: the alerts
// of one service, as the API showed them, and its integration key.
type backupFixture struct {
	serviceID, key string
	alerts         []apiAlert
}

// seedBackupFixture creates a service and sends it events: eight alerts,
// some with several events, one acknowledged and one resolved.
func seedBackupFixture(t *testing.T, srv *harness.Server) backupFixture {
	t.Helper()
	serviceID, key := createService(t, srv, "backup-me")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := newClient(2)
	for i := range 20 {
		body := map[string]any{"action": "trigger", "dedup_key": fmt.Sprintf("backup-%d", i%8),
			"summary": fmt.Sprintf("backup test %d", i%8), "severity": "critical", "source": "db-" + strconv.Itoa(i%8)}
		if code, raw, err := post(ctx, c, srv.URL+"/api/v1/events", key, body); err != nil || code != http.StatusAccepted {
			t.Fatalf("event %d: %d %s %v", i, code, raw, err)
		}
	}
	if code, raw, err := post(ctx, c, srv.URL+"/api/v1/events", key, map[string]any{"action": "resolve", "dedup_key": "backup-7"}); err != nil || code != http.StatusAccepted {
		t.Fatalf("resolve event: %d %s %v", code, raw, err)
	}
	fx := backupFixture{serviceID: serviceID, key: key, alerts: backupListAlerts(t, srv, serviceID)}
	if len(fx.alerts) != 8 {
		t.Fatalf("want 8 alerts on the service, got %d", len(fx.alerts))
	}
	var acked string
	for _, a := range fx.alerts {
		if a.DedupKey == "backup-3" {
			acked = a.ID
		}
	}
	if err := srv.Do(ctx, "POST", "/api/v1/alerts/"+acked+"/acknowledge", map[string]any{}, nil); err != nil {
		t.Fatalf("acknowledge alert %s: %v", acked, err)
	}
	fx.alerts = backupListAlerts(t, srv, serviceID)
	return fx
}

// check compares the alerts a restored server shows with those backed up,
// and sends one more event with the old integration key: it still works and
// folds into the open alert it names.
func (fx backupFixture) check(t *testing.T, srv *harness.Server) {
	t.Helper()
	got := backupListAlerts(t, srv, fx.serviceID)
	key := func(a apiAlert) string {
		return strings.Join([]string{a.ID, a.DedupKey, a.Status, a.Summary, a.Source, strconv.FormatInt(a.EventCount, 10)}, " | ")
	}
	var want, have []string
	for _, a := range fx.alerts {
		want = append(want, key(a))
	}
	for _, a := range got {
		have = append(have, key(a))
	}
	if !slices.Equal(want, have) {
		t.Fatalf("alerts after restore differ from those backed up:\n got:  %q\n want: %q", have, want)
	}
	statuses := map[string]int{}
	for _, a := range got {
		statuses[a.Status]++
	}
	if statuses["acknowledged"] != 1 || statuses["resolved"] != 1 || statuses["triggered"] != 6 {
		t.Errorf("statuses after restore: %v", statuses)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, raw, err := post(ctx, http.DefaultClient, srv.URL+"/api/v1/events", fx.key,
		map[string]any{"action": "trigger", "dedup_key": "backup-0", "summary": "backup test 0", "severity": "critical"})
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("an event with the backed-up integration key after restore: %d %s %v", code, raw, err)
	}
	var open apiAlert
	for _, a := range fx.alerts {
		if a.DedupKey == "backup-0" {
			open = a
		}
	}
	if !strings.Contains(string(raw), `"`+open.ID+`"`) {
		t.Errorf("the event after restore did not fold into alert %s: %s", open.ID, raw)
	}
}

func backupListAlerts(t *testing.T, srv *harness.Server, serviceID string) []apiAlert {
	t.Helper()
	var page struct{ Alerts []apiAlert }
	getJSON(t, srv, "/api/v1/alerts?limit=100&service="+serviceID, &page)
	slices.SortFunc(page.Alerts, func(a, b apiAlert) int { return strings.Compare(a.DedupKey, b.DedupKey) })
	return page.Alerts
}

// backupBackgroundWriter keeps sending events to another service until the
// returned function is called, which returns how many were accepted.
func backupBackgroundWriter(t *testing.T, srv *harness.Server) func() int64 {
	t.Helper()
	_, key := createService(t, srv, "busy-meanwhile")
	ctx, cancel := context.WithCancel(context.Background())
	var accepted atomic.Int64
	var wg sync.WaitGroup
	c := newClient(4)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				body := map[string]any{"action": "trigger", "dedup_key": fmt.Sprintf("busy-%d-%d", w, i%50),
					"summary": "busy while the backup runs", "severity": "warning"}
				if code, _, err := post(ctx, c, srv.URL+"/api/v1/events", key, body); err == nil && code == http.StatusAccepted {
					accepted.Add(1)
				}
			}
		})
	}
	// Let it get going before the backup starts.
	deadline := time.Now().Add(5 * time.Second)
	for accepted.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	stop := func() int64 {
		once.Do(func() { cancel(); wg.Wait() })
		return accepted.Load()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// backupCheckSQLiteFile opens a backup as any SQLite user would and checks
// that it is one consistent snapshot: the alerts' event counts add up to the
// events stored, and it holds no more events than were ever accepted.
func backupCheckSQLiteFile(t *testing.T, path string, written int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	var events, counted, busy int64
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the backup: %q %v", check, err)
	}
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM events), (SELECT COALESCE(SUM(event_count), 0) FROM alerts),
		(SELECT COUNT(*) FROM events e JOIN alerts a ON a.id = e.alert_id JOIN services s ON s.id = a.service_id WHERE s.name = 'busy-meanwhile')`).
		Scan(&events, &counted, &busy); err != nil {
		t.Fatal(err)
	}
	// The alerts' rows may not yet count events the server had folded in
	// memory (a server opening the copy recounts them; fx.check and
	// backupCheckRestoredCounts look at that); they never count more.
	if counted > events {
		t.Errorf("the backup is not one snapshot: %d events stored, the alerts count %d", events, counted)
	}
	if busy > written {
		t.Errorf("the backup holds %d events of the busy service; only %d were accepted", busy, written)
	}
	t.Logf("backup: %d events, %d of them from the sender that ran during the backup (%d accepted in all)", events, busy, written)
}

// backupCheckRestoredCounts: once a server has opened the restored copy,
// every alert counts exactly the events stored on it.
func backupCheckRestoredCounts(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wrong int
	if err := db.QueryRow(`SELECT COUNT(*) FROM alerts a LEFT JOIN (SELECT alert_id, COUNT(*) AS n FROM events GROUP BY alert_id) e ON e.alert_id = a.id
WHERE a.event_count <> COALESCE(e.n, 0)`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong > 0 {
		t.Errorf("after a server opened the restored copy, %d alerts' event_count differ from the events stored on them", wrong)
	}
}

// backupNoLeftovers fails if a refused or failed backup left a temporary
// file beside its output.
func backupNoLeftovers(t *testing.T, dir, keep string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != keep {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}

// backupFindPgTools finds pg_dump and pg_restore: on PATH, else the newest
// in Debian's /usr/lib/postgresql/*/bin; found says what was looked at.
func backupFindPgTools(t *testing.T) (pgDump, pgRestore, found string) {
	t.Helper()
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	slices.SortFunc(versioned, func(a, b string) int { return backupMajor(b) - backupMajor(a) })
	var candidates []string
	if p, err := exec.LookPath("pg_dump"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, versioned...)
	if len(candidates) == 0 {
		return "", "", "no pg_dump on PATH, none in /usr/lib/postgresql/*/bin"
	}
	pgDump = candidates[0]
	out, err := exec.Command(pgDump, "--version").Output()
	if err != nil {
		return "", "", fmt.Sprintf("%s does not run: %v", pgDump, err)
	}
	pgRestore = filepath.Join(filepath.Dir(pgDump), "pg_restore")
	if _, err := os.Stat(pgRestore); err != nil {
		if p, err := exec.LookPath("pg_restore"); err == nil {
			pgRestore = p
		} else {
			return "", "", fmt.Sprintf("%s found, but no pg_restore beside it or on PATH", pgDump)
		}
	}
	return pgDump, pgRestore, fmt.Sprintf("%s (%s); in /usr/lib/postgresql/*/bin: %v", pgDump, strings.TrimSpace(string(out)), versioned)
}

func backupMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// backupSplitSchema splits a schema-scoped test URL into the database's URL
// (for pg_restore and the admin connection) and the schema.
func backupSplitSchema(t *testing.T, dbURL string) (base, schema string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema = q.Get("search_path")
	if schema == "" {
		t.Fatalf("%s names no schema", u.Redacted())
	}
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String(), schema
}
