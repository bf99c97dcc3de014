package engine

import (
	"context"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// deliver sends one lifecycle delivery (an alert's event, to a webhook
// subscription) and records the result. Unlike a page it is never bundled,
// and never suppressed because the alert was acknowledged or resolved or
// its service is in maintenance: it reports the lifecycle itself. A
// delivery whose subscription is disabled is suppressed; one that keeps
// failing ends failed, with no failover (a subscription has one URL). The
// payload is rendered now, from the alert as it is, with the event and the
// instant it happened.
func (e *Engine) deliver(ctx context.Context, job klaxon.NotificationJob) {
	ids := []int64{job.ID}
	sub := job.Subscription
	switch {
	case sub.ID == 0:
		e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationSuppressed, Reason: "the webhook no longer exists"})
		return
	case !sub.Enabled():
		e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationSuppressed, Reason: klaxon.ReasonWebhookDisabled})
		return
	case e.cfg.Lifecycle == nil || e.cfg.WebhookSubscriptionSecret == nil:
		reason := "no lifecycle webhook channel is configured"
		e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationFailed, Reason: reason, Error: reason})
		return
	}
	l := notify.Lifecycle{DeliveryID: job.IdempotencyKey, URL: sub.URL, SigningSecret: e.cfg.WebhookSubscriptionSecret(sub.ID),
		Event: job.Event, OccurredAt: job.CreatedAt, Alert: job.Alert, Actor: job.Actor}
	sendCtx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
	err := e.cfg.Lifecycle.SendLifecycle(sendCtx, l)
	cancel()
	if err == nil {
		e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationSent, Attempted: true})
		return
	}
	e.log.Warn("webhook delivery failed", "notification", job.ID, "webhook", sub.ID, "event", job.Event,
		"attempt", job.Attempts+1, "err", err)
	retryAt, giveUp := retryAfter(e.cfg.Clock.Now(), err, job.Attempts+1, e.cfg.MaxAttempts)
	if giveUp {
		e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationFailed, Reason: err.Error(), Error: err.Error(),
			Attempted: true})
		return
	}
	e.finish(ctx, ids, klaxon.NotificationResult{Status: klaxon.NotificationPending, RetryAt: retryAt, Error: err.Error(),
		Attempted: true})
}
