package statuspage

import (
	"fmt"
	"time"
)

// The page's time formats (see the package comment).
const (
	absoluteLayout = "Jan 2, 2006 - 15:04 MST"
	dayLayout      = "Jan 2, 2006"
	monthLayout    = "January 2006"
	// jsonLayout is Statuspage's: RFC 3339 with milliseconds, in the page's
	// zone.
	jsonLayout = "2006-01-02T15:04:05.000Z07:00"
)

// when is one instant as the page shows it.
type when struct {
	Machine  string // RFC 3339, for <time datetime>
	Absolute string // "Jan 23, 2018 - 14:16 PST"
	Relative string // "2 hours ago", "in 3 days"
}

// at shows t in loc, relative to now.
func at(t, now time.Time, loc *time.Location) when {
	if t.IsZero() {
		return when{}
	}
	return when{
		Machine:  t.In(loc).Format(time.RFC3339),
		Absolute: t.In(loc).Format(absoluteLayout),
		Relative: relative(t, now),
	}
}

// relative writes how long ago (or how far ahead) t is from now, in the
// largest whole unit: "less than a minute ago", "1 minute ago", "2 hours
// ago", "3 days ago", "2 months ago", "1 year ago", or "in 5 hours".
func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < time.Minute:
		if future {
			return "in less than a minute"
		}
		return "less than a minute ago"
	case d < time.Hour:
		n, unit = int(d/time.Minute), "minute"
	case d < 24*time.Hour:
		n, unit = int(d/time.Hour), "hour"
	case d < 30*24*time.Hour:
		n, unit = int(d/(24*time.Hour)), "day"
	case d < 365*24*time.Hour:
		n, unit = int(d/(30*24*time.Hour)), "month"
	default:
		n, unit = int(d/(365*24*time.Hour)), "year"
	}
	if n != 1 {
		unit += "s"
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}

// jsonTime is a timestamp for the JSON: nil (null) when t is zero.
func jsonTime(t time.Time, loc *time.Location) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(loc).Format(jsonLayout)
	return &s
}
