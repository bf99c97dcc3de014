package schedule

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// render prints shifts one per line, "user start/end", with the instants in
// loc so that both the wall clock and the offset (hence the exact instant)
// show.
func render(shifts []Shift, loc *time.Location) string {
	var b strings.Builder
	for _, sh := range shifts {
		fmt.Fprintf(&b, "%d %s/%s\n", sh.UserID, sh.Start.In(loc).Format(time.RFC3339), sh.End.In(loc).Format(time.RFC3339))
	}
	return b.String()
}

// TestHandoffsAcrossDST is the regression table for DST: daily and weekly
// hand-offs keep their wall-clock time across both changes of the year in
// each zone, hand-offs at skipped and repeated readings resolve by the
// rules, and hourly rotations count real hours. Every row asserts exact
// instants (the offsets are part of the expected text).
func TestHandoffsAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		start      string // the layer's start, which is also where the range starts
		unit       Unit
		every      int
		to         string // the end of the range, a wall-clock reading
		want       []string
	}{
		{"LA daily 09:00, spring forward: 23-hour shift", "America/Los_Angeles", "2026-03-06T09:00", UnitDay, 1, "2026-03-10T09:00", []string{
			"1 2026-03-06T09:00:00-08:00/2026-03-07T09:00:00-08:00",
			"2 2026-03-07T09:00:00-08:00/2026-03-08T09:00:00-07:00",
			"3 2026-03-08T09:00:00-07:00/2026-03-09T09:00:00-07:00",
			"1 2026-03-09T09:00:00-07:00/2026-03-10T09:00:00-07:00",
		}},
		{"LA daily 09:00, fall back: 25-hour shift", "America/Los_Angeles", "2026-10-30T09:00", UnitDay, 1, "2026-11-02T09:00", []string{
			"1 2026-10-30T09:00:00-07:00/2026-10-31T09:00:00-07:00",
			"2 2026-10-31T09:00:00-07:00/2026-11-01T09:00:00-08:00",
			"3 2026-11-01T09:00:00-08:00/2026-11-02T09:00:00-08:00",
		}},
		{"LA weekly Sunday 09:00 across spring forward", "America/Los_Angeles", "2026-03-01T09:00", UnitWeek, 1, "2026-03-22T09:00", []string{
			"1 2026-03-01T09:00:00-08:00/2026-03-08T09:00:00-07:00",
			"2 2026-03-08T09:00:00-07:00/2026-03-15T09:00:00-07:00",
			"3 2026-03-15T09:00:00-07:00/2026-03-22T09:00:00-07:00",
		}},
		{"LA weekly Sunday 09:00 across fall back", "America/Los_Angeles", "2026-10-25T09:00", UnitWeek, 1, "2026-11-08T09:00", []string{
			"1 2026-10-25T09:00:00-07:00/2026-11-01T09:00:00-08:00",
			"2 2026-11-01T09:00:00-08:00/2026-11-08T09:00:00-08:00",
		}},
		{"LA daily hand-off at skipped 02:30 moves to 03:30 PDT that day", "America/Los_Angeles", "2026-03-07T02:30", UnitDay, 1, "2026-03-10T02:30", []string{
			"1 2026-03-07T02:30:00-08:00/2026-03-08T03:30:00-07:00",
			"2 2026-03-08T03:30:00-07:00/2026-03-09T02:30:00-07:00",
			"3 2026-03-09T02:30:00-07:00/2026-03-10T02:30:00-07:00",
		}},
		{"LA daily hand-off at repeated 01:30 is the first 01:30", "America/Los_Angeles", "2026-10-31T01:30", UnitDay, 1, "2026-11-03T01:30", []string{
			"1 2026-10-31T01:30:00-07:00/2026-11-01T01:30:00-07:00",
			"2 2026-11-01T01:30:00-07:00/2026-11-02T01:30:00-08:00",
			"3 2026-11-02T01:30:00-08:00/2026-11-03T01:30:00-08:00",
		}},
		{"LA layer starting at a skipped reading starts at 03:30 PDT", "America/Los_Angeles", "2026-03-08T02:30", UnitDay, 2, "2026-03-12T02:30", []string{
			"1 2026-03-08T03:30:00-07:00/2026-03-10T02:30:00-07:00",
			"2 2026-03-10T02:30:00-07:00/2026-03-12T02:30:00-07:00",
		}},
		{"LA hourly counts real hours across spring forward", "America/Los_Angeles", "2026-03-08T00:00", UnitHour, 1, "2026-03-08T04:00", []string{
			"1 2026-03-08T00:00:00-08:00/2026-03-08T01:00:00-08:00",
			"2 2026-03-08T01:00:00-08:00/2026-03-08T03:00:00-07:00",
			"3 2026-03-08T03:00:00-07:00/2026-03-08T04:00:00-07:00",
		}},
		{"LA 8-hourly across fall back: 07:00 PST, not 08:00", "America/Los_Angeles", "2026-11-01T00:00", UnitHour, 8, "2026-11-01T23:00", []string{
			"1 2026-11-01T00:00:00-07:00/2026-11-01T07:00:00-08:00",
			"2 2026-11-01T07:00:00-08:00/2026-11-01T15:00:00-08:00",
			"3 2026-11-01T15:00:00-08:00/2026-11-01T23:00:00-08:00",
		}},
		{"London daily 09:00 across spring forward", "Europe/London", "2026-03-28T09:00", UnitDay, 1, "2026-03-30T09:00", []string{
			"1 2026-03-28T09:00:00Z/2026-03-29T09:00:00+01:00",
			"2 2026-03-29T09:00:00+01:00/2026-03-30T09:00:00+01:00",
		}},
		{"London daily 09:00 across fall back", "Europe/London", "2026-10-24T09:00", UnitDay, 1, "2026-10-26T09:00", []string{
			"1 2026-10-24T09:00:00+01:00/2026-10-25T09:00:00Z",
			"2 2026-10-25T09:00:00Z/2026-10-26T09:00:00Z",
		}},
		{"London hand-off at skipped 01:30 is 02:30 BST", "Europe/London", "2026-03-28T01:30", UnitDay, 1, "2026-03-30T01:30", []string{
			"1 2026-03-28T01:30:00Z/2026-03-29T02:30:00+01:00",
			"2 2026-03-29T02:30:00+01:00/2026-03-30T01:30:00+01:00",
		}},
		{"London hand-off at repeated 01:30 is the BST one", "Europe/London", "2026-10-24T01:30", UnitDay, 1, "2026-10-26T01:30", []string{
			"1 2026-10-24T01:30:00+01:00/2026-10-25T01:30:00+01:00",
			"2 2026-10-25T01:30:00+01:00/2026-10-26T01:30:00Z",
		}},
		{"Lord Howe daily 09:00 across its 30-minute fall back", "Australia/Lord_Howe", "2026-04-04T09:00", UnitDay, 1, "2026-04-06T09:00", []string{
			"1 2026-04-04T09:00:00+11:00/2026-04-05T09:00:00+10:30",
			"2 2026-04-05T09:00:00+10:30/2026-04-06T09:00:00+10:30",
		}},
		{"Lord Howe daily 09:00 across its 30-minute spring forward", "Australia/Lord_Howe", "2026-10-03T09:00", UnitDay, 1, "2026-10-05T09:00", []string{
			"1 2026-10-03T09:00:00+10:30/2026-10-04T09:00:00+11:00",
			"2 2026-10-04T09:00:00+11:00/2026-10-05T09:00:00+11:00",
		}},
		{"Lord Howe hand-off at skipped 02:15 moves 30 minutes", "Australia/Lord_Howe", "2026-10-03T02:15", UnitDay, 1, "2026-10-05T02:15", []string{
			"1 2026-10-03T02:15:00+10:30/2026-10-04T02:45:00+11:00",
			"2 2026-10-04T02:45:00+11:00/2026-10-05T02:15:00+11:00",
		}},
		{"Lord Howe hand-off at repeated 01:45 is the first", "Australia/Lord_Howe", "2026-04-04T01:45", UnitDay, 1, "2026-04-06T01:45", []string{
			"1 2026-04-04T01:45:00+11:00/2026-04-05T01:45:00+11:00",
			"2 2026-04-05T01:45:00+11:00/2026-04-06T01:45:00+10:30",
		}},
		{"Lord Howe weekly across spring forward", "Australia/Lord_Howe", "2026-09-27T09:00", UnitWeek, 1, "2026-10-11T09:00", []string{
			"1 2026-09-27T09:00:00+10:30/2026-10-04T09:00:00+11:00",
			"2 2026-10-04T09:00:00+11:00/2026-10-11T09:00:00+11:00",
		}},
		{"Lord Howe 2-hourly counts real hours across fall back", "Australia/Lord_Howe", "2026-04-05T00:00", UnitHour, 2, "2026-04-05T03:30", []string{
			"1 2026-04-05T00:00:00+11:00/2026-04-05T01:30:00+10:30",
			"2 2026-04-05T01:30:00+10:30/2026-04-05T03:30:00+10:30",
		}},
		{"Kolkata daily 09:00 is always 03:30 UTC", "Asia/Kolkata", "2026-03-07T09:00", UnitDay, 1, "2026-03-09T09:00", []string{
			"1 2026-03-07T09:00:00+05:30/2026-03-08T09:00:00+05:30",
			"2 2026-03-08T09:00:00+05:30/2026-03-09T09:00:00+05:30",
		}},
		{"Kolkata weekly", "Asia/Kolkata", "2026-10-25T09:00", UnitWeek, 1, "2026-11-08T09:00", []string{
			"1 2026-10-25T09:00:00+05:30/2026-11-01T09:00:00+05:30",
			"2 2026-11-01T09:00:00+05:30/2026-11-08T09:00:00+05:30",
		}},
		{"Chatham daily 09:00 across spring forward", "Pacific/Chatham", "2026-09-26T09:00", UnitDay, 1, "2026-09-28T09:00", []string{
			"1 2026-09-26T09:00:00+12:45/2026-09-27T09:00:00+13:45",
			"2 2026-09-27T09:00:00+13:45/2026-09-28T09:00:00+13:45",
		}},
		{"Chatham daily 09:00 across fall back", "Pacific/Chatham", "2026-04-04T09:00", UnitDay, 1, "2026-04-06T09:00", []string{
			"1 2026-04-04T09:00:00+13:45/2026-04-05T09:00:00+12:45",
			"2 2026-04-05T09:00:00+12:45/2026-04-06T09:00:00+12:45",
		}},
		{"Chatham hand-off at skipped 03:00 is 04:00 +13:45", "Pacific/Chatham", "2026-09-26T03:00", UnitDay, 1, "2026-09-28T03:00", []string{
			"1 2026-09-26T03:00:00+12:45/2026-09-27T04:00:00+13:45",
			"2 2026-09-27T04:00:00+13:45/2026-09-28T03:00:00+13:45",
		}},
		{"Chatham hand-off at repeated 03:00 is the first", "Pacific/Chatham", "2026-04-04T03:00", UnitDay, 1, "2026-04-06T03:00", []string{
			"1 2026-04-04T03:00:00+13:45/2026-04-05T03:00:00+13:45",
			"2 2026-04-05T03:00:00+13:45/2026-04-06T03:00:00+12:45",
		}},
		{"Santiago daily 00:00 on a day without midnight is 01:00", "America/Santiago", "2026-09-04T00:00", UnitDay, 1, "2026-09-07T00:00", []string{
			"1 2026-09-04T00:00:00-04:00/2026-09-05T00:00:00-04:00",
			"2 2026-09-05T00:00:00-04:00/2026-09-06T01:00:00-03:00",
			"3 2026-09-06T01:00:00-03:00/2026-09-07T00:00:00-03:00",
		}},
		{"Santiago repeated 23:30 before midnight is the first", "America/Santiago", "2026-04-03T23:30", UnitDay, 1, "2026-04-05T23:30", []string{
			"1 2026-04-03T23:30:00-03:00/2026-04-04T23:30:00-03:00",
			"2 2026-04-04T23:30:00-03:00/2026-04-05T23:30:00-04:00",
		}},
		{"Troll's two-hour jump moves 02:00 to 04:00", "Antarctica/Troll", "2026-03-28T02:00", UnitDay, 1, "2026-03-30T02:00", []string{
			"1 2026-03-28T02:00:00Z/2026-03-29T04:00:00+02:00",
			"2 2026-03-29T04:00:00+02:00/2026-03-30T02:00:00+02:00",
		}},
		// Samoa skipped 2011-12-30 entirely: that day's 09:00 moves a whole
		// day forward, onto the next day's hand-off, so its shift is empty
		// and the rotation goes from user 2 straight to user 1.
		{"Apia's skipped day has an empty shift", "Pacific/Apia", "2011-12-28T09:00", UnitDay, 1, "2012-01-01T09:00", []string{
			"1 2011-12-28T09:00:00-10:00/2011-12-29T09:00:00-10:00",
			"2 2011-12-29T09:00:00-10:00/2011-12-31T09:00:00+14:00",
			"1 2011-12-31T09:00:00+14:00/2012-01-01T09:00:00+14:00",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustZone(t, tc.zone)
			start := mustLocal(t, tc.start)
			s := &Schedule{Location: loc, Layers: []Layer{{Name: "primary", Start: start, Rotation: Rotation{tc.unit, tc.every}, Users: []int64{1, 2, 3}}}}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			from, to := start.In(loc), mustLocal(t, tc.to).In(loc)
			shifts := s.Shifts(from, to)
			if got, want := render(shifts, loc), strings.Join(tc.want, "\n")+"\n"; got != want {
				t.Fatalf("shifts:\n%s\nwant:\n%s", got, want)
			}
			for _, sh := range shifts {
				if id, ok := s.OnCallAt(sh.Start); !ok || id != sh.UserID {
					t.Errorf("OnCallAt(%s) = %d, %v; want %d", sh.Start.In(loc).Format(time.RFC3339), id, ok, sh.UserID)
				}
				if id, ok := s.OnCallAt(sh.End.Add(-time.Nanosecond)); !ok || id != sh.UserID {
					t.Errorf("OnCallAt(%s - 1ns) = %d, %v; want %d", sh.End.In(loc).Format(time.RFC3339), id, ok, sh.UserID)
				}
			}
			if _, ok := s.OnCallAt(from.Add(-time.Nanosecond)); ok {
				t.Errorf("someone is on call before the layer starts")
			}
		})
	}
}

// TestLongRunningLayers checks the direct index arithmetic on layers that
// started years before the instant asked about.
func TestLongRunningLayers(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	users := []int64{10, 11, 12, 13, 14, 15, 16}
	for _, tc := range []struct {
		name  string
		layer Layer
		at    string
		want  int64
	}{
		// 2016-03-08 to 2026-03-08 is 3,652 days: shift 3652 (3652 mod 7 =
		// 5) starts at 02:30 that day, which is skipped, so at 03:30 PDT.
		{"daily for ten years, just before a skipped hand-off", Layer{Start: LocalTime{2016, 3, 8, 2, 30}, Rotation: Rotation{UnitDay, 1}}, "2026-03-08T03:29:59.999999999-07:00", 14},
		{"daily for ten years, at a skipped hand-off", Layer{Start: LocalTime{2016, 3, 8, 2, 30}, Rotation: Rotation{UnitDay, 1}}, "2026-03-08T03:30:00-07:00", 15},
		// 2016-01-01 to 2026-01-01 is 3,653 days, 87,672 hours; mod 7 = 4.
		{"hourly for ten years", Layer{Start: LocalTime{2016, 1, 1, 0, 0}, Rotation: Rotation{UnitHour, 1}}, "2026-01-01T00:00:00-08:00", 14},
		{"hourly for ten years, one hour later", Layer{Start: LocalTime{2016, 1, 1, 0, 0}, Rotation: Rotation{UnitHour, 1}}, "2026-01-01T01:00:00-08:00", 15},
		{"hourly for ten years, one nanosecond earlier", Layer{Start: LocalTime{2016, 1, 1, 0, 0}, Rotation: Rotation{UnitHour, 1}}, "2025-12-31T23:59:59.999999999-08:00", 13},
		// 3,652 days is 521 weeks and 5 days: week 521 (mod 7 = 3) started
		// on 2026-03-03 at 09:00 PST.
		{"weekly for ten years", Layer{Start: LocalTime{2016, 3, 8, 9, 0}, Rotation: Rotation{UnitWeek, 1}}, "2026-03-08T12:00:00-07:00", 13},
		{"weekly for ten years, before its hand-off", Layer{Start: LocalTime{2016, 3, 8, 9, 0}, Rotation: Rotation{UnitWeek, 1}}, "2026-03-03T08:59:00-08:00", 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.layer.Name, tc.layer.Users = "long", users
			s := &Schedule{Location: la, Layers: []Layer{tc.layer}}
			if got, ok := s.OnCallAt(mustInstant(t, tc.at)); !ok || got != tc.want {
				t.Fatalf("OnCallAt(%s) = %d, %v; want %d", tc.at, got, ok, tc.want)
			}
			if got, ok := oracleOnCall(s, mustInstant(t, tc.at)); !ok || got != tc.want {
				t.Fatalf("the oracle says %d, %v; want %d", got, ok, tc.want)
			}
		})
	}
}
