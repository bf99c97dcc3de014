package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The status page's administration: the page's settings and its
// components. Incidents and maintenance are in status_incidents.go,
// subscribers in status_subscribers.go; the public page itself is
// internal/statuspage's.
//
// Roles: reading needs viewer; the page and its components (including a
// component's state set by hand) need admin; incidents, their updates,
// maintenance and postmortems need responder, since whoever handles an
// incident tells customers about it; subscribers need admin, since their
// addresses are personal data or may hold credentials.

// statusPageJSON is the page's settings on the wire.
type statusPageJSON struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	TimeZone    string     `json:"time_zone"`
	URL         string     `json:"url"`
	UpdatedAt   *time.Time `json:"updated_at"`
}

func toStatusPageJSON(p klaxon.StatusPage) statusPageJSON {
	return statusPageJSON{Name: p.Name, Description: p.Description, TimeZone: p.TimeZone, URL: p.URL, UpdatedAt: timeOrNil(p.UpdatedAt)}
}

func (s *Server) getStatusPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.StatusPage(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toStatusPageJSON(p))
}

type patchStatusPageRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	TimeZone    *string `json:"time_zone"`
	URL         *string `json:"url"`
}

func (s *Server) patchStatusPage(w http.ResponseWriter, r *http.Request) {
	var req patchStatusPageRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.store.UpdateStatusPage(r.Context(), principalFrom(r.Context()).actor(),
		klaxon.StatusPagePatch{Name: req.Name, Description: req.Description, TimeZone: req.TimeZone, URL: req.URL})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toStatusPageJSON(p))
}

// statusComponentJSON is a component or a group on the wire. Like
// Statuspage's, "group" says whether it is a group and "group_id" which
// group it is in.
type statusComponentJSON struct {
	ID          int64  `json:"id,string"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Group       bool   `json:"group"`
	// GroupID is null for a group and for a component in no group.
	GroupID  *string `json:"group_id"`
	Position int     `json:"position"`
	// State is a group's worst member's (operational when it has none).
	State         klaxon.ComponentState `json:"state"`
	ServiceID     *string               `json:"service_id"`
	FollowService bool                  `json:"follow_service"`
	FollowState   klaxon.ComponentState `json:"follow_state"`
	CreatedAt     time.Time             `json:"created_at"`
	UpdatedAt     time.Time             `json:"updated_at"`
}

func toStatusComponentJSON(c klaxon.StatusComponent) statusComponentJSON {
	return statusComponentJSON{ID: c.ID, Name: c.Name, Description: c.Description, Group: c.Group, GroupID: idOrNil(c.GroupID),
		Position: c.Position, State: c.State, ServiceID: idOrNil(c.ServiceID), FollowService: c.FollowService,
		FollowState: c.FollowState, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// withGroupStates gives each group in list its worst member's state, as
// the page shows it; a group's own stored state means nothing.
func withGroupStates(list []klaxon.StatusComponent) []klaxon.StatusComponent {
	worst := map[int64]klaxon.ComponentState{}
	for _, c := range list {
		if c.GroupID != 0 && c.State.Rank() > worst[c.GroupID].Rank() {
			worst[c.GroupID] = c.State
		}
	}
	out := make([]klaxon.StatusComponent, len(list))
	for i, c := range list {
		if c.Group {
			c.State = klaxon.ComponentOperational
			if st, ok := worst[c.ID]; ok {
				c.State = st
			}
		}
		out[i] = c
	}
	return out
}

// writeComponent answers with one component (read or changed as err says)
// as it is shown: a group with its members' worst state.
func (s *Server) writeComponent(w http.ResponseWriter, r *http.Request, c klaxon.StatusComponent, err error) {
	if err == nil && c.Group {
		var list []klaxon.StatusComponent
		if list, err = s.store.ListStatusComponents(r.Context()); err == nil {
			for _, g := range withGroupStates(list) {
				if g.ID == c.ID {
					c.State = g.State
				}
			}
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toStatusComponentJSON(c))
}

// listStatusComponents lists every component and group in page order:
// top-level items by position, each group followed by its members. The
// list is short (a page has tens of lines), so it is not paged.
func (s *Server) listStatusComponents(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListStatusComponents(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"components": mapJSON(withGroupStates(list), toStatusComponentJSON)})
}

type createStatusComponentRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Group names the group to join; it is created when missing.
	Group string `json:"group"`
}

func (s *Server) createStatusComponent(w http.ResponseWriter, r *http.Request) {
	var req createStatusComponentRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.store.CreateStatusComponent(r.Context(), principalFrom(r.Context()).actor(),
		klaxon.NewStatusComponent{Name: req.Name, Description: req.Description, Group: req.Group})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toStatusComponentJSON(c))
}

func (s *Server) getStatusComponent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.store.StatusComponent(r.Context(), id)
	s.writeComponent(w, r, c, err)
}

type patchStatusComponentRequest struct {
	Name        *string                `json:"name"`
	Description *string                `json:"description"`
	State       *klaxon.ComponentState `json:"state"`
	// Position is the 1-based place among the component's siblings.
	Position *int `json:"position"`
	// Group is a group's name (created when missing), or "" or null for
	// none. json.RawMessage tells null apart from absent.
	Group json.RawMessage `json:"group"`
	// ServiceID is a service id, or null (or "") to unlink the service.
	ServiceID     json.RawMessage        `json:"service_id"`
	FollowService *bool                  `json:"follow_service"`
	FollowState   *klaxon.ComponentState `json:"follow_state"`
}

// patch turns the request into a klaxon.ComponentPatch, naming the field
// at fault.
func (req patchStatusComponentRequest) patch() (klaxon.ComponentPatch, error) {
	p := klaxon.ComponentPatch{Name: req.Name, Description: req.Description, State: req.State, Position: req.Position,
		FollowService: req.FollowService, FollowState: req.FollowState}
	if req.Position != nil && *req.Position < 1 {
		return p, klaxon.FieldError("position", "must be 1 or more (the place among the component's siblings)")
	}
	if len(req.Group) > 0 {
		group := ""
		if string(req.Group) != "null" {
			if err := json.Unmarshal(req.Group, &group); err != nil {
				return p, klaxon.FieldError("group", "must be a group's name, or \"\" or null for none")
			}
		}
		p.Group = &group
	}
	if len(req.ServiceID) > 0 {
		var id int64
		if string(req.ServiceID) != "null" && string(req.ServiceID) != `""` {
			var ok bool
			if id, ok = idValue(req.ServiceID); !ok {
				return p, klaxon.FieldError("service_id", "must be a service id such as \"12\", or null to unlink the service")
			}
		}
		p.ServiceID = &id
	}
	return p, nil
}

func (s *Server) patchStatusComponent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req patchStatusComponentRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := req.patch()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.store.UpdateStatusComponent(r.Context(), principalFrom(r.Context()).actor(), id, p)
	s.writeComponent(w, r, c, err)
}

// componentChangeJSON is one entry of a component's history.
type componentChangeJSON struct {
	ComponentID int64                 `json:"component_id,string"`
	State       klaxon.ComponentState `json:"state"`
	At          time.Time             `json:"at"`
	Source      string                `json:"source"`
	IncidentID  *string               `json:"incident_id"`
	AlertID     *string               `json:"alert_id"`
	Actor       string                `json:"actor"`
}

func toComponentChangeJSON(c klaxon.ComponentChange) componentChangeJSON {
	return componentChangeJSON{ComponentID: c.ComponentID, State: c.State, At: c.At, Source: c.Source,
		IncidentID: idOrNil(c.IncidentID), AlertID: idOrNil(c.AlertID), Actor: c.Actor}
}

// defaultHistoryDays is how far back a component's history goes unless
// since says otherwise: the page's uptime bars.
const defaultHistoryDays = 90

// statusComponentHistory lists a component's state changes since ?since=
// (90 days ago by default), oldest first, preceded by the last change
// before it so that the state at since is known.
func (s *Server) statusComponentHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "component")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	since := s.now().AddDate(0, 0, -defaultHistoryDays)
	if raw := r.URL.Query().Get("since"); raw != "" {
		if since, err = parseInstant("since", raw); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if _, err := s.store.StatusComponent(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ComponentHistory(r.Context(), id, since)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"component_id": strconv.FormatInt(id, 10), "since": since,
		"history": mapJSON(list, toComponentChangeJSON)})
}

// componentStates reads a "components" object of component id strings
// ("12") to states. A key that is not an id is refused, naming
// "components"; the states are checked by the domain's Validate.
func componentStates(m map[string]string) (map[int64]klaxon.ComponentState, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[int64]klaxon.ComponentState, len(m))
	for k, v := range m {
		id, ok := canonicalID(k)
		if !ok {
			return nil, klaxon.FieldError("components", "keys must be component ids such as \"12\", not %q", klaxon.Truncate(k, 40))
		}
		out[id] = klaxon.ComponentState(v)
	}
	return out, nil
}

// idList reads a list of ids, each a string ("12") as the API writes ids,
// or a number.
func idList(field string, raw []json.RawMessage) ([]int64, error) {
	out := make([]int64, 0, len(raw))
	for _, r := range raw {
		id, ok := idValue(r)
		if !ok {
			return nil, klaxon.FieldError(field, "must list ids such as \"12\", not %s", klaxon.Truncate(string(r), 40))
		}
		out = append(out, id)
	}
	return out, nil
}

// idValue reads one id given as a string ("12") or a whole number (12).
func idValue(raw json.RawMessage) (int64, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return canonicalID(s)
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil && n > 0 {
		return n, true
	}
	return 0, false
}

// canonicalID reads a positive id written the one way the API writes it:
// "12", not "012" or "+12".
func canonicalID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == s
}

// idOrNil shows an optional reference: its id, or null for 0.
func idOrNil(id int64) *string {
	if id == 0 {
		return nil
	}
	s := strconv.FormatInt(id, 10)
	return &s
}

// timeOrNil shows an optional time: null when zero.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// idStrings shows a list of ids; never null.
func idStrings(ids []int64) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, strconv.FormatInt(id, 10))
	}
	return out
}
