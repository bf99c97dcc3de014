package httpx_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxonhq/klaxon/internal/httpx"
)

func TestObserve(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("handler bug") })
	srv := httptest.NewServer(httpx.Chain(mux, httpx.Observe(log, reg)))
	defer srv.Close()

	get := func(path, requestID string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if requestID != "" {
			req.Header.Set(httpx.RequestIDHeader, requestID)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}

	if res := get("/ok", "from-proxy"); res.StatusCode != 200 || res.Header.Get(httpx.RequestIDHeader) != "from-proxy" {
		t.Fatalf("ok: %d, request id %q", res.StatusCode, res.Header.Get(httpx.RequestIDHeader))
	}
	if res := get("/ok", strings.Repeat("x", 100)); len(res.Header.Get(httpx.RequestIDHeader)) != 16 {
		t.Fatalf("an oversized request id must be replaced, got %q", res.Header.Get(httpx.RequestIDHeader))
	}
	// A panicking handler is a 500 for that request, and the server lives on.
	if res := get("/boom", ""); res.StatusCode != 500 {
		t.Fatalf("panic: status %d", res.StatusCode)
	}
	if res := get("/ok", ""); res.StatusCode != 200 {
		t.Fatal("server did not survive the panic")
	}
	if !strings.Contains(logs.String(), "panic in handler") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
	if n := testutil.ToFloat64(mustCounter(t, reg, "GET /ok", "200")); n != 3 {
		t.Fatalf("GET /ok counted %v times, want 3", n)
	}
	if n := testutil.ToFloat64(mustCounter(t, reg, "GET /boom", "500")); n != 1 {
		t.Fatalf("GET /boom 500 counted %v times, want 1", n)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, route, code string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "klaxon_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["code"] == code {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "copy"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no klaxon_http_requests_total{route=%q,code=%q}", route, code)
	return nil
}

// TestObserveKeepsCredentialsOutOfLogs: a path that carries a credential
// (a response link's token, a calendar feed's file) is logged as its
// route's pattern; other paths as they are.
func TestObserveKeepsCredentialsOutOfLogs(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	notFound := func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
	mux.HandleFunc("GET /r/{token}", notFound)
	mux.HandleFunc("GET /ical/users/{id}/{file}", notFound)
	mux.HandleFunc("GET /alerts/{id}", notFound)
	srv := httptest.NewServer(httpx.Chain(mux, httpx.Observe(log, prometheus.NewRegistry())))
	defer srv.Close()
	for _, path := range []string{"/r/secret-link-token", "/ical/users/7/secret-feed-token.ics", "/alerts/12345"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	out := logs.String()
	for _, secret := range []string{"secret-link-token", "secret-feed-token"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"path=/r/{token}", "path=/ical/users/{id}/{file}", "path=/alerts/12345"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}
