package statuspage

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The JSON under /api/v2/ is Statuspage's public API, field for field, so
// that widgets and aggregators written for Statuspage read Klaxon's page
// unchanged. These types are that wire format; they exist only here.

// pageID is the page's id in the JSON: one installation has one page.
const pageID = "klaxon"

// maxListed is how many incidents incidents.json and
// scheduled-maintenances.json hold, as on Statuspage.
const maxListed = 50

type jsonPage struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	URL       string  `json:"url"`
	TimeZone  string  `json:"time_zone"`
	UpdatedAt *string `json:"updated_at"`
}

type jsonComponent struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Status             string    `json:"status"`
	CreatedAt          *string   `json:"created_at"`
	UpdatedAt          *string   `json:"updated_at"`
	Position           int       `json:"position"`
	Description        *string   `json:"description"`
	Showcase           bool      `json:"showcase"`
	StartDate          *string   `json:"start_date"`
	GroupID            *string   `json:"group_id"`
	PageID             string    `json:"page_id"`
	Group              bool      `json:"group"`
	OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
	Components         *[]string `json:"components,omitempty"` // a group's members
}

type jsonAffected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type jsonUpdate struct {
	ID                   string         `json:"id"`
	Status               string         `json:"status"`
	Body                 string         `json:"body"`
	IncidentID           string         `json:"incident_id"`
	CreatedAt            *string        `json:"created_at"`
	UpdatedAt            *string        `json:"updated_at"`
	DisplayAt            *string        `json:"display_at"`
	AffectedComponents   []jsonAffected `json:"affected_components"` // null when none, as on Statuspage
	DeliverNotifications bool           `json:"deliver_notifications"`
	CustomTweet          *string        `json:"custom_tweet"`
	TweetID              *string        `json:"tweet_id"`
}

type jsonIncident struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Status          string          `json:"status"`
	CreatedAt       *string         `json:"created_at"`
	UpdatedAt       *string         `json:"updated_at"`
	MonitoringAt    *string         `json:"monitoring_at"`
	ResolvedAt      *string         `json:"resolved_at"`
	Impact          string          `json:"impact"`
	Shortlink       string          `json:"shortlink"`
	StartedAt       *string         `json:"started_at"`
	PageID          string          `json:"page_id"`
	IncidentUpdates []jsonUpdate    `json:"incident_updates"`
	Components      []jsonComponent `json:"components"`
	// A scheduled maintenance's window; absent on incidents.
	ScheduledFor   *string `json:"scheduled_for,omitempty"`
	ScheduledUntil *string `json:"scheduled_until,omitempty"`
}

// The documents.

type summaryJSON struct {
	Page                  jsonPage        `json:"page"`
	Components            []jsonComponent `json:"components"`
	Incidents             []jsonIncident  `json:"incidents"`
	ScheduledMaintenances []jsonIncident  `json:"scheduled_maintenances"`
	Status                status          `json:"status"`
}

type statusJSON struct {
	Page   jsonPage `json:"page"`
	Status status   `json:"status"`
}

type componentsJSON struct {
	Page       jsonPage        `json:"page"`
	Components []jsonComponent `json:"components"`
}

type incidentsJSON struct {
	Page      jsonPage       `json:"page"`
	Incidents []jsonIncident `json:"incidents"`
}

type maintenancesJSON struct {
	Page                  jsonPage       `json:"page"`
	ScheduledMaintenances []jsonIncident `json:"scheduled_maintenances"`
}

// jsonDocuments renders every JSON document, by path, with base the page's
// absolute URL ("" for relative links).
func jsonDocuments(p *prepared, base string) (map[string][]byte, error) {
	page := jsonPageOf(p, base)
	components := p.jsonComponents(p.components)
	incidents := func(list []klaxon.StatusIncident) []jsonIncident {
		out := make([]jsonIncident, 0, len(list))
		for _, inc := range list {
			out = append(out, p.jsonIncident(inc, base))
		}
		return out
	}
	// The most recent maintenances are the latest windows.
	recentMaintenances := byWindow(p.filter(isMaintenance))
	slices.Reverse(recentMaintenances)
	unresolved := incidents(p.filter(isUnresolved))
	inFlight := byWindow(append(p.filter(isUpcoming), p.filter(isActiveMaintenance)...))

	docs := map[string]any{
		"/api/v2/summary.json": summaryJSON{
			Page: page, Components: components, Status: p.status,
			Incidents:             unresolved,
			ScheduledMaintenances: incidents(inFlight),
		},
		"/api/v2/status.json":                          statusJSON{Page: page, Status: p.status},
		"/api/v2/components.json":                      componentsJSON{Page: page, Components: components},
		"/api/v2/incidents.json":                       incidentsJSON{Page: page, Incidents: incidents(firstN(p.filter(isIncident), maxListed))},
		"/api/v2/incidents/unresolved.json":            incidentsJSON{Page: page, Incidents: unresolved},
		"/api/v2/scheduled-maintenances.json":          maintenancesJSON{Page: page, ScheduledMaintenances: incidents(firstN(recentMaintenances, maxListed))},
		"/api/v2/scheduled-maintenances/upcoming.json": maintenancesJSON{Page: page, ScheduledMaintenances: incidents(byWindow(p.filter(isUpcoming)))},
		"/api/v2/scheduled-maintenances/active.json":   maintenancesJSON{Page: page, ScheduledMaintenances: incidents(byWindow(p.filter(isActiveMaintenance)))},
	}
	out := make(map[string][]byte, len(docs))
	for path, v := range docs {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("statuspage: encode %s: %w", path, err)
		}
		out[path] = append(b, '\n')
	}
	return out, nil
}

func jsonPageOf(p *prepared, base string) jsonPage {
	return jsonPage{
		ID: pageID, Name: p.page.Name, URL: base, TimeZone: p.loc.String(),
		UpdatedAt: jsonTime(p.modTime, p.loc),
	}
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (p *prepared) jsonComponents(list []klaxon.StatusComponent) []jsonComponent {
	out := make([]jsonComponent, 0, len(list))
	for _, c := range list {
		out = append(out, p.jsonComponent(c))
	}
	return out
}

func (p *prepared) jsonComponent(c klaxon.StatusComponent) jsonComponent {
	j := jsonComponent{
		ID: id(c.ID), Name: c.Name, Status: string(p.state(c)),
		CreatedAt: jsonTime(c.CreatedAt, p.loc), UpdatedAt: jsonTime(c.UpdatedAt, p.loc),
		Position: c.Position, Description: optional(c.Description),
		Showcase: !c.Group, PageID: pageID, Group: c.Group,
	}
	if !c.CreatedAt.IsZero() {
		j.StartDate = optional(c.CreatedAt.In(p.loc).Format(time.DateOnly))
	}
	if c.GroupID != 0 {
		j.GroupID = optional(id(c.GroupID))
	}
	if c.Group {
		members := make([]string, 0, len(p.members[c.ID]))
		for _, m := range p.members[c.ID] {
			members = append(members, id(m.ID))
		}
		j.Components = &members
	}
	return j
}

// incidentURL is an incident's page, absolute under base.
func incidentURL(base string, incidentID int64) string {
	return strings.TrimRight(base, "/") + "/incidents/" + id(incidentID)
}

func (p *prepared) jsonIncident(inc klaxon.StatusIncident, base string) jsonIncident {
	j := jsonIncident{
		ID: id(inc.ID), Name: inc.Name, Status: string(inc.Status), Impact: string(inc.Impact),
		CreatedAt: jsonTime(inc.CreatedAt, p.loc), UpdatedAt: jsonTime(inc.UpdatedAt, p.loc),
		MonitoringAt: jsonTime(inc.MonitoringAt, p.loc), ResolvedAt: jsonTime(inc.ResolvedAt, p.loc),
		StartedAt: jsonTime(inc.CreatedAt, p.loc),
		Shortlink: incidentURL(base, inc.ID), PageID: pageID,
		IncidentUpdates: make([]jsonUpdate, 0, len(inc.Updates)),
		Components:      []jsonComponent{},
	}
	if j.Impact == "" {
		j.Impact = string(klaxon.ImpactNone)
	}
	if inc.Maintenance {
		j.ScheduledFor = jsonTime(inc.ScheduledFor, p.loc)
		j.ScheduledUntil = jsonTime(inc.ScheduledUntil, p.loc)
	}
	for _, u := range inc.Updates {
		j.IncidentUpdates = append(j.IncidentUpdates, jsonUpdateOf(u, p.loc))
	}
	for _, cid := range inc.Components {
		if c, ok := p.byID[cid]; ok {
			j.Components = append(j.Components, p.jsonComponent(c))
		}
	}
	return j
}

func jsonUpdateOf(u klaxon.IncidentUpdate, loc *time.Location) jsonUpdate {
	j := jsonUpdate{
		ID: id(u.ID), Status: string(u.Status), Body: u.Body, IncidentID: id(u.IncidentID),
		CreatedAt: jsonTime(u.CreatedAt, loc), UpdatedAt: jsonTime(u.CreatedAt, loc),
		DisplayAt:            jsonTime(u.DisplayAt, loc),
		DeliverNotifications: true,
	}
	for _, a := range u.Affected {
		j.AffectedComponents = append(j.AffectedComponents, jsonAffected{
			Code: id(a.ComponentID), Name: a.Name, OldStatus: string(a.Old), NewStatus: string(a.New),
		})
	}
	return j
}

// webhookDocumentation is where a webhook's receiver reads what it gets.
const webhookDocumentation = "https://github.com/klaxonhq/klaxon/blob/main/docs/status-page.md"

type webhookJSON struct {
	Meta struct {
		Unsubscribe   string  `json:"unsubscribe"`
		Documentation string  `json:"documentation"`
		GeneratedAt   *string `json:"generated_at"`
	} `json:"meta"`
	Page struct {
		ID                string `json:"id"`
		StatusIndicator   string `json:"status_indicator"`
		StatusDescription string `json:"status_description"`
	} `json:"page"`
	Incident jsonIncident `json:"incident"`
}

// WebhookBody is the JSON a webhook subscriber receives for update updateID
// of inc: Statuspage's webhook shape, {"meta", "page", "incident"}, with the
// incident as incidents.json shows it and its components as the updates
// recorded them. The page's status is read from the incident alone (the
// sender has no snapshot): its impact while it is open, "maintenance" while
// a maintenance is in progress, "none" once it is over.
func WebhookBody(page klaxon.StatusPage, pageURL string, inc klaxon.StatusIncident, updateID int64, unsubscribeURL string) ([]byte, error) {
	found := false
	for _, u := range inc.Updates {
		found = found || u.ID == updateID
	}
	if !found {
		return nil, fmt.Errorf("statuspage: webhook body: update %d is not an update of incident %d", updateID, inc.ID)
	}
	// The incident's components as its updates recorded them (their latest
	// state, in the incident's order), for its "components".
	recorded := map[int64]klaxon.StatusComponent{}
	for i := len(inc.Updates) - 1; i >= 0; i-- { // oldest first: the newest state wins
		for _, a := range inc.Updates[i].Affected {
			recorded[a.ComponentID] = klaxon.StatusComponent{ID: a.ComponentID, Name: a.Name, State: a.New}
		}
	}
	snap := klaxon.StatusSnapshot{Page: page, Incidents: []klaxon.StatusIncident{inc}}
	for _, cid := range inc.Components {
		if c, ok := recorded[cid]; ok {
			snap.Components = append(snap.Components, c)
		}
	}
	now := time.Now()
	p := prepare(snap, now)

	var w webhookJSON
	w.Meta.Unsubscribe = unsubscribeURL
	w.Meta.Documentation = webhookDocumentation
	w.Meta.GeneratedAt = jsonTime(now, p.loc)
	st := statusNone
	switch {
	case inc.Status.Closed():
	case isActiveMaintenance(inc):
		st = statusMaintenance
	case !inc.Maintenance:
		st = impactStatus(inc.Impact)
	}
	w.Page.ID, w.Page.StatusIndicator, w.Page.StatusDescription = pageID, st.Indicator, st.Description
	w.Incident = p.jsonIncident(p.incidents[0], pageURL)
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("statuspage: webhook body: %w", err)
	}
	return b, nil
}
