package statuspage

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

func change(state klaxon.ComponentState, at time.Time) klaxon.ComponentChange {
	return klaxon.ComponentChange{ComponentID: 1, State: state, At: at, Source: klaxon.ChangeManual}
}

// TestUptimeDays checks the arithmetic of single days: minutes per state,
// observed time, ratio and the day's sentence.
func TestUptimeDays(t *testing.T) {
	local := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, la) }
	old := local(2025, 1, 1, 0, 0)
	const (
		major    = klaxon.ComponentMajorOutage
		partial  = klaxon.ComponentPartialOutage
		degraded = klaxon.ComponentDegraded
		maint    = klaxon.ComponentUnderMaintenance
		ok       = klaxon.ComponentOperational
	)
	for _, c := range []struct {
		name     string
		created  time.Time
		changes  []klaxon.ComponentChange
		now      time.Time
		day      time.Time // the day to check (its midnight)
		length   time.Duration
		observed time.Duration
		major    time.Duration
		partial  time.Duration
		degraded time.Duration
		ratio    float64
		text     string
		severity string
	}{
		{
			name: "quiet day", created: old, now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 9, 0, 0),
			length: 24 * time.Hour, observed: 24 * time.Hour, ratio: 1,
			text: "Jun 9, 2026: no downtime", severity: "ok",
		},
		{
			name: "major outage of 42 minutes", created: old, now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 9, 0, 0),
			changes: []klaxon.ComponentChange{change(major, local(2026, 6, 9, 10, 0)), change(ok, local(2026, 6, 9, 10, 42))},
			length:  24 * time.Hour, observed: 24 * time.Hour, major: 42 * time.Minute, ratio: 1 - 42.0/1440,
			text: "Jun 9, 2026: major outage 42 min", severity: "major",
		},
		{
			name: "partial outage weighs 0.3, degraded nothing", created: old, now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 9, 0, 0),
			changes: []klaxon.ComponentChange{change(partial, local(2026, 6, 9, 1, 0)), change(degraded, local(2026, 6, 9, 3, 0)), change(ok, local(2026, 6, 9, 4, 5))},
			length:  24 * time.Hour, observed: 24 * time.Hour, partial: 2 * time.Hour, degraded: 65 * time.Minute, ratio: 1 - 0.3*120/1440,
			text: "Jun 9, 2026: partial outage 2 h, degraded performance 1 h 5 min", severity: "partial",
		},
		{
			name: "outage crossing midnight: the first day's part", created: old, now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 8, 0, 0),
			changes: []klaxon.ComponentChange{change(major, local(2026, 6, 8, 23, 30)), change(ok, local(2026, 6, 9, 0, 45))},
			length:  24 * time.Hour, observed: 24 * time.Hour, major: 30 * time.Minute, ratio: 1 - 30.0/1440,
			text: "Jun 8, 2026: major outage 30 min", severity: "major",
		},
		{
			name: "outage crossing midnight: the second day's part", created: old, now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 9, 0, 0),
			changes: []klaxon.ComponentChange{change(major, local(2026, 6, 8, 23, 30)), change(ok, local(2026, 6, 9, 0, 45))},
			length:  24 * time.Hour, observed: 24 * time.Hour, major: 45 * time.Minute, ratio: 1 - 45.0/1440,
			text: "Jun 9, 2026: major outage 45 min", severity: "major",
		},
		{
			name: "DST spring forward: a 23-hour day, outage 01:30 PST to 03:30 PDT is one hour", created: old,
			now: local(2026, 3, 10, 12, 0), day: local(2026, 3, 8, 0, 0),
			changes: []klaxon.ComponentChange{change(major, local(2026, 3, 8, 1, 30)), change(ok, local(2026, 3, 8, 3, 30))},
			length:  23 * time.Hour, observed: 23 * time.Hour, major: time.Hour, ratio: 1 - 60.0/1380,
			text: "Mar 8, 2026: major outage 1 h", severity: "major",
		},
		{
			name: "DST fall back: a 25-hour day, down all day", created: old,
			now: local(2026, 11, 3, 12, 0), day: local(2026, 11, 1, 0, 0),
			changes: []klaxon.ComponentChange{change(major, local(2026, 10, 31, 20, 0)), change(ok, local(2026, 11, 2, 0, 0))},
			length:  25 * time.Hour, observed: 25 * time.Hour, major: 25 * time.Hour, ratio: 0,
			text: "Nov 1, 2026: major outage 25 h", severity: "major",
		},
		{
			name: "created mid-day: only the rest of the day counts", created: local(2026, 6, 9, 18, 0),
			now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 9, 0, 0),
			changes: []klaxon.ComponentChange{change(partial, local(2026, 6, 9, 20, 0)), change(ok, local(2026, 6, 9, 21, 0))},
			length:  24 * time.Hour, observed: 6 * time.Hour, partial: time.Hour, ratio: 1 - 0.3*60/360,
			text: "Jun 9, 2026: partial outage 1 h", severity: "partial",
		},
		{
			name: "before creation: no data", created: local(2026, 6, 9, 18, 0),
			now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 8, 0, 0),
			length: 24 * time.Hour, ratio: 1, text: "Jun 8, 2026: no data", severity: "nodata",
		},
		{
			name: "today: only the time passed counts, an ongoing outage included", created: old,
			now: local(2026, 6, 10, 6, 0), day: local(2026, 6, 10, 0, 0),
			changes: []klaxon.ComponentChange{change(major, local(2026, 6, 10, 3, 0))},
			length:  24 * time.Hour, observed: 6 * time.Hour, major: 3 * time.Hour, ratio: 0.5,
			text: "Jun 10, 2026: major outage 3 h", severity: "major",
		},
		{
			name: "state before the window comes from the last earlier change", created: old,
			now: local(2026, 6, 10, 12, 0), day: local(2026, 3, 13, 0, 0),
			changes: []klaxon.ComponentChange{change(degraded, local(2026, 1, 1, 0, 0)), change(ok, local(2026, 3, 13, 12, 0))},
			length:  24 * time.Hour, observed: 24 * time.Hour, degraded: 12 * time.Hour, ratio: 1,
			text: "Mar 13, 2026: degraded performance 12 h", severity: "degraded",
		},
		{
			name: "maintenance is shown, not counted", created: old, now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 9, 0, 0),
			changes: []klaxon.ComponentChange{change(maint, local(2026, 6, 9, 2, 0)), change(ok, local(2026, 6, 9, 4, 0))},
			length:  24 * time.Hour, observed: 24 * time.Hour, ratio: 1,
			text: "Jun 9, 2026: no downtime, under maintenance 2 h", severity: "maint",
		},
		{
			name: "a second-long outage still shows", created: old, now: local(2026, 6, 10, 12, 0), day: local(2026, 6, 9, 0, 0),
			changes: []klaxon.ComponentChange{change(major, local(2026, 6, 9, 2, 0)), change(ok, local(2026, 6, 9, 2, 0).Add(time.Second))},
			length:  24 * time.Hour, observed: 24 * time.Hour, major: time.Second, ratio: 1 - 1.0/86400,
			text: "Jun 9, 2026: major outage 1 min", severity: "major",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			comp := klaxon.StatusComponent{ID: 1, Name: "API", CreatedAt: c.created}
			u := computeUptime(comp, c.changes, c.now, la, uptimeDays)
			if len(u.Days) != uptimeDays {
				t.Fatalf("%d days, want %d", len(u.Days), uptimeDays)
			}
			if last := u.Days[len(u.Days)-1].Start; !sameDay(last, c.now.In(la)) {
				t.Fatalf("last day %v is not today %v", last, c.now)
			}
			var d *dayUptime
			for i := range u.Days {
				if u.Days[i].Start.Equal(c.day) {
					d = &u.Days[i]
				}
			}
			if d == nil {
				t.Fatalf("no day starting %v in %v … %v", c.day, u.Days[0].Start, u.Days[len(u.Days)-1].Start)
			}
			if d.Length != c.length || d.Observed != c.observed || d.Major != c.major || d.Partial != c.partial || d.Degraded != c.degraded {
				t.Errorf("length %v observed %v major %v partial %v degraded %v; want %v %v %v %v %v",
					d.Length, d.Observed, d.Major, d.Partial, d.Degraded, c.length, c.observed, c.major, c.partial, c.degraded)
			}
			if r := d.Ratio(); r < c.ratio-1e-9 || r > c.ratio+1e-9 {
				t.Errorf("ratio %v, want %v", r, c.ratio)
			}
			if got := d.Text(); got != c.text {
				t.Errorf("text %q, want %q", got, c.text)
			}
			if got := d.Severity(); got != c.severity {
				t.Errorf("severity %q, want %q", got, c.severity)
			}
		})
	}
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// TestUptimeWindow checks the 90-day total and its display.
func TestUptimeWindow(t *testing.T) {
	now := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	created := now.AddDate(-1, 0, 0)
	comp := klaxon.StatusComponent{ID: 1, CreatedAt: created}

	u := computeUptime(comp, nil, now, time.UTC, uptimeDays)
	if u.Percent() != "100.00%" || len(u.OutageDays()) != 0 {
		t.Errorf("quiet: %s, %d outage days", u.Percent(), len(u.OutageDays()))
	}
	// The window is 89 whole days and today's first instant.
	if u.Observed != 89*24*time.Hour {
		t.Errorf("observed %v, want 89 days", u.Observed)
	}

	// 89 days observed, one hour of major outage: 1 − 1/2136.
	changes := []klaxon.ComponentChange{change(klaxon.ComponentMajorOutage, now.AddDate(0, 0, -3)), change(klaxon.ComponentOperational, now.AddDate(0, 0, -3).Add(time.Hour))}
	u = computeUptime(comp, changes, now, time.UTC, uptimeDays)
	if got, want := u.Ratio(), 1-1.0/(89*24); got < want-1e-12 || got > want+1e-12 {
		t.Errorf("ratio %v, want %v", got, want)
	}
	if u.Percent() != "99.95%" {
		t.Errorf("percent %s, want 99.95%% (rounded down)", u.Percent())
	}
	if days := u.OutageDays(); len(days) != 1 || days[0].Text() != "Jun 7, 2026: major outage 1 h" {
		t.Errorf("outage days %v", days)
	}

	// A tiny outage never shows as 100%.
	changes = []klaxon.ComponentChange{change(klaxon.ComponentMajorOutage, now.AddDate(0, 0, -3)), change(klaxon.ComponentOperational, now.AddDate(0, 0, -3).Add(time.Second))}
	if p := computeUptime(comp, changes, now, time.UTC, uptimeDays).Percent(); p != "99.99%" {
		t.Errorf("one second down shows %s, want 99.99%%", p)
	}

	// Created after the window's end: no data at all.
	if p := computeUptime(klaxon.StatusComponent{CreatedAt: now.Add(time.Hour)}, nil, now, time.UTC, uptimeDays).Percent(); p != "no data" {
		t.Errorf("future component shows %s", p)
	}

	// An imported change before the component's creation extends its life.
	comp = klaxon.StatusComponent{CreatedAt: now.AddDate(0, 0, -2)}
	changes = []klaxon.ComponentChange{change(klaxon.ComponentPartialOutage, now.AddDate(0, 0, -10)), change(klaxon.ComponentOperational, now.AddDate(0, 0, -9))}
	u = computeUptime(comp, changes, now, time.UTC, uptimeDays)
	if d := u.Days[len(u.Days)-11]; d.NoData() || d.Partial != 24*time.Hour {
		t.Errorf("imported day: %+v", d)
	}
	if d := u.Days[len(u.Days)-12]; !d.NoData() {
		t.Errorf("day before the import has data: %+v", d)
	}
}

func TestMinutes(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 min", 29 * time.Second: "1 min", 42 * time.Minute: "42 min", time.Hour: "1 h",
		65 * time.Minute: "1 h 5 min", 25 * time.Hour: "25 h",
	} {
		if got := minutes(d); got != want {
			t.Errorf("minutes(%v) = %q, want %q", d, got, want)
		}
	}
}
