package storetest

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

var allWebhookEvents = klaxon.WebhookEvents()

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func mustSubscription(t *testing.T, s *store.Store, w klaxon.WebhookSubscription) klaxon.WebhookSubscription {
	t.Helper()
	if err := s.CreateWebhookSubscription(ctx, "test", &w); err != nil || w.ID == 0 {
		t.Fatalf("create webhook %+v: %v", w, err)
	}
	return w
}

func testWebhookSubscriptions(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	svc := mustService(t, s, "payments")

	for _, bad := range []struct {
		name  string
		w     klaxon.WebhookSubscription
		field string
	}{
		{"no url", klaxon.WebhookSubscription{Events: allWebhookEvents}, "url"},
		{"not http", klaxon.WebhookSubscription{URL: "ftp://example.com/x", Events: allWebhookEvents}, "url"},
		{"password", klaxon.WebhookSubscription{URL: "https://u:p@example.com/x", Events: allWebhookEvents}, "url"},
		{"fragment", klaxon.WebhookSubscription{URL: "https://example.com/x#y", Events: allWebhookEvents}, "url"},
		{"no events", klaxon.WebhookSubscription{URL: "https://example.com/x"}, "events"},
		{"unknown event", klaxon.WebhookSubscription{URL: "https://example.com/x",
			Events: []klaxon.WebhookEvent{klaxon.WebhookAlertResolved, "alert.exploded"}}, "events[1]"},
		{"event twice", klaxon.WebhookSubscription{URL: "https://example.com/x",
			Events: []klaxon.WebhookEvent{klaxon.WebhookAlertResolved, klaxon.WebhookAlertResolved}}, "events[1]"},
		{"unknown service", klaxon.WebhookSubscription{URL: "https://example.com/x", ServiceID: svc.ID + 100,
			Events: allWebhookEvents}, "service_id"},
		{"long description", klaxon.WebhookSubscription{URL: "https://example.com/x", Events: allWebhookEvents,
			Description: strings.Repeat("x", klaxon.MaxDescriptionLength+1)}, "description"},
	} {
		err := s.CreateWebhookSubscription(ctx, "test", &bad.w)
		if e, ok := klaxon.AsError(err); !ok || e.Code != klaxon.EINVALID || e.Field != bad.field {
			t.Errorf("%s: %v, want EINVALID naming %q", bad.name, err, bad.field)
		}
	}

	all := mustSubscription(t, s, klaxon.WebhookSubscription{URL: "https://hooks.example.com/all?token=x",
		Events: []klaxon.WebhookEvent{klaxon.WebhookAlertResolved, klaxon.WebhookAlertTriggered}, Description: "tickets"})
	one := mustSubscription(t, s, klaxon.WebhookSubscription{URL: "http://10.0.0.1/hook", ServiceID: svc.ID,
		Events: []klaxon.WebhookEvent{klaxon.WebhookAlertEscalated}})
	got, err := s.WebhookSubscription(ctx, all.ID)
	// Events come back in lifecycle order, whatever order they were given.
	if err != nil || got.URL != all.URL || got.ServiceID != 0 || got.Description != "tickets" || !got.Enabled() ||
		!slices.Equal(got.Events, []klaxon.WebhookEvent{klaxon.WebhookAlertTriggered, klaxon.WebhookAlertResolved}) ||
		!got.CreatedAt.Equal(clk.Now()) {
		t.Fatalf("get = %+v, %v", got, err)
	}
	list, err := s.ListWebhookSubscriptions(ctx, klaxon.Page{Limit: 1})
	if err != nil || len(list) != 1 || list[0].ID != one.ID || list[0].ServiceID != svc.ID {
		t.Fatalf("first page = %+v, %v", list, err)
	}
	if list, err = s.ListWebhookSubscriptions(ctx, klaxon.Page{Before: one.ID}); err != nil || len(list) != 1 || list[0].ID != all.ID {
		t.Fatalf("second page = %+v, %v", list, err)
	}

	clk.add(time.Minute)
	off, err := s.SetWebhookSubscriptionEnabled(ctx, "user:1", one.ID, false)
	if err != nil || off.Enabled() || !off.DisabledAt.Equal(clk.Now()) || !off.UpdatedAt.Equal(clk.Now()) {
		t.Fatalf("disable = %+v, %v", off, err)
	}
	clk.add(time.Minute)
	if again, err := s.SetWebhookSubscriptionEnabled(ctx, "user:1", one.ID, false); err != nil || !again.DisabledAt.Equal(*off.DisabledAt) {
		t.Fatalf("disabling twice changed it: %+v, %v", again, err)
	}
	on, err := s.SetWebhookSubscriptionEnabled(ctx, "user:1", one.ID, true)
	if err != nil || !on.Enabled() {
		t.Fatalf("enable = %+v, %v", on, err)
	}
	for _, err := range []error{
		func() error { _, err := s.WebhookSubscription(ctx, 999); return err }(),
		func() error { _, err := s.SetWebhookSubscriptionEnabled(ctx, "test", 999, false); return err }(),
		func() error { _, err := s.ListWebhookDeliveries(ctx, 999, klaxon.Page{}); return err }(),
	} {
		wantCode(t, err, klaxon.ENOTFOUND)
	}

	audit, err := s.ListAudit(ctx, klaxon.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		if e.ObjectType == "webhook" {
			actions = append(actions, e.Action)
			if strings.Contains(e.Detail, "token=x") {
				t.Errorf("the audit log holds the URL: %+v", e)
			}
		}
	}
	if want := []string{"webhook.enable", "webhook.disable", "webhook.create", "webhook.create"}; !slices.Equal(actions, want) {
		t.Errorf("audit = %v, want %v", actions, want)
	}
}

// testWebhookDeliveries checks which changes create deliveries, for whom,
// and how they are claimed: once per event and matching subscription, in
// the transaction of the change, in order per alert, never suppressed by a
// resolve, and suppressed when their subscription is disabled.
func testWebhookDeliveries(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	a, b := mustService(t, s, "payments"), mustService(t, s, "search")
	all := mustSubscription(t, s, klaxon.WebhookSubscription{URL: "https://hooks.example.com/all", Events: allWebhookEvents})
	onA := mustSubscription(t, s, klaxon.WebhookSubscription{URL: "https://hooks.example.com/a", ServiceID: a.ID,
		Events: []klaxon.WebhookEvent{klaxon.WebhookAlertTriggered, klaxon.WebhookAlertResolved}})
	off := mustSubscription(t, s, klaxon.WebhookSubscription{URL: "https://hooks.example.com/off", Events: allWebhookEvents})
	if _, err := s.SetWebhookSubscriptionEnabled(ctx, "test", off.ID, false); err != nil {
		t.Fatal(err)
	}

	// deliveries lists a subscription's deliveries, oldest first; names
	// shows them as "event@alert".
	deliveries := func(w klaxon.WebhookSubscription) []klaxon.Notification {
		t.Helper()
		ns, err := s.ListWebhookDeliveries(ctx, w.ID, klaxon.Page{})
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(ns)
		return ns
	}
	names := func(ns []klaxon.Notification) []string {
		var out []string
		for _, n := range ns {
			out = append(out, string(n.Event)+"@"+itoa(n.AlertID))
		}
		return out
	}

	alertA := mustIngest(t, s, trigger(a, "db-1"))[0].AlertID
	alertB := mustIngest(t, s, trigger(b, "web-1"))[0].AlertID
	mustIngest(t, s, trigger(a, "db-1")) // folds: nothing new
	clk.add(time.Second)
	mustIngest(t, s, act(a, klaxon.ActionAcknowledge, "db-1"))
	clk.add(time.Second)
	mustIngest(t, s, act(a, klaxon.ActionAcknowledge, "db-1")) // acknowledged already: nothing new
	if _, err := s.EscalateAlert(ctx, "user:7", alertB, "through the API"); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Second)
	if _, err := s.ResolveAlert(ctx, "user:7", alertA); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, act(b, klaxon.ActionResolve, "web-1"))

	a1, b1 := itoa(alertA), itoa(alertB)
	if got, want := names(deliveries(all)), []string{"alert.triggered@" + a1, "alert.triggered@" + b1, "alert.acknowledged@" + a1,
		"alert.escalated@" + b1, "alert.resolved@" + a1, "alert.resolved@" + b1}; !slices.Equal(got, want) {
		t.Fatalf("deliveries to the all-services subscription = %v, want %v", got, want)
	}
	if got, want := names(deliveries(onA)), []string{"alert.triggered@" + a1, "alert.resolved@" + a1}; !slices.Equal(got, want) {
		t.Fatalf("deliveries to the service's subscription = %v, want %v", got, want)
	}
	if got := deliveries(off); len(got) != 0 {
		t.Fatalf("a disabled subscription got deliveries: %v", names(got))
	}
	keys := map[string]bool{}
	for _, n := range append(deliveries(all), deliveries(onA)...) {
		if n.Kind != klaxon.NotificationLifecycle || n.Status != klaxon.NotificationPending || n.UserID != 0 ||
			n.ContactMethodID != 0 || n.IdempotencyKey == "" || keys[n.IdempotencyKey] {
			t.Fatalf("delivery %+v", n)
		}
		keys[n.IdempotencyKey] = true
	}
	// A resolve suppressed the alert's pending pages, not its deliveries;
	// and the alert's notification log is its pages only.
	if ns, err := s.ListNotifications(ctx, alertA, 0, klaxon.Page{}); err != nil || len(ns) != 0 {
		t.Fatalf("the alert's notifications list its deliveries: %+v, %v", ns, err)
	}

	// One delivery per alert and subscription at a time, oldest first.
	now := clk.Now()
	jobs, err := s.ClaimNotifications(ctx, "node-1", now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var claimed []string
	for _, j := range jobs {
		claimed = append(claimed, itoa(j.SubscriptionID)+":"+string(j.Event)+"@"+itoa(j.AlertID))
		if j.Subscription.ID != j.SubscriptionID || j.Subscription.URL == "" || j.Alert.ID != j.AlertID || !j.CreatedAt.Before(now.Add(time.Second)) {
			t.Errorf("claimed job %+v", j)
		}
	}
	slices.Sort(claimed)
	want := []string{itoa(all.ID) + ":alert.triggered@" + a1, itoa(all.ID) + ":alert.triggered@" + b1, itoa(onA.ID) + ":alert.triggered@" + a1}
	slices.Sort(want)
	if !slices.Equal(claimed, want) {
		t.Fatalf("claimed %v, want %v", claimed, want)
	}
	var first klaxon.NotificationJob // all's alert.triggered on alert A
	for _, j := range jobs {
		if j.SubscriptionID == all.ID && j.AlertID == alertA {
			first = j
		}
	}
	if first.Alert.Status != klaxon.AlertResolved || first.Actor != "" {
		t.Fatalf("the job carries %+v; want the alert as it is now, no actor", first)
	}
	// The first waits for a retry: the next one of its alert still waits.
	if err := s.FinishNotifications(ctx, "node-1", []int64{first.ID}, klaxon.NotificationResult{Status: klaxon.NotificationPending,
		RetryAt: now.Add(time.Minute), Error: "HTTP 500", Attempted: true}); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.ID != first.ID {
			if err := s.FinishNotifications(ctx, "node-1", []int64{j.ID}, klaxon.NotificationResult{Status: klaxon.NotificationSent, Attempted: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The rest goes out one at a time per alert and subscription: B's
	// escalated then resolved, and A's resolved to the service's
	// subscription; none of A's to the subscription whose first waits.
	sent := map[string][]klaxon.WebhookEvent{}
	for round := 0; ; round++ {
		jobs, err = s.ClaimNotifications(ctx, "node-1", now, time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			break
		}
		if round > 2 {
			t.Fatalf("round %d claimed %+v", round, jobs)
		}
		for _, j := range jobs {
			if j.SubscriptionID == all.ID && j.AlertID == alertA {
				t.Fatalf("claimed %s of alert %d while its alert.triggered waits for a retry", j.Event, alertA)
			}
			wantActor := "" // B's resolve came from an event, not a person
			if j.Event == klaxon.WebhookAlertEscalated || j.AlertID == alertA {
				wantActor = "user:7"
			}
			if j.Actor != wantActor {
				t.Errorf("delivery %s of alert %d has actor %q", j.Event, j.AlertID, j.Actor)
			}
			k := itoa(j.SubscriptionID) + "@" + itoa(j.AlertID)
			sent[k] = append(sent[k], j.Event)
			if err := s.FinishNotifications(ctx, "node-1", []int64{j.ID}, klaxon.NotificationResult{Status: klaxon.NotificationSent, Attempted: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := sent[itoa(all.ID)+"@"+b1], []klaxon.WebhookEvent{klaxon.WebhookAlertEscalated, klaxon.WebhookAlertResolved}; !slices.Equal(got, want) || len(sent) != 2 ||
		!slices.Equal(sent[itoa(onA.ID)+"@"+a1], []klaxon.WebhookEvent{klaxon.WebhookAlertResolved}) {
		t.Fatalf("the rest went out as %v", sent)
	}
	// With only blocked deliveries and the retry left, the engine sleeps
	// until the retry, not a busy loop on the blocked ones.
	if next, ok, err := s.NextWork(ctx); err != nil || !ok || !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("next work = %v %v %v, want the retry at %v", next, ok, err, now.Add(time.Minute))
	}

	// Disabling suppresses what is pending, with the reason.
	if _, err := s.SetWebhookSubscriptionEnabled(ctx, "test", all.ID, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range deliveries(all) {
		if n.AlertID == alertA && (n.Status != klaxon.NotificationSuppressed || n.Reason != klaxon.ReasonWebhookDisabled) {
			t.Errorf("after disabling: %+v", n)
		}
	}
	if jobs, err := s.ClaimNotifications(ctx, "node-1", now.Add(time.Hour), time.Minute, 100); err != nil || len(jobs) != 0 {
		t.Fatalf("claimed after disabling: %+v, %v", jobs, err)
	}
	// New events reach only enabled subscriptions.
	before := len(deliveries(all))
	mustIngest(t, s, trigger(a, "db-2"))
	if got := deliveries(all); len(got) != before {
		t.Fatalf("a disabled subscription got a new delivery: %+v", got[len(got)-1])
	}
	if got := deliveries(onA); len(got) != 3 || got[2].Event != klaxon.WebhookAlertTriggered {
		t.Fatalf("service subscription after a new alert: %v", names(got))
	}
}
