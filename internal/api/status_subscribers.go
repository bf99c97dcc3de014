package api

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Status page subscribers, as an admin manages them. Visitors subscribe
// their own email address on the public page; here an admin adds an email
// subscriber (who still confirms by email: double opt-in) or a webhook
// (active at once), lists them and unsubscribes them. Every route needs
// admin: addresses are personal data, and a webhook URL may hold its
// receiver's own token.

type createStatusSubscriberRequest struct {
	// Email or URL, exactly one: an email subscriber or a webhook.
	Email string `json:"email"`
	URL   string `json:"url"`
	// Components limits the subscription to incidents affecting one of
	// them (ids, "12" or 12); absent means everything.
	Components []json.RawMessage `json:"components"`
}

// statusSubscriberJSON is a subscriber on the wire.
type statusSubscriberJSON struct {
	ID      int64                 `json:"id,string"`
	Kind    klaxon.SubscriberKind `json:"kind"`
	Address string                `json:"address"`
	// Components is empty for a subscription to everything.
	Components []string `json:"components"`
	// Active: confirmed and not unsubscribed, so told of updates.
	Active         bool       `json:"active"`
	ConfirmedAt    *time.Time `json:"confirmed_at"`
	UnsubscribedAt *time.Time `json:"unsubscribed_at"`
	CreatedAt      time.Time  `json:"created_at"`
	// SigningSecret is set only in the answer that creates a webhook
	// subscriber.
	SigningSecret string `json:"signing_secret,omitempty"`
}

func toStatusSubscriberJSON(sub klaxon.StatusSubscriber) statusSubscriberJSON {
	return statusSubscriberJSON{ID: sub.ID, Kind: sub.Kind, Address: sub.Address, Components: idStrings(sub.Components),
		Active: sub.Active(), ConfirmedAt: timeOrNil(sub.ConfirmedAt), UnsubscribedAt: timeOrNil(sub.UnsubscribedAt),
		CreatedAt: sub.CreatedAt}
}

// createStatusSubscriber adds a subscriber: 201 when created. An email
// address already subscribed is not created again: the answer is 200 with
// the subscriber as it is.
func (s *Server) createStatusSubscriber(w http.ResponseWriter, r *http.Request) {
	var req createStatusSubscriberRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var sub klaxon.StatusSubscriber
	switch {
	case req.Email != "" && req.URL != "":
		s.writeError(w, r, klaxon.FieldError("url", "give email (an email subscriber) or url (a webhook), not both"))
		return
	case req.Email != "":
		sub = klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: req.Email}
	case req.URL != "":
		sub = klaxon.StatusSubscriber{Kind: klaxon.SubscriberWebhook, Address: req.URL}
	default:
		s.writeError(w, r, klaxon.FieldError("email", "is required: give email (an email subscriber, who confirms by email) or url (a webhook)"))
		return
	}
	var err error
	if sub.Components, err = idList("components", req.Components); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := sub.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.store.CreateStatusSubscriber(r.Context(), principalFrom(r.Context()).actor(), &sub)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toStatusSubscriberJSON(sub)
	if !created {
		writeJSON(w, http.StatusOK, out)
		return
	}
	if sub.Kind == klaxon.SubscriberWebhook && s.statusKey != nil {
		// The receiver checks X-Klaxon-Signature with it; shown only here.
		out.SigningSecret = hex.EncodeToString(s.statusKey(sub.ID))
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listStatusSubscribers(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListStatusSubscribers(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "subscribers", list, func(sub klaxon.StatusSubscriber) int64 { return sub.ID }, toStatusSubscriberJSON)
}

func (s *Server) getStatusSubscriber(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "subscriber")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := s.store.StatusSubscriber(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toStatusSubscriberJSON(sub))
}

// unsubscribeStatusSubscriber stops a subscriber's messages; idempotent.
// Subscribers are kept (unsubscribed), not deleted.
func (s *Server) unsubscribeStatusSubscriber(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "subscriber")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := s.store.UnsubscribeStatusSubscriber(r.Context(), principalFrom(r.Context()).actor(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toStatusSubscriberJSON(sub))
}
