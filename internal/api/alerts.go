package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := klaxon.AlertFilter{Page: p}
	q := r.URL.Query()
	if v := q.Get("status"); v != "" {
		f.Status = klaxon.AlertStatus(v)
		if !f.Status.Valid() {
			s.writeError(w, r, klaxon.FieldError("status", "must be triggered, acknowledged or resolved, not %q", v))
			return
		}
	}
	if v := q.Get("service"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			s.writeError(w, r, klaxon.FieldError("service", "must be a service id, not %q", v))
			return
		}
		f.ServiceID = id
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.writeError(w, r, klaxon.FieldError("since", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", v))
			return
		}
		f.Since = t
	}
	list, err := s.store.ListAlerts(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "alerts", list, func(a klaxon.Alert) int64 { return a.ID }, toAlertJSON)
}

// alertDetailJSON is an alert with its newest events and what people did.
type alertDetailJSON struct {
	alertJSON
	Events []eventJSON    `json:"events"`
	Log    []logEntryJSON `json:"log"`
	Notes  []logEntryJSON `json:"notes"`
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "alert")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.store.Alert(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.store.AlertEvents(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	log, err := s.store.AlertLog(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := alertDetailJSON{alertJSON: toAlertJSON(a), Events: make([]eventJSON, 0, len(events)),
		Log: make([]logEntryJSON, 0, len(log)), Notes: []logEntryJSON{}}
	for _, e := range events {
		out.Events = append(out.Events, toEventJSON(e))
	}
	for _, e := range log {
		out.Log = append(out.Log, toLogEntryJSON(e))
		if e.Kind == "note" {
			out.Notes = append(out.Notes, toLogEntryJSON(e))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) acknowledgeAlert(w http.ResponseWriter, r *http.Request) {
	s.changeAlert(w, r, klaxon.AlertAcknowledged)
}

func (s *Server) resolveAlert(w http.ResponseWriter, r *http.Request) {
	s.changeAlert(w, r, klaxon.AlertResolved)
}

func (s *Server) changeAlert(w http.ResponseWriter, r *http.Request, to klaxon.AlertStatus) {
	id, err := pathID(r, "id", "alert")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	change := s.store.AcknowledgeAlert
	if to == klaxon.AlertResolved {
		change = s.store.ResolveAlert
	}
	a, err := change(r.Context(), principalFrom(r.Context()).actor(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAlertJSON(a))
}

type noteRequest struct {
	Body string `json:"body"`
}

func (s *Server) addAlertNote(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "alert")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req noteRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := klaxon.ValidateNote(req.Body); err != nil {
		s.writeError(w, r, err)
		return
	}
	note, err := s.store.AddAlertNote(r.Context(), principalFrom(r.Context()).actor(), id, req.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toLogEntryJSON(note))
}
