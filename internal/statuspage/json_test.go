package statuspage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// shapeSnapshot is the fixture with a maintenance in progress too, so
// that every list of every document has an element to compare.
func shapeSnapshot() klaxon.StatusSnapshot {
	snap := fixtureSnapshot()
	snap.Incidents = append(snap.Incidents, klaxon.StatusIncident{
		ID: 201, Name: "Network work", Status: klaxon.MaintenanceInProgress, Impact: klaxon.ImpactMaintenance, Maintenance: true,
		ScheduledFor: pst(1, 23, 16, 0), ScheduledUntil: pst(1, 23, 18, 0),
		CreatedAt: pst(1, 20, 9, 0), UpdatedAt: pst(1, 23, 16, 0), Components: []int64{8},
		Updates: []klaxon.IncidentUpdate{
			{ID: 2012, IncidentID: 201, Status: klaxon.MaintenanceInProgress, Body: "Under way.", DisplayAt: pst(1, 23, 16, 0), CreatedAt: pst(1, 23, 16, 0),
				Affected: []klaxon.AffectedComponent{{ComponentID: 8, Name: "Web Interface EU", Old: klaxon.ComponentOperational, New: klaxon.ComponentUnderMaintenance}}},
			{ID: 2011, IncidentID: 201, Status: klaxon.MaintenanceScheduled, Body: "Planned.", DisplayAt: pst(1, 20, 9, 0), CreatedAt: pst(1, 20, 9, 0)},
		},
	})
	return snap
}

func renderJSON(t *testing.T, snap klaxon.StatusSnapshot) map[string]any {
	t.Helper()
	docs, err := jsonDocuments(prepare(snap, fixtureNow), "https://status.example.com")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for path, b := range docs {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[path] = v
	}
	return out
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// TestJSONShapes compares every document with Statuspage's documented
// example for it: each documented field is present with its type, and no
// field is present that neither the documentation nor live Statuspage
// pages show (testdata/shapes/README.md).
func TestJSONShapes(t *testing.T) {
	ours := renderJSON(t, shapeSnapshot())
	observed := readJSON(t, "testdata/shapes/observed/objects.json")
	for path, file := range map[string]string{
		"/api/v2/summary.json":                         "summary.json",
		"/api/v2/status.json":                          "status.json",
		"/api/v2/components.json":                      "components.json",
		"/api/v2/incidents.json":                       "incidents.json",
		"/api/v2/incidents/unresolved.json":            "incidents_unresolved.json",
		"/api/v2/scheduled-maintenances.json":          "scheduled-maintenances.json",
		"/api/v2/scheduled-maintenances/upcoming.json": "scheduled-maintenances_upcoming.json",
		"/api/v2/scheduled-maintenances/active.json":   "scheduled-maintenances_active.json",
	} {
		t.Run(file, func(t *testing.T) {
			documented := readJSON(t, filepath.Join("testdata/shapes/documented", file))
			got, ok := ours[path].(map[string]any)
			if !ok {
				t.Fatalf("%s not rendered", path)
			}
			covers(t, "", documented, got)

			// Everything ours holds must be known: documented or observed.
			known := union(map[string]any{}, documented)
			known = union(known, map[string]any{"page": observed["page"]})
			for key, obj := range map[string]string{"components": "components", "incidents": "incident", "scheduled_maintenances": "scheduled_maintenance"} {
				if _, ok := documented[key]; ok {
					o := observed[obj]
					if _, isList := o.([]any); !isList {
						o = []any{o}
					}
					known = union(known, map[string]any{key: o})
				}
			}
			within(t, "", got, known)
		})
	}
}

// covers checks that every field of want is in got with a compatible type.
// Lists are compared element by element with want's first element.
func covers(t *testing.T, at string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: want an object, got %s", at, kind(got))
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing (documented)", at, k)
				continue
			}
			covers(t, at+"."+k, wv, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Errorf("%s: want a list, got %s", at, kind(got))
			return
		}
		if len(w) == 0 {
			return
		}
		if len(g) == 0 {
			t.Errorf("%s: empty; the test's snapshot should fill it", at)
		}
		for i, gv := range g {
			covers(t, fmt.Sprintf("%s[%d]", at, i), w[0], gv)
		}
	default:
		wk, gk := kind(want), kind(got)
		if wk != gk && wk != "null" && gk != "null" {
			t.Errorf("%s: documented as %s, ours is %s", at, wk, gk)
		}
	}
}

// within checks that every field of got is known.
func within(t *testing.T, at string, got, known any) {
	t.Helper()
	switch g := got.(type) {
	case map[string]any:
		k, _ := known.(map[string]any)
		for key, gv := range g {
			kv, ok := k[key]
			if !ok {
				t.Errorf("%s.%s: not a Statuspage field", at, key)
				continue
			}
			within(t, at+"."+key, gv, kv)
		}
	case []any:
		k, _ := known.([]any)
		for i, gv := range g {
			if len(k) == 0 {
				if _, object := gv.(map[string]any); object {
					t.Errorf("%s[%d]: no known element shape", at, i)
				}
				continue
			}
			within(t, fmt.Sprintf("%s[%d]", at, i), gv, k[0])
		}
	}
}

// union merges b into a: objects key by key, lists into one element
// holding every field any element has.
func union(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = unionValue(out[k], v)
	}
	return out
}

func unionValue(a, b any) any {
	switch bv := b.(type) {
	case map[string]any:
		am, _ := a.(map[string]any)
		return union(am, bv)
	case []any:
		var merged any
		if al, ok := a.([]any); ok {
			for _, e := range al {
				merged = unionValue(merged, e)
			}
		}
		for _, e := range bv {
			merged = unionValue(merged, e)
		}
		if merged == nil {
			return []any{}
		}
		return []any{merged}
	case nil:
		if a != nil {
			return a
		}
	}
	return b
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// TestJSONEnumerations checks every enumerated value against Statuspage's
// words, and every timestamp against its format.
func TestJSONEnumerations(t *testing.T) {
	allowed := map[string][]string{
		"indicator":  {"none", "minor", "major", "critical", "maintenance"},
		"impact":     {"none", "minor", "major", "critical", "maintenance"},
		"old_status": {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"},
		"new_status": {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"},
	}
	componentStates := allowed["old_status"]
	incidentStates := []string{"investigating", "identified", "monitoring", "resolved", "postmortem"}
	maintenanceStates := []string{"scheduled", "in_progress", "verifying", "completed"}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)

	var walk func(at, parent string, v any)
	walk = func(at, parent string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				walk(at+"."+k, parent, child)
				s, isString := child.(string)
				if !isString {
					continue
				}
				if words, ok := allowed[k]; ok && !slices.Contains(words, s) {
					t.Errorf("%s.%s = %q, not one of %v", at, k, s, words)
				}
				if strings.HasSuffix(k, "_at") || k == "scheduled_for" || k == "scheduled_until" {
					if !stamp.MatchString(s) {
						t.Errorf("%s.%s = %q, not a Statuspage timestamp", at, k, s)
					}
				}
				if k == "id" || k == "page_id" || k == "incident_id" || k == "code" || k == "group_id" {
					if s == "" {
						t.Errorf("%s.%s is empty", at, k)
					}
				}
				if k == "status" {
					var words []string
					switch parent {
					case "components":
						words = componentStates
					case "incidents":
						words = incidentStates
					case "scheduled_maintenances":
						words = maintenanceStates
					default:
						continue
					}
					if !slices.Contains(words, s) && !strings.Contains(at, "incident_updates") {
						t.Errorf("%s.status = %q, not one of %v", at, s, words)
					}
				}
			}
		case []any:
			name := at[strings.LastIndex(at, ".")+1:]
			for i, e := range x {
				p := parent
				if name == "components" || name == "incidents" || name == "scheduled_maintenances" {
					p = name
				}
				walk(fmt.Sprintf("%s[%d]", at, i), p, e)
			}
		}
	}
	ours := renderJSON(t, shapeSnapshot())
	paths := make([]string, 0, len(ours))
	for p := range ours {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		walk(p, "", ours[p])
	}
}

// TestJSONContents checks what each document holds.
func TestJSONContents(t *testing.T) {
	ours := renderJSON(t, shapeSnapshot())
	ids := func(path, key string) []string {
		var out []string
		for _, e := range ours[path].(map[string]any)[key].([]any) {
			out = append(out, e.(map[string]any)["id"].(string))
		}
		return out
	}
	for _, c := range []struct {
		path, key string
		want      []string
	}{
		{"/api/v2/summary.json", "incidents", []string{"100"}},
		{"/api/v2/summary.json", "scheduled_maintenances", []string{"201", "200"}},
		{"/api/v2/incidents.json", "incidents", []string{"100", "90", "80"}},
		{"/api/v2/incidents/unresolved.json", "incidents", []string{"100"}},
		{"/api/v2/scheduled-maintenances.json", "scheduled_maintenances", []string{"200", "201"}},
		{"/api/v2/scheduled-maintenances/upcoming.json", "scheduled_maintenances", []string{"200"}},
		{"/api/v2/scheduled-maintenances/active.json", "scheduled_maintenances", []string{"201"}},
		{"/api/v2/components.json", "components", []string{"1", "2", "3", "4", "6", "7", "8"}},
	} {
		if got := ids(c.path, c.key); !slices.Equal(got, c.want) {
			t.Errorf("%s %s = %v, want %v", c.path, c.key, got, c.want)
		}
	}
	summary := ours["/api/v2/summary.json"].(map[string]any)
	st := summary["status"].(map[string]any)
	if st["indicator"] != "major" || st["description"] != "Partial System Outage" {
		t.Errorf("status = %v", st)
	}
	group := summary["components"].([]any)[0].(map[string]any)
	if group["group"] != true || fmt.Sprint(group["components"]) != "[2 3 4]" || group["status"] != "partial_outage" {
		t.Errorf("group = %v, want group true, members [2 3 4], its worst member's status", group)
	}
	member := summary["components"].([]any)[1].(map[string]any)
	if member["group_id"] != "1" || member["group"] != false {
		t.Errorf("member = %v", member)
	}
	if _, ok := member["components"]; ok {
		t.Errorf("a component that is not a group lists members: %v", member)
	}
	inc := summary["incidents"].([]any)[0].(map[string]any)
	if inc["shortlink"] != "https://status.example.com/incidents/100" || inc["created_at"] != "2018-01-23T14:16:00.000-08:00" {
		t.Errorf("incident = %v", inc)
	}
	upd := inc["incident_updates"].([]any)[0].(map[string]any)
	aff := upd["affected_components"].([]any)[0].(map[string]any)
	if aff["code"] != "3" || aff["old_status"] != "operational" || aff["new_status"] != "degraded_performance" {
		t.Errorf("affected = %v", aff)
	}
	if n := len(inc["components"].([]any)); n != 2 {
		t.Errorf("incident components = %d, want 2", n)
	}
}

// TestJSONListsAtMost50 checks the cap on incidents.json, newest kept.
func TestJSONListsAtMost50(t *testing.T) {
	snap := fixtureSnapshot()
	snap.Incidents = nil
	for i := 1; i <= 60; i++ {
		at := fixtureNow.Add(-time.Duration(i) * time.Hour)
		snap.Incidents = append(snap.Incidents, klaxon.StatusIncident{ID: int64(i), Name: fmt.Sprint("incident ", i),
			Status: klaxon.IncidentResolved, Impact: klaxon.ImpactMinor, CreatedAt: at, UpdatedAt: at})
	}
	got := renderJSON(t, snap)["/api/v2/incidents.json"].(map[string]any)["incidents"].([]any)
	if len(got) != 50 {
		t.Fatalf("%d incidents, want 50", len(got))
	}
	if first, last := got[0].(map[string]any)["id"], got[49].(map[string]any)["id"]; first != "1" || last != "50" {
		t.Errorf("first %v last %v, want the 50 newest (1 … 50)", first, last)
	}
}

// TestWebhookBody checks the webhook's shape: Statuspage's meta, page and
// incident.
func TestWebhookBody(t *testing.T) {
	snap := fixtureSnapshot()
	inc := snap.Incidents[0]
	b, err := WebhookBody(snap.Page, "https://status.example.com", inc, 1002, "https://status.example.com/subscriptions/unsubscribe/x.y")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	meta := v["meta"].(map[string]any)
	if meta["unsubscribe"] != "https://status.example.com/subscriptions/unsubscribe/x.y" || meta["documentation"] == "" || meta["generated_at"] == nil {
		t.Errorf("meta = %v", meta)
	}
	page := v["page"].(map[string]any)
	if page["id"] != pageID || page["status_indicator"] != "major" || page["status_description"] != "Partial System Outage" {
		t.Errorf("page = %v", page)
	}
	documented := readJSON(t, "testdata/shapes/documented/incidents.json")["incidents"].([]any)[0]
	covers(t, "incident", documented, v["incident"])
	got := v["incident"].(map[string]any)
	if got["id"] != "100" || got["shortlink"] != "https://status.example.com/incidents/100" {
		t.Errorf("incident = %v", got)
	}
	comps := got["components"].([]any)
	if len(comps) != 2 || comps[0].(map[string]any)["status"] != "partial_outage" || comps[1].(map[string]any)["status"] != "degraded_performance" {
		t.Errorf("components = %v, want the states the updates recorded", comps)
	}
	if _, err := WebhookBody(snap.Page, "", inc, 999, ""); err == nil {
		t.Error("an update the incident does not hold was accepted")
	}
}
