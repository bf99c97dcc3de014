package statuspage

import "github.com/klaxonhq/klaxon"

// status is the page's overall status: Statuspage's indicator (none, minor,
// major, critical, maintenance) and its words.
type status struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

// The overall statuses, in Statuspage's words (see the package comment).
var (
	statusNone          = status{"none", "All Systems Operational"}
	statusMaintenance   = status{"maintenance", "Service Under Maintenance"}
	statusDegraded      = status{"minor", "Partially Degraded Service"}
	statusPartial       = status{"major", "Partial System Outage"}
	statusMajor         = status{"critical", "Major System Outage"}
	statusMinorIncident = status{"minor", "Minor Service Outage"}
)

// level orders indicators: none 0, minor 1, major 2, critical 3.
func (s status) level() int {
	switch s.Indicator {
	case "minor":
		return 1
	case "major":
		return 2
	case "critical":
		return 3
	}
	return 0
}

// overallStatus reads the banner from the components (groups excluded) and
// the unresolved incidents and maintenances.
func overallStatus(components []klaxon.StatusComponent, incidents []klaxon.StatusIncident) status {
	worst, maintenance := klaxon.ComponentOperational, false
	for _, c := range components {
		if c.Group {
			continue
		}
		if c.State.Rank() > worst.Rank() {
			worst = c.State
		}
		if c.State == klaxon.ComponentUnderMaintenance {
			maintenance = true
		}
	}
	fromComponents := statusNone
	switch worst {
	case klaxon.ComponentMajorOutage:
		fromComponents = statusMajor
	case klaxon.ComponentPartialOutage:
		fromComponents = statusPartial
	case klaxon.ComponentDegraded:
		fromComponents = statusDegraded
	}

	fromIncidents := statusNone
	for _, inc := range incidents {
		if inc.Status.Closed() {
			continue
		}
		if inc.Maintenance {
			if inc.Status == klaxon.MaintenanceInProgress || inc.Status == klaxon.MaintenanceVerifying {
				maintenance = true
			}
			continue
		}
		s := impactStatus(inc.Impact)
		if s.level() > fromIncidents.level() {
			fromIncidents = s
		}
	}

	switch {
	case fromComponents.level() > 0 && fromComponents.level() >= fromIncidents.level():
		return fromComponents
	case fromIncidents.level() > 0:
		return fromIncidents
	case maintenance:
		return statusMaintenance
	}
	return statusNone
}

// impactStatus is what an unresolved incident of impact i says about the
// page.
func impactStatus(i klaxon.IncidentImpact) status {
	switch i {
	case klaxon.ImpactCritical:
		return statusMajor
	case klaxon.ImpactMajor:
		return statusPartial
	case klaxon.ImpactMinor:
		return statusMinorIncident
	}
	return statusNone
}

// groupState is a group's state: its worst member's, operational with none.
func groupState(members []klaxon.StatusComponent) klaxon.ComponentState {
	worst := klaxon.ComponentOperational
	for _, m := range members {
		if m.State.Rank() > worst.Rank() {
			worst = m.State
		}
	}
	return worst
}
