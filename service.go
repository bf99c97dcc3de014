package klaxon

import (
	"strings"
	"time"
	"unicode/utf8"
)

// ServiceState is a service's place in its lifecycle. Services are never hard
// deleted outside the guarded deletion path.
type ServiceState string

// The service states that can be set by hand.
const (
	ServiceActive     ServiceState = "active"
	ServiceDeprecated ServiceState = "deprecated"
)

// Valid reports whether s can be set through the API.
func (s ServiceState) Valid() bool { return s == ServiceActive || s == ServiceDeprecated }

// Service is something that can be in trouble. It owns alerts and has
// integrations through which events reach it.
type Service struct {
	ID          int64
	Name        string
	Description string
	State       ServiceState
	// EscalationPolicyID is the policy a triggered alert walks; 0 for none
	// (the alert is recorded and shown, and pages nobody).
	EscalationPolicyID int64
	// AckTimeoutMinutes, when positive, re-triggers an alert that is still
	// acknowledged and unresolved that many minutes after the
	// acknowledgement, so that an alert someone took and forgot pages again.
	AckTimeoutMinutes int
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Limits on names and descriptions.
const (
	MaxNameLength        = 255
	MaxDescriptionLength = 4096
	// MaxAckTimeoutMinutes is one day: an acknowledgement that should expire
	// later than that is better served by a person than a timer.
	MaxAckTimeoutMinutes = 24 * 60
)

// Validate checks the fields a person sets.
func (s *Service) Validate() error {
	if err := ValidateName("name", s.Name); err != nil {
		return err
	}
	if err := checkText("description", s.Description, MaxDescriptionLength); err != nil {
		return err
	}
	if !s.State.Valid() {
		return FieldError("state", "must be active or deprecated, not %q", Truncate(string(s.State), 40))
	}
	if s.AckTimeoutMinutes < 0 || s.AckTimeoutMinutes > MaxAckTimeoutMinutes {
		return FieldError("ack_timeout_minutes", "must be between 0 (never) and %d minutes, got %d", MaxAckTimeoutMinutes, s.AckTimeoutMinutes)
	}
	return nil
}

// ValidateName checks a required, bounded, printable name.
func ValidateName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return FieldError(field, "is required")
	}
	if err := checkText(field, name, MaxNameLength); err != nil {
		return err
	}
	if strings.ContainsAny(name, "\x00\r\n") || !utf8.ValidString(name) {
		return FieldError(field, "must be a single line of text")
	}
	return nil
}

// IntegrationKind is the kind of door an integration is. Each kind has its own
// decoder; the api kind speaks both Klaxon's native format and PagerDuty's.
type IntegrationKind string

// The integration kinds available now.
const (
	IntegrationAPI       IntegrationKind = "api"
	IntegrationPagerDuty IntegrationKind = "pagerduty"
)

// Valid reports whether k is a kind that can be created.
func (k IntegrationKind) Valid() bool { return k == IntegrationAPI || k == IntegrationPagerDuty }

// Integration is an inbound door into a service, opened by a secret key. Only
// the key's hash is stored.
type Integration struct {
	ID        int64
	ServiceID int64
	Name      string
	Kind      IntegrationKind
	KeyHash   []byte
	KeyHint   string // the last four characters, to tell keys apart
	CreatedAt time.Time
	RotatedAt *time.Time
}
