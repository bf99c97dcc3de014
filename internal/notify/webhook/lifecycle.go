package webhook

import (
	"context"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon/internal/notify"
)

var _ notify.LifecycleSender = (*Client)(nil)

// LifecyclePayload is the body of an alert lifecycle webhook (alert.triggered,
// alert.acknowledged, alert.resolved, alert.escalated, alert.unacknowledged). Like Payload it is a
// documented format, only ever added to. The alert has the field names,
// string ids and RFC 3339 times of the API's Alert, so that a receiver can
// decode it with the same type as GET /api/v1/alerts/{id}.
type LifecyclePayload struct {
	Event      string         `json:"event"`
	OccurredAt time.Time      `json:"occurred_at"`
	Alert      LifecycleAlert `json:"alert"`
	// Actor is who acted ("token:3 (ops)"), when a person did.
	Actor string `json:"actor,omitempty"`
}

// LifecycleAlert is the alert of a LifecyclePayload, as it is when the
// delivery is sent.
type LifecycleAlert struct {
	ID             string     `json:"id"`
	ServiceID      string     `json:"service_id"`
	DedupKey       string     `json:"dedup_key"`
	Status         string     `json:"status"`
	Severity       string     `json:"severity"`
	Urgency        string     `json:"urgency"`
	Summary        string     `json:"summary"`
	Source         string     `json:"source"`
	Component      string     `json:"component"`
	EventCount     int64      `json:"event_count"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
}

// SendLifecycle posts one lifecycle delivery with Send: the same signature,
// headers (X-Klaxon-Event is the event) and retry rule as every webhook.
func (c *Client) SendLifecycle(ctx context.Context, l notify.Lifecycle) error {
	return c.Send(ctx, Delivery{URL: l.URL, Secret: l.SigningSecret, Event: string(l.Event), ID: l.DeliveryID,
		Payload: lifecyclePayload(l)})
}

func lifecyclePayload(l notify.Lifecycle) LifecyclePayload {
	a := l.Alert
	return LifecyclePayload{
		Event:      string(l.Event),
		OccurredAt: l.OccurredAt.UTC(),
		Actor:      l.Actor,
		Alert: LifecycleAlert{
			ID: strconv.FormatInt(a.ID, 10), ServiceID: strconv.FormatInt(a.ServiceID, 10), DedupKey: a.DedupKey,
			Status: string(a.Status), Severity: string(a.Severity), Urgency: string(a.Urgency),
			Summary: a.Summary, Source: a.Source, Component: a.Component, EventCount: a.EventCount,
			CreatedAt: a.CreatedAt.UTC(), AcknowledgedAt: utc(a.AcknowledgedAt), ResolvedAt: utc(a.ResolvedAt),
		},
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
