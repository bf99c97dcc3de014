package main

import (
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/schedule"
)

// The on-call benchmark (DESIGN.md §4, issue target): who is on call at one
// instant on 1,000 schedules of 3 layers each (target ≤ 10 ms in all), and
// one year of shifts of one such schedule. It is pure computation, run in
// this process on schedules compiled once, as the server holds them.

var benchZones = []string{"America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "UTC"}

// benchSchedule is a realistic three-layer schedule: a weekly rotation
// started years ago, a daily business-hours layer restricted to weekdays,
// and an hourly layer for the night.
func benchSchedule(i int) klaxon.Schedule {
	users := func(base int64, n int) []int64 {
		out := make([]int64, n)
		for j := range out {
			out[j] = base + int64(j) + 1
		}
		return out
	}
	return klaxon.Schedule{Name: fmt.Sprintf("s%d", i), TimeZone: benchZones[i%len(benchZones)], Layers: []klaxon.ScheduleLayer{
		{Name: "weekly", Start: fmt.Sprintf("20%02d-01-%02dT09:00", 19+i%6, 1+i%28), RotationUnit: "week", RotationEvery: 1, UserIDs: users(int64(i*10), 4)},
		{Name: "business hours", Start: "2021-05-03T09:00", RotationUnit: "day", RotationEvery: 1 + i%3, UserIDs: users(int64(i*10+4), 3),
			Restrictions: []klaxon.Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "17:00"}}},
		{Name: "nights", Start: "2024-01-01T22:00", RotationUnit: "hour", RotationEvery: 8 + i%5, UserIDs: users(int64(i*10+7), 3),
			Restrictions: []klaxon.Restriction{{From: "22:00", To: "06:00"}}},
	}}
}

type oncallResult struct {
	Schedules      int     `json:"schedules"`
	Layers         int     `json:"layers_each"`
	Rounds         int     `json:"rounds"`
	OnCallP50Ms    float64 `json:"oncall_all_p50_ms"`
	OnCallP99Ms    float64 `json:"oncall_all_p99_ms"`
	OnCallTargetMs float64 `json:"oncall_all_target_ms"`
	YearShifts     int     `json:"year_shifts"`
	YearShiftsMs   float64 `json:"year_shifts_p50_ms"`
}

func runOnCallBench(rounds int) (oncallResult, error) {
	const n = 1000
	compiled := make([]*schedule.Schedule, n)
	for i := range compiled {
		c, err := schedule.Compile(benchSchedule(i), nil)
		if err != nil {
			return oncallResult{}, fmt.Errorf("bench schedule %d: %w", i, err)
		}
		compiled[i] = c
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var took hist
	onCall := 0
	for r := 0; r < rounds; r++ {
		at = at.Add(37 * time.Minute) // a different instant every round
		start := time.Now()
		for _, c := range compiled {
			if _, ok := c.OnCallAt(at); ok {
				onCall++
			}
		}
		took.add(time.Since(start))
	}
	if onCall == 0 {
		return oncallResult{}, fmt.Errorf("nobody was ever on call: the benchmark schedules are wrong")
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var yearTook hist
	shifts := 0
	for r := 0; r < 20; r++ {
		start := time.Now()
		shifts = len(compiled[r].Shifts(from, from.AddDate(1, 0, 0)))
		yearTook.add(time.Since(start))
	}
	return oncallResult{Schedules: n, Layers: 3, Rounds: rounds,
		OnCallP50Ms: ms(took.quantile(0.5)), OnCallP99Ms: ms(took.quantile(0.99)), OnCallTargetMs: 10,
		YearShifts: shifts, YearShiftsMs: ms(yearTook.quantile(0.5))}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printOnCall(r oncallResult) {
	verdict := "MET"
	if r.OnCallP99Ms > r.OnCallTargetMs {
		verdict = "MISSED"
	}
	fmt.Printf("\noncall: who is on call at one instant, %d schedules × %d layers, %d instants\n", r.Schedules, r.Layers, r.Rounds)
	fmt.Printf("  all %d schedules: p50 %.2f ms, p99 %.2f ms (target ≤ %.0f ms: %s)\n", r.Schedules, r.OnCallP50Ms, r.OnCallP99Ms, r.OnCallTargetMs, verdict)
	fmt.Printf("  one year of shifts of one schedule: %d shifts in %.2f ms (p50 of 20)\n", r.YearShifts, r.YearShiftsMs)
}
