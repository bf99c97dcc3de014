package schedule

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseLocalTime(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     LocalTime // zero when the input is refused
	}{
		{"minutes", "2026-03-07T09:00", LocalTime{2026, time.March, 7, 9, 0}},
		{"zero seconds", "2026-03-07T09:00:00", LocalTime{2026, time.March, 7, 9, 0}},
		{"leap day", "2028-02-29T23:59", LocalTime{2028, time.February, 29, 23, 59}},
		{"skipped reading is still a reading", "2026-03-08T02:30", LocalTime{2026, time.March, 8, 2, 30}},
		{"empty", "", LocalTime{}},
		{"February 30th", "2026-02-30T09:00", LocalTime{}},
		{"no leap day in 2026", "2026-02-29T09:00", LocalTime{}},
		{"no leap day in 2100", "2100-02-29T09:00", LocalTime{}},
		{"month 13", "2026-13-01T09:00", LocalTime{}},
		{"month 00", "2026-00-01T09:00", LocalTime{}},
		{"day 00", "2026-01-00T09:00", LocalTime{}},
		{"hour 24", "2026-03-07T24:00", LocalTime{}},
		{"minute 60", "2026-03-07T09:60", LocalTime{}},
		{"non-zero seconds", "2026-03-07T09:00:30", LocalTime{}},
		{"one-digit hour", "2026-03-07T9:00", LocalTime{}},
		{"space instead of T", "2026-03-07 09:00", LocalTime{}},
		{"lower-case t", "2026-03-07t09:00", LocalTime{}},
		{"zone offset", "2026-03-07T09:00Z", LocalTime{}},
		{"RFC 3339 instant", "2026-03-07T09:00:00+01:00", LocalTime{}},
		{"date only", "2026-03-07", LocalTime{}},
		{"signed year", "+026-03-07T09:00", LocalTime{}},
		{"year before 1970", "1969-12-31T23:00", LocalTime{}},
		{"fractional seconds", "2026-03-07T09:00:00.5", LocalTime{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLocalTime(tc.in)
			if (err == nil) != (tc.want != LocalTime{}) || got != tc.want {
				t.Fatalf("ParseLocalTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if err == nil && got.String() != tc.in[:16] {
				t.Fatalf("String() = %q, want %q", got.String(), tc.in[:16])
			}
		})
	}
}

func TestParseTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     TimeOfDay
		ok       bool
	}{
		{"morning", "09:00", TimeOfDay{9, 0}, true},
		{"midnight", "00:00", TimeOfDay{0, 0}, true},
		{"last minute", "23:59", TimeOfDay{23, 59}, true},
		{"end of day", "24:00", TimeOfDay{24, 0}, true},
		{"zero seconds", "17:30:00", TimeOfDay{17, 30}, true},
		{"past the end of day", "24:01", TimeOfDay{}, false},
		{"hour 25", "25:00", TimeOfDay{}, false},
		{"minute 60", "09:60", TimeOfDay{}, false},
		{"one-digit hour is refused, not guessed", "9:00", TimeOfDay{}, false},
		{"empty", "", TimeOfDay{}, false},
		{"no colon", "0900", TimeOfDay{}, false},
		{"non-zero seconds", "09:00:01", TimeOfDay{}, false},
		{"am/pm", "9am", TimeOfDay{}, false},
		{"sign", "-1:00", TimeOfDay{}, false},
		{"trailing space", "09:00 ", TimeOfDay{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTimeOfDay(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseTimeOfDay(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
			}
			if tc.ok && got.String() != tc.in[:5] {
				t.Fatalf("String() = %q, want %q", got.String(), tc.in[:5])
			}
		})
	}
}

func TestParseWeekday(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     time.Weekday
		ok       bool
	}{
		{"short", "mon", time.Monday, true},
		{"sunday is 0", "sun", time.Sunday, true},
		{"upper case", "SAT", time.Saturday, true},
		{"full name", "Wednesday", time.Wednesday, true},
		{"full name, lower case", "thursday", time.Thursday, true},
		{"empty", "", 0, false},
		{"trailing comma", "mon,", 0, false},
		{"list in one string", "mon,tue", 0, false},
		{"other abbreviation", "tues", 0, false},
		{"space", " fri", 0, false},
		{"number", "1", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWeekday(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseWeekday(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if got, err := ParseWeekday(FormatWeekday(d)); err != nil || got != d {
			t.Fatalf("round trip of %v: %v, %v", d, got, err)
		}
	}
	if got := FormatWeekday(9); got != "%!Weekday(9)" {
		t.Fatalf("FormatWeekday(9) = %q", got)
	}
}

// TestDaysFromCivil checks the day count against the time package across
// four centuries either side of the epoch, and the weekday that goes with it.
func TestDaysFromCivil(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		d := time.Date(1600+rng.IntN(800), time.Month(1+rng.IntN(12)), 1+rng.IntN(31), 0, 0, 0, 0, time.UTC)
		got := daysFromCivil(int64(d.Year()), int(d.Month()), d.Day())
		if want := floorDiv(d.Unix(), secondsPerDay); got != want {
			t.Fatalf("daysFromCivil(%s) = %d, want %d", d.Format(time.DateOnly), got, want)
		}
		if weekdayOf(got) != d.Weekday() {
			t.Fatalf("weekdayOf(%s) = %v, want %v", d.Format(time.DateOnly), weekdayOf(got), d.Weekday())
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, tc := range []struct{ a, b, q, m int64 }{
		{7, 2, 3, 1}, {-7, 2, -4, 1}, {-8, 2, -4, 0}, {0, 5, 0, 0}, {-1, 86400, -1, 86399},
	} {
		if q, m := floorDiv(tc.a, tc.b), floorMod(tc.a, tc.b); q != tc.q || m != tc.m {
			t.Errorf("floorDiv/floorMod(%d, %d) = %d, %d; want %d, %d", tc.a, tc.b, q, m, tc.q, tc.m)
		}
	}
}

// FuzzParse checks that the parsers never panic and that whatever they
// accept prints back to a form they read the same way.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-03-07T09:00", "2026-03-07T09:00:00", "09:00", "24:00", "mon", "Sunday", "", "2026-02-30T09:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if lt, err := ParseLocalTime(s); err == nil {
			if again, err := ParseLocalTime(lt.String()); err != nil || again != lt {
				t.Fatalf("%q -> %v -> %v, %v", s, lt, again, err)
			}
		}
		if td, err := ParseTimeOfDay(s); err == nil {
			if again, err := ParseTimeOfDay(td.String()); err != nil || again != td {
				t.Fatalf("%q -> %v -> %v, %v", s, td, again, err)
			}
		}
		if d, err := ParseWeekday(s); err == nil {
			if again, err := ParseWeekday(FormatWeekday(d)); err != nil || again != d {
				t.Fatalf("%q -> %v -> %v, %v", s, d, again, err)
			}
		}
	})
}
