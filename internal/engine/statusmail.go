package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// The status page's subscribers are told of every incident update: the
// store creates one delivery per subscriber in the transaction of the
// update (and one confirmation request per new email subscriber), and the
// StatusMailer sends them, with leases, retries and backoff like pages. An
// update reaches each subscriber once: a delivery, once recorded sent, is
// never claimed again, on this node or another, before or after a restart.
// (A node that dies between the send and the record leaves the delivery to
// be sent again when its lease runs out; it carries the same Message-ID or
// delivery id, so that the receiver can drop the duplicate.)

// StatusStore is the durable side of the StatusMailer.
type StatusStore interface {
	// ClaimStatusDeliveries leases up to limit pending deliveries due at
	// now to owner, for lease.
	ClaimStatusDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]klaxon.StatusDelivery, error)
	// FinishStatusDelivery records an attempt's result, if owner still
	// holds the delivery's lease.
	FinishStatusDelivery(ctx context.Context, id int64, owner string, r klaxon.StatusDeliveryResult) error
	// NextStatusDelivery is the earliest instant a claimable delivery is
	// due: each subscriber's oldest pending one (later ones wait for it).
	NextStatusDelivery(ctx context.Context) (time.Time, bool, error)
	// StatusWork is signalled after commits that create deliveries.
	StatusWork() <-chan struct{}
}

// StatusLinks makes a subscriber's signed links on the status page whose
// public base URL is base. The status page's Tokens implement it.
type StatusLinks interface {
	ConfirmURL(base string, subscriberID int64) string
	UnsubscribeURL(base string, subscriberID int64) string
}

// StatusMailerConfig is what the StatusMailer sends with. Zero values take
// the defaults; a missing channel fails its deliveries with a reason that
// says what to configure.
type StatusMailerConfig struct {
	// Email sends email subscribers' messages (the SMTP channel).
	Email notify.Notifier
	// Webhook posts to webhook subscribers (the webhook channel),
	// WebhookBody renders what it posts, and WebhookSecret signs it.
	Webhook       notify.StatusSender
	WebhookBody   func(page klaxon.StatusPage, pageURL string, inc klaxon.StatusIncident, updateID int64, unsubscribeURL string) ([]byte, error)
	WebhookSecret func(subscriberID int64) []byte
	// PageURL is the page's public base URL: the page's own URL setting,
	// or the server's public URL. Links in messages start with it.
	PageURL func(klaxon.StatusPage) string
	// Links signs confirm and unsubscribe links.
	Links  StatusLinks
	Clock  klaxon.Clock
	Logger *slog.Logger
	// Owner names this worker's leases; the node's id (the engine's
	// Owner), so that the other nodes can end its leases when the node
	// dies. Default: a new id for this process.
	Owner string
	// MaxAttempts is how often a delivery is tried before it fails.
	// Default 8: with Backoff, about 18 minutes of trying.
	MaxAttempts int
	// SendTimeout bounds one send. Default 10 s.
	SendTimeout time.Duration
	// Senders bounds concurrent sends. Default 4: subscriber mail is not
	// urgent the way a page is, and a relay should not see a burst.
	Senders int
}

// StatusMailer is one node's worker for status page deliveries. Several
// nodes may run one over the same store: leases keep them apart.
type StatusMailer struct {
	cfg   StatusMailerConfig
	store StatusStore
	owner string
	log   *slog.Logger

	sends    sync.WaitGroup
	slots    chan struct{}
	finished chan struct{} // a send finished: a slot is free
}

// NewStatusMailer returns a worker over s. Its owner id (host, pid,
// random) names its leases.
func NewStatusMailer(s StatusStore, cfg StatusMailerConfig) *StatusMailer {
	if cfg.Clock == nil {
		cfg.Clock = klaxon.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 4
	}
	owner := cfg.Owner
	if owner == "" {
		owner = newOwner()
	}
	return &StatusMailer{
		cfg: cfg, store: s, log: cfg.Logger,
		owner:    owner,
		slots:    make(chan struct{}, cfg.Senders),
		finished: make(chan struct{}, 1),
	}
}

// Run sends deliveries until ctx ends, then waits for the sends in flight
// (whose results are still recorded). It sleeps until the next delivery is
// due, or the store signals new ones, or a send finishes and frees a
// sender; at most maxSleep, so that deliveries made on another node, or
// whose lease ran out, wait no longer.
func (m *StatusMailer) Run(ctx context.Context) {
	defer m.sends.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		saturated, err := m.pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Error("status deliveries: pass failed; retrying shortly", "err", err)
			timer.Reset(time.Second)
		case saturated:
			timer.Reset(maxSleep) // a finishing send wakes the loop
		default:
			timer.Reset(m.untilNext(ctx))
		}
		select {
		case <-ctx.Done():
			return
		case <-m.store.StatusWork():
		case <-m.finished:
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

// Tick sends the deliveries claimable now and waits for them: what Run does
// on each wake-up, for tests that move a clock. A subscriber gets at most
// one delivery per tick (its later ones wait for it), so draining a
// backlog takes several ticks.
func (m *StatusMailer) Tick(ctx context.Context) error {
	defer m.sends.Wait()
	for {
		saturated, err := m.pass(ctx)
		if err != nil || !saturated {
			return err
		}
		// Every sender is busy: wait for one, then claim more.
		select {
		case <-m.finished:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// untilNext is how long to sleep: until the earliest due delivery.
func (m *StatusMailer) untilNext(ctx context.Context) time.Duration {
	next, ok, err := m.store.NextStatusDelivery(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("status deliveries: next due", "err", err)
		}
		return time.Second
	}
	if !ok {
		return maxSleep
	}
	return min(max(next.Sub(m.cfg.Clock.Now()), 0), maxSleep)
}

// pass claims as many due deliveries as there are free senders and starts
// them, until none is due; saturated says it stopped because no sender was
// free. Only a claimed delivery that has a sender is leased, so no lease
// runs out while its delivery waits.
func (m *StatusMailer) pass(ctx context.Context) (saturated bool, err error) {
	for {
		free := cap(m.slots) - len(m.slots)
		if free == 0 {
			return true, nil
		}
		ds, err := m.store.ClaimStatusDeliveries(ctx, m.owner, m.cfg.Clock.Now(), m.lease(), free)
		if err != nil {
			return false, fmt.Errorf("engine: claim status deliveries: %w", err)
		}
		for _, d := range ds {
			m.slots <- struct{}{}
			m.sends.Add(1)
			go func() {
				defer m.sends.Done()
				m.deliver(context.WithoutCancel(ctx), d)
				<-m.slots
				select {
				case m.finished <- struct{}{}:
				default:
				}
			}()
		}
		if len(ds) < free {
			return false, nil
		}
	}
}

// lease is how long a claimed delivery is this node's: its send's timeout
// and a margin for recording the result.
func (m *StatusMailer) lease() time.Duration { return m.cfg.SendTimeout + 30*time.Second }

// deliver sends one delivery and records the result. It never returns an
// error: a result that cannot be recorded leaves the lease to run out,
// after which the delivery is tried again.
func (m *StatusMailer) deliver(ctx context.Context, d klaxon.StatusDelivery) {
	var r klaxon.StatusDeliveryResult
	// The store counts claims, this one included.
	attempt := max(d.Attempts, 1)
	if reason, ok := unwanted(d); ok {
		// Nothing to send, and nothing to retry: the subscriber changed
		// since the delivery was made.
		r.Failed, r.Error = true, reason
		m.log.Info("status delivery dropped", "delivery", d.ID, "kind", d.Kind, "subscriber", d.Subscriber.ID, "reason", reason)
		m.finish(ctx, d, r)
		return
	}
	err := m.send(ctx, d)
	var giveUp bool
	if err != nil {
		r.Error = err.Error()
		r.RetryAt, giveUp = retryAfter(m.cfg.Clock.Now(), err, attempt, m.cfg.MaxAttempts)
	}
	switch {
	case err == nil:
		r.Sent = true
	case giveUp:
		r.Failed = true
		m.log.Warn("status delivery failed for good", "delivery", d.ID, "kind", d.Kind, "subscriber", d.Subscriber.ID,
			"attempt", attempt, "err", err)
	default:
		m.log.Warn("status delivery failed; will retry", "delivery", d.ID, "kind", d.Kind, "subscriber", d.Subscriber.ID,
			"attempt", attempt, "retry_at", r.RetryAt, "err", err)
	}
	m.finish(ctx, d, r)
}

func (m *StatusMailer) finish(ctx context.Context, d klaxon.StatusDelivery, r klaxon.StatusDeliveryResult) {
	err := m.store.FinishStatusDelivery(ctx, d.ID, m.owner, r)
	switch {
	case err == nil:
	case errors.Is(err, klaxon.ErrLeaseLost):
		m.log.Warn("status delivery taken over by another node before its result was recorded", "delivery", d.ID)
	default:
		m.log.Error("status deliveries: record result", "delivery", d.ID, "err", err)
	}
}

// unwanted says why a delivery must not be sent, if it must not: its
// subscriber is gone, has unsubscribed, or is not (or no longer) at the
// stage the delivery was made for.
func unwanted(d klaxon.StatusDelivery) (string, bool) {
	sub := d.Subscriber
	switch {
	case sub.ID == 0:
		return "the subscriber no longer exists", true
	case !sub.UnsubscribedAt.IsZero():
		return "the subscriber has unsubscribed", true
	case d.Kind == klaxon.DeliveryConfirm && sub.Kind != klaxon.SubscriberEmail:
		return fmt.Sprintf("a %s subscriber is not asked to confirm", sub.Kind), true
	case d.Kind == klaxon.DeliveryConfirm && !sub.ConfirmedAt.IsZero():
		return "the subscription is already confirmed", true
	case d.Kind == klaxon.DeliveryUpdate && sub.ConfirmedAt.IsZero():
		return "the subscription is not confirmed", true
	}
	return "", false
}

// send makes one attempt. An error that retrying cannot fix (a channel or
// link that is not configured, a delivery that cannot be rendered) is
// permanent.
func (m *StatusMailer) send(ctx context.Context, d klaxon.StatusDelivery) error {
	sub := d.Subscriber
	switch {
	case d.Kind != klaxon.DeliveryConfirm && d.Kind != klaxon.DeliveryUpdate:
		return notify.Permanent(fmt.Errorf("unknown delivery kind %q", klaxon.Truncate(string(d.Kind), 40)))
	case m.cfg.Links == nil:
		return notify.Permanent(errors.New("no status page links are configured"))
	}
	base := ""
	if m.cfg.PageURL != nil {
		base = strings.TrimRight(m.cfg.PageURL(d.Page), "/")
	}
	if base == "" {
		return notify.Permanent(errors.New("the status page has no public URL to link to (set the page's URL)"))
	}
	var update klaxon.IncidentUpdate
	if d.Kind == klaxon.DeliveryUpdate {
		var ok bool
		if update, ok = findUpdate(d.Incident, d.UpdateID); !ok {
			return notify.Permanent(fmt.Errorf("update %d is not on incident %d", d.UpdateID, d.Incident.ID))
		}
	}
	// The same key on every attempt: the email's Message-ID and the
	// webhook's delivery id, by which a receiver drops a duplicate.
	key := "status-" + strconv.FormatInt(d.ID, 10)
	unsubscribe := m.cfg.Links.UnsubscribeURL(base, sub.ID)
	if unsubscribe == "" {
		return notify.Permanent(errors.New("the status page makes no subscriber links (no link key is configured)"))
	}
	sendCtx, cancel := context.WithTimeout(ctx, m.cfg.SendTimeout)
	defer cancel()
	switch sub.Kind {
	case klaxon.SubscriberEmail:
		if m.cfg.Email == nil {
			return notify.Permanent(errors.New("no email channel is configured"))
		}
		msg := notify.Message{IdempotencyKey: key, To: notify.Recipient{Type: klaxon.ContactEmail, Address: sub.Address}}
		if d.Kind == klaxon.DeliveryConfirm {
			msg.Kind = notify.KindStatusConfirm
			msg.Status = &notify.StatusNotice{Page: d.Page, PageURL: base, ConfirmURL: m.cfg.Links.ConfirmURL(base, sub.ID)}
		} else {
			msg.Kind = notify.KindStatusUpdate
			msg.Status = &notify.StatusNotice{Page: d.Page, PageURL: base, Incident: d.Incident, Update: update,
				UnsubscribeURL: unsubscribe}
		}
		_, err := m.cfg.Email.Notify(sendCtx, msg)
		return err
	case klaxon.SubscriberWebhook:
		if m.cfg.Webhook == nil || m.cfg.WebhookBody == nil || m.cfg.WebhookSecret == nil {
			return notify.Permanent(errors.New("no webhook channel is configured"))
		}
		body, err := m.cfg.WebhookBody(d.Page, base, d.Incident, d.UpdateID, unsubscribe)
		if err != nil {
			return notify.Permanent(fmt.Errorf("render the webhook body: %w", err))
		}
		return m.cfg.Webhook.SendStatus(sendCtx, notify.StatusPost{DeliveryID: key, URL: sub.Address,
			Secret: m.cfg.WebhookSecret(sub.ID), Body: body})
	}
	return notify.Permanent(fmt.Errorf("unknown subscriber kind %q", klaxon.Truncate(string(sub.Kind), 40)))
}

// findUpdate is inc's update with id.
func findUpdate(inc klaxon.StatusIncident, id int64) (klaxon.IncidentUpdate, bool) {
	for _, u := range inc.Updates {
		if u.ID == id {
			return u, true
		}
	}
	return klaxon.IncidentUpdate{}, false
}
