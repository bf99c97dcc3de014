package schedule

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// tile prints the timeline of s over [from, to): shifts as "user
// start/end", gaps as "- start/end", in loc with the offset, so every line
// is an exact instant.
func tile(s *Schedule, from, to time.Time) string {
	var segs []segment
	for _, sh := range s.Shifts(from, to) {
		segs = append(segs, segment{start: sh.Start, end: sh.End, user: sh.UserID, on: true})
	}
	for _, g := range s.Gaps(from, to) {
		segs = append(segs, segment{start: g.Start, end: g.End})
	}
	// Shifts and gaps alternate or follow each other; order them by start.
	for i := 1; i < len(segs); i++ {
		for j := i; j > 0 && segs[j].start.Before(segs[j-1].start); j-- {
			segs[j], segs[j-1] = segs[j-1], segs[j]
		}
	}
	loc := orUTC(s.Location)
	var b strings.Builder
	for _, seg := range segs {
		who := "-"
		if seg.on {
			who = fmt.Sprint(seg.user)
		}
		fmt.Fprintf(&b, "%s %s/%s\n", who, seg.start.In(loc).Format("2006-01-02T15:04Z07:00"), seg.end.In(loc).Format("2006-01-02T15:04Z07:00"))
	}
	return b.String()
}

// always is a layer that has user on call all the time from 2026-01-01.
func always(user int64) Layer {
	return Layer{Name: "always", Start: LocalTime{2026, 1, 1, 0, 0}, Rotation: Rotation{UnitWeek, 1}, Users: []int64{user}}
}

// restricted is a layer with user on call in the given windows only.
func restricted(user int64, windows ...Restriction) Layer {
	l := always(user)
	l.Name, l.Restrictions = "restricted", windows
	return l
}

func days(d ...time.Weekday) []time.Weekday { return d }

func tod(s string) TimeOfDay {
	t, err := ParseTimeOfDay(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestTimeline(t *testing.T) {
	// 2026-03-02 is a Monday; in LA, clocks go forward on Sunday 03-08 and
	// back on Sunday 11-01.
	for _, tc := range []struct {
		name      string
		zone      string
		layers    []Layer
		overrides []Override
		from, to  string // RFC 3339
		want      []string
	}{
		{
			name:   "later layer wins once it starts",
			layers: []Layer{always(1), {Name: "b", Start: LocalTime{2026, 3, 4, 12, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{2}}},
			from:   "2026-03-02T00:00:00Z", to: "2026-03-06T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-04T12:00Z", "2 2026-03-04T12:00Z/2026-03-06T00:00Z"},
		},
		{
			name:   "restricted upper layer lets the lower one show through",
			layers: []Layer{always(1), restricted(2, Restriction{Days: days(time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday), From: tod("09:00"), To: tod("17:00")})},
			from:   "2026-03-02T00:00:00Z", to: "2026-03-04T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-02T09:00Z", "2 2026-03-02T09:00Z/2026-03-02T17:00Z", "1 2026-03-02T17:00Z/2026-03-03T09:00Z", "2 2026-03-03T09:00Z/2026-03-03T17:00Z", "1 2026-03-03T17:00Z/2026-03-04T00:00Z"},
		},
		{
			name:   "restricted lone layer leaves gaps",
			layers: []Layer{restricted(2, Restriction{From: tod("09:00"), To: tod("17:00")})},
			from:   "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
			want: []string{"- 2026-03-02T00:00Z/2026-03-02T09:00Z", "2 2026-03-02T09:00Z/2026-03-02T17:00Z", "- 2026-03-02T17:00Z/2026-03-03T00:00Z"},
		},
		{
			name:   "overnight window starts on its listed day and runs into the next",
			layers: []Layer{restricted(2, Restriction{Days: days(time.Friday), From: tod("22:00"), To: tod("06:00")})},
			from:   "2026-03-05T00:00:00Z", to: "2026-03-08T00:00:00Z",
			want: []string{"- 2026-03-05T00:00Z/2026-03-06T22:00Z", "2 2026-03-06T22:00Z/2026-03-07T06:00Z", "- 2026-03-07T06:00Z/2026-03-08T00:00Z"},
		},
		{
			name:   "24:00 ends the window at midnight",
			layers: []Layer{restricted(2, Restriction{From: tod("18:00"), To: tod("24:00")})},
			from:   "2026-03-02T12:00:00Z", to: "2026-03-03T12:00:00Z",
			want: []string{"- 2026-03-02T12:00Z/2026-03-02T18:00Z", "2 2026-03-02T18:00Z/2026-03-03T00:00Z", "- 2026-03-03T00:00Z/2026-03-03T12:00Z"},
		},
		{
			name:   "from equal to to is the 24 hours from from",
			layers: []Layer{restricted(2, Restriction{Days: days(time.Monday), From: tod("09:00"), To: tod("09:00")})},
			from:   "2026-03-02T00:00:00Z", to: "2026-03-04T00:00:00Z",
			want: []string{"- 2026-03-02T00:00Z/2026-03-02T09:00Z", "2 2026-03-02T09:00Z/2026-03-03T09:00Z", "- 2026-03-03T09:00Z/2026-03-04T00:00Z"},
		},
		{
			name:   "weekend windows on consecutive days merge",
			layers: []Layer{always(1), restricted(2, Restriction{Days: days(time.Saturday, time.Sunday), From: tod("00:00"), To: tod("24:00")})},
			from:   "2026-03-06T00:00:00Z", to: "2026-03-10T00:00:00Z",
			want: []string{"1 2026-03-06T00:00Z/2026-03-07T00:00Z", "2 2026-03-07T00:00Z/2026-03-09T00:00Z", "1 2026-03-09T00:00Z/2026-03-10T00:00Z"},
		},
		{
			name:   "overlapping windows of two restrictions are one window",
			layers: []Layer{restricted(2, Restriction{From: tod("09:00"), To: tod("13:00")}, Restriction{From: tod("12:00"), To: tod("17:00")})},
			from:   "2026-03-02T08:00:00Z", to: "2026-03-02T18:00:00Z",
			want: []string{"- 2026-03-02T08:00Z/2026-03-02T09:00Z", "2 2026-03-02T09:00Z/2026-03-02T17:00Z", "- 2026-03-02T17:00Z/2026-03-02T18:00Z"},
		},
		{
			name: "the rotation keeps turning under a restriction",
			layers: []Layer{{Name: "r", Start: LocalTime{2026, 3, 2, 0, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{1, 2, 3},
				Restrictions: []Restriction{{Days: days(time.Wednesday), From: tod("09:00"), To: tod("17:00")}}}},
			from: "2026-03-02T00:00:00Z", to: "2026-03-05T00:00:00Z",
			want: []string{"- 2026-03-02T00:00Z/2026-03-04T09:00Z", "3 2026-03-04T09:00Z/2026-03-04T17:00Z", "- 2026-03-04T17:00Z/2026-03-05T00:00Z"},
		},
		{
			name: "a hand-off inside a window splits it",
			layers: []Layer{{Name: "r", Start: LocalTime{2026, 3, 1, 12, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{1, 2},
				Restrictions: []Restriction{{From: tod("09:00"), To: tod("17:00")}}}},
			from: "2026-03-02T09:00:00Z", to: "2026-03-02T17:00:00Z",
			want: []string{"1 2026-03-02T09:00Z/2026-03-02T12:00Z", "2 2026-03-02T12:00Z/2026-03-02T17:00Z"},
		},
		{
			name: "overnight window across spring forward lasts 7 real hours", zone: "America/Los_Angeles",
			layers: []Layer{restricted(2, Restriction{Days: days(time.Saturday), From: tod("22:00"), To: tod("06:00")})},
			from:   "2026-03-07T21:00:00-08:00", to: "2026-03-08T07:00:00-07:00",
			want: []string{"- 2026-03-07T21:00-08:00/2026-03-07T22:00-08:00", "2 2026-03-07T22:00-08:00/2026-03-08T06:00-07:00", "- 2026-03-08T06:00-07:00/2026-03-08T07:00-07:00"},
		},
		{
			name: "window edge at a skipped reading moves forward", zone: "America/Los_Angeles",
			layers: []Layer{restricted(2, Restriction{Days: days(time.Sunday), From: tod("02:00"), To: tod("04:00")})},
			from:   "2026-03-08T00:00:00-08:00", to: "2026-03-08T05:00:00-07:00",
			want: []string{"- 2026-03-08T00:00-08:00/2026-03-08T03:00-07:00", "2 2026-03-08T03:00-07:00/2026-03-08T04:00-07:00", "- 2026-03-08T04:00-07:00/2026-03-08T05:00-07:00"},
		},
		{
			name: "window swallowed by the jump is empty that day", zone: "America/Los_Angeles",
			layers: []Layer{restricted(2, Restriction{Days: days(time.Sunday), From: tod("02:30"), To: tod("03:15")})},
			from:   "2026-03-08T00:00:00-08:00", to: "2026-03-08T05:00:00-07:00",
			want: []string{"- 2026-03-08T00:00-08:00/2026-03-08T05:00-07:00"},
		},
		{
			name: "window at a repeated reading is the first pass only", zone: "America/Los_Angeles",
			layers: []Layer{restricted(2, Restriction{Days: days(time.Sunday), From: tod("01:00"), To: tod("01:30")})},
			from:   "2026-11-01T00:00:00-07:00", to: "2026-11-01T03:00:00-08:00",
			want: []string{"- 2026-11-01T00:00-07:00/2026-11-01T01:00-07:00", "2 2026-11-01T01:00-07:00/2026-11-01T01:30-07:00", "- 2026-11-01T01:30-07:00/2026-11-01T03:00-08:00"},
		},
		{
			name: "window on Lord Howe's short night", zone: "Australia/Lord_Howe",
			layers: []Layer{restricted(2, Restriction{Days: days(time.Saturday), From: tod("20:00"), To: tod("08:00")})},
			from:   "2026-10-03T00:00:00+10:30", to: "2026-10-05T00:00:00+11:00",
			want: []string{"- 2026-10-03T00:00+10:30/2026-10-03T20:00+10:30", "2 2026-10-03T20:00+10:30/2026-10-04T08:00+11:00", "- 2026-10-04T08:00+11:00/2026-10-05T00:00+11:00"},
		},
		{
			name:      "override wins over the layers and splits a shift",
			layers:    []Layer{always(1)},
			overrides: []Override{{UserID: 9, Start: mustTime("2026-03-02T10:00:00Z"), End: mustTime("2026-03-02T12:00:00Z")}},
			from:      "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-02T10:00Z", "9 2026-03-02T10:00Z/2026-03-02T12:00Z", "1 2026-03-02T12:00Z/2026-03-03T00:00Z"},
		},
		{
			name:   "later override wins where two overlap",
			layers: []Layer{always(1)},
			overrides: []Override{
				{UserID: 8, Start: mustTime("2026-03-02T10:00:00Z"), End: mustTime("2026-03-02T14:00:00Z")},
				{UserID: 9, Start: mustTime("2026-03-02T12:00:00Z"), End: mustTime("2026-03-02T16:00:00Z")},
			},
			from: "2026-03-02T09:00:00Z", to: "2026-03-02T17:00:00Z",
			want: []string{"1 2026-03-02T09:00Z/2026-03-02T10:00Z", "8 2026-03-02T10:00Z/2026-03-02T12:00Z", "9 2026-03-02T12:00Z/2026-03-02T16:00Z", "1 2026-03-02T16:00Z/2026-03-02T17:00Z"},
		},
		{
			name:   "later override wins even when it starts first",
			layers: []Layer{always(1)},
			overrides: []Override{
				{UserID: 9, Start: mustTime("2026-03-02T12:00:00Z"), End: mustTime("2026-03-02T16:00:00Z")},
				{UserID: 8, Start: mustTime("2026-03-02T10:00:00Z"), End: mustTime("2026-03-02T14:00:00Z")},
			},
			from: "2026-03-02T09:00:00Z", to: "2026-03-02T17:00:00Z",
			want: []string{"1 2026-03-02T09:00Z/2026-03-02T10:00Z", "8 2026-03-02T10:00Z/2026-03-02T14:00Z", "9 2026-03-02T14:00Z/2026-03-02T16:00Z", "1 2026-03-02T16:00Z/2026-03-02T17:00Z"},
		},
		{
			name:   "an override inside a later one is hidden",
			layers: []Layer{always(1)},
			overrides: []Override{
				{UserID: 8, Start: mustTime("2026-03-02T11:00:00Z"), End: mustTime("2026-03-02T12:00:00Z")},
				{UserID: 9, Start: mustTime("2026-03-02T10:00:00Z"), End: mustTime("2026-03-02T14:00:00Z")},
			},
			from: "2026-03-02T09:00:00Z", to: "2026-03-02T15:00:00Z",
			want: []string{"1 2026-03-02T09:00Z/2026-03-02T10:00Z", "9 2026-03-02T10:00Z/2026-03-02T14:00Z", "1 2026-03-02T14:00Z/2026-03-02T15:00Z"},
		},
		{
			name:   "override across a hand-off cuts both shifts",
			layers: []Layer{{Name: "d", Start: LocalTime{2026, 3, 1, 12, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{1, 2}}},
			overrides: []Override{
				{UserID: 9, Start: mustTime("2026-03-02T10:00:00Z"), End: mustTime("2026-03-02T14:00:00Z")},
			},
			from: "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-02T10:00Z", "9 2026-03-02T10:00Z/2026-03-02T14:00Z", "2 2026-03-02T14:00Z/2026-03-03T00:00Z"},
		},
		{
			name:      "override for the person on call merges with their shift",
			layers:    []Layer{always(1)},
			overrides: []Override{{UserID: 1, Start: mustTime("2026-03-02T10:00:00Z"), End: mustTime("2026-03-02T12:00:00Z")}},
			from:      "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-03T00:00Z"},
		},
		{
			name:      "override fills a gap and merges with the window after it",
			layers:    []Layer{restricted(2, Restriction{From: tod("09:00"), To: tod("17:00")})},
			overrides: []Override{{UserID: 2, Start: mustTime("2026-03-02T07:00:00Z"), End: mustTime("2026-03-02T09:00:00Z")}},
			from:      "2026-03-02T06:00:00Z", to: "2026-03-02T18:00:00Z",
			want: []string{"- 2026-03-02T06:00Z/2026-03-02T07:00Z", "2 2026-03-02T07:00Z/2026-03-02T17:00Z", "- 2026-03-02T17:00Z/2026-03-02T18:00Z"},
		},
		{
			name: "same person on two layers merges across the boundary",
			layers: []Layer{
				restricted(1, Restriction{From: tod("00:00"), To: tod("12:00")}),
				restricted(1, Restriction{From: tod("12:00"), To: tod("24:00")}),
			},
			from: "2026-03-02T00:00:00Z", to: "2026-03-04T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-04T00:00Z"},
		},
		{
			name:   "a person listed twice in a row has one long shift",
			layers: []Layer{{Name: "d", Start: LocalTime{2026, 3, 2, 0, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{1, 1, 2}}},
			from:   "2026-03-02T00:00:00Z", to: "2026-03-06T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-04T00:00Z", "2 2026-03-04T00:00Z/2026-03-05T00:00Z", "1 2026-03-05T00:00Z/2026-03-06T00:00Z"},
		},
		{
			name:   "before a layer starts is a gap",
			layers: []Layer{{Name: "d", Start: LocalTime{2026, 3, 2, 9, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{1}}},
			from:   "2026-03-01T00:00:00Z", to: "2026-03-03T00:00:00Z",
			want: []string{"- 2026-03-01T00:00Z/2026-03-02T09:00Z", "1 2026-03-02T09:00Z/2026-03-03T00:00Z"},
		},
		{
			name:   "a zone-less schedule is UTC and a broken layer has nobody",
			zone:   "none",
			layers: []Layer{always(1), {Name: "broken", Start: LocalTime{2026, 2, 30, 0, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{2}}},
			from:   "2026-03-02T00:00:00Z", to: "2026-03-03T00:00:00Z",
			want: []string{"1 2026-03-02T00:00Z/2026-03-03T00:00Z"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Schedule{Location: time.UTC, Layers: tc.layers, Overrides: tc.overrides}
			switch tc.zone {
			case "":
			case "none":
				s.Location = nil
			default:
				s.Location = mustZone(t, tc.zone)
			}
			from, to := mustInstant(t, tc.from), mustInstant(t, tc.to)
			if got, want := tile(s, from, to), strings.Join(tc.want, "\n")+"\n"; got != want {
				t.Fatalf("timeline:\n%s\nwant:\n%s", got, want)
			}
			if tc.zone != "none" {
				checkSchedule(t, s, from, to, rand.New(rand.NewPCG(8, 9)))
			}
		})
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEdgesOfTheRange(t *testing.T) {
	s := &Schedule{Location: time.UTC, Layers: []Layer{{Name: "h", Start: LocalTime{2026, 3, 2, 0, 0}, Rotation: Rotation{UnitHour, 1}, Users: []int64{1, 2}}},
		Overrides: []Override{{UserID: 9, Start: mustTime("2026-03-02T01:30:00.000000001Z"), End: mustTime("2026-03-02T01:30:00.000000002Z")}}}
	t.Run("empty range has neither shifts nor gaps", func(t *testing.T) {
		at := mustTime("2026-03-02T01:00:00Z")
		if s.Shifts(at, at) != nil || s.Gaps(at, at) != nil {
			t.Fatal("want nil")
		}
	})
	t.Run("backward range has neither shifts nor gaps", func(t *testing.T) {
		if s.Shifts(mustTime("2026-03-03T00:00:00Z"), mustTime("2026-03-02T00:00:00Z")) != nil {
			t.Fatal("want nil")
		}
	})
	t.Run("range edges inside seconds are kept to the nanosecond", func(t *testing.T) {
		from, to := mustTime("2026-03-02T00:59:59.5Z"), mustTime("2026-03-02T01:30:00.25Z")
		got := s.Shifts(from, to)
		want := []Shift{
			{1, from, mustTime("2026-03-02T01:00:00Z")},
			{2, mustTime("2026-03-02T01:00:00Z"), mustTime("2026-03-02T01:30:00.000000001Z")},
			{9, mustTime("2026-03-02T01:30:00.000000001Z"), mustTime("2026-03-02T01:30:00.000000002Z")},
			{2, mustTime("2026-03-02T01:30:00.000000002Z"), to},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got  %v\nwant %v", got, want)
		}
		checkSchedule(t, s, from, to, rand.New(rand.NewPCG(1, 1)))
	})
	t.Run("a one-nanosecond range", func(t *testing.T) {
		from := mustTime("2026-03-02T01:30:00.000000001Z")
		if got := s.Shifts(from, from.Add(1)); len(got) != 1 || got[0].UserID != 9 {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("far-away instants neither panic nor loop", func(t *testing.T) {
		far := time.Date(200000000, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, ok := s.OnCallAt(far); !ok {
			t.Fatal("nobody on call in the far future")
		}
		if _, ok := s.OnCallAt(time.Time{}); ok {
			t.Fatal("someone on call before the layer started")
		}
		if got := s.Gaps(time.Time{}, mustTime("2026-03-02T00:00:00Z")); len(got) != 1 || !got[0].Start.Equal(time.Time{}) {
			t.Fatalf("gaps since year 1: %v", got)
		}
	})
	t.Run("times come back in UTC", func(t *testing.T) {
		la := mustZone(t, "America/Los_Angeles")
		got := s.Shifts(mustTime("2026-03-02T00:00:00Z").In(la), mustTime("2026-03-02T00:30:00Z").In(la))
		if got[0].Start.Location() != time.UTC || got[0].End.Location() != time.UTC {
			t.Fatalf("got %v", got)
		}
	})
}
