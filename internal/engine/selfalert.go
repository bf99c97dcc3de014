package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/klaxonhq/klaxon"
)

// Klaxon pages about itself: when a channel keeps failing, an alert opens on
// the built-in "klaxon" service (whose escalation policy the admins set, on
// contact methods of other channels), and resolves when the channel
// recovers. The alert goes through the same durable path as any other.

// channelFailureThreshold is how many failed attempts in a row, on one
// channel, raise the alert. A failure that names one recipient (a
// permanent error: no such mailbox) says nothing about the channel and
// does not count.
const channelFailureThreshold = 5

// SelfAlerter is how the engine raises and resolves alerts about Klaxon
// itself.
type SelfAlerter interface {
	// Raise opens (or adds to) the alert with that dedup key; Resolve
	// resolves it.
	Raise(ctx context.Context, dedupKey, component, summary string) error
	Resolve(ctx context.Context, dedupKey string) error
}

type channelHealth struct {
	mu     sync.Mutex
	failed map[klaxon.ContactType]int
	raised map[klaxon.ContactType]bool
}

// channelResult counts a send's outcome and raises or resolves the
// channel's alert when the count crosses the threshold.
func (e *Engine) channelResult(ctx context.Context, t klaxon.ContactType, err error, permanent bool) {
	if e.cfg.SelfAlerts == nil || permanent {
		return
	}
	h := &e.health
	h.mu.Lock()
	var raise, resolve bool
	if err != nil {
		h.failed[t]++
		raise = h.failed[t] >= channelFailureThreshold && !h.raised[t]
		h.raised[t] = h.raised[t] || raise
	} else {
		h.failed[t] = 0
		resolve = h.raised[t]
		h.raised[t] = false
	}
	h.mu.Unlock()
	key := "klaxon/channel/" + string(t)
	switch {
	case raise:
		summary := fmt.Sprintf("Klaxon cannot send %s notifications: %d attempts in a row failed, the last with: %s",
			t, channelFailureThreshold, klaxon.Truncate(err.Error(), 300))
		if err := e.cfg.SelfAlerts.Raise(ctx, key, string(t), summary); err != nil {
			e.log.Error("engine: raise channel alert", "channel", t, "err", err)
		}
	case resolve:
		if err := e.cfg.SelfAlerts.Resolve(ctx, key); err != nil {
			e.log.Error("engine: resolve channel alert", "channel", t, "err", err)
		}
	}
}
