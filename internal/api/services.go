package api

import (
	"encoding/json"
	"net/http"

	"github.com/klaxonhq/klaxon"
)

type createServiceRequest struct {
	Name               string `json:"name"`
	Description        string `json:"description"`
	EscalationPolicyID string `json:"escalation_policy_id"`
	AckTimeoutMinutes  int    `json:"ack_timeout_minutes"`
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) {
	var req createServiceRequest
	err := decodeStrict(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	svc := klaxon.Service{Name: req.Name, Description: req.Description, State: klaxon.ServiceActive, AckTimeoutMinutes: req.AckTimeoutMinutes}
	if req.EscalationPolicyID != "" {
		if svc.EscalationPolicyID, err = parseID("escalation_policy_id", req.EscalationPolicyID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := s.store.CreateService(r.Context(), principalFrom(r.Context()).actor(), &svc); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toServiceJSON(svc))
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListServices(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "services", list, func(svc klaxon.Service) int64 { return svc.ID }, toServiceJSON)
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	svc, err := s.store.Service(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toServiceJSON(svc))
}

type patchServiceRequest struct {
	Name        *string              `json:"name"`
	Description *string              `json:"description"`
	State       *klaxon.ServiceState `json:"state"`
	// EscalationPolicyID is an id, or null to detach the service from its
	// policy. json.RawMessage tells null apart from absent.
	EscalationPolicyID json.RawMessage `json:"escalation_policy_id"`
	AckTimeoutMinutes  *int            `json:"ack_timeout_minutes"`
}

// policyPatch reads escalation_policy_id from a PATCH body: absent leaves
// it, null clears it, an id sets it.
func (req patchServiceRequest) policyPatch() (*int64, error) {
	raw := req.EscalationPolicyID
	if len(raw) == 0 {
		return nil, nil
	}
	var none int64
	if string(raw) == "null" {
		return &none, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, klaxon.FieldError("escalation_policy_id", "must be an id string such as \"12\", or null")
	}
	id, err := parseID("escalation_policy_id", s)
	return &id, err
}

func (s *Server) patchService(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req patchServiceRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	policy, err := req.policyPatch()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	svc, err := s.store.UpdateService(r.Context(), principalFrom(r.Context()).actor(), id,
		klaxon.ServicePatch{Name: req.Name, Description: req.Description, State: req.State, EscalationPolicyID: policy, AckTimeoutMinutes: req.AckTimeoutMinutes})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toServiceJSON(svc))
}

type createIntegrationRequest struct {
	Kind klaxon.IntegrationKind `json:"kind"`
	Name string                 `json:"name"`
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request) {
	serviceID, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req createIntegrationRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Kind == "" {
		s.writeError(w, r, klaxon.FieldError("kind", "is required (api or pagerduty)"))
		return
	}
	in := klaxon.Integration{ServiceID: serviceID, Kind: req.Kind, Name: req.Name}
	key, err := s.store.CreateIntegration(r.Context(), principalFrom(r.Context()).actor(), &in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toIntegrationJSON(in, key))
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request) {
	serviceID, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.store.Service(r.Context(), serviceID); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListIntegrations(r.Context(), serviceID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"integrations": mapJSON(list, func(in klaxon.Integration) integrationJSON { return toIntegrationJSON(in, "") })})
}

// rotateIntegration replaces an integration's key. The old key stops
// working at once on this node, and within the cache lifetime elsewhere.
func (s *Server) rotateIntegration(w http.ResponseWriter, r *http.Request) {
	serviceID, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := pathID(r, "integration", "integration")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, key, err := s.store.RotateIntegrationKey(r.Context(), principalFrom(r.Context()).actor(), serviceID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.keys.forget()
	writeJSON(w, http.StatusOK, toIntegrationJSON(in, key))
}
