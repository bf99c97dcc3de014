package webhook

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// A lifecycle delivery is signed and sent like any webhook, and its body is
// the documented payload: the event, when it happened, the alert with the
// API's names, and the actor only when a person acted.
func TestSendLifecycle(t *testing.T) {
	rc, addr := startReceiver(t)
	c, err := New(Config{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	acked := time.Date(2026, 3, 1, 13, 0, 1, 0, time.FixedZone("CET", 3600))
	alert := klaxon.Alert{ID: 42, ServiceID: 7, DedupKey: "db-1/disk", Status: klaxon.AlertAcknowledged,
		Severity: klaxon.SeverityCritical, Urgency: klaxon.UrgencyHigh, Summary: "Disk full on db-1", Source: "db-1",
		Component: "disk", Group: "storage", EventCount: 3, CreatedAt: time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC),
		AcknowledgedAt: &acked}
	for _, c2 := range []struct {
		name  string
		l     notify.Lifecycle
		event string
		want  string
	}{
		{"by a person", notify.Lifecycle{DeliveryID: "w3.a42.alert.acknowledged.1772366401000000", URL: addr,
			SigningSecret: []byte("whsec_alice"), Event: klaxon.WebhookAlertAcknowledged, OccurredAt: acked, Alert: alert, Actor: "user:7"},
			"alert.acknowledged", `{"event": "alert.acknowledged", "occurred_at": "2026-03-01T12:00:01Z", "actor": "user:7", "alert": {
				"id": "42", "service_id": "7", "dedup_key": "db-1/disk", "status": "acknowledged", "severity": "critical",
				"urgency": "high", "summary": "Disk full on db-1", "source": "db-1", "component": "disk", "event_count": 3,
				"created_at": "2026-03-01T11:58:00Z", "acknowledged_at": "2026-03-01T12:00:01Z", "resolved_at": null}}`},
		{"by a tool", notify.Lifecycle{DeliveryID: "w3.a42.alert.triggered.1", URL: addr, SigningSecret: []byte("whsec_alice"),
			Event: klaxon.WebhookAlertTriggered, OccurredAt: alert.CreatedAt, Alert: alert},
			"alert.triggered", `{"event": "alert.triggered", "occurred_at": "2026-03-01T11:58:00Z", "alert": {
				"id": "42", "service_id": "7", "dedup_key": "db-1/disk", "status": "acknowledged", "severity": "critical",
				"urgency": "high", "summary": "Disk full on db-1", "source": "db-1", "component": "disk", "event_count": 3,
				"created_at": "2026-03-01T11:58:00Z", "acknowledged_at": "2026-03-01T12:00:01Z", "resolved_at": null}}`},
	} {
		t.Run(c2.name, func(t *testing.T) {
			if err := c.SendLifecycle(t.Context(), c2.l); err != nil {
				t.Fatal(err)
			}
			got := rc.last(t)
			for h, want := range map[string]string{
				"X-Klaxon-Event":    c2.event,
				"X-Klaxon-Delivery": c2.l.DeliveryID,
				"Idempotency-Key":   c2.l.DeliveryID,
				SignatureHeader:     Sign([]byte("whsec_alice"), sentAt, got.body),
			} {
				if v := got.header.Get(h); v != want {
					t.Errorf("%s = %q, want %q", h, v, want)
				}
			}
			var body, want map[string]any
			for src, dst := range map[*bytes.Reader]*map[string]any{bytes.NewReader(got.body): &body, bytes.NewReader([]byte(c2.want)): &want} {
				dec := json.NewDecoder(src)
				dec.UseNumber()
				if err := dec.Decode(dst); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(body, want) {
				t.Errorf("body\n%s\nwant\n%s", got.body, strings.Join(strings.Fields(c2.want), " "))
			}
		})
	}
	// The same retry rule as every webhook: no secret is refused for good.
	err = c.SendLifecycle(t.Context(), notify.Lifecycle{DeliveryID: "x", URL: addr, Event: klaxon.WebhookAlertResolved, Alert: alert})
	if !notify.IsPermanent(err) {
		t.Errorf("unsigned delivery: %v, want a permanent error", err)
	}
}
