package schedule

import (
	"fmt"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Compile turns a schedule as people wrote it (klaxon.Schedule keeps the
// text "2026-03-07T09:00", "09:00", "mon") and its overrides into the
// Schedule the arithmetic runs on. It is also the schedule's validation:
// its errors are *klaxon.Error values naming the JSON field at fault, the
// same ones Validate gives.
//
// Overrides come from storage, which refused overlapping ones when they
// were created; Compile does not check them again, because an on-call
// query must answer even if stored data is imperfect. One with End not
// after Start covers nothing; for overlapping ones the later in the list
// wins, so pass them in creation order.
func Compile(sc klaxon.Schedule, overrides []klaxon.Override) (*Schedule, error) {
	return compile(sc, overrides, LoadZone)
}

// Zones remembers the time zones it has loaded. LoadZone reads and parses
// a zone file on every call (about 5 µs, most of the cost of compiling a
// schedule), so a caller that compiles many schedules per request, such as
// "who is on call everywhere now", keeps one Zones and compiles through it.
// The zero value is ready to use; it is safe for concurrent use, and holds
// at most one entry per zone in the tz database.
type Zones struct {
	mu     sync.RWMutex
	byName map[string]*time.Location
}

// Load is LoadZone, remembered.
func (z *Zones) Load(name string) (*time.Location, error) {
	z.mu.RLock()
	loc, ok := z.byName[name]
	z.mu.RUnlock()
	if ok {
		return loc, nil
	}
	loc, err := LoadZone(name)
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	if z.byName == nil {
		z.byName = make(map[string]*time.Location)
	}
	z.byName[name] = loc
	z.mu.Unlock()
	return loc, nil
}

// Compile is the package's Compile, loading the zone through z.
func (z *Zones) Compile(sc klaxon.Schedule, overrides []klaxon.Override) (*Schedule, error) {
	return compile(sc, overrides, z.Load)
}

func compile(sc klaxon.Schedule, overrides []klaxon.Override, loadZone func(string) (*time.Location, error)) (*Schedule, error) {
	loc, err := loadZone(sc.TimeZone)
	if err != nil {
		return nil, err
	}
	s := &Schedule{Location: loc, Layers: make([]Layer, len(sc.Layers))}
	for i, in := range sc.Layers {
		l := &s.Layers[i]
		l.Name = in.Name
		l.Rotation = Rotation{Unit: Unit(in.RotationUnit), Every: in.RotationEvery}
		l.Users = in.UserIDs
		if l.Start, err = ParseLocalTime(in.Start); err != nil {
			return nil, klaxon.FieldError(fmt.Sprintf("layers[%d].start", i), "%v", err)
		}
		if len(in.Restrictions) > 0 {
			l.Restrictions = make([]Restriction, len(in.Restrictions))
		}
		for j, r := range in.Restrictions {
			x := &l.Restrictions[j]
			field := func(name string) string { return fmt.Sprintf("layers[%d].restrictions[%d].%s", i, j, name) }
			if len(r.Days) > 0 {
				x.Days = make([]time.Weekday, len(r.Days))
			}
			for k, d := range r.Days {
				if x.Days[k], err = ParseWeekday(d); err != nil {
					return nil, klaxon.FieldError(field(fmt.Sprintf("days[%d]", k)), "%v", err)
				}
			}
			if x.From, err = ParseTimeOfDay(r.From); err != nil {
				return nil, klaxon.FieldError(field("from"), "%v", err)
			}
			if x.To, err = ParseTimeOfDay(r.To); err != nil {
				return nil, klaxon.FieldError(field("to"), "%v", err)
			}
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s.Overrides = make([]Override, len(overrides))
	for i, o := range overrides {
		s.Overrides[i] = Override{UserID: o.UserID, Start: o.Start, End: o.End}
	}
	return s, nil
}
