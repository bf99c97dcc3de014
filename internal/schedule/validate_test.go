package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// validSchedule is a schedule that passes Validate, for the rows below to
// break one thing at a time.
func validSchedule() *Schedule {
	return &Schedule{
		Location: time.UTC,
		Layers: []Layer{
			{Name: "primary", Start: LocalTime{2026, 3, 7, 9, 0}, Rotation: Rotation{UnitWeek, 1}, Users: []int64{1, 2, 1}},
			{Name: "business hours", Start: LocalTime{2026, 3, 7, 9, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{3},
				Restrictions: []Restriction{
					{Days: []time.Weekday{time.Monday}, From: TimeOfDay{9, 0}, To: TimeOfDay{17, 0}},
					{Days: []time.Weekday{time.Tuesday, time.Wednesday}, From: TimeOfDay{18, 0}, To: TimeOfDay{24, 0}},
				}},
		},
		Overrides: []Override{
			{UserID: 4, Start: mustTime("2026-03-08T09:00:00Z"), End: mustTime("2026-03-08T17:00:00Z")},
			{UserID: 4, Start: mustTime("2026-03-08T17:00:00Z"), End: mustTime("2026-03-08T18:00:00Z")},
			{UserID: 5, Start: mustTime("2026-03-08T10:00:00Z"), End: mustTime("2026-03-08T11:00:00Z")},
		},
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Schedule)
		field   string // "" when valid
		message string // a part of the message, when it matters
	}{
		{"valid", func(*Schedule) {}, "", ""},
		{"every limit at its maximum", func(s *Schedule) { s.Layers[0].Rotation = Rotation{UnitHour, 8784} }, "", ""},
		{"no time zone", func(s *Schedule) { s.Location = nil }, "time_zone", "required"},
		{"the server's Local zone", func(s *Schedule) { s.Location = time.Local }, "time_zone", "Local"},
		{"no layers", func(s *Schedule) { s.Layers = nil }, "layers", "at least one"},
		{"too many layers", func(s *Schedule) { s.Layers = make([]Layer, MaxLayers+1) }, "layers", "at most"},
		{"blank layer name", func(s *Schedule) { s.Layers[0].Name = " " }, "layers[0].name", "required"},
		{"layer name too long", func(s *Schedule) { s.Layers[1].Name = strings.Repeat("é", MaxLayerNameLength+1) }, "layers[1].name", "at most"},
		{"layer name of invalid UTF-8", func(s *Schedule) { s.Layers[0].Name = "\xff" }, "layers[0].name", "UTF-8"},
		{"start on February 30th", func(s *Schedule) { s.Layers[0].Start.Month, s.Layers[0].Start.Day = 2, 30 }, "layers[0].start", "28 days"},
		{"start at hour 24", func(s *Schedule) { s.Layers[0].Start.Hour = 24 }, "layers[0].start", "hour"},
		{"start before 1970", func(s *Schedule) { s.Layers[1].Start.Year = 1969 }, "layers[1].start", "1970"},
		{"zero start", func(s *Schedule) { s.Layers[0].Start = LocalTime{} }, "layers[0].start", ""},
		{"unknown unit", func(s *Schedule) { s.Layers[0].Rotation.Unit = "month" }, "layers[0].rotation.unit", `"hour", "day" or "week"`},
		{"empty unit", func(s *Schedule) { s.Layers[0].Rotation.Unit = "" }, "layers[0].rotation.unit", ""},
		{"every 0", func(s *Schedule) { s.Layers[0].Rotation.Every = 0 }, "layers[0].rotation.every", "from 1 to 53"},
		{"every negative", func(s *Schedule) { s.Layers[1].Rotation.Every = -1 }, "layers[1].rotation.every", "from 1 to 366"},
		{"every 367 days", func(s *Schedule) { s.Layers[1].Rotation.Every = 367 }, "layers[1].rotation.every", ""},
		{"every 54 weeks", func(s *Schedule) { s.Layers[0].Rotation.Every = 54 }, "layers[0].rotation.every", ""},
		{"every 8785 hours", func(s *Schedule) { s.Layers[0].Rotation = Rotation{UnitHour, 8785} }, "layers[0].rotation.every", "8784"},
		{"no users", func(s *Schedule) { s.Layers[0].Users = nil }, "layers[0].users", "at least one"},
		{"too many users", func(s *Schedule) { s.Layers[0].Users = make([]int64, MaxLayerUsers+1) }, "layers[0].users", "at most"},
		{"user id 0", func(s *Schedule) { s.Layers[0].Users[2] = 0 }, "layers[0].users[2]", "user id"},
		{"too many restrictions", func(s *Schedule) { s.Layers[1].Restrictions = make([]Restriction, MaxRestrictions+1) }, "layers[1].restrictions", "at most"},
		{"day out of range", func(s *Schedule) { s.Layers[1].Restrictions[1].Days[0] = 7 }, "layers[1].restrictions[1].days[0]", "day of the week"},
		{"day listed twice", func(s *Schedule) { s.Layers[1].Restrictions[1].Days[1] = time.Tuesday }, "layers[1].restrictions[1].days[1]", `"tue" twice`},
		{"from 24:00", func(s *Schedule) { s.Layers[1].Restrictions[1].From = TimeOfDay{24, 0} }, "layers[1].restrictions[1].from", "24:00"},
		{"from 25:00", func(s *Schedule) { s.Layers[1].Restrictions[0].From = TimeOfDay{25, 0} }, "layers[1].restrictions[0].from", ""},
		{"to 24:30", func(s *Schedule) { s.Layers[1].Restrictions[1].To = TimeOfDay{24, 30} }, "layers[1].restrictions[1].to", ""},
		{"to minute 60", func(s *Schedule) { s.Layers[1].Restrictions[0].To = TimeOfDay{9, 60} }, "layers[1].restrictions[0].to", ""},
		{"override without user", func(s *Schedule) { s.Overrides[1].UserID = 0 }, "overrides[1].user_id", ""},
		{"override without start", func(s *Schedule) { s.Overrides[2].Start = time.Time{} }, "overrides[2].start", "required"},
		{"override without end", func(s *Schedule) { s.Overrides[2].End = time.Time{} }, "overrides[2].end", "required"},
		{"override ending at its start", func(s *Schedule) { s.Overrides[2].End = s.Overrides[2].Start }, "overrides[2].end", "after start"},
		{"override ending before its start", func(s *Schedule) { s.Overrides[0].End = s.Overrides[0].Start.Add(-time.Hour) }, "overrides[0].end", "after start"},
		{"overlapping overrides of one user", func(s *Schedule) { s.Overrides[1].Start = s.Overrides[1].Start.Add(-time.Nanosecond) }, "overrides[1].start", "overlaps overrides[0]"},
		{"overlap named on the later override even when it starts first", func(s *Schedule) {
			s.Overrides = append(s.Overrides, Override{UserID: 4, Start: mustTime("2026-03-08T08:00:00Z"), End: mustTime("2026-03-08T09:30:00Z")})
		}, "overrides[3].start", "overlaps overrides[0]"},
		{"an override inside another of the same user", func(s *Schedule) {
			s.Overrides = append(s.Overrides, Override{UserID: 4, Start: mustTime("2026-03-08T12:00:00Z"), End: mustTime("2026-03-08T13:00:00Z")})
		}, "overrides[3].start", "overlaps overrides[0]"},
		{"overlap past a shorter override", func(s *Schedule) {
			s.Overrides = []Override{
				{UserID: 4, Start: mustTime("2026-03-08T00:00:00Z"), End: mustTime("2026-03-09T00:00:00Z")},
				{UserID: 4, Start: mustTime("2026-03-08T01:00:00Z"), End: mustTime("2026-03-08T02:00:00Z")},
				{UserID: 4, Start: mustTime("2026-03-08T03:00:00Z"), End: mustTime("2026-03-08T04:00:00Z")},
			}
		}, "overrides[1].start", "overlaps overrides[0]"},
		{"overlapping overrides of different users are fine", func(s *Schedule) { s.Overrides[2].End = s.Overrides[0].End }, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSchedule()
			tc.edit(s)
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var e *klaxon.Error
			if !errors.As(err, &e) || e.Code != klaxon.EINVALID || e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
				t.Fatalf("got %#v, want an EINVALID error for %s saying %q", err, tc.field, tc.message)
			}
			if e.Message != strings.ToLower(e.Message[:1])+e.Message[1:] {
				t.Errorf("message %q should start in lower case", e.Message)
			}
		})
	}
}

// compilable is a klaxon.Schedule as the API hands it over, in text.
func compilable() klaxon.Schedule {
	return klaxon.Schedule{
		Name:     "payments",
		TimeZone: "America/Los_Angeles",
		Layers: []klaxon.ScheduleLayer{
			{Name: "primary", Start: "2026-03-07T09:00", RotationUnit: "week", RotationEvery: 1, UserIDs: []int64{1, 2}},
			{Name: "days", Start: "2026-03-07T09:00:00", RotationUnit: "day", RotationEvery: 1, UserIDs: []int64{3},
				Restrictions: []klaxon.Restriction{
					{Days: []string{"mon", "Tuesday"}, From: "09:00", To: "17:00"},
					{From: "22:00", To: "06:00"},
				}},
		},
	}
}

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*klaxon.Schedule)
		field string
	}{
		{"valid", func(*klaxon.Schedule) {}, ""},
		{"empty zone", func(s *klaxon.Schedule) { s.TimeZone = "" }, "time_zone"},
		{"Local zone", func(s *klaxon.Schedule) { s.TimeZone = "Local" }, "time_zone"},
		{"unknown zone", func(s *klaxon.Schedule) { s.TimeZone = "Europe/Atlantis" }, "time_zone"},
		{"no layers", func(s *klaxon.Schedule) { s.Layers = nil }, "layers"},
		{"blank name", func(s *klaxon.Schedule) { s.Layers[1].Name = "" }, "layers[1].name"},
		{"malformed start", func(s *klaxon.Schedule) { s.Layers[0].Start = "2026-03-07 09:00" }, "layers[0].start"},
		{"impossible start", func(s *klaxon.Schedule) { s.Layers[1].Start = "2026-02-30T09:00" }, "layers[1].start"},
		{"unknown unit", func(s *klaxon.Schedule) { s.Layers[0].RotationUnit = "fortnight" }, "layers[0].rotation.unit"},
		{"every 0", func(s *klaxon.Schedule) { s.Layers[0].RotationEvery = 0 }, "layers[0].rotation.every"},
		{"no users", func(s *klaxon.Schedule) { s.Layers[0].UserIDs = nil }, "layers[0].users"},
		{"bad day", func(s *klaxon.Schedule) { s.Layers[1].Restrictions[0].Days[1] = "mon," }, "layers[1].restrictions[0].days[1]"},
		{"same day twice in two spellings", func(s *klaxon.Schedule) { s.Layers[1].Restrictions[0].Days[1] = "MONDAY" }, "layers[1].restrictions[0].days[1]"},
		{"one-digit from", func(s *klaxon.Schedule) { s.Layers[1].Restrictions[1].From = "9:00" }, "layers[1].restrictions[1].from"},
		{"empty to", func(s *klaxon.Schedule) { s.Layers[1].Restrictions[1].To = "" }, "layers[1].restrictions[1].to"},
		{"to 25:00", func(s *klaxon.Schedule) { s.Layers[1].Restrictions[0].To = "25:00" }, "layers[1].restrictions[0].to"},
		{"from 24:00", func(s *klaxon.Schedule) { s.Layers[1].Restrictions[0].From = "24:00" }, "layers[1].restrictions[0].from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := compilable()
			tc.edit(&sc)
			got, err := Compile(sc, nil)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Location.String() != "America/Los_Angeles" || got.Layers[1].Restrictions[0].Days[1] != time.Tuesday || got.Layers[1].Restrictions[1].To != (TimeOfDay{6, 0}) {
					t.Fatalf("compiled %+v", got)
				}
				return
			}
			var e *klaxon.Error
			if !errors.As(err, &e) || e.Code != klaxon.EINVALID || e.Field != tc.field {
				t.Fatalf("got %#v, want an EINVALID error for %s", err, tc.field)
			}
		})
	}
	t.Run("stored overrides are taken as they are, in order", func(t *testing.T) {
		at := mustTime("2026-03-10T12:00:00Z")
		s, err := Compile(compilable(), []klaxon.Override{
			{ID: 1, UserID: 7, Start: at.Add(-time.Hour), End: at.Add(time.Hour)},
			{ID: 2, UserID: 7, Start: at.Add(-time.Minute), End: at.Add(time.Minute)}, // overlaps: still no error
			{ID: 3, UserID: 8, Start: at, End: at},                                    // empty: covers nothing
		})
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := s.OnCallAt(at); !ok || id != 7 {
			t.Fatalf("OnCallAt = %d, %v", id, ok)
		}
	})
}

func TestZonesCompile(t *testing.T) {
	var zones Zones
	for range 3 {
		s, err := zones.Compile(compilable(), nil)
		if err != nil || s.Location.String() != "America/Los_Angeles" {
			t.Fatalf("Compile = %v, %v", s, err)
		}
	}
	if len(zones.byName) != 1 {
		t.Fatalf("cached %d zones, want 1", len(zones.byName))
	}
	bad := compilable()
	bad.TimeZone = "Local"
	var e *klaxon.Error
	if _, err := zones.Compile(bad, nil); !errors.As(err, &e) || e.Field != "time_zone" {
		t.Fatalf("Compile with Local = %v", err)
	}
	if len(zones.byName) != 1 {
		t.Fatal("cached a zone that failed to load")
	}
	t.Run("concurrent use", func(t *testing.T) {
		var zones Zones
		done := make(chan error)
		for _, name := range []string{"UTC", "Europe/London", "Asia/Kolkata", "Europe/London"} {
			go func() {
				sc := compilable()
				sc.TimeZone = name
				s, err := zones.Compile(sc, nil)
				if err == nil {
					s.Shifts(mustTime("2026-03-01T00:00:00Z"), mustTime("2026-03-08T00:00:00Z"))
				}
				done <- err
			}()
		}
		for range 4 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
}
