package schedule

import (
	"time"

	"github.com/klaxonhq/klaxon"
)

// This file places wall-clock readings on the time line. time.Date leaves
// unspecified which instant it picks for a reading that a DST change skips
// or repeats; a schedule must answer the same way every time, so the
// resolution is done here, by rules written down and tested:
//
//   - a reading that happens once is that instant;
//   - a reading that happens twice (clocks go back) is the earlier one;
//   - a reading that never happens (clocks go forward) is moved forward by
//     the length of the jump: 02:30 on a day that skips 02:00–03:00 is 03:30.
//
// These are java.time's rules (ZonedDateTime.of) and RFC 5545's (§3.3.5).

// LoadZone loads the IANA time zone a schedule runs in, as the field
// "time_zone" names it. It refuses the empty name and "Local", which
// time.LoadLocation would turn into UTC and the server's own zone, so that
// a schedule never depends on where Klaxon happens to run. It reads the
// system's time zone database, the one I/O this package does.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, klaxon.FieldError("time_zone", "is required: an IANA time zone such as \"Europe/London\"")
	case "Local":
		return nil, klaxon.FieldError("time_zone", "must be an IANA time zone such as \"Europe/London\", not \"Local\"")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, klaxon.FieldError("time_zone", "unknown time zone %q: want an IANA name such as \"Europe/London\"", name)
	}
	return loc, nil
}

// In is the instant at which the wall clock in loc reads t, by the rules at
// the top of this file. A nil loc means UTC.
func (t LocalTime) In(loc *time.Location) time.Time {
	z := resolver{loc: orUTC(loc)}
	return time.Unix(z.instant(t.wall()), 0).In(orUTC(loc))
}

// orUTC guards against a nil Location, which time.Time.In panics on.
func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

const (
	// maxZoneOffset bounds how far any zone's clock is from UTC. The tz
	// database's extreme is Manila's local mean time before 1845, −15:56;
	// java.time bounds offsets at ±18:00 too.
	maxZoneOffset = 18 * 3600

	// unique is how far a reading's instant must lie inside one zone period
	// for no other period to claim the same reading: any other claimant is
	// at most two maximal offsets away.
	unique = 2 * maxZoneOffset

	// minInstant and maxInstant bound the instants the arithmetic works
	// with, about ±1.1 billion years, so that no sum of seconds overflows.
	minInstant = -(1 << 55)
	maxInstant = 1 << 55

	// unbounded marks a zone period without a start or an end.
	unbounded = 1 << 62
)

// period is a stretch of time over which a zone's offset does not change:
// [start, end) in Unix seconds, and the offset in seconds east of UTC.
type period struct {
	start, end, off int64
}

// lookup finds the zone period holding instant x.
func lookup(loc *time.Location, x int64) period {
	t := time.Unix(x, 0).In(loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	p := period{start: -unbounded, end: unbounded, off: int64(off)}
	if !start.IsZero() {
		p.start = start.Unix()
	}
	if !end.IsZero() {
		p.end = end.Unix()
	}
	return p
}

// resolver converts between wall-clock seconds and instants in one zone. It
// remembers the last zone period it looked up, because the readings one
// query resolves lie close together: far from a DST change a resolution is
// then a subtraction, and the zone database is consulted only near one.
// A resolver is used by one goroutine, for one query.
type resolver struct {
	loc    *time.Location
	cached period
	ok     bool
}

// instant resolves the wall-clock reading w (seconds on the zone-less time
// line of LocalTime.wall) to Unix seconds.
func (z *resolver) instant(w int64) int64 {
	if z.ok {
		u := w - z.cached.off
		if u-unique >= z.cached.start && u+unique < z.cached.end {
			return u
		}
	}
	return z.slow(w)
}

// slow resolves w by looking at every zone period an instant for w could
// lie in: those within maxZoneOffset of w.
func (z *resolver) slow(w int64) int64 {
	var periods [8]period
	n := 0
	for x := w - maxZoneOffset; n < len(periods); {
		p := lookup(z.loc, x)
		periods[n] = p
		n++
		if p.end > w+maxZoneOffset {
			break
		}
		x = p.end
	}
	// The reading happens in each period whose offset takes it inside that
	// period; the earliest such instant wins.
	found := false
	var best int64
	var bestPeriod period
	for _, p := range periods[:n] {
		if u := w - p.off; u >= p.start && u < p.end && (!found || u < best) {
			found, best, bestPeriod = true, u, p
		}
	}
	if found {
		z.cached, z.ok = bestPeriod, true
		return best
	}
	// The reading is skipped: at some transition T the wall clock jumped
	// from T+before to T+after, over it (T+before ≤ w < T+after). Reading
	// it with the offset from before the jump lands the length of the jump
	// later on the new clock.
	for i := 0; i+1 < n; i++ {
		t, before, after := periods[i].end, periods[i].off, periods[i+1].off
		if t+before <= w && w < t+after {
			u := w - before
			if u < periods[i+1].end {
				z.cached, z.ok = periods[i+1], true
			}
			return u
		}
	}
	// Unreachable for a well-formed zone; answer something deterministic.
	return w - periods[0].off
}

// offsetAt is the zone's offset at instant u, in seconds east of UTC.
func (z *resolver) offsetAt(u int64) int64 {
	if !z.ok || u < z.cached.start || u >= z.cached.end {
		z.cached, z.ok = lookup(z.loc, u), true
	}
	return z.cached.off
}

// clampInstant keeps an instant, in Unix seconds, inside the range the
// arithmetic is exact in.
func clampInstant(u int64) int64 {
	return min(max(u, minInstant), maxInstant)
}
