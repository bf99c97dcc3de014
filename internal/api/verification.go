package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Verification of SMS and voice numbers: Klaxon pages a number only once
// the person has typed back a code sent to it, so that a mistyped number
// never wakes a stranger. Asking for a code sends one (a text for an sms
// method, a call that reads it for a voice method); entering it verifies
// the method. The rules (six digits, ten minutes, five tries) are
// klaxon.VerificationCodeTTL and its neighbours.

type verificationSentJSON struct {
	ContactMethodID int64 `json:"contact_method_id,string"`
	// NotificationID is the job that sends the code: its progress shows in
	// the user's notification log.
	NotificationID int64     `json:"notification_id,string"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// contactMethodIDs reads the {id} and {cm} path segments.
func contactMethodIDs(r *http.Request) (userID, contactMethodID int64, err error) {
	if userID, err = pathID(r, "id", "user"); err != nil {
		return 0, 0, err
	}
	if contactMethodID, err = pathID(r, "cm", "contact method"); err != nil {
		return 0, 0, err
	}
	return userID, contactMethodID, nil
}

// sendVerification sends a new code to an SMS or voice contact method.
func (s *Server) sendVerification(w http.ResponseWriter, r *http.Request) {
	userID, cmID, err := contactMethodIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sent, err := s.store.SendVerification(r.Context(), principalFrom(r.Context()).actor(), userID, cmID, klaxon.NewVerificationCode())
	if err != nil {
		if klaxon.ErrorCodeOf(err) == klaxon.ERATELIMIT {
			w.Header().Set("Retry-After", strconv.Itoa(int(klaxon.VerificationResendInterval.Seconds())))
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, verificationSentJSON{ContactMethodID: cmID, NotificationID: sent.NotificationID, ExpiresAt: sent.ExpiresAt})
}

type verifyRequest struct {
	Code string `json:"code"`
}

// verifyContactMethod checks the code a person typed back.
func (s *Server) verifyContactMethod(w http.ResponseWriter, r *http.Request) {
	userID, cmID, err := contactMethodIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req verifyRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Code == "" {
		s.writeError(w, r, klaxon.FieldError("code", "is required: the %d digits sent to the number", klaxon.VerificationCodeDigits))
		return
	}
	cm, err := s.store.VerifyContactMethod(r.Context(), principalFrom(r.Context()).actor(), userID, cmID, req.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toContactMethodJSON(cm))
}
