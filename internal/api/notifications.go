package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// notificationJSON is one notification in a log: to whom, how, its status
// and attempts, and the provider's id for it.
type notificationJSON struct {
	ID              int64                     `json:"id,string"`
	AlertID         int64                     `json:"alert_id,string"`
	ServiceID       int64                     `json:"service_id,string"`
	UserID          int64                     `json:"user_id,string"`
	ContactMethodID int64                     `json:"contact_method_id,string"`
	Type            klaxon.ContactType        `json:"type"`
	Kind            klaxon.NotificationKind   `json:"kind"`
	Step            string                    `json:"step"`
	Status          klaxon.NotificationStatus `json:"status"`
	Reason          string                    `json:"reason"`
	Attempts        int                       `json:"attempts"`
	LastError       string                    `json:"last_error"`
	ProviderID      string                    `json:"provider_id"`
	// BundleID is the notification whose message carried this one, when a
	// message covered several alerts.
	BundleID    *string    `json:"bundle_id"`
	DueAt       time.Time  `json:"due_at"`
	CreatedAt   time.Time  `json:"created_at"`
	SentAt      *time.Time `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	FailedAt    *time.Time `json:"failed_at"`
}

func toNotificationJSON(n klaxon.Notification) notificationJSON {
	out := notificationJSON{ID: n.ID, AlertID: n.AlertID, ServiceID: n.ServiceID, UserID: n.UserID,
		ContactMethodID: n.ContactMethodID, Type: n.ContactType, Kind: n.Kind, Step: n.Firing, Status: n.Status,
		Reason: n.Reason, Attempts: n.Attempts, LastError: n.LastError, ProviderID: n.ProviderID,
		DueAt: n.DueAt, CreatedAt: n.CreatedAt, SentAt: n.SentAt, DeliveredAt: n.DeliveredAt, FailedAt: n.FailedAt}
	if n.BundleID != 0 {
		id := strconv.FormatInt(n.BundleID, 10)
		out.BundleID = &id
	}
	return out
}

// alertNotifications lists every notification about an alert.
func (s *Server) alertNotifications(w http.ResponseWriter, r *http.Request) {
	s.listNotifications(w, r, "alert")
}

// userNotifications lists every notification sent to a person.
func (s *Server) userNotifications(w http.ResponseWriter, r *http.Request) {
	s.listNotifications(w, r, "user")
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, of string) {
	id, err := pathID(r, "id", of)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alertID, userID := id, int64(0)
	if of == "user" {
		alertID, userID = 0, id
		_, err = s.store.User(r.Context(), id)
	} else {
		_, err = s.store.Alert(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListNotifications(r.Context(), alertID, userID, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "notifications", list, func(n klaxon.Notification) int64 { return n.ID }, toNotificationJSON)
}

// escalateAlert moves a triggered alert to its next escalation step now.
func (s *Server) escalateAlert(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "alert")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.store.EscalateAlert(r.Context(), principalFrom(r.Context()).actor(), id, "through the API")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAlertJSON(a))
}
