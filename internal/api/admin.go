package api

import (
	"net/http"
	"strconv"

	"github.com/klaxonhq/klaxon"
)

type createTokenRequest struct {
	Name string      `json:"name"`
	Role klaxon.Role `json:"role"`
}

// createToken issues an API token. A caller cannot mint a token more
// powerful than its own.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == "" {
		s.writeError(w, r, klaxon.FieldError("role", "is required (owner, admin, responder or viewer)"))
		return
	}
	caller := principalFrom(r.Context())
	if req.Role.Valid() && !caller.token.Role.Allows(req.Role) {
		s.writeError(w, r, klaxon.Errorf(klaxon.EFORBIDDEN, "a token with the %s role cannot create a token with the %s role", caller.token.Role, req.Role))
		return
	}
	secret := klaxon.NewAPIToken()
	t := klaxon.APIToken{Name: req.Name, Role: req.Role}
	if err := s.store.CreateAPIToken(r.Context(), caller.actor(), &t, secret); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toTokenJSON(t, secret))
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListAPITokens(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": mapJSON(list, func(t klaxon.APIToken) tokenJSON { return toTokenJSON(t, "") })})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "token")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Like creation, revocation cannot reach above the caller's own role:
	// an admin cannot lock the owner out.
	caller := principalFrom(r.Context())
	target, err := s.store.APIToken(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !caller.token.Role.Allows(target.Role) {
		s.writeError(w, r, klaxon.Errorf(klaxon.EFORBIDDEN, "a token with the %s role cannot revoke a token with the %s role", caller.token.Role, target.Role))
		return
	}
	if err := s.store.RevokeAPIToken(r.Context(), caller.actor(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.tokens.forget()
	writeJSON(w, http.StatusOK, map[string]string{"status": "revoked"})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListAudit(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "entries", list, func(e klaxon.AuditEntry) int64 { return e.ID }, toAuditJSON)
}

func (s *Server) listChangeEvents(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var serviceID int64
	if v := r.URL.Query().Get("service"); v != "" {
		if serviceID, err = strconv.ParseInt(v, 10, 64); err != nil || serviceID < 1 {
			s.writeError(w, r, klaxon.FieldError("service", "must be a service id, not %q", v))
			return
		}
	}
	list, err := s.store.ListChangeEvents(r.Context(), serviceID, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "change_events", list, func(ce klaxon.ChangeEvent) int64 { return ce.ID }, toChangeEventJSON)
}
