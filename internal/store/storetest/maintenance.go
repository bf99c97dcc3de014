package storetest

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

func testMaintenanceWindows(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	svc := mustService(t, s, "api")
	now := clk.Now()

	for _, bad := range []struct {
		w     klaxon.MaintenanceWindow
		field string
	}{
		{klaxon.MaintenanceWindow{ServiceID: svc.ID, End: now.Add(time.Hour)}, "start"},
		{klaxon.MaintenanceWindow{ServiceID: svc.ID, Start: now}, "end"},
		{klaxon.MaintenanceWindow{ServiceID: svc.ID, Start: now, End: now}, "end"},
		{klaxon.MaintenanceWindow{ServiceID: svc.ID, Start: now, End: now.Add(8 * 24 * time.Hour)}, "end"},
		{klaxon.MaintenanceWindow{ServiceID: svc.ID, Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}, "end"},
	} {
		err := s.CreateMaintenanceWindow(ctx, "test", &bad.w)
		if e, ok := klaxon.AsError(err); !ok || e.Field != bad.field {
			t.Errorf("window %+v: %v, want an error naming %q", bad.w, err, bad.field)
		}
	}
	missing := klaxon.MaintenanceWindow{ServiceID: svc.ID + 100, Start: now, End: now.Add(time.Hour)}
	if err := s.CreateMaintenanceWindow(ctx, "test", &missing); klaxon.ErrorCodeOf(err) != klaxon.ENOTFOUND {
		t.Errorf("window on a missing service: %v", err)
	}

	current := klaxon.MaintenanceWindow{ServiceID: svc.ID, Start: now.Add(-time.Minute), End: now.Add(time.Hour), Description: "db upgrade"}
	later := klaxon.MaintenanceWindow{ServiceID: svc.ID, Start: now.Add(24 * time.Hour), End: now.Add(25 * time.Hour)}
	for _, w := range []*klaxon.MaintenanceWindow{&later, &current} {
		if err := s.CreateMaintenanceWindow(ctx, "test", w); err != nil || w.ID == 0 {
			t.Fatalf("create %+v: %v", w, err)
		}
	}
	list, err := s.ListMaintenanceWindows(ctx, svc.ID, now)
	if err != nil || len(list) != 2 || list[0].ID != current.ID || list[1].ID != later.ID || !list[0].Active(now) || list[1].Active(now) {
		t.Fatalf("list = %+v, %v", list, err)
	}
	// Ending early keeps the record; cancelling one not yet begun ends it
	// at its start.
	clk.add(10 * time.Minute)
	ended, err := s.EndMaintenanceWindow(ctx, "test", svc.ID, current.ID)
	if err != nil || !ended.End.Equal(clk.Now()) {
		t.Fatalf("end = %+v, %v", ended, err)
	}
	cancelled, err := s.EndMaintenanceWindow(ctx, "test", svc.ID, later.ID)
	if err != nil || !cancelled.End.Equal(later.Start) {
		t.Fatalf("cancel = %+v, %v", cancelled, err)
	}
	if list, err := s.ListMaintenanceWindows(ctx, svc.ID, clk.Now()); err != nil || len(list) != 0 {
		t.Fatalf("after ending both: %+v, %v", list, err)
	}
	if _, err := s.EndMaintenanceWindow(ctx, "test", svc.ID+1, current.ID); klaxon.ErrorCodeOf(err) != klaxon.ENOTFOUND {
		t.Errorf("ending another service's window: %v", err)
	}
}
