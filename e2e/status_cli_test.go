package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// cliIncident is an incident as GET /api/v1/status/incidents/{id} shows it.
type cliIncident struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Status      string     `json:"status"`
	Impact      string     `json:"impact"`
	Maintenance bool       `json:"maintenance"`
	CreatedAt   time.Time  `json:"created_at"`
	ResolvedAt  *time.Time `json:"resolved_at"`
	Components  []string   `json:"components"`
	Postmortem  *struct {
		Body      string `json:"body"`
		Published bool   `json:"published"`
	} `json:"postmortem"`
	Updates []struct {
		Status  string    `json:"status"`
		Message string    `json:"message"`
		At      time.Time `json:"at"`
	} `json:"updates"`
}

var (
	cliIncidentID    = regexp.MustCompile(`Incident (\d+) opened`)
	cliMaintenanceID = regexp.MustCompile(`Maintenance (\d+) scheduled`)
	cliComponentID   = regexp.MustCompile(`Component (\d+) added`)
)

// TestStatusCLIWholeIncident runs a whole status page incident from the
// shell with the real binary: the page's settings, components in a group,
// an incident posted, updated, resolved and given a postmortem, a past
// incident imported with its original times, a maintenance, and the exit
// codes of mistakes. It checks each result through the API.
func TestStatusCLIWholeIncident(t *testing.T) {
	srv := startServer(t, harness.Options{DataDir: t.TempDir()})
	env := []string{"KLAXON_URL=" + srv.URL, "KLAXON_TOKEN=" + srv.Token}
	ok := func(args ...string) string {
		t.Helper()
		r := runCLI(t, env, args...)
		if r.code != 0 {
			t.Fatalf("klaxon %s: %s", strings.Join(args, " "), r)
		}
		return r.stdout
	}
	match := func(re *regexp.Regexp, out string) string {
		t.Helper()
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%q does not match %s", out, re)
		}
		return m[1]
	}
	incident := func(id string) cliIncident {
		t.Helper()
		var inc cliIncident
		getJSON(t, srv, "/api/v1/status/incidents/"+id, &inc)
		return inc
	}
	state := func(id string) string {
		t.Helper()
		var c struct{ State string }
		getJSON(t, srv, "/api/v1/status/components/"+id, &c)
		return c.State
	}

	// The page and its components.
	out := ok("status", "page", "--name", "Acme Status", "--time-zone", "Europe/Paris", "--url", "https://status.example.com")
	var page struct {
		Name     string `json:"name"`
		TimeZone string `json:"time_zone"`
		URL      string `json:"url"`
	}
	getJSON(t, srv, "/api/v1/status/page", &page)
	if page.Name != "Acme Status" || page.TimeZone != "Europe/Paris" || page.URL != "https://status.example.com" || !strings.Contains(out, "Europe/Paris") {
		t.Fatalf("after klaxon status page: %+v; printed %q", page, out)
	}
	api := strings.TrimSpace(ok("status", "component", "add", "--name", "REST API", "-q"))
	web := match(cliComponentID, ok("status", "component", "add", "--name", "Web", "--group", "North America"))
	mobile := match(cliComponentID, ok("status", "component", "add", "--name", "Mobile", "--group", "North America"))
	out = ok("status", "components")
	if i, j, k := strings.Index(out, "REST API"), strings.Index(out, "North America"), strings.Index(out, "Mobile"); i < 0 || j < i || k < j {
		t.Errorf("klaxon status components, not in page order:\n%s", out)
	}
	ok("status", "component", "set", mobile, "--position", "1")
	ok("status", "component", "set", web, "--state", "degraded_performance")
	if s := state(web); s != "degraded_performance" {
		t.Errorf("after component set --state: %s", s)
	}
	ok("status", "component", "set", web, "--state", "operational")

	// A live incident, from the first word to the postmortem.
	id := match(cliIncidentID, ok("status", "post", "--name", "Database down", "--status", "investigating", "--impact", "major",
		"--message", "We are investigating errors.", "--component", api+"=major_outage"))
	inc := incident(id)
	if inc.Status != "investigating" || inc.Impact != "major" || len(inc.Updates) != 1 || inc.Updates[0].Message != "We are investigating errors." {
		t.Fatalf("after klaxon status post: %+v", inc)
	}
	if s := state(api); s != "major_outage" {
		t.Errorf("the posted incident left %s %s", api, s)
	}
	ok("status", "update", id, "--status", "identified", "--message", "A disk filled up.", "--component", web+"=partial_outage")
	ok("status", "update", "--message", "Cleaning up.", id)
	if inc = incident(id); inc.Status != "identified" || len(inc.Updates) != 3 || inc.Updates[0].Message != "Cleaning up." || state(web) != "partial_outage" {
		t.Fatalf("after klaxon status update: %+v, web %s", inc, state(web))
	}
	out = ok("status", "resolve", id, "--message", "All good.")
	if inc = incident(id); inc.Status != "resolved" || inc.ResolvedAt == nil || !strings.Contains(out, "resolved") {
		t.Fatalf("after klaxon status resolve: %+v; printed %q", inc, out)
	}
	if state(api) != "operational" || state(web) != "operational" {
		t.Errorf("resolving left %s %s and %s %s", api, state(api), web, state(web))
	}
	pm := filepath.Join(t.TempDir(), "pm.md")
	if err := os.WriteFile(pm, []byte("## Cause\n\nA disk filled up.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok("status", "postmortem", id, "--file", pm)
	if inc = incident(id); inc.Postmortem == nil || inc.Postmortem.Published || inc.Status != "resolved" {
		t.Fatalf("after a draft postmortem: %+v", inc)
	}
	ok("status", "postmortem", id, "--file", pm, "--publish")
	if inc = incident(id); inc.Postmortem == nil || !inc.Postmortem.Published || inc.Postmortem.Body != "## Cause\n\nA disk filled up.\n" || inc.Status != "postmortem" {
		t.Fatalf("after klaxon status postmortem --publish: %+v", inc)
	}

	// A past incident imported with its original times.
	began := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	past := strings.TrimSpace(ok("status", "post", "-q", "--name", "Imported outage", "--message", "Errors on the API.",
		"--component", api+"=major_outage", "--at", began.Format(time.RFC3339)))
	ok("status", "update", past, "--status", "identified", "--message", "A bad deploy.", "--at", began.Add(30*time.Minute).Format(time.RFC3339))
	ok("status", "resolve", past, "--message", "Rolled back.", "--at", began.Add(time.Hour).Format(time.RFC3339))
	inc = incident(past)
	if inc.Status != "resolved" || !inc.CreatedAt.Equal(began) || inc.ResolvedAt == nil || !inc.ResolvedAt.Equal(began.Add(time.Hour)) || len(inc.Updates) != 3 {
		t.Fatalf("the imported incident: %+v", inc)
	}
	for i, d := range []time.Duration{time.Hour, 30 * time.Minute, 0} {
		if !inc.Updates[i].At.Equal(began.Add(d)) {
			t.Errorf("imported updates[%d] at %v, want %v", i, inc.Updates[i].At, began.Add(d))
		}
	}
	if s := state(api); s != "operational" {
		t.Errorf("importing a past outage set %s to %s", api, s)
	}

	// A maintenance, and the lists.
	from := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	mnt := match(cliMaintenanceID, ok("status", "maintenance", "--name", "Database upgrade", "--message", "Upgrading.",
		"--from", from.Format(time.RFC3339), "--until", from.Add(time.Hour).Format(time.RFC3339), "--component", api, "--component", web))
	if inc = incident(mnt); !inc.Maintenance || inc.Status != "scheduled" || inc.Impact != "maintenance" || len(inc.Components) != 2 {
		t.Fatalf("the maintenance scheduled: %+v", inc)
	}
	out = ok("status", "incidents")
	for _, want := range []string{id, past, mnt, "Database down", "Imported outage", "Database upgrade", "maintenance"} {
		if !strings.Contains(out, want) {
			t.Errorf("klaxon status incidents does not show %q:\n%s", want, out)
		}
	}
	if out = ok("status", "resolve", mnt); incident(mnt).Status != "completed" {
		t.Errorf("klaxon status resolve on a maintenance: %q; it is %s", out, incident(mnt).Status)
	}
	out = ok("status", "incident", id)
	for _, want := range []string{"Database down", "A disk filled up.", "REST API: operational -> major_outage", "Postmortem: published"} {
		if !strings.Contains(out, want) {
			t.Errorf("klaxon status incident %s does not show %q:\n%s", id, want, out)
		}
	}

	// Mistakes: 2 for a usage mistake, 1 for what the server refused.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var viewer struct{ Token string }
	if err := srv.Do(ctx, "POST", "/api/v1/tokens", map[string]string{"name": "status viewer", "role": "viewer"}, &viewer); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		want []string // in stderr, case-insensitive
	}{
		{"no subcommand", env, []string{"status"}, 2, []string{"subcommand"}},
		{"unknown subcommand", env, []string{"status", "bogus"}, 2, []string{`"bogus"`}},
		{"post without name", env, []string{"status", "post", "--message", "x"}, 2, []string{"--name"}},
		{"bad state", env, []string{"status", "post", "--name", "x", "--component", api + "=broken"}, 2, []string{"broken", "major_outage"}},
		{"component not ID=STATE", env, []string{"status", "post", "--name", "x", "--component", "api"}, 2, []string{"ID=STATE"}},
		{"bad --at", env, []string{"status", "post", "--name", "x", "--at", "yesterday"}, 2, []string{"--at", "RFC 3339"}},
		{"unknown component", env, []string{"status", "post", "--name", "x", "--component", "99999=major_outage"}, 1, []string{"components"}},
		{"future --at", env, []string{"status", "post", "--name", "x", "--at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 1, []string{"at:", "future"}},
		{"update without id", env, []string{"status", "update", "--message", "x"}, 2, []string{"incident id"}},
		{"update bad id", env, []string{"status", "update", "abc", "--message", "x"}, 2, []string{`"abc"`}},
		{"update unknown incident", env, []string{"status", "update", "99999", "--message", "x"}, 1, []string{"not found"}},
		{"update nothing", env, []string{"status", "update", id}, 2, []string{"--status"}},
		{"maintenance without window", env, []string{"status", "maintenance", "--name", "x"}, 2, []string{"--from"}},
		{"maintenance backwards", env, []string{"status", "maintenance", "--name", "x", "--from", from.Format(time.RFC3339),
			"--until", from.Add(-time.Hour).Format(time.RFC3339)}, 1, []string{"scheduled_until"}},
		{"postmortem without file", env, []string{"status", "postmortem", id}, 2, []string{"--file"}},
		{"postmortem missing file", env, []string{"status", "postmortem", id, "--file", filepath.Join(t.TempDir(), "none.md")}, 1, []string{"none.md"}},
		{"bad time zone", env, []string{"status", "page", "--time-zone", "Mars/Olympus"}, 1, []string{"time_zone"}},
		{"viewer cannot post", []string{env[0], "KLAXON_TOKEN=" + viewer.Token}, []string{"status", "post", "--name", "x"}, 1, []string{"403", "responder"}},
		{"viewer cannot add components", []string{env[0], "KLAXON_TOKEN=" + viewer.Token}, []string{"status", "component", "add", "--name", "x"}, 1, []string{"403", "admin"}},
		{"no token", env[:1], []string{"status", "incidents"}, 2, []string{"token"}},
	} {
		r := runCLI(t, c.env, c.args...)
		if r.code != c.code {
			t.Errorf("%s: klaxon %v: exit %d, want %d\nstdout: %s\nstderr: %s", c.name, c.args, r.code, c.code, r.stdout, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(w)) {
				t.Errorf("%s: klaxon %v: stderr does not mention %q:\n%s", c.name, c.args, w, r.stderr)
			}
		}
	}
	// The viewer reads.
	if r := runCLI(t, []string{env[0], "KLAXON_TOKEN=" + viewer.Token}, "status", "incidents"); r.code != 0 || !strings.Contains(r.stdout, "Database down") {
		t.Errorf("a viewer lists incidents: %s", r)
	}
}
