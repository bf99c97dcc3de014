package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// TestCrashDuringIngestionLosesNothing is DESIGN §11's "crash (kill -9)
// during ingestion: 0 acknowledged events lost, 0 duplicate alerts", on the
// real binary: 16 workers send single events and batches of 20 (trigger,
// acknowledge and resolve over 200 dedup keys), the server is SIGKILLed
// mid-flight while they keep sending, and the database itself is checked for
// every event that got a 202. Three kill cycles on one store; after each
// restart, events for dedup keys with open alerts must fold into those same
// alerts.
func TestCrashDuringIngestionLosesNothing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		crashCycles(t, crashBackend{
			start: func(t *testing.T) *harness.Server {
				return startServer(t, harness.Options{DataDir: dataDir, Args: []string{"--rate-limit", "0"}})
			},
			// A copy of the files the killed process left: checking must
			// not change what the next start recovers.
			db:           func(t *testing.T) *sql.DB { return snapshotSQLite(t, dataDir) },
			countsMayLag: true,
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		crashCycles(t, crashBackend{
			start: func(t *testing.T) *harness.Server {
				return startServer(t, harness.Options{Args: []string{"--db", url, "--rate-limit", "0"}})
			},
			db: func(t *testing.T) *sql.DB { return db },
		})
	})
}

type crashBackend struct {
	start func(t *testing.T) *harness.Server
	db    func(t *testing.T) *sql.DB // the store, with no server running
	// countsMayLag: after a kill the alerts' rows may lack counts folded
	// in memory (the embedded store), until the store is opened again.
	countsMayLag bool
}

// foldProbe is an alert open when the server died: after the restart, a
// trigger with its dedup key must land on it.
type foldProbe struct {
	dedupKey            string
	alertID, eventCount int64
}

func crashCycles(t *testing.T, b crashBackend) {
	const (
		cycles   = 3
		loadTime = 1500 * time.Millisecond
	)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	srv := b.start(t)
	serviceID, key := createService(t, srv, "crash-test")
	var all []sentEvent // every event acknowledged, over all cycles
	var probes []foldProbe
	for c := range cycles {
		if c > 0 {
			srv = b.start(t)
			all = append(all, foldCheck(t, srv, key, probes, fmt.Sprintf("fold-c%d", c))...)
		}
		sentinel := fmt.Sprintf("sentinel-%d", c) // a dedup key no worker uses
		all = append(all, sendOne(t, srv.URL, key, map[string]any{"action": "trigger", "dedup_key": sentinel,
			"summary": "sentinel-c" + fmt.Sprint(c), "severity": "critical", "details": map[string]any{"marker": "sentinel-c" + fmt.Sprint(c)}}))

		l := newLoad(srv.URL, key, fmt.Sprintf("c%d", c))
		stopLoad := l.run(ctx)
		select {
		case <-time.After(loadTime):
		case <-ctx.Done():
		}
		l.late.Store(true)
		inflight := l.inflight.Load()
		srv.Kill()
		time.Sleep(300 * time.Millisecond) // the workers keep sending into the dead port
		stopLoad()
		t.Logf("cycle %d: SIGKILL with %d requests in flight; %s", c, inflight, l.summary())
		for _, u := range l.unexpected {
			t.Errorf("cycle %d: %s", c, u)
		}
		if len(l.accepted) == 0 {
			t.Fatalf("cycle %d: no event was acknowledged before the kill", c)
		}
		all = append(all, l.accepted...)

		db := b.db(t)
		checkStored(t, db, serviceID, all, b.countsMayLag)
		probes = openProbes(t, db, serviceID, sentinel)
		if t.Failed() {
			return
		}
	}
	srv = b.start(t)
	all = append(all, foldCheck(t, srv, key, probes, "fold-final")...)
	if err := srv.Stop(30 * time.Second); err != nil {
		t.Errorf("stop after the last restart: %v", err)
	}
	checkStored(t, b.db(t), serviceID, all, false)
	t.Logf("%d kill cycles, %d acknowledged events checked, in %s", cycles, len(all), time.Since(began).Round(time.Millisecond))
}

// openProbes picks the sentinel's alert and a few load alerts that are open
// in the store, each with the events stored on it: after the restart its
// event_count must be that plus the probe's event, whatever counts the
// killed process had only in memory.
func openProbes(t *testing.T, db *sql.DB, service, sentinel string) []foldProbe {
	t.Helper()
	var serviceID int64
	fmt.Sscan(service, &serviceID)
	var probes []foldProbe
	var p foldProbe
	p.dedupKey = sentinel
	err := db.QueryRow(`SELECT id, (SELECT COUNT(*) FROM events e WHERE e.alert_id = alerts.id) FROM alerts WHERE service_id = $1 AND dedup_key = $2 AND status <> 'resolved'`,
		serviceID, sentinel).Scan(&p.alertID, &p.eventCount)
	if err != nil {
		t.Errorf("sentinel alert %q (acknowledged before the load) is not open in the store: %v", sentinel, err)
	} else {
		probes = append(probes, p)
	}
	rows, err := db.Query(`SELECT id, dedup_key, (SELECT COUNT(*) FROM events e WHERE e.alert_id = alerts.id) FROM alerts WHERE service_id = $1 AND status <> 'resolved' AND dedup_key LIKE 'k-%'
ORDER BY id DESC LIMIT 3`, serviceID)
	if err != nil {
		t.Fatalf("open alerts: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&p.alertID, &p.dedupKey, &p.eventCount); err != nil {
			t.Fatal(err)
		}
		probes = append(probes, p)
	}
	return probes
}

// foldCheck sends, to the restarted server, a trigger for each alert that was
// open when the previous server died, and checks that it folds into that
// alert rather than opening a new one.
func foldCheck(t *testing.T, srv *harness.Server, key string, probes []foldProbe, prefix string) []sentEvent {
	t.Helper()
	var sent []sentEvent
	for i, p := range probes {
		marker := fmt.Sprintf("%s-%d", prefix, i)
		ev := sendOne(t, srv.URL, key, map[string]any{"action": "trigger", "dedup_key": p.dedupKey, "summary": marker,
			"severity": "warning", "details": map[string]any{"marker": marker}})
		if ev.alertID != p.alertID {
			t.Errorf("after restart, a trigger for open dedup key %q went to alert %d, not to its open alert %d", p.dedupKey, ev.alertID, p.alertID)
			continue
		}
		var a apiAlert
		getJSON(t, srv, fmt.Sprintf("/api/v1/alerts/%d", p.alertID), &a)
		if a.Status == "resolved" || a.EventCount != p.eventCount+1 || a.DedupKey != p.dedupKey {
			t.Errorf("after restart, alert %d: status %s, %d events, dedup key %q; want open, %d events, %q",
				p.alertID, a.Status, a.EventCount, a.DedupKey, p.eventCount+1, p.dedupKey)
		}
		sent = append(sent, ev)
	}
	return sent
}

// sendOne posts one native event that must be accepted.
func sendOne(t *testing.T, url, key string, body map[string]any) sentEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, raw, err := post(ctx, newClient(1), url+"/api/v1/events", key, body)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("POST /api/v1/events %v: %d %s %v", body, status, raw, err)
	}
	var a struct {
		AlertID  json.RawMessage `json:"alert_id"`
		DedupKey string          `json:"dedup_key"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	id, err := alertIDOf(a.AlertID)
	if err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	return sentEvent{marker: body["summary"].(string), action: body["action"].(string), dedupKey: a.DedupKey, alertID: id}
}
