package klaxon

import (
	"strings"
	"time"
)

// AlertStatus is where an alert is in its life.
type AlertStatus string

// The alert statuses. An alert only moves forward: triggered → acknowledged →
// resolved (a trigger on an acknowledged alert leaves it acknowledged).
const (
	AlertTriggered    AlertStatus = "triggered"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertResolved     AlertStatus = "resolved"
)

// Valid reports whether s is one of the three statuses.
func (s AlertStatus) Valid() bool {
	return s == AlertTriggered || s == AlertAcknowledged || s == AlertResolved
}

// Urgency decides whether an alert wakes people (high) or waits (low).
type Urgency string

// The urgencies.
const (
	UrgencyHigh Urgency = "high"
	UrgencyLow  Urgency = "low"
)

// Valid reports whether u is high or low.
func (u Urgency) Valid() bool { return u == UrgencyHigh || u == UrgencyLow }

// UrgencyFor is the default urgency of a severity: critical and error wake
// people, warning and info do not.
func UrgencyFor(s Severity) Urgency {
	if s.Rank() >= SeverityError.Rank() {
		return UrgencyHigh
	}
	return UrgencyLow
}

// Alert is the deduplicated, stateful thing on a service. All events with the
// same (service, dedup key) fold into one open alert.
type Alert struct {
	ID             int64
	ServiceID      int64
	DedupKey       string
	Status         AlertStatus
	Severity       Severity
	Urgency        Urgency
	Summary        string
	Source         string
	Component      string
	Group          string
	Class          string
	EventCount     int64
	CreatedAt      time.Time
	AcknowledgedAt *time.Time
	ResolvedAt     *time.Time
	LastEventAt    time.Time
}

// MaxNoteLength bounds a note's body.
const MaxNoteLength = 10000

// ValidateNote checks a note's body: required, bounded, valid text.
func ValidateNote(body string) error {
	if strings.TrimSpace(body) == "" {
		return FieldError("body", "is required")
	}
	return checkText("body", body, MaxNoteLength)
}

// AlertLogEntry records something that happened to an alert other than an
// event: who acknowledged or resolved it by hand, and how.
type AlertLogEntry struct {
	ID      int64
	AlertID int64
	At      time.Time
	Kind    string // "acknowledged", "resolved", "note"
	Actor   string
	Message string
}
