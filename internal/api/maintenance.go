package api

import (
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Maintenance windows on a service: alerts are recorded and escalate, and
// their pages are kept as suppressed instead of sent.

type maintenanceRequest struct {
	Start       string `json:"start"`
	End         string `json:"end"`
	Description string `json:"description"`
}

type maintenanceJSON struct {
	ID          int64     `json:"id,string"`
	ServiceID   int64     `json:"service_id,string"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Description string    `json:"description"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
}

func (s *Server) toMaintenanceJSON(m klaxon.MaintenanceWindow) maintenanceJSON {
	return maintenanceJSON{ID: m.ID, ServiceID: m.ServiceID, Start: m.Start, End: m.End, Description: m.Description,
		Active: m.Active(s.now()), CreatedAt: m.CreatedAt}
}

func (s *Server) createMaintenance(w http.ResponseWriter, r *http.Request) {
	serviceID, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req maintenanceRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m := klaxon.MaintenanceWindow{ServiceID: serviceID, Description: req.Description}
	if m.Start, err = parseInstant("start", req.Start); err != nil {
		s.writeError(w, r, err)
		return
	}
	if m.End, err = parseInstant("end", req.End); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.CreateMaintenanceWindow(r.Context(), principalFrom(r.Context()).actor(), &m); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.toMaintenanceJSON(m))
}

// listMaintenance lists the service's current and upcoming windows.
func (s *Server) listMaintenance(w http.ResponseWriter, r *http.Request) {
	serviceID, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.store.Service(r.Context(), serviceID); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListMaintenanceWindows(r.Context(), serviceID, s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"maintenance_windows": mapJSON(list, s.toMaintenanceJSON)})
}

// endMaintenance ends a window now, or cancels one not yet begun.
func (s *Server) endMaintenance(w http.ResponseWriter, r *http.Request) {
	serviceID, err := pathID(r, "id", "service")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := pathID(r, "window", "maintenance window")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.store.EndMaintenanceWindow(r.Context(), principalFrom(r.Context()).actor(), serviceID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toMaintenanceJSON(m))
}
