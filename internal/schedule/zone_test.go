package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The zones the DST tests run in, chosen for their oddities: a one-hour
// change in each hemisphere, a 30-minute change (Lord Howe), no change and
// a half-hour offset (Kolkata), a 45-minute offset changing at 02:45
// (Chatham).
var testZones = []string{"UTC", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustLocal(t testing.TB, s string) LocalTime {
	t.Helper()
	lt, err := ParseLocalTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

func mustInstant(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestTransitionDates pins the tz database facts the DST tests rely on, so
// that a tzdata update that moves them fails here, plainly, first. The
// transitions are found by scanning the zone, not taken from memory.
func TestTransitionDates(t *testing.T) {
	want := map[string][]string{
		"America/Los_Angeles": {"2026-03-08T10:00:00Z -28800 -> -25200", "2026-11-01T09:00:00Z -25200 -> -28800"},
		"Europe/London":       {"2026-03-29T01:00:00Z +0 -> +3600", "2026-10-25T01:00:00Z +3600 -> +0"},
		"Australia/Lord_Howe": {"2026-04-04T15:00:00Z +39600 -> +37800", "2026-10-03T15:30:00Z +37800 -> +39600"},
		"Asia/Kolkata":        nil,
		"Pacific/Chatham":     {"2026-04-04T14:00:00Z +49500 -> +45900", "2026-09-26T14:00:00Z +45900 -> +49500"},
	}
	for name, transitions := range want {
		t.Run(name, func(t *testing.T) {
			loc := mustZone(t, name)
			var got []string
			from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
			for at := from; at.Before(to); {
				_, end := at.In(loc).ZoneBounds()
				if end.IsZero() || !end.Before(to) {
					break
				}
				_, before := end.Add(-time.Second).In(loc).Zone()
				_, after := end.In(loc).Zone()
				got = append(got, fmt.Sprintf("%s %+d -> %+d", end.UTC().Format(time.RFC3339), before, after))
				at = end
			}
			if fmt.Sprint(got) != fmt.Sprint(transitions) {
				t.Fatalf("2026 transitions:\n got %q\nwant %q", got, transitions)
			}
		})
	}
}

// TestLocalTimeIn checks the resolution rules on readings that happen once,
// twice and never.
func TestLocalTimeIn(t *testing.T) {
	for _, tc := range []struct {
		name, zone, local, want string
	}{
		{"LA ordinary reading", "America/Los_Angeles", "2026-03-07T09:00", "2026-03-07T09:00:00-08:00"},
		{"LA skipped 02:30 moves forward an hour to 03:30 PDT", "America/Los_Angeles", "2026-03-08T02:30", "2026-03-08T03:30:00-07:00"},
		{"LA skipped 02:00, first minute of the gap", "America/Los_Angeles", "2026-03-08T02:00", "2026-03-08T03:00:00-07:00"},
		{"LA 02:59, last minute of the gap", "America/Los_Angeles", "2026-03-08T02:59", "2026-03-08T03:59:00-07:00"},
		{"LA 03:00 right after the gap", "America/Los_Angeles", "2026-03-08T03:00", "2026-03-08T03:00:00-07:00"},
		{"LA 01:59 right before the gap", "America/Los_Angeles", "2026-03-08T01:59", "2026-03-08T01:59:00-08:00"},
		{"LA repeated 01:30 is the earlier, PDT", "America/Los_Angeles", "2026-11-01T01:30", "2026-11-01T01:30:00-07:00"},
		{"LA repeated 01:00 is the earlier, PDT", "America/Los_Angeles", "2026-11-01T01:00", "2026-11-01T01:00:00-07:00"},
		{"LA 02:00 after the repeat happens once, PST", "America/Los_Angeles", "2026-11-01T02:00", "2026-11-01T02:00:00-08:00"},
		{"London skipped 01:30 is 02:30 BST", "Europe/London", "2026-03-29T01:30", "2026-03-29T02:30:00+01:00"},
		{"London repeated 01:30 is the earlier, BST", "Europe/London", "2026-10-25T01:30", "2026-10-25T01:30:00+01:00"},
		{"Lord Howe skipped 02:15 moves 30 minutes to 02:45", "Australia/Lord_Howe", "2026-10-04T02:15", "2026-10-04T02:45:00+11:00"},
		{"Lord Howe skipped 02:00", "Australia/Lord_Howe", "2026-10-04T02:00", "2026-10-04T02:30:00+11:00"},
		{"Lord Howe 02:30 right after the gap", "Australia/Lord_Howe", "2026-10-04T02:30", "2026-10-04T02:30:00+11:00"},
		{"Lord Howe repeated 01:45 is the earlier, +11", "Australia/Lord_Howe", "2026-04-05T01:45", "2026-04-05T01:45:00+11:00"},
		{"Lord Howe 02:00 after the repeat, +10:30", "Australia/Lord_Howe", "2026-04-05T02:00", "2026-04-05T02:00:00+10:30"},
		{"Kolkata has no DST", "Asia/Kolkata", "2026-03-08T02:30", "2026-03-08T02:30:00+05:30"},
		{"Chatham skipped 03:00 is 04:00 +13:45", "Pacific/Chatham", "2026-09-27T03:00", "2026-09-27T04:00:00+13:45"},
		{"Chatham skipped 02:45, first minute of the gap", "Pacific/Chatham", "2026-09-27T02:45", "2026-09-27T03:45:00+13:45"},
		{"Chatham 02:44 before the gap", "Pacific/Chatham", "2026-09-27T02:44", "2026-09-27T02:44:00+12:45"},
		{"Chatham repeated 03:00 is the earlier, +13:45", "Pacific/Chatham", "2026-04-05T03:00", "2026-04-05T03:00:00+13:45"},
		{"Chatham 03:45 after the repeat, +12:45", "Pacific/Chatham", "2026-04-05T03:45", "2026-04-05T03:45:00+12:45"},
		{"UTC", "UTC", "2026-03-08T02:30", "2026-03-08T02:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLocal(t, tc.local).In(mustZone(t, tc.zone))
			if want := mustInstant(t, tc.want); !got.Equal(want) {
				t.Fatalf("%s in %s = %s, want %s", tc.local, tc.zone, got.Format(time.RFC3339), tc.want)
			}
		})
	}
}

// referenceInstant resolves a wall reading the slow, obvious way, sharing
// nothing with the resolver: sample the zone's offsets every 15 minutes
// within 18 hours of w; the reading happens at w - o for each offset o
// that is in force at w - o, and the earliest of those wins. If none is,
// the reading is skipped: find the jump over it, to the second, by
// bisection, and read w with the offset from before the jump.
func referenceInstant(loc *time.Location, w int64) int64 {
	offsetAt := func(u int64) int64 {
		_, off := time.Unix(u, 0).In(loc).Zone()
		return int64(off)
	}
	found, best := false, int64(0)
	for u := w - maxZoneOffset; u <= w+maxZoneOffset; u += 900 {
		if o := offsetAt(u); offsetAt(w-o) == o && (!found || w-o < best) {
			found, best = true, w-o
		}
	}
	if found {
		return best
	}
	for u := w - maxZoneOffset; u < w+maxZoneOffset; u += 900 {
		before, after := offsetAt(u), offsetAt(u+900)
		if before == after {
			continue
		}
		lo, hi := u, u+900
		for hi-lo > 1 {
			if mid := (lo + hi) / 2; offsetAt(mid) == before {
				lo = mid
			} else {
				hi = mid
			}
		}
		if hi+before <= w && w < hi+after {
			return w - before
		}
	}
	panic("no reference instant")
}

// TestResolverAgainstReference compares the resolver with referenceInstant
// on every minute within three hours of each offset change (of 2026 in the
// test zones, since 2010 in the exotic ones), and on random minutes of the
// years around 2026.
func TestResolverAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range append(slices.Clone(testZones), exoticZones...) {
		t.Run(name, func(t *testing.T) {
			loc := mustZone(t, name)
			since := 2026
			if slices.Contains(exoticZones, name) {
				since = 2010
			}
			var walls []int64
			for _, at := range transitions(loc, time.Date(since, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
				_, off := at.In(loc).Zone()
				for w := at.Unix() + int64(off) - 3*3600; w < at.Unix()+int64(off)+3*3600; w += 60 {
					walls = append(walls, w)
				}
			}
			for range 2000 {
				walls = append(walls, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+rng.Int64N(5*365*secondsPerDay)/60*60)
			}
			want := make([]int64, len(walls))
			for i, w := range walls {
				want[i] = referenceInstant(loc, w)
			}
			// Forward and backward, so that the resolver's remembered period
			// is sometimes the one before a change and sometimes the one after.
			z := resolver{loc: loc}
			check := func(i int) {
				if got := z.instant(walls[i]); got != want[i] {
					t.Fatalf("wall %s: got %s, want %s", time.Unix(walls[i], 0).UTC().Format("2006-01-02T15:04"),
						time.Unix(got, 0).In(loc).Format(time.RFC3339), time.Unix(want[i], 0).In(loc).Format(time.RFC3339))
				}
			}
			for i := range walls {
				check(i)
			}
			for i := len(walls) - 1; i >= 0; i-- {
				check(i)
			}
		})
	}
}

func TestLoadZone(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		ok         bool
	}{
		{"IANA name", "Europe/London", true},
		{"UTC", "UTC", true},
		{"empty is not UTC", "", false},
		{"Local is refused: it depends on the server", "Local", false},
		{"unknown name", "Mars/Olympus_Mons", false},
		{"path traversal", "../../etc/passwd", false},
		{"lower case is another name", "europe/london", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := LoadZone(tc.zone)
			if tc.ok {
				if err != nil || loc == nil {
					t.Fatalf("LoadZone(%q) = %v, %v", tc.zone, loc, err)
				}
				return
			}
			var e *klaxon.Error
			if !errors.As(err, &e) || e.Field != "time_zone" || e.Code != klaxon.EINVALID {
				t.Fatalf("LoadZone(%q) error = %#v, want an EINVALID error for time_zone", tc.zone, err)
			}
		})
	}
}
