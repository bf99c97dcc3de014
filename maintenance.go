package klaxon

import "time"

// MaintenanceWindow is a span of time in which a service's alerts are
// recorded and escalate as usual, but nobody is paged: planned work should
// not wake anyone. Its notifications are kept, marked suppressed with the
// reason, so that afterwards it is clear what would have been sent.
type MaintenanceWindow struct {
	ID          int64
	ServiceID   int64
	Start, End  time.Time
	Description string
	CreatedAt   time.Time
}

// MaxMaintenanceWindow is the longest window: a week. A service that
// should page nobody for longer should not have an escalation policy.
const MaxMaintenanceWindow = 7 * 24 * time.Hour

// Validate checks the window's own fields.
func (m *MaintenanceWindow) Validate() error {
	switch {
	case m.Start.IsZero():
		return FieldError("start", "is required (RFC 3339)")
	case m.End.IsZero():
		return FieldError("end", "is required (RFC 3339)")
	case !m.End.After(m.Start):
		return FieldError("end", "must be after start")
	case m.End.Sub(m.Start) > MaxMaintenanceWindow:
		return FieldError("end", "must be at most 7 days after start")
	}
	return checkText("description", m.Description, MaxDescriptionLength)
}

// Active reports whether the window covers instant t.
func (m MaintenanceWindow) Active(t time.Time) bool {
	return !t.Before(m.Start) && t.Before(m.End)
}
