package klaxon

import "time"

// Schedule is who is on call when, as a person declared it: a time zone and
// layers of rotations. Wall-clock fields stay in their declared text form
// ("2026-03-07T09:00", "09:00", "mon") so that what was written is what is
// shown back; internal/schedule compiles a Schedule into the arithmetic that
// answers "who is on call at T", and that compilation is its validation.
type Schedule struct {
	ID          int64
	Name        string
	Description string
	TimeZone    string
	Layers      []ScheduleLayer
	// FeedGeneration counts rotations of the schedule's calendar feed URL;
	// the URL of an earlier generation no longer works.
	FeedGeneration int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ScheduleLayer is one rotation. Where several layers have someone, the
// later layer wins.
type ScheduleLayer struct {
	Name          string
	Start         string // wall-clock hand-off start in the schedule's zone, "2006-01-02T15:04"
	RotationUnit  string // hour, day or week
	RotationEvery int
	UserIDs       []int64 // participants in rotation order; a person may appear twice
	Restrictions  []Restriction
}

// Restriction limits a layer to windows of the day on some days of the week.
type Restriction struct {
	Days []string // "mon" … "sun"; empty means every day
	From string   // "09:00"
	To   string   // "17:00"; at or before From means the window runs past midnight
}

// Override puts one person on call over every layer of a schedule for a
// while. Overrides are kept in creation order: where two overlap, the later
// one wins.
type Override struct {
	ID         int64
	ScheduleID int64
	UserID     int64
	Start, End time.Time
	CreatedAt  time.Time
}

// Validate checks what a schedule's layers cannot: its name and description.
func (s *Schedule) Validate() error {
	if err := ValidateName("name", s.Name); err != nil {
		return err
	}
	return checkText("description", s.Description, MaxDescriptionLength)
}

// TargetType is what an escalation step pages.
type TargetType string

// The escalation target types. A schedule and a team resolve to people when
// the step fires, not when the policy is written.
const (
	TargetUser     TargetType = "user"
	TargetSchedule TargetType = "schedule"
	TargetTeam     TargetType = "team"
)

// Valid reports whether t is a target type.
func (t TargetType) Valid() bool { return t == TargetUser || t == TargetSchedule || t == TargetTeam }

// Target is one thing an escalation step pages.
type Target struct {
	Type TargetType
	ID   int64
}

// EscalationStep pages its targets, then waits DelayMinutes before the next
// step.
type EscalationStep struct {
	DelayMinutes int
	Targets      []Target
}

// EscalationPolicy is the ordered steps a triggered alert walks until someone
// acknowledges it; the whole policy runs 1 + Repeat times.
type EscalationPolicy struct {
	ID          int64
	Name        string
	Description string
	Repeat      int
	Steps       []EscalationStep
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Validate checks what internal/escalation does not: the policy's name and
// description.
func (p *EscalationPolicy) Validate() error {
	if err := ValidateName("name", p.Name); err != nil {
		return err
	}
	return checkText("description", p.Description, MaxDescriptionLength)
}

// FeedKind is what a calendar (iCal) feed shows: one schedule, or one
// person's shifts across every schedule.
type FeedKind string

// The feed kinds.
const (
	FeedSchedule FeedKind = "schedule"
	FeedUser     FeedKind = "user"
)
