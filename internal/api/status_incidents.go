package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Incidents and scheduled maintenance on the status page, their updates and
// postmortems. A maintenance is an incident with "maintenance": true: it is
// read, updated and given a postmortem through the same routes, listed
// with the incidents, and alone under /api/v1/status/maintenances.

// Body limits for the requests that carry long text: a message or
// postmortem at its limit in characters may take 4 bytes a character in
// UTF-8, and more once escaped in JSON.
const (
	maxIncidentBody   = 8 * klaxon.MaxIncidentMessage // 512 KiB
	maxPostmortemBody = 8 * klaxon.MaxPostmortem      // 2 MiB
)

// statusIncidentJSON is an incident or maintenance on the wire.
type statusIncidentJSON struct {
	ID          int64                 `json:"id,string"`
	Name        string                `json:"name"`
	Status      klaxon.IncidentStatus `json:"status"`
	Impact      klaxon.IncidentImpact `json:"impact"`
	Maintenance bool                  `json:"maintenance"`
	// ScheduledFor and ScheduledUntil are a maintenance's window; null for
	// an incident.
	ScheduledFor   *time.Time `json:"scheduled_for"`
	ScheduledUntil *time.Time `json:"scheduled_until"`
	// CreatedAt is the first update's time (an import's "at"), UpdatedAt
	// the latest's.
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	MonitoringAt *time.Time      `json:"monitoring_at"`
	ResolvedAt   *time.Time      `json:"resolved_at"`
	Postmortem   *postmortemJSON `json:"postmortem"`
	// Components are the ids of the components any update named, in page
	// order.
	Components []string `json:"components"`
	// Updates are newest first (by their "at").
	Updates []incidentUpdateJSON `json:"updates"`
	// Update is the update just added; only in the answer that adds one.
	Update *incidentUpdateJSON `json:"update,omitempty"`
}

type postmortemJSON struct {
	Body        string     `json:"body"`
	PublishedAt *time.Time `json:"published_at"`
	// Published says whether the page shows it now: published_at is set
	// and not in the future.
	Published bool `json:"published"`
}

// incidentUpdateJSON is one update. Its "at" is the time shown (and the
// order), which an import sets; created_at is when it was written.
type incidentUpdateJSON struct {
	ID                 int64                 `json:"id,string"`
	IncidentID         int64                 `json:"incident_id,string"`
	Status             klaxon.IncidentStatus `json:"status"`
	Message            string                `json:"message"`
	At                 time.Time             `json:"at"`
	CreatedAt          time.Time             `json:"created_at"`
	AffectedComponents []affectedJSON        `json:"affected_components"`
}

type affectedJSON struct {
	ComponentID int64                 `json:"component_id,string"`
	Name        string                `json:"name"`
	OldState    klaxon.ComponentState `json:"old_state"`
	NewState    klaxon.ComponentState `json:"new_state"`
}

func toIncidentUpdateJSON(u klaxon.IncidentUpdate) incidentUpdateJSON {
	return incidentUpdateJSON{ID: u.ID, IncidentID: u.IncidentID, Status: u.Status, Message: u.Body, At: u.DisplayAt,
		CreatedAt: u.CreatedAt, AffectedComponents: mapJSON(u.Affected, func(a klaxon.AffectedComponent) affectedJSON {
			return affectedJSON{ComponentID: a.ComponentID, Name: a.Name, OldState: a.Old, NewState: a.New}
		})}
}

func (s *Server) toStatusIncidentJSON(inc klaxon.StatusIncident) statusIncidentJSON {
	out := statusIncidentJSON{ID: inc.ID, Name: inc.Name, Status: inc.Status, Impact: inc.Impact, Maintenance: inc.Maintenance,
		ScheduledFor: timeOrNil(inc.ScheduledFor), ScheduledUntil: timeOrNil(inc.ScheduledUntil), CreatedAt: inc.CreatedAt,
		UpdatedAt: inc.UpdatedAt, MonitoringAt: timeOrNil(inc.MonitoringAt), ResolvedAt: timeOrNil(inc.ResolvedAt),
		Components: idStrings(inc.Components), Updates: mapJSON(inc.Updates, toIncidentUpdateJSON)}
	if inc.Postmortem != "" {
		pub := inc.PostmortemPublishedAt
		out.Postmortem = &postmortemJSON{Body: inc.Postmortem, PublishedAt: timeOrNil(pub), Published: !pub.IsZero() && !pub.After(s.now())}
	}
	return out
}

// listStatusIncidents lists incidents and maintenances, newest first.
func (s *Server) listStatusIncidents(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListStatusIncidents(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "incidents", list, func(inc klaxon.StatusIncident) int64 { return inc.ID }, s.toStatusIncidentJSON)
}

// maxMaintenanceScan bounds the store pages one list of maintenances
// reads through; a cursor lets the caller go on past them.
const maxMaintenanceScan = 10

// listStatusMaintenances lists only maintenances, newest first. It reads
// the incident list page by page, keeping maintenances, until its own page
// is full or the list ends; next_cursor continues where it stopped.
func (s *Server) listStatusMaintenances(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	want := p.Normalized().Limit
	var out []klaxon.StatusIncident
	cursor, more := p.Before, true
	for scans := 0; len(out) < want && more && scans < maxMaintenanceScan; scans++ {
		batch, err := s.store.ListStatusIncidents(r.Context(), klaxon.Page{Before: cursor, Limit: klaxon.MaxPageSize})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		more = len(batch) == klaxon.MaxPageSize
		for i, inc := range batch {
			cursor = inc.ID
			if inc.Maintenance {
				out = append(out, inc)
			}
			if len(out) == want {
				more = more || i < len(batch)-1
				break
			}
		}
	}
	answer := map[string]any{"maintenances": mapJSON(out, s.toStatusIncidentJSON)}
	if more && cursor > 0 {
		answer["next_cursor"] = idOrNil(cursor)
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) getStatusIncident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "incident")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := s.store.StatusIncident(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toStatusIncidentJSON(inc))
}

type createStatusIncidentRequest struct {
	Name    string                `json:"name"`
	Status  klaxon.IncidentStatus `json:"status"`
	Impact  klaxon.IncidentImpact `json:"impact"`
	Message string                `json:"message"`
	// Components maps component id strings ("12") to the state the
	// incident sets.
	Components map[string]string `json:"components"`
	// At places the first update in the past (RFC 3339), to import
	// history; absent means now.
	At string `json:"at"`
}

func (s *Server) createStatusIncident(w http.ResponseWriter, r *http.Request) {
	var req createStatusIncidentRequest
	if err := decodeStrictUpTo(w, r, maxIncidentBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	n := klaxon.NewIncident{Name: req.Name, Status: req.Status, Impact: req.Impact, Message: req.Message}
	var err error
	if n.Components, err = componentStates(req.Components); err != nil {
		s.writeError(w, r, err)
		return
	}
	if n.At, err = parseInstant("at", req.At); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := n.Validate(s.now()); err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := s.store.CreateStatusIncident(r.Context(), principalFrom(r.Context()).actor(), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.toStatusIncidentJSON(inc))
}

type addIncidentUpdateRequest struct {
	// Status, when absent, keeps the incident's.
	Status     klaxon.IncidentStatus `json:"status"`
	Message    string                `json:"message"`
	Components map[string]string     `json:"components"`
	At         string                `json:"at"`
}

// addIncidentUpdate adds an update to an incident or maintenance and
// answers the incident as it now stands, with the new update under
// "update".
func (s *Server) addIncidentUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "incident")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req addIncidentUpdateRequest
	if err := decodeStrictUpTo(w, r, maxIncidentBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := klaxon.NewIncidentUpdate{Status: req.Status, Message: req.Message}
	if u.Components, err = componentStates(req.Components); err != nil {
		s.writeError(w, r, err)
		return
	}
	if u.At, err = parseInstant("at", req.At); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := u.Validate(s.now()); err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, upd, err := s.store.AddIncidentUpdate(r.Context(), principalFrom(r.Context()).actor(), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := s.toStatusIncidentJSON(inc)
	added := toIncidentUpdateJSON(upd)
	out.Update = &added
	writeJSON(w, http.StatusCreated, out)
}

type postmortemRequest struct {
	Body string `json:"body"`
	// PublishedAt (RFC 3339) is when the page shows it; null or absent
	// keeps it a draft.
	PublishedAt *string `json:"published_at"`
}

// putPostmortem sets an incident's postmortem, replacing any earlier one.
// Publishing moves a resolved incident to "postmortem".
func (s *Server) putPostmortem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "incident")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req postmortemRequest
	if err := decodeStrictUpTo(w, r, maxPostmortemBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	pm := klaxon.Postmortem{Body: req.Body}
	if req.PublishedAt != nil {
		if pm.PublishedAt, err = parseInstant("published_at", *req.PublishedAt); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := pm.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := s.store.SetPostmortem(r.Context(), principalFrom(r.Context()).actor(), id, pm)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toStatusIncidentJSON(inc))
}

type createMaintenanceRequest struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	// Components lists component ids ("12", or 12).
	Components     []json.RawMessage `json:"components"`
	ScheduledFor   string            `json:"scheduled_for"`
	ScheduledUntil string            `json:"scheduled_until"`
}

// createStatusMaintenance schedules a maintenance. It moves itself to
// in_progress at scheduled_for (its components under maintenance) and to
// completed at scheduled_until (them back to operational).
func (s *Server) createStatusMaintenance(w http.ResponseWriter, r *http.Request) {
	var req createMaintenanceRequest
	if err := decodeStrictUpTo(w, r, maxIncidentBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m := klaxon.NewMaintenance{Name: req.Name, Message: req.Message}
	var err error
	if m.Components, err = idList("components", req.Components); err != nil {
		s.writeError(w, r, err)
		return
	}
	if m.ScheduledFor, err = parseInstant("scheduled_for", req.ScheduledFor); err != nil {
		s.writeError(w, r, err)
		return
	}
	if m.ScheduledUntil, err = parseInstant("scheduled_until", req.ScheduledUntil); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := m.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := s.store.CreateMaintenance(r.Context(), principalFrom(r.Context()).actor(), m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.toStatusIncidentJSON(inc))
}
