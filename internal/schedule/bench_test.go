package schedule

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// benchZones mixes zones with and without DST, with odd offsets, in both
// hemispheres.
var benchZones = []string{
	"UTC", "America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin",
	"Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Chatham",
}

// benchSchedules builds n schedules of three layers each, as a busy
// installation has them: layers started years ago, hourly, daily and
// weekly rotations, some restricted to business hours or nights, and a few
// overrides.
func benchSchedules(b *testing.B, n int) []*Schedule {
	rng := rand.New(rand.NewPCG(10, 11))
	zones := make([]*time.Location, len(benchZones))
	for i, name := range benchZones {
		zones[i] = mustZone(b, name)
	}
	out := make([]*Schedule, n)
	for i := range out {
		s := &Schedule{Location: zones[i%len(zones)]}
		for j := range 3 {
			l := Layer{
				Name:  "layer",
				Start: LocalTime{2016 + rng.IntN(9), time.Month(1 + rng.IntN(12)), 1 + rng.IntN(28), rng.IntN(24), 15 * rng.IntN(4)},
				Users: []int64{int64(1 + rng.IntN(50)), int64(1 + rng.IntN(50)), int64(1 + rng.IntN(50)), int64(1 + rng.IntN(50))},
			}
			switch (i + j) % 3 {
			case 0:
				l.Rotation = Rotation{UnitHour, 1 + rng.IntN(12)}
			case 1:
				l.Rotation = Rotation{UnitDay, 1 + rng.IntN(3)}
			default:
				l.Rotation = Rotation{UnitWeek, 1 + rng.IntN(2)}
			}
			switch j {
			case 1:
				l.Restrictions = []Restriction{{Days: []time.Weekday{1, 2, 3, 4, 5}, From: TimeOfDay{9, 0}, To: TimeOfDay{17, 0}}}
			case 2:
				if i%2 == 0 {
					l.Restrictions = []Restriction{{From: TimeOfDay{22, 0}, To: TimeOfDay{6, 0}}, {Days: []time.Weekday{0, 6}, From: TimeOfDay{0, 0}, To: TimeOfDay{24, 0}}}
				}
			}
			s.Layers = append(s.Layers, l)
		}
		at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(30*24)) * time.Hour)
		s.Overrides = []Override{{UserID: 99, Start: at, End: at.Add(8 * time.Hour)}, {UserID: 98, Start: at.Add(24 * time.Hour), End: at.Add(48 * time.Hour)}}
		if err := s.Validate(); err != nil {
			b.Fatal(err)
		}
		out[i] = s
	}
	return out
}

// BenchmarkOnCallAt1000Schedules measures the product target: who is on
// call on 1,000 three-layer schedules at one instant, in at most 10 ms.
func BenchmarkOnCallAt1000Schedules(b *testing.B) {
	schedules := benchSchedules(b, 1000)
	at := time.Date(2026, 6, 15, 12, 34, 56, 0, time.UTC)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		at = at.Add(7 * time.Minute)
		for _, s := range schedules {
			if _, ok := s.OnCallAt(at); ok {
				n++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/schedule")
	if n == 0 {
		b.Fatal("nobody was ever on call")
	}
}

// BenchmarkShiftsOneYear lists a year of shifts of a three-layer schedule
// whose top layer rotates hourly: about 8,760 shifts.
func BenchmarkShiftsOneYear(b *testing.B) {
	la := mustZone(b, "America/Los_Angeles")
	s := &Schedule{Location: la, Layers: []Layer{
		{Name: "weekly", Start: LocalTime{2019, 1, 7, 9, 0}, Rotation: Rotation{UnitWeek, 1}, Users: []int64{1, 2, 3, 4}},
		{Name: "business hours", Start: LocalTime{2020, 5, 4, 9, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{5, 6, 7},
			Restrictions: []Restriction{{Days: []time.Weekday{1, 2, 3, 4, 5}, From: TimeOfDay{9, 0}, To: TimeOfDay{17, 0}}}},
		{Name: "hourly", Start: LocalTime{2024, 1, 1, 0, 0}, Rotation: Rotation{UnitHour, 1}, Users: []int64{8, 9, 10}},
	}}
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, la), time.Date(2027, 1, 1, 0, 0, 0, 0, la)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(s.Shifts(from, to))
	}
	b.ReportMetric(float64(n), "shifts")
}

// BenchmarkCompileOnCallAt1000Schedules is the whole on-call question as
// the API asks it: compile 1,000 stored schedules from their text, then
// ask each who is on call; with a fresh zone load per schedule, and
// through a Zones cache.
func BenchmarkCompileOnCallAt1000Schedules(b *testing.B) {
	var texts []klaxon.Schedule
	for _, s := range benchSchedules(b, 1000) {
		sc := klaxon.Schedule{TimeZone: s.Location.String()}
		for _, l := range s.Layers {
			kl := klaxon.ScheduleLayer{Name: l.Name, Start: l.Start.String(), RotationUnit: string(l.Rotation.Unit), RotationEvery: l.Rotation.Every, UserIDs: l.Users}
			for _, x := range l.Restrictions {
				kr := klaxon.Restriction{From: x.From.String(), To: x.To.String()}
				for _, d := range x.Days {
					kr.Days = append(kr.Days, FormatWeekday(d))
				}
				kl.Restrictions = append(kl.Restrictions, kr)
			}
			sc.Layers = append(sc.Layers, kl)
		}
		texts = append(texts, sc)
	}
	at := time.Date(2026, 6, 15, 12, 34, 56, 0, time.UTC)
	run := func(b *testing.B, compile func(klaxon.Schedule, []klaxon.Override) (*Schedule, error)) {
		b.ReportAllocs()
		for b.Loop() {
			for _, sc := range texts {
				s, err := compile(sc, nil)
				if err != nil {
					b.Fatal(err)
				}
				s.OnCallAt(at)
			}
		}
	}
	b.Run("LoadZone", func(b *testing.B) { run(b, Compile) })
	b.Run("Zones", func(b *testing.B) { var z Zones; run(b, z.Compile) })
}
