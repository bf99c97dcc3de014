package schedule

import (
	"slices"
	"time"
)

// This file is the arithmetic of one layer: which shift holds an instant,
// where shifts hand off, and which restriction windows are open. Instants
// are Unix seconds: hand-offs and window edges are whole minutes on the
// wall clock, and zone offsets are whole seconds, so every boundary a layer
// makes falls on a whole second.

// piece is a stretch [start, end) of Unix seconds with one person on call,
// or with nobody when on is false.
type piece struct {
	start, end int64
	user       int64
	on         bool
}

// rotor is one layer made ready for arithmetic: its start resolved to an
// instant and its rotation reduced to integers.
type rotor struct {
	users  []int64
	restr  []Restriction
	ok     bool  // false for a layer too broken to have anyone
	start  int64 // the first hand-off
	hourly bool
	span   int64 // hourly: seconds per shift; otherwise days per shift
	day0   int64 // day number (daysFromCivil) of the first hand-off
	tod    int64 // seconds after midnight of every hand-off
}

// newRotor prepares a layer. Shift k starts at Start + k·Every units:
// for hours in real elapsed time, for days and weeks on the wall calendar,
// each hand-off resolved in the zone on its own.
func newRotor(l *Layer, loc *time.Location) rotor {
	every := int64(l.Rotation.Every)
	if len(l.Users) == 0 || every < 1 || every > int64(maxEvery(l.Rotation.Unit)) || l.Start.check() != nil {
		return rotor{}
	}
	z := resolver{loc: loc} // its own, so as not to evict the query's period
	r := rotor{users: l.Users, restr: l.Restrictions, ok: true, start: z.instant(l.Start.wall())}
	r.day0 = daysFromCivil(int64(l.Start.Year), int(l.Start.Month), l.Start.Day)
	r.tod = int64(l.Start.Hour)*3600 + int64(l.Start.Minute)*60
	switch l.Rotation.Unit {
	case UnitHour:
		r.hourly, r.span = true, every*3600
	case UnitDay:
		r.span = every
	case UnitWeek:
		r.span = 7 * every
	}
	return r
}

// handoff is the instant shift k starts.
func (r *rotor) handoff(z *resolver, k int64) int64 {
	if r.hourly {
		return r.start + k*r.span
	}
	if k == 0 {
		return r.start
	}
	return z.instant((r.day0+k*r.span)*secondsPerDay + r.tod)
}

// index is the shift holding instant u, for u at or after the start. For
// days and weeks it counts calendar days to u's wall-clock date, then
// corrects by at most a step or two for a hand-off not yet reached that
// day or moved by a DST change.
func (r *rotor) index(z *resolver, u int64) int64 {
	if r.hourly {
		return floorDiv(u-r.start, r.span)
	}
	day := floorDiv(u+z.offsetAt(u), secondsPerDay)
	k := max(floorDiv(day-r.day0, r.span), 0)
	for k > 0 && r.handoff(z, k) > u {
		k--
	}
	for r.handoff(z, k+1) <= u {
		k++
	}
	return k
}

// userAt is who this layer has on call at instant u.
func (r *rotor) userAt(z *resolver, u int64) (int64, bool) {
	if !r.ok || u < r.start {
		return 0, false
	}
	if len(r.restr) > 0 && !r.open(z, u) {
		return 0, false
	}
	return r.users[floorMod(r.index(z, u), int64(len(r.users)))], true
}

// pieces appends the layer's on-call pieces in [from, to), in order: its
// shifts, cut to the restriction windows if it has any.
func (r *rotor) pieces(z *resolver, from, to int64, out []piece) []piece {
	if !r.ok {
		return out
	}
	from = max(from, r.start)
	if from >= to {
		return out
	}
	if len(r.restr) == 0 {
		return r.shifts(z, from, to, out)
	}
	for _, w := range r.windows(z, from, to) {
		out = r.shifts(z, w.start, w.end, out)
	}
	return out
}

// shifts appends the shifts in [from, to), cut at from and to.
func (r *rotor) shifts(z *resolver, from, to int64, out []piece) []piece {
	n := int64(len(r.users))
	k := r.index(z, from)
	for s := from; s < to; k++ {
		e := min(r.handoff(z, k+1), to)
		if e > s {
			out = append(out, piece{start: s, end: e, user: r.users[floorMod(k, n)], on: true})
			s = e
		}
	}
	return out
}

// A restriction window can only hold instant u if it starts on a day from
// windowsBefore before u to windowsAfter after u on the zone-less wall
// line: a window starts within its day and lasts at most 24 hours, so it
// ends less than two days after its day begins, and resolving a reading
// moves it by at most maxZoneOffset.
const (
	windowsBefore = 2*secondsPerDay + maxZoneOffset
	windowsAfter  = maxZoneOffset
)

// open reports whether a restriction window of the layer holds instant u.
func (r *rotor) open(z *resolver, u int64) bool {
	last := floorDiv(u+windowsAfter, secondsPerDay)
	for day := floorDiv(u-windowsBefore, secondsPerDay); day <= last; day++ {
		wd := weekdayOf(day)
		for i := range r.restr {
			if !startsOn(&r.restr[i], wd) {
				continue
			}
			if a, b := window(z, &r.restr[i], day); a <= u && u < b {
				return true
			}
		}
	}
	return false
}

// windows is the union of the layer's restriction windows within
// [from, to), in order, cut at from and to.
func (r *rotor) windows(z *resolver, from, to int64) []piece {
	var ws []piece
	last := floorDiv(to-1+windowsAfter, secondsPerDay)
	for day := floorDiv(from-windowsBefore, secondsPerDay); day <= last; day++ {
		wd := weekdayOf(day)
		for i := range r.restr {
			if !startsOn(&r.restr[i], wd) {
				continue
			}
			a, b := window(z, &r.restr[i], day)
			if a, b = max(a, from), min(b, to); a < b {
				ws = append(ws, piece{start: a, end: b})
			}
		}
	}
	slices.SortFunc(ws, func(x, y piece) int { return cmpInt(x.start, y.start) })
	merged := ws[:0]
	for _, w := range ws {
		if n := len(merged); n > 0 && w.start <= merged[n-1].end {
			merged[n-1].end = max(merged[n-1].end, w.end)
			continue
		}
		merged = append(merged, w)
	}
	return merged
}

// window is the instants [a, b) of restriction x's window starting on the
// given day. Both edges are wall-clock readings resolved like hand-offs, so
// the window is empty (b ≤ a) if a DST jump swallows it.
func window(z *resolver, x *Restriction, day int64) (a, b int64) {
	if !x.From.valid() || !x.To.valid() || x.From.Hour == 24 {
		return 0, 0
	}
	from, to := x.From.seconds(), x.To.seconds()
	length := to - from
	if length <= 0 {
		length += secondsPerDay
	}
	start := day*secondsPerDay + from
	return z.instant(start), z.instant(start + length)
}

// startsOn reports whether restriction x has a window starting on day wd.
func startsOn(x *Restriction, wd time.Weekday) bool {
	return len(x.Days) == 0 || slices.Contains(x.Days, wd)
}

// cmpInt orders two integers for slices.SortFunc.
func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
