// Package engine runs escalations and sends notifications: it claims the
// escalations that are due, decides with internal/escalation whom to page,
// stores those decisions as notification jobs, and hands due jobs to their
// channels, with leases, retries, bundling and failover.
//
// It never polls on a fixed interval. It sleeps until the earliest instant
// the store says work falls due, or until the store signals new work (a new
// alert, an acknowledgement), whichever comes first; so a page leaves
// within milliseconds of the event that caused it.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/schedule"
)

// Store is the durable side of the engine: claims with leases, and the
// results of the work.
type Store interface {
	Directory
	Work() <-chan struct{}
	NextWork(ctx context.Context) (time.Time, bool, error)
	ClaimEscalations(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]klaxon.EscalationWork, error)
	CompleteEscalations(ctx context.Context, owner string, outcomes []klaxon.EscalationOutcome, now time.Time, leaseFor time.Duration, claimDue int) (due []klaxon.NotificationJob, lost int, err error)
	ClaimNotifications(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]klaxon.NotificationJob, error)
	ClaimBundle(ctx context.Context, owner string, job klaxon.NotificationJob, now time.Time, leaseFor time.Duration, limit int) ([]klaxon.NotificationJob, error)
	LastSent(ctx context.Context, contactMethodID, serviceID int64, now time.Time, exclude []int64) (time.Time, bool, error)
	FinishNotifications(ctx context.Context, owner string, ids []int64, r klaxon.NotificationResult) error
}

// Config tunes an Engine. Zero values take the defaults.
type Config struct {
	Clock  klaxon.Clock
	Logger *slog.Logger
	// Channels maps each contact type to the notifier that sends it. A job
	// for a type with no channel fails and falls over to the person's next
	// contact method.
	Channels map[klaxon.ContactType]notify.Notifier
	// Links signs acknowledge and resolve links; nil for none.
	Links *notify.Linker
	// WebhookSecret is the signing key of a webhook contact method, so that
	// its receiver can check that a page came from this Klaxon.
	WebhookSecret func(contactMethodID int64) []byte
	// Lifecycle sends the deliveries of webhook subscriptions (alert
	// lifecycle events), signed with WebhookSubscriptionSecret; nil fails
	// them.
	Lifecycle                 notify.LifecycleSender
	WebhookSubscriptionSecret func(subscriptionID int64) []byte
	// BundleWindow: after a page about a service goes to a contact method,
	// further pages about that service to that method wait until the window
	// has passed and then go out as one message. Default 1 minute;
	// negative disables bundling.
	BundleWindow time.Duration
	// SendTimeout bounds one send. Default 10 s.
	SendTimeout time.Duration
	// MaxAttempts is how often a job is tried before it fails and falls
	// over. Default 5.
	MaxAttempts int
	// Senders bounds concurrent sends. Default 16.
	Senders int
	// SelfAlerts, when set, raises an alert about Klaxon itself when a
	// channel keeps failing, and resolves it when it recovers.
	SelfAlerts SelfAlerter
}

// Engine is one node's escalation and notification worker.
type Engine struct {
	cfg   Config
	store Store
	dir   Directory
	zones schedule.Zones
	owner string
	log   *slog.Logger

	health   channelHealth
	sends    sync.WaitGroup
	slots    chan struct{}
	finished chan struct{} // a send finished: its result may unblock more work
}

// The engine's fixed durations.
const (
	escalationLease = 30 * time.Second
	claimBatch      = 100
	// maxSleep caps every sleep. Work made in this process, or on
	// PostgreSQL by another node (LISTEN/NOTIFY), wakes the engine at once
	// (Store.Work); this bounds how long a lease another node let run out
	// waits, or other nodes' work while this node's listener reconnects.
	// It is a safety net, not the path of a page.
	maxSleep = 10 * time.Second
)

// New returns an engine over s. Its owner id (host, pid, random) names its
// leases, so that another node can tell them apart and take them over.
func New(s Store, cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = klaxon.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BundleWindow == 0 {
		cfg.BundleWindow = time.Minute
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 16
	}
	return &Engine{
		cfg: cfg, store: s, dir: s, log: cfg.Logger,
		owner:    newOwner(),
		slots:    make(chan struct{}, cfg.Senders),
		health:   channelHealth{failed: map[klaxon.ContactType]int{}, raised: map[klaxon.ContactType]bool{}},
		finished: make(chan struct{}, 1),
	}
}

// Owner is the id that names this engine's leases (host, pid, random).
// serve uses it as the node's id in the cluster's membership too, so that
// a lease seen in the database can be traced to the node that holds it.
func (e *Engine) Owner() string { return e.owner }

// Run works until ctx ends, then waits for the sends in flight.
func (e *Engine) Run(ctx context.Context) {
	defer e.sends.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		saturated, err := e.pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Error("engine pass failed; retrying shortly", "err", err)
			timer.Reset(time.Second)
		case saturated:
			// Every sender is busy and jobs are due: a finishing send
			// wakes the loop, not the clock.
			timer.Reset(maxSleep)
		default:
			timer.Reset(e.untilNext(ctx))
		}
		select {
		case <-ctx.Done():
			return
		case <-e.store.Work():
		case <-e.finished:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// bundles groups claimed jobs that one message can carry: alert pages to
// the same contact method about the same service, when bundling is on (on
// false: each job alone; dispatch bundles only when it is on). Order is
// kept.
func bundles(jobs []klaxon.NotificationJob, on bool) [][]klaxon.NotificationJob {
	type key struct{ method, service int64 }
	var out [][]klaxon.NotificationJob
	index := map[key]int{}
	for _, j := range jobs {
		k := key{j.ContactMethodID, j.ServiceID}
		if i, ok := index[k]; ok && on && j.Kind == klaxon.NotificationAlert {
			out[i] = append(out[i], j)
			continue
		}
		if j.Kind == klaxon.NotificationAlert {
			index[k] = len(out)
		}
		out = append(out, []klaxon.NotificationJob{j})
	}
	return out
}

// untilNext is how long to sleep: until the earliest due work.
func (e *Engine) untilNext(ctx context.Context) time.Duration {
	next, ok, err := e.store.NextWork(ctx)
	if err != nil {
		e.log.Error("engine: next work", "err", err)
		return time.Second
	}
	if !ok {
		return maxSleep
	}
	return min(max(next.Sub(e.cfg.Clock.Now()), 0), maxSleep)
}

// Tick does the work due now and waits for its sends: what Run does on each
// wake-up, for tests that move a clock.
func (e *Engine) Tick(ctx context.Context) error {
	defer e.sends.Wait()
	_, err := e.pass(ctx)
	return err
}

// pass evaluates every due escalation, then starts sending due jobs, as
// many as there are free senders. saturated says that it stopped because
// none was free.
func (e *Engine) pass(ctx context.Context) (saturated bool, err error) {
	for {
		now := e.cfg.Clock.Now()
		work, err := e.store.ClaimEscalations(ctx, e.owner, now, escalationLease, claimBatch)
		if err != nil {
			return false, err
		}
		outcomes := make([]klaxon.EscalationOutcome, 0, len(work))
		for _, w := range work {
			o, err := e.decide(ctx, w, now)
			if err != nil {
				// Its lease runs out and it is evaluated again; the others
				// go on.
				e.log.Error("engine: escalate", "alert", w.Alert.ID, "err", err)
				continue
			}
			outcomes = append(outcomes, o)
		}
		// One transaction for the whole batch; the pages due now come back
		// claimed (as many as there are free senders: a claimed job must
		// not wait for a sender while its lease runs out), and go out at
		// once.
		due, lost, err := e.store.CompleteEscalations(ctx, e.owner, outcomes, now, e.jobLease(), e.freeSenders())
		if err != nil {
			return false, fmt.Errorf("engine: complete escalations: %w", err)
		}
		if lost > 0 {
			e.log.Warn("engine: escalations taken over by another node before completion", "count", lost)
		}
		e.start(ctx, due)
		if len(work) < claimBatch {
			break
		}
	}
	for {
		free := e.freeSenders()
		if free == 0 {
			return true, nil // a finishing send wakes Run for the rest
		}
		now := e.cfg.Clock.Now()
		jobs, err := e.store.ClaimNotifications(ctx, e.owner, now, e.jobLease(), free)
		if err != nil {
			return false, err
		}
		e.start(ctx, jobs)
		if len(jobs) < free {
			return false, nil
		}
	}
}

// freeSenders is how many sends may start now. Only this goroutine starts
// sends, so the number can only grow until it does.
func (e *Engine) freeSenders() int { return cap(e.slots) - len(e.slots) }

// jobLease is how long a claimed job is this node's: its send's timeout
// and a margin for recording the result.
func (e *Engine) jobLease() time.Duration { return e.cfg.SendTimeout + 30*time.Second }

// start sends claimed jobs, each bundle on its own goroutine, at most
// Config.Senders at a time (it waits for a free slot).
func (e *Engine) start(ctx context.Context, jobs []klaxon.NotificationJob) {
	for _, group := range bundles(jobs, e.cfg.BundleWindow > 0) {
		e.slots <- struct{}{}
		e.sends.Add(1)
		go func() {
			defer e.sends.Done()
			defer func() { <-e.slots }()
			e.dispatch(context.WithoutCancel(ctx), group[0], group[1:])
			select {
			case e.finished <- struct{}{}:
			default:
			}
		}()
	}
}

// newOwner names this process's leases: host, pid and a random suffix, so
// that a restarted process on the same host and pid is another owner.
func newOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
