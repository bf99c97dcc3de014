package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// The snapshot the public page renders, and its generation.

func testStatusSnapshot(t *testing.T, open Opener) {
	t.Run("AtMost1000Closed", func(t *testing.T) { testStatusSnapshotLimit(t, open) })
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	last := generation(t, s)
	signalled(s.StatusChanges())
	mutated := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		g := generation(t, s)
		if g == last {
			t.Fatalf("%s: generation unchanged", what)
		}
		if !signalled(s.StatusChanges()) {
			t.Fatalf("%s: StatusChanges not signalled", what)
		}
		last = g
	}
	api, err := s.CreateStatusComponent(ctx, "user:1", klaxon.NewStatusComponent{Name: "API", Group: "Backend"})
	mutated("create component", err)
	web, err := s.CreateStatusComponent(ctx, "user:1", klaxon.NewStatusComponent{Name: "Website"})
	mutated("create another", err)
	_, err = s.UpdateStatusPage(ctx, "user:1", klaxon.StatusPagePatch{Name: ptr("Acme")})
	mutated("update page", err)

	long := clk.Now().Add(-400 * 24 * time.Hour)
	old, err := s.CreateStatusIncident(ctx, "import", klaxon.NewIncident{Name: "Long ago", At: long,
		Components: map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentMajorOutage}})
	mutated("import", err)
	_, _, err = s.AddIncidentUpdate(ctx, "import", old.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved, At: long.Add(time.Hour)})
	mutated("import resolution", err)
	clk.add(time.Minute)
	recent, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Recent"})
	mutated("recent incident", err)
	_, _, err = s.AddIncidentUpdate(ctx, "user:1", recent.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved})
	mutated("resolve it", err)
	_, err = s.SetPostmortem(ctx, "user:1", recent.ID, klaxon.Postmortem{Body: "# Why", PublishedAt: clk.Now()})
	mutated("postmortem", err)
	clk.add(time.Minute)
	open1, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Open",
		Components: map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentPartialOutage}})
	mutated("open incident", err)
	clk.add(time.Minute)
	_, err = s.UpdateStatusComponent(ctx, "user:1", web.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentDegraded)})
	mutated("state change", err)
	_, err = s.UpdateStatusComponent(ctx, "user:1", web.ID, klaxon.ComponentPatch{Position: ptr(1)})
	mutated("reorder", err)
	clk.add(time.Minute)
	m, err := s.CreateMaintenance(ctx, "user:1", klaxon.NewMaintenance{Name: "Upgrade", ScheduledFor: clk.Now().Add(24 * time.Hour),
		ScheduledUntil: clk.Now().Add(25 * time.Hour), Components: []int64{web.ID}})
	mutated("maintenance", err)
	// Subscribers are not on the page: subscribing, confirming and
	// unsubscribing (which a public form drives) re-render nothing.
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "ops@example.com"}
	before, err := s.StatusGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateStatusSubscriber(ctx, "public", &sub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmStatusSubscriber(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UnsubscribeStatusSubscriber(ctx, "public", sub.ID); err != nil {
		t.Fatal(err)
	}
	if after, err := s.StatusGeneration(ctx); err != nil || after != before {
		t.Errorf("subscriber changes moved the generation from %d to %d (%v)", before, after, err)
	}
	_, err = s.AdvanceMaintenances(ctx, clk.Now().Add(24*time.Hour))
	mutated("maintenance started", err)

	since := clk.Now().Add(-90 * 24 * time.Hour)
	snap, err := s.StatusSnapshot(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Generation != last || !snap.ReadAt.Equal(clk.Now()) || !snap.HistorySince.Equal(since) || snap.Page.Name != "Acme" {
		t.Fatalf("snapshot page %+v generation %d (want %d) read %v since %v", snap.Page, snap.Generation, last, snap.ReadAt, snap.HistorySince)
	}
	if got := pageOrder(snap.Components); got != "Website@1 Backend@2 -API@1 " {
		t.Fatalf("snapshot components = %s", got)
	}
	// Every incident, newest first: the closed ones however old (the
	// import's, 400 days back, included), so that imported history shows.
	if len(snap.Incidents) != 4 || snap.Incidents[0].ID != m.ID || snap.Incidents[1].ID != open1.ID || snap.Incidents[2].ID != recent.ID ||
		snap.Incidents[3].ID != old.ID {
		t.Fatalf("snapshot incidents = %+v", snap.Incidents)
	}
	if inc := snap.Incidents[3]; inc.Status != klaxon.IncidentResolved || !inc.CreatedAt.Equal(long) || !inc.ResolvedAt.Equal(long.Add(time.Hour)) ||
		len(inc.Updates) != 2 || len(inc.Components) != 1 || inc.Components[0] != api.ID {
		t.Fatalf("snapshot imported incident = %+v", inc)
	}
	if inc := snap.Incidents[0]; inc.Status != klaxon.MaintenanceInProgress || len(inc.Updates) != 2 || len(inc.Components) != 1 {
		t.Fatalf("snapshot maintenance = %+v", inc)
	}
	if inc := snap.Incidents[2]; inc.Status != klaxon.IncidentPostmortem || inc.Postmortem != "# Why" || len(inc.Updates) != 2 {
		t.Fatalf("snapshot postmortem = %+v", inc)
	}
	// History since: API's last change before it (the import's end), then
	// the changes after.
	var got []string
	for _, h := range snap.History {
		name := "API"
		if h.ComponentID == web.ID {
			name = "Website"
		}
		got = append(got, name+":"+string(h.State))
	}
	want := "API:operational API:partial_outage Website:degraded_performance Website:under_maintenance"
	if join(got) != want {
		t.Fatalf("snapshot history = %s, want %s", join(got), want)
	}
	if h := snap.History[0]; !h.At.Equal(long.Add(time.Hour)) || h.IncidentID != old.ID {
		t.Fatalf("the change before since = %+v", h)
	}
	// Reading changes nothing.
	if generation(t, s) != last || signalled(s.StatusChanges()) {
		t.Fatal("reading the snapshot changed the generation")
	}
}

// testStatusSnapshotLimit checks which incidents a long history leaves in
// the snapshot: every open one, however old, and the 1,000 closed ones
// updated last, however old, whenever they were opened.
func testStatusSnapshotLimit(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	base := clk.Now().AddDate(-5, 0, 0)
	create := func(n klaxon.NewIncident) klaxon.StatusIncident {
		t.Helper()
		inc, err := s.CreateStatusIncident(ctx, "import", n)
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	// Opened before everything else: one still open, one closed only
	// yesterday.
	stillOpen := create(klaxon.NewIncident{Name: "Still open", At: base.Add(-48 * time.Hour)})
	lateClose := create(klaxon.NewIncident{Name: "Closed late", At: base.Add(-24 * time.Hour)})
	if _, _, err := s.AddIncidentUpdate(ctx, "import", lateClose.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved,
		At: clk.Now().Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// And 1,000 closed ones, years old, the first the least recently
	// updated of all.
	var bulk []klaxon.StatusIncident
	for i := range 1000 {
		bulk = append(bulk, create(klaxon.NewIncident{Name: fmt.Sprintf("Imported %d", i), Status: klaxon.IncidentResolved,
			At: base.Add(time.Duration(i) * time.Hour)}))
	}
	snap, err := s.StatusSnapshot(ctx, clk.Now().Add(-90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	in := map[int64]bool{}
	for _, inc := range snap.Incidents {
		in[inc.ID] = true
	}
	if len(snap.Incidents) != 1001 || len(in) != 1001 || !in[stillOpen.ID] || !in[lateClose.ID] || in[bulk[0].ID] || !in[bulk[1].ID] || !in[bulk[999].ID] {
		t.Fatalf("snapshot holds %d incidents (open %v, closed late %v, least recently updated %v, next %v, last %v); want 1,001",
			len(snap.Incidents), in[stillOpen.ID], in[lateClose.ID], in[bulk[0].ID], in[bulk[1].ID], in[bulk[999].ID])
	}
	// Newest first (by when they were opened).
	if first, last := snap.Incidents[0], snap.Incidents[len(snap.Incidents)-1]; first.ID != bulk[999].ID || last.ID != stillOpen.ID {
		t.Fatalf("snapshot runs from %q to %q", first.Name, last.Name)
	}
}
