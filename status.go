package klaxon

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// The public status page: what Klaxon tells the world. One installation
// has one page. Its words (component states, incident statuses, impacts)
// are Statuspage's, so that widgets and aggregators built for Statuspage
// read ours unchanged.

// StatusPage is the page's own settings.
type StatusPage struct {
	Name        string
	Description string
	// TimeZone is an IANA zone name; every absolute time on the page is
	// shown in it.
	TimeZone string
	// URL is the page's public address (for feeds, emails and the JSON's
	// page.url); empty means the address each request came to.
	URL       string
	UpdatedAt time.Time
}

// StatusPagePatch changes some of a page's settings; nil fields stay.
type StatusPagePatch struct {
	Name, Description, TimeZone, URL *string
}

// Validate checks the page's fields.
func (p *StatusPage) Validate() error {
	if err := ValidateName("name", p.Name); err != nil {
		return err
	}
	if err := checkText("description", p.Description, MaxDescriptionLength); err != nil {
		return err
	}
	if err := ValidateTimeZone("time_zone", p.TimeZone); err != nil {
		return err
	}
	if p.URL != "" {
		if err := ValidateURL("url", p.URL); err != nil {
			return err
		}
	}
	return nil
}

// ComponentState is how a component is doing, in Statuspage's words.
type ComponentState string

// The component states.
const (
	ComponentOperational      ComponentState = "operational"
	ComponentDegraded         ComponentState = "degraded_performance"
	ComponentPartialOutage    ComponentState = "partial_outage"
	ComponentMajorOutage      ComponentState = "major_outage"
	ComponentUnderMaintenance ComponentState = "under_maintenance"
)

// ComponentStates are the states, best first.
var ComponentStates = []ComponentState{ComponentOperational, ComponentUnderMaintenance, ComponentDegraded,
	ComponentPartialOutage, ComponentMajorOutage}

// Valid reports whether s is a component state.
func (s ComponentState) Valid() bool { return s.Rank() >= 0 }

// Rank orders states from best (0, operational) to worst (4, major
// outage); -1 for an unknown state. A group shows its worst member.
func (s ComponentState) Rank() int {
	for i, c := range ComponentStates {
		if c == s {
			return i
		}
	}
	return -1
}

// Label is the state as a visitor reads it.
func (s ComponentState) Label() string {
	switch s {
	case ComponentOperational:
		return "Operational"
	case ComponentDegraded:
		return "Degraded Performance"
	case ComponentPartialOutage:
		return "Partial Outage"
	case ComponentMajorOutage:
		return "Major Outage"
	case ComponentUnderMaintenance:
		return "Under Maintenance"
	}
	return string(s)
}

func componentStateError(field string, s ComponentState) error {
	return FieldError(field, "must be operational, degraded_performance, partial_outage, major_outage or under_maintenance, not %q",
		Truncate(string(s), 40))
}

// StatusComponent is one line on the page: a part of the product as
// customers see it, or a group of such parts (Group true). A component
// belongs to at most one group; groups do not nest.
type StatusComponent struct {
	ID          int64
	Name        string
	Description string
	Group       bool
	// GroupID is the group the component is in; 0 for none (and for a
	// group).
	GroupID int64
	// Position orders components within their group, and groups and
	// ungrouped components on the page; creation order unless reordered.
	Position int
	// State is the component's own state; a group's is computed from its
	// members when shown.
	State ComponentState
	// ServiceID links the component to a Klaxon service; 0 for none.
	ServiceID int64
	// FollowService, with a linked service, lets Klaxon set the state
	// itself: FollowState while a critical alert on the service is open,
	// operational when none is (see docs/status-page.md).
	FollowService bool
	FollowState   ComponentState
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Validate checks the component's own fields.
func (c *StatusComponent) Validate() error {
	if err := ValidateName("name", c.Name); err != nil {
		return err
	}
	if err := checkText("description", c.Description, MaxDescriptionLength); err != nil {
		return err
	}
	if !c.State.Valid() {
		return componentStateError("state", c.State)
	}
	if c.FollowState != ComponentMajorOutage && c.FollowState != ComponentPartialOutage && c.FollowState != ComponentDegraded {
		return FieldError("follow_state", "must be major_outage, partial_outage or degraded_performance, not %q", Truncate(string(c.FollowState), 40))
	}
	if c.FollowService && c.ServiceID == 0 {
		return FieldError("follow_service", "needs a linked service (service_id)")
	}
	if c.Group && (c.ServiceID != 0 || c.FollowService) {
		return FieldError("service_id", "a group cannot be linked to a service; link its components")
	}
	return nil
}

// NewStatusComponent is what an admin gives to create a component.
type NewStatusComponent struct {
	Name, Description string
	// Group names the group the component joins, created (at the end) when
	// no group has that name; empty for none.
	Group string
}

// ComponentPatch changes a component; nil fields stay. Group moves the
// component into the named group (created when missing), or out of any
// group when it is empty.
type ComponentPatch struct {
	Name, Description *string
	State             *ComponentState
	Position          *int
	Group             *string
	ServiceID         *int64
	FollowService     *bool
	FollowState       *ComponentState
}

// ComponentChange is one entry of a component's history: every state it
// has been in, from when, and why. Uptime is computed from it.
type ComponentChange struct {
	ComponentID int64
	State       ComponentState
	At          time.Time
	// Source says what made the change: "manual" (an admin),
	// "incident", "maintenance", or "service" (the linked service's
	// alerts, when the component follows it).
	Source string
	// IncidentID is the incident or maintenance behind the change; 0 for
	// none. AlertID is the alert behind a "service" change; 0 for none.
	IncidentID int64
	AlertID    int64
	Actor      string
}

// The sources of a component change.
const (
	ChangeManual      = "manual"
	ChangeIncident    = "incident"
	ChangeMaintenance = "maintenance"
	ChangeService     = "service"
)

// IncidentStatus is where an incident (or a scheduled maintenance) stands.
type IncidentStatus string

// Incident statuses, then maintenance statuses, as Statuspage names them.
const (
	IncidentInvestigating IncidentStatus = "investigating"
	IncidentIdentified    IncidentStatus = "identified"
	IncidentMonitoring    IncidentStatus = "monitoring"
	IncidentResolved      IncidentStatus = "resolved"
	IncidentPostmortem    IncidentStatus = "postmortem"

	MaintenanceScheduled  IncidentStatus = "scheduled"
	MaintenanceInProgress IncidentStatus = "in_progress"
	MaintenanceVerifying  IncidentStatus = "verifying"
	MaintenanceCompleted  IncidentStatus = "completed"
)

// ValidFor reports whether s is a status an incident (maintenance false)
// or a maintenance (true) can take.
func (s IncidentStatus) ValidFor(maintenance bool) bool {
	if maintenance {
		return s == MaintenanceScheduled || s == MaintenanceInProgress || s == MaintenanceVerifying || s == MaintenanceCompleted
	}
	return s == IncidentInvestigating || s == IncidentIdentified || s == IncidentMonitoring || s == IncidentResolved || s == IncidentPostmortem
}

// Closed reports whether the incident or maintenance is over.
func (s IncidentStatus) Closed() bool {
	return s == IncidentResolved || s == IncidentPostmortem || s == MaintenanceCompleted
}

// Label is the status as a visitor reads it.
func (s IncidentStatus) Label() string {
	switch s {
	case MaintenanceInProgress:
		return "In progress"
	case "":
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

func incidentStatusError(field string, s IncidentStatus, maintenance bool) error {
	if maintenance {
		return FieldError(field, "must be scheduled, in_progress, verifying or completed, not %q", Truncate(string(s), 40))
	}
	return FieldError(field, "must be investigating, identified, monitoring, resolved or postmortem, not %q", Truncate(string(s), 40))
}

// IncidentImpact is how bad an incident is, as Statuspage grades it.
type IncidentImpact string

// The impacts.
const (
	ImpactNone        IncidentImpact = "none"
	ImpactMinor       IncidentImpact = "minor"
	ImpactMajor       IncidentImpact = "major"
	ImpactCritical    IncidentImpact = "critical"
	ImpactMaintenance IncidentImpact = "maintenance"
)

// Valid reports whether i is an impact an incident can be given by hand.
func (i IncidentImpact) Valid() bool {
	return i == ImpactNone || i == ImpactMinor || i == ImpactMajor || i == ImpactCritical
}

// StatusIncident is an incident or a scheduled maintenance on the page,
// with its updates, newest first.
type StatusIncident struct {
	ID          int64
	Name        string
	Status      IncidentStatus
	Impact      IncidentImpact
	Maintenance bool
	// ScheduledFor and ScheduledUntil are a maintenance's window; zero for
	// an incident. A maintenance moves itself to in_progress at
	// ScheduledFor and to completed at ScheduledUntil.
	ScheduledFor, ScheduledUntil time.Time
	// CreatedAt is when the incident began as shown (the first update's
	// time, which an import may set in the past); UpdatedAt its latest
	// update's. MonitoringAt and ResolvedAt are zero until then.
	CreatedAt, UpdatedAt     time.Time
	MonitoringAt, ResolvedAt time.Time
	// Postmortem is Markdown; shown once PostmortemPublishedAt is set and
	// not in the future.
	Postmortem            string
	PostmortemPublishedAt time.Time
	Updates               []IncidentUpdate
	// Components are the components the incident affects (any update named
	// them), in page order.
	Components []int64
}

// IncidentUpdate is one timed message on an incident.
type IncidentUpdate struct {
	ID         int64
	IncidentID int64
	Status     IncidentStatus
	Body       string
	// DisplayAt is the time shown (and the order); CreatedAt when it was
	// written into Klaxon. They differ for imported history.
	DisplayAt, CreatedAt time.Time
	Affected             []AffectedComponent
}

// AffectedComponent is a component an update changed (or named), with its
// state before and after.
type AffectedComponent struct {
	ComponentID int64
	Name        string
	Old, New    ComponentState
}

// Limits on incidents.
const (
	MaxIncidentMessage = 64 * 1024
	MaxPostmortem      = 256 * 1024
	// MaxBackdate is how far in the past an update may be placed with "at":
	// far enough to import years of another page's history.
	MaxBackdate = 20 * 365 * 24 * time.Hour
)

// NewIncident opens an incident: its first update, and the component states
// it sets.
type NewIncident struct {
	Name   string
	Status IncidentStatus
	// Impact, when empty, follows from the worst state the incident sets:
	// major outage critical, partial outage major, degraded minor, else
	// none.
	Impact  IncidentImpact
	Message string
	// Components sets each named component (by id) to a state.
	Components map[int64]ComponentState
	// At places the incident's first update in time (for importing history);
	// zero means now.
	At time.Time
}

// Validate checks an incident's opening against now.
func (n *NewIncident) Validate(now time.Time) error {
	if err := ValidateName("name", n.Name); err != nil {
		return err
	}
	if n.Status == "" {
		n.Status = IncidentInvestigating
	}
	if !n.Status.ValidFor(false) {
		return incidentStatusError("status", n.Status, false)
	}
	if n.Impact != "" && !n.Impact.Valid() {
		return FieldError("impact", "must be none, minor, major or critical, not %q", Truncate(string(n.Impact), 40))
	}
	if err := checkText("message", n.Message, MaxIncidentMessage); err != nil {
		return err
	}
	if err := checkComponentStates("components", n.Components); err != nil {
		return err
	}
	return checkAt("at", n.At, now)
}

// NewIncidentUpdate adds an update to an incident or maintenance.
type NewIncidentUpdate struct {
	Status     IncidentStatus // empty keeps the current status
	Message    string
	Components map[int64]ComponentState
	At         time.Time // zero means now
}

// Validate checks an update's own fields against now; whether its status
// fits the incident is the store's to say.
func (u *NewIncidentUpdate) Validate(now time.Time) error {
	if u.Status != "" && !u.Status.ValidFor(false) && !u.Status.ValidFor(true) {
		return FieldError("status", "must be an incident status (investigating, identified, monitoring, resolved, postmortem) or a maintenance status (scheduled, in_progress, verifying, completed), not %q",
			Truncate(string(u.Status), 40))
	}
	if err := checkText("message", u.Message, MaxIncidentMessage); err != nil {
		return err
	}
	if err := checkComponentStates("components", u.Components); err != nil {
		return err
	}
	return checkAt("at", u.At, now)
}

// NewMaintenance schedules a maintenance on some components.
type NewMaintenance struct {
	Name, Message                string
	Components                   []int64
	ScheduledFor, ScheduledUntil time.Time
}

// MaxMaintenanceLength is the longest scheduled maintenance: 30 days.
const MaxMaintenanceLength = 30 * 24 * time.Hour

// Validate checks a maintenance's fields.
func (m *NewMaintenance) Validate() error {
	if err := ValidateName("name", m.Name); err != nil {
		return err
	}
	if err := checkText("message", m.Message, MaxIncidentMessage); err != nil {
		return err
	}
	switch {
	case m.ScheduledFor.IsZero():
		return FieldError("scheduled_for", "is required (RFC 3339)")
	case m.ScheduledUntil.IsZero():
		return FieldError("scheduled_until", "is required (RFC 3339)")
	case !m.ScheduledUntil.After(m.ScheduledFor):
		return FieldError("scheduled_until", "must be after scheduled_for")
	case m.ScheduledUntil.Sub(m.ScheduledFor) > MaxMaintenanceLength:
		return FieldError("scheduled_until", "must be at most 30 days after scheduled_for")
	}
	seen := map[int64]bool{}
	for _, id := range m.Components {
		if id <= 0 || seen[id] {
			return FieldError("components", "must list distinct component ids")
		}
		seen[id] = true
	}
	return nil
}

// Postmortem is an incident's write-up.
type Postmortem struct {
	Body string // Markdown
	// PublishedAt is when it appears on the page; zero keeps it a draft.
	PublishedAt time.Time
}

// Validate checks a postmortem.
func (p *Postmortem) Validate() error {
	if strings.TrimSpace(p.Body) == "" {
		return FieldError("body", "is required (Markdown)")
	}
	return checkText("body", p.Body, MaxPostmortem)
}

func checkComponentStates(field string, m map[int64]ComponentState) error {
	for id, s := range m {
		if id <= 0 {
			return FieldError(field, "keys must be component ids")
		}
		if !s.Valid() {
			return componentStateError(fmt.Sprintf("%s.%d", field, id), s)
		}
	}
	return nil
}

func checkAt(field string, at, now time.Time) error {
	switch {
	case at.IsZero():
		return nil
	case at.After(now.Add(time.Minute)):
		return FieldError(field, "is in the future; an update is placed at or before now")
	case now.Sub(at) > MaxBackdate:
		return FieldError(field, "is more than 20 years ago")
	}
	return nil
}

// StatusSnapshot is everything the public page shows, read at one instant:
// the renderer needs nothing else.
type StatusSnapshot struct {
	Page StatusPage
	// Components in page order: each group followed by its members, and
	// ungrouped components in their places.
	Components []StatusComponent
	// Incidents are every incident and maintenance to show (unresolved,
	// upcoming, and history), newest first, with their updates.
	Incidents []StatusIncident
	// History holds each component's state changes since HistorySince,
	// oldest first, preceded by the last change before it (so the state at
	// HistorySince is known).
	History      []ComponentChange
	HistorySince time.Time
	// Generation changes whenever anything above changes.
	Generation int64
	ReadAt     time.Time
}

// SubscriberKind is how a subscriber is told.
type SubscriberKind string

// The subscriber kinds.
const (
	SubscriberEmail   SubscriberKind = "email"
	SubscriberWebhook SubscriberKind = "webhook"
)

// StatusSubscriber is someone told of every incident update (or only of
// those on Components). An email subscriber is told nothing until it has
// confirmed its address (double opt-in); a webhook subscriber, which an
// admin creates, is confirmed at once.
type StatusSubscriber struct {
	ID      int64
	Kind    SubscriberKind
	Address string // the email address or the webhook URL
	// Components limits the subscription to incidents affecting one of
	// them; empty means everything.
	Components     []int64
	ConfirmedAt    time.Time
	UnsubscribedAt time.Time
	CreatedAt      time.Time
}

// Active reports whether the subscriber is told of updates.
func (s StatusSubscriber) Active() bool { return !s.ConfirmedAt.IsZero() && s.UnsubscribedAt.IsZero() }

// Validate checks a subscriber's fields.
func (s *StatusSubscriber) Validate() error {
	switch s.Kind {
	case SubscriberEmail:
		a, err := mail.ParseAddress(s.Address)
		if err != nil || a.Address != s.Address || len(s.Address) > 254 {
			return FieldError("email", "must be a plain email address such as ops@example.com")
		}
	case SubscriberWebhook:
		if err := ValidateURL("url", s.Address); err != nil {
			return err
		}
		if u, err := url.Parse(s.Address); err == nil && u.User != nil {
			return FieldError("url", "must not contain a user name or password; receivers check the signature instead")
		}
	default:
		return FieldError("kind", "must be email or webhook, not %q", Truncate(string(s.Kind), 40))
	}
	seen := map[int64]bool{}
	for _, id := range s.Components {
		if id <= 0 || seen[id] {
			return FieldError("components", "must list distinct component ids")
		}
		seen[id] = true
	}
	return nil
}

// StatusDeliveryKind is what a delivery to a subscriber carries.
type StatusDeliveryKind string

// The delivery kinds.
const (
	// DeliveryConfirm asks an email subscriber to confirm the address.
	DeliveryConfirm StatusDeliveryKind = "confirm"
	// DeliveryUpdate carries one incident update.
	DeliveryUpdate StatusDeliveryKind = "update"
)

// StatusDelivery is one message owed to one subscriber: created in the
// transaction that made the update (or the subscription), so each update
// reaches each subscriber once, across restarts.
type StatusDelivery struct {
	ID         int64
	Kind       StatusDeliveryKind
	Subscriber StatusSubscriber
	// Incident is the incident as it stood after the update, and UpdateID
	// the update carried; both zero for a confirmation.
	Incident StatusIncident
	UpdateID int64
	Attempts int
	// Page is the page's settings when the delivery was claimed.
	Page StatusPage
}

// StatusDeliveryResult is how a delivery attempt ended.
type StatusDeliveryResult struct {
	Sent    bool      // delivered: never again
	Failed  bool      // given up: never again
	RetryAt time.Time // otherwise: pending again at RetryAt
	Error   string
}
