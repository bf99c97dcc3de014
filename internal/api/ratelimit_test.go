package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// batchOf returns a batch of n triggers whose dedup keys cycle through
// prefix-0 … prefix-9.
func batchOf(prefix string, n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"action":"trigger","dedup_key":"%s-%d","summary":"rate","severity":"info"}`, prefix, i%10)
	}
	b.WriteByte(']')
	return b.String()
}

// TestRateLimit drains one integration's bucket (5/s; the burst is raised to
// a full batch, 1000) and checks that senders are told 429 with Retry-After,
// that every 202 was stored, and that another integration is not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite, store.Options{}, api.Config{RatePerIntegration: 5, RateBurst: 1})
	svc, key := e.serviceWithKey(t, "noisy")
	_, sameServiceKey := e.createIntegration(t, svc, "api")
	quietSvc, quietKey := e.serviceWithKey(t, "quiet")

	accepted := 0
	var limited []resp
	// Batches of 100: ten fit the burst of 1000; a few more must be refused.
	for i := 0; i < 20 && len(limited) < 3; i++ {
		r := e.batch(t, key, batchOf("rl", 100))
		switch r.status {
		case http.StatusAccepted:
			accepted += int(num(t, r.obj(t), "accepted"))
		case http.StatusTooManyRequests:
			limited = append(limited, r)
			wantError(t, r, http.StatusTooManyRequests, klaxon.ERATELIMIT, "")
			// 100 events at 5/s: the bucket needs most of 20 s.
			if n := wantRetryAfter(t, r); n < 10 || n > 20 {
				t.Errorf("Retry-After %d for a batch of 100 at 5/s, want 10…20", n)
			}
		default:
			t.Fatalf("batch %d: %s", i, r)
		}
	}
	if len(limited) == 0 {
		t.Fatalf("no 429 after %d events at 5/s with a burst of 1000", accepted)
	}
	if accepted < 1000 || accepted > 1100 {
		t.Errorf("accepted %d events before the limit, want the burst (1000) plus a little refill", accepted)
	}

	// Single events: at most a few tokens are left; then 429 with
	// Retry-After of one second, on every event endpoint.
	single := 0
	for i := 0; i < 50; i++ {
		r := e.event(t, key, `{"action":"trigger","dedup_key":"rl-0","summary":"one","severity":"info"}`)
		if r.status == http.StatusAccepted {
			single++
			accepted++
			continue
		}
		wantError(t, r, http.StatusTooManyRequests, klaxon.ERATELIMIT, "")
		if n := wantRetryAfter(t, r); n != 1 {
			t.Errorf("Retry-After %d for one event at 5/s, want 1", n)
		}
		break
	}
	if single >= 50 {
		t.Fatalf("50 single events after the burst were all accepted")
	}
	// PagerDuty endpoints share the bucket. A slow machine may refill a token
	// between requests, so each is tried a bounded number of times.
	pdAccepted, changesAccepted := 0, 0
	for _, path := range []string{"/v2/enqueue", "/v2/change/enqueue"} {
		limited := false
		for range 20 {
			var body any = pdTrigger(key, "rl-pd")
			if path == "/v2/change/enqueue" {
				body = map[string]any{"routing_key": key, "payload": map[string]any{"summary": "deploy"}}
			}
			r := e.pd(t, path, body)
			if r.status == http.StatusAccepted {
				if path == "/v2/enqueue" {
					pdAccepted++
				} else {
					changesAccepted++
				}
				continue
			}
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("%s over the rate: %s, want 429", path, r)
			}
			limited = true
			if n := wantRetryAfter(t, r); n != 1 {
				t.Errorf("%s: Retry-After %d, want 1", path, n)
			}
			if m := r.obj(t); path == "/v2/enqueue" && m["status"] != "throttle event" {
				t.Errorf("PagerDuty 429 body: %v", m)
			}
			break
		}
		if !limited {
			t.Errorf("%s: never limited", path)
		}
	}

	// Every 202'd event is stored, and nothing refused is.
	wantAlerts := 10
	if pdAccepted > 0 {
		wantAlerts++
	}
	if n := e.totals(t, "service="+svc); n.events != accepted+pdAccepted || n.alerts != wantAlerts {
		t.Errorf("stored %+v, want %d events on %d alerts", n, accepted+pdAccepted, wantAlerts)
	}
	if ces := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/change-events", nil), "change_events"); len(ces) != changesAccepted {
		t.Errorf("stored %d change events, want the %d accepted", len(ces), changesAccepted)
	}

	// Other integrations have buckets of their own, on this service or another.
	for _, k := range []string{sameServiceKey, quietKey} {
		r := e.batch(t, k, batchOf("other", 100))
		if r.status != http.StatusAccepted {
			t.Errorf("another integration is limited too: %s", r)
		}
	}
	if r := e.event(t, quietKey, validEvent); r.status != http.StatusAccepted {
		t.Errorf("quiet integration: %s", r)
	}
	if n := e.totals(t, "service="+quietSvc); n.events != 101 {
		t.Errorf("quiet service stored %+v, want 101 events", n)
	}

	// The bucket refills: after Retry-After (1 s for one event) the noisy
	// integration may send again.
	time.Sleep(time.Second + 100*time.Millisecond)
	if r := e.event(t, key, `{"action":"trigger","dedup_key":"rl-1","summary":"later","severity":"info"}`); r.status != http.StatusAccepted {
		t.Errorf("after waiting Retry-After: %s", r)
	}
}

// TestRateLimitOff checks that RatePerIntegration 0 means no limit.
func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "unlimited")
	for i := range 3 {
		if r := e.batch(t, key, batchOf("off", klaxon.MaxBatchEvents)); r.status != http.StatusAccepted {
			t.Fatalf("batch %d with no rate limit: %s", i, r)
		}
	}
}

// TestOverload floods a store whose ingest queue holds one event. Every
// answer must be 202 or 503 (with Retry-After), never a timeout or a 500,
// and exactly the 202'd events must be stored.
func TestOverload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite, store.Options{MaxQueuedEvents: 1}, api.Config{})
	svc, key := e.serviceWithKey(t, "overloaded")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const workers, perWorker = 50, 10
	var (
		acceptedEvents, ok, unavailable atomic.Int64
		mu                              sync.Mutex
		problems                        []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if ctx.Err() != nil {
					fail("deadline passed")
					return
				}
				var path, body string
				events := 1
				switch (w + i) % 3 {
				case 0:
					path, body = "/api/v1/events", fmt.Sprintf(`{"action":"trigger","dedup_key":"ov-%d","summary":"flood","severity":"info"}`, w)
				case 1:
					path, body, events = "/api/v1/events/batch", batchOf(fmt.Sprint("ovb-", w), 3), 3
				case 2:
					path = "/v2/enqueue"
					body = fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":"ovp-%d","payload":{"summary":"flood","source":"t","severity":"info"}}`, key, w)
				}
				req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+path, strings.NewReader(body))
				if err != nil {
					fail("request: %v", err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := e.client.Do(req)
				if err != nil {
					fail("%s: %v", path, err)
					return
				}
				res.Body.Close()
				switch res.StatusCode {
				case http.StatusAccepted:
					ok.Add(1)
					acceptedEvents.Add(int64(events))
				case http.StatusServiceUnavailable:
					unavailable.Add(1)
					if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 {
						fail("%s: 503 with Retry-After %q", path, res.Header.Get("Retry-After"))
					}
				default:
					fail("%s: status %d, want 202 or 503", path, res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d requests accepted (%d events), %d refused with 503", ok.Load(), acceptedEvents.Load(), unavailable.Load())
	if ok.Load() == 0 {
		t.Error("no request was accepted")
	}
	if ok.Load()+unavailable.Load() != workers*perWorker && len(problems) == 0 {
		t.Errorf("answers %d + %d, want %d", ok.Load(), unavailable.Load(), workers*perWorker)
	}
	if n := e.totals(t, "service="+svc); int64(n.events) != acceptedEvents.Load() {
		t.Errorf("stored %d events, but %d were accepted", n.events, acceptedEvents.Load())
	}
	// Once the flood is over, the store takes events again.
	if r := e.event(t, key, validEvent); r.status != http.StatusAccepted {
		t.Errorf("after the flood: %s", r)
	}
}
