package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// The canary is Klaxon testing its own heartbeat. Every interval it sends a
// synthetic event through the whole path — the HTTP API, the store, the
// escalation engine, a notification job and a channel — to a canary person
// whose only contact method is CanaryAddress, which never leaves the
// process: the canary's notifier accepts it, and the canary sees the page
// recorded sent in the store (so it holds whichever node's engine sent
// it). If the page is not sent within the timeout, /readyz fails and the canary raises the alarm through
// a way that does not depend on that path (Config.Alarm: an email straight
// to the admins, and the log). A real outage of this kind — events
// accepted, nobody notified — is what the canary is for.

// CanaryAddress is the webhook address of the canary person. The .invalid
// top-level domain never resolves, so a misrouted canary page fails rather
// than reaching anyone.
const CanaryAddress = "https://canary.klaxon.invalid/page"

// CanaryConfig configures a Canary.
type CanaryConfig struct {
	// Interval between checks; Timeout for the page to arrive.
	Interval, Timeout time.Duration
	// Inject sends the canary event (trigger or resolve, with that dedup
	// key) through the public API and returns the alert id.
	Inject func(ctx context.Context, action klaxon.Action, dedupKey string) (alertID int64, err error)
	// Delivered reports whether a notification about the alert has been
	// sent; the canary asks it until the page is out or Timeout passes.
	Delivered func(ctx context.Context, alertID int64) (bool, error)
	// Alarm is told, once per failure and again on recovery (err nil), by
	// a path that does not go through the notification jobs.
	Alarm  func(ctx context.Context, err error)
	Logger *slog.Logger
}

// Canary runs the self-test. It is safe for concurrent use.
type Canary struct {
	cfg CanaryConfig

	mu      sync.Mutex
	failure error // the last check's failure; nil when healthy
}

// NewCanary returns a canary; Run starts it.
func NewCanary(cfg CanaryConfig) *Canary {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Canary{cfg: cfg}
}

// Healthy is nil when the last check passed (or none has run yet), else why
// it failed: for /readyz.
func (c *Canary) Healthy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failure
}

// Notifier wraps a channel (the webhook channel): pages to CanaryAddress
// are accepted without leaving the process; all others go to the channel.
func (c *Canary) Notifier(inner notify.Notifier) notify.Notifier {
	return canaryNotifier{inner: inner}
}

type canaryNotifier struct{ inner notify.Notifier }

func (n canaryNotifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.To.Address == CanaryAddress {
		return notify.Receipt{ProviderID: "canary"}, nil
	}
	if n.inner == nil {
		return notify.Receipt{}, notify.Permanent(errors.New("no webhook channel"))
	}
	return n.inner.Notify(ctx, m)
}

// Run checks every Interval until ctx ends. In a cluster one node runs the
// canary at a time (store.RunSingleton) and its ctx ends when another node
// takes the duty over: Run then forgets its last failure, which is no
// longer this node's to report (the new holder finds and reports it again
// if it persists), so that /readyz does not fail for good on a node that
// stopped checking.
func (c *Canary) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	defer func() {
		c.mu.Lock()
		c.failure = nil
		c.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.Check(ctx)
	}
}

// Check runs one self-test and records its result. A check cut short
// because ctx ended (shutdown, or the duty moved to another node) is not a
// failure: nothing is recorded and no alarm is raised.
func (c *Canary) Check(ctx context.Context) error {
	err := c.check(ctx)
	if err != nil && ctx.Err() != nil {
		return err
	}
	c.mu.Lock()
	was := c.failure
	c.failure = err
	c.mu.Unlock()
	switch {
	case err != nil && was == nil:
		c.cfg.Logger.Error("canary: a synthetic event did not become a notification; paging may be broken", "err", err)
		if c.cfg.Alarm != nil {
			c.cfg.Alarm(ctx, err)
		}
	case err == nil && was != nil:
		c.cfg.Logger.Info("canary: notifications flow again")
		if c.cfg.Alarm != nil {
			c.cfg.Alarm(ctx, nil)
		}
	}
	return err
}

func (c *Canary) check(ctx context.Context) error {
	key := fmt.Sprintf("canary-%d", time.Now().UnixNano())
	alertID, err := c.cfg.Inject(ctx, klaxon.ActionTrigger, key)
	if err != nil {
		return fmt.Errorf("the canary event was not accepted: %w", err)
	}
	deadline := time.Now().Add(c.cfg.Timeout)
	for {
		sent, err := c.cfg.Delivered(ctx, alertID)
		if err != nil {
			return fmt.Errorf("reading canary alert %d's notifications: %w", alertID, err)
		}
		if sent {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("canary alert %d was accepted but no notification was sent within %s", alertID, c.cfg.Timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if _, err := c.cfg.Inject(ctx, klaxon.ActionResolve, key); err != nil {
		return fmt.Errorf("the canary's resolve event was not accepted: %w", err)
	}
	return nil
}
