package api

import (
	"net/http"
	"strconv"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/ingest"
)

// PagerDuty Events API v2 compatibility: the same paths, request shapes,
// status codes and response bodies as PagerDuty, so that a tool built for
// PagerDuty works by changing only its base URL.

type pdAnswer struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

const (
	pdInvalidStatus  = "invalid event"
	pdInvalidMessage = "Event object is invalid"
)

// postPagerDutyEvent serves POST /v2/enqueue.
func (s *Server) postPagerDutyEvent(w http.ResponseWriter, r *http.Request) {
	ev, in, svc, ok := pagerDutyRequest(s, w, r, ingest.DecodePagerDuty)
	if !ok {
		return
	}
	events := []klaxon.Event{ev}
	if _, err := s.commitEvents(r, in, svc, events); err != nil {
		s.pagerDutyError(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusAccepted, pdAnswer{Status: "success", Message: "Event processed", DedupKey: events[0].DedupKey})
}

// postPagerDutyChange serves POST /v2/change/enqueue. Change events are
// stored for context and never notify.
func (s *Server) postPagerDutyChange(w http.ResponseWriter, r *http.Request) {
	ce, in, svc, ok := pagerDutyRequest(s, w, r, ingest.DecodePagerDutyChange)
	if !ok {
		return
	}
	refund, err := s.limits.allow(in.ID, 1)
	if err != nil {
		s.pagerDutyError(w, r, err, nil)
		return
	}
	// Change events bypass the group committer; a bound on how many may
	// wait for the database keeps them from piling up under overload.
	select {
	case s.changeSlots <- struct{}{}:
		defer func() { <-s.changeSlots }()
	default:
		refund()
		s.pagerDutyError(w, r, klaxon.Errorf(klaxon.EOVERLOAD, "too many change events in flight"), nil)
		return
	}
	ce.ServiceID, ce.IntegrationID = svc.ID, in.ID
	if err := s.store.IngestChange(r.Context(), &ce); err != nil {
		refund()
		s.pagerDutyError(w, r, s.unavailable(err), nil)
		return
	}
	writeJSON(w, http.StatusAccepted, pdAnswer{Status: "success", Message: "Change event processed"})
}

// pagerDutyRequest reads and decodes a PagerDuty request and authenticates
// its routing key. When it fails it has already answered, and ok is false.
func pagerDutyRequest[T any](s *Server, w http.ResponseWriter, r *http.Request,
	decode func([]byte) (string, T, []string)) (v T, in klaxon.Integration, svc klaxon.Service, ok bool) {
	body, err := readBody(w, r, klaxon.MaxEventBytes)
	if err != nil {
		s.pagerDutyError(w, r, err, nil)
		return v, in, svc, false
	}
	key, v, problems := decode(body)
	if len(problems) > 0 {
		s.pagerDutyError(w, r, klaxon.Errorf(klaxon.EINVALID, "invalid event"), problems)
		return v, in, svc, false
	}
	if in, svc, err = s.integrationFor(r.Context(), key); err != nil {
		s.pagerDutyError(w, r, err, nil)
		return v, in, svc, false
	}
	return v, in, svc, true
}

// pagerDutyError answers in PagerDuty's shape. Invalid events are 400 with
// the list of problems; a sender over its rate is 429 and an overloaded
// store 503, both with Retry-After, which PagerDuty clients retry.
func (s *Server) pagerDutyError(w http.ResponseWriter, r *http.Request, err error, problems []string) {
	code := klaxon.ErrorCodeOf(err)
	status := statusFor(code)
	s.metrics.eventsRejected.WithLabelValues(string(code)).Inc()
	answer := pdAnswer{Status: pdInvalidStatus, Message: pdInvalidMessage, Errors: problems}
	switch code {
	case klaxon.EINVALID:
	case klaxon.EUNAUTHORIZED:
		// PagerDuty answers an unusable routing key with 400 "invalid
		// event"; Klaxon says 401, as for every unknown key, in PagerDuty's
		// body shape so clients still show the reason.
		answer.Errors = []string{"Invalid routing key"}
	case klaxon.ERATELIMIT:
		setRetryAfter(w, err)
		answer = pdAnswer{Status: "throttle event", Message: "Requests for this service are arriving too quickly. Please retry later."}
	case klaxon.EOVERLOAD, klaxon.EUNAVAILABLE:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		answer = pdAnswer{Status: "unavailable", Message: "Klaxon is at capacity. Please retry later."}
	case klaxon.ETOOLARGE:
		answer.Errors = []string{toErrorJSON(err).Message}
	case klaxon.EINTERNAL:
		s.log.Error("pagerduty event failed", "err", err)
		answer = pdAnswer{Status: "error", Message: "Internal error. Please retry later."}
	default:
		answer = pdAnswer{Status: "error", Message: toErrorJSON(err).Message}
	}
	writeJSON(w, status, answer)
}
