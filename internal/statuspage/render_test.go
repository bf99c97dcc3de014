package statuspage

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func renderFixture(t *testing.T) map[string]renderedDoc {
	t.Helper()
	docs, err := render(fixtureSnapshot(), fixtureNow, "https://status.example.com", renderOptions{Subscribe: true})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestGolden compares the front page and summary.json with the files
// under testdata; go test -update rewrites them after a deliberate change.
func TestGolden(t *testing.T) {
	docs := renderFixture(t)
	for path, file := range map[string]string{"/": "index.golden.html", "/api/v2/summary.json": "summary.golden.json"} {
		got := docs[path].body
		golden := filepath.Join("testdata", file)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (go test -update rewrites it); first difference near:\n%s", path, golden, firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-80, 0)
	return "got:  " + string(a[lo:min(i+80, len(a))]) + "\nwant: " + string(b[lo:min(i+80, len(b))])
}

// TestRenderIsPure checks that the same snapshot and time give the same
// bytes (the cache and the golden files depend on it).
func TestRenderIsPure(t *testing.T) {
	a, b := renderFixture(t), renderFixture(t)
	for path := range a {
		if !bytes.Equal(a[path].body, b[path].body) {
			t.Errorf("%s differs between two renders", path)
		}
	}
}

func TestBanner(t *testing.T) {
	comp := func(s klaxon.ComponentState) klaxon.StatusComponent {
		return klaxon.StatusComponent{ID: 1, State: s}
	}
	incident := func(impact klaxon.IncidentImpact, status klaxon.IncidentStatus) klaxon.StatusIncident {
		return klaxon.StatusIncident{Impact: impact, Status: status}
	}
	maintenance := func(status klaxon.IncidentStatus) klaxon.StatusIncident {
		return klaxon.StatusIncident{Maintenance: true, Impact: klaxon.ImpactMaintenance, Status: status}
	}
	for _, c := range []struct {
		name       string
		components []klaxon.StatusComponent
		incidents  []klaxon.StatusIncident
		want       status
	}{
		{"nothing at all", nil, nil, status{"none", "All Systems Operational"}},
		{"all operational", []klaxon.StatusComponent{comp("operational")}, nil, status{"none", "All Systems Operational"}},
		{"major outage", []klaxon.StatusComponent{comp("operational"), comp("major_outage"), comp("partial_outage")}, nil, status{"critical", "Major System Outage"}},
		{"partial outage", []klaxon.StatusComponent{comp("degraded_performance"), comp("partial_outage")}, nil, status{"major", "Partial System Outage"}},
		{"degraded", []klaxon.StatusComponent{comp("degraded_performance"), comp("under_maintenance")}, nil, status{"minor", "Partially Degraded Service"}},
		{"component under maintenance", []klaxon.StatusComponent{comp("under_maintenance")}, nil, status{"maintenance", "Service Under Maintenance"}},
		{"maintenance in progress", nil, []klaxon.StatusIncident{maintenance("in_progress")}, status{"maintenance", "Service Under Maintenance"}},
		{"maintenance verifying", nil, []klaxon.StatusIncident{maintenance("verifying")}, status{"maintenance", "Service Under Maintenance"}},
		{"maintenance only scheduled", nil, []klaxon.StatusIncident{maintenance("scheduled")}, status{"none", "All Systems Operational"}},
		{"maintenance completed", nil, []klaxon.StatusIncident{maintenance("completed")}, status{"none", "All Systems Operational"}},
		{"minor incident", nil, []klaxon.StatusIncident{incident("minor", "investigating")}, status{"minor", "Minor Service Outage"}},
		{"major incident", nil, []klaxon.StatusIncident{incident("major", "identified")}, status{"major", "Partial System Outage"}},
		{"critical incident", nil, []klaxon.StatusIncident{incident("minor", "monitoring"), incident("critical", "investigating")}, status{"critical", "Major System Outage"}},
		{"incident of impact none", nil, []klaxon.StatusIncident{incident("none", "investigating")}, status{"none", "All Systems Operational"}},
		{"resolved incident counts for nothing", nil, []klaxon.StatusIncident{incident("critical", "resolved"), incident("critical", "postmortem")}, status{"none", "All Systems Operational"}},
		{"incident beats maintenance", nil, []klaxon.StatusIncident{maintenance("in_progress"), incident("minor", "investigating")}, status{"minor", "Minor Service Outage"}},
		{"components win a tie", []klaxon.StatusComponent{comp("degraded_performance")}, []klaxon.StatusIncident{incident("minor", "investigating")}, status{"minor", "Partially Degraded Service"}},
		{"a worse incident beats components", []klaxon.StatusComponent{comp("degraded_performance")}, []klaxon.StatusIncident{incident("critical", "investigating")}, status{"critical", "Major System Outage"}},
		{"worse components beat an incident", []klaxon.StatusComponent{comp("major_outage")}, []klaxon.StatusIncident{incident("minor", "investigating")}, status{"critical", "Major System Outage"}},
		{"outage beats maintenance", []klaxon.StatusComponent{comp("partial_outage"), comp("under_maintenance")}, []klaxon.StatusIncident{maintenance("in_progress")}, status{"major", "Partial System Outage"}},
		{"a group's own state is ignored", []klaxon.StatusComponent{{ID: 9, Group: true, State: "major_outage"}}, nil, status{"none", "All Systems Operational"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := overallStatus(c.components, c.incidents); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestGroupState(t *testing.T) {
	m := func(states ...klaxon.ComponentState) []klaxon.StatusComponent {
		var out []klaxon.StatusComponent
		for _, s := range states {
			out = append(out, klaxon.StatusComponent{State: s})
		}
		return out
	}
	for _, c := range []struct {
		members []klaxon.StatusComponent
		want    klaxon.ComponentState
	}{
		{nil, "operational"},
		{m("operational", "under_maintenance"), "under_maintenance"},
		{m("under_maintenance", "degraded_performance"), "degraded_performance"},
		{m("degraded_performance", "major_outage", "partial_outage"), "major_outage"},
	} {
		if got := groupState(c.members); got != c.want {
			t.Errorf("groupState(%v) = %s, want %s", c.members, got, c.want)
		}
	}
}

// TestAffectedLine checks the rule: groups with their members in
// parentheses, ungrouped components by name, in page order, joined as
// English; components gone from the page by their recorded names.
func TestAffectedLine(t *testing.T) {
	p := prepare(fixtureSnapshot(), fixtureNow)
	for _, c := range []struct {
		name       string
		components []int64
		updates    []klaxon.IncidentUpdate
		want       string
	}{
		{"none", nil, nil, ""},
		{"one ungrouped", []int64{6}, nil, "API"},
		{"one group member", []int64{3}, nil, "North America (Mobile Interface)"},
		{"members in page order, not incident order", []int64{4, 2}, nil, "North America (Web Interface, Email Notifications)"},
		{"group and ungrouped", []int64{2, 6}, nil, "North America (Web Interface) and API"},
		{"three items", []int64{8, 6, 2, 3}, nil, "North America (Web Interface, Mobile Interface), API, and Europe (Web Interface EU)"},
		{"a deleted component by its recorded name", []int64{99, 6},
			[]klaxon.IncidentUpdate{{Affected: []klaxon.AffectedComponent{{ComponentID: 99, Name: "Legacy API"}}}}, "API and Legacy API"},
		{"a deleted component with no name is left out", []int64{98, 6}, nil, "API"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inc := klaxon.StatusIncident{Components: c.components, Updates: c.updates}
			if got := affectedLine(p, inc); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestRelativeTimes(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0: "less than a minute ago", 59 * time.Second: "less than a minute ago", time.Minute: "1 minute ago",
		45 * time.Minute: "45 minutes ago", 2 * time.Hour: "2 hours ago", 119 * time.Minute: "1 hour ago",
		24 * time.Hour: "1 day ago", 29 * 24 * time.Hour: "29 days ago", 61 * 24 * time.Hour: "2 months ago",
		400 * 24 * time.Hour: "1 year ago", -5 * time.Hour: "in 5 hours", -30 * time.Second: "in less than a minute",
	} {
		if got := relative(now.Add(-d), now); got != want {
			t.Errorf("relative(now - %v) = %q, want %q", d, got, want)
		}
	}
}

// TestPageShowsUpdatesInPageZone checks the front page's words: each
// update's status, text, relative and absolute time in the page's zone,
// and the affected line.
func TestPageShowsUpdatesInPageZone(t *testing.T) {
	page := string(renderFixture(t)["/"].body)
	for _, want := range []string{
		`<h1 id="banner">Partial System Outage</h1>`,
		`<strong class="status">Investigating</strong> - <span class="body">Notifications are delayed.`,
		`Posted 2 hours ago. <time datetime="2018-01-23T14:16:00-08:00">Jan 23, 2018 - 14:16 PST</time>`,
		`Posted 1 hour ago. <time datetime="2018-01-23T15:02:00-08:00">Jan 23, 2018 - 15:02 PST</time>`,
		`This incident affected: North America (Web Interface, Mobile Interface)`,
		`This scheduled maintenance affects: API`,
		`Scheduled for <time datetime="2018-01-25T02:00:00-08:00">Jan 25, 2018 - 02:00 PST</time>`,
		`Jan 20, 2018: major outage 42 min`,
		`<span class="vh">Jan 9, 2018: no data</span>`,
		`Partial Outage`, `Degraded Performance`,
		`<form method="post" action="/subscribe">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("front page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
	// In summer the zone reads PDT.
	snap := fixtureSnapshot()
	snap.Incidents[0].Updates[0].DisplayAt = time.Date(2018, 7, 4, 9, 30, 0, 0, la)
	docs, err := render(snap, fixtureNow, "", renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docs["/incidents/100"].body), "Jul 4, 2018 - 09:30 PDT") {
		t.Error("a summer time is not shown in PDT")
	}
	if strings.Contains(string(docs["/"].body), `action="/subscribe"`) {
		t.Error("the subscribe form shows without subscriptions")
	}
}

// TestDraftPostmortemHidden checks that only a published postmortem shows.
func TestDraftPostmortemHidden(t *testing.T) {
	snap := fixtureSnapshot()
	future := klaxon.StatusIncident{ID: 70, Name: "Future", Status: klaxon.IncidentResolved, CreatedAt: pst(1, 2, 0, 0), UpdatedAt: pst(1, 2, 0, 0),
		Postmortem: "SCHEDULED-POSTMORTEM-TEXT", PostmortemPublishedAt: fixtureNow.Add(time.Hour)}
	snap.Incidents = append(snap.Incidents, future)
	docs, err := render(snap, fixtureNow, "", renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for path, d := range docs {
		for _, secret := range []string{"DRAFT-POSTMORTEM-TEXT", "SCHEDULED-POSTMORTEM-TEXT"} {
			if bytes.Contains(d.body, []byte(secret)) {
				t.Errorf("%s shows an unpublished postmortem (%s)", path, secret)
			}
		}
	}
	if !strings.Contains(string(docs["/incidents/90"].body), "<h3>What happened</h3>") {
		t.Error("the published postmortem is not shown (with its heading moved under the page's)")
	}
	if p := prepare(snap, fixtureNow); !p.next.Equal(future.PostmortemPublishedAt) {
		t.Errorf("next render due %v, want the postmortem's publication %v", p.next, future.PostmortemPublishedAt)
	}
	// Once its time has come, it shows.
	docs, err = render(snap, fixtureNow.Add(2*time.Hour), "", renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docs["/incidents/70"].body), "SCHEDULED-POSTMORTEM-TEXT") {
		t.Error("the postmortem does not show once published")
	}
}

// TestHistoryByMonth checks /history: months newest first, maintenances
// under their window's month, upcoming ones left out.
func TestHistoryByMonth(t *testing.T) {
	snap := fixtureSnapshot()
	snap.Incidents = append(snap.Incidents, klaxon.StatusIncident{ID: 60, Name: "December trouble", Status: klaxon.IncidentResolved,
		Impact: klaxon.ImpactMinor, CreatedAt: time.Date(2017, 12, 31, 23, 0, 0, 0, la), UpdatedAt: time.Date(2018, 1, 1, 1, 0, 0, 0, la)})
	docs, err := render(snap, fixtureNow, "", renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	page := string(docs["/history"].body)
	months := regexp.MustCompile(`<h2 id="month-[a-z0-9-]+">([^<]+)</h2>`).FindAllStringSubmatch(page, -1)
	if len(months) != 2 || months[0][1] != "January 2018" || months[1][1] != "December 2017" {
		t.Fatalf("months %v, want January 2018 then December 2017", months)
	}
	jan := page[strings.Index(page, "January 2018"):strings.Index(page, "December 2017")]
	order := regexp.MustCompile(`/incidents/(\d+)`).FindAllStringSubmatch(jan, -1)
	var ids []string
	for _, m := range order {
		ids = append(ids, m[1])
	}
	if strings.Join(ids, ",") != "100,90,80" {
		t.Errorf("January lists %v, want 100,90,80 (no upcoming maintenance)", ids)
	}
	if !strings.Contains(page, "Jan 20, 2018 - 10:00 PST</time>, resolved <time datetime=\"2018-01-20T10:42:00-08:00\">") {
		t.Error("history lacks an incident's start and resolution")
	}
}

// TestIncidentPages checks one page per incident, nothing for others.
func TestIncidentPages(t *testing.T) {
	docs := renderFixture(t)
	for _, id := range []string{"100", "200", "90", "80"} {
		d, ok := docs["/incidents/"+id]
		if !ok {
			t.Errorf("no page for incident %s", id)
			continue
		}
		if !bytes.Contains(d.body, []byte("<h2 id=\"updates-heading\">Updates</h2>")) {
			t.Errorf("incident %s's page has no updates", id)
		}
	}
	if _, ok := docs["/incidents/5"]; ok {
		t.Error("a page for an unknown incident")
	}
	page := string(docs["/incidents/200"].body)
	if !strings.Contains(page, "Scheduled maintenance") || !strings.Contains(page, "Scheduled for") {
		t.Error("the maintenance page lacks its window")
	}
}
