package api_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The status page's administration API: the shapes of issue 5 that tools
// outside the project use, end to end through the HTTP API on a real store.

func TestStatusAPISQLite(t *testing.T)   { t.Parallel(); testStatusAPI(t, storetest.OpenSQLite) }
func TestStatusAPIPostgres(t *testing.T) { t.Parallel(); testStatusAPI(t, storetest.OpenPostgres) }

func testStatusAPI(t *testing.T, open storetest.Opener) {
	secret := func(id int64) []byte { k := sha256.Sum256(fmt.Appendf(nil, "status-subscriber-%d", id)); return k[:] }
	e := newEnv(t, open, store.Options{}, api.Config{StatusWebhookSecret: secret})
	t.Run("Page", func(t *testing.T) { statusPageSettings(t, e) })
	t.Run("Components", func(t *testing.T) { statusComponents(t, e) })
	t.Run("IncidentLifecycle", func(t *testing.T) { statusIncidentLifecycle(t, e) })
	t.Run("ImportPastIncident", func(t *testing.T) { statusImportPastIncident(t, e) })
	t.Run("Maintenance", func(t *testing.T) { statusMaintenance(t, e) })
	t.Run("Subscribers", func(t *testing.T) { statusSubscribers(t, e, secret) })
}

// statusComponent creates a component and returns it.
func statusComponent(t *testing.T, e *env, body map[string]any) map[string]any {
	t.Helper()
	c := e.ok(t, http.StatusCreated, "POST", "/api/v1/status/components", body)
	conforms(t, e, "StatusComponent", c)
	return c
}

// componentOrder lists the components' names in page order, a group's
// members prefixed with the group's name.
func componentOrder(t *testing.T, e *env) []string {
	t.Helper()
	l := e.ok(t, http.StatusOK, "GET", "/api/v1/status/components", nil)
	conforms(t, e, "StatusComponentList", l)
	groups := map[string]string{}
	var out []string
	for _, c := range list(t, l, "components") {
		name := c["name"].(string)
		if c["group"] == true {
			groups[str(t, c, "id")] = name
		}
		if g, ok := c["group_id"].(string); ok {
			name = groups[g] + "/" + name
		}
		out = append(out, name)
	}
	return out
}

func statusPageSettings(t *testing.T, e *env) {
	p := e.ok(t, http.StatusOK, "GET", "/api/v1/status/page", nil)
	conforms(t, e, "StatusPage", p)
	if p["name"] != "Status" || p["time_zone"] != "UTC" || p["url"] != "" || p["description"] != "" {
		t.Fatalf("a new page: %v", p)
	}
	p = e.ok(t, http.StatusOK, "PATCH", "/api/v1/status/page", map[string]any{"name": "Acme Status", "time_zone": "Europe/Paris",
		"url": "https://status.example.com", "description": "How Acme is doing"})
	conforms(t, e, "StatusPage", p)
	want := map[string]any{"name": "Acme Status", "time_zone": "Europe/Paris", "url": "https://status.example.com", "description": "How Acme is doing"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("patched page %s = %v, want %v", k, p[k], v)
		}
	}
	// A patch changes only what it names.
	p = e.ok(t, http.StatusOK, "PATCH", "/api/v1/status/page", map[string]any{"description": ""})
	if p["name"] != "Acme Status" || p["time_zone"] != "Europe/Paris" || p["description"] != "" {
		t.Errorf("after patching the description only: %v", p)
	}

	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"bad time zone", map[string]any{"time_zone": "Mars/Olympus"}, "time_zone"},
		{"empty time zone", map[string]any{"time_zone": ""}, "time_zone"},
		{"empty name", map[string]any{"name": ""}, "name"},
		{"name not a string", map[string]any{"name": 5}, "name"},
		{"url not a URL", map[string]any{"url": "status page"}, "url"},
		{"unknown field", map[string]any{"title": "x"}, "title"},
		{"not an object", `["name"]`, "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(t, "PATCH", "/api/v1/status/page", e.owner, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/status/page", nil); got["time_zone"] != "Europe/Paris" || got["name"] != "Acme Status" {
		t.Errorf("refused patches changed the page: %v", got)
	}
	wantError(t, e.call(t, "PATCH", "/api/v1/status/page", e.owner, `{"name":"`+strings.Repeat("x", 70<<10)+`"}`),
		http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")

	_, viewer := e.createToken(t, "page viewer", klaxon.RoleViewer)
	_, responder := e.createToken(t, "page responder", klaxon.RoleResponder)
	if r := e.call(t, "GET", "/api/v1/status/page", viewer, nil); r.status != http.StatusOK {
		t.Errorf("a viewer reads the page: %s", r)
	}
	wantError(t, e.call(t, "GET", "/api/v1/status/page", "", nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
	wantError(t, e.call(t, "PATCH", "/api/v1/status/page", "", map[string]any{"name": "x"}), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
	wantError(t, e.call(t, "PATCH", "/api/v1/status/page", viewer, map[string]any{"name": "x"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	wantError(t, e.call(t, "PATCH", "/api/v1/status/page", responder, map[string]any{"name": "x"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
}

func statusComponents(t *testing.T, e *env) {
	api := statusComponent(t, e, map[string]any{"name": "Components API"})
	if api["state"] != "operational" || api["group"] != false || api["group_id"] != nil || api["service_id"] != nil {
		t.Fatalf("a new component: %v", api)
	}
	web := statusComponent(t, e, map[string]any{"name": "Web", "group": "North America", "description": "The web app"})
	groupID, _ := web["group_id"].(string)
	if groupID == "" || web["description"] != "The web app" || web["position"] != float64(1) {
		t.Fatalf("a component in a new group: %v", web)
	}
	sms := statusComponent(t, e, map[string]any{"name": "SMS", "group": "North America"})
	if sms["group_id"] != groupID || sms["position"] != float64(2) {
		t.Fatalf("a second component in the group: %v (group %s)", sms, groupID)
	}
	group := e.ok(t, http.StatusOK, "GET", "/api/v1/status/components/"+groupID, nil)
	conforms(t, e, "StatusComponent", group)
	if group["group"] != true || group["name"] != "North America" || group["group_id"] != nil {
		t.Fatalf("the group created by name: %v", group)
	}
	statusComponent(t, e, map[string]any{"name": "Web", "group": "Europe"}) // the same name in another group
	wantOrder := func(want ...string) {
		t.Helper()
		// Other subtests add components later; this one's come first.
		if got := componentOrder(t, e); !slices.Equal(got[:min(len(got), len(want))], want) {
			t.Errorf("page order %q, want %q", got, want)
		}
	}
	wantOrder("Components API", "North America", "North America/Web", "North America/SMS", "Europe", "Europe/Web")

	wantError(t, e.call(t, "POST", "/api/v1/status/components", e.owner, map[string]any{"name": "SMS", "group": "North America"}),
		http.StatusConflict, klaxon.ECONFLICT, "name")

	// Reorder: within a group, and among top-level items.
	path := func(c map[string]any) string { return "/api/v1/status/components/" + str(t, c, "id") }
	moved := e.ok(t, http.StatusOK, "PATCH", path(sms), map[string]any{"position": 1})
	conforms(t, e, "StatusComponent", moved)
	if moved["position"] != float64(1) {
		t.Errorf("moved to 1: %v", moved)
	}
	wantOrder("Components API", "North America", "North America/SMS", "North America/Web", "Europe", "Europe/Web")
	e.ok(t, http.StatusOK, "PATCH", path(api), map[string]any{"position": 3})
	wantOrder("North America", "North America/SMS", "North America/Web", "Europe", "Europe/Web", "Components API")
	e.ok(t, http.StatusOK, "PATCH", path(api), map[string]any{"position": 1})

	// A state set by hand; a group shows its worst member.
	c := e.ok(t, http.StatusOK, "PATCH", path(web), map[string]any{"state": "partial_outage"})
	if c["state"] != "partial_outage" {
		t.Fatalf("state set: %v", c)
	}
	if g := e.ok(t, http.StatusOK, "GET", "/api/v1/status/components/"+groupID, nil); g["state"] != "partial_outage" {
		t.Errorf("a group with a member in partial outage shows %v", g["state"])
	}
	hist := e.ok(t, http.StatusOK, "GET", path(web)+"/history?since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil)
	conforms(t, e, "ComponentHistory", hist)
	h := list(t, hist, "history")
	if last := h[len(h)-1]; last["state"] != "partial_outage" || last["source"] != "manual" || last["actor"] == "" || last["incident_id"] != nil {
		t.Errorf("history after a manual change: %v", h)
	}
	e.ok(t, http.StatusOK, "PATCH", path(web), map[string]any{"state": "operational"})

	// The linked service, and moving between groups.
	svc := e.createService(t, "status-web")
	c = e.ok(t, http.StatusOK, "PATCH", path(web), map[string]any{"service_id": svc, "follow_service": true, "follow_state": "partial_outage"})
	if c["service_id"] != svc || c["follow_service"] != true || c["follow_state"] != "partial_outage" {
		t.Errorf("linked: %v", c)
	}
	c = e.ok(t, http.StatusOK, "PATCH", path(web), map[string]any{"follow_service": false, "service_id": nil, "description": "Web, unlinked"})
	if c["service_id"] != nil || c["description"] != "Web, unlinked" {
		t.Errorf("unlinked: %v", c)
	}
	c = e.ok(t, http.StatusOK, "PATCH", path(sms), map[string]any{"group": ""})
	if c["group_id"] != nil {
		t.Errorf("taken out of its group: %v", c)
	}
	c = e.ok(t, http.StatusOK, "PATCH", path(sms), map[string]any{"group": "Asia"})
	if g, _ := c["group_id"].(string); g == "" || g == groupID {
		t.Errorf("moved into a new group: %v", c)
	}

	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"bad state", map[string]any{"state": "on_fire"}, "state"},
		{"state not a string", map[string]any{"state": 3}, "state"},
		{"position 0", map[string]any{"position": 0}, "position"},
		{"position a string", map[string]any{"position": "1"}, "position"},
		{"unknown service", map[string]any{"service_id": "99999"}, "service_id"},
		{"service_id not an id", map[string]any{"service_id": "web"}, "service_id"},
		{"group not a string", map[string]any{"group": 7}, "group"},
		{"bad follow_state", map[string]any{"follow_state": "operational"}, "follow_state"},
		{"follow without a service", map[string]any{"follow_service": true}, "follow_service"},
		{"empty name", map[string]any{"name": ""}, "name"},
		{"unknown field", map[string]any{"status": "operational"}, "status"},
	} {
		t.Run("patch "+c.name, func(t *testing.T) {
			wantError(t, e.call(t, "PATCH", path(web), e.owner, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	wantError(t, e.call(t, "PATCH", "/api/v1/status/components/"+groupID, e.owner, map[string]any{"state": "major_outage"}),
		http.StatusBadRequest, klaxon.EINVALID, "state")
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no name", map[string]any{"group": "x"}, "name"},
		{"name not a string", map[string]any{"name": true}, "name"},
		{"group not a string", map[string]any{"name": "x", "group": 1}, "group"},
		{"long description", map[string]any{"name": "x", "description": strings.Repeat("d", 5000)}, "description"},
		{"unknown field", map[string]any{"name": "x", "state": "operational"}, "state"},
		{"empty body", "", "body"},
	} {
		t.Run("create "+c.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", "/api/v1/status/components", e.owner, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	wantError(t, e.call(t, "POST", "/api/v1/status/components", e.owner, `{"name":"x","description":"`+strings.Repeat("d", 70<<10)+`"}`),
		http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")
	if got := e.ok(t, http.StatusOK, "GET", path(web), nil); got["state"] != "operational" || got["position"] != float64(1) {
		t.Errorf("refused patches changed the component: %v", got)
	}

	for _, p := range []string{"/api/v1/status/components/99999", "/api/v1/status/components/x", "/api/v1/status/components/99999/history"} {
		wantError(t, e.call(t, "GET", p, e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	}
	wantError(t, e.call(t, "PATCH", "/api/v1/status/components/99999", e.owner, map[string]any{"state": "operational"}), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "GET", path(web)+"/history?since=yesterday", e.owner, nil), http.StatusBadRequest, klaxon.EINVALID, "since")

	_, viewer := e.createToken(t, "components viewer", klaxon.RoleViewer)
	_, responder := e.createToken(t, "components responder", klaxon.RoleResponder)
	for _, p := range []string{"/api/v1/status/components", path(web), path(web) + "/history"} {
		if r := e.call(t, "GET", p, viewer, nil); r.status != http.StatusOK {
			t.Errorf("a viewer reads %s: %s", p, r)
		}
		wantError(t, e.call(t, "GET", p, "", nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
	}
	for _, tok := range []string{viewer, responder} {
		wantError(t, e.call(t, "POST", "/api/v1/status/components", tok, map[string]any{"name": "x"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
		wantError(t, e.call(t, "PATCH", path(web), tok, map[string]any{"state": "major_outage"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	}
	wantError(t, e.call(t, "POST", "/api/v1/status/components", "", map[string]any{"name": "x"}), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
}

// componentState reads a component's current state through the API.
func componentState(t *testing.T, e *env, id string) string {
	t.Helper()
	return e.ok(t, http.StatusOK, "GET", "/api/v1/status/components/"+id, nil)["state"].(string)
}

func statusIncidentLifecycle(t *testing.T, e *env) {
	api := str(t, statusComponent(t, e, map[string]any{"name": "Lifecycle API"}), "id")
	db := str(t, statusComponent(t, e, map[string]any{"name": "Lifecycle DB", "group": "Lifecycle"}), "id")
	_, responder := e.createToken(t, "incident responder", klaxon.RoleResponder)
	_, viewer := e.createToken(t, "incident viewer", klaxon.RoleViewer)
	post := func(want int, method, path string, body any) map[string]any {
		t.Helper()
		r := e.call(t, method, path, responder, body)
		if r.status != want {
			t.Fatalf("%s %s as a responder: %s, want %d", method, path, r, want)
		}
		return r.obj(t)
	}

	inc := post(http.StatusCreated, "POST", "/api/v1/status/incidents", map[string]any{"name": "Database down", "status": "investigating",
		"message": "We are looking into it.", "components": map[string]any{api: "major_outage"}})
	conforms(t, e, "StatusIncident", inc)
	id := str(t, inc, "id")
	if inc["status"] != "investigating" || inc["impact"] != "critical" || inc["maintenance"] != false || inc["resolved_at"] != nil ||
		!slices.Equal(strs(inc["components"]), []string{api}) || inc["postmortem"] != nil {
		t.Fatalf("the incident opened: %v", inc)
	}
	ups := list(t, inc, "updates")
	if len(ups) != 1 || ups[0]["status"] != "investigating" || ups[0]["message"] != "We are looking into it." {
		t.Fatalf("first update: %v", ups)
	}
	aff := list(t, ups[0], "affected_components")
	if len(aff) != 1 || aff[0]["component_id"] != api || aff[0]["old_state"] != "operational" || aff[0]["new_state"] != "major_outage" || aff[0]["name"] != "Lifecycle API" {
		t.Errorf("first update's affected components: %v", aff)
	}
	if got := componentState(t, e, api); got != "major_outage" {
		t.Errorf("the incident set the component to %s", got)
	}

	// An explicit impact wins over the derived one.
	minor := post(http.StatusCreated, "POST", "/api/v1/status/incidents", map[string]any{"name": "Slow pages", "impact": "minor", "message": "x"})
	if minor["impact"] != "minor" || minor["status"] != "investigating" {
		t.Errorf("an incident with impact minor and no status: %v", minor)
	}

	up := post(http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"status": "identified",
		"message": "A disk filled up.", "components": map[string]any{db: "partial_outage"}})
	conforms(t, e, "StatusIncident", up)
	if up["status"] != "identified" || len(list(t, up, "updates")) != 2 {
		t.Fatalf("after identified: %v", up)
	}
	added, _ := up["update"].(map[string]any)
	if added == nil || added["status"] != "identified" || added["message"] != "A disk filled up." || added["incident_id"] != id {
		t.Errorf("the answer's update: %v", up["update"])
	}
	if !slices.Equal(strs(up["components"]), []string{api, db}) {
		t.Errorf("components after the second update: %v, want [%s %s] in page order", up["components"], api, db)
	}
	up = post(http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"status": "monitoring", "message": "Fixed; watching."})
	if up["status"] != "monitoring" || up["monitoring_at"] == nil {
		t.Errorf("after monitoring: %v", up)
	}
	// A message alone keeps the status.
	up = post(http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"message": "Still watching."})
	if up["status"] != "monitoring" {
		t.Errorf("an update without status changed it to %v", up["status"])
	}
	up = post(http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"status": "resolved", "message": "All good."})
	if up["status"] != "resolved" || up["resolved_at"] == nil {
		t.Errorf("after resolved: %v", up)
	}
	for _, c := range []string{api, db} {
		if got := componentState(t, e, c); got != "operational" {
			t.Errorf("resolving left component %s %s", c, got)
		}
	}

	// The postmortem: a draft, then published.
	pm := post(http.StatusOK, "PUT", "/api/v1/status/incidents/"+id+"/postmortem", map[string]any{"body": "# What happened\n\nA disk filled."})
	conforms(t, e, "StatusIncident", pm)
	p, _ := pm["postmortem"].(map[string]any)
	if p == nil || p["body"] != "# What happened\n\nA disk filled." || p["published"] != false || p["published_at"] != nil || pm["status"] != "resolved" {
		t.Fatalf("a draft postmortem: %v", pm)
	}
	pub := time.Now().Add(-time.Second).UTC().Truncate(time.Second)
	pm = post(http.StatusOK, "PUT", "/api/v1/status/incidents/"+id+"/postmortem", map[string]any{"body": "# What happened", "published_at": pub.Format(time.RFC3339)})
	p, _ = pm["postmortem"].(map[string]any)
	if p == nil || p["published"] != true || !isTime(t, "published_at", p["published_at"]).Equal(pub) || pm["status"] != "postmortem" {
		t.Fatalf("a published postmortem: %v", pm)
	}

	got := e.ok(t, http.StatusOK, "GET", "/api/v1/status/incidents/"+id, nil)
	conforms(t, e, "StatusIncident", got)
	if len(list(t, got, "updates")) != 5 || got["status"] != "postmortem" {
		t.Errorf("GET the incident: %v", got)
	}
	var at []time.Time
	for _, u := range list(t, got, "updates") {
		at = append(at, isTime(t, "at", u["at"]))
	}
	if !slices.IsSortedFunc(at, func(a, b time.Time) int { return b.Compare(a) }) {
		t.Errorf("updates are not newest first: %v", at)
	}
	l := e.ok(t, http.StatusOK, "GET", "/api/v1/status/incidents?limit=1", nil)
	conforms(t, e, "StatusIncidentList", l)
	if items := list(t, l, "incidents"); len(items) != 1 || items[0]["id"] != minor["id"] || l["next_cursor"] == nil {
		t.Errorf("the first page of one: %v", l)
	}

	// Bad input: each refused with the field named, and nothing changed.
	missing := "99999"
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no name", map[string]any{"message": "x"}, "name"},
		{"name not a string", map[string]any{"name": 1}, "name"},
		{"bad status", map[string]any{"name": "x", "status": "on_fire"}, "status"},
		{"maintenance status", map[string]any{"name": "x", "status": "scheduled"}, "status"},
		{"bad impact", map[string]any{"name": "x", "impact": "huge"}, "impact"},
		{"impact maintenance", map[string]any{"name": "x", "impact": "maintenance"}, "impact"},
		{"component key not an id", map[string]any{"name": "x", "components": map[string]any{"api": "major_outage"}}, "components"},
		{"component key zero", map[string]any{"name": "x", "components": map[string]any{"0": "major_outage"}}, "components"},
		{"component key with a zero", map[string]any{"name": "x", "components": map[string]any{"0" + api: "major_outage"}}, "components"},
		{"unknown component", map[string]any{"name": "x", "components": map[string]any{missing: "major_outage"}}, "components"},
		{"bad component state", map[string]any{"name": "x", "components": map[string]any{api: "down"}}, "components." + api},
		{"components an array", map[string]any{"name": "x", "components": []string{api}}, "components"},
		{"component state a number", map[string]any{"name": "x", "components": map[string]any{api: 3}}, "components." + api},
		{"at not a time", map[string]any{"name": "x", "at": "yesterday"}, "at"},
		{"at a number", map[string]any{"name": "x", "at": 1700000000}, "at"},
		{"at in the future", map[string]any{"name": "x", "at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "at"},
		{"at too long ago", map[string]any{"name": "x", "at": "1990-01-01T00:00:00Z"}, "at"},
		{"message too long", map[string]any{"name": "x", "message": strings.Repeat("m", klaxon.MaxIncidentMessage+1)}, "message"},
		{"unknown field", map[string]any{"name": "x", "body": "x"}, "body"},
		{"empty body", "", "body"},
	} {
		t.Run("create "+c.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", "/api/v1/status/incidents", responder, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"bad status", map[string]any{"status": "fixed"}, "status"},
		{"maintenance status on an incident", map[string]any{"status": "in_progress"}, "status"},
		{"unknown component", map[string]any{"components": map[string]any{missing: "operational"}}, "components"},
		{"component key not an id", map[string]any{"components": map[string]any{"-1": "operational"}}, "components"},
		{"at not a time", map[string]any{"message": "x", "at": "2024-13-01T00:00:00Z"}, "at"},
		{"message not a string", map[string]any{"message": []string{"x"}}, "message"},
	} {
		t.Run("update "+c.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", "/api/v1/status/incidents/"+id+"/updates", responder, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no body", map[string]any{"published_at": nil}, "body"},
		{"blank body", map[string]any{"body": "  \n"}, "body"},
		{"published_at not a time", map[string]any{"body": "x", "published_at": "now"}, "published_at"},
		{"body too long", map[string]any{"body": strings.Repeat("p", klaxon.MaxPostmortem+1)}, "body"},
	} {
		t.Run("postmortem "+c.name, func(t *testing.T) {
			wantError(t, e.call(t, "PUT", "/api/v1/status/incidents/"+id+"/postmortem", responder, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	if after := e.ok(t, http.StatusOK, "GET", "/api/v1/status/incidents/"+id, nil); len(list(t, after, "updates")) != 5 || after["status"] != "postmortem" {
		t.Errorf("refused updates changed the incident: %v", after)
	}

	// Body limits: a message at its limit fits; a body past the limit is 413.
	long := post(http.StatusCreated, "POST", "/api/v1/status/incidents", map[string]any{"name": "Long", "message": strings.Repeat("é", klaxon.MaxIncidentMessage)})
	if len([]rune(list(t, long, "updates")[0]["message"].(string))) != klaxon.MaxIncidentMessage {
		t.Errorf("a message of %d characters was not kept whole", klaxon.MaxIncidentMessage)
	}
	huge := `{"name":"x","message":"` + strings.Repeat("m", 600<<10) + `"}`
	wantError(t, e.call(t, "POST", "/api/v1/status/incidents", responder, huge), http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")
	wantError(t, e.call(t, "POST", "/api/v1/status/incidents/"+id+"/updates", responder, huge), http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")
	wantError(t, e.call(t, "PUT", "/api/v1/status/incidents/"+id+"/postmortem", responder, `{"body":"`+strings.Repeat("p", 3<<20)+`"}`),
		http.StatusRequestEntityTooLarge, klaxon.ETOOLARGE, "")

	// Unknown incidents.
	wantError(t, e.call(t, "GET", "/api/v1/status/incidents/"+missing, viewer, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "GET", "/api/v1/status/incidents/abc", viewer, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "POST", "/api/v1/status/incidents/"+missing+"/updates", responder, map[string]any{"message": "x"}), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "PUT", "/api/v1/status/incidents/"+missing+"/postmortem", responder, map[string]any{"body": "x"}), http.StatusNotFound, klaxon.ENOTFOUND, "")

	// Roles: viewers read; writes need a responder token.
	for _, p := range []string{"/api/v1/status/incidents", "/api/v1/status/incidents/" + id, "/api/v1/status/maintenances"} {
		if r := e.call(t, "GET", p, viewer, nil); r.status != http.StatusOK {
			t.Errorf("a viewer reads %s: %s", p, r)
		}
		wantError(t, e.call(t, "GET", p, "", nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
	}
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/status/incidents", map[string]any{"name": "x"}},
		{"POST", "/api/v1/status/incidents/" + id + "/updates", map[string]any{"message": "x"}},
		{"PUT", "/api/v1/status/incidents/" + id + "/postmortem", map[string]any{"body": "x"}},
		{"POST", "/api/v1/status/maintenances", map[string]any{"name": "x"}},
	} {
		wantError(t, e.call(t, w.method, w.path, viewer, w.body), http.StatusForbidden, klaxon.EFORBIDDEN, "")
		wantError(t, e.call(t, w.method, w.path, "", w.body), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
	}
}

// strs reads a JSON array of strings.
func strs(v any) []string {
	raw, _ := v.([]any)
	out := []string{}
	for _, x := range raw {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func statusImportPastIncident(t *testing.T, e *env) {
	api := str(t, statusComponent(t, e, map[string]any{"name": "Import API"}), "id")
	began := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	rfc := func(d time.Duration) string { return began.Add(d).Format(time.RFC3339) }
	inc := e.ok(t, http.StatusCreated, "POST", "/api/v1/status/incidents", map[string]any{"name": "Outage imported from Statuspage",
		"status": "investigating", "impact": "major", "message": "Errors on the API.", "components": map[string]any{api: "major_outage"},
		"at": rfc(0)})
	id := str(t, inc, "id")
	e.ok(t, http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"status": "identified",
		"message": "A bad deploy.", "at": rfc(30 * time.Minute)})
	e.ok(t, http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"status": "resolved",
		"message": "Rolled back.", "components": map[string]any{api: "operational"}, "at": rfc(time.Hour)})
	// An update imported out of order lands in its place and reopens nothing.
	e.ok(t, http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"status": "investigating",
		"message": "Still looking.", "at": rfc(15 * time.Minute)})

	got := e.ok(t, http.StatusOK, "GET", "/api/v1/status/incidents/"+id, nil)
	conforms(t, e, "StatusIncident", got)
	wantTime := func(what string, v any, d time.Duration) {
		t.Helper()
		if tm := isTime(t, what, v); !tm.Equal(began.Add(d)) {
			t.Errorf("%s = %v, want %v", what, v, began.Add(d))
		}
	}
	wantTime("created_at", got["created_at"], 0)
	wantTime("updated_at", got["updated_at"], time.Hour)
	wantTime("resolved_at", got["resolved_at"], time.Hour)
	if got["status"] != "resolved" || got["impact"] != "major" {
		t.Errorf("the imported incident is %v, impact %v; want resolved, major", got["status"], got["impact"])
	}
	ups := list(t, got, "updates")
	if len(ups) != 4 {
		t.Fatalf("updates: %v", ups)
	}
	for i, w := range []struct {
		status string
		at     time.Duration
	}{{"resolved", time.Hour}, {"identified", 30 * time.Minute}, {"investigating", 15 * time.Minute}, {"investigating", 0}} {
		if ups[i]["status"] != w.status {
			t.Errorf("updates[%d] is %v, want %s", i, ups[i]["status"], w.status)
		}
		wantTime(fmt.Sprintf("updates[%d].at", i), ups[i]["at"], w.at)
		if written := isTime(t, "created_at", ups[i]["created_at"]); time.Since(written) > time.Minute {
			t.Errorf("updates[%d].created_at %v is not when it was written", i, written)
		}
	}
	// Imported history is history: today's state is untouched, and the
	// component's history shows the outage in its place.
	if s := componentState(t, e, api); s != "operational" {
		t.Errorf("importing a past outage set the component to %s", s)
	}
	hist := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/status/components/"+api+"/history?since=2024-01-01T00:00:00Z", nil), "history")
	var seen []string
	for _, h := range hist {
		if at := isTime(t, "history at", h["at"]); at.Before(began.Add(2 * time.Hour)) {
			seen = append(seen, h["state"].(string)+"@"+at.Format("15:04"))
			if h["incident_id"] != id || h["source"] != "incident" {
				t.Errorf("imported change %v does not name incident %s", h, id)
			}
		}
	}
	if !slices.Equal(seen, []string{"major_outage@10:00", "operational@11:00"}) {
		t.Errorf("the component's history in 2024: %v (all: %v)", seen, hist)
	}
}

func statusMaintenance(t *testing.T, e *env) {
	api := str(t, statusComponent(t, e, map[string]any{"name": "Maintenance API"}), "id")
	db := str(t, statusComponent(t, e, map[string]any{"name": "Maintenance DB"}), "id")
	from := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	until := from.Add(2 * time.Hour)
	var dbNumber int
	fmt.Sscan(db, &dbNumber)
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/status/maintenances", map[string]any{"name": "Database upgrade",
		"message": "We upgrade the database.", "components": []any{api, dbNumber},
		"scheduled_for": from.Format(time.RFC3339), "scheduled_until": until.Format(time.RFC3339)})
	conforms(t, e, "StatusIncident", m)
	id := str(t, m, "id")
	if m["maintenance"] != true || m["status"] != "scheduled" || m["impact"] != "maintenance" ||
		!isTime(t, "scheduled_for", m["scheduled_for"]).Equal(from) || !isTime(t, "scheduled_until", m["scheduled_until"]).Equal(until) {
		t.Fatalf("the maintenance scheduled: %v", m)
	}
	if ups := list(t, m, "updates"); len(ups) != 1 || ups[0]["status"] != "scheduled" || ups[0]["message"] != "We upgrade the database." {
		t.Errorf("its first update: %v", ups)
	}
	if c := strs(m["components"]); !slices.Contains(c, api) || !slices.Contains(c, db) {
		t.Errorf("its components: %v, want %s and %s", c, api, db)
	}
	l := e.ok(t, http.StatusOK, "GET", "/api/v1/status/maintenances", nil)
	conforms(t, e, "StatusMaintenanceList", l)
	ms := list(t, l, "maintenances")
	if len(ms) == 0 || ms[0]["id"] != id {
		t.Errorf("maintenances listed: %v", ms)
	}
	for _, x := range ms {
		if x["maintenance"] != true {
			t.Errorf("an incident in the maintenance list: %v", x)
		}
	}
	if all := ids(t, list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/status/incidents", nil), "incidents")); !slices.Contains(all, id) {
		t.Errorf("the incident list lacks the maintenance %s: %v", id, all)
	}

	// It moves itself: in progress at its start, completed at its end.
	ctx := context.Background()
	if _, err := e.store.AdvanceMaintenances(ctx, from.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := e.ok(t, http.StatusOK, "GET", "/api/v1/status/incidents/"+id, nil)
	if got["status"] != "in_progress" || componentState(t, e, api) != "under_maintenance" || componentState(t, e, db) != "under_maintenance" {
		t.Errorf("after its start: %v; components %s, %s", got["status"], componentState(t, e, api), componentState(t, e, db))
	}
	wantError(t, e.call(t, "POST", "/api/v1/status/incidents/"+id+"/updates", e.owner, map[string]any{"status": "resolved"}),
		http.StatusBadRequest, klaxon.EINVALID, "status")
	e.ok(t, http.StatusCreated, "POST", "/api/v1/status/incidents/"+id+"/updates", map[string]any{"status": "verifying", "message": "Checking."})
	if _, err := e.store.AdvanceMaintenances(ctx, until.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got = e.ok(t, http.StatusOK, "GET", "/api/v1/status/incidents/"+id, nil)
	if got["status"] != "completed" || componentState(t, e, api) != "operational" || componentState(t, e, db) != "operational" {
		t.Errorf("after its end: %v; components %s, %s", got["status"], componentState(t, e, api), componentState(t, e, db))
	}

	rfc := func(tm time.Time) string { return tm.Format(time.RFC3339) }
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no name", map[string]any{"scheduled_for": rfc(from), "scheduled_until": rfc(until)}, "name"},
		{"no start", map[string]any{"name": "x", "scheduled_until": rfc(until)}, "scheduled_for"},
		{"no end", map[string]any{"name": "x", "scheduled_for": rfc(from)}, "scheduled_until"},
		{"end before start", map[string]any{"name": "x", "scheduled_for": rfc(until), "scheduled_until": rfc(from)}, "scheduled_until"},
		{"over 30 days", map[string]any{"name": "x", "scheduled_for": rfc(from), "scheduled_until": rfc(from.AddDate(0, 0, 31))}, "scheduled_until"},
		{"start not a time", map[string]any{"name": "x", "scheduled_for": "soon", "scheduled_until": rfc(until)}, "scheduled_for"},
		{"component not an id", map[string]any{"name": "x", "scheduled_for": rfc(from), "scheduled_until": rfc(until), "components": []any{"db"}}, "components"},
		{"component twice", map[string]any{"name": "x", "scheduled_for": rfc(from), "scheduled_until": rfc(until), "components": []any{api, api}}, "components"},
		{"unknown component", map[string]any{"name": "x", "scheduled_for": rfc(from), "scheduled_until": rfc(until), "components": []any{"99999"}}, "components"},
		{"components an object", map[string]any{"name": "x", "scheduled_for": rfc(from), "scheduled_until": rfc(until), "components": map[string]any{api: "under_maintenance"}}, "components"},
		{"unknown field", map[string]any{"name": "x", "scheduled_for": rfc(from), "scheduled_until": rfc(until), "start": rfc(from)}, "start"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", "/api/v1/status/maintenances", e.owner, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}

	// The maintenance list pages past the incidents between maintenances.
	window := map[string]any{"scheduled_for": rfc(from), "scheduled_until": rfc(until)}
	with := func(name string) map[string]any {
		m := map[string]any{"name": name}
		for k, v := range window {
			m[k] = v
		}
		return m
	}
	e.ok(t, http.StatusCreated, "POST", "/api/v1/status/incidents", map[string]any{"name": "Between 1"})
	second := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/status/maintenances", with("Second")), "id")
	e.ok(t, http.StatusCreated, "POST", "/api/v1/status/incidents", map[string]any{"name": "Between 2"})
	var paged []string
	cursor := ""
	for range 10 {
		q := "?limit=1"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		page := e.ok(t, http.StatusOK, "GET", "/api/v1/status/maintenances"+q, nil)
		conforms(t, e, "StatusMaintenanceList", page)
		paged = append(paged, ids(t, list(t, page, "maintenances"))...)
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, []string{second, id}) {
		t.Errorf("maintenances one by one: %v, want [%s %s]", paged, second, id)
	}
}

var hexSecret = regexp.MustCompile(`^[0-9a-f]{64}$`)

func statusSubscribers(t *testing.T, e *env, secret func(int64) []byte) {
	comp := str(t, statusComponent(t, e, map[string]any{"name": "Subscribed API"}), "id")
	sub := e.ok(t, http.StatusCreated, "POST", "/api/v1/status/subscribers", map[string]any{"email": "ops@example.com"})
	conforms(t, e, "StatusSubscriber", sub)
	if sub["kind"] != "email" || sub["address"] != "ops@example.com" || sub["active"] != false || sub["confirmed_at"] != nil || sub["signing_secret"] != nil {
		t.Fatalf("an email subscriber (double opt-in: not active yet): %v", sub)
	}
	again := e.ok(t, http.StatusOK, "POST", "/api/v1/status/subscribers", map[string]any{"email": "ops@example.com"})
	if again["id"] != sub["id"] {
		t.Errorf("the same address again: %v, want subscriber %v", again, sub["id"])
	}

	hook := e.ok(t, http.StatusCreated, "POST", "/api/v1/status/subscribers", map[string]any{"url": "https://hooks.example.com/status", "components": []any{comp}})
	conforms(t, e, "StatusSubscriber", hook)
	hookID := str(t, hook, "id")
	var n int64
	fmt.Sscan(hookID, &n)
	if hook["kind"] != "webhook" || hook["active"] != true || hook["confirmed_at"] == nil || !slices.Equal(strs(hook["components"]), []string{comp}) ||
		!hexSecret.MatchString(fmt.Sprint(hook["signing_secret"])) || hook["signing_secret"] != fmt.Sprintf("%x", secret(n)) {
		t.Fatalf("a webhook subscriber: %v", hook)
	}
	got := e.ok(t, http.StatusOK, "GET", "/api/v1/status/subscribers/"+hookID, nil)
	conforms(t, e, "StatusSubscriber", got)
	if _, ok := got["signing_secret"]; ok || got["address"] != "https://hooks.example.com/status" {
		t.Errorf("GET a webhook subscriber: %v (the secret is shown only once)", got)
	}
	l := e.ok(t, http.StatusOK, "GET", "/api/v1/status/subscribers", nil)
	conforms(t, e, "StatusSubscriberList", l)
	if all := ids(t, list(t, l, "subscribers")); !slices.Contains(all, hookID) || !slices.Contains(all, str(t, sub, "id")) {
		t.Errorf("subscribers listed: %v", all)
	}

	off := e.ok(t, http.StatusOK, "POST", "/api/v1/status/subscribers/"+hookID+"/unsubscribe", nil)
	if off["active"] != false || off["unsubscribed_at"] == nil {
		t.Errorf("unsubscribed: %v", off)
	}
	if again := e.ok(t, http.StatusOK, "POST", "/api/v1/status/subscribers/"+hookID+"/unsubscribe", nil); again["unsubscribed_at"] != off["unsubscribed_at"] {
		t.Errorf("unsubscribing twice: %v then %v", off, again)
	}

	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"neither", map[string]any{}, "email"},
		{"both", map[string]any{"email": "a@example.com", "url": "https://example.com/h"}, "url"},
		{"bad email", map[string]any{"email": "Ops <ops@example.com>"}, "email"},
		{"bad url", map[string]any{"url": "ftp://example.com/h"}, "url"},
		{"url with a password", map[string]any{"url": "https://u:p@example.com/h"}, "url"},
		{"unknown component", map[string]any{"email": "b@example.com", "components": []any{"99999"}}, "components"},
		{"component not an id", map[string]any{"email": "b@example.com", "components": []any{"api"}}, "components"},
		{"email not a string", map[string]any{"email": 5}, "email"},
		{"unknown field", map[string]any{"email": "b@example.com", "kind": "email"}, "kind"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(t, "POST", "/api/v1/status/subscribers", e.owner, c.body), http.StatusBadRequest, klaxon.EINVALID, c.field)
		})
	}
	wantError(t, e.call(t, "GET", "/api/v1/status/subscribers/99999", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	wantError(t, e.call(t, "POST", "/api/v1/status/subscribers/99999/unsubscribe", e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")

	_, viewer := e.createToken(t, "subscribers viewer", klaxon.RoleViewer)
	_, responder := e.createToken(t, "subscribers responder", klaxon.RoleResponder)
	for _, tok := range []string{viewer, responder} {
		wantError(t, e.call(t, "GET", "/api/v1/status/subscribers", tok, nil), http.StatusForbidden, klaxon.EFORBIDDEN, "")
		wantError(t, e.call(t, "POST", "/api/v1/status/subscribers", tok, map[string]any{"email": "c@example.com"}), http.StatusForbidden, klaxon.EFORBIDDEN, "")
		wantError(t, e.call(t, "POST", "/api/v1/status/subscribers/"+hookID+"/unsubscribe", tok, nil), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	}
	wantError(t, e.call(t, "GET", "/api/v1/status/subscribers", "", nil), http.StatusUnauthorized, klaxon.EUNAUTHORIZED, "")
}
