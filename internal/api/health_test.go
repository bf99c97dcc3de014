package api_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite, store.Options{}, api.Config{Version: "1.2.3"})
	r := e.call(t, "GET", "/healthz", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("/healthz: %s", r)
	}
	if m := r.obj(t); m["status"] != "ok" || m["version"] != "1.2.3" {
		t.Errorf("/healthz body: %v", m)
	}
	r = e.call(t, "GET", "/readyz", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("/readyz: %s", r)
	}
	if m := r.obj(t); m["status"] != "ready" {
		t.Errorf("/readyz body: %v", m)
	}
	// HEAD works where GET does, for load balancers.
	if r := e.send(t, request{method: "HEAD", path: "/healthz"}); r.status != http.StatusOK {
		t.Errorf("HEAD /healthz: %s", r)
	}
	// Health checks need no token, and the OpenAPI document is public.
	if r := e.call(t, "GET", "/api/v1/openapi.json", "", nil); r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("/api/v1/openapi.json: %s", r)
	}
	// Every answer carries a request id.
	if r := e.send(t, request{method: "GET", path: "/healthz"}); r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

func TestReadyzWithoutDatabase(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "closing")
	e.trigger(t, key, "before", "before close") // the key is now cached
	if err := e.store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	r := e.call(t, "GET", "/readyz", "", nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with a closed store: %s, want 503", r)
	}
	if m := r.obj(t); m["status"] != "unavailable" {
		t.Errorf("/readyz body: %v", m)
	}
	if r := e.call(t, "GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Errorf("/healthz with a closed store: %s; the process is still alive", r)
	}
	// Events to a closing store are refused with a status a sender retries.
	r = e.event(t, key, validEvent)
	wantError(t, r, http.StatusServiceUnavailable, "overloaded", "")
}

// metric returns the value of the sample whose line starts with series.
func metric(t testing.TB, body []byte, series string) (float64, bool) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[len(series):]), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v, true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "metrics")
	e.trigger(t, key, "m", "metrics")
	if r := e.event(t, key, `{"action":"resolve","dedup_key":"m"}`); r.status != http.StatusAccepted {
		t.Fatalf("resolve: %s", r)
	}
	if r := e.batch(t, key, batchOf("mb", 3)); r.status != http.StatusAccepted {
		t.Fatalf("batch: %s", r)
	}
	e.event(t, key, `{"action":"trigger"}`) // rejected

	r := e.call(t, "GET", "/metrics", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: %s", r)
	}
	for series, want := range map[string]float64{
		`klaxon_events_accepted_total{action="trigger"}`: 4,
		`klaxon_events_accepted_total{action="resolve"}`: 1,
		`klaxon_events_rejected_total{code="invalid"}`:   1,
	} {
		got, ok := metric(t, r.body, series)
		if !ok {
			t.Errorf("/metrics has no %s", series)
		} else if got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, name := range []string{"klaxon_ingest_queue_events", "klaxon_http_requests_total", "klaxon_http_request_duration_seconds"} {
		if !bytes.Contains(r.body, []byte(name)) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	// Requests are counted under their route pattern, not their path, so
	// ids do not explode the label space.
	if bytes.Contains(r.body, []byte(`route="/api/v1/alerts/1"`)) {
		t.Error("request metrics are labelled with raw paths")
	}
}
