package storetest

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// Subscribers, and the deliveries of updates to them.

func subscribeEmail(t *testing.T, s *store.Store, address string, components ...int64) (klaxon.StatusSubscriber, bool) {
	t.Helper()
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: address, Components: components}
	created, err := s.CreateStatusSubscriber(ctx, "public", &sub)
	if err != nil {
		t.Fatalf("subscribe %s: %v", address, err)
	}
	return sub, created
}

// finishAll marks deliveries sent.
func finishAll(t *testing.T, s *store.Store, owner string, ds []klaxon.StatusDelivery) {
	t.Helper()
	for _, d := range ds {
		if err := s.FinishStatusDelivery(ctx, d.ID, owner, klaxon.StatusDeliveryResult{Sent: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func testStatusSubscribers(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	api := mustComponent(t, s, "API", "")

	for _, bad := range []struct {
		sub   klaxon.StatusSubscriber
		field string
	}{
		{klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "not an address"}, "email"},
		{klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "Ops <ops@example.com>"}, "email"},
		{klaxon.StatusSubscriber{Kind: klaxon.SubscriberWebhook, Address: "ftp://x"}, "url"},
		{klaxon.StatusSubscriber{Kind: "pigeon", Address: "x"}, "kind"},
		{klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "ops@example.com", Components: []int64{9999}}, "components"},
		{klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "ops@example.com", Components: []int64{api.ID, api.ID}}, "components"},
	} {
		_, err := s.CreateStatusSubscriber(ctx, "public", &bad.sub)
		wantField(t, err, klaxon.EINVALID, bad.field)
	}

	// Double opt-in: stored unconfirmed, with a confirmation to send.
	signalled(s.StatusWork())
	sub, created := subscribeEmail(t, s, "ops@example.com", api.ID)
	if !created || sub.ID == 0 || !sub.ConfirmedAt.IsZero() || sub.Active() || len(sub.Components) != 1 || sub.Components[0] != api.ID ||
		!sub.CreatedAt.Equal(clk.Now()) {
		t.Fatalf("subscriber = %+v, created %v", sub, created)
	}
	if !signalled(s.StatusWork()) {
		t.Fatal("StatusWork not signalled by a confirmation")
	}
	ds := claimAll(t, s, "n1", clk.Now())
	if len(ds) != 1 || ds[0].Kind != klaxon.DeliveryConfirm || ds[0].Subscriber.ID != sub.ID || ds[0].UpdateID != 0 ||
		ds[0].Incident.ID != 0 || ds[0].Page.Name != "Status" || ds[0].Attempts != 1 {
		t.Fatalf("confirmation = %+v", ds)
	}
	finishAll(t, s, "n1", ds)
	// Nothing about updates before the address is confirmed.
	if _, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Before confirming"}); err != nil {
		t.Fatal(err)
	}
	if ds := claimAll(t, s, "n1", clk.Now()); len(ds) != 0 {
		t.Fatalf("an unconfirmed subscriber was sent %+v", ds)
	}
	// Asking again within the hour sends nothing more; after it, again
	// (and the latest components count).
	clk.add(30 * time.Minute)
	if again, created := subscribeEmail(t, s, "OPS@example.com"); created || again.ID != sub.ID || len(again.Components) != 0 {
		t.Fatalf("again = %+v, created %v", again, created)
	}
	if ds := claimAll(t, s, "n1", clk.Now()); len(ds) != 0 {
		t.Fatalf("a second confirmation within the hour: %+v", ds)
	}
	clk.add(31 * time.Minute)
	subscribeEmail(t, s, "ops@example.com", api.ID)
	ds = claimAll(t, s, "n1", clk.Now())
	if len(ds) != 1 || ds[0].Kind != klaxon.DeliveryConfirm {
		t.Fatalf("confirmation after the hour = %+v", ds)
	}
	finishAll(t, s, "n1", ds)

	confirmed, err := s.ConfirmStatusSubscriber(ctx, sub.ID)
	if err != nil || !confirmed.Active() || !confirmed.ConfirmedAt.Equal(clk.Now()) {
		t.Fatalf("confirmed = %+v, %v", confirmed, err)
	}
	clk.add(time.Minute)
	if again, err := s.ConfirmStatusSubscriber(ctx, sub.ID); err != nil || !again.ConfirmedAt.Equal(confirmed.ConfirmedAt) {
		t.Fatalf("confirming again = %+v, %v", again, err)
	}
	_, err = s.ConfirmStatusSubscriber(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	// An active address asking again: nothing changes, nothing is sent.
	clk.add(2 * time.Hour)
	gen := generation(t, s)
	if again, created := subscribeEmail(t, s, "ops@example.com"); created || !again.Active() || len(again.Components) != 1 {
		t.Fatalf("active again = %+v, created %v", again, created)
	}
	if ds := claimAll(t, s, "n1", clk.Now()); len(ds) != 0 || generation(t, s) != gen {
		t.Fatalf("an active address asking again: %+v", ds)
	}

	// A webhook is confirmed at once.
	hook := mustWebhookSubscriber(t, s, "https://hooks.example.com/status")
	if !hook.Active() || hook.Kind != klaxon.SubscriberWebhook {
		t.Fatalf("webhook = %+v", hook)
	}
	if ds := claimAll(t, s, "n1", clk.Now()); len(ds) != 0 {
		t.Fatalf("a webhook was asked to confirm: %+v", ds)
	}

	// Now updates reach both.
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "After confirming", Components: map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentDegraded}})
	if err != nil {
		t.Fatal(err)
	}
	ds = claimAll(t, s, "n1", clk.Now())
	if len(ds) != 2 || ds[0].Incident.ID != inc.ID || ds[0].UpdateID != inc.Updates[0].ID || ds[0].Kind != klaxon.DeliveryUpdate ||
		len(ds[0].Incident.Updates) != 1 {
		t.Fatalf("update deliveries = %+v", ds)
	}
	finishAll(t, s, "n1", ds)

	// Unsubscribing stops deliveries, including those not yet sent.
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Message: "Still on it"}); err != nil {
		t.Fatal(err)
	}
	gone, err := s.UnsubscribeStatusSubscriber(ctx, "public", sub.ID)
	if err != nil || gone.Active() || !gone.UnsubscribedAt.Equal(clk.Now()) {
		t.Fatalf("unsubscribed = %+v, %v", gone, err)
	}
	if again, err := s.UnsubscribeStatusSubscriber(ctx, "public", sub.ID); err != nil || !again.UnsubscribedAt.Equal(gone.UnsubscribedAt) {
		t.Fatalf("unsubscribing again = %+v, %v", again, err)
	}
	_, err = s.UnsubscribeStatusSubscriber(ctx, "public", 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved}); err != nil {
		t.Fatal(err)
	}
	// The webhook gets both updates, one claim after the other, in order.
	ds = drain(t, s, "n1", clk.Now())
	if len(ds) != 2 || ds[0].Subscriber.ID != hook.ID || ds[1].Subscriber.ID != hook.ID ||
		deliveredUpdate(ds[0]).Body != "Still on it" || deliveredStatus(ds[1]) != klaxon.IncidentResolved {
		t.Fatalf("after unsubscribing = %+v", ds)
	}
	// A confirmation link followed after unsubscribing does not bring it
	// back; subscribing again does, unconfirmed.
	if c, err := s.ConfirmStatusSubscriber(ctx, sub.ID); err != nil || c.Active() {
		t.Fatalf("confirming after unsubscribing = %+v, %v", c, err)
	}
	back, created := subscribeEmail(t, s, "ops@example.com")
	if !created || back.ID != sub.ID || back.Active() || !back.UnsubscribedAt.IsZero() {
		t.Fatalf("subscribing again = %+v, created %v", back, created)
	}

	list, err := s.ListStatusSubscribers(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 || list[0].ID != hook.ID || list[1].ID != sub.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if got, err := s.StatusSubscriber(ctx, hook.ID); err != nil || got.Address != hook.Address {
		t.Fatalf("read back = %+v, %v", got, err)
	}
	_, err = s.StatusSubscriber(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	entries, _ := s.ListAudit(ctx, klaxon.Page{Limit: 1000})
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if actions["status_subscriber.confirm"] != 1 || actions["status_subscriber.unsubscribe"] != 1 || actions["status_subscriber.create"] != 5 {
		t.Fatalf("audit = %v", actions)
	}
}

// testStatusDeliveryFilters checks who an update reaches: everyone
// subscribed to everything, those subscribed to one of the incident's
// components (or to their group), and everyone for an incident naming no
// component.
func testStatusDeliveryFilters(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	a := mustComponent(t, s, "A", "G")
	b := mustComponent(t, s, "B", "")
	subs := map[int64]string{
		mustWebhookSubscriber(t, s, "https://h.example.com/all").ID:              "all",
		mustWebhookSubscriber(t, s, "https://h.example.com/a", a.ID).ID:          "a",
		mustWebhookSubscriber(t, s, "https://h.example.com/b", b.ID).ID:          "b",
		mustWebhookSubscriber(t, s, "https://h.example.com/b2", b.ID).ID:         "b2",
		mustWebhookSubscriber(t, s, "https://h.example.com/group", a.GroupID).ID: "group",
		mustWebhookSubscriber(t, s, "https://h.example.com/both", a.ID, b.ID).ID: "both",
		mustWebhookSubscriber(t, s, "https://h.example.com/gone", a.ID, b.ID).ID: "gone",
	}
	for id, name := range subs {
		if name == "gone" {
			if _, err := s.UnsubscribeStatusSubscriber(ctx, "test", id); err != nil {
				t.Fatal(err)
			}
		}
	}
	reached := func(n klaxon.NewIncident) string {
		t.Helper()
		if _, err := s.CreateStatusIncident(ctx, "user:1", n); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range drain(t, s, "n1", clk.Now()) {
			names = append(names, subs[d.Subscriber.ID])
		}
		sort.Strings(names)
		return join(names)
	}
	for _, tc := range []struct {
		name string
		n    klaxon.NewIncident
		want string
	}{
		{"touching A", klaxon.NewIncident{Name: "x", Components: map[int64]klaxon.ComponentState{a.ID: klaxon.ComponentDegraded}}, "a all both group"},
		{"touching only B", klaxon.NewIncident{Name: "x", Components: map[int64]klaxon.ComponentState{b.ID: klaxon.ComponentDegraded}}, "all b b2 both"},
		{"touching nothing", klaxon.NewIncident{Name: "x"}, "a all b b2 both group"},
	} {
		if got := reached(tc.n); got != tc.want {
			t.Errorf("%s reached %q, want %q", tc.name, got, tc.want)
		}
	}
	// A later update naming B reaches B's subscribers too, as the incident
	// now touches B.
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "x", Components: map[int64]klaxon.ComponentState{a.ID: klaxon.ComponentMajorOutage}})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s, "n1", clk.Now())
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Components: map[int64]klaxon.ComponentState{b.ID: klaxon.ComponentDegraded}}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range drain(t, s, "n1", clk.Now()) {
		names = append(names, subs[d.Subscriber.ID])
	}
	sort.Strings(names)
	if got := join(names); got != "a all b b2 both group" {
		t.Errorf("the update naming B reached %q", got)
	}
}

func join(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += " "
		}
		out += n
	}
	return out
}

// testStatusDeliveryLeases checks claiming, leases, retries and finishing,
// and (in status_order.go) the order of each subscriber's deliveries.
func testStatusDeliveryLeases(t *testing.T, open Opener) {
	t.Run("OnePerSubscriberInOrder", func(t *testing.T) { testStatusDeliveryOrder(t, open) })
	t.Run("OrderAcrossNodes", func(t *testing.T) { testStatusDeliveryOrderConcurrent(t, open) })
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	if _, ok, err := s.NextStatusDelivery(ctx); err != nil || ok {
		t.Fatalf("next with nothing pending: %v %v", ok, err)
	}
	hooks := []klaxon.StatusSubscriber{mustWebhookSubscriber(t, s, "https://h.example.com/1"), mustWebhookSubscriber(t, s, "https://h.example.com/2"),
		mustWebhookSubscriber(t, s, "https://h.example.com/3")}
	signalled(s.StatusWork())
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Outage", Message: "Down"})
	if err != nil {
		t.Fatal(err)
	}
	if !signalled(s.StatusWork()) {
		t.Fatal("StatusWork not signalled by an update with subscribers")
	}
	now := clk.Now()
	if next, ok, err := s.NextStatusDelivery(ctx); err != nil || !ok || !next.Equal(now) {
		t.Fatalf("next = %v %v %v", next, ok, err)
	}
	// A claim takes at most limit; another node gets the rest, and nothing
	// leased is claimed again before its lease ends.
	first, err := s.ClaimStatusDeliveries(ctx, "n1", now, time.Minute, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first claim = %+v, %v", first, err)
	}
	if d := first[0]; d.Subscriber.ID != hooks[0].ID || d.Incident.Name != "Outage" || d.UpdateID != inc.Updates[0].ID || d.Attempts != 1 ||
		d.Page.TimeZone != "UTC" {
		t.Fatalf("delivery = %+v", d)
	}
	second := claimAll(t, s, "n2", now)
	if len(second) != 1 || second[0].Subscriber.ID != hooks[2].ID {
		t.Fatalf("second claim = %+v", second)
	}
	if again := claimAll(t, s, "n3", now.Add(59*time.Second)); len(again) != 0 {
		t.Fatalf("claimed during the lease: %+v", again)
	}
	if next, ok, _ := s.NextStatusDelivery(ctx); !ok || !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("next while leased = %v %v", next, ok)
	}
	// Finishing with the wrong owner does nothing.
	if err := s.FinishStatusDelivery(ctx, first[0].ID, "n2", klaxon.StatusDeliveryResult{Sent: true}); !errors.Is(err, klaxon.ErrLeaseLost) {
		t.Fatalf("finish by the wrong owner: %v", err)
	}
	wantCode(t, s.FinishStatusDelivery(ctx, 9999, "n1", klaxon.StatusDeliveryResult{Sent: true}), klaxon.ENOTFOUND)
	// Sent: never again. Failed: never again.
	if err := s.FinishStatusDelivery(ctx, first[0].ID, "n1", klaxon.StatusDeliveryResult{Sent: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishStatusDelivery(ctx, first[0].ID, "n1", klaxon.StatusDeliveryResult{RetryAt: now}); !errors.Is(err, klaxon.ErrLeaseLost) {
		t.Fatalf("finishing a sent delivery again: %v", err)
	}
	if err := s.FinishStatusDelivery(ctx, second[0].ID, "n2", klaxon.StatusDeliveryResult{Failed: true, Error: "410 Gone"}); err != nil {
		t.Fatal(err)
	}
	// Retry: due again at RetryAt, not before.
	retryAt := now.Add(5 * time.Minute)
	if err := s.FinishStatusDelivery(ctx, first[1].ID, "n1", klaxon.StatusDeliveryResult{RetryAt: retryAt, Error: "timeout"}); err != nil {
		t.Fatal(err)
	}
	if next, ok, _ := s.NextStatusDelivery(ctx); !ok || !next.Equal(retryAt) {
		t.Fatalf("next after a retry = %v %v", next, ok)
	}
	if ds := claimAll(t, s, "n3", retryAt.Add(-time.Second)); len(ds) != 0 {
		t.Fatalf("claimed before its retry: %+v", ds)
	}
	retried := claimAll(t, s, "n3", retryAt)
	if len(retried) != 1 || retried[0].ID != first[1].ID || retried[0].Attempts != 2 {
		t.Fatalf("retry = %+v", retried)
	}
	// A lease that runs out (its node died) makes the delivery due again.
	taken := claimAll(t, s, "n4", retryAt.Add(time.Minute))
	if len(taken) != 1 || taken[0].ID != first[1].ID || taken[0].Attempts != 3 {
		t.Fatalf("taken over = %+v", taken)
	}
	if err := s.FinishStatusDelivery(ctx, first[1].ID, "n3", klaxon.StatusDeliveryResult{Sent: true}); !errors.Is(err, klaxon.ErrLeaseLost) {
		t.Fatalf("finish by the node that lost the lease: %v", err)
	}
	if err := s.FinishStatusDelivery(ctx, first[1].ID, "n4", klaxon.StatusDeliveryResult{Sent: true}); err != nil {
		t.Fatal(err)
	}
	if ds := claimAll(t, s, "n5", now.Add(24*time.Hour)); len(ds) != 0 {
		t.Fatalf("finished deliveries claimed again: %+v", ds)
	}
	if _, ok, _ := s.NextStatusDelivery(ctx); ok {
		t.Fatal("next reports a delivery when none is pending")
	}
	// The delivered incident is as it stood after the update it carries.
	clk.add(time.Minute)
	inc, upd, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Message: "Found it", Status: klaxon.IncidentIdentified})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved}); err != nil {
		t.Fatal(err)
	}
	// Each subscriber gets the two updates one claim after the other.
	ds := claimAll(t, s, "n1", clk.Now())
	if len(ds) != 3 {
		t.Fatalf("%d deliveries of the first of two updates to three subscribers", len(ds))
	}
	for _, d := range ds {
		if d.UpdateID != upd.ID || len(d.Incident.Updates) != 2 || d.Incident.Updates[0].ID != upd.ID {
			t.Fatalf("delivery of update %d carries update %d and %+v", upd.ID, d.UpdateID, d.Incident.Updates)
		}
	}
	finishAll(t, s, "n1", ds)
	ds = claimAll(t, s, "n1", clk.Now())
	if len(ds) != 3 {
		t.Fatalf("%d deliveries of the second of two updates to three subscribers", len(ds))
	}
	for _, d := range ds {
		if d.UpdateID == upd.ID || deliveredStatus(d) != klaxon.IncidentResolved || len(d.Incident.Updates) != 3 {
			t.Fatalf("delivery of the resolution carries update %d and %+v", d.UpdateID, d.Incident.Updates)
		}
	}
	finishAll(t, s, "n1", ds)
}
