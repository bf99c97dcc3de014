package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify/webhook"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// Lifecycle webhooks go through the real webhook client to a local
// receiver that checks every request's signature as a receiver would.

// subscriptionSecret stands in for the key cmd/klaxon derives per
// subscription.
func subscriptionSecret(id int64) []byte { return []byte(fmt.Sprintf("subscription secret %d", id)) }

// hookRequest is one request the receiver took, signature checked.
type hookRequest struct {
	path, event, delivery string
	status                int
	payload               webhook.LifecyclePayload
}

// receiver is an HTTP endpoint for webhook subscriptions: it verifies each
// request with the secret of the subscription its path names, records it,
// and answers what answer says (200 when nil).
type receiver struct {
	t      *testing.T
	clk    *clock
	srv    *httptest.Server
	mu     sync.Mutex
	subs   map[string]int64 // path → subscription id
	got    []hookRequest
	counts map[string]int               // requests per path
	answer func(path string, n int) int // n counts the path's requests from 1
}

func newReceiver(t *testing.T, clk *clock) *receiver {
	r := &receiver{t: t, clk: clk, subs: map[string]int64{}, counts: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.subs[req.URL.Path]
	if !ok {
		r.t.Errorf("request to unknown path %s", req.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err := webhook.Verify(subscriptionSecret(id), req.Header.Get(webhook.SignatureHeader), body, r.clk.Now(), 0); err != nil {
		r.t.Errorf("%s: %v", req.URL.Path, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h := hookRequest{path: req.URL.Path, event: req.Header.Get("X-Klaxon-Event"), delivery: req.Header.Get("X-Klaxon-Delivery"), status: http.StatusOK}
	if req.Header.Get("Idempotency-Key") != h.delivery || h.delivery == "" {
		r.t.Errorf("delivery id %q, idempotency key %q", h.delivery, req.Header.Get("Idempotency-Key"))
	}
	if err := json.Unmarshal(body, &h.payload); err != nil {
		r.t.Errorf("%s: payload: %v", req.URL.Path, err)
	}
	r.counts[h.path]++
	if r.answer != nil {
		h.status = r.answer(h.path, r.counts[h.path])
	}
	r.got = append(r.got, h)
	w.WriteHeader(h.status)
}

// take returns the requests since the last take.
func (r *receiver) take() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

// subscribe creates a subscription whose URL is the receiver's path.
func (r *receiver) subscribe(s *store.Store, path string, serviceID int64, events ...klaxon.WebhookEvent) klaxon.WebhookSubscription {
	r.t.Helper()
	sub := klaxon.WebhookSubscription{URL: r.srv.URL + path, ServiceID: serviceID, Events: events}
	must(r.t, s.CreateWebhookSubscription(context.Background(), "test", &sub))
	r.mu.Lock()
	r.subs[path] = sub.ID
	r.mu.Unlock()
	return sub
}

// eachStoreWithHooks runs test on each store with an engine that sends
// lifecycle deliveries through a webhook client on the test's clock.
func eachStoreWithHooks(t *testing.T, test func(t *testing.T, w *world, r *receiver)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: t0}
			var s *store.Store
			if name == "sqlite" {
				s = storetest.OpenSQLite(t, store.Options{Clock: clk})
			} else {
				s = storetest.OpenPostgres(t, store.Options{Clock: clk})
			}
			client, err := webhook.New(webhook.Config{Now: clk.Now})
			must(t, err)
			w := newWorld(t, s, clk, engine.Config{BundleWindow: -1, Lifecycle: client, WebhookSubscriptionSecret: subscriptionSecret})
			test(t, w, newReceiver(t, clk))
		})
	}
}

// settle ticks until nothing more is sent: an alert's next delivery is
// claimed only after the one before it finished.
func (w *world) settle() {
	w.t.Helper()
	for range 5 {
		must(w.t, w.eng.Tick(context.Background()))
	}
}

func events(rs []hookRequest) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %s %d", r.path, r.event, r.status))
	}
	return out
}

func wantRequests(t *testing.T, got []hookRequest, want ...string) {
	t.Helper()
	if g := events(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n\t%s\nwant:\n\t%s", strings.Join(g, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestLifecycleWebhooksInOrderRetriedAndScoped(t *testing.T) {
	eachStoreWithHooks(t, func(t *testing.T, w *world, r *receiver) {
		ctx := context.Background()
		search := klaxon.Service{Name: "search"}
		must(t, w.s.CreateService(ctx, "test", &search))
		all := r.subscribe(w.s, "/all", 0, klaxon.WebhookEvents()...)
		r.subscribe(w.s, "/search", search.ID, klaxon.WebhookEvents()...)
		off := r.subscribe(w.s, "/off", 0, klaxon.WebhookEvents()...)
		_, err := w.s.SetWebhookSubscriptionEnabled(ctx, "test", off.ID, false)
		must(t, err)
		// Pages are held by a maintenance window; lifecycle webhooks are not.
		must(t, w.s.CreateMaintenanceWindow(ctx, "test", &klaxon.MaintenanceWindow{ServiceID: w.svc.ID, Start: t0, End: t0.Add(time.Hour)}))
		r.answer = func(path string, n int) int {
			if path == "/all" && n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}

		id := w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		first := r.take()
		wantRequests(t, first, "/all alert.triggered 500")
		w.expect(w.email) // in maintenance
		ds, err := w.s.ListWebhookDeliveries(ctx, all.ID, klaxon.Page{})
		must(t, err)
		if len(ds) != 1 || ds[0].Status != klaxon.NotificationPending || ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, "500") ||
			!ds[0].DueAt.After(t0) || ds[0].DueAt.After(t0.Add(6*time.Second)) {
			t.Fatalf("after the 500: %+v", ds)
		}

		// Acknowledged by a person while the first delivery waits for its
		// retry: the acknowledgement waits behind it.
		w.clk.add(time.Second)
		_, err = w.s.AcknowledgeAlert(ctx, "user:ada", id)
		must(t, err)
		w.at(2 * time.Second)
		wantRequests(t, r.take())

		w.at(10 * time.Second) // past the first backoff (5 s ± 20%)
		w.settle()
		got := r.take()
		wantRequests(t, got, "/all alert.triggered 200", "/all alert.acknowledged 200")
		if got[0].delivery != first[0].delivery {
			t.Errorf("the retry's delivery id %q differs from the first attempt's %q", got[0].delivery, first[0].delivery)
		}
		// The payload is the alert as it is when sent, with the event's
		// own time.
		p := got[0].payload
		if p.Event != "alert.triggered" || !p.OccurredAt.Equal(t0) || p.Actor != "" || p.Alert.ID != fmt.Sprint(id) ||
			p.Alert.ServiceID != fmt.Sprint(w.svc.ID) || p.Alert.DedupKey != "db-1" || p.Alert.Status != "acknowledged" ||
			p.Alert.Severity != "critical" || p.Alert.Urgency != "high" || p.Alert.Summary != "disk full on db-1" ||
			p.Alert.EventCount != 1 || !p.Alert.CreatedAt.Equal(t0) || p.Alert.AcknowledgedAt == nil || p.Alert.ResolvedAt != nil {
			t.Errorf("triggered payload %+v", p)
		}
		if p := got[1].payload; p.Event != "alert.acknowledged" || !p.OccurredAt.Equal(t0.Add(time.Second)) || p.Actor != "user:ada" {
			t.Errorf("acknowledged payload %+v", p)
		}

		// Resolved by the monitoring tool: no actor.
		w.clk.add(10 * time.Second)
		w.event(klaxon.ActionResolve, "db-1", klaxon.SeverityCritical)
		w.settle()
		got = r.take()
		wantRequests(t, got, "/all alert.resolved 200")
		if p := got[0].payload; p.Actor != "" || p.Alert.Status != "resolved" || p.Alert.ResolvedAt == nil {
			t.Errorf("resolved payload %+v", p)
		}
		ds, err = w.s.ListWebhookDeliveries(ctx, all.ID, klaxon.Page{})
		must(t, err)
		for _, d := range ds {
			if d.Status != klaxon.NotificationSent || d.SentAt == nil {
				t.Errorf("delivery %+v", d)
			}
		}
		if ds[2].Event != klaxon.WebhookAlertTriggered || ds[2].Attempts != 2 {
			t.Errorf("the triggered delivery was attempted %d times: %+v", ds[2].Attempts, ds[2])
		}

		// The service-scoped subscription hears its own service only; the
		// disabled one never hears anything.
		w.clk.add(time.Second)
		res, err := w.s.Ingest(ctx, []klaxon.Event{{ServiceID: search.ID, IntegrationID: 1, Action: klaxon.ActionTrigger,
			DedupKey: "idx", Summary: "index stale", Severity: klaxon.SeverityWarning}})
		must(t, err)
		w.settle()
		got = r.take()
		if len(got) != 2 || got[0].payload.Alert.ID != fmt.Sprint(res[0].AlertID) || got[1].payload.Alert.ID != got[0].payload.Alert.ID {
			t.Fatalf("search alert: %v", events(got))
		}
		paths := []string{got[0].path, got[1].path}
		if !(paths[0] == "/all" && paths[1] == "/search" || paths[0] == "/search" && paths[1] == "/all") {
			t.Fatalf("search alert went to %v", paths)
		}
		if ds, err := w.s.ListWebhookDeliveries(ctx, off.ID, klaxon.Page{}); err != nil || len(ds) != 0 {
			t.Fatalf("disabled subscription deliveries: %+v, %v", ds, err)
		}
	})
}

// A subscription disabled while one of its deliveries is on the wire: that
// delivery's retry is suppressed by the engine, with the reason, and the
// rest by the store.
func TestLifecycleWebhookDisabledWhileSending(t *testing.T) {
	eachStoreWithHooks(t, func(t *testing.T, w *world, r *receiver) {
		ctx := context.Background()
		sub := r.subscribe(w.s, "/hook", 0, klaxon.WebhookAlertTriggered, klaxon.WebhookAlertResolved)
		r.answer = func(string, int) int {
			if _, err := w.s.SetWebhookSubscriptionEnabled(ctx, "test", sub.ID, false); err != nil {
				t.Error(err)
			}
			return http.StatusServiceUnavailable
		}
		w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.event(klaxon.ActionResolve, "db-1", klaxon.SeverityCritical)
		w.at(0)
		wantRequests(t, r.take(), "/hook alert.triggered 503")
		w.at(time.Hour)
		w.settle()
		wantRequests(t, r.take())
		ds, err := w.s.ListWebhookDeliveries(ctx, sub.ID, klaxon.Page{})
		must(t, err)
		if len(ds) != 2 {
			t.Fatalf("deliveries %+v", ds)
		}
		for _, d := range ds {
			if d.Status != klaxon.NotificationSuppressed || d.Reason != klaxon.ReasonWebhookDisabled {
				t.Errorf("delivery %+v", d)
			}
		}
		if ds[1].Attempts != 1 || ds[0].Attempts != 0 {
			t.Errorf("attempts: %+v", ds)
		}
	})
}

// An acknowledgement that times out sends alert.unacknowledged: the alert is
// triggered and escalating again, and a receiver must not keep showing it
// as taken.
func TestLifecycleWebhookOnAcknowledgementTimeout(t *testing.T) {
	eachStoreWithHooks(t, func(t *testing.T, w *world, r *receiver) {
		r.subscribe(w.s, "/hook", 0, klaxon.WebhookAlertAcknowledged, klaxon.WebhookAlertUnacknowledged)
		w.event(klaxon.ActionTrigger, "db-1", klaxon.SeverityCritical)
		w.at(0)
		w.event(klaxon.ActionAcknowledge, "db-1", klaxon.SeverityCritical)
		w.settle()
		w.at(10*time.Minute + time.Second) // the service's acknowledgement timeout
		w.settle()
		wantRequests(t, r.take(), "/hook alert.acknowledged 200", "/hook alert.unacknowledged 200")
	})
}
