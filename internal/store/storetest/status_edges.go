package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// Edges of the status page's state that an import, a maintenance or the
// public form can reach.

// testStatusImportOutOfOrder: an importer that posts an incident's resolve
// before an earlier-dated update that breaks a component (Statuspage's
// JSON lists updates newest first) ends with the component operational and
// the break inside the incident's span of the history, as if the updates
// had come in order.
func testStatusImportOutOfOrder(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	api := mustComponent(t, s, "API", "")
	began := clk.Now().Add(-10 * 24 * time.Hour)
	inc, err := s.CreateStatusIncident(ctx, "import", klaxon.NewIncident{Name: "Outage", At: began})
	if err != nil {
		t.Fatal(err)
	}
	closed := began.Add(24 * time.Hour)
	if _, _, err := s.AddIncidentUpdate(ctx, "import", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved, At: closed}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddIncidentUpdate(ctx, "import", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentIdentified, At: began.Add(time.Hour),
		Components: map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentMajorOutage}}); err != nil {
		t.Fatal(err)
	}
	if st := componentState(t, s, api.ID); st != klaxon.ComponentOperational {
		t.Errorf("after an out-of-order import the component is %s, want operational", st)
	}
	got, err := s.StatusIncident(ctx, inc.ID)
	if err != nil || got.Status != klaxon.IncidentResolved {
		t.Fatalf("incident %+v, %v", got, err)
	}
	hist, err := s.ComponentHistory(ctx, api.ID, began.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		at    time.Time
		state klaxon.ComponentState
	}{{began.Add(time.Hour), klaxon.ComponentMajorOutage}, {closed, klaxon.ComponentOperational}}
	if len(hist) != len(want) {
		t.Fatalf("history %+v, want a major outage from %s to %s", hist, want[0].at, want[1].at)
	}
	for i, w := range want {
		if !hist[i].At.Equal(w.at) || hist[i].State != w.state || hist[i].IncidentID != inc.ID {
			t.Errorf("history[%d] = %+v, want %s at %s", i, hist[i], w.state, w.at)
		}
	}
	// The resolve's affected components say what it did.
	for _, u := range got.Updates {
		if u.Status == klaxon.IncidentResolved && (len(u.Affected) != 1 || u.Affected[0].New != klaxon.ComponentOperational) {
			t.Errorf("the resolve's affected components: %+v", u.Affected)
		}
	}
}

// testStatusMaintenanceDuringOutage: a maintenance that starts and ends
// while an incident has its component in an outage leaves the outage shown
// when it completes; the incident's own resolution then restores
// operational.
func testStatusMaintenanceDuringOutage(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	db := mustComponent(t, s, "Database", "")
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Slow queries",
		Components: map[int64]klaxon.ComponentState{db.ID: klaxon.ComponentMajorOutage}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMaintenance(ctx, "user:1", klaxon.NewMaintenance{Name: "Failover", Components: []int64{db.ID},
		ScheduledFor: clk.Now().Add(time.Hour), ScheduledUntil: clk.Now().Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	if _, err := s.AdvanceMaintenances(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if st := componentState(t, s, db.ID); st != klaxon.ComponentUnderMaintenance {
		t.Errorf("during the maintenance: %s", st)
	}
	clk.add(time.Hour)
	if _, err := s.AdvanceMaintenances(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if st := componentState(t, s, db.ID); st != klaxon.ComponentMajorOutage {
		t.Errorf("after the maintenance, with the incident still open: %s, want major_outage", st)
	}
	// The outage restored is the incident's again: resolving it without
	// naming the component returns the component to operational.
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved}); err != nil {
		t.Fatal(err)
	}
	if st := componentState(t, s, db.ID); st != klaxon.ComponentOperational {
		t.Errorf("after the incident is resolved: %s, want operational", st)
	}
}

// testStatusPostmortemLater: a postmortem published in the future leaves
// the incident resolved until then; AdvanceMaintenances names that instant
// as due and, once it has come, moves the incident to postmortem.
func testStatusPostmortemLater(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Outage"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved}); err != nil {
		t.Fatal(err)
	}
	publish := clk.Now().Add(72 * time.Hour)
	got, err := s.SetPostmortem(ctx, "user:1", inc.ID, klaxon.Postmortem{Body: "# Why", PublishedAt: publish})
	if err != nil || got.Status != klaxon.IncidentResolved {
		t.Fatalf("a postmortem for later: %s, %v; want resolved", got.Status, err)
	}
	next, err := s.AdvanceMaintenances(ctx, clk.Now())
	if err != nil || !next.Equal(publish) {
		t.Errorf("next due = %s, %v; want the publication %s", next, err, publish)
	}
	gen := generation(t, s)
	clk.add(72 * time.Hour)
	if _, err := s.AdvanceMaintenances(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.StatusIncident(ctx, inc.ID); err != nil || got.Status != klaxon.IncidentPostmortem {
		t.Errorf("once published: %s, %v", got.Status, err)
	}
	if generation(t, s) == gen {
		t.Error("publishing the postmortem did not change the page's generation")
	}
}

// testStatusPendingCap: past MaxPendingSubscribers unconfirmed email
// subscriptions in a day, new ones are refused with EOVERLOAD; webhooks
// (made by admins) and addresses already pending are not; a day later
// there is room again.
func testStatusPendingCap(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	for i := range store.MaxPendingSubscribers {
		sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "p" + strconv.Itoa(i) + "@example.com"}
		if _, err := s.CreateStatusSubscriber(ctx, "public", &sub); err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
	}
	over := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "one-too-many@example.com"}
	if _, err := s.CreateStatusSubscriber(ctx, "public", &over); klaxon.ErrorCodeOf(err) != klaxon.EOVERLOAD {
		t.Errorf("past the cap: %v, want EOVERLOAD", err)
	}
	again := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "p0@example.com"}
	if _, err := s.CreateStatusSubscriber(ctx, "public", &again); err != nil {
		t.Errorf("an address already pending: %v", err)
	}
	hook := klaxon.StatusSubscriber{Kind: klaxon.SubscriberWebhook, Address: "https://hooks.example.com/status"}
	if _, err := s.CreateStatusSubscriber(ctx, "user:1", &hook); err != nil {
		t.Errorf("a webhook: %v", err)
	}
	clk.add(25 * time.Hour)
	if _, err := s.CreateStatusSubscriber(ctx, "public", &over); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

// testStatusConfirmCancelsConfirmations: confirming cancels confirmation
// emails still waiting, so the subscriber's first update is not held up
// behind them.
func testStatusConfirmCancelsConfirmations(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "ops@example.com"}
	if _, err := s.CreateStatusSubscriber(ctx, "public", &sub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmStatusSubscriber(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Outage"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimStatusDeliveries(ctx, "node-a", clk.Now(), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Kind != klaxon.DeliveryUpdate {
		t.Fatalf("claimed %+v, %v; want the update, not the stale confirmation", got, err)
	}
}
