package klaxon

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// WebhookEvent is an alert lifecycle event that a webhook subscription can
// ask to be told about. The names are Klaxon's documented wire format
// (X-Klaxon-Event and the payload's "event"): they are only ever added to.
type WebhookEvent string

// The lifecycle events.
const (
	// WebhookAlertTriggered: ingest created an alert.
	WebhookAlertTriggered WebhookEvent = "alert.triggered"
	// WebhookAlertAcknowledged: an event or a person acknowledged a
	// triggered alert.
	WebhookAlertAcknowledged WebhookEvent = "alert.acknowledged"
	// WebhookAlertResolved: an event or a person resolved an alert.
	WebhookAlertResolved WebhookEvent = "alert.resolved"
	// WebhookAlertEscalated: a person asked for the next escalation step
	// now.
	WebhookAlertEscalated WebhookEvent = "alert.escalated"
	// WebhookAlertUnacknowledged: an acknowledged alert's acknowledgement
	// timed out (the service's ack_timeout_minutes), so it is triggered
	// again and escalating.
	WebhookAlertUnacknowledged WebhookEvent = "alert.unacknowledged"
)

// WebhookEvents lists every lifecycle event, in the order of an alert's
// life.
func WebhookEvents() []WebhookEvent {
	return []WebhookEvent{WebhookAlertTriggered, WebhookAlertAcknowledged, WebhookAlertResolved, WebhookAlertEscalated,
		WebhookAlertUnacknowledged}
}

// Bit is the event's bit in a subscription's event mask (the store keeps
// the events a subscription wants as one integer, so that matching the
// subscriptions for an event is one comparison in the ingest transaction);
// 0 for an unknown event.
func (e WebhookEvent) Bit() int64 {
	for i, known := range WebhookEvents() {
		if e == known {
			return 1 << i
		}
	}
	return 0
}

// Valid reports whether e is a lifecycle event Klaxon sends.
func (e WebhookEvent) Valid() bool { return e.Bit() != 0 }

// WebhookSubscription asks Klaxon to POST an alert's lifecycle events (see
// WebhookEvent) to a URL, signed with a secret derived from the server's key
// and the subscription's id: the way to feed a ticket system, a chat bot or
// a status page from Klaxon. Subscriptions are disabled, never deleted
// outside the guarded deletion path, so their delivery history stays.
type WebhookSubscription struct {
	ID  int64
	URL string
	// ServiceID limits the subscription to one service's alerts; 0 means
	// every service.
	ServiceID   int64
	Events      []WebhookEvent
	Description string
	// DisabledAt is when the subscription was disabled; nil while it is
	// enabled. A disabled subscription gets no new deliveries, and its
	// pending ones are suppressed.
	DisabledAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ReasonWebhookDisabled is why a disabled subscription's pending deliveries
// were suppressed instead of sent.
const ReasonWebhookDisabled = "the webhook is disabled"

// Enabled reports whether the subscription gets deliveries.
func (w WebhookSubscription) Enabled() bool { return w.DisabledAt == nil }

// EventMask is the subscription's events as the store keeps them: the OR
// of their bits.
func (w WebhookSubscription) EventMask() int64 {
	var m int64
	for _, e := range w.Events {
		m |= e.Bit()
	}
	return m
}

// EventsOfMask is the inverse of EventMask, in lifecycle order.
func EventsOfMask(mask int64) []WebhookEvent {
	var out []WebhookEvent
	for _, e := range WebhookEvents() {
		if mask&e.Bit() != 0 {
			out = append(out, e)
		}
	}
	return out
}

// Validate checks the fields an admin sets. The URL must be an http or https
// URL without a user name, password or fragment: the signature
// authenticates Klaxon, and a password in the URL would show in every list.
func (w *WebhookSubscription) Validate() error {
	if w.URL == "" {
		return FieldError("url", "is required: the http or https URL to POST the events to")
	}
	if err := ValidateURL("url", w.URL); err != nil {
		return err
	}
	if u, err := url.Parse(w.URL); err == nil && u.User != nil {
		return FieldError("url", "must not contain a user name or password; receivers check the signature instead")
	}
	if strings.Contains(w.URL, "#") {
		return FieldError("url", "must not have a fragment")
	}
	if w.ServiceID < 0 {
		return FieldError("service_id", "must be an id")
	}
	if len(w.Events) == 0 {
		return FieldError("events", "must name at least one event: %s", eventNames())
	}
	seen := map[WebhookEvent]bool{}
	for i, e := range w.Events {
		field := fmt.Sprintf("events[%d]", i)
		switch {
		case !e.Valid():
			return FieldError(field, "must be one of %s, not %q", eventNames(), Truncate(string(e), 40))
		case seen[e]:
			return FieldError(field, "names %s a second time", e)
		}
		seen[e] = true
	}
	return checkText("description", w.Description, MaxDescriptionLength)
}

func eventNames() string {
	var names []string
	for _, e := range WebhookEvents() {
		names = append(names, string(e))
	}
	return strings.Join(names, ", ")
}
