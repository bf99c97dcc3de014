package storetest

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// Components that follow their linked service's critical alerts.

func testStatusFollow(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	svc := mustService(t, s, "checkout")
	other := mustService(t, s, "other")
	c := mustComponent(t, s, "Checkout", "")
	c, err := s.UpdateStatusComponent(ctx, "user:1", c.ID, klaxon.ComponentPatch{ServiceID: ptr(svc.ID), FollowService: ptr(true),
		FollowState: ptr(klaxon.ComponentPartialOutage)})
	if err != nil {
		t.Fatal(err)
	}
	// Linked but not following: never changed.
	plain := mustComponent(t, s, "Plain", "")
	if _, err := s.UpdateStatusComponent(ctx, "user:1", plain.ID, klaxon.ComponentPatch{ServiceID: ptr(svc.ID)}); err != nil {
		t.Fatal(err)
	}
	follow := func(what string, want int, state klaxon.ComponentState) {
		t.Helper()
		clk.add(time.Minute)
		gen := generation(t, s)
		signalled(s.StatusChanges())
		changed, err := s.FollowServices(ctx, clk.Now())
		if err != nil || changed != want {
			t.Fatalf("%s: FollowServices changed %d (%v), want %d", what, changed, err, want)
		}
		if got := componentState(t, s, c.ID); got != state {
			t.Fatalf("%s: component is %s, want %s", what, got, state)
		}
		if bumped := generation(t, s) != gen; bumped != (want > 0) || signalled(s.StatusChanges()) != (want > 0) {
			t.Fatalf("%s: generation bumped %v, want %v", what, bumped, want > 0)
		}
	}
	follow("nothing open", 0, klaxon.ComponentOperational)
	warning := trigger(svc, "w")
	warning.Severity = klaxon.SeverityWarning
	mustIngest(t, s, warning, trigger(other, "elsewhere"))
	follow("a warning, and a critical alert elsewhere", 0, klaxon.ComponentOperational)

	k1 := mustIngest(t, s, trigger(svc, "k1"))[0].AlertID
	mustIngest(t, s, trigger(svc, "k2"))
	follow("critical alerts open", 1, klaxon.ComponentPartialOutage)
	hist, _ := s.ComponentHistory(ctx, c.ID, time.Time{})
	if len(hist) != 1 || hist[0].Source != klaxon.ChangeService || hist[0].AlertID != k1 || !hist[0].At.Equal(clk.Now()) || hist[0].State != klaxon.ComponentPartialOutage {
		t.Fatalf("history = %+v", hist)
	}
	follow("again", 0, klaxon.ComponentPartialOutage)
	mustIngest(t, s, act(svc, klaxon.ActionAcknowledge, "k1"), act(svc, klaxon.ActionResolve, "k2"))
	follow("one acknowledged, one resolved", 0, klaxon.ComponentPartialOutage)
	mustIngest(t, s, act(svc, klaxon.ActionResolve, "k1"))
	follow("all resolved", 1, klaxon.ComponentOperational)
	hist, _ = s.ComponentHistory(ctx, c.ID, time.Time{})
	if len(hist) != 2 || hist[1].Source != klaxon.ChangeService || hist[1].AlertID != k1 || hist[1].State != klaxon.ComponentOperational {
		t.Fatalf("history after recovery = %+v", hist)
	}

	// A state set by hand during an outage is not overwritten when the
	// alerts resolve.
	mustIngest(t, s, trigger(svc, "k3"))
	follow("a new outage", 1, klaxon.ComponentPartialOutage)
	if _, err := s.UpdateStatusComponent(ctx, "user:2", c.ID, klaxon.ComponentPatch{State: ptr(klaxon.ComponentMajorOutage)}); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, act(svc, klaxon.ActionResolve, "k3"))
	follow("resolved after a manual change", 0, klaxon.ComponentMajorOutage)
	follow("later still", 0, klaxon.ComponentMajorOutage)
	// The next outage applies again.
	mustIngest(t, s, trigger(svc, "k4"))
	follow("the next outage", 1, klaxon.ComponentPartialOutage)
	if got := componentState(t, s, plain.ID); got != klaxon.ComponentOperational {
		t.Fatalf("a component not following was set to %s", got)
	}
	// Following can be turned on during an outage.
	if _, err := s.UpdateStatusComponent(ctx, "user:1", plain.ID, klaxon.ComponentPatch{FollowService: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.FollowServices(ctx, clk.Now()); err != nil || changed != 1 || componentState(t, s, plain.ID) != klaxon.ComponentMajorOutage {
		t.Fatalf("turned on during an outage: %d %v", changed, err)
	}
	entries, _ := s.ListAudit(ctx, klaxon.Page{Limit: 1000})
	follows := 0
	for _, e := range entries {
		if e.Action == "status_component.follow" {
			follows++
		}
	}
	if follows != 6 {
		t.Fatalf("%d status_component.follow audit entries, want 6", follows)
	}
}
