package schedule_test

import (
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/schedule"
)

// A daily rotation with a 09:00 hand-off in Los Angeles keeps handing off at
// 09:00 when the clocks go forward; that day's shift is 23 hours long.
func Example() {
	s, err := schedule.Compile(klaxon.Schedule{
		TimeZone: "America/Los_Angeles",
		Layers: []klaxon.ScheduleLayer{{
			Name: "primary", Start: "2026-03-06T09:00", RotationUnit: "day", RotationEvery: 1, UserIDs: []int64{1, 2},
		}},
	}, nil)
	if err != nil {
		panic(err)
	}
	la := s.Location
	for _, sh := range s.Shifts(time.Date(2026, 3, 7, 0, 0, 0, 0, la), time.Date(2026, 3, 9, 0, 0, 0, 0, la)) {
		fmt.Println(sh.UserID, sh.Start.In(la).Format(time.RFC3339), sh.End.In(la).Format(time.RFC3339), sh.End.Sub(sh.Start))
	}
	who, _ := s.OnCallAt(time.Date(2026, 3, 8, 8, 59, 0, 0, la))
	fmt.Println("at 08:59 on the 8th:", who)
	// Output:
	// 1 2026-03-07T00:00:00-08:00 2026-03-07T09:00:00-08:00 9h0m0s
	// 2 2026-03-07T09:00:00-08:00 2026-03-08T09:00:00-07:00 23h0m0s
	// 1 2026-03-08T09:00:00-07:00 2026-03-09T00:00:00-07:00 15h0m0s
	// at 08:59 on the 8th: 2
}
