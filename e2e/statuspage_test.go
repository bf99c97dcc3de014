package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The public status page, end to end on the real binary: an admin runs a
// whole incident through the API — importing a past one with its original
// times — and a visitor sees it on the page, in the Statuspage JSON and in
// the feeds; an email subscriber confirms through the link in a real email
// and then gets each live update once, across a restart; a maintenance
// starts and completes by itself; a component follows its service's alerts.

// statusAPI is a small client for the status admin API and public page.
type statusAPI struct {
	t   *testing.T
	srv *harness.Server
}

func (a statusAPI) do(method, path string, in any) map[string]any {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out map[string]any
	if err := a.srv.Do(ctx, method, path, in, &out); err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

func (a statusAPI) id(method, path string, in any) string {
	a.t.Helper()
	out := a.do(method, path, in)
	id, ok := out["id"].(string)
	if !ok || id == "" {
		a.t.Fatalf("%s %s answered no string id: %v", method, path, out)
	}
	return id
}

// public GETs a public path (no token) and returns its body.
func (a statusAPI) public(path string) (int, http.Header, []byte) {
	a.t.Helper()
	resp, err := http.Get(a.srv.URL + path)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header, b
}

type summaryJSON struct {
	Page struct {
		Name     string `json:"name"`
		TimeZone string `json:"time_zone"`
	} `json:"page"`
	Status struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	} `json:"status"`
	Components []struct {
		ID         string   `json:"id"`
		Name       string   `json:"name"`
		Status     string   `json:"status"`
		Group      bool     `json:"group"`
		GroupID    *string  `json:"group_id"`
		Components []string `json:"components"`
	} `json:"components"`
	Incidents []incidentJSON `json:"incidents"`
}

type incidentJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	Impact          string `json:"impact"`
	CreatedAt       string `json:"created_at"`
	ResolvedAt      *string
	IncidentUpdates []struct {
		Status             string `json:"status"`
		Body               string `json:"body"`
		DisplayAt          string `json:"display_at"`
		AffectedComponents []struct {
			Code      string `json:"code"`
			NewStatus string `json:"new_status"`
		} `json:"affected_components"`
	} `json:"incident_updates"`
}

func (a statusAPI) summary() summaryJSON {
	a.t.Helper()
	code, h, b := a.public("/api/v2/summary.json")
	if code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "*" {
		a.t.Fatalf("summary.json: %d, CORS %q: %s", code, h.Get("Access-Control-Allow-Origin"), b)
	}
	var s summaryJSON
	if err := json.Unmarshal(b, &s); err != nil {
		a.t.Fatalf("summary.json: %v\n%s", err, b)
	}
	return s
}

func TestStatusPageWholeIncident(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		statusPageWholeIncident(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{DataDir: dir, Args: args})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := storetest.PostgresURL(t)
		statusPageWholeIncident(t, func(args ...string) *harness.Server {
			return startServer(t, harness.Options{Args: append([]string{"--db", db}, args...)})
		})
	})
}

func statusPageWholeIncident(t *testing.T, start func(args ...string) *harness.Server) {
	mail := startMailServer(t)
	srv := start(mailArgs(mail)...)
	a := statusAPI{t, srv}

	a.do("PATCH", "/api/v1/status/page", map[string]any{"name": "Acme Status", "time_zone": "America/Los_Angeles"})
	web := a.id("POST", "/api/v1/status/components", map[string]any{"name": "Web Interface", "group": "North America"})
	mobile := a.id("POST", "/api/v1/status/components", map[string]any{"name": "Mobile Interface", "group": "North America"})
	api := a.id("POST", "/api/v1/status/components", map[string]any{"name": "REST API", "description": "The public API"})

	// A visitor subscribes by email from the page and confirms through the
	// link in the email (double opt-in).
	resp, err := http.PostForm(srv.URL+"/subscribe", url.Values{"email": {"visitor@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /subscribe: %s", resp.Status)
	}
	confirm := parseMail(t, mustMail(t, mail))
	link := regexp.MustCompile(`https?://\S+/subscriptions/confirm/\S+`).FindString(confirm.Text)
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", confirm.Text)
	}
	if resp, err := http.Post(link, "application/x-www-form-urlencoded", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("confirming: %v %v", resp, err)
	}

	// History imported with its original times: no email for it.
	past := a.id("POST", "/api/v1/status/incidents", map[string]any{"name": "Login failures", "status": "investigating",
		"impact": "major", "message": "Logins are failing.", "components": map[string]string{web: "major_outage"},
		"at": "2018-01-23T22:16:00Z"})
	a.do("POST", "/api/v1/status/incidents/"+past+"/updates", map[string]any{"status": "resolved",
		"message": "Logins work again.", "at": "2018-01-23T23:40:00Z"})
	a.do("PUT", "/api/v1/status/incidents/"+past+"/postmortem", map[string]any{"body": "## Cause\n\nAn expired certificate.",
		"published_at": "2018-01-25T10:00:00Z"})

	// A live incident.
	live := a.id("POST", "/api/v1/status/incidents", map[string]any{"name": "Slow pages in North America", "status": "investigating",
		"message": "Pages load slowly.", "components": map[string]string{web: "partial_outage", mobile: "degraded_performance"}})
	eventually(t, "the live incident on summary.json", 5*time.Second, func() error {
		s := a.summary()
		if s.Status.Indicator != "major" || s.Status.Description != "Partial System Outage" {
			return fmt.Errorf("status %+v", s.Status)
		}
		if len(s.Incidents) != 1 || s.Incidents[0].ID != live {
			return fmt.Errorf("incidents %+v", s.Incidents)
		}
		return nil
	})
	s := a.summary()
	if s.Page.Name != "Acme Status" || s.Page.TimeZone != "America/Los_Angeles" {
		t.Errorf("page %+v", s.Page)
	}
	states := map[string]string{}
	for _, c := range s.Components {
		states[c.Name] = c.Status
		if c.Name == "North America" && (!c.Group || strings.Join(c.Components, ",") != web+","+mobile) {
			t.Errorf("group %+v, want group with members %s,%s", c, web, mobile)
		}
	}
	if states["Web Interface"] != "partial_outage" || states["Mobile Interface"] != "degraded_performance" || states["REST API"] != "operational" {
		t.Errorf("component states %v", states)
	}

	// The imported incident keeps its times.
	_, _, b := a.public("/api/v2/incidents.json")
	var incs struct{ Incidents []incidentJSON }
	if err := json.Unmarshal(b, &incs); err != nil {
		t.Fatal(err)
	}
	var imported *incidentJSON
	for i := range incs.Incidents {
		if incs.Incidents[i].ID == past {
			imported = &incs.Incidents[i]
		}
	}
	if imported == nil || !strings.HasPrefix(imported.CreatedAt, "2018-01-23") || imported.Status != "postmortem" ||
		len(imported.IncidentUpdates) != 2 || !strings.HasPrefix(imported.IncidentUpdates[1].DisplayAt, "2018-01-23") {
		t.Errorf("imported incident as incidents.json shows it: %+v", imported)
	}

	// The page: banner, the affected line, times in the page's zone.
	_, _, page := a.public("/")
	for _, want := range []string{"Partial System Outage", "Slow pages in North America",
		"This incident affected: North America (Web Interface, Mobile Interface)"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	_, _, pastPage := a.public("/incidents/" + past)
	for _, want := range []string{"Jan 23, 2018 - 14:16 PST", "Jan 23, 2018 - 15:40 PST", "An expired certificate."} {
		if !bytes.Contains(pastPage, []byte(want)) {
			t.Errorf("the past incident's page lacks %q", want)
		}
	}
	for _, feed := range []string{"/history.atom", "/history.rss"} {
		_, _, body := a.public(feed)
		f, err := gofeed.NewParser().ParseString(string(body))
		if err != nil {
			t.Fatalf("%s: %v", feed, err)
		}
		found := false
		for _, it := range f.Items {
			found = found || strings.Contains(it.Title, "Slow pages in North America")
		}
		if !found {
			t.Errorf("%s has no item for the live incident: %d items", feed, len(f.Items))
		}
	}

	// The subscriber got the live incident, once.
	first := parseMail(t, mustMail(t, mail))
	if !strings.Contains(first.Subject, "Slow pages in North America") || first.Header.Get("List-Unsubscribe") == "" {
		t.Errorf("update email: subject %q, List-Unsubscribe %q", first.Subject, first.Header.Get("List-Unsubscribe"))
	}

	// A restart between two updates: the next update is sent once, and
	// nothing already sent is sent again.
	if err := srv.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	srv = start(mailArgs(mail)...)
	a = statusAPI{t, srv}
	a.do("POST", "/api/v1/status/incidents/"+live+"/updates", map[string]any{"status": "identified", "message": "A cache node failed."})
	a.do("POST", "/api/v1/status/incidents/"+live+"/updates", map[string]any{"status": "resolved", "message": "Pages are fast again."})
	for _, want := range []string{"Identified", "Resolved"} {
		m := parseMail(t, mustMail(t, mail))
		if !strings.Contains(m.Subject, want) {
			t.Errorf("next update email subject %q, want %q", m.Subject, want)
		}
	}
	if m, err := mail.Next(2 * time.Second); err == nil {
		t.Errorf("an extra email arrived: %s", m.Data)
	}
	eventually(t, "all operational after resolving", 5*time.Second, func() error {
		if s := a.summary(); s.Status.Description != "All Systems Operational" {
			return fmt.Errorf("status %+v", s.Status)
		}
		return nil
	})
	_ = api
}

// mustMail waits for the next email.
func mustMail(t *testing.T, m *harness.MailServer) harness.Mail {
	t.Helper()
	msg, err := m.Next(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestStatusMaintenanceAndAutomation: a maintenance moves itself to in
// progress and to completed, its component under maintenance in between;
// a component that follows a service goes to an outage while a critical
// alert is open and back when it is resolved, each change in its history.
func TestStatusMaintenanceAndAutomation(t *testing.T) {
	srv := startServer(t, harness.Options{DataDir: t.TempDir()})
	a := statusAPI{t, srv}
	svcID, key := createService(t, srv, "checkout")
	comp := a.id("POST", "/api/v1/status/components", map[string]any{"name": "Checkout"})
	a.do("PATCH", "/api/v1/status/components/"+comp, map[string]any{"service_id": svcID, "follow_service": true})
	db := a.id("POST", "/api/v1/status/components", map[string]any{"name": "Database"})

	from := time.Now().Add(2 * time.Second).UTC()
	mnt := a.id("POST", "/api/v1/status/maintenances", map[string]any{"name": "Database upgrade", "message": "Upgrading.",
		"components": []string{db}, "scheduled_for": from.Format(time.RFC3339Nano), "scheduled_until": from.Add(3 * time.Second).Format(time.RFC3339Nano)})
	maintenance := func(path string) []string {
		_, _, b := a.public(path)
		var m struct {
			ScheduledMaintenances []struct{ ID, Status string } `json:"scheduled_maintenances"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out []string
		for _, x := range m.ScheduledMaintenances {
			out = append(out, x.ID+":"+x.Status)
		}
		return out
	}
	eventually(t, "maintenance upcoming", 2*time.Second, func() error {
		if got := maintenance("/api/v2/scheduled-maintenances/upcoming.json"); strings.Join(got, ",") != mnt+":scheduled" {
			return fmt.Errorf("upcoming %v", got)
		}
		return nil
	})
	eventually(t, "maintenance in progress", 10*time.Second, func() error {
		if got := maintenance("/api/v2/scheduled-maintenances/active.json"); strings.Join(got, ",") != mnt+":in_progress" {
			return fmt.Errorf("active %v", got)
		}
		if st := componentStatus(a, db); st != "under_maintenance" {
			return fmt.Errorf("database is %s", st)
		}
		return nil
	})
	eventually(t, "maintenance completed", 10*time.Second, func() error {
		if got := maintenance("/api/v2/scheduled-maintenances.json"); strings.Join(got, ",") != mnt+":completed" {
			return fmt.Errorf("all %v", got)
		}
		if st := componentStatus(a, db); st != "operational" {
			return fmt.Errorf("database is %s", st)
		}
		return nil
	})

	sendOne(t, srv.URL, key, map[string]any{"action": "trigger", "dedup_key": "checkout-down", "summary": "Checkout is down", "severity": "critical"})
	eventually(t, "checkout follows its critical alert", 10*time.Second, func() error {
		if st := componentStatus(a, comp); st != "major_outage" {
			return fmt.Errorf("checkout is %s", st)
		}
		return nil
	})
	sendOne(t, srv.URL, key, map[string]any{"action": "resolve", "dedup_key": "checkout-down", "summary": "Checkout is back"})
	eventually(t, "checkout back to operational", 10*time.Second, func() error {
		if st := componentStatus(a, comp); st != "operational" {
			return fmt.Errorf("checkout is %s", st)
		}
		return nil
	})
	hist := a.do("GET", "/api/v1/status/components/"+comp+"/history", nil)
	raw, _ := json.Marshal(hist)
	if n := strings.Count(string(raw), `"source":"service"`); n != 2 {
		t.Errorf("history has %d automatic changes, want 2: %s", n, raw)
	}
}

func componentStatus(a statusAPI, id string) string {
	_, _, b := a.public("/api/v2/components.json")
	var c struct {
		Components []struct{ ID, Status string }
	}
	if err := json.Unmarshal(b, &c); err != nil {
		a.t.Fatalf("components.json: %v", err)
	}
	for _, x := range c.Components {
		if x.ID == id {
			return x.Status
		}
	}
	return "missing"
}
