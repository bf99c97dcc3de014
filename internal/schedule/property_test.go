package schedule

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// This file checks properties every schedule must have, on random valid
// schedules: shifts and gaps tile the range exactly, in order, without
// empty or mergeable pieces; OnCallAt agrees with them everywhere; a
// narrower query is the wider one cut; and a slow, obvious oracle (walk
// every shift from the layer's start, resolve every window edge with
// LocalTime.In) agrees with OnCallAt. FuzzSchedule explores from fuzz
// bytes; TestScheduleProperties runs a few hundred seeded schedules in
// every ordinary go test.

// source reads numbers from fuzz bytes, then zeros once they run out, so
// that every input builds some schedule.
type source struct{ b []byte }

func (s *source) intn(n int) int {
	if n <= 1 {
		return 0
	}
	v := 0
	for range 2 {
		v <<= 8
		if len(s.b) > 0 {
			v |= int(s.b[0])
			s.b = s.b[1:]
		}
	}
	return v % n
}

// transitions lists the instants a zone changes offset in [from, to).
func transitions(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for at := from; at.Before(to); {
		_, end := at.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		out = append(out, end)
		at = end
	}
	return out
}

// genSchedule builds a valid schedule in one of zones and a query range
// from src, leaning toward the zone's offset changes since year since,
// where the arithmetic is hardest.
func genSchedule(t testing.TB, src *source, zones []string, since int) (s *Schedule, from, to time.Time) {
	loc := mustZone(t, zones[src.intn(len(zones))])
	// An instant to build around: a DST change, or any time in 2026.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(src.intn(365*24)) * time.Hour)
	if ts := transitions(loc, time.Date(since, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)); len(ts) > 0 && src.intn(3) > 0 {
		base = ts[src.intn(len(ts))].Add(time.Duration(src.intn(96)-48) * time.Hour)
	}
	minutes := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	s = &Schedule{Location: loc}
	for range 1 + src.intn(3) {
		start := base.Add(-minutes(src.intn(60 * 24 * 40))).In(loc)
		switch src.intn(4) {
		case 0: // a hand-off at the very hour of a change
			start = base.In(loc)
		case 1: // a layer that started years ago
			start = start.AddDate(-src.intn(6), 0, 0)
		}
		l := Layer{Name: "layer", Start: LocalTime{start.Year(), start.Month(), start.Day(), start.Hour(), []int{0, 15, 30, 45, start.Minute()}[src.intn(5)]}}
		switch src.intn(3) {
		case 0:
			l.Rotation = Rotation{UnitHour, 1 + src.intn(12)}
		case 1:
			l.Rotation = Rotation{UnitDay, 1 + src.intn(3)}
		default:
			l.Rotation = Rotation{UnitWeek, 1 + src.intn(2)}
		}
		for range 1 + src.intn(4) {
			l.Users = append(l.Users, int64(1+src.intn(5)))
		}
		for range src.intn(3) {
			var x Restriction
			for d, mask := time.Sunday, src.intn(128); d <= time.Saturday; d++ {
				if mask&(1<<d) != 0 {
					x.Days = append(x.Days, d)
				}
			}
			x.From = TimeOfDay{src.intn(24), 15 * src.intn(4)}
			switch src.intn(8) {
			case 0:
				x.To = TimeOfDay{24, 0}
			case 1:
				x.To = x.From
			default:
				x.To = TimeOfDay{src.intn(24), 15 * src.intn(4)}
			}
			l.Restrictions = append(l.Restrictions, x)
		}
		s.Layers = append(s.Layers, l)
	}
	from = base.Add(-minutes(src.intn(60 * 24 * 3))).Add(time.Duration(src.intn(2)) * 123456789)
	to = from.Add(minutes(1 + src.intn(60*24*10))).Add(time.Duration(src.intn(2)) * 987654321)
	for range src.intn(5) {
		o := Override{UserID: int64(1 + src.intn(5)), Start: from.Add(minutes(src.intn(60*24*10) - 60*24))}
		o.End = o.Start.Add(minutes(1 + src.intn(60*48))).Add(time.Duration(src.intn(2)) * 5)
		if !slices.ContainsFunc(s.Overrides, func(p Override) bool {
			return p.UserID == o.UserID && p.Start.Before(o.End) && o.Start.Before(p.End)
		}) {
			s.Overrides = append(s.Overrides, o)
		}
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("generated an invalid schedule: %v", err)
	}
	return s, from, to
}

// checkSchedule asserts the properties on s over [from, to); rng picks the
// instants to spot-check.
func checkSchedule(t testing.TB, s *Schedule, from, to time.Time, rng *rand.Rand) {
	t.Helper()
	shifts, gaps := s.Shifts(from, to), s.Gaps(from, to)
	if !from.Before(to) {
		if len(shifts)+len(gaps) > 0 {
			t.Fatalf("empty range [%s, %s) has %d shifts and %d gaps", from, to, len(shifts), len(gaps))
		}
		return
	}
	// Tiling: walk both lists by start; exactly one continues where the
	// last piece ended.
	var segs []segment
	for at, i, j := from, 0, 0; i < len(shifts) || j < len(gaps); {
		var seg segment
		switch {
		case i < len(shifts) && shifts[i].Start.Equal(at):
			seg = segment{start: shifts[i].Start, end: shifts[i].End, user: shifts[i].UserID, on: true}
			i++
		case j < len(gaps) && gaps[j].Start.Equal(at):
			seg = segment{start: gaps[j].Start, end: gaps[j].End}
			j++
		default:
			t.Fatalf("nothing starts at %s where the last piece ended\nshifts %v\ngaps %v", at, shifts, gaps)
		}
		if !seg.start.Before(seg.end) {
			t.Fatalf("empty or backward piece %v", seg)
		}
		if n := len(segs); n > 0 && segs[n-1].on == seg.on && segs[n-1].user == seg.user {
			t.Fatalf("adjacent pieces not merged: %v then %v", segs[n-1], seg)
		}
		segs = append(segs, seg)
		at = seg.end
	}
	if len(segs) == 0 || !segs[0].start.Equal(from) || !segs[len(segs)-1].end.Equal(to) {
		t.Fatalf("pieces do not cover [%s, %s): %v", from, to, segs)
	}
	// OnCallAt agrees at every boundary, a nanosecond either side, and at
	// random instants.
	agree := func(at time.Time, seg segment) {
		t.Helper()
		if user, ok := s.OnCallAt(at); ok != seg.on || user != seg.user && ok {
			t.Fatalf("OnCallAt(%s) = %d, %v; the timeline says %d, %v", at, user, ok, seg.user, seg.on)
		}
	}
	for n, seg := range segs {
		agree(seg.start, seg)
		agree(seg.end.Add(-time.Nanosecond), seg)
		if n > 0 {
			agree(seg.start.Add(-time.Nanosecond), segs[n-1])
		}
	}
	span := int64(to.Sub(from))
	at := func() time.Time { return from.Add(time.Duration(rng.Int64N(span))) }
	find := func(x time.Time) segment {
		n, _ := slices.BinarySearchFunc(segs, x, func(seg segment, x time.Time) int {
			if seg.end.After(x) {
				return 1
			}
			return -1
		})
		return segs[n]
	}
	for range 20 {
		x := at()
		agree(x, find(x))
	}
	// The oracle, at a few instants (it is slow by design).
	for range 3 {
		x := at()
		seg := find(x)
		if user, ok := oracleOnCall(s, x); ok != seg.on || ok && user != seg.user {
			t.Fatalf("at %s the oracle says %d, %v; the timeline %d, %v", x, user, ok, seg.user, seg.on)
		}
	}
	// A narrower query is the wider one cut to size.
	a, b := at(), at()
	if b.Before(a) {
		a, b = b, a
	}
	var want []Shift
	for _, seg := range segs {
		if seg.on && seg.end.After(a) && seg.start.Before(b) {
			want = append(want, Shift{UserID: seg.user, Start: later(seg.start, a), End: earlier(seg.end, b)})
		}
	}
	got := s.Shifts(a, b)
	if !slices.EqualFunc(got, want, func(x, y Shift) bool {
		return x.UserID == y.UserID && x.Start.Equal(y.Start) && x.End.Equal(y.End)
	}) {
		t.Fatalf("Shifts(%s, %s):\n got %v\nwant %v", a, b, got, want)
	}
}

// oracleOnCall answers OnCallAt the slow, obvious way, sharing nothing with
// the package's arithmetic but LocalTime.In (tested on its own): walk every
// shift from the layer's start, and resolve every window near t.
func oracleOnCall(s *Schedule, t time.Time) (int64, bool) {
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		if o := s.Overrides[i]; !t.Before(o.Start) && t.Before(o.End) {
			return o.UserID, true
		}
	}
	loc := s.Location
	for i := len(s.Layers) - 1; i >= 0; i-- {
		l := &s.Layers[i]
		if t.Before(l.Start.In(loc)) || len(l.Restrictions) > 0 && !oracleOpen(l, loc, t) {
			continue
		}
		k := 0
		for !oracleHandoff(l, loc, k+1).After(t) {
			k++
		}
		return l.Users[k%len(l.Users)], true
	}
	return 0, false
}

func oracleHandoff(l *Layer, loc *time.Location, k int) time.Time {
	if l.Rotation.Unit == UnitHour {
		return l.Start.In(loc).Add(time.Duration(k*l.Rotation.Every) * time.Hour)
	}
	days := k * l.Rotation.Every
	if l.Rotation.Unit == UnitWeek {
		days *= 7
	}
	d := time.Date(l.Start.Year, l.Start.Month, l.Start.Day+days, 0, 0, 0, 0, time.UTC)
	return LocalTime{d.Year(), d.Month(), d.Day(), l.Start.Hour, l.Start.Minute}.In(loc)
}

func oracleOpen(l *Layer, loc *time.Location, t time.Time) bool {
	wall := t.In(loc)
	for dd := -3; dd <= 1; dd++ {
		day := time.Date(wall.Year(), wall.Month(), wall.Day()+dd, 0, 0, 0, 0, time.UTC)
		for _, x := range l.Restrictions {
			if len(x.Days) > 0 && !slices.Contains(x.Days, day.Weekday()) {
				continue
			}
			end := day // the window ends on its own day only if To is after From
			if x.To.Hour*60+x.To.Minute <= x.From.Hour*60+x.From.Minute {
				end = day.AddDate(0, 0, 1)
			}
			to := x.To
			if to.Hour == 24 {
				end, to = day.AddDate(0, 0, 1), TimeOfDay{}
			}
			a := LocalTime{day.Year(), day.Month(), day.Day(), x.From.Hour, x.From.Minute}.In(loc)
			b := LocalTime{end.Year(), end.Month(), end.Day(), to.Hour, to.Minute}.In(loc)
			if !t.Before(a) && t.Before(b) {
				return true
			}
		}
	}
	return false
}

// exoticZones change their clocks in the ways that break naive
// arithmetic: at midnight, so that a date has no 00:00 (Santiago, Havana,
// Beirut, Asunción); by two hours (Troll); by a whole day (Apia skipped
// 2011-12-30); twice more a year for Ramadan (Casablanca); with a
// "negative" DST (Dublin); at half hours (Adelaide, St John's); at 24:00
// (Tehran, until 2022).
var exoticZones = []string{
	"America/Santiago", "America/Havana", "Asia/Beirut", "America/Asuncion", "Antarctica/Troll", "Pacific/Apia",
	"Africa/Casablanca", "Europe/Dublin", "Australia/Adelaide", "America/St_Johns", "Asia/Tehran",
}

// TestScheduleProperties runs the property checks on seeded random
// schedules, so they run in every go test, not only under -fuzz.
func TestScheduleProperties(t *testing.T) {
	for _, tc := range []struct {
		name  string
		zones []string
		since int
	}{
		{"test zones", testZones, 2025},
		{"exotic zones since 2010", exoticZones, 2010},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			for range 500 {
				b := make([]byte, 256)
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				s, from, to := genSchedule(t, &source{b}, tc.zones, tc.since)
				checkSchedule(t, s, from, to, rng)
				checkSchedule(t, s, to, from, rng) // backward: nothing
			}
		})
	}
}

// FuzzSchedule checks the properties on schedules built from fuzz bytes.
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x00\x02\x00\x01\x01\x00\x00\x03\x02\x01"))
	f.Add([]byte("a layer at a change of clocks, with windows and overrides"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, from, to := genSchedule(t, &source{b}, testZones, 2025)
		checkSchedule(t, s, from, to, rand.New(rand.NewPCG(uint64(len(b)), 7)))
	})
}
