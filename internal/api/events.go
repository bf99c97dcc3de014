package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/ingest"
)

// eventAcceptedJSON answers an accepted event. alert_id is null when an
// acknowledge or resolve found no open alert.
type eventAcceptedJSON struct {
	Status   string `json:"status"`
	AlertID  *int64 `json:"alert_id,string"`
	DedupKey string `json:"dedup_key"`
}

func accepted(ev klaxon.Event, res klaxon.IngestResult) eventAcceptedJSON {
	out := eventAcceptedJSON{Status: "accepted", DedupKey: ev.DedupKey}
	if res.AlertID != 0 {
		id := res.AlertID
		out.AlertID = &id
	}
	return out
}

// eventKey is the integration key of a native event request: the bearer
// token, or ?key= for tools that cannot set headers.
func eventKey(r *http.Request) string {
	if k := bearer(r); k != "" {
		return k
	}
	return r.URL.Query().Get("key")
}

// postEvent accepts one native event. It answers 202 only after the event is
// durably stored.
func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	in, svc, err := s.integrationFor(r.Context(), eventKey(r))
	if err != nil {
		s.rejectEvents(w, r, err, 1)
		return
	}
	body, err := readBody(w, r, klaxon.MaxEventBytes)
	if err != nil {
		s.rejectEvents(w, r, err, 1)
		return
	}
	ev, err := ingest.DecodeNative(body)
	if err != nil {
		s.rejectEvents(w, r, err, 1)
		return
	}
	events := []klaxon.Event{ev}
	results, err := s.commitEvents(r, in, svc, events)
	if err != nil {
		s.rejectEvents(w, r, err, 1)
		return
	}
	writeJSON(w, http.StatusAccepted, accepted(events[0], results[0]))
}

// batchResultJSON is one element of a batch answer: either accepted (with
// alert_id, null as for a single event when nothing matched, and dedup_key)
// or rejected (with error).
type batchResultJSON struct {
	Status   string          `json:"status"` // "accepted" or "rejected"
	AlertID  json.RawMessage `json:"alert_id,omitempty"`
	DedupKey string          `json:"dedup_key,omitempty"`
	Error    *errorJSON      `json:"error,omitempty"`
}

type batchAnswerJSON struct {
	Error    *errorJSON        `json:"error,omitempty"` // when no event was valid
	Accepted int               `json:"accepted"`
	Rejected int               `json:"rejected"`
	Results  []batchResultJSON `json:"results"`
}

// postEventBatch accepts up to 1,000 native events. Valid events are stored
// together; invalid ones are reported by index and do not hold back the
// others. The answer is 202 when at least one event was stored, 400 when
// none was valid.
func (s *Server) postEventBatch(w http.ResponseWriter, r *http.Request) {
	// The key comes first, so that an unauthenticated sender cannot make
	// Klaxon read 8 MiB.
	in, svc, err := s.integrationFor(r.Context(), eventKey(r))
	if err != nil {
		s.rejectEvents(w, r, err, 0)
		return
	}
	body, err := readBody(w, r, klaxon.MaxBatchBytes)
	if err != nil {
		s.rejectEvents(w, r, err, 0)
		return
	}
	decoded, errs, err := ingest.DecodeNativeBatch(body)
	if err != nil {
		s.rejectEvents(w, r, err, 0)
		return
	}
	answer := batchAnswerJSON{Results: make([]batchResultJSON, len(decoded))}
	valid := make([]klaxon.Event, 0, len(decoded))
	index := make([]int, 0, len(decoded)) // valid[j] is decoded[index[j]]
	for i := range decoded {
		if errs[i] != nil {
			e := toErrorJSON(errs[i])
			answer.Results[i] = batchResultJSON{Status: "rejected", Error: &e}
			answer.Rejected++
			s.metrics.eventsRejected.WithLabelValues(string(e.Code)).Inc()
			continue
		}
		valid = append(valid, decoded[i])
		index = append(index, i)
	}
	if len(valid) == 0 {
		answer.Error = &errorJSON{Code: klaxon.EINVALID, Message: "no event in the batch is valid; see results"}
		writeJSON(w, http.StatusBadRequest, answer)
		return
	}
	results, err := s.commitEvents(r, in, svc, valid)
	if err != nil {
		s.rejectEvents(w, r, err, len(valid))
		return
	}
	for j, i := range index {
		alertID := json.RawMessage("null")
		if id := results[j].AlertID; id != 0 {
			alertID = strconv.AppendQuote(nil, strconv.FormatInt(id, 10))
		}
		answer.Results[i] = batchResultJSON{Status: "accepted", AlertID: alertID, DedupKey: valid[j].DedupKey}
	}
	answer.Accepted = len(valid)
	writeJSON(w, http.StatusAccepted, answer)
}

// commitEvents is the common end of every event endpoint: rate limit, stamp the
// events with their integration, give triggers without a dedup key one of
// their own, and store durably.
func (s *Server) commitEvents(r *http.Request, in klaxon.Integration, svc klaxon.Service, events []klaxon.Event) ([]klaxon.IngestResult, error) {
	refund, err := s.limits.allow(in.ID, len(events))
	if err != nil {
		return nil, err
	}
	for i := range events {
		events[i].ServiceID, events[i].IntegrationID = svc.ID, in.ID
		if events[i].DedupKey == "" {
			// Generated keys cannot fold a sender's retry into the same
			// alert; senders that retry should send their own (docs/api.md).
			events[i].DedupKey = klaxon.NewSecret()
		}
	}
	results, err := s.store.Ingest(r.Context(), events)
	if err != nil {
		// A sender that went away may still have its events stored (they
		// were queued), so only a refusal gives the rate tokens back.
		if r.Context().Err() == nil {
			refund()
		}
		return nil, s.unavailable(err)
	}
	for i := range events {
		s.metrics.acceptedBy[events[i].Action].Inc()
	}
	return results, nil
}

// rejectEvents answers a refused event request and counts the n events.
func (s *Server) rejectEvents(w http.ResponseWriter, r *http.Request, err error, n int) {
	setRetryAfter(w, err)
	s.metrics.eventsRejected.WithLabelValues(string(klaxon.ErrorCodeOf(err))).Add(float64(max(n, 1)))
	s.writeError(w, r, err)
}
