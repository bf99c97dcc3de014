package api

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// People: users, their contact methods and notification rules (teams are in
// teams.go).
//
// Admins manage users. A user's contact methods and notification rules may
// also be managed by any API token tied to that user (its user_id), whatever
// the token's role: people keep their own phone numbers up to date. Creating
// an owner, or changing an owner, needs the owner role.

// The JSON shapes.

type userJSON struct {
	ID       int64       `json:"id,string"`
	Name     string      `json:"name"`
	Email    string      `json:"email"`
	TimeZone string      `json:"time_zone"`
	Role     klaxon.Role `json:"role"`
	// Warnings say why the user might not be reached when paged.
	Warnings  []string  `json:"warnings"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toUserJSON(u klaxon.User) userJSON {
	return userJSON{ID: u.ID, Name: u.Name, Email: u.Email, TimeZone: u.TimeZone, Role: u.Role,
		Warnings: u.Reach.Warnings(), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

type contactMethodJSON struct {
	ID        int64              `json:"id,string"`
	UserID    int64              `json:"user_id,string"`
	Type      klaxon.ContactType `json:"type"`
	Address   string             `json:"address"`
	Name      string             `json:"name"`
	CreatedAt time.Time          `json:"created_at"`
	// Verified is false for an SMS or voice number until the code sent to
	// it has been entered; Klaxon never pages an unverified number.
	Verified bool `json:"verified"`
	// SigningSecret is set only in the answer that creates a webhook
	// contact method.
	SigningSecret string `json:"signing_secret,omitempty"`
}

func toContactMethodJSON(c klaxon.ContactMethod) contactMethodJSON {
	return contactMethodJSON{ID: c.ID, UserID: c.UserID, Type: c.Type, Address: c.Address, Name: c.Name,
		CreatedAt: c.CreatedAt, Verified: c.VerifiedAt != nil}
}

type notificationRuleJSON struct {
	ID              int64          `json:"id,string"`
	UserID          int64          `json:"user_id,string"`
	ContactMethodID int64          `json:"contact_method_id,string"`
	DelayMinutes    int            `json:"delay_minutes"`
	Urgency         klaxon.Urgency `json:"urgency"`
	CreatedAt       time.Time      `json:"created_at"`
}

func toNotificationRuleJSON(n klaxon.NotificationRule) notificationRuleJSON {
	return notificationRuleJSON{ID: n.ID, UserID: n.UserID, ContactMethodID: n.ContactMethodID,
		DelayMinutes: n.DelayMinutes, Urgency: n.Urgency, CreatedAt: n.CreatedAt}
}

// Who may do what.

// requireSelfOrAdmin wraps a handler of /api/v1/users/{id}/…, behind
// requireRole: admins may act on any user, and a token tied to user {id}
// on that user.
func (s *Server) requireSelfOrAdmin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id", "user")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		tok := principalFrom(r.Context()).token
		if !tok.Role.Allows(klaxon.RoleAdmin) && (tok.UserID == 0 || tok.UserID != id) {
			s.writeError(w, r, klaxon.Errorf(klaxon.EFORBIDDEN,
				"this needs the admin role, or a token of user %d's own; the token has %s and is not theirs", id, tok.Role))
			return
		}
		h(w, r)
	}
}

// mayGrant refuses to let a caller below owner create an owner, or change
// one: an admin cannot make themself owner, nor lock the owner out.
func mayGrant(caller principal, role klaxon.Role) error {
	if role == klaxon.RoleOwner && !caller.token.Role.Allows(klaxon.RoleOwner) {
		return klaxon.Errorf(klaxon.EFORBIDDEN, "only a token with the owner role can create or change an owner; the token has %s", caller.token.Role)
	}
	return nil
}

// Users.

type createUserRequest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// TimeZone left out is UTC; given, it must be a zone ("" is not).
	TimeZone *string     `json:"time_zone"`
	Role     klaxon.Role `json:"role"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == "" {
		s.writeError(w, r, klaxon.FieldError("role", "is required (owner, admin, responder or viewer)"))
		return
	}
	caller := principalFrom(r.Context())
	if err := mayGrant(caller, req.Role); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := klaxon.User{Name: req.Name, Email: req.Email, TimeZone: klaxon.DefaultTimeZone, Role: req.Role}
	if req.TimeZone != nil {
		u.TimeZone = *req.TimeZone
		if err := klaxon.ValidateTimeZone("time_zone", u.TimeZone); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := s.store.CreateUser(r.Context(), caller.actor(), &u); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListUsers(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, p, "users", list, func(u klaxon.User) int64 { return u.ID }, toUserJSON)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.User(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

type patchUserRequest struct {
	Name     *string      `json:"name"`
	Email    *string      `json:"email"`
	TimeZone *string      `json:"time_zone"`
	Role     *klaxon.Role `json:"role"`
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	caller := principalFrom(r.Context())
	target, err := s.store.User(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := mayGrant(caller, target.Role); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req patchUserRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role != nil {
		if err := mayGrant(caller, *req.Role); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	u, err := s.store.UpdateUser(r.Context(), caller.actor(), id,
		klaxon.UserPatch{Name: req.Name, Email: req.Email, TimeZone: req.TimeZone, Role: req.Role})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// Contact methods and notification rules.

type createContactMethodRequest struct {
	Type    klaxon.ContactType `json:"type"`
	Address string             `json:"address"`
	Name    string             `json:"name"`
}

func (s *Server) createContactMethod(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req createContactMethodRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c := klaxon.ContactMethod{UserID: userID, Type: req.Type, Address: req.Address, Name: req.Name}
	if err := s.store.CreateContactMethod(r.Context(), principalFrom(r.Context()).actor(), &c); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toContactMethodJSON(c)
	if c.Type == klaxon.ContactWebhook && s.webhookKey != nil {
		// The receiver checks X-Klaxon-Signature with it; shown only here.
		out.SigningSecret = hex.EncodeToString(s.webhookKey(c.ID))
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listContactMethods(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.store.User(r.Context(), userID); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListContactMethods(r.Context(), userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tok := principalFrom(r.Context()).token
	if !tok.Role.Allows(klaxon.RoleAdmin) && (tok.UserID == 0 || tok.UserID != userID) {
		for i := range list {
			list[i].Address = redactedAddress(list[i])
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact_methods": mapJSON(list, toContactMethodJSON)})
}

// redactedAddress hides the part of a push, chat or webhook address that
// works as a credential (whoever has a Slack webhook URL or an ntfy topic
// can post to it) from callers who are neither admins nor its owner: they
// see the scheme and host. Email addresses and phone numbers are how
// colleagues reach each other, and stay.
func redactedAddress(c klaxon.ContactMethod) string {
	switch c.Type {
	case klaxon.ContactPush, klaxon.ContactChat, klaxon.ContactWebhook:
		scheme, rest, ok := strings.Cut(c.Address, "://")
		if !ok {
			return "…"
		}
		host, _, _ := strings.Cut(rest, "/")
		return scheme + "://" + host + "/…"
	}
	return c.Address
}

type createNotificationRuleRequest struct {
	ContactMethodID string `json:"contact_method_id"`
	// DelayMinutes is read by hand so that 1.5 or "5" get an error that
	// says what is wanted; absent or null means 0.
	DelayMinutes json.RawMessage `json:"delay_minutes"`
	Urgency      klaxon.Urgency  `json:"urgency"`
}

func (req createNotificationRuleRequest) delay() (int, error) {
	raw := string(req.DelayMinutes)
	if raw == "" || raw == "null" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, klaxon.FieldError("delay_minutes", "must be a whole number of minutes from 0 to %d, not %s", klaxon.MaxRuleDelayMinutes, klaxon.Truncate(raw, 40))
	}
	return n, nil
}

func (s *Server) createNotificationRule(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req createNotificationRuleRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	cm, err := parseID("contact_method_id", req.ContactMethodID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	delay, err := req.delay()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n := klaxon.NotificationRule{UserID: userID, ContactMethodID: cm, DelayMinutes: delay, Urgency: req.Urgency}
	if err := s.store.CreateNotificationRule(r.Context(), principalFrom(r.Context()).actor(), &n); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toNotificationRuleJSON(n))
}

func (s *Server) listNotificationRules(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.store.User(r.Context(), userID); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListNotificationRules(r.Context(), userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notification_rules": mapJSON(list, toNotificationRuleJSON)})
}
