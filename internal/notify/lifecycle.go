package notify

import (
	"context"
	"time"

	"github.com/klaxonhq/klaxon"
)

// LifecycleSender posts alert lifecycle events to webhook subscriptions:
// the channel of lifecycle deliveries, which go to a subscription's URL
// rather than to a person. The webhook channel implements it. Errors follow
// Notifier's rule: an *Error says whether to retry.
type LifecycleSender interface {
	SendLifecycle(ctx context.Context, l Lifecycle) error
}

// Lifecycle is one delivery of an alert lifecycle event, fully decided.
type Lifecycle struct {
	// DeliveryID is the delivery's idempotency key: the same on every
	// retry, so that a receiver can drop a duplicate.
	DeliveryID string
	// URL is the subscription's URL, and SigningSecret its key.
	URL           string
	SigningSecret []byte
	Event         klaxon.WebhookEvent
	// OccurredAt is when the event happened (not when it is sent).
	OccurredAt time.Time
	// Alert is the alert as it is when the delivery is sent: a retried
	// alert.triggered may show an alert acknowledged since.
	Alert klaxon.Alert
	// Actor is who caused the event when a person did ("token:3 (ops)");
	// empty for an event from a monitoring tool.
	Actor string
}
