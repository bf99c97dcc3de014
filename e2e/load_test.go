package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sentEvent is one event the load sent and the server answered 202 for:
// it must be stored, exactly once, on the alert the answer named.
type sentEvent struct {
	marker, action, dedupKey string
	alertID                  int64 // 0 when the answer's alert_id was null
	late                     bool  // sent after the phase changed (SIGTERM or SIGKILL)
}

// load drives concurrent native event ingestion, single events and batches,
// over a fixed set of dedup keys with mixed actions. Every event carries a
// unique marker in its summary and in details.marker.
type load struct {
	url, key, prefix string
	client           *http.Client
	workers, keys    int
	batch            int
	maxRequests      int // per worker

	stop     atomic.Bool
	late     atomic.Bool // set by the test when it signals the server
	inflight atomic.Int64

	mu         sync.Mutex
	accepted   []sentEvent
	outcomes   map[string]int // "early 202", "late conn-error", …
	unexpected []string
}

func newLoad(url, key, prefix string) *load {
	return &load{url: url, key: key, prefix: prefix, client: newClient(16), workers: 16, keys: 200, batch: 20,
		maxRequests: 100000, outcomes: map[string]int{}}
}

// run starts the workers; the returned function stops them and waits.
func (l *load) run(ctx context.Context) (stop func()) {
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.worker(ctx, w)
		}()
	}
	return func() {
		l.stop.Store(true)
		wg.Wait()
	}
}

func (l *load) worker(ctx context.Context, w int) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	for r := 0; r < l.maxRequests && !l.stop.Load() && ctx.Err() == nil; r++ {
		n := 1
		if rng.IntN(2) == 0 {
			n = l.batch
		}
		events := make([]sentEvent, n)
		bodies := make([]map[string]any, n)
		for i := range events {
			events[i], bodies[i] = l.event(rng, fmt.Sprintf("%s-w%02d-r%05d-e%02d", l.prefix, w, r, i))
		}
		l.send(ctx, events, bodies)
	}
}

func (l *load) event(rng *rand.Rand, marker string) (sentEvent, map[string]any) {
	dedup := fmt.Sprintf("k-%03d", rng.IntN(l.keys))
	action := "trigger"
	switch p := rng.IntN(4); p {
	case 2:
		action = "acknowledge"
	case 3:
		action = "resolve"
	}
	body := map[string]any{"action": action, "dedup_key": dedup, "summary": marker,
		"details": map[string]any{"marker": marker}}
	if action == "trigger" {
		body["severity"] = []string{"critical", "error", "warning", "info"}[rng.IntN(4)]
		body["source"] = "e2e-load"
	}
	return sentEvent{marker: marker, action: action, dedupKey: dedup}, body
}

// send posts one event (to /api/v1/events) or a batch (to
// /api/v1/events/batch) and records what the server said.
func (l *load) send(ctx context.Context, events []sentEvent, bodies []map[string]any) {
	late := l.late.Load()
	phase := "early"
	if late {
		phase = "late"
	}
	l.inflight.Add(1)
	var status int
	var raw []byte
	var err error
	if len(events) == 1 {
		status, raw, err = post(ctx, l.client, l.url+"/api/v1/events", l.key, bodies[0])
	} else {
		status, raw, err = post(ctx, l.client, l.url+"/api/v1/events/batch", l.key, bodies)
	}
	l.inflight.Add(-1)
	if !late && l.late.Load() {
		phase = "straddling"
	}
	if err != nil {
		l.record(phase+" conn-error", nil, "")
		return
	}
	kind := "single"
	if len(events) > 1 {
		kind = "batch"
	}
	outcome := fmt.Sprintf("%s %s %d", phase, kind, status)
	switch {
	case status == http.StatusAccepted && len(events) == 1:
		var a struct {
			Status   string          `json:"status"`
			AlertID  json.RawMessage `json:"alert_id"`
			DedupKey string          `json:"dedup_key"`
		}
		if err := json.Unmarshal(raw, &a); err != nil || a.Status != "accepted" || a.DedupKey != events[0].dedupKey {
			l.record(outcome, nil, fmt.Sprintf("202 with an unexpected body for %s: %s", events[0].marker, raw))
			return
		}
		id, err := alertIDOf(a.AlertID)
		if err != nil {
			l.record(outcome, nil, fmt.Sprintf("202 for %s: alert_id %s: %v", events[0].marker, a.AlertID, err))
			return
		}
		events[0].alertID, events[0].late = id, late
		l.record(outcome, events, "")
	case status == http.StatusAccepted:
		var a struct {
			Accepted, Rejected int
			Results            []struct {
				Status   string          `json:"status"`
				AlertID  json.RawMessage `json:"alert_id"`
				DedupKey string          `json:"dedup_key"`
			}
		}
		if err := json.Unmarshal(raw, &a); err != nil || len(a.Results) != len(events) {
			l.record(outcome, nil, fmt.Sprintf("batch 202 with an unexpected body: %.300s", raw))
			return
		}
		var ok []sentEvent
		var problem string
		for i, r := range a.Results {
			if r.Status != "accepted" || r.DedupKey != events[i].dedupKey {
				problem = fmt.Sprintf("batch element %d (%s) not accepted as sent: %+v", i, events[i].marker, r)
				continue
			}
			id, err := alertIDOf(r.AlertID)
			if err != nil {
				problem = fmt.Sprintf("batch element %d: alert_id %s: %v", i, r.AlertID, err)
				continue
			}
			events[i].alertID, events[i].late = id, late
			ok = append(ok, events[i])
		}
		if a.Accepted != len(ok) {
			problem = fmt.Sprintf("batch says accepted=%d but %d elements are accepted", a.Accepted, len(ok))
		}
		l.record(outcome, ok, problem)
	case status == http.StatusServiceUnavailable:
		l.record(outcome, nil, "")
	default:
		l.record(outcome, nil, fmt.Sprintf("unexpected answer %d: %.300s", status, raw))
	}
}

func alertIDOf(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

func (l *load) record(outcome string, accepted []sentEvent, problem string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcomes[outcome]++
	l.accepted = append(l.accepted, accepted...)
	if problem != "" && len(l.unexpected) < 20 {
		l.unexpected = append(l.unexpected, problem)
	}
}

// summary is the outcome counts, sorted, for the log.
func (l *load) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for k, v := range l.outcomes {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d events acknowledged; requests: %s", len(l.accepted), strings.Join(parts, ", "))
}

// checkStored verifies, on the database itself, Klaxon's durability and
// deduplication promises for one service:
//   - every acknowledged (202) event is stored, exactly once, with the
//     action and dedup key sent and on the alert the answer named;
//   - no event is stored twice (each was sent once);
//   - no (service, dedup key) has more than one alert that is not resolved;
//   - every alert's event_count equals the events stored on it (alert and
//     events were committed together), or with countsMayLag (the embedded
//     store after a kill -9) is at most that: the counts a killed process
//     had folded in memory are recounted from the events when the store
//     is next opened.
func checkStored(t *testing.T, db *sql.DB, service string, accepted []sentEvent, countsMayLag bool) {
	t.Helper()
	serviceID, err := strconv.ParseInt(service, 10, 64)
	if err != nil {
		t.Fatalf("service id %q: %v", service, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type row struct {
		alertID                           int64
		action, dedup, summary, detailsMk string
	}
	stored := map[string][]row{}
	rows, err := db.QueryContext(ctx, `SELECT alert_id, action, dedup_key, summary, extra FROM events WHERE service_id = $1`, serviceID)
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	n := 0
	for rows.Next() {
		var r row
		var extra string
		if err := rows.Scan(&r.alertID, &r.action, &r.dedup, &r.summary, &extra); err != nil {
			t.Fatalf("read events: %v", err)
		}
		var x struct {
			Summary string `json:"summary"` // where a later release stores it, with the column empty
			Details struct {
				Marker string `json:"marker"`
			} `json:"details"`
		}
		if extra != "" {
			if err := json.Unmarshal([]byte(extra), &x); err != nil {
				t.Errorf("event %q: extra is not JSON: %v: %.200s", r.summary, err, extra)
			}
		}
		r.detailsMk = x.Details.Marker
		if r.summary == "" {
			r.summary = x.Summary
		}
		stored[r.summary] = append(stored[r.summary], r)
		n++
	}
	if err := rows.Close(); err != nil {
		t.Fatalf("read events: %v", err)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read events: %v", err)
	}

	lost, wrong := 0, 0
	for _, ev := range accepted {
		rs := stored[ev.marker]
		switch {
		case len(rs) == 0:
			if lost++; lost <= 10 {
				t.Errorf("LOST: event %s (%s %s) got 202 (alert %d) but is not stored", ev.marker, ev.action, ev.dedupKey, ev.alertID)
			}
			continue
		case len(rs) > 1:
			t.Errorf("event %s is stored %d times", ev.marker, len(rs))
		}
		r := rs[0]
		if r.action != ev.action || r.dedup != ev.dedupKey || r.alertID != ev.alertID || r.detailsMk != ev.marker {
			if wrong++; wrong <= 10 {
				t.Errorf("event %s stored as action=%s dedup=%s alert=%d details.marker=%q; the 202 said action=%s dedup=%s alert=%d",
					ev.marker, r.action, r.dedup, r.alertID, r.detailsMk, ev.action, ev.dedupKey, ev.alertID)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged events lost", lost, len(accepted))
	}
	dups := 0
	for marker, rs := range stored {
		if len(rs) > 1 {
			if dups++; dups <= 10 {
				t.Errorf("event %s stored %d times (it was sent once)", marker, len(rs))
			}
		}
	}

	var open int
	dupRows, err := db.QueryContext(ctx, `SELECT dedup_key, COUNT(*) FROM alerts WHERE status <> 'resolved' GROUP BY service_id, dedup_key HAVING COUNT(*) > 1`)
	if err != nil {
		t.Fatalf("read alerts: %v", err)
	}
	for dupRows.Next() {
		var dk string
		var c int
		if err := dupRows.Scan(&dk, &c); err != nil {
			t.Fatalf("read alerts: %v", err)
		}
		t.Errorf("DUPLICATE ALERTS: dedup key %q has %d alerts that are not resolved", dk, c)
	}
	dupRows.Close()
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts WHERE service_id = $1 AND status <> 'resolved'`, serviceID).Scan(&open); err != nil {
		t.Fatalf("count alerts: %v", err)
	}

	// One pass over events (the embedded store has no index on alert_id).
	counts, err := db.QueryContext(ctx, `SELECT a.id, a.event_count, COALESCE(e.n, 0)
FROM alerts a LEFT JOIN (SELECT alert_id, COUNT(*) AS n FROM events GROUP BY alert_id) e ON e.alert_id = a.id
WHERE a.service_id = $1`, serviceID)
	if err != nil {
		t.Fatalf("read alert counts: %v", err)
	}
	alerts, bad := 0, 0
	for counts.Next() {
		var id, ec, stored int64
		if err := counts.Scan(&id, &ec, &stored); err != nil {
			t.Fatalf("read alert counts: %v", err)
		}
		alerts++
		if ec > stored || (ec != stored && !countsMayLag) {
			if bad++; bad <= 10 {
				t.Errorf("alert %d: event_count %d but %d events stored on it", id, ec, stored)
			}
		}
	}
	counts.Close()
	t.Logf("store holds %d events and %d alerts (%d open) for service %d; all %d acknowledged events checked",
		n, alerts, open, serviceID, len(accepted))
}
