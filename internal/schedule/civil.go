package schedule

import (
	"errors"
	"fmt"
	"time"
)

// This file holds the wall-clock vocabulary people write schedules in: a
// date and time without a zone, a time of day, a day of the week. Each has
// a strict parser, whose errors the caller wraps with the field they came
// from, and a String that prints the form the parser reads, so that what
// was written is what is shown back.

// MinYear and MaxYear bound the years of a LocalTime. No rotation starts
// before 1970, and four digits are what the text form has room for; the
// bounds also keep all arithmetic far from integer overflow.
const (
	MinYear = 1970
	MaxYear = 9999
)

// LocalTime is a wall-clock reading to the minute, such as the hand-off
// start "2026-03-07T09:00". It names no instant until it is placed in a
// time zone with In, because the same reading happens at different instants
// in different zones, and twice or never on DST change days.
type LocalTime struct {
	Year   int
	Month  time.Month
	Day    int
	Hour   int
	Minute int
}

// ParseLocalTime reads "YYYY-MM-DDTHH:MM", or "YYYY-MM-DDTHH:MM:00" with
// zero seconds, the forms HTML date-time inputs and ISO 8601 use. Hand-offs
// are minute-precise, so other seconds are refused rather than dropped.
func ParseLocalTime(s string) (LocalTime, error) {
	bad := func() error { return fmt.Errorf("must be a wall-clock time like \"2026-03-07T09:00\", got %q", s) }
	if len(s) != 16 && len(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' {
		return LocalTime{}, bad()
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return LocalTime{}, bad()
	}
	if len(s) == 19 {
		if s[16] != ':' {
			return LocalTime{}, bad()
		}
		if sec, ok := digits(s[17:19]); !ok || sec != 0 {
			return LocalTime{}, fmt.Errorf("must be whole minutes (seconds 00), got %q", s)
		}
	}
	t := LocalTime{Year: year, Month: time.Month(month), Day: day, Hour: hour, Minute: minute}
	if err := t.check(); err != nil {
		return LocalTime{}, fmt.Errorf("%q %w", s, err)
	}
	return t, nil
}

// String prints t as ParseLocalTime reads it, "2026-03-07T09:00".
func (t LocalTime) String() string {
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d", t.Year, int(t.Month), t.Day, t.Hour, t.Minute)
}

// check reports why t is not a reading some calendar day has, phrased to
// follow the offending text: "is not a date: …".
func (t LocalTime) check() error {
	switch {
	case t.Year < MinYear || t.Year > MaxYear:
		return fmt.Errorf("is out of range: the year must be from %d to %d", MinYear, MaxYear)
	case t.Month < time.January || t.Month > time.December:
		return errors.New("is not a date: the month must be from 01 to 12")
	case t.Day < 1 || t.Day > daysIn(t.Year, t.Month):
		return fmt.Errorf("is not a date: %s %d has %d days", t.Month, t.Year, daysIn(t.Year, t.Month))
	case t.Hour < 0 || t.Hour > 23:
		return errors.New("is not a time: the hour must be from 00 to 23")
	case t.Minute < 0 || t.Minute > 59:
		return errors.New("is not a time: the minute must be from 00 to 59")
	}
	return nil
}

// wall is t as seconds since 1970-01-01T00:00 on the same wall clock: the
// reading's position on a zone-less time line, where every day has 86,400
// seconds. It is only meaningful for a valid t.
func (t LocalTime) wall() int64 {
	return daysFromCivil(int64(t.Year), int(t.Month), t.Day)*secondsPerDay + int64(t.Hour)*3600 + int64(t.Minute)*60
}

// TimeOfDay is a wall-clock time without a date: an edge of a restriction
// window. 24:00 is allowed as the end of a window that runs to midnight.
type TimeOfDay struct {
	Hour   int
	Minute int
}

// ParseTimeOfDay reads "HH:MM" (or "HH:MM:00"), from "00:00" to "24:00".
// The hour needs two digits, as HTML time inputs and ISO 8601 write it:
// "9:00" is refused rather than guessed at. "24:00" is only meaningful as
// the end of a window; Validate refuses it as a start.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	bad := func() error { return fmt.Errorf("must be a time of day like \"09:00\", got %q", s) }
	if (len(s) != 5 && len(s) != 8) || s[2] != ':' {
		return TimeOfDay{}, bad()
	}
	hour, ok1 := digits(s[0:2])
	minute, ok2 := digits(s[3:5])
	if !ok1 || !ok2 {
		return TimeOfDay{}, bad()
	}
	if len(s) == 8 {
		if s[5] != ':' {
			return TimeOfDay{}, bad()
		}
		if sec, ok := digits(s[6:8]); !ok || sec != 0 {
			return TimeOfDay{}, fmt.Errorf("must be whole minutes (seconds 00), got %q", s)
		}
	}
	t := TimeOfDay{Hour: hour, Minute: minute}
	if !t.valid() {
		return TimeOfDay{}, fmt.Errorf("must be a time of day from \"00:00\" to \"24:00\", got %q", s)
	}
	return t, nil
}

// String prints t as ParseTimeOfDay reads it, "09:00".
func (t TimeOfDay) String() string {
	return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute)
}

// valid reports whether t lies in 00:00 … 24:00.
func (t TimeOfDay) valid() bool {
	return t.Hour >= 0 && t.Hour < 24 && t.Minute >= 0 && t.Minute < 60 || t.Hour == 24 && t.Minute == 0
}

// seconds is t as seconds after midnight.
func (t TimeOfDay) seconds() int64 {
	return int64(t.Hour)*3600 + int64(t.Minute)*60
}

// weekdayNames are the short names Klaxon writes days in, indexed by
// time.Weekday.
var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeekday reads a day of the week: "mon" … "sun" or the full English
// name, in any letter case. Nothing else is accepted (no "tues", no spaces)
// so that one day has few spellings.
func ParseWeekday(s string) (time.Weekday, error) {
	for d, short := range weekdayNames {
		if asciiEqualFold(s, short) || asciiEqualFold(s, time.Weekday(d).String()) {
			return time.Weekday(d), nil
		}
	}
	return 0, fmt.Errorf("must be a day of the week, \"mon\" to \"sun\", got %q", s)
}

// asciiEqualFold is strings.EqualFold for ASCII letters only: Unicode
// folding would also accept "ſun" (long s) as "sun".
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// FormatWeekday prints d as Klaxon writes days, "mon", so that a schedule
// reads back the way ParseWeekday reads it.
func FormatWeekday(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return fmt.Sprintf("%%!Weekday(%d)", int(d))
	}
	return weekdayNames[d]
}

// digits reads a run of ASCII digits; strconv.Atoi would also take a sign.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

const secondsPerDay = 86400

// daysFromCivil counts the days from 1970-01-01 to the given proleptic
// Gregorian date (Howard Hinnant's algorithm). Counting days directly is
// what lets a query jump to the shift it needs instead of walking every
// shift since the layer began.
func daysFromCivil(y int64, m int, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400                     // [0, 399]
	mp := int64((m + 9) % 12)              // March is 0
	doy := (153*mp+2)/5 + int64(d) - 1     // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468
}

// daysIn is the number of days in a month.
func daysIn(year int, month time.Month) int {
	switch month {
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

// weekdayOf is the day of the week of a day number from daysFromCivil;
// 1970-01-01 was a Thursday.
func weekdayOf(day int64) time.Weekday {
	return time.Weekday(floorMod(day+4, 7))
}

// floorDiv divides rounding toward negative infinity, so that instants
// before an anchor land in the right period.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorMod is the remainder that goes with floorDiv, in [0, b) for b > 0.
func floorMod(a, b int64) int64 {
	return a - floorDiv(a, b)*b
}
