package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/klaxonhq/klaxon"
)

// StatusDutiesStore is what keeps the status page moving by itself.
type StatusDutiesStore interface {
	// AdvanceMaintenances starts and completes scheduled maintenances that
	// are due at now, and says when the next one is due (zero for never).
	AdvanceMaintenances(ctx context.Context, now time.Time) (time.Time, error)
	// FollowServices sets the state of components that follow a service
	// from that service's open alerts.
	FollowServices(ctx context.Context, now time.Time) (int, error)
}

// StatusDuties runs the status page's timed work: maintenances move to in
// progress and to completed at their scheduled instants, and components
// that follow a service track its critical alerts. Both store calls are
// idempotent and safe to run on several nodes at once; serve still runs
// them on one node of a cluster (store.RunSingleton), so that the nodes do
// not all poll the same tables every 2 s for the same work.
type StatusDuties struct {
	Store  StatusDutiesStore
	Clock  klaxon.Clock
	Logger *slog.Logger
	// Every bounds how long a component waits to follow its service, and
	// how long a maintenance created on another node waits to be noticed.
	// Default 2 s.
	Every time.Duration
	// Alerts, when set, wakes the duties at once (after an alert changes).
	Alerts <-chan struct{}
}

// Run works until ctx ends.
func (d *StatusDuties) Run(ctx context.Context) {
	clock, log, every := d.Clock, d.Logger, d.Every
	if clock == nil {
		clock = klaxon.SystemClock{}
	}
	if log == nil {
		log = slog.Default()
	}
	if every <= 0 {
		every = 2 * time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-d.Alerts:
		}
		now := clock.Now()
		wait := every
		next, err := d.Store.AdvanceMaintenances(ctx, now)
		if err != nil && ctx.Err() == nil {
			log.Error("status page: advance maintenances", "err", err)
		}
		if err == nil && !next.IsZero() && next.Sub(now) < wait {
			wait = max(next.Sub(now), time.Millisecond)
		}
		if n, err := d.Store.FollowServices(ctx, now); err != nil && ctx.Err() == nil {
			log.Error("status page: follow services", "err", err)
		} else if n > 0 {
			log.Info("status page: components follow their services", "changed", n)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}
