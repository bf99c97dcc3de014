package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// Scheduled maintenances and their automatic transitions.

func mustWebhookSubscriber(t *testing.T, s *store.Store, url string, components ...int64) klaxon.StatusSubscriber {
	t.Helper()
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberWebhook, Address: url, Components: components}
	if created, err := s.CreateStatusSubscriber(ctx, "test", &sub); err != nil || !created {
		t.Fatalf("create webhook subscriber: %v, %v", created, err)
	}
	return sub
}

// claimAll claims every delivery due at now.
func claimAll(t *testing.T, s *store.Store, owner string, now time.Time) []klaxon.StatusDelivery {
	t.Helper()
	ds, err := s.ClaimStatusDeliveries(ctx, owner, now, time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// drain claims what is due at now and finishes it (sent), again and
// again until nothing is left, and returns the deliveries in the order
// they were claimed. A subscriber's deliveries come one claim at a time:
// no claim holds two of one subscriber.
func drain(t *testing.T, s *store.Store, owner string, now time.Time) []klaxon.StatusDelivery {
	t.Helper()
	var all []klaxon.StatusDelivery
	for range 1000 {
		ds := claimAll(t, s, owner, now)
		if len(ds) == 0 {
			return all
		}
		held := map[int64]bool{}
		for _, d := range ds {
			if held[d.Subscriber.ID] {
				t.Fatalf("one claim holds two deliveries of subscriber %d (delivery %d and another)", d.Subscriber.ID, d.ID)
			}
			held[d.Subscriber.ID] = true
		}
		finishAll(t, s, owner, ds)
		all = append(all, ds...)
	}
	t.Fatal("deliveries still due after 1,000 claims")
	return nil
}

// deliveredUpdate is the update d carries.
func deliveredUpdate(d klaxon.StatusDelivery) klaxon.IncidentUpdate {
	for _, u := range d.Incident.Updates {
		if u.ID == d.UpdateID {
			return u
		}
	}
	return klaxon.IncidentUpdate{}
}

// deliveredStatus is the status of the update d carries.
func deliveredStatus(d klaxon.StatusDelivery) klaxon.IncidentStatus { return deliveredUpdate(d).Status }

func updateStatuses(inc klaxon.StatusIncident) []klaxon.IncidentStatus {
	var out []klaxon.IncidentStatus
	for i := len(inc.Updates) - 1; i >= 0; i-- {
		out = append(out, inc.Updates[i].Status)
	}
	return out
}

func testStatusMaintenance(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	api := mustComponent(t, s, "API", "Backend")
	db := mustComponent(t, s, "Database", "Backend")
	mustComponent(t, s, "Website", "")
	hook := mustWebhookSubscriber(t, s, "https://hooks.example.com/status")
	now := clk.Now()
	start, end := now.Add(time.Hour), now.Add(3*time.Hour)

	for _, bad := range []struct {
		m     klaxon.NewMaintenance
		field string
	}{
		{klaxon.NewMaintenance{Name: " ", ScheduledFor: start, ScheduledUntil: end}, "name"},
		{klaxon.NewMaintenance{Name: "x", ScheduledUntil: end}, "scheduled_for"},
		{klaxon.NewMaintenance{Name: "x", ScheduledFor: end, ScheduledUntil: start}, "scheduled_until"},
		{klaxon.NewMaintenance{Name: "x", ScheduledFor: start, ScheduledUntil: start.Add(31 * 24 * time.Hour)}, "scheduled_until"},
		{klaxon.NewMaintenance{Name: "x", ScheduledFor: start, ScheduledUntil: end, Components: []int64{9999}}, "components"},
		{klaxon.NewMaintenance{Name: "x", ScheduledFor: start, ScheduledUntil: end, Components: []int64{api.GroupID}}, "components"},
	} {
		_, err := s.CreateMaintenance(ctx, "test", bad.m)
		wantField(t, err, klaxon.EINVALID, bad.field)
	}
	// A maintenance's statuses are its own.
	m, err := s.CreateMaintenance(ctx, "user:1", klaxon.NewMaintenance{Name: "Database upgrade", Message: "We upgrade the database.",
		ScheduledFor: start, ScheduledUntil: end, Components: []int64{db.ID, api.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Maintenance || m.Status != klaxon.MaintenanceScheduled || m.Impact != klaxon.ImpactMaintenance || !m.ScheduledFor.Equal(start) ||
		!m.ScheduledUntil.Equal(end) || len(m.Updates) != 1 || m.Updates[0].Body != "We upgrade the database." ||
		len(m.Components) != 2 || m.Components[0] != api.ID || m.Components[1] != db.ID {
		t.Fatalf("maintenance = %+v", m)
	}
	if a := m.Updates[0].Affected; len(a) != 2 || a[0].Old != klaxon.ComponentOperational || a[0].New != klaxon.ComponentOperational {
		t.Fatalf("scheduled update affected = %+v", a)
	}
	_, _, err = s.AddIncidentUpdate(ctx, "user:1", m.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentInvestigating})
	wantField(t, err, klaxon.EINVALID, "status")

	gen := generation(t, s)
	next, err := s.AdvanceMaintenances(ctx, now)
	if err != nil || !next.Equal(start) || generation(t, s) != gen {
		t.Fatalf("before the start: next %v, %v, generation %d → %d", next, err, gen, generation(t, s))
	}
	next, err = s.AdvanceMaintenances(ctx, start.Add(time.Minute))
	if err != nil || !next.Equal(end) {
		t.Fatalf("at the start: next %v, %v", next, err)
	}
	m, _ = s.StatusIncident(ctx, m.ID)
	if m.Status != klaxon.MaintenanceInProgress || len(m.Updates) != 2 || !m.Updates[0].DisplayAt.Equal(start) || m.Updates[0].Body == "" {
		t.Fatalf("started = %+v", m)
	}
	for _, id := range []int64{api.ID, db.ID} {
		if got := componentState(t, s, id); got != klaxon.ComponentUnderMaintenance {
			t.Fatalf("component %d is %s during the maintenance", id, got)
		}
	}
	hist, _ := s.ComponentHistory(ctx, api.ID, time.Time{})
	if len(hist) != 1 || hist[0].Source != klaxon.ChangeMaintenance || hist[0].IncidentID != m.ID || !hist[0].At.Equal(start) {
		t.Fatalf("history = %+v", hist)
	}
	// Running again changes nothing.
	gen = generation(t, s)
	if next, err := s.AdvanceMaintenances(ctx, start.Add(2*time.Minute)); err != nil || !next.Equal(end) || generation(t, s) != gen {
		t.Fatalf("again: %v %v", next, err)
	}
	// The database is set by hand during the maintenance: its completion
	// leaves it.
	clk.t = start.Add(30 * time.Minute)
	if _, err := s.UpdateStatusComponent(ctx, "user:2", db.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentMajorOutage)}); err != nil {
		t.Fatal(err)
	}
	clk.t = end.Add(time.Minute)
	next, err = s.AdvanceMaintenances(ctx, clk.Now())
	if err != nil || !next.IsZero() {
		t.Fatalf("at the end: next %v, %v", next, err)
	}
	m, _ = s.StatusIncident(ctx, m.ID)
	if m.Status != klaxon.MaintenanceCompleted || !m.ResolvedAt.Equal(end) || !m.UpdatedAt.Equal(end) ||
		len(m.Updates) != 3 || m.Updates[0].Status != klaxon.MaintenanceCompleted {
		t.Fatalf("completed = %+v", m)
	}
	if got := componentState(t, s, api.ID); got != klaxon.ComponentOperational {
		t.Fatalf("API is %s after the maintenance", got)
	}
	if got := componentState(t, s, db.ID); got != klaxon.ComponentMajorOutage {
		t.Fatalf("the database, set by hand, is %s after the maintenance", got)
	}
	if next, err := s.AdvanceMaintenances(ctx, clk.Now().Add(time.Hour)); err != nil || !next.IsZero() {
		t.Fatalf("after: %v %v", next, err)
	}
	if m, _ = s.StatusIncident(ctx, m.ID); len(m.Updates) != 3 {
		t.Fatalf("updates after running again: %+v", m.Updates)
	}
	// Each update (scheduled, in progress, completed) reached the
	// subscriber once, one at a time, in the order they were made: the
	// next is claimable only once the one before is finished.
	for i, want := range []klaxon.IncidentStatus{klaxon.MaintenanceScheduled, klaxon.MaintenanceInProgress, klaxon.MaintenanceCompleted} {
		ds := claimAll(t, s, "n1", clk.Now())
		if len(ds) != 1 {
			t.Fatalf("claim %d: %d deliveries, want 1: %+v", i+1, len(ds), ds)
		}
		if d := ds[0]; d.Subscriber.ID != hook.ID || d.Incident.ID != m.ID || d.Kind != klaxon.DeliveryUpdate || deliveredStatus(d) != want ||
			len(d.Incident.Updates) != i+1 {
			t.Fatalf("claim %d = %+v, want the %s update", i+1, d, want)
		}
		if again := claimAll(t, s, "n2", clk.Now()); len(again) != 0 {
			t.Fatalf("claim %d: the next update was claimed while the one before was leased: %+v", i+1, again)
		}
		finishAll(t, s, "n1", ds)
	}
	if ds := claimAll(t, s, "n1", clk.Now()); len(ds) != 0 {
		t.Fatalf("a fourth delivery: %+v", ds)
	}
	entries, _ := s.ListAudit(ctx, klaxon.Page{Limit: 1000})
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if actions["status_maintenance.create"] != 1 || actions["status_maintenance.in_progress"] != 1 || actions["status_maintenance.completed"] != 1 {
		t.Fatalf("audit = %v", actions)
	}
}

// testStatusMaintenanceConcurrent runs the transitions on two "nodes" at
// once: each happens exactly once.
func testStatusMaintenanceConcurrent(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	api := mustComponent(t, s, "API", "")
	mustWebhookSubscriber(t, s, "https://hooks.example.com/a")
	mustWebhookSubscriber(t, s, "https://hooks.example.com/b")
	now := clk.Now()
	var ms []klaxon.StatusIncident
	for i := 0; i < 3; i++ {
		m, err := s.CreateMaintenance(ctx, "test", klaxon.NewMaintenance{Name: "m", Components: []int64{api.ID},
			ScheduledFor: now.Add(time.Duration(i+1) * time.Minute), ScheduledUntil: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	// One scheduled entirely in the past: both transitions at once, in
	// order.
	past, err := s.CreateMaintenance(ctx, "test", klaxon.NewMaintenance{Name: "late", ScheduledFor: now.Add(-2 * time.Hour), ScheduledUntil: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ms = append(ms, past)
	for _, at := range []time.Time{now.Add(30 * time.Minute), now.Add(2 * time.Hour)} {
		for round := 0; round < 3; round++ {
			var wg sync.WaitGroup
			for node := 0; node < 2; node++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.AdvanceMaintenances(ctx, at); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		}
	}
	want := []klaxon.IncidentStatus{klaxon.MaintenanceScheduled, klaxon.MaintenanceInProgress, klaxon.MaintenanceCompleted}
	for _, m := range ms {
		got, err := s.StatusIncident(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st := updateStatuses(got); len(st) != 3 || st[0] != want[0] || st[1] != want[1] || st[2] != want[2] || got.Status != klaxon.MaintenanceCompleted {
			t.Fatalf("maintenance %d updates = %v, status %s", m.ID, st, got.Status)
		}
	}
	// Two subscribers, four maintenances, three updates each; each
	// subscriber is sent them one at a time, in the order they were made.
	ds := drain(t, s, "n1", now.Add(3*time.Hour))
	if len(ds) != 2*4*3 {
		t.Fatalf("%d deliveries, want %d", len(ds), 2*4*3)
	}
	lastID := map[int64]int64{}
	sent := map[int64]map[int64][]klaxon.IncidentStatus{} // subscriber → maintenance → statuses in the order sent
	for _, d := range ds {
		if d.ID <= lastID[d.Subscriber.ID] {
			t.Fatalf("subscriber %d: delivery %d claimed after %d", d.Subscriber.ID, d.ID, lastID[d.Subscriber.ID])
		}
		lastID[d.Subscriber.ID] = d.ID
		if sent[d.Subscriber.ID] == nil {
			sent[d.Subscriber.ID] = map[int64][]klaxon.IncidentStatus{}
		}
		sent[d.Subscriber.ID][d.Incident.ID] = append(sent[d.Subscriber.ID][d.Incident.ID], deliveredStatus(d))
	}
	if len(sent) != 2 {
		t.Fatalf("deliveries went to %d subscribers, want 2", len(sent))
	}
	for sub, byMaintenance := range sent {
		for _, m := range ms {
			if st := byMaintenance[m.ID]; len(st) != 3 || st[0] != want[0] || st[1] != want[1] || st[2] != want[2] {
				t.Fatalf("subscriber %d was sent maintenance %d's updates as %v, want %v", sub, m.ID, st, want)
			}
		}
	}
	if got := componentState(t, s, api.ID); got != klaxon.ComponentOperational {
		t.Fatalf("API is %s after every maintenance", got)
	}
}
