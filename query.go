package klaxon

import "time"

// Page asks for one page of a list, newest first: Limit rows with ids below
// Before (0 for the first page). Lists page by id so that a page is stable
// while new rows arrive.
type Page struct {
	Before int64
	Limit  int
}

// Page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Normalized fills in defaults and clamps the limit.
func (p Page) Normalized() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit > MaxPageSize {
		p.Limit = MaxPageSize
	}
	if p.Before <= 0 {
		p.Before = 1<<63 - 1
	}
	return p
}

// AlertFilter narrows a list of alerts. Zero fields do not filter.
type AlertFilter struct {
	Status    AlertStatus
	ServiceID int64
	Since     time.Time // alerts created at or after
	Page
}

// ServicePatch holds the fields of a service that an update may change; nil
// means unchanged.
type ServicePatch struct {
	Name        *string
	Description *string
	State       *ServiceState
	// EscalationPolicyID set to 0 detaches the service from its policy.
	EscalationPolicyID *int64
	AckTimeoutMinutes  *int
}

// IngestResult says what one stored event did.
type IngestResult struct {
	// AlertID is the alert the event folded into: the new or existing open
	// alert for a trigger, the alert acted on for acknowledge and resolve,
	// or 0 when an acknowledge or resolve found no open alert.
	AlertID int64
	// Created is true when a trigger opened a new alert.
	Created bool
}

// SchedulePatch holds the fields of a schedule an update may change; nil
// means unchanged. Layers, when given, replace all layers: a rotation's
// order is one thing, edited whole.
type SchedulePatch struct {
	Name        *string
	Description *string
	TimeZone    *string
	Layers      *[]ScheduleLayer
}

// PolicyPatch holds the fields of an escalation policy an update may change;
// nil means unchanged. Steps, when given, replace all steps.
type PolicyPatch struct {
	Name        *string
	Description *string
	Repeat      *int
	Steps       *[]EscalationStep
}
