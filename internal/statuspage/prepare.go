package statuspage

import (
	"sort"
	"time"

	"github.com/klaxonhq/klaxon"
)

// prepared is a snapshot made ready to render at one instant: its time
// zone, its components indexed, its incidents cleaned of anything not yet
// public and put in order. Every document is rendered from it.
type prepared struct {
	page klaxon.StatusPage
	now  time.Time
	loc  *time.Location
	// subscribe shows the email subscription form and its link.
	subscribe bool

	components []klaxon.StatusComponent           // page order
	byID       map[int64]klaxon.StatusComponent   // every component and group
	members    map[int64][]klaxon.StatusComponent // group id -> members, page order
	history    map[int64][]klaxon.ComponentChange

	// incidents are the incidents and maintenances, newest first (by start,
	// then id), each with its updates newest first and its postmortem only
	// once published.
	incidents []klaxon.StatusIncident
	status    status
	// modTime is the latest change the snapshot shows: its Last-Modified.
	modTime time.Time
	// next is the next instant the page changes by itself (a maintenance due
	// to start or end, a postmortem due to appear); zero for none.
	next time.Time
}

// prepare readies snap for rendering at now.
func prepare(snap klaxon.StatusSnapshot, now time.Time) *prepared {
	p := &prepared{
		page:       snap.Page,
		now:        now,
		loc:        pageZone(snap.Page.TimeZone),
		components: snap.Components,
		byID:       make(map[int64]klaxon.StatusComponent, len(snap.Components)),
		members:    map[int64][]klaxon.StatusComponent{},
		history:    map[int64][]klaxon.ComponentChange{},
		modTime:    snap.Page.UpdatedAt,
	}
	for _, c := range snap.Components {
		p.byID[c.ID] = c
		if c.GroupID != 0 {
			p.members[c.GroupID] = append(p.members[c.GroupID], c)
		}
		p.modTime = later(p.modTime, c.UpdatedAt)
	}
	for _, ch := range snap.History {
		p.history[ch.ComponentID] = append(p.history[ch.ComponentID], ch)
	}
	for _, inc := range snap.Incidents {
		inc.Updates = append([]klaxon.IncidentUpdate(nil), inc.Updates...)
		sort.SliceStable(inc.Updates, func(i, j int) bool {
			a, b := inc.Updates[i], inc.Updates[j]
			if !a.DisplayAt.Equal(b.DisplayAt) {
				return a.DisplayAt.After(b.DisplayAt)
			}
			return a.ID > b.ID
		})
		if inc.PostmortemPublishedAt.After(now) {
			p.due(inc.PostmortemPublishedAt)
		}
		if inc.PostmortemPublishedAt.IsZero() || inc.PostmortemPublishedAt.After(now) {
			inc.Postmortem, inc.PostmortemPublishedAt = "", time.Time{}
		}
		if inc.Maintenance && !inc.Status.Closed() {
			if inc.ScheduledFor.After(now) {
				p.due(inc.ScheduledFor)
			}
			if inc.ScheduledUntil.After(now) {
				p.due(inc.ScheduledUntil)
			}
		}
		p.modTime = later(p.modTime, inc.UpdatedAt)
		p.modTime = later(p.modTime, inc.PostmortemPublishedAt)
		for _, u := range inc.Updates {
			p.modTime = later(p.modTime, u.CreatedAt)
		}
		p.incidents = append(p.incidents, inc)
	}
	sort.SliceStable(p.incidents, func(i, j int) bool {
		a, b := p.incidents[i], p.incidents[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID > b.ID
	})
	if p.modTime.IsZero() || p.modTime.After(now) {
		p.modTime = now
	}
	p.status = overallStatus(snap.Components, p.incidents)
	return p
}

// due notes t as an instant the page changes by itself.
func (p *prepared) due(t time.Time) {
	if p.next.IsZero() || t.Before(p.next) {
		p.next = t
	}
}

// pageZone loads the page's time zone; UTC when it is unset or unknown
// (the store validates it, so that is a fallback, not a case).
func pageZone(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// state is a component's state as shown: a group's is its worst member's.
func (p *prepared) state(c klaxon.StatusComponent) klaxon.ComponentState {
	if c.Group {
		return groupState(p.members[c.ID])
	}
	if !c.State.Valid() {
		return klaxon.ComponentOperational
	}
	return c.State
}

// ungrouped reports whether component c (not a group) is shown on its own:
// in no group, or in a group the snapshot lacks.
func (p *prepared) ungrouped(c klaxon.StatusComponent) bool {
	return c.GroupID == 0 || p.byID[c.GroupID].ID == 0
}

// The incidents by kind.

func (p *prepared) filter(keep func(klaxon.StatusIncident) bool) []klaxon.StatusIncident {
	var out []klaxon.StatusIncident
	for _, inc := range p.incidents {
		if keep(inc) {
			out = append(out, inc)
		}
	}
	return out
}

func isIncident(inc klaxon.StatusIncident) bool { return !inc.Maintenance }

func isUnresolved(inc klaxon.StatusIncident) bool { return !inc.Maintenance && !inc.Status.Closed() }

func isMaintenance(inc klaxon.StatusIncident) bool { return inc.Maintenance }

func isUpcoming(inc klaxon.StatusIncident) bool {
	return inc.Maintenance && inc.Status == klaxon.MaintenanceScheduled
}

func isActiveMaintenance(inc klaxon.StatusIncident) bool {
	return inc.Maintenance && (inc.Status == klaxon.MaintenanceInProgress || inc.Status == klaxon.MaintenanceVerifying)
}

// byWindow orders maintenances by their start, soonest first.
func byWindow(list []klaxon.StatusIncident) []klaxon.StatusIncident {
	sort.SliceStable(list, func(i, j int) bool { return list[i].ScheduledFor.Before(list[j].ScheduledFor) })
	return list
}

// firstN keeps at most n items.
func firstN[T any](list []T, n int) []T {
	if len(list) > n {
		return list[:n]
	}
	return list
}
