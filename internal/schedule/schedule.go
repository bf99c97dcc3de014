package schedule

import (
	"time"
)

// Unit is the length a rotation counts its shifts in.
type Unit string

// The rotation units. Days and weeks are counted on the wall calendar of
// the schedule's zone, so hand-offs keep their wall-clock time across DST
// changes; hours are counted in real elapsed time, because a wall-clock
// hour is ambiguous on the days the clocks change.
const (
	UnitHour Unit = "hour"
	UnitDay  Unit = "day"
	UnitWeek Unit = "week"
)

// Rotation is how long each shift of a layer lasts: Every units.
type Rotation struct {
	Unit  Unit
	Every int
}

// Restriction limits a layer to one window of the day, [From, To) on the
// wall clock, on some days of the week. A layer with restrictions only has
// someone on call inside them, so the layers below it show through outside.
type Restriction struct {
	// Days the window starts on; empty means every day.
	Days []time.Weekday
	// From is where the window starts. To is where it ends: at or before
	// From it ends on the next day (From == To is 24 hours), and 24:00 is
	// midnight at the end of the day.
	From, To TimeOfDay
}

// Layer is one rotation: its participants take shifts in turn from Start,
// a wall-clock hand-off time in the schedule's zone. Before Start the
// layer has nobody.
type Layer struct {
	Name         string
	Start        LocalTime
	Rotation     Rotation
	Users        []int64 // in rotation order; a person may appear twice
	Restrictions []Restriction
}

// Override puts one person on call over every layer for [Start, End).
type Override struct {
	UserID     int64
	Start, End time.Time
}

// Schedule is who is on call when: layers in a time zone, where a later
// layer wins over an earlier one, and overrides over all layers, a later
// override over an earlier one. It is plain data; OnCallAt, Shifts and
// Gaps compute from it without caching anything, so a Schedule can be
// shared between goroutines as long as nobody writes to it.
//
// The answers are only promised for a schedule that passes Validate; an
// invalid one never makes them panic, but its broken layers have nobody.
type Schedule struct {
	Location  *time.Location
	Layers    []Layer
	Overrides []Override
}

// Shift is a stretch of time one person is on call, [Start, End).
type Shift struct {
	UserID     int64
	Start, End time.Time
}

// Interval is a stretch of time [Start, End); Gaps uses it for the times
// nobody is on call.
type Interval struct {
	Start, End time.Time
}

// OnCallAt answers who is on call at t, and false when nobody is. It
// computes the shift holding t directly, without walking the shifts since
// a layer began, because escalations ask it for many schedules at once.
func (s *Schedule) OnCallAt(t time.Time) (userID int64, ok bool) {
	t = t.Round(0) // compare wall clocks, as Shifts does
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		o := &s.Overrides[i]
		if !t.Before(o.Start) && t.Before(o.End) {
			return o.UserID, true
		}
	}
	// Layer hand-offs fall on whole seconds, so the second t is in decides.
	u := clampInstant(t.Unix())
	loc := orUTC(s.Location)
	z := resolver{loc: loc}
	for i := len(s.Layers) - 1; i >= 0; i-- {
		r := newRotor(&s.Layers[i], loc)
		if user, ok := r.userAt(&z, u); ok {
			return user, true
		}
	}
	return 0, false
}

// Shifts lists who is on call over [from, to), in order. Pieces that touch
// and have the same person are merged into one shift, wherever they come
// from, so a person who covers their own hand-off sees one shift. Shifts
// at the edges are cut at from and to; times are in UTC.
func (s *Schedule) Shifts(from, to time.Time) []Shift {
	segs := s.timeline(from, to)
	if len(segs) == 0 {
		return nil
	}
	out := make([]Shift, 0, len(segs))
	for _, seg := range segs {
		if seg.on {
			out = append(out, Shift{UserID: seg.user, Start: seg.start, End: seg.end})
		}
	}
	return out
}

// Gaps lists the times in [from, to) when nobody is on call, in order, so
// that they can be alerted on before they happen. Together with Shifts
// they cover [from, to) exactly once.
func (s *Schedule) Gaps(from, to time.Time) []Interval {
	segs := s.timeline(from, to)
	if len(segs) == 0 {
		return nil
	}
	out := make([]Interval, 0, (len(segs)+1)/2) // gaps never touch
	for _, seg := range segs {
		if !seg.on {
			out = append(out, Interval{Start: seg.start, End: seg.end})
		}
	}
	return out
}
