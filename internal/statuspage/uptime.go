package statuspage

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// uptimeDays is how many days of bars a component shows.
const uptimeDays = 90

// partialWeight is how much of a partial outage counts as down time; a major
// outage counts fully, degraded performance and maintenance not at all (see
// the package comment).
const partialWeight = 0.3

// dayUptime is one component's day: how long it spent in each state that
// matters, over the part of the day it was observed.
type dayUptime struct {
	Start    time.Time // midnight, in the page's zone
	Length   time.Duration
	Observed time.Duration // the part of the day the component existed and that has passed
	Major    time.Duration
	Partial  time.Duration
	Degraded time.Duration
	Maint    time.Duration
}

// NoData reports whether nothing of the day was observed (before the
// component existed).
func (d dayUptime) NoData() bool { return d.Observed <= 0 }

// Down is the weighted down time of the day.
func (d dayUptime) Down() time.Duration {
	return d.Major + time.Duration(partialWeight*float64(d.Partial))
}

// Ratio is the day's uptime from 0 to 1; 1 with no data.
func (d dayUptime) Ratio() float64 {
	if d.NoData() {
		return 1
	}
	return 1 - float64(d.Down())/float64(d.Observed)
}

// Severity names the day's worst state, for the bar's shape and class.
func (d dayUptime) Severity() string {
	switch {
	case d.NoData():
		return "nodata"
	case d.Major > 0:
		return "major"
	case d.Partial > 0:
		return "partial"
	case d.Degraded > 0:
		return "degraded"
	case d.Maint > 0:
		return "maint"
	}
	return "ok"
}

// Outage reports whether the day had any outage or degradation to list.
func (d dayUptime) Outage() bool { return d.Major > 0 || d.Partial > 0 || d.Degraded > 0 }

// Text is the day as a sentence: "Nov 3, 2026: major outage 42 min,
// partial outage 10 min", "Nov 4, 2026: no downtime", "Nov 1, 2026: no
// data".
func (d dayUptime) Text() string {
	day := d.Start.Format(dayLayout)
	if d.NoData() {
		return day + ": no data"
	}
	var parts []string
	for _, p := range []struct {
		what string
		d    time.Duration
	}{{"major outage", d.Major}, {"partial outage", d.Partial}, {"degraded performance", d.Degraded}, {"under maintenance", d.Maint}} {
		if p.d > 0 {
			parts = append(parts, p.what+" "+minutes(p.d))
		}
	}
	if !d.Outage() {
		parts = append([]string{"no downtime"}, parts...)
	}
	return day + ": " + strings.Join(parts, ", ")
}

// minutes writes a duration as "42 min" or "2 h 5 min"; anything above zero
// is at least "1 min", so that a short outage is never shown as none.
func minutes(d time.Duration) string {
	m := int(math.Round(d.Minutes()))
	if m < 1 && d > 0 {
		m = 1
	}
	if m < 60 {
		return fmt.Sprintf("%d min", m)
	}
	if m%60 == 0 {
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// componentUptime is a component's days, oldest first, and its uptime over
// them.
type componentUptime struct {
	Days     []dayUptime
	Observed time.Duration
	Down     time.Duration
}

// Ratio is the uptime over all days, 0 to 1; 1 with no data.
func (u componentUptime) Ratio() float64 {
	if u.Observed <= 0 {
		return 1
	}
	return 1 - float64(u.Down)/float64(u.Observed)
}

// Percent writes the uptime as "99.98%". A ratio below 1 is never rounded
// up to 100%, so that any down time shows.
func (u componentUptime) Percent() string {
	if u.Observed <= 0 {
		return "no data"
	}
	p := math.Floor(u.Ratio()*10000) / 100
	return fmt.Sprintf("%.2f%%", p)
}

// OutageDays are the days with an outage or degradation, newest first.
func (u componentUptime) OutageDays() []dayUptime {
	var out []dayUptime
	for i := len(u.Days) - 1; i >= 0; i-- {
		if u.Days[i].Outage() {
			out = append(out, u.Days[i])
		}
	}
	return out
}

// firstUptimeDay is midnight, in loc, of the first of the days days ending
// with now's.
func firstUptimeDay(now time.Time, loc *time.Location, days int) time.Time {
	n := now.In(loc)
	return time.Date(n.Year(), n.Month(), n.Day()-(days-1), 0, 0, 0, 0, loc)
}

// historySince is what the renderer asks the store's history from: early
// enough to hold the first day's midnight in any time zone.
func historySince(now time.Time) time.Time {
	return now.AddDate(0, 0, -(uptimeDays + 1)).Truncate(time.Hour)
}

// computeUptime adds up component c's days from its changes (its own, in
// any order), from the first of days days ending today (in loc), up to now.
// Before its first change a component is taken as operational; it exists
// from its creation, or from its first change if that is earlier.
func computeUptime(c klaxon.StatusComponent, changes []klaxon.ComponentChange, now time.Time, loc *time.Location, days int) componentUptime {
	changes = append([]klaxon.ComponentChange(nil), changes...)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].At.Before(changes[j].At) })
	exists := c.CreatedAt
	if len(changes) > 0 && (exists.IsZero() || changes[0].At.Before(exists)) {
		exists = changes[0].At
	}

	u := componentUptime{Days: make([]dayUptime, days)}
	first := firstUptimeDay(now, loc, days)
	// Walk the days and the changes together: state is the state in force at
	// the cursor, next the index of the first change after it.
	state, next := klaxon.ComponentOperational, 0
	for i := range u.Days {
		start := time.Date(first.Year(), first.Month(), first.Day()+i, 0, 0, 0, 0, loc)
		end := time.Date(first.Year(), first.Month(), first.Day()+i+1, 0, 0, 0, 0, loc)
		d := dayUptime{Start: start, Length: end.Sub(start)}
		from, to := later(start, exists), earlier(end, now)
		for next < len(changes) && !changes[next].At.After(from) {
			state = changes[next].State
			next++
		}
		for cursor := from; cursor.Before(to); {
			segEnd := to
			if next < len(changes) && changes[next].At.Before(to) {
				segEnd = changes[next].At
			}
			d.add(state, segEnd.Sub(cursor))
			cursor = segEnd
			if segEnd.Equal(to) {
				break
			}
			state = changes[next].State
			next++
		}
		u.Days[i] = d
		u.Observed += d.Observed
		u.Down += d.Down()
	}
	return u
}

func (d *dayUptime) add(s klaxon.ComponentState, dur time.Duration) {
	if dur <= 0 {
		return
	}
	d.Observed += dur
	switch s {
	case klaxon.ComponentMajorOutage:
		d.Major += dur
	case klaxon.ComponentPartialOutage:
		d.Partial += dur
	case klaxon.ComponentDegraded:
		d.Degraded += dur
	case klaxon.ComponentUnderMaintenance:
		d.Maint += dur
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
