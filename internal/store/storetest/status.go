package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// The status page's settings, components and their history.

func mustComponent(t *testing.T, s *store.Store, name, group string) klaxon.StatusComponent {
	t.Helper()
	c, err := s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: name, Group: group})
	if err != nil {
		t.Fatalf("create status component %q: %v", name, err)
	}
	return c
}

func generation(t *testing.T, s *store.Store) int64 {
	t.Helper()
	g, err := s.StatusGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// signalled reports whether c holds a signal, and takes it.
func signalled(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// pageOrder renders components as "name@position" in the order given, with
// a group's members indented by a "-".
func pageOrder(cs []klaxon.StatusComponent) string {
	out := ""
	for _, c := range cs {
		if c.GroupID != 0 {
			out += "-"
		}
		out += fmt.Sprintf("%s@%d ", c.Name, c.Position)
	}
	return out
}

func listedOrder(t *testing.T, s *store.Store) string {
	t.Helper()
	cs, err := s.ListStatusComponents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return pageOrder(cs)
}

func testStatusPage(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	p, err := s.StatusPage(ctx)
	if err != nil || p.Name != "Status" || p.TimeZone != "UTC" || p.URL != "" || p.Description != "" {
		t.Fatalf("default page = %+v, %v", p, err)
	}
	gen := generation(t, s)
	signalled(s.StatusChanges())
	up, err := s.UpdateStatusPage(ctx, "user:1", klaxon.StatusPagePatch{Name: ptr("Acme status"), TimeZone: ptr("Europe/Berlin"),
		URL: ptr("https://status.acme.test")})
	if err != nil || up.Name != "Acme status" || up.TimeZone != "Europe/Berlin" || up.URL != "https://status.acme.test" || !up.UpdatedAt.Equal(clk.Now()) {
		t.Fatalf("updated page = %+v, %v", up, err)
	}
	if got, _ := s.StatusPage(ctx); got != up {
		t.Fatalf("read back %+v, want %+v", got, up)
	}
	if g := generation(t, s); g == gen {
		t.Fatal("generation unchanged by a page update")
	}
	if !signalled(s.StatusChanges()) {
		t.Fatal("StatusChanges not signalled by a page update")
	}
	gen = generation(t, s)
	for _, bad := range []struct {
		patch klaxon.StatusPagePatch
		field string
	}{
		{klaxon.StatusPagePatch{TimeZone: ptr("Nowhere/Else")}, "time_zone"},
		{klaxon.StatusPagePatch{TimeZone: ptr("")}, "time_zone"},
		{klaxon.StatusPagePatch{Name: ptr(" ")}, "name"},
		{klaxon.StatusPagePatch{URL: ptr("ftp://status")}, "url"},
	} {
		_, err := s.UpdateStatusPage(ctx, "user:1", bad.patch)
		wantField(t, err, klaxon.EINVALID, bad.field)
	}
	if got, _ := s.StatusPage(ctx); got != up || generation(t, s) != gen || signalled(s.StatusChanges()) {
		t.Fatalf("a refused update changed the page: %+v", got)
	}
	// An empty URL is "wherever the request came to".
	if p, err := s.UpdateStatusPage(ctx, "user:1", klaxon.StatusPagePatch{URL: ptr("")}); err != nil || p.URL != "" || p.Name != "Acme status" {
		t.Fatalf("clearing the URL = %+v, %v", p, err)
	}
	entries, _ := s.ListAudit(ctx, klaxon.Page{})
	if len(entries) != 2 || entries[0].Action != "status_page.update" || entries[0].Actor != "user:1" {
		t.Fatalf("audit = %+v", entries)
	}
}

func testStatusComponents(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	web := mustComponent(t, s, "Website", "")
	api := mustComponent(t, s, "API", "Backend")
	db := mustComponent(t, s, "Database", "Backend")
	cdn := mustComponent(t, s, "CDN", "")
	if web.State != klaxon.ComponentOperational || web.FollowState != klaxon.ComponentMajorOutage || web.Position != 1 ||
		web.GroupID != 0 || web.Group || web.CreatedAt.IsZero() {
		t.Fatalf("new component = %+v", web)
	}
	if api.GroupID == 0 || api.GroupID != db.GroupID || api.Position != 1 || db.Position != 2 || cdn.Position != 3 {
		t.Fatalf("grouped: api %+v db %+v cdn %+v", api, db, cdn)
	}
	group, err := s.StatusComponent(ctx, api.GroupID)
	if err != nil || !group.Group || group.Name != "Backend" || group.Position != 2 || group.GroupID != 0 {
		t.Fatalf("auto-created group = %+v, %v", group, err)
	}
	if got, err := s.StatusComponent(ctx, db.ID); err != nil || got != db {
		t.Fatalf("read back %+v, %v; want %+v", got, err, db)
	}
	if got := listedOrder(t, s); got != "Website@1 Backend@2 -API@1 -Database@2 CDN@3 " {
		t.Fatalf("page order = %s", got)
	}

	// Names are unique within a group, not across groups.
	_, err = s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: "API", Group: "Backend"})
	wantField(t, err, klaxon.ECONFLICT, "name")
	_, err = s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: "Website"})
	wantCode(t, err, klaxon.ECONFLICT)
	other := mustComponent(t, s, "API", "")
	_, err = s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: " "})
	wantField(t, err, klaxon.EINVALID, "name")
	_, err = s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: "x", Group: "\x00"})
	wantField(t, err, klaxon.EINVALID, "group")
	_, err = s.StatusComponent(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.UpdateStatusComponent(ctx, "test", 9999, klaxon.ComponentPatch{Name: ptr("x")})
	wantCode(t, err, klaxon.ENOTFOUND)

	// Reordering: a move renumbers the siblings, past the end means last.
	if _, err := s.UpdateStatusComponent(ctx, "test", cdn.ID, klaxon.ComponentPatch{Position: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	if got := listedOrder(t, s); got != "CDN@1 Website@2 Backend@3 -API@1 -Database@2 API@4 " {
		t.Fatalf("after moving CDN first: %s", got)
	}
	if _, err := s.UpdateStatusComponent(ctx, "test", db.ID, klaxon.ComponentPatch{Position: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateStatusComponent(ctx, "test", cdn.ID, klaxon.ComponentPatch{Position: ptr(99)}); err != nil {
		t.Fatal(err)
	}
	if got := listedOrder(t, s); got != "Website@1 Backend@2 -Database@1 -API@2 API@3 CDN@4 " {
		t.Fatalf("after moving Database first and CDN last: %s", got)
	}
	// Moving between groups: to the end of the new one (created when
	// missing), the old one's gap closed; an empty group leaves any group.
	moved, err := s.UpdateStatusComponent(ctx, "test", db.ID, klaxon.ComponentPatch{Group: ptr("Storage")})
	if err != nil || moved.GroupID == 0 || moved.GroupID == api.GroupID || moved.Position != 1 {
		t.Fatalf("moved to Storage = %+v, %v", moved, err)
	}
	if got := listedOrder(t, s); got != "Website@1 Backend@2 -API@1 API@3 CDN@4 Storage@5 -Database@1 " {
		t.Fatalf("after moving Database to Storage: %s", got)
	}
	if _, err := s.UpdateStatusComponent(ctx, "test", web.ID, klaxon.ComponentPatch{Group: ptr("Backend"), Position: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	if got := listedOrder(t, s); got != "Backend@1 -Website@1 -API@2 API@2 CDN@3 Storage@4 -Database@1 " {
		t.Fatalf("after moving Website into Backend first: %s", got)
	}
	if _, err := s.UpdateStatusComponent(ctx, "test", web.ID, klaxon.ComponentPatch{Group: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if got := listedOrder(t, s); got != "Backend@1 -API@1 API@2 CDN@3 Storage@4 -Database@1 Website@5 " {
		t.Fatalf("after taking Website out: %s", got)
	}
	// Moving into a group holding the same name is a conflict.
	_, err = s.UpdateStatusComponent(ctx, "test", other.ID, klaxon.ComponentPatch{Group: ptr("Backend")})
	wantField(t, err, klaxon.ECONFLICT, "name")
	_, err = s.UpdateStatusComponent(ctx, "test", web.ID, klaxon.ComponentPatch{Name: ptr("CDN")})
	wantField(t, err, klaxon.ECONFLICT, "name")

	// Bad patches name their field and change nothing.
	svc := mustService(t, s, "api")
	for _, bad := range []struct {
		id    int64
		patch klaxon.ComponentPatch
		field string
	}{
		{api.GroupID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentMajorOutage)}, "state"},
		{api.GroupID, klaxon.ComponentPatch{Group: ptr("Storage")}, "group"},
		{api.GroupID, klaxon.ComponentPatch{ServiceID: ptr(svc.ID)}, "service_id"},
		{api.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentState("on_fire"))}, "state"},
		{api.ID, klaxon.ComponentPatch{ServiceID: ptr(svc.ID + 100)}, "service_id"},
		{api.ID, klaxon.ComponentPatch{FollowService: ptr(true)}, "follow_service"},
		{api.ID, klaxon.ComponentPatch{FollowState: ptr(klaxon.ComponentOperational)}, "follow_state"},
		{api.ID, klaxon.ComponentPatch{Position: ptr(0)}, "position"},
		{api.ID, klaxon.ComponentPatch{Name: ptr("")}, "name"},
	} {
		_, err := s.UpdateStatusComponent(ctx, "test", bad.id, bad.patch)
		wantField(t, err, klaxon.EINVALID, bad.field)
	}
	linked, err := s.UpdateStatusComponent(ctx, "test", api.ID, klaxon.ComponentPatch{ServiceID: ptr(svc.ID), FollowService: ptr(true),
		FollowState: ptr(klaxon.ComponentPartialOutage), Description: ptr("the public API")})
	if err != nil || linked.ServiceID != svc.ID || !linked.FollowService || linked.FollowState != klaxon.ComponentPartialOutage ||
		linked.Description != "the public API" || linked.Name != "API" {
		t.Fatalf("linked = %+v, %v", linked, err)
	}

	// A state change is a history row, manual, with its actor.
	clk.add(time.Minute)
	changed, err := s.UpdateStatusComponent(ctx, "user:7", api.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentDegraded)})
	if err != nil || changed.State != klaxon.ComponentDegraded {
		t.Fatalf("state change = %+v, %v", changed, err)
	}
	// Setting the same state again is no change.
	if _, err := s.UpdateStatusComponent(ctx, "user:7", api.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentDegraded)}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.ComponentHistory(ctx, api.ID, time.Time{})
	if err != nil || len(hist) != 1 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	if h := hist[0]; h.ComponentID != api.ID || h.State != klaxon.ComponentDegraded || h.Source != klaxon.ChangeManual ||
		h.Actor != "user:7" || !h.At.Equal(clk.Now()) || h.IncidentID != 0 || h.AlertID != 0 {
		t.Fatalf("history row = %+v", h)
	}
	clk.add(time.Hour)
	if _, err := s.UpdateStatusComponent(ctx, "user:7", api.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentOperational)}); err != nil {
		t.Fatal(err)
	}
	// Since a time: the last change before it, then the ones after.
	hist, err = s.ComponentHistory(ctx, api.ID, clk.Now().Add(-time.Minute))
	if err != nil || len(hist) != 2 || hist[0].State != klaxon.ComponentDegraded || hist[1].State != klaxon.ComponentOperational {
		t.Fatalf("history since = %+v, %v", hist, err)
	}
	if hist, err := s.ComponentHistory(ctx, api.ID, clk.Now().Add(time.Hour)); err != nil || len(hist) != 1 || hist[0].State != klaxon.ComponentOperational {
		t.Fatalf("history since later = %+v, %v", hist, err)
	}
	_, err = s.ComponentHistory(ctx, 9999, time.Time{})
	wantCode(t, err, klaxon.ENOTFOUND)

	entries, _ := s.ListAudit(ctx, klaxon.Page{Limit: 1000})
	creates := 0
	for _, e := range entries {
		if e.Action == "status_component.create" {
			creates++
		}
	}
	// Website, API, Database, CDN, API again; the groups Backend and Storage.
	if creates != 7 {
		t.Fatalf("%d status_component.create audit entries, want 7", creates)
	}
}
