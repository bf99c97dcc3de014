package statuspage

import (
	"html/template"
	"sort"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/yuin/goldmark"
)

// The HTML pages are rendered from these views: plain values, every text
// still raw (html/template escapes it), except a postmortem, which is
// already-safe HTML.

// layoutView is what every page's frame shows.
type layoutView struct {
	Title       string // the <title>
	PageName    string
	Description string
	Status      status // the banner's colour on the header
	Subscribe   bool   // the page takes email subscriptions
}

type indexView struct {
	layoutView
	Components   []componentView
	Active       []incidentView // unresolved incidents
	Maintenances []incidentView // in progress, then upcoming
	Recent       []incidentView // closed in the last recentDays days
	RecentDays   int
	Form         *subscribeView
	Zone         string
}

type historyView struct {
	layoutView
	Months []monthView
}

type monthView struct {
	Title     string // "January 2018"
	Incidents []incidentView
}

type incidentPageView struct {
	layoutView
	Incident incidentView
}

// messageView is a page with one message: subscriptions, errors.
type messageView struct {
	layoutView
	Heading string
	Text    string
	// Action, when set, is a form (POST to itself) with this button.
	Action string
	// Form shows the subscribe form again (after an invalid address).
	Form *subscribeView
}

type subscribeView struct {
	Email  string
	Groups []subscribeGroup
}

type subscribeGroup struct {
	Name       string // "" for the ungrouped components
	Components []subscribeOption
}

type subscribeOption struct {
	ID   int64
	Name string
}

type componentView struct {
	ID          int64
	Name        string
	Description string
	State       stateView
	Group       bool
	Level       int // its heading's level: 3 on top, 4 in a group
	Members     []componentView
	Uptime      *uptimeView
}

type stateView struct {
	Value string // the state word: operational, major_outage…
	Label string // "Major Outage"
	Glyph string // a symbol, so that the state is not told by colour alone
}

type uptimeView struct {
	Percent    string
	Days       []dayView
	OutageDays []string
	From, To   string
}

type dayView struct {
	Severity string
	Text     string
}

type incidentView struct {
	ID          int64
	Name        string
	Status      stateWord
	Impact      string
	Maintenance bool
	Updates     []updateView
	Affected    string // the components, for "This incident affected: …"
	AffectedBy  string // "This incident affected"
	Started     when
	Resolved    when
	Window      *windowView
	Postmortem  template.HTML
	Published   when
}

type stateWord struct {
	Value string
	Label string
}

type windowView struct {
	From, Until when
}

type updateView struct {
	Status stateWord
	Body   string
	At     when
}

// recentDays is how far back the front page lists closed incidents.
const recentDays = 7

func (p *prepared) layout(title string) layoutView {
	name := p.page.Name
	if title == "" {
		title = name + " Status"
	} else {
		title = title + " - " + name + " Status"
	}
	return layoutView{Title: title, PageName: name, Description: p.page.Description, Status: p.status, Subscribe: p.subscribe}
}

func (p *prepared) indexView() indexView {
	v := indexView{
		layoutView: p.layout(""),
		RecentDays: recentDays,
		Zone:       p.zoneName(),
	}
	for _, c := range p.components {
		switch {
		case c.Group:
			g := p.componentView(c, 3)
			for _, m := range p.members[c.ID] {
				g.Members = append(g.Members, p.componentView(m, 4))
			}
			v.Components = append(v.Components, g)
		case p.ungrouped(c):
			v.Components = append(v.Components, p.componentView(c, 3))
		}
	}
	for _, inc := range p.filter(isUnresolved) {
		v.Active = append(v.Active, p.incidentView(inc, nil))
	}
	for _, inc := range append(byWindow(p.filter(isActiveMaintenance)), byWindow(p.filter(isUpcoming))...) {
		v.Maintenances = append(v.Maintenances, p.incidentView(inc, nil))
	}
	since := p.now.Add(-recentDays * 24 * time.Hour)
	for _, inc := range p.incidents {
		if inc.Status.Closed() && inc.UpdatedAt.After(since) {
			v.Recent = append(v.Recent, p.incidentView(inc, nil))
		}
	}
	if p.subscribe {
		v.Form = p.subscribeView("")
	}
	return v
}

func (p *prepared) subscribeView(email string) *subscribeView {
	s := &subscribeView{Email: email}
	loose := subscribeGroup{}
	for _, c := range p.components {
		switch {
		case c.Group:
			g := subscribeGroup{Name: c.Name}
			for _, m := range p.members[c.ID] {
				g.Components = append(g.Components, subscribeOption{ID: m.ID, Name: m.Name})
			}
			if len(g.Components) > 0 {
				s.Groups = append(s.Groups, g)
			}
		case p.ungrouped(c):
			loose.Components = append(loose.Components, subscribeOption{ID: c.ID, Name: c.Name})
		}
	}
	if len(loose.Components) > 0 {
		s.Groups = append([]subscribeGroup{loose}, s.Groups...)
	}
	return s
}

// zoneName names the page's zone for visitors: "America/Los_Angeles".
func (p *prepared) zoneName() string { return p.loc.String() }

// stateGlyphs are the states' symbols.
var stateGlyphs = map[klaxon.ComponentState]string{
	klaxon.ComponentOperational:      "✓",
	klaxon.ComponentDegraded:         "▲",
	klaxon.ComponentPartialOutage:    "◐",
	klaxon.ComponentMajorOutage:      "✕",
	klaxon.ComponentUnderMaintenance: "⚒",
}

func stateOf(s klaxon.ComponentState) stateView {
	return stateView{Value: string(s), Label: s.Label(), Glyph: stateGlyphs[s]}
}

func (p *prepared) componentView(c klaxon.StatusComponent, level int) componentView {
	v := componentView{ID: c.ID, Name: c.Name, Description: c.Description, State: stateOf(p.state(c)), Group: c.Group, Level: level}
	if !c.Group {
		u := computeUptime(c, p.history[c.ID], p.now, p.loc, uptimeDays)
		uv := &uptimeView{Percent: u.Percent()}
		for _, d := range u.Days {
			uv.Days = append(uv.Days, dayView{Severity: d.Severity(), Text: d.Text()})
		}
		for _, d := range u.OutageDays() {
			uv.OutageDays = append(uv.OutageDays, d.Text())
		}
		uv.From = u.Days[0].Start.Format(dayLayout)
		uv.To = u.Days[len(u.Days)-1].Start.Format(dayLayout)
		v.Uptime = uv
	}
	return v
}

// affectedLead is the words before the affected components.
func affectedLead(inc klaxon.StatusIncident) string {
	switch {
	case !inc.Maintenance:
		return "This incident affected"
	case inc.Status.Closed():
		return "This scheduled maintenance affected"
	}
	return "This scheduled maintenance affects"
}

// incidentView shows inc; md, when given, renders its postmortem.
func (p *prepared) incidentView(inc klaxon.StatusIncident, md goldmark.Markdown) incidentView {
	v := incidentView{
		ID: inc.ID, Name: inc.Name, Impact: string(inc.Impact), Maintenance: inc.Maintenance,
		Status:     stateWord{Value: string(inc.Status), Label: inc.Status.Label()},
		Affected:   affectedLine(p, inc),
		AffectedBy: affectedLead(inc),
		Started:    at(inc.CreatedAt, p.now, p.loc),
		Resolved:   at(inc.ResolvedAt, p.now, p.loc),
	}
	if v.Impact == "" {
		v.Impact = string(klaxon.ImpactNone)
	}
	if inc.Maintenance {
		v.Window = &windowView{From: at(inc.ScheduledFor, p.now, p.loc), Until: at(inc.ScheduledUntil, p.now, p.loc)}
	}
	for _, u := range inc.Updates {
		v.Updates = append(v.Updates, updateView{
			Status: stateWord{Value: string(u.Status), Label: u.Status.Label()},
			Body:   u.Body,
			At:     at(u.DisplayAt, p.now, p.loc),
		})
	}
	if md != nil && inc.Postmortem != "" {
		if h, err := renderMarkdown(md, inc.Postmortem); err == nil {
			v.Postmortem = h
			v.Published = at(inc.PostmortemPublishedAt, p.now, p.loc)
		}
	}
	return v
}

func (p *prepared) historyView() historyView {
	v := historyView{layoutView: p.layout("Incident History")}
	// Each incident under the month it began (a maintenance: its window),
	// newest month first, newest first within a month.
	type entry struct {
		start time.Time
		inc   klaxon.StatusIncident
	}
	var entries []entry
	for _, inc := range p.incidents {
		if isUpcoming(inc) {
			continue // not history yet
		}
		start := inc.CreatedAt
		if inc.Maintenance && !inc.ScheduledFor.IsZero() {
			start = inc.ScheduledFor
		}
		entries = append(entries, entry{start, inc})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].start.After(entries[j].start) })
	for _, e := range entries {
		month := e.start.In(p.loc).Format(monthLayout)
		if n := len(v.Months); n == 0 || v.Months[n-1].Title != month {
			v.Months = append(v.Months, monthView{Title: month})
		}
		m := &v.Months[len(v.Months)-1]
		m.Incidents = append(m.Incidents, p.incidentView(e.inc, nil))
	}
	return v
}

func (p *prepared) incidentPageView(inc klaxon.StatusIncident, md goldmark.Markdown) incidentPageView {
	return incidentPageView{layoutView: p.layout(inc.Name), Incident: p.incidentView(inc, md)}
}

func (p *prepared) messageView(title, heading, text string) messageView {
	return messageView{layoutView: p.layout(title), Heading: heading, Text: text}
}
