package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// dispatch sends one claimed job, with the jobs claimed with it for the
// same contact method and service (claimed), and records the result. It
// never returns an error: every outcome is written to the jobs, and a write
// that fails leaves the lease to run out, after which the job is tried
// again.
func (e *Engine) dispatch(ctx context.Context, job klaxon.NotificationJob, claimed []klaxon.NotificationJob) {
	if job.Kind == klaxon.NotificationLifecycle {
		e.deliver(ctx, job) // bundles never groups a delivery with anything
		return
	}
	now := e.cfg.Clock.Now()
	if reason, ok := e.skip(job); ok {
		// An unverified or vanished method: the next one is tried (the
		// store makes no failover for an alert no longer triggered).
		e.finish(ctx, []int64{job.ID}, klaxon.NotificationResult{Status: klaxon.NotificationSuppressed, Reason: reason,
			Failover: job.Kind == klaxon.NotificationAlert && !job.InMaintenance})
		if len(claimed) > 0 {
			e.dispatch(ctx, claimed[0], claimed[1:])
		}
		return
	}
	channel := e.cfg.Channels[job.ContactType]
	if channel == nil {
		for _, j := range append(claimed, job) {
			e.fail(ctx, []int64{j.ID}, fmt.Sprintf("no %s channel is configured", j.ContactType))
		}
		return
	}
	bundle := []klaxon.NotificationJob{job}
	if job.Kind == klaxon.NotificationAlert && e.cfg.BundleWindow > 0 {
		own := []int64{job.ID}
		for _, c := range claimed {
			own = append(own, c.ID)
		}
		last, ok, err := e.store.LastSent(ctx, job.ContactMethodID, job.ServiceID, now, own)
		if err != nil {
			e.log.Error("engine: last sent", "notification", job.ID, "err", err)
			return // the lease runs out and the job is tried again
		}
		if ok && now.Sub(last) < e.cfg.BundleWindow {
			// A page about this service just went to this method: wait out
			// the window and send what has gathered by then as one message.
			e.finish(ctx, own, klaxon.NotificationResult{Status: klaxon.NotificationPending,
				RetryAt: last.Add(e.cfg.BundleWindow), Reason: "waiting to be bundled"})
			return
		}
		more, err := e.store.ClaimBundle(ctx, e.owner, job, now, e.jobLease(), 50)
		if err != nil {
			e.log.Error("engine: claim bundle", "notification", job.ID, "err", err)
		}
		for _, m := range append(claimed, more...) {
			if reason, skip := e.skip(m); skip {
				e.finish(ctx, []int64{m.ID}, klaxon.NotificationResult{Status: klaxon.NotificationSuppressed, Reason: reason})
				continue
			}
			bundle = append(bundle, m)
		}
	}
	ids := make([]int64, len(bundle))
	for i, b := range bundle {
		ids[i] = b.ID
	}
	msg := e.message(bundle)
	sendCtx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
	receipt, err := channel.Notify(sendCtx, msg)
	cancel()
	if job.Address != CanaryAddress { // the canary's pages never leave the process: they say nothing of the channel
		e.channelResult(ctx, job.ContactType, err, notify.IsPermanent(err))
	}
	if err == nil {
		e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationSent, BundleID: job.ID,
			ProviderID: receipt.ProviderID, Attempted: true})
		return
	}
	e.log.Warn("notification failed", "notification", job.ID, "type", job.ContactType, "attempt", job.Attempts+1, "err", err)
	retryAt, giveUp := retryAfter(e.cfg.Clock.Now(), err, job.Attempts+1, e.cfg.MaxAttempts)
	if giveUp {
		e.fail(ctx, ids, err.Error())
		return
	}
	e.finish(ctx, ids[:1], klaxon.NotificationResult{Status: klaxon.NotificationPending, RetryAt: retryAt,
		Error: err.Error(), Attempted: true})
	// The others were not the job that failed; they go back as they were
	// and join the retry's bundle.
	if len(ids) > 1 {
		e.finish(ctx, ids[1:], klaxon.NotificationResult{Status: klaxon.NotificationPending, RetryAt: retryAt})
	}
}

// skip says why a job must not be sent, if it must not.
func (e *Engine) skip(j klaxon.NotificationJob) (string, bool) {
	switch {
	case j.Address == "":
		return "the contact method no longer exists", true
	case j.Kind == klaxon.NotificationVerification && j.Code == "":
		return "the verification code is no longer held", true
	case j.Kind != klaxon.NotificationAlert:
		return "", false // a verification goes to a method not yet verified
	case !j.Verified:
		return "the contact method is not verified", true
	case j.Alert.Status == klaxon.AlertAcknowledged:
		return "the alert was acknowledged", true
	case j.Alert.Status == klaxon.AlertResolved:
		return "the alert was resolved", true
	case j.InMaintenance:
		return "the service is in a maintenance window", true
	}
	return "", false
}

// message renders a bundle into what its channel sends.
func (e *Engine) message(bundle []klaxon.NotificationJob) notify.Message {
	first := bundle[0]
	m := notify.Message{
		IdempotencyKey: first.IdempotencyKey,
		Kind:           notify.Kind(first.Kind),
		To: notify.Recipient{UserID: first.UserID, Name: first.UserName, Type: first.ContactType,
			Address: first.Address},
		Service: first.Service.Name,
	}
	if first.ContactType == klaxon.ContactWebhook && e.cfg.WebhookSecret != nil {
		m.To.SigningSecret = e.cfg.WebhookSecret(first.ContactMethodID)
	}
	if first.Kind == klaxon.NotificationVerification {
		m.Kind, m.Code = notify.KindVerification, first.Code
		return m
	}
	expires := e.cfg.Clock.Now().Add(notify.LinkTTL)
	for _, j := range bundle {
		if slices.ContainsFunc(m.Alerts, func(a notify.Alert) bool { return a.ID == j.AlertID }) {
			continue
		}
		a := j.Alert
		na := notify.Alert{ID: a.ID, Number: j.AlertNumber, Summary: a.Summary, Severity: a.Severity, Status: a.Status,
			Source: a.Source, Component: a.Component, EventCount: int(a.EventCount), CreatedAt: a.CreatedAt}
		if e.cfg.Links != nil {
			link := notify.Link{AlertID: a.ID, UserID: j.UserID, NotificationID: j.ID, Expires: expires}
			link.Action = notify.ReplyAcknowledge
			na.AcknowledgeURL = e.cfg.Links.URL(link)
			link.Action = notify.ReplyResolve
			na.ResolveURL = e.cfg.Links.URL(link)
		}
		m.Alerts = append(m.Alerts, na)
	}
	return m
}

func (e *Engine) finish(ctx context.Context, ids []int64, r klaxon.NotificationResult) {
	if err := e.store.FinishNotifications(ctx, e.owner, ids, r); err != nil && !errors.Is(err, klaxon.ErrLeaseLost) {
		e.log.Error("engine: record notification result", "notifications", ids, "status", r.Status, "err", err)
	}
}

// fail marks the jobs failed and, in the same transaction, pages each
// person on their next contact method.
func (e *Engine) fail(ctx context.Context, ids []int64, reason string) {
	e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationFailed, Error: reason, Reason: reason,
		Attempted: true, Failover: true})
}

// retryAfter decides what follows failed attempt n (1-based) of at most
// max: give up (a permanent error, or the last attempt), or try again at
// the returned time — after the provider's Retry-After when it gave one,
// else after Backoff(n). Pages, webhook deliveries and status deliveries
// all retry by it.
func retryAfter(now time.Time, err error, n, max int) (at time.Time, giveUp bool) {
	if notify.IsPermanent(err) || n >= max {
		return time.Time{}, true
	}
	if d, ok := notify.RetryAfterOf(err); ok {
		return now.Add(d), false
	}
	return now.Add(Backoff(n)), false
}

// Backoff is the wait before retry n (1-based): 5 s, 15 s, 45 s, 2¼ min,
// then 5 min, each ±20% so that many jobs failing together do not retry in
// lockstep against a provider that is just recovering.
func Backoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 3
	}
	d = min(d, 5*time.Minute)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
