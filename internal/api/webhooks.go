package api

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Webhook subscriptions: alert lifecycle events POSTed to a URL, signed.
// Every route is admin-only: a subscription's URL may hold the receiver's
// own token.

type createWebhookRequest struct {
	URL string `json:"url"`
	// ServiceID limits the subscription to one service; absent or empty
	// means every service.
	ServiceID   string   `json:"service_id"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

type webhookJSON struct {
	ID  int64  `json:"id,string"`
	URL string `json:"url"`
	// ServiceID is null for a subscription to every service.
	ServiceID   *string               `json:"service_id"`
	Events      []klaxon.WebhookEvent `json:"events"`
	Description string                `json:"description"`
	Enabled     bool                  `json:"enabled"`
	DisabledAt  *time.Time            `json:"disabled_at"`
	CreatedAt   time.Time             `json:"created_at"`
	UpdatedAt   time.Time             `json:"updated_at"`
	// SigningSecret is set only in the answer that creates the
	// subscription.
	SigningSecret string `json:"signing_secret,omitempty"`
}

func toWebhookJSON(w klaxon.WebhookSubscription) webhookJSON {
	out := webhookJSON{ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Enabled: w.Enabled(),
		DisabledAt: w.DisabledAt, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if out.Events == nil {
		out.Events = []klaxon.WebhookEvent{}
	}
	if w.ServiceID != 0 {
		id := strconv.FormatInt(w.ServiceID, 10)
		out.ServiceID = &id
	}
	return out
}

// webhookDeliveryJSON is one delivery of an event to a subscription.
type webhookDeliveryJSON struct {
	ID        int64               `json:"id,string"`
	WebhookID int64               `json:"webhook_id,string"`
	Event     klaxon.WebhookEvent `json:"event"`
	AlertID   int64               `json:"alert_id,string"`
	// DeliveryID is what X-Klaxon-Delivery and Idempotency-Key carry: the
	// same on every retry.
	DeliveryID string                    `json:"delivery_id"`
	Status     klaxon.NotificationStatus `json:"status"`
	Reason     string                    `json:"reason"`
	Attempts   int                       `json:"attempts"`
	LastError  string                    `json:"last_error"`
	OccurredAt time.Time                 `json:"occurred_at"`
	DueAt      time.Time                 `json:"due_at"`
	SentAt     *time.Time                `json:"sent_at"`
	FailedAt   *time.Time                `json:"failed_at"`
}

func toWebhookDeliveryJSON(n klaxon.Notification) webhookDeliveryJSON {
	return webhookDeliveryJSON{ID: n.ID, WebhookID: n.SubscriptionID, Event: n.Event, AlertID: n.AlertID,
		DeliveryID: n.IdempotencyKey, Status: n.Status, Reason: n.Reason, Attempts: n.Attempts, LastError: n.LastError,
		OccurredAt: n.CreatedAt, DueAt: n.DueAt, SentAt: n.SentAt, FailedAt: n.FailedAt}
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req createWebhookRequest
	err := decodeStrict(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub := klaxon.WebhookSubscription{URL: req.URL, Description: req.Description}
	if req.ServiceID != "" {
		if sub.ServiceID, err = parseID("service_id", req.ServiceID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	for _, e := range req.Events {
		sub.Events = append(sub.Events, klaxon.WebhookEvent(e))
	}
	if err := s.store.CreateWebhookSubscription(r.Context(), principalFrom(r.Context()).actor(), &sub); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toWebhookJSON(sub)
	if s.subSecret != nil {
		// The receiver checks X-Klaxon-Signature with it; shown only here.
		out.SigningSecret = hex.EncodeToString(s.subSecret(sub.ID))
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListWebhookSubscriptions(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "webhooks", list, func(w klaxon.WebhookSubscription) int64 { return w.ID }, toWebhookJSON)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "webhook")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := s.store.WebhookSubscription(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(sub))
}

// setWebhookEnabled returns the handler that enables or disables a
// subscription. Disabling suppresses its pending deliveries; subscriptions
// are never deleted here.
func (s *Server) setWebhookEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id", "webhook")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		sub, err := s.store.SetWebhookSubscriptionEnabled(r.Context(), principalFrom(r.Context()).actor(), id, enabled)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toWebhookJSON(sub))
	}
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "webhook")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListWebhookDeliveries(r.Context(), id, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "deliveries", list, func(n klaxon.Notification) int64 { return n.ID }, toWebhookDeliveryJSON)
}
