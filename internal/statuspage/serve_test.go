package statuspage

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

func newTestHandler(t *testing.T, src Source, publicURL string) (*Handler, *fixedClock) {
	t.Helper()
	clock := &fixedClock{t: fixtureNow}
	h := New(Config{Source: src, Clock: clock, Logger: slog.New(slog.DiscardHandler), PublicURL: publicURL,
		Subscriptions: newFakeSubscriptions(), Tokens: Tokens{Key: []byte("test key")}})
	return h, clock
}

func get(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestServeDocuments checks each route's status and Content-Type, and
// that the JSON allows any origin.
func TestServeDocuments(t *testing.T) {
	h, _ := newTestHandler(t, newFakeSource(fixtureSnapshot()), "")
	for _, c := range []struct {
		path, contentType string
		status            int
		cors              bool
	}{
		{"/", "text/html; charset=utf-8", 200, false},
		{"/history", "text/html; charset=utf-8", 200, false},
		{"/incidents/100", "text/html; charset=utf-8", 200, false},
		{"/incidents/12345", "text/html; charset=utf-8", 404, false},
		{"/incidents/abc", "text/html; charset=utf-8", 404, false},
		{"/history.atom", "application/atom+xml; charset=utf-8", 200, false},
		{"/history.rss", "application/rss+xml; charset=utf-8", 200, false},
		{"/api/v2/summary.json", "application/json", 200, true},
		{"/api/v2/status.json", "application/json", 200, true},
		{"/api/v2/components.json", "application/json", 200, true},
		{"/api/v2/incidents.json", "application/json", 200, true},
		{"/api/v2/incidents/unresolved.json", "application/json", 200, true},
		{"/api/v2/scheduled-maintenances.json", "application/json", 200, true},
		{"/api/v2/scheduled-maintenances/upcoming.json", "application/json", 200, true},
		{"/api/v2/scheduled-maintenances/active.json", "application/json", 200, true},
		{"/api/v2/nope.json", "application/json", 404, true},
		{"/api/v2/incidents/100.json", "application/json", 404, true},
	} {
		w := get(h, "GET", c.path)
		if w.Code != c.status || w.Header().Get("Content-Type") != c.contentType {
			t.Errorf("%s: %d %q, want %d %q", c.path, w.Code, w.Header().Get("Content-Type"), c.status, c.contentType)
		}
		if got := w.Header().Get("Access-Control-Allow-Origin") == "*"; got != c.cors {
			t.Errorf("%s: CORS %v, want %v", c.path, got, c.cors)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", c.path)
		}
		if strings.HasPrefix(c.contentType, "text/html") && !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: no CSP", c.path)
		}
		if c.status == 404 && c.cors && !strings.Contains(w.Body.String(), `"code":"not_found"`) {
			t.Errorf("%s: 404 body %q", c.path, w.Body.String())
		}
	}
	w := get(h, "OPTIONS", "/api/v2/summary.json", "Origin", "https://widget.example", "Access-Control-Request-Method", "GET")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
}

// TestServeCaching checks the HTTP caching contract: ETag and
// Last-Modified, 304 on either validator, gzip with its own ETag, Vary,
// Cache-Control, HEAD without a body.
func TestServeCaching(t *testing.T) {
	h, _ := newTestHandler(t, newFakeSource(fixtureSnapshot()), "https://status.example.com")
	for _, path := range []string{"/", "/api/v2/summary.json", "/history.atom"} {
		t.Run(path, func(t *testing.T) {
			plain := get(h, "GET", path)
			etag, lm := plain.Header().Get("ETag"), plain.Header().Get("Last-Modified")
			if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") || lm == "" {
				t.Fatalf("ETag %q Last-Modified %q", etag, lm)
			}
			if plain.Header().Get("Cache-Control") != "public, max-age=10" || plain.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("Cache-Control %q Vary %q", plain.Header().Get("Cache-Control"), plain.Header().Get("Vary"))
			}
			if plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("Content-Length") != itoa(plain.Body.Len()) {
				t.Errorf("identity answer: encoding %q length %q for %d bytes", plain.Header().Get("Content-Encoding"), plain.Header().Get("Content-Length"), plain.Body.Len())
			}

			zipped := get(h, "GET", path, "Accept-Encoding", "br, gzip;q=0.8")
			if zipped.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("no gzip for Accept-Encoding: gzip")
			}
			zr, err := gzip.NewReader(zipped.Body)
			if err != nil {
				t.Fatal(err)
			}
			unzipped, _ := io.ReadAll(zr)
			if !bytes.Equal(unzipped, plain.Body.Bytes()) {
				t.Error("gzip body differs from the plain body")
			}
			gzTag := zipped.Header().Get("ETag")
			if gzTag == etag || gzTag == "" {
				t.Errorf("gzip ETag %q must differ from %q", gzTag, etag)
			}
			if got := get(h, "GET", path, "Accept-Encoding", "gzip;q=0"); got.Header().Get("Content-Encoding") != "" {
				t.Error("gzip sent although q=0")
			}

			for _, c := range []struct {
				name   string
				header []string
				want   int
			}{
				{"matching ETag", []string{"If-None-Match", etag}, 304},
				{"weak form of the ETag", []string{"If-None-Match", "W/" + etag}, 304},
				{"in a list", []string{"If-None-Match", `"other", ` + etag}, 304},
				{"star", []string{"If-None-Match", "*"}, 304},
				{"gzip ETag, gzip accepted", []string{"If-None-Match", gzTag, "Accept-Encoding", "gzip"}, 304},
				{"gzip ETag, identity asked", []string{"If-None-Match", gzTag}, 200},
				{"other ETag", []string{"If-None-Match", `"other"`}, 200},
				{"If-Modified-Since now", []string{"If-Modified-Since", lm}, 304},
				{"If-Modified-Since earlier", []string{"If-Modified-Since", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)}, 200},
				{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"other"`, "If-Modified-Since", lm}, 200},
			} {
				w := get(h, "GET", path, c.header...)
				if w.Code != c.want {
					t.Errorf("%s: %d, want %d", c.name, w.Code, c.want)
				}
				if w.Code == 304 && (w.Body.Len() != 0 || w.Header().Get("ETag") == "") {
					t.Errorf("%s: 304 with %d bytes, ETag %q", c.name, w.Body.Len(), w.Header().Get("ETag"))
				}
			}

			head := get(h, "HEAD", path)
			if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Length") != itoa(plain.Body.Len()) || head.Header().Get("ETag") != etag {
				t.Errorf("HEAD: %d, %d bytes, length %q, ETag %q", head.Code, head.Body.Len(), head.Header().Get("Content-Length"), head.Header().Get("ETag"))
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestServeWithoutAddress checks the host fallback: links follow the
// request's host, a few hosts are kept, made-up hosts do not grow memory.
func TestServeWithoutAddress(t *testing.T) {
	snap := fixtureSnapshot()
	snap.Page.URL = ""
	h, _ := newTestHandler(t, newFakeSource(snap), "")
	w := get(h, "GET", "http://status.one.example/api/v2/summary.json")
	if !strings.Contains(w.Body.String(), `"url":"http://status.one.example"`) || !strings.Contains(w.Body.String(), `"shortlink":"http://status.one.example/incidents/100"`) {
		t.Errorf("links do not follow the host: %.300s", w.Body.String())
	}
	r := httptest.NewRequest("GET", "https://status.two.example/history.atom", nil)
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	if !strings.Contains(rw.Body.String(), `href="https://status.two.example/incidents/100"`) {
		t.Error("feed links do not follow a TLS request's host")
	}
	for i := range 10 {
		get(h, "GET", "http://h"+itoa(i)+".example/api/v2/status.json")
	}
	if m := h.site.Load().hosts.Load(); m == nil || len(*m) != maxHosts {
		t.Errorf("kept %d host renderings, want %d", len(*m), maxHosts)
	}
	// Past the limit: relative links, still an answer.
	w = get(h, "GET", "http://late.example/api/v2/summary.json")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"shortlink":"/incidents/100"`) {
		t.Errorf("past the host limit: %d %.200s", w.Code, w.Body.String())
	}
	// The page's URL setting, once set, wins.
	snap.Page.URL = "https://status.example.com/"
	snap.Generation++
	h.src.(*fakeSource).set(snap)
	if err := h.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	w = get(h, "GET", "http://status.one.example/api/v2/summary.json")
	if !strings.Contains(w.Body.String(), `"url":"https://status.example.com"`) {
		t.Errorf("the page's URL is not used: %.200s", w.Body.String())
	}
}

// TestInvalidation checks that Run renders anew when the store signals a
// change, when the generation moves (another node), and every minute.
func TestInvalidation(t *testing.T) {
	src := newFakeSource(fixtureSnapshot())
	clock := &fixedClock{t: fixtureNow}
	h := New(Config{Source: src, Clock: clock, Logger: slog.New(slog.DiscardHandler), Poll: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()

	waitFor(t, "first render", func() bool { return h.site.Load() != nil })
	before := get(h, "GET", "/api/v2/status.json")
	if !strings.Contains(before.Body.String(), "Partial System Outage") {
		t.Fatalf("status %s", before.Body.String())
	}

	// Another node fixes everything: only the generation tells.
	snap := fixtureSnapshot()
	for i := range snap.Components {
		snap.Components[i].State = klaxon.ComponentOperational
	}
	snap.Incidents = snap.Incidents[1:]
	snap.Generation = 8
	src.set(snap)
	waitFor(t, "render after the generation moved", func() bool {
		return strings.Contains(get(h, "GET", "/api/v2/status.json").Body.String(), "All Systems Operational")
	})
	after := get(h, "GET", "/api/v2/status.json")
	if after.Header().Get("ETag") == before.Header().Get("ETag") {
		t.Error("the ETag did not change with the content")
	}
	if get(h, "GET", "/api/v2/status.json", "If-None-Match", before.Header().Get("ETag")).Code != 200 {
		t.Error("the old ETag still answers 304")
	}
	if get(h, "GET", "/api/v2/status.json", "If-Modified-Since", before.Header().Get("Last-Modified")).Code != 200 {
		t.Errorf("the old Last-Modified (%s) still answers 304; now %s", before.Header().Get("Last-Modified"), after.Header().Get("Last-Modified"))
	}
	if get(h, "GET", "/incidents/100").Code != 404 {
		t.Error("an incident no longer in the snapshot still has a page")
	}

	// This node changes something: StatusChanges wakes Run, even with the
	// same generation number.
	snap.Page.Name = "Renamed"
	src.set(snap)
	src.changes <- struct{}{}
	waitFor(t, "render after StatusChanges", func() bool {
		return strings.Contains(get(h, "GET", "/").Body.String(), "Renamed")
	})

	// Unchanged documents keep their ETag across renders.
	etag := get(h, "GET", "/api/v2/components.json").Header().Get("ETag")
	reads := src.readCount()
	src.changes <- struct{}{}
	waitFor(t, "another read", func() bool { return src.readCount() > reads })
	time.Sleep(20 * time.Millisecond)
	if got := get(h, "GET", "/api/v2/components.json").Header().Get("ETag"); got != etag {
		t.Errorf("ETag moved from %s to %s with nothing changed", etag, got)
	}

	// A failing store keeps the last good page.
	src.mu.Lock()
	src.err = errors.New("database down")
	src.snap.Generation = 99
	src.mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	if w := get(h, "GET", "/"); w.Code != 200 || !strings.Contains(w.Body.String(), "Renamed") {
		t.Errorf("after a failed read: %d", w.Code)
	}
	cancel()
	<-done
}

// TestMinuteRerender checks that relative times move with the clock
// without reading the store.
func TestMinuteRerender(t *testing.T) {
	src := newFakeSource(fixtureSnapshot())
	h, clock := newTestHandler(t, src, "")
	page := get(h, "GET", "/")
	if !strings.Contains(page.Body.String(), "Posted 2 hours ago. <time datetime=\"2018-01-23T14:16:00-08:00\">") {
		t.Fatal("fixture page lacks its relative time")
	}
	reads := src.readCount()
	clock.set(fixtureNow.Add(3 * time.Hour))
	if err := h.rerender(); err != nil {
		t.Fatal(err)
	}
	again := get(h, "GET", "/")
	if !strings.Contains(again.Body.String(), "Posted 5 hours ago. <time datetime=\"2018-01-23T14:16:00-08:00\">") {
		t.Error("relative time did not move")
	}
	if src.readCount() != reads {
		t.Error("the minute render read the store")
	}
	if again.Header().Get("ETag") == page.Header().Get("ETag") {
		t.Error("ETag unchanged although the page changed")
	}
	lm, _ := http.ParseTime(again.Header().Get("Last-Modified"))
	if !lm.Equal(fixtureNow.Add(3 * time.Hour).Truncate(time.Second)) {
		t.Errorf("Last-Modified %v, want the render time", lm)
	}
	// The JSON did not change, so it kept its validators.
	if get(h, "GET", "/api/v2/summary.json").Header().Get("Last-Modified") != time.Date(2018, 1, 23, 23, 2, 0, 0, time.UTC).Format(http.TimeFormat) {
		t.Error("summary.json's Last-Modified is not its latest change")
	}
}

// TestNextDue checks that Run wakes at a maintenance's start.
func TestNextDue(t *testing.T) {
	h, clock := newTestHandler(t, newFakeSource(fixtureSnapshot()), "")
	get(h, "GET", "/")
	start := pst(1, 25, 2, 0)
	if got := h.site.Load().next; !got.Equal(start) {
		t.Fatalf("next %v, want the maintenance's start %v", got, start)
	}
	clock.set(start.Add(-20 * time.Second))
	if d := h.untilNext(); d != 20*time.Second {
		t.Errorf("until next %v, want 20s (before the minute)", d)
	}
	clock.set(start.Add(-90 * time.Second))
	if d := h.untilNext(); d != 30*time.Second {
		t.Errorf("until next %v, want 30s (the next minute)", d)
	}
}

// TestUnavailable checks the answer when nothing could ever be read.
func TestUnavailable(t *testing.T) {
	src := newFakeSource(fixtureSnapshot())
	src.err = errors.New("database down")
	h, _ := newTestHandler(t, src, "")
	if w := get(h, "GET", "/"); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("page: %d", w.Code)
	}
	if w := get(h, "GET", "/api/v2/summary.json"); w.Code != 503 || !strings.Contains(w.Body.String(), `"unavailable"`) {
		t.Errorf("json: %d %s", w.Code, w.Body.String())
	}
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	if w := get(h, "GET", "/"); w.Code != 200 {
		t.Errorf("after recovery: %d", w.Code)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip": true, "gzip;q=0": false, "gzip; q=0.0": false,
		"gzip;q=0.5": true, "deflate": false, "x-gzip": false, "*": false,
	} {
		if got := acceptsGzip([]string{v}); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestRoutes checks the contract's public surface, and that the routes
// register on a top-level mux beside an API that takes everything else.
func TestRoutes(t *testing.T) {
	h, _ := newTestHandler(t, newFakeSource(fixtureSnapshot()), "")
	got := map[string]bool{}
	root := http.NewServeMux()
	for _, rt := range h.Routes() {
		got[rt.Pattern] = true
		root.Handle(rt.Pattern, rt.Handler)
	}
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, want := range []string{
		"GET /{$}", "GET /history", "GET /incidents/{id}", "GET /history.atom", "GET /history.rss",
		"GET /api/v2/summary.json", "GET /api/v2/status.json", "GET /api/v2/components.json", "GET /api/v2/incidents.json",
		"GET /api/v2/incidents/unresolved.json", "GET /api/v2/scheduled-maintenances.json",
		"GET /api/v2/scheduled-maintenances/upcoming.json", "GET /api/v2/scheduled-maintenances/active.json",
		"POST /subscribe", "GET /subscriptions/confirm/{token}", "POST /subscriptions/confirm/{token}",
		"GET /subscriptions/unsubscribe/{token}", "POST /subscriptions/unsubscribe/{token}",
	} {
		if !got[want] {
			t.Errorf("no route %q", want)
		}
	}
	for path, want := range map[string]int{"/": 200, "/api/v2/summary.json": 200, "/api/v1/services": http.StatusTeapot, "/console": http.StatusTeapot} {
		if w := get(root, "GET", path); w.Code != want {
			t.Errorf("%s: %d, want %d", path, w.Code, want)
		}
	}
}
