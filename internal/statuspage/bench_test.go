package statuspage

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmark
// measures the handler, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// benchServe serves path from the handler's own mux (as the top-level mux
// would), with gzip accepted, on every CPU at once.
func benchServe(b *testing.B, path string) {
	h := New(Config{Source: newFakeSource(fixtureSnapshot()), Clock: &fixedClock{t: fixtureNow}, Logger: slog.New(slog.DiscardHandler),
		PublicURL: "https://status.example.com"})
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	if w := httptest.NewRecorder(); true {
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d", path, w.Code)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := r.Clone(r.Context())
		w := &discard{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkServeSummary is the hot path the targets name: summary.json
// from memory.
func BenchmarkServeSummary(b *testing.B) { benchServe(b, "/api/v2/summary.json") }

// BenchmarkServeIndex is the front page.
func BenchmarkServeIndex(b *testing.B) { benchServe(b, "/") }

// BenchmarkRender is a whole re-render of the fixture (every document,
// compressed), which happens once per change and once a minute.
func BenchmarkRender(b *testing.B) {
	h := New(Config{Source: newFakeSource(fixtureSnapshot()), Clock: &fixedClock{t: fixtureNow}, Logger: slog.New(slog.DiscardHandler)})
	snap := fixtureSnapshot()
	b.ReportAllocs()
	for b.Loop() {
		h.renderMu.Lock()
		h.site.Store(nil) // no reuse: render and compress everything
		if err := h.publish(snap, fixtureNow); err != nil {
			b.Fatal(err)
		}
		h.renderMu.Unlock()
	}
}
