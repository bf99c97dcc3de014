package webhook

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/klaxonhq/klaxon/internal/notify"
)

// EventStatusUpdate is the X-Klaxon-Event of a status page update posted to
// a webhook subscriber. The body is the status page's own JSON
// (Statuspage's webhook shape), so that receivers written for Statuspage
// read it; the event header lets a receiver that also takes Klaxon's alert
// webhooks tell them apart.
const EventStatusUpdate = "status.incident_update"

var _ notify.StatusSender = (*Client)(nil)

// SendStatus posts one status page update to a webhook subscriber with
// Send: the same signature (X-Klaxon-Signature over the body as sent),
// delivery id headers and retry rule (2xx delivered, 410 permanent, the
// rest retried with Retry-After) as every webhook. The body must be JSON;
// it is sent compacted, which changes no value.
func (c *Client) SendStatus(ctx context.Context, p notify.StatusPost) error {
	if !json.Valid(p.Body) {
		return notify.Permanent(errors.New("webhook: status update body is not JSON"))
	}
	return c.Send(ctx, Delivery{URL: p.URL, Secret: p.Secret, Event: EventStatusUpdate, ID: p.DeliveryID,
		Payload: json.RawMessage(p.Body)})
}
