package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// TestStatusDuties runs the duties loop against a real store while the
// clock moves: a maintenance starts at its scheduled instant and completes
// at its end (the loop sleeps until the next one is due, capped by Every),
// and a component that follows its service goes to its follow state when a
// critical alert opens (woken by Alerts) and back when it resolves.
func TestStatusDuties(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: t0}
			var s *store.Store
			if name == "sqlite" {
				s = storetest.OpenSQLite(t, store.Options{Clock: clk})
			} else {
				s = storetest.OpenPostgres(t, store.Options{Clock: clk})
			}
			statusDuties(t, s, clk)
		})
	}
}

func statusDuties(t *testing.T, s *store.Store, clk *clock) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: "Database"})
	must(t, err)
	checkout, err := s.CreateStatusComponent(ctx, "test", klaxon.NewStatusComponent{Name: "Checkout"})
	must(t, err)
	svc := klaxon.Service{Name: "checkout", State: klaxon.ServiceActive}
	must(t, s.CreateService(ctx, "test", &svc))
	follow, state := true, klaxon.ComponentPartialOutage
	_, err = s.UpdateStatusComponent(ctx, "test", checkout.ID, klaxon.ComponentPatch{ServiceID: &svc.ID, FollowService: &follow, FollowState: &state})
	must(t, err)
	mnt, err := s.CreateMaintenance(ctx, "test", klaxon.NewMaintenance{Name: "Upgrade", Components: []int64{db.ID},
		ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour)})
	must(t, err)

	alerts := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&engine.StatusDuties{Store: s, Clock: clk, Every: 20 * time.Millisecond, Alerts: alerts}).Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	within := func(what string, check func() error) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := check()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	maintenance := func(want klaxon.IncidentStatus, dbState klaxon.ComponentState) func() error {
		return func() error {
			inc, err := s.StatusIncident(ctx, mnt.ID)
			if err != nil {
				return err
			}
			c, err := s.StatusComponent(ctx, db.ID)
			if err != nil {
				return err
			}
			if inc.Status != want || c.State != dbState {
				return fmt.Errorf("maintenance %s, database %s; want %s, %s", inc.Status, c.State, want, dbState)
			}
			return nil
		}
	}
	time.Sleep(100 * time.Millisecond) // several passes before it is due
	if err := maintenance(klaxon.MaintenanceScheduled, klaxon.ComponentOperational)(); err != nil {
		t.Fatalf("before its start: %v", err)
	}
	clk.add(time.Hour)
	within("maintenance started", maintenance(klaxon.MaintenanceInProgress, klaxon.ComponentUnderMaintenance))
	clk.add(time.Hour)
	within("maintenance completed", maintenance(klaxon.MaintenanceCompleted, klaxon.ComponentOperational))

	checkoutIs := func(want klaxon.ComponentState) func() error {
		return func() error {
			c, err := s.StatusComponent(ctx, checkout.ID)
			if err != nil {
				return err
			}
			if c.State != want {
				return fmt.Errorf("checkout is %s, want %s", c.State, want)
			}
			return nil
		}
	}
	event := func(action klaxon.Action) {
		_, err := s.Ingest(ctx, []klaxon.Event{{ServiceID: svc.ID, IntegrationID: 1, Action: action, DedupKey: "down",
			Summary: "Checkout down", Severity: klaxon.SeverityCritical}})
		must(t, err)
		alerts <- struct{}{}
	}
	event(klaxon.ActionTrigger)
	within("checkout follows its critical alert", checkoutIs(klaxon.ComponentPartialOutage))
	event(klaxon.ActionResolve)
	within("checkout back to operational", checkoutIs(klaxon.ComponentOperational))
	hist, err := s.ComponentHistory(ctx, checkout.ID, t0.Add(-time.Hour))
	must(t, err)
	var automatic int
	for _, h := range hist {
		if h.Source == klaxon.ChangeService && h.AlertID != 0 {
			automatic++
		}
	}
	if automatic != 2 {
		t.Errorf("history %+v: %d automatic changes with their alert, want 2", hist, automatic)
	}
}
