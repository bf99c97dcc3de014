package statuspage

import (
	"context"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The fixture is a page like the demo's: a "North America" group, an
// ungrouped API, a "Europe" group with a component created mid-window, an
// incident two hours old, an upcoming maintenance, a resolved incident with
// a published postmortem and one with a draft.

var la = mustZone("America/Los_Angeles")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// fixtureNow is Jan 23, 2018 16:16 PST.
var fixtureNow = time.Date(2018, 1, 23, 16, 16, 0, 0, la).UTC()

func pst(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2018, month, day, hour, minute, 0, 0, la).UTC()
}

func fixtureSnapshot() klaxon.StatusSnapshot {
	created := pst(1, 1, 0, 0).AddDate(0, -6, 0)
	comp := func(id int64, name string, group bool, groupID int64, pos int, state klaxon.ComponentState) klaxon.StatusComponent {
		return klaxon.StatusComponent{ID: id, Name: name, Group: group, GroupID: groupID, Position: pos, State: state,
			FollowState: klaxon.ComponentMajorOutage, CreatedAt: created, UpdatedAt: created}
	}
	components := []klaxon.StatusComponent{
		comp(1, "North America", true, 0, 1, klaxon.ComponentOperational),
		comp(2, "Web Interface", false, 1, 1, klaxon.ComponentPartialOutage),
		comp(3, "Mobile Interface", false, 1, 2, klaxon.ComponentDegraded),
		comp(4, "Email Notifications", false, 1, 3, klaxon.ComponentOperational),
		comp(6, "API", false, 0, 2, klaxon.ComponentOperational),
		comp(7, "Europe", true, 0, 3, klaxon.ComponentOperational),
		comp(8, "Web Interface EU", false, 7, 1, klaxon.ComponentOperational),
	}
	components[1].UpdatedAt = pst(1, 23, 14, 16)
	components[2].UpdatedAt = pst(1, 23, 15, 2)
	components[2].Description = "The iOS and Android apps"
	components[6].CreatedAt = pst(1, 10, 9, 30)
	components[6].UpdatedAt = components[6].CreatedAt

	active := klaxon.StatusIncident{
		ID: 100, Name: "Delayed notifications", Status: klaxon.IncidentIdentified, Impact: klaxon.ImpactMajor,
		CreatedAt: pst(1, 23, 14, 16), UpdatedAt: pst(1, 23, 15, 2),
		Components: []int64{2, 3},
		Updates: []klaxon.IncidentUpdate{
			{ID: 1002, IncidentID: 100, Status: klaxon.IncidentIdentified, Body: "We found a stuck queue and are draining it.",
				DisplayAt: pst(1, 23, 15, 2), CreatedAt: pst(1, 23, 15, 2),
				Affected: []klaxon.AffectedComponent{{ComponentID: 3, Name: "Mobile Interface", Old: klaxon.ComponentOperational, New: klaxon.ComponentDegraded}}},
			{ID: 1001, IncidentID: 100, Status: klaxon.IncidentInvestigating, Body: "Notifications are delayed.\nWe are looking into it.",
				DisplayAt: pst(1, 23, 14, 16), CreatedAt: pst(1, 23, 14, 16),
				Affected: []klaxon.AffectedComponent{{ComponentID: 2, Name: "Web Interface", Old: klaxon.ComponentOperational, New: klaxon.ComponentPartialOutage}}},
		},
	}
	upcoming := klaxon.StatusIncident{
		ID: 200, Name: "Database upgrade", Status: klaxon.MaintenanceScheduled, Impact: klaxon.ImpactMaintenance, Maintenance: true,
		ScheduledFor: pst(1, 25, 2, 0), ScheduledUntil: pst(1, 25, 4, 0),
		CreatedAt: pst(1, 22, 9, 0), UpdatedAt: pst(1, 22, 9, 0), Components: []int64{6},
		Updates: []klaxon.IncidentUpdate{{ID: 2001, IncidentID: 200, Status: klaxon.MaintenanceScheduled,
			Body: "We will upgrade the API's database.", DisplayAt: pst(1, 22, 9, 0), CreatedAt: pst(1, 22, 9, 0)}},
	}
	resolved := klaxon.StatusIncident{
		ID: 90, Name: "Email outage", Status: klaxon.IncidentPostmortem, Impact: klaxon.ImpactCritical,
		CreatedAt: pst(1, 20, 10, 0), UpdatedAt: pst(1, 20, 10, 42), ResolvedAt: pst(1, 20, 10, 42),
		Components:            []int64{4},
		Postmortem:            "# What happened\n\nA certificate **expired**.\n\n- renew earlier\n",
		PostmortemPublishedAt: pst(1, 21, 9, 0),
		Updates: []klaxon.IncidentUpdate{
			{ID: 902, IncidentID: 90, Status: klaxon.IncidentResolved, Body: "Email is flowing again.",
				DisplayAt: pst(1, 20, 10, 42), CreatedAt: pst(1, 20, 10, 42)},
			{ID: 901, IncidentID: 90, Status: klaxon.IncidentInvestigating, Body: "No email is going out.",
				DisplayAt: pst(1, 20, 10, 0), CreatedAt: pst(1, 20, 10, 0),
				Affected: []klaxon.AffectedComponent{{ComponentID: 4, Name: "Email Notifications", Old: klaxon.ComponentOperational, New: klaxon.ComponentMajorOutage}}},
		},
	}
	draft := klaxon.StatusIncident{
		ID: 80, Name: "Slow dashboards", Status: klaxon.IncidentResolved, Impact: klaxon.ImpactMinor,
		CreatedAt: pst(1, 5, 8, 0), UpdatedAt: pst(1, 5, 9, 0), ResolvedAt: pst(1, 5, 9, 0),
		Components: []int64{2, 6, 8},
		Postmortem: "DRAFT-POSTMORTEM-TEXT",
		Updates: []klaxon.IncidentUpdate{
			{ID: 802, IncidentID: 80, Status: klaxon.IncidentResolved, Body: "Dashboards are fast again.",
				DisplayAt: pst(1, 5, 9, 0), CreatedAt: pst(1, 5, 9, 0)},
			{ID: 801, IncidentID: 80, Status: klaxon.IncidentInvestigating, Body: "Dashboards load slowly.",
				DisplayAt: pst(1, 5, 8, 0), CreatedAt: pst(1, 5, 8, 0)},
		},
	}
	history := []klaxon.ComponentChange{
		{ComponentID: 4, State: klaxon.ComponentOperational, At: created, Source: klaxon.ChangeManual},
		{ComponentID: 4, State: klaxon.ComponentMajorOutage, At: pst(1, 20, 10, 0), Source: klaxon.ChangeIncident, IncidentID: 90},
		{ComponentID: 4, State: klaxon.ComponentOperational, At: pst(1, 20, 10, 42), Source: klaxon.ChangeIncident, IncidentID: 90},
		{ComponentID: 2, State: klaxon.ComponentPartialOutage, At: pst(1, 23, 14, 16), Source: klaxon.ChangeIncident, IncidentID: 100},
		{ComponentID: 3, State: klaxon.ComponentDegraded, At: pst(1, 23, 15, 2), Source: klaxon.ChangeIncident, IncidentID: 100},
	}
	return klaxon.StatusSnapshot{
		Page: klaxon.StatusPage{Name: "Klaxon", Description: "Alerting for everyone", TimeZone: "America/Los_Angeles",
			URL: "https://status.example.com", UpdatedAt: created},
		Components:   components,
		Incidents:    []klaxon.StatusIncident{active, upcoming, resolved, draft},
		History:      history,
		HistorySince: historySince(fixtureNow),
		Generation:   7,
		ReadAt:       fixtureNow,
	}
}

// fakeSource serves a snapshot the test sets.
type fakeSource struct {
	mu      sync.Mutex
	snap    klaxon.StatusSnapshot
	err     error
	reads   int
	changes chan struct{}
}

func newFakeSource(snap klaxon.StatusSnapshot) *fakeSource {
	return &fakeSource{snap: snap, changes: make(chan struct{}, 1)}
}

func (f *fakeSource) StatusSnapshot(ctx context.Context, since time.Time) (klaxon.StatusSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	s := f.snap
	s.HistorySince = since
	return s, f.err
}

func (f *fakeSource) StatusGeneration(ctx context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Generation, f.err
}

func (f *fakeSource) StatusChanges() <-chan struct{} { return f.changes }

// set replaces the snapshot (and so the generation) the source serves.
func (f *fakeSource) set(snap klaxon.StatusSnapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap = snap
}

func (f *fakeSource) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// fixedClock is a clock that stays where the test puts it.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
