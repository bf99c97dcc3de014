package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
)

type targetJSON struct {
	Type klaxon.TargetType `json:"type"`
	ID   string            `json:"id"`
}

type stepJSON struct {
	DelayMinutes int          `json:"delay_minutes"`
	Targets      []targetJSON `json:"targets"`
}

type policyJSON struct {
	ID          int64      `json:"id,string"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Repeat      int        `json:"repeat"`
	Steps       []stepJSON `json:"steps"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func toPolicyJSON(p klaxon.EscalationPolicy) policyJSON {
	out := policyJSON{ID: p.ID, Name: p.Name, Description: p.Description, Repeat: p.Repeat,
		Steps: make([]stepJSON, 0, len(p.Steps)), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	for _, st := range p.Steps {
		sj := stepJSON{DelayMinutes: st.DelayMinutes, Targets: make([]targetJSON, 0, len(st.Targets))}
		for _, t := range st.Targets {
			sj.Targets = append(sj.Targets, targetJSON{Type: t.Type, ID: fmt.Sprint(t.ID)})
		}
		out.Steps = append(out.Steps, sj)
	}
	return out
}

// fromStepsJSON converts steps from a request. The target type is checked
// here, before the id, so that "type": "usr" is named as the mistake.
func fromStepsJSON(in []stepJSON) ([]klaxon.EscalationStep, error) {
	out := make([]klaxon.EscalationStep, 0, len(in))
	for i, sj := range in {
		st := klaxon.EscalationStep{DelayMinutes: sj.DelayMinutes}
		for j, tj := range sj.Targets {
			if !tj.Type.Valid() {
				return nil, klaxon.FieldError(fmt.Sprintf("steps[%d].targets[%d].type", i, j),
					"must be user, schedule or team, not %q", klaxon.Truncate(string(tj.Type), 40))
			}
			id, err := parseID(fmt.Sprintf("steps[%d].targets[%d].id", i, j), tj.ID)
			if err != nil {
				return nil, err
			}
			st.Targets = append(st.Targets, klaxon.Target{Type: tj.Type, ID: id})
		}
		out = append(out, st)
	}
	return out, nil
}

type createPolicyRequest struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Repeat      int        `json:"repeat"`
	Steps       []stepJSON `json:"steps"`
}

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) {
	var req createPolicyRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	steps, err := fromStepsJSON(req.Steps)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := klaxon.EscalationPolicy{Name: req.Name, Description: req.Description, Repeat: req.Repeat, Steps: steps}
	if err := s.store.CreateEscalationPolicy(r.Context(), principalFrom(r.Context()).actor(), &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toPolicyJSON(p))
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListEscalationPolicies(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "escalation_policies", list, func(p klaxon.EscalationPolicy) int64 { return p.ID }, toPolicyJSON)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "escalation policy")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.store.EscalationPolicy(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPolicyJSON(p))
}

type patchPolicyRequest struct {
	Name        *string     `json:"name"`
	Description *string     `json:"description"`
	Repeat      *int        `json:"repeat"`
	Steps       *[]stepJSON `json:"steps"`
}

func (s *Server) patchPolicy(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "escalation policy")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req patchPolicyRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	patch := klaxon.PolicyPatch{Name: req.Name, Description: req.Description, Repeat: req.Repeat}
	if req.Steps != nil {
		steps, err := fromStepsJSON(*req.Steps)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		patch.Steps = &steps
	}
	p, err := s.store.UpdateEscalationPolicy(r.Context(), principalFrom(r.Context()).actor(), id, patch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPolicyJSON(p))
}
