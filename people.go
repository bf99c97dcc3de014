package klaxon

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate the same on every host, with or without zoneinfo files
	"unicode/utf8"
)

// User is a person: someone who can be paged, and who can be given a role.
// The API authorizes by the role of the API token; a user's role is what
// the console and the tokens minted for them will carry.
type User struct {
	ID    int64
	Name  string
	Email string // unique among users, ignoring ASCII case
	// TimeZone is an IANA zone name ("Europe/Berlin"), used to show the
	// user's shifts and quiet hours in their own wall-clock time.
	TimeZone  string
	Role      Role
	CreatedAt time.Time
	UpdatedAt time.Time
	// Reach is filled in by the store when it reads a user; it is not set
	// by hand.
	Reach Reach
}

// DefaultTimeZone is a user's time zone when none is given.
const DefaultTimeZone = "UTC"

// Validate checks the fields a person sets.
func (u *User) Validate() error {
	if err := ValidateName("name", u.Name); err != nil {
		return err
	}
	if err := ValidateEmail("email", u.Email); err != nil {
		return err
	}
	if err := ValidateTimeZone("time_zone", u.TimeZone); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return FieldError("role", "must be owner, admin, responder or viewer, not %q", Truncate(string(u.Role), 40))
	}
	return nil
}

// UserPatch holds the fields of a user an update may change; nil means
// unchanged.
type UserPatch struct {
	Name     *string
	Email    *string
	TimeZone *string
	Role     *Role
}

// Reach is what the store counts about how a user can be paged. It exists
// so that a person who would not be reached is visible before an alert
// finds out: Warnings turns the counts into words shown beside the user.
type Reach struct {
	ContactMethods   int
	HighUrgencyRules int
	LowUrgencyRules  int
	// Schedules counts the schedules whose layers rotate through the user.
	Schedules int
}

// The warnings Reach.Warnings gives.
const (
	WarningNoContactMethods    = "no contact methods"
	WarningNoNotificationRules = "no notification rules"
	WarningNoHighUrgencyRules  = "no high-urgency notification rules"
	// WarningOnScheduleUnreachable is the one that matters most: a person
	// a schedule will put on call whom no alert can reach.
	WarningOnScheduleUnreachable = "on a schedule but has no notification rules: alerts will not reach them"
)

// Warnings lists, worst first, why the user might not be reached; empty
// when there is nothing to say.
func (r Reach) Warnings() []string {
	w := []string{}
	if r.Schedules > 0 && r.HighUrgencyRules+r.LowUrgencyRules == 0 {
		w = append(w, WarningOnScheduleUnreachable)
	}
	if r.ContactMethods == 0 {
		w = append(w, WarningNoContactMethods)
	}
	switch {
	case r.HighUrgencyRules+r.LowUrgencyRules == 0:
		w = append(w, WarningNoNotificationRules)
	case r.HighUrgencyRules == 0:
		w = append(w, WarningNoHighUrgencyRules)
	}
	return w
}

// TeamRole is what a member is to a team. Managers are recorded for people
// to see; today both roles have the same rights (teams are managed by
// admins).
type TeamRole string

// The team roles.
const (
	TeamMember  TeamRole = "member"
	TeamManager TeamRole = "manager"
)

// Valid reports whether r is a team role.
func (r TeamRole) Valid() bool { return r == TeamMember || r == TeamManager }

// Team is a group of users; an escalation step that targets a team pages
// its members.
type Team struct {
	ID          int64
	Name        string // unique among teams
	Description string
	Members     []TeamMembership // in the order they joined
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TeamMembership puts one user on a team.
type TeamMembership struct {
	UserID int64
	Role   TeamRole
}

// Validate checks the fields a person sets. Whether each member exists is
// the store's to check.
func (t *Team) Validate() error {
	if err := ValidateName("name", t.Name); err != nil {
		return err
	}
	if err := checkText("description", t.Description, MaxDescriptionLength); err != nil {
		return err
	}
	seen := make(map[int64]bool, len(t.Members))
	for i, m := range t.Members {
		at := "members[" + itoa(i) + "]."
		if err := m.validate(at); err != nil {
			return err
		}
		if seen[m.UserID] {
			return FieldError(at+"user_id", "user %d is listed twice", m.UserID)
		}
		seen[m.UserID] = true
	}
	return nil
}

// Validate checks one membership; field names are those of a request that
// adds one member.
func (m TeamMembership) Validate() error { return m.validate("") }

func (m TeamMembership) validate(at string) error {
	if m.UserID <= 0 {
		return FieldError(at+"user_id", "is required")
	}
	if !m.Role.Valid() {
		return FieldError(at+"role", "must be member or manager, not %q", Truncate(string(m.Role), 40))
	}
	return nil
}

// TeamPatch holds the fields of a team an update may change; nil means
// unchanged. Members change one at a time, through their own calls.
type TeamPatch struct {
	Name        *string
	Description *string
}

// ContactType is the channel a contact method uses.
type ContactType string

// The contact method types.
const (
	ContactEmail   ContactType = "email"
	ContactSMS     ContactType = "sms"
	ContactVoice   ContactType = "voice"
	ContactPush    ContactType = "push"
	ContactChat    ContactType = "chat"
	ContactWebhook ContactType = "webhook"
)

// Valid reports whether t is a contact method type.
func (t ContactType) Valid() bool {
	switch t {
	case ContactEmail, ContactSMS, ContactVoice, ContactPush, ContactChat, ContactWebhook:
		return true
	}
	return false
}

// ContactMethod is one way to reach a user. Its address depends on the type:
//   - email: a bare address, "ada@example.com";
//   - sms, voice: an E.164 number, "+14155550123";
//   - chat: the incoming-webhook URL of a Slack, Mattermost or Teams channel;
//   - webhook: the URL Klaxon posts signed notifications to;
//   - push: the URL of the push endpoint: an ntfy topic ("https://ntfy.sh/ada-pager"),
//     a Gotify message URL, or a Web Push subscription endpoint.
type ContactMethod struct {
	ID        int64
	UserID    int64
	Type      ContactType
	Address   string
	Name      string // a label ("Work phone"); the type when not given
	CreatedAt time.Time
	// VerifiedAt is when the address was proven to reach the person: at
	// creation for every type but SMS and voice, whose numbers are used only
	// once a code sent to them has been entered. Nil means not verified.
	VerifiedAt *time.Time
}

// NeedsVerification reports whether a contact method of type t must be
// verified before it is used: a mistyped phone number pages a stranger.
func (t ContactType) NeedsVerification() bool { return t == ContactSMS || t == ContactVoice }

// Limits on contact method addresses.
const (
	MaxEmailLength = 254 // RFC 5321's limit on a forward path
	MaxURLLength   = 2048
)

// Validate checks the type, and the address for that type.
func (c *ContactMethod) Validate() error {
	if c.Type == "" {
		return FieldError("type", "is required (email, sms, voice, push, chat or webhook)")
	}
	if !c.Type.Valid() {
		return FieldError("type", "must be email, sms, voice, push, chat or webhook, not %q", Truncate(string(c.Type), 40))
	}
	if err := ValidateName("name", c.Name); err != nil {
		return err
	}
	if c.Address == "" {
		return FieldError("address", "is required")
	}
	switch c.Type {
	case ContactEmail:
		return ValidateEmail("address", c.Address)
	case ContactSMS, ContactVoice:
		return ValidatePhone("address", c.Address)
	case ContactChat:
		// A chat webhook may name its flavour when the host does not
		// ("mattermost+https://chat.example.com/hooks/…").
		addr := c.Address
		for _, flavour := range []string{"slack+", "mattermost+", "teams+"} {
			addr = strings.TrimPrefix(addr, flavour)
		}
		return ValidateURL("address", addr)
	default:
		return ValidateURL("address", c.Address)
	}
}

// NotificationRule says "DelayMinutes after I am paged for an alert of this
// Urgency, use ContactMethodID". The contact method is the user's own.
type NotificationRule struct {
	ID              int64
	UserID          int64
	ContactMethodID int64
	DelayMinutes    int
	Urgency         Urgency
	CreatedAt       time.Time
}

// MaxRuleDelayMinutes bounds a notification rule's delay: a day. A rule
// that waits longer would page someone about an alert long since handled by
// escalation.
const MaxRuleDelayMinutes = 1440

// Validate checks the fields a person sets. That the contact method is the
// user's own is the store's to check.
func (n *NotificationRule) Validate() error {
	if n.ContactMethodID <= 0 {
		return FieldError("contact_method_id", "is required")
	}
	if n.DelayMinutes < 0 || n.DelayMinutes > MaxRuleDelayMinutes {
		return FieldError("delay_minutes", "must be from 0 to %d minutes, not %d", MaxRuleDelayMinutes, n.DelayMinutes)
	}
	if n.Urgency == "" {
		return FieldError("urgency", "is required (high or low)")
	}
	if !n.Urgency.Valid() {
		return FieldError("urgency", "must be high or low, not %q", Truncate(string(n.Urgency), 40))
	}
	return nil
}

// ValidateEmail checks a bare email address, "ada@example.com": what
// net/mail parses as an address, with no display name, comment or angle
// brackets around it.
func ValidateEmail(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return FieldError(field, "is required")
	}
	if len(s) > MaxEmailLength {
		return FieldError(field, "is %d bytes long; an email address has at most %d", len(s), MaxEmailLength)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return FieldError(field, "must be a bare email address such as ada@example.com, not %q", Truncate(s, 64))
	}
	return nil
}

// ValidatePhone checks an E.164 phone number: "+", then 8 to 15 digits, the
// first not 0. Spaces, dashes and brackets are refused rather than guessed
// at, so that the number stored is the number dialled.
func ValidatePhone(field, s string) error {
	digits := strings.TrimPrefix(s, "+")
	ok := len(digits) < len(s) && len(digits) >= 8 && len(digits) <= 15 && digits[0] != '0'
	for i := 0; ok && i < len(digits); i++ {
		ok = digits[i] >= '0' && digits[i] <= '9'
	}
	if !ok {
		return FieldError(field, "must be an E.164 phone number: + and 8 to 15 digits, the first not 0, such as +14155550123; not %q", Truncate(s, 40))
	}
	return nil
}

// ValidateURL checks an absolute http or https URL with a host.
func ValidateURL(field, s string) error {
	if len(s) > MaxURLLength {
		return FieldError(field, "is %d bytes long; at most %d are allowed", len(s), MaxURLLength)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return FieldError(field, "must be a URL without spaces or control characters")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return FieldError(field, "must be an http or https URL with a host, such as https://hooks.example.com/klaxon; not %q", Truncate(s, 64))
	}
	return nil
}

// ValidateTimeZone checks an IANA time zone name that time.LoadLocation
// knows. "Local" is refused: it would mean whatever zone the server runs in.
func ValidateTimeZone(field, s string) error {
	if s == "" {
		return FieldError(field, "is required: an IANA time zone such as Europe/Berlin or UTC")
	}
	if s == "Local" || len(s) > 64 {
		return FieldError(field, "must be an IANA time zone such as Europe/Berlin or UTC, not %q", Truncate(s, 40))
	}
	if _, err := time.LoadLocation(s); err != nil {
		return FieldError(field, "must be an IANA time zone such as Europe/Berlin or UTC, not %q", Truncate(s, 40))
	}
	return nil
}
