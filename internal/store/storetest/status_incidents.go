package storetest

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// Incidents, their updates, and what they do to components.

func componentState(t *testing.T, s *store.Store, id int64) klaxon.ComponentState {
	t.Helper()
	c, err := s.StatusComponent(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.State
}

func testStatusIncidents(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	api := mustComponent(t, s, "API", "Backend")
	db := mustComponent(t, s, "Database", "Backend")
	web := mustComponent(t, s, "Website", "")
	opened := clk.Now()

	for _, bad := range []struct {
		n     klaxon.NewIncident
		field string
	}{
		{klaxon.NewIncident{Name: " "}, "name"},
		{klaxon.NewIncident{Name: "x", Status: klaxon.MaintenanceScheduled}, "status"},
		{klaxon.NewIncident{Name: "x", Impact: klaxon.ImpactMaintenance}, "impact"},
		{klaxon.NewIncident{Name: "x", Components: map[int64]klaxon.ComponentState{api.ID: "on_fire"}}, "components." + itoa(api.ID)},
		{klaxon.NewIncident{Name: "x", Components: map[int64]klaxon.ComponentState{9999: klaxon.ComponentMajorOutage}}, "components"},
		{klaxon.NewIncident{Name: "x", Components: map[int64]klaxon.ComponentState{api.GroupID: klaxon.ComponentMajorOutage}}, "components"},
		{klaxon.NewIncident{Name: "x", At: opened.Add(time.Hour)}, "at"},
	} {
		_, err := s.CreateStatusIncident(ctx, "test", bad.n)
		wantField(t, err, klaxon.EINVALID, bad.field)
	}
	if list, _ := s.ListStatusIncidents(ctx, klaxon.Page{}); len(list) != 0 {
		t.Fatalf("a refused incident was stored: %+v", list)
	}

	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Errors on the API", Message: "Looking into it",
		Components: map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentPartialOutage, db.ID: klaxon.ComponentDegraded}})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != klaxon.IncidentInvestigating || inc.Impact != klaxon.ImpactMajor || inc.Maintenance || !inc.CreatedAt.Equal(opened) ||
		!inc.UpdatedAt.Equal(opened) || !inc.ResolvedAt.IsZero() || !inc.MonitoringAt.IsZero() || len(inc.Updates) != 1 ||
		len(inc.Components) != 2 || inc.Components[0] != api.ID || inc.Components[1] != db.ID {
		t.Fatalf("incident = %+v", inc)
	}
	first := inc.Updates[0]
	if first.Status != klaxon.IncidentInvestigating || first.Body != "Looking into it" || !first.DisplayAt.Equal(opened) ||
		!first.CreatedAt.Equal(opened) || len(first.Affected) != 2 || first.IncidentID != inc.ID {
		t.Fatalf("first update = %+v", first)
	}
	if a := first.Affected[0]; a.ComponentID != api.ID || a.Name != "API" || a.Old != klaxon.ComponentOperational || a.New != klaxon.ComponentPartialOutage {
		t.Fatalf("affected = %+v", a)
	}
	if componentState(t, s, api.ID) != klaxon.ComponentPartialOutage || componentState(t, s, db.ID) != klaxon.ComponentDegraded {
		t.Fatal("the incident did not set its components' states")
	}
	hist, _ := s.ComponentHistory(ctx, api.ID, time.Time{})
	if len(hist) != 1 || hist[0].Source != klaxon.ChangeIncident || hist[0].IncidentID != inc.ID || hist[0].Actor != "user:1" {
		t.Fatalf("history = %+v", hist)
	}

	// Status must fit the kind; components must exist.
	_, _, err = s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.MaintenanceInProgress})
	wantField(t, err, klaxon.EINVALID, "status")
	_, _, err = s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: "fixed"})
	wantField(t, err, klaxon.EINVALID, "status")
	_, _, err = s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Components: map[int64]klaxon.ComponentState{9999: klaxon.ComponentOperational}})
	wantField(t, err, klaxon.EINVALID, "components")
	_, _, err = s.AddIncidentUpdate(ctx, "user:1", 9999, klaxon.NewIncidentUpdate{Message: "x"})
	wantCode(t, err, klaxon.ENOTFOUND)

	// Empty status keeps the current one; monitoring sets MonitoringAt.
	clk.add(10 * time.Minute)
	inc, upd, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Message: "Still looking",
		Components: map[int64]klaxon.ComponentState{web.ID: klaxon.ComponentDegraded}})
	if err != nil || upd.Status != klaxon.IncidentInvestigating || inc.Status != klaxon.IncidentInvestigating || len(inc.Components) != 3 ||
		inc.Components[2] != web.ID || len(upd.Affected) != 1 || upd.Affected[0].ComponentID != web.ID {
		t.Fatalf("update = %+v %+v %v", inc, upd, err)
	}
	clk.add(10 * time.Minute)
	monitoring := clk.Now()
	inc, _, err = s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentMonitoring, Message: "A fix is out"})
	if err != nil || inc.Status != klaxon.IncidentMonitoring || !inc.MonitoringAt.Equal(monitoring) || !inc.UpdatedAt.Equal(monitoring) || len(inc.Updates) != 3 ||
		inc.Updates[0].Status != klaxon.IncidentMonitoring || inc.Updates[2].Status != klaxon.IncidentInvestigating {
		t.Fatalf("monitoring = %+v, %v", inc, err)
	}

	// Someone sets the website by hand meanwhile: resolving without naming
	// components returns only what is still this incident's doing.
	clk.add(time.Minute)
	if _, err := s.UpdateStatusComponent(ctx, "user:2", web.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentMajorOutage)}); err != nil {
		t.Fatal(err)
	}
	clk.add(10 * time.Minute)
	resolved := clk.Now()
	inc, upd, err = s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved, Message: "Fixed"})
	if err != nil || inc.Status != klaxon.IncidentResolved || !inc.ResolvedAt.Equal(resolved) || !inc.MonitoringAt.Equal(monitoring) {
		t.Fatalf("resolved = %+v, %v", inc, err)
	}
	if len(upd.Affected) != 2 || upd.Affected[0].ComponentID != api.ID || upd.Affected[0].Old != klaxon.ComponentPartialOutage ||
		upd.Affected[0].New != klaxon.ComponentOperational || upd.Affected[1].ComponentID != db.ID {
		t.Fatalf("resolution affected = %+v", upd.Affected)
	}
	for id, want := range map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentOperational, db.ID: klaxon.ComponentOperational,
		web.ID: klaxon.ComponentMajorOutage} {
		if got := componentState(t, s, id); got != want {
			t.Errorf("component %d is %s after the resolution, want %s", id, got, want)
		}
	}
	hist, _ = s.ComponentHistory(ctx, api.ID, time.Time{})
	if len(hist) != 2 || hist[1].State != klaxon.ComponentOperational || hist[1].Source != klaxon.ChangeIncident || !hist[1].At.Equal(resolved) {
		t.Fatalf("history after resolution = %+v", hist)
	}

	// Reopened: no longer resolved; resolved again: at the new time.
	clk.add(time.Minute)
	reopened, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentIdentified, Message: "Back"})
	if err != nil || reopened.Status != klaxon.IncidentIdentified || !reopened.ResolvedAt.IsZero() || !reopened.MonitoringAt.IsZero() {
		t.Fatalf("reopened = %+v, %v", reopened, err)
	}
	clk.add(time.Minute)
	resolved = clk.Now()
	inc, _, err = s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved})
	if err != nil || !inc.ResolvedAt.Equal(resolved) {
		t.Fatalf("resolved again = %+v, %v", inc, err)
	}

	// A second incident, naming no component, impact given.
	clk.add(time.Minute)
	second, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Slow logins", Status: klaxon.IncidentIdentified, Impact: klaxon.ImpactMinor})
	if err != nil || second.Impact != klaxon.ImpactMinor || second.Status != klaxon.IncidentIdentified || len(second.Components) != 0 {
		t.Fatalf("second = %+v, %v", second, err)
	}
	list, err := s.ListStatusIncidents(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].ID != inc.ID || len(list[1].Updates) != 6 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if page, _ := s.ListStatusIncidents(ctx, klaxon.Page{Before: second.ID, Limit: 1}); len(page) != 1 || page[0].ID != inc.ID {
		t.Fatalf("second page = %+v", page)
	}
	got, err := s.StatusIncident(ctx, inc.ID)
	if err != nil || got.Status != inc.Status || len(got.Updates) != 6 || len(got.Components) != 3 {
		t.Fatalf("read back = %+v, %v", got, err)
	}
	_, err = s.StatusIncident(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)

	// The impact follows the worst state set.
	for states, want := range map[klaxon.ComponentState]klaxon.IncidentImpact{klaxon.ComponentMajorOutage: klaxon.ImpactCritical,
		klaxon.ComponentDegraded: klaxon.ImpactMinor, klaxon.ComponentOperational: klaxon.ImpactNone} {
		i, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "impact", Components: map[int64]klaxon.ComponentState{db.ID: states}})
		if err != nil || i.Impact != want {
			t.Errorf("impact for %s = %q (%v), want %q", states, i.Impact, err, want)
		}
	}

	entries, _ := s.ListAudit(ctx, klaxon.Page{Limit: 1000})
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if actions["status_incident.create"] != 5 || actions["status_incident.update"] != 5 {
		t.Fatalf("audit actions = %v", actions)
	}
}

// testStatusIncidentImport places an incident in the past: its history
// lands at its times (so the uptime of those days is right) but the
// current state, set later, stays; an older update does not reopen it.
func testStatusIncidentImport(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	api := mustComponent(t, s, "API", "")
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberWebhook, Address: "https://hooks.example.com/status"}
	if _, err := s.CreateStatusSubscriber(ctx, "test", &sub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateStatusComponent(ctx, "user:1", api.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentDegraded)}); err != nil {
		t.Fatal(err)
	}
	began := clk.Now().Add(-10 * 24 * time.Hour)
	inc, err := s.CreateStatusIncident(ctx, "import", klaxon.NewIncident{Name: "Old outage", At: began,
		Components: map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentMajorOutage}})
	if err != nil || !inc.CreatedAt.Equal(began) || !inc.UpdatedAt.Equal(began) || !inc.Updates[0].DisplayAt.Equal(began) ||
		!inc.Updates[0].CreatedAt.Equal(clk.Now()) {
		t.Fatalf("imported incident = %+v, %v", inc, err)
	}
	if a := inc.Updates[0].Affected[0]; a.Old != klaxon.ComponentOperational || a.New != klaxon.ComponentMajorOutage {
		t.Fatalf("affected, as of its time = %+v", a)
	}
	if got := componentState(t, s, api.ID); got != klaxon.ComponentDegraded {
		t.Fatalf("an import overwrote the newer state: %s", got)
	}
	ended := began.Add(2 * time.Hour)
	inc, _, err = s.AddIncidentUpdate(ctx, "import", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved, At: ended})
	if err != nil || inc.Status != klaxon.IncidentResolved || !inc.ResolvedAt.Equal(ended) {
		t.Fatalf("imported resolution = %+v, %v", inc, err)
	}
	if got := componentState(t, s, api.ID); got != klaxon.ComponentDegraded {
		t.Fatalf("an imported resolution overwrote the newer state: %s", got)
	}
	hist, _ := s.ComponentHistory(ctx, api.ID, time.Time{})
	if len(hist) != 3 || !hist[0].At.Equal(began) || hist[0].State != klaxon.ComponentMajorOutage || !hist[1].At.Equal(ended) ||
		hist[1].State != klaxon.ComponentOperational || hist[2].State != klaxon.ComponentDegraded || hist[2].Source != klaxon.ChangeManual {
		t.Fatalf("history = %+v", hist)
	}
	// The state on the day of the outage: the history since its start.
	day, _ := s.ComponentHistory(ctx, api.ID, began.Add(time.Hour))
	if len(day) != 3 || day[0].State != klaxon.ComponentMajorOutage {
		t.Fatalf("history since during the outage = %+v", day)
	}
	// An update placed before the resolution does not reopen it.
	inc, _, err = s.AddIncidentUpdate(ctx, "import", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentIdentified, At: began.Add(time.Hour),
		Message: "Found it"})
	if err != nil || inc.Status != klaxon.IncidentResolved || !inc.ResolvedAt.Equal(ended) || !inc.UpdatedAt.Equal(ended) || len(inc.Updates) != 3 ||
		inc.Updates[1].Status != klaxon.IncidentIdentified {
		t.Fatalf("older update = %+v, %v", inc, err)
	}
	// Imported history is not news: nobody is sent it.
	if ds, _ := s.ClaimStatusDeliveries(ctx, "n1", clk.Now(), time.Minute, 100); len(ds) != 0 {
		t.Fatalf("imported updates were delivered: %+v", ds)
	}
	// A change placed later than the current state's does become current.
	clk.add(time.Minute)
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Components: map[int64]klaxon.ComponentState{api.ID: klaxon.ComponentOperational}}); err != nil {
		t.Fatal(err)
	}
	if got := componentState(t, s, api.ID); got != klaxon.ComponentOperational {
		t.Fatalf("a current update did not set the state: %s", got)
	}
}

func testStatusPostmortem(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	inc, err := s.CreateStatusIncident(ctx, "user:1", klaxon.NewIncident{Name: "Outage"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SetPostmortem(ctx, "user:1", inc.ID, klaxon.Postmortem{Body: " "})
	wantField(t, err, klaxon.EINVALID, "body")
	_, err = s.SetPostmortem(ctx, "user:1", 9999, klaxon.Postmortem{Body: "x"})
	wantCode(t, err, klaxon.ENOTFOUND)
	// A draft keeps the status.
	got, err := s.SetPostmortem(ctx, "user:1", inc.ID, klaxon.Postmortem{Body: "# What happened"})
	if err != nil || got.Postmortem != "# What happened" || !got.PostmortemPublishedAt.IsZero() || got.Status != klaxon.IncidentInvestigating {
		t.Fatalf("draft = %+v, %v", got, err)
	}
	if _, _, err := s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved}); err != nil {
		t.Fatal(err)
	}
	published := clk.Now()
	got, err = s.SetPostmortem(ctx, "user:1", inc.ID, klaxon.Postmortem{Body: "# What happened\n\nA disk.", PublishedAt: published})
	if err != nil || got.Status != klaxon.IncidentPostmortem || !got.PostmortemPublishedAt.Equal(published) || !got.ResolvedAt.Equal(published) {
		t.Fatalf("published = %+v, %v", got, err)
	}
	// A later update keeps it postmortem while resolved.
	clk.add(time.Minute)
	got, _, err = s.AddIncidentUpdate(ctx, "user:1", inc.ID, klaxon.NewIncidentUpdate{Status: klaxon.IncidentResolved, Message: "Postmortem added"})
	if err != nil || got.Status != klaxon.IncidentPostmortem {
		t.Fatalf("after another update = %+v, %v", got, err)
	}
	// Taking the publication back: resolved again.
	got, err = s.SetPostmortem(ctx, "user:1", inc.ID, klaxon.Postmortem{Body: "# Draft again"})
	if err != nil || got.Status != klaxon.IncidentResolved {
		t.Fatalf("unpublished = %+v, %v", got, err)
	}
}
