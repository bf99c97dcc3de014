package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/ingest"
)

// Teams: admins manage them; anyone with a token reads them. Members are
// added, or their role changed, one at a time, and removed by a POST action.

type teamJSON struct {
	ID          int64            `json:"id,string"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Members     []teamMemberJSON `json:"members"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

type teamMemberJSON struct {
	UserID int64           `json:"user_id,string"`
	Role   klaxon.TeamRole `json:"role"`
}

func toTeamJSON(t klaxon.Team) teamJSON {
	out := teamJSON{ID: t.ID, Name: t.Name, Description: t.Description,
		Members: make([]teamMemberJSON, 0, len(t.Members)), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	for _, m := range t.Members {
		out.Members = append(out.Members, teamMemberJSON{UserID: m.UserID, Role: m.Role})
	}
	return out
}

// teamMemberRequest is one member in a request: {"user_id","role"}, the
// role member unless given.
type teamMemberRequest struct {
	UserID string          `json:"user_id"`
	Role   klaxon.TeamRole `json:"role"`
}

// membership converts a member from a request; at prefixes the field names
// of its errors ("members[2]." in a team, "" alone).
func (m teamMemberRequest) membership(at string) (klaxon.TeamMembership, error) {
	id, err := parseID(at+"user_id", m.UserID)
	if err != nil {
		return klaxon.TeamMembership{}, err
	}
	if m.Role == "" {
		m.Role = klaxon.TeamMember
	}
	return klaxon.TeamMembership{UserID: id, Role: m.Role}, nil
}

type createTeamRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Members     []json.RawMessage `json:"members"`
}

// decodeMembers decodes each member as strictly as a body of its own, so
// that a misspelt key inside a member is named ("members[1].rol").
func decodeMembers(raw []json.RawMessage) ([]klaxon.TeamMembership, error) {
	out := make([]klaxon.TeamMembership, 0, len(raw))
	for i, b := range raw {
		at := fmt.Sprintf("members[%d]", i)
		var req teamMemberRequest
		if err := ingest.DecodeObject(b, &req); err != nil {
			if e, ok := klaxon.AsError(err); ok {
				field := at
				if e.Field != "body" {
					field += "." + e.Field
				}
				return nil, klaxon.FieldError(field, "%s", e.Message)
			}
			return nil, err
		}
		m, err := req.membership(at + ".")
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) {
	var req createTeamRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	members, err := decodeMembers(req.Members)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t := klaxon.Team{Name: req.Name, Description: req.Description, Members: members}
	if err := s.store.CreateTeam(r.Context(), principalFrom(r.Context()).actor(), &t); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toTeamJSON(t))
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListTeams(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "teams", list, func(t klaxon.Team) int64 { return t.ID }, toTeamJSON)
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.store.Team(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTeamJSON(t))
}

type patchTeamRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

func (s *Server) patchTeam(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req patchTeamRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.store.UpdateTeam(r.Context(), principalFrom(r.Context()).actor(), id,
		klaxon.TeamPatch{Name: req.Name, Description: req.Description})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTeamJSON(t))
}

// addTeamMember adds a user to a team, or changes a member's role, and
// answers the team.
func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req teamMemberRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := req.membership("")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.store.SetTeamMember(r.Context(), principalFrom(r.Context()).actor(), id, m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTeamJSON(t))
}

// removeTeamMember takes a user off a team and answers the team. It is a
// POST action, not a DELETE: DELETE is kept for the guarded deletion path.
func (s *Server) removeTeamMember(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "team")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, err := pathID(r, "user", "team member")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.store.RemoveTeamMember(r.Context(), principalFrom(r.Context()).actor(), id, userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTeamJSON(t))
}
