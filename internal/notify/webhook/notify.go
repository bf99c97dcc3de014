package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Payload is the body of an alert.notify or contact_method.verify webhook.
// It is Klaxon's own documented format: receivers decode it, so fields are
// only ever added, never renamed. Times are RFC 3339 in UTC.
type Payload struct {
	Event          string    `json:"event"`
	IdempotencyKey string    `json:"idempotency_key"`
	SentAt         string    `json:"sent_at"`
	Service        string    `json:"service,omitempty"`
	Recipient      Recipient `json:"recipient"`
	Alerts         []Alert   `json:"alerts,omitempty"`
	// Code is the verification code of a contact_method.verify event.
	Code string `json:"code,omitempty"`
	// ConsoleURL is where the alerts can be seen, when Klaxon has a public
	// URL.
	ConsoleURL string `json:"console_url,omitempty"`
}

// Recipient is who the webhook pages: the person whose contact method it is.
type Recipient struct {
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
}

// Alert is one alert in a Payload.
type Alert struct {
	ID         int64  `json:"id"`
	Number     int    `json:"number"`
	Summary    string `json:"summary"`
	Severity   string `json:"severity"`
	Status     string `json:"status"`
	Source     string `json:"source,omitempty"`
	Component  string `json:"component,omitempty"`
	EventCount int    `json:"event_count"`
	CreatedAt  string `json:"created_at"`
	// AcknowledgeURL and ResolveURL are the signed, single-use links; a
	// receiver POSTs to them to act on the alert. Absent when Klaxon has
	// no public URL.
	AcknowledgeURL string `json:"acknowledge_url,omitempty"`
	ResolveURL     string `json:"resolve_url,omitempty"`
}

// Notify posts m to the webhook in m.To.Address, signed with
// m.To.SigningSecret. The delivery id is m.IdempotencyKey, so a receiver
// sees the same id on every retry. Webhooks give no message id, so the
// receipt is empty.
func (c *Client) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	now := c.now()
	p, err := payload(m, now)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	d := Delivery{URL: m.To.Address, Secret: m.To.SigningSecret, Event: p.Event, ID: m.IdempotencyKey, Payload: p}
	return notify.Receipt{}, c.send(ctx, d, now)
}

// payload renders m; sent_at is the signature's timestamp.
func payload(m notify.Message, now time.Time) (Payload, error) {
	if m.IdempotencyKey == "" {
		return Payload{}, errors.New("webhook: message without an idempotency key")
	}
	p := Payload{
		IdempotencyKey: m.IdempotencyKey,
		SentAt:         timestamp(now),
		Recipient:      Recipient{UserID: m.To.UserID, Name: m.To.Name},
		ConsoleURL:     m.ConsoleURL,
	}
	switch m.Kind {
	case notify.KindVerification:
		if m.Code == "" {
			return Payload{}, errors.New("webhook: verification message without a code")
		}
		p.Event, p.Code = EventVerify, m.Code
		return p, nil
	case notify.KindAlert:
		if len(m.Alerts) == 0 {
			return Payload{}, errors.New("webhook: alert message without alerts")
		}
	default:
		return Payload{}, fmt.Errorf("webhook: unknown message kind %q", klaxon.Truncate(string(m.Kind), 40))
	}
	p.Event, p.Service = EventNotify, m.Service
	for _, a := range m.Alerts {
		p.Alerts = append(p.Alerts, Alert{
			ID: a.ID, Number: a.Number, Summary: a.Summary,
			Severity: string(a.Severity), Status: string(a.Status),
			Source: a.Source, Component: a.Component, EventCount: a.EventCount,
			CreatedAt:      timestamp(a.CreatedAt),
			AcknowledgeURL: a.AcknowledgeURL, ResolveURL: a.ResolveURL,
		})
	}
	return p, nil
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
