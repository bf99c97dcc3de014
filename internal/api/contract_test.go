package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The contract tests pin the shapes that clients outside the project depend
// on. They run through the HTTP API against both stores.

func TestContractSQLite(t *testing.T)   { t.Parallel(); testContract(t, storetest.OpenSQLite) }
func TestContractPostgres(t *testing.T) { t.Parallel(); testContract(t, storetest.OpenPostgres) }

var (
	hexKey = regexp.MustCompile(`^[0-9a-f]{32}$`)
	digits = regexp.MustCompile(`^[1-9][0-9]*$`)
)

func testContract(t *testing.T, open storetest.Opener) {
	e := newEnv(t, open, store.Options{}, api.Config{})
	t.Run("Services", func(t *testing.T) { contractServices(t, e) })
	t.Run("Integrations", func(t *testing.T) { contractIntegrations(t, e) })
	t.Run("NativeEvents", func(t *testing.T) { contractNativeEvents(t, e) })
	t.Run("Batch", func(t *testing.T) { contractBatch(t, e) })
	t.Run("PagerDuty", func(t *testing.T) { contractPagerDuty(t, e) })
	t.Run("PagerDutyChange", func(t *testing.T) { contractPagerDutyChange(t, e) })
	t.Run("Alerts", func(t *testing.T) { contractAlerts(t, e) })
	t.Run("Tokens", func(t *testing.T) { contractTokens(t, e) })
	t.Run("Audit", func(t *testing.T) { contractAudit(t, e) })
	t.Run("Auth", func(t *testing.T) { contractAuth(t, e) })
}

func contractServices(t *testing.T, e *env) {
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/services", map[string]any{"name": "checkout-api", "description": "Checkout"})
	id := str(t, m, "id")
	if !digits.MatchString(id) {
		t.Errorf("service id %q is not a decimal id string", id)
	}
	if m["name"] != "checkout-api" || m["description"] != "Checkout" || m["state"] != "active" {
		t.Errorf("created service: %v", m)
	}
	created := isTime(t, "created_at", m["created_at"])
	isTime(t, "updated_at", m["updated_at"])
	if d := time.Since(created); d < -time.Minute || d > time.Minute {
		t.Errorf("created_at %v is not now", created)
	}

	got := e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+id, nil)
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("GET one = %v, want what POST answered %v", got, m)
	}

	// Names are unique.
	r := e.call(t, "POST", "/api/v1/services", e.owner, map[string]any{"name": "checkout-api"})
	wantError(t, r, http.StatusConflict, "conflict", "name")

	// PATCH: state, name, description, alone and together.
	for _, tc := range []struct {
		name  string
		patch map[string]any
		want  map[string]string
	}{
		{"deprecate", map[string]any{"state": "deprecated"}, map[string]string{"state": "deprecated", "name": "checkout-api", "description": "Checkout"}},
		{"reactivate", map[string]any{"state": "active"}, map[string]string{"state": "active"}},
		{"rename", map[string]any{"name": "checkout"}, map[string]string{"name": "checkout", "state": "active"}},
		{"describe", map[string]any{"description": "Takes money"}, map[string]string{"description": "Takes money", "name": "checkout"}},
		{"all", map[string]any{"name": "checkout-v2", "description": "", "state": "deprecated"}, map[string]string{"name": "checkout-v2", "description": "", "state": "deprecated"}},
		{"nothing", map[string]any{}, map[string]string{"name": "checkout-v2", "state": "deprecated"}},
		{"back", map[string]any{"name": "checkout-api", "description": "Checkout", "state": "active"}, map[string]string{"name": "checkout-api", "description": "Checkout", "state": "active"}},
	} {
		t.Run("PATCH/"+tc.name, func(t *testing.T) {
			p := e.ok(t, http.StatusOK, "PATCH", "/api/v1/services/"+id, tc.patch)
			g := e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+id, nil)
			for k, v := range tc.want {
				if p[k] != v {
					t.Errorf("PATCH answer %s = %v, want %q", k, p[k], v)
				}
				if g[k] != v {
					t.Errorf("GET after PATCH %s = %v, want %q", k, g[k], v)
				}
			}
			if p["id"] != id {
				t.Errorf("PATCH answer id = %v, want %s", p["id"], id)
			}
		})
	}

	// Paging: limit and next_cursor walk the whole list, newest first,
	// without duplicates, and agree with one big page.
	for i := range 6 {
		e.createService(t, fmt.Sprintf("paging-%d", i))
	}
	all := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/services?limit=1000", nil), "services")
	if len(all) < 7 {
		t.Fatalf("list holds %d services, want at least 7", len(all))
	}
	var paged []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatal("paging does not end")
		}
		path := "/api/v1/services?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		pm := e.ok(t, http.StatusOK, "GET", path, nil)
		page := list(t, pm, "services")
		if len(page) > 2 {
			t.Fatalf("limit=2 page holds %d", len(page))
		}
		paged = append(paged, ids(t, page)...)
		next, has := pm["next_cursor"]
		if !has {
			break
		}
		cursor, _ = next.(string)
		if cursor == "" {
			t.Fatalf("next_cursor is %#v, want a non-empty string or absent", next)
		}
	}
	if !slices.Equal(paged, ids(t, all)) {
		t.Errorf("paged ids %v, want %v", paged, ids(t, all))
	}
	if !slices.Contains(paged, id) {
		t.Errorf("list does not hold service %s", id)
	}
	if first := str(t, all[0], "name"); first != "paging-5" {
		t.Errorf("list starts with %q, want the newest (paging-5)", first)
	}
}

func contractIntegrations(t *testing.T, e *env) {
	svc := e.createService(t, "integrations")
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/services/"+svc+"/integrations", map[string]any{"kind": "api"})
	id, key := str(t, m, "id"), str(t, m, "key")
	if m["kind"] != "api" || m["service_id"] != svc {
		t.Errorf("created integration: %v", m)
	}
	if !hexKey.MatchString(key) {
		t.Errorf("key %q is not 32 lowercase hex characters", key)
	}
	if m["key_hint"] != key[28:] {
		t.Errorf("key_hint %v, want %q", m["key_hint"], key[28:])
	}
	if m["name"] != "api" {
		t.Errorf("default name %v, want api", m["name"])
	}
	pm := e.ok(t, http.StatusCreated, "POST", "/api/v1/services/"+svc+"/integrations", map[string]any{"kind": "pagerduty", "name": "Nagios"})
	if pm["kind"] != "pagerduty" || pm["name"] != "Nagios" || !hexKey.MatchString(str(t, pm, "key")) {
		t.Errorf("created pagerduty integration: %v", pm)
	}
	if pm["key"] == key {
		t.Error("two integrations got the same key")
	}

	ls := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+svc+"/integrations", nil), "integrations")
	if got := ids(t, ls); !slices.Equal(got, []string{id, str(t, pm, "id")}) {
		t.Errorf("integrations %v, want oldest first [%s %s]", got, id, pm["id"])
	}
	for _, in := range ls {
		if _, has := in["key"]; has {
			t.Errorf("list shows a key: %v", in)
		}
		hasKeys(t, "listed integration", in, "id", "service_id", "name", "kind", "key_hint", "created_at", "rotated_at")
		if strings.Contains(fmt.Sprint(in), key) {
			t.Errorf("list leaks the key: %v", in)
		}
	}

	if r := e.event(t, key, map[string]any{"action": "trigger", "summary": "before rotation", "severity": "info"}); r.status != http.StatusAccepted {
		t.Fatalf("event with fresh key: %s", r)
	}
	rm := e.ok(t, http.StatusOK, "POST", "/api/v1/services/"+svc+"/integrations/"+id+"/rotate", nil)
	newKey := str(t, rm, "key")
	if newKey == key || !hexKey.MatchString(newKey) || rm["id"] != id {
		t.Errorf("rotate answered %v (old key %s)", rm, key)
	}
	isTime(t, "rotated_at", rm["rotated_at"])
	// The old key stops working at once, on every event endpoint.
	r := e.event(t, key, map[string]any{"action": "trigger", "summary": "after rotation", "severity": "info"})
	wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
	r = e.batch(t, key, []any{map[string]any{"action": "trigger", "summary": "after rotation", "severity": "info"}})
	wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
	r = e.pd(t, "/v2/enqueue", pdTrigger(key, "after-rotation"))
	if r.status != http.StatusUnauthorized {
		t.Errorf("PagerDuty event with rotated key: %s, want 401", r)
	}
	if r := e.event(t, newKey, map[string]any{"action": "trigger", "summary": "new key", "severity": "info"}); r.status != http.StatusAccepted {
		t.Errorf("event with new key: %s", r)
	}
	// The other integration is untouched.
	if r := e.event(t, str(t, pm, "key"), map[string]any{"action": "trigger", "summary": "pd key", "severity": "info"}); r.status != http.StatusAccepted {
		t.Errorf("event with the other integration's key: %s", r)
	}
}

func contractNativeEvents(t *testing.T, e *env) {
	svc, key := e.serviceWithKey(t, "native")

	r := e.event(t, key, map[string]any{"action": "trigger", "summary": "disk full", "severity": "critical", "source": "db1"})
	if r.status != http.StatusAccepted {
		t.Fatalf("trigger: %s", r)
	}
	m := r.obj(t)
	if got := keysOf(m); !slices.Equal(got, []string{"alert_id", "dedup_key", "status"}) {
		t.Errorf("202 body keys %v, want alert_id, dedup_key, status", got)
	}
	if m["status"] != "accepted" {
		t.Errorf("status %v, want accepted", m["status"])
	}
	alertID, dedup := str(t, m, "alert_id"), str(t, m, "dedup_key")
	if !digits.MatchString(alertID) {
		t.Errorf("alert_id %q is not a decimal id string", alertID)
	}
	if !hexKey.MatchString(dedup) {
		t.Errorf("generated dedup_key %q, want 32 hex characters", dedup)
	}

	// The same dedup key folds into the same alert.
	r = e.event(t, key, map[string]any{"action": "trigger", "dedup_key": dedup, "summary": "disk still full", "severity": "critical"})
	if r.status != http.StatusAccepted || r.obj(t)["alert_id"] != alertID || r.obj(t)["dedup_key"] != dedup {
		t.Fatalf("second trigger: %s, want alert %s", r, alertID)
	}
	a := e.alert(t, alertID)
	if num(t, a, "event_count") != 2 || a["status"] != "triggered" || a["summary"] != "disk full" || a["service_id"] != svc {
		t.Errorf("alert after two triggers: %v", a)
	}

	// Another key, another alert.
	other := e.trigger(t, key, "other", "cpu hot")
	if other == alertID {
		t.Error("a different dedup key folded into the same alert")
	}

	// acknowledge and resolve events move the alert.
	r = e.event(t, key, map[string]any{"action": "acknowledge", "dedup_key": dedup})
	if r.status != http.StatusAccepted || r.obj(t)["alert_id"] != alertID {
		t.Fatalf("acknowledge: %s", r)
	}
	a = e.alert(t, alertID)
	if a["status"] != "acknowledged" || a["acknowledged_at"] == nil || a["resolved_at"] != nil {
		t.Errorf("after acknowledge event: %v", a)
	}
	// A trigger on an acknowledged alert leaves it acknowledged.
	if id := e.trigger(t, key, dedup, "again"); id != alertID {
		t.Errorf("trigger on acknowledged alert opened %s, want %s", id, alertID)
	}
	if a = e.alert(t, alertID); a["status"] != "acknowledged" {
		t.Errorf("trigger changed an acknowledged alert to %v", a["status"])
	}
	r = e.event(t, key, map[string]any{"action": "resolve", "dedup_key": dedup})
	if r.status != http.StatusAccepted || r.obj(t)["alert_id"] != alertID {
		t.Fatalf("resolve: %s", r)
	}
	a = e.alert(t, alertID)
	if a["status"] != "resolved" || a["resolved_at"] == nil || num(t, a, "event_count") != 5 {
		t.Errorf("after resolve event: %v", a)
	}

	// Resolve, then trigger: a new alert.
	fresh := e.trigger(t, key, dedup, "disk full again")
	if fresh == alertID {
		t.Errorf("trigger after resolve folded into the resolved alert %s", alertID)
	}
	if a := e.alert(t, fresh); a["status"] != "triggered" || num(t, a, "event_count") != 1 {
		t.Errorf("new alert after resolve: %v", a)
	}

	// acknowledge or resolve with no open alert: accepted, alert_id null.
	for _, action := range []string{"acknowledge", "resolve"} {
		r = e.event(t, key, map[string]any{"action": action, "dedup_key": "never-triggered"})
		if r.status != http.StatusAccepted {
			t.Fatalf("%s with no open alert: %s", action, r)
		}
		m := r.obj(t)
		if v, has := m["alert_id"]; !has || v != nil {
			t.Errorf("%s with no open alert: alert_id = %#v (present %v), want null", action, v, has)
		}
		if m["dedup_key"] != "never-triggered" || m["status"] != "accepted" {
			t.Errorf("%s with no open alert: %v", action, m)
		}
	}

	// ?key= works for tools that cannot set headers.
	r = e.send(t, request{method: "POST", path: "/api/v1/events?key=" + key,
		body: map[string]any{"action": "trigger", "dedup_key": "by-query", "summary": "query key", "severity": "warning"}})
	if r.status != http.StatusAccepted {
		t.Fatalf("?key=: %s", r)
	}
	qa := e.alert(t, str(t, r.obj(t), "alert_id"))
	if qa["service_id"] != svc || qa["severity"] != "warning" || qa["urgency"] != "low" {
		t.Errorf("alert from ?key= event: %v", qa)
	}
	// "bearer" is case-insensitive.
	r = e.send(t, request{method: "POST", path: "/api/v1/events", auth: "bearer " + key,
		body: map[string]any{"action": "trigger", "dedup_key": "lower-bearer", "summary": "x", "severity": "info"}})
	if r.status != http.StatusAccepted {
		t.Errorf("lower-case bearer: %s", r)
	}

	// Every field of a native event is kept.
	r = e.event(t, key, map[string]any{
		"action": "trigger", "dedup_key": "full", "summary": "all fields", "severity": "error",
		"source": "web-1", "component": "nginx", "group": "frontend", "class": "5xx",
		"details":   map[string]any{"rate": 0.5, "hosts": []any{"a", "b"}},
		"links":     []any{map[string]any{"href": "https://runbook.example/5xx", "text": "Runbook"}},
		"images":    []any{map[string]any{"src": "https://graphs.example/5xx.png", "alt": "graph"}},
		"timestamp": "2026-01-02T15:04:05Z",
	})
	if r.status != http.StatusAccepted {
		t.Fatalf("full event: %s", r)
	}
	fa := e.alert(t, str(t, r.obj(t), "alert_id"))
	for k, v := range map[string]any{"source": "web-1", "component": "nginx", "group": "frontend", "class": "5xx", "severity": "error", "urgency": "high", "dedup_key": "full"} {
		if fa[k] != v {
			t.Errorf("alert %s = %v, want %v", k, fa[k], v)
		}
	}
	evs := list(t, fa, "events")
	if len(evs) != 1 {
		t.Fatalf("alert has %d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev["action"] != "trigger" || ev["timestamp"] != "2026-01-02T15:04:05Z" || fmt.Sprint(ev["details"]) != "map[hosts:[a b] rate:0.5]" {
		t.Errorf("stored event: %v", ev)
	}
	if ls := list(t, ev, "links"); len(ls) != 1 || ls[0]["href"] != "https://runbook.example/5xx" || ls[0]["text"] != "Runbook" {
		t.Errorf("stored links: %v", ev["links"])
	}
	if is := list(t, ev, "images"); len(is) != 1 || is[0]["src"] != "https://graphs.example/5xx.png" {
		t.Errorf("stored images: %v", ev["images"])
	}
}

func contractBatch(t *testing.T, e *env) {
	svc, key := e.serviceWithKey(t, "batch")
	q := "service=" + svc

	r := e.batch(t, key, []any{
		map[string]any{"action": "trigger", "dedup_key": "b1", "summary": "one", "severity": "error"},
		map[string]any{"action": "trigger", "dedup_key": "b2", "summary": "two", "severity": "warning"},
		map[string]any{"action": "trigger", "dedup_key": "b1", "summary": "one again", "severity": "error"},
		map[string]any{"action": "trigger", "summary": "no key", "severity": "info"},
	})
	if r.status != http.StatusAccepted {
		t.Fatalf("valid batch: %s", r)
	}
	m := r.obj(t)
	if num(t, m, "accepted") != 4 || num(t, m, "rejected") != 0 {
		t.Errorf("valid batch counts: %v", m)
	}
	res := list(t, m, "results")
	if len(res) != 4 {
		t.Fatalf("results: %d, want 4", len(res))
	}
	for i, x := range res {
		if x["status"] != "accepted" || !digits.MatchString(str(t, x, "alert_id")) || x["error"] != nil {
			t.Errorf("results[%d] = %v", i, x)
		}
	}
	if res[0]["alert_id"] != res[2]["alert_id"] || res[0]["alert_id"] == res[1]["alert_id"] {
		t.Errorf("dedup inside a batch: %v", res)
	}
	if res[0]["dedup_key"] != "b1" || !hexKey.MatchString(str(t, res[3], "dedup_key")) {
		t.Errorf("dedup keys in results: %v", res)
	}
	if n := e.totals(t, q); n != (totals{alerts: 3, events: 4}) {
		t.Errorf("after valid batch: %+v, want 3 alerts with 4 events", n)
	}

	// Mixed: valid events are stored, invalid ones are named by index.
	r = e.batch(t, key, []any{
		map[string]any{"action": "trigger", "dedup_key": "m1", "summary": "ok", "severity": "error"},
		map[string]any{"action": "trigger", "dedup_key": "m2", "summary": "bad", "severity": "bogus"},
		map[string]any{"action": "resolve", "dedup_key": "b2"},
		map[string]any{"action": "explode", "dedup_key": "m3"},
		map[string]any{"action": "trigger", "dedup_key": "m4", "summary": 7, "severity": "error"},
		"not an object",
	})
	if r.status != http.StatusAccepted {
		t.Fatalf("mixed batch: %s", r)
	}
	m = r.obj(t)
	if num(t, m, "accepted") != 2 || num(t, m, "rejected") != 4 {
		t.Errorf("mixed batch counts: %v", m)
	}
	res = list(t, m, "results")
	if len(res) != 6 {
		t.Fatalf("mixed results: %d, want 6", len(res))
	}
	for _, i := range []int{0, 2} {
		if res[i]["status"] != "accepted" || res[i]["alert_id"] == nil {
			t.Errorf("results[%d] = %v, want accepted", i, res[i])
		}
	}
	for i, field := range map[int]string{1: "[1].severity", 3: "[3].action", 4: "[4].summary", 5: "[5]"} {
		x := res[i]
		er, _ := x["error"].(map[string]any)
		if x["status"] != "rejected" || er == nil || er["code"] != "invalid" || er["field"] != field || er["message"] == "" {
			t.Errorf("results[%d] = %v, want rejected naming %s", i, x, field)
		}
		if x["alert_id"] != nil || x["dedup_key"] != nil {
			t.Errorf("rejected results[%d] carries alert_id or dedup_key: %v", i, x)
		}
	}
	if n := e.totals(t, q); n != (totals{alerts: 4, events: 6}) {
		t.Errorf("after mixed batch: %+v, want 4 alerts with 6 events", n)
	}
	if got := e.alerts(t, q+"&status=resolved"); len(got) != 1 || got[0]["dedup_key"] != "b2" {
		t.Errorf("resolve inside a mixed batch: resolved alerts %v", got)
	}

	// All invalid: 400, and nothing stored.
	r = e.batch(t, key, []any{
		map[string]any{"action": "trigger", "summary": "no severity"},
		map[string]any{"action": "acknowledge"},
	})
	if r.status != http.StatusBadRequest {
		t.Fatalf("all-invalid batch: %s, want 400", r)
	}
	m = r.obj(t)
	if num(t, m, "accepted") != 0 || num(t, m, "rejected") != 2 {
		t.Errorf("all-invalid batch counts: %v", m)
	}
	res = list(t, m, "results")
	if len(res) != 2 || res[0]["status"] != "rejected" || res[1]["status"] != "rejected" {
		t.Errorf("all-invalid results: %v", res)
	}
	if er, _ := res[1]["error"].(map[string]any); er["field"] != "[1].dedup_key" {
		t.Errorf("all-invalid results[1] = %v, want field [1].dedup_key", res[1])
	}
	if n := e.totals(t, q); n != (totals{alerts: 4, events: 6}) {
		t.Errorf("after all-invalid batch: %+v, want unchanged 4 alerts with 6 events", n)
	}
}

// pdTrigger is PagerDuty's documented trigger example, with our key.
func pdTrigger(key, dedup string) map[string]any {
	return map[string]any{
		"payload": map[string]any{
			"summary":   "Example alert on host1.example.com",
			"timestamp": "2015-07-17T08:42:58.315+0000",
			"severity":  "info",
			"source":    "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
			"component": "postgres",
			"group":     "prod-datapipe",
			"class":     "deploy",
			"custom_details": map[string]any{
				"ping time": "1500ms",
				"load avg":  0.75,
			},
		},
		"routing_key": key,
		"dedup_key":   dedup,
		"images": []any{map[string]any{
			"src":  "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
			"href": "https://example.com/",
			"alt":  "Example text",
		}},
		"links": []any{map[string]any{
			"href": "https://example.com/",
			"text": "Link text",
		}},
		"event_action": "trigger",
		"client":       "Sample Monitoring Service",
		"client_url":   "https://monitoring.example.com",
	}
}

func wantPDSuccess(t testing.TB, r resp, dedup string) string {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("PagerDuty event: %s, want 202", r)
	}
	m := r.obj(t)
	if m["status"] != "success" || m["message"] != "Event processed" {
		t.Errorf("PagerDuty success body: %v", m)
	}
	got := str(t, m, "dedup_key")
	if dedup != "" && got != dedup {
		t.Errorf("dedup_key %q, want %q", got, dedup)
	}
	if got := keysOf(m); !slices.Equal(got, []string{"dedup_key", "message", "status"}) {
		t.Errorf("PagerDuty success keys %v", got)
	}
	return got
}

func contractPagerDuty(t *testing.T, e *env) {
	svc := e.createService(t, "pagerduty")
	_, key := e.createIntegration(t, svc, "pagerduty")
	q := "service=" + svc

	wantPDSuccess(t, e.pd(t, "/v2/enqueue", pdTrigger(key, "srv01/HTTP")), "srv01/HTTP")
	as := e.alerts(t, q)
	if len(as) != 1 {
		t.Fatalf("alerts after PagerDuty trigger: %v", as)
	}
	a := e.alert(t, str(t, as[0], "id"))
	for k, v := range map[string]any{"dedup_key": "srv01/HTTP", "status": "triggered", "severity": "info", "urgency": "low",
		"summary": "Example alert on host1.example.com", "component": "postgres", "group": "prod-datapipe", "class": "deploy"} {
		if a[k] != v {
			t.Errorf("alert %s = %v, want %v", k, a[k], v)
		}
	}
	evs := list(t, a, "events")
	if len(evs) != 1 {
		t.Fatalf("events: %v", evs)
	}
	ev := evs[0]
	if ev["timestamp"] != "2015-07-17T08:42:58.315Z" {
		t.Errorf("timestamp %v, want 2015-07-17T08:42:58.315Z", ev["timestamp"])
	}
	if d, _ := ev["details"].(map[string]any); d["ping time"] != "1500ms" || d["load avg"] != 0.75 {
		t.Errorf("custom_details → details: %v", ev["details"])
	}
	links := list(t, ev, "links")
	if len(links) == 0 || links[0]["href"] != "https://example.com/" || links[0]["text"] != "Link text" {
		t.Errorf("links: %v", links)
	}
	if is := list(t, ev, "images"); len(is) != 1 || is[0]["alt"] != "Example text" {
		t.Errorf("images: %v", is)
	}

	// A second trigger folds; a trigger without dedup_key gets one.
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", pdTrigger(key, "srv01/HTTP")), "srv01/HTTP")
	nokey := pdTrigger(key, "")
	delete(nokey, "dedup_key")
	gen := wantPDSuccess(t, e.pd(t, "/v2/enqueue", nokey), "")
	if !hexKey.MatchString(gen) {
		t.Errorf("generated dedup_key %q", gen)
	}
	if n := e.totals(t, q); n != (totals{alerts: 2, events: 3}) {
		t.Errorf("after three triggers: %+v", n)
	}

	// acknowledge and resolve, in PagerDuty's minimal shape, act on the
	// alert the trigger opened.
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", map[string]any{"routing_key": key, "dedup_key": "srv01/HTTP", "event_action": "acknowledge"}), "srv01/HTTP")
	if a := e.alert(t, str(t, as[0], "id")); a["status"] != "acknowledged" || a["acknowledged_at"] == nil {
		t.Errorf("after PagerDuty acknowledge: %v", a)
	}
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", map[string]any{"routing_key": key, "dedup_key": "srv01/HTTP", "event_action": "resolve"}), "srv01/HTTP")
	if a := e.alert(t, str(t, as[0], "id")); a["status"] != "resolved" || a["resolved_at"] == nil || num(t, a, "event_count") != 4 {
		t.Errorf("after PagerDuty resolve: %v", a)
	}

	// Invalid: PagerDuty's 400 body; nothing stored.
	before := e.totals(t, q)
	r := e.pd(t, "/v2/enqueue", map[string]any{"routing_key": key, "event_action": "trigger", "payload": map[string]any{"summary": "no source or severity"}})
	errs := wantPDInvalid(t, r)
	if !slices.ContainsFunc(errs, func(s string) bool { return strings.Contains(s, "payload.source") }) ||
		!slices.ContainsFunc(errs, func(s string) bool { return strings.Contains(s, "payload.severity") }) {
		t.Errorf("errors %q should name payload.source and payload.severity", errs)
	}
	if after := e.totals(t, q); after != before {
		t.Errorf("invalid PagerDuty event changed the store: %+v → %+v", before, after)
	}

	// The api kind speaks PagerDuty too.
	_, apiKey := e.createIntegration(t, svc, "api")
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", pdTrigger(apiKey, "via-api-kind")), "via-api-kind")
}

func contractPagerDutyChange(t *testing.T, e *env) {
	svc, key := e.serviceWithKey(t, "deploys")
	before := e.totals(t, "")
	body := map[string]any{
		"routing_key": key,
		"payload": map[string]any{
			"summary":   "Build Success: Increase snapshot create timeout to 30 seconds",
			"timestamp": "2020-07-17T08:42:58.315+0000",
			"source":    "acme-build-pipeline-tool-default-i-9999",
			"custom_details": map[string]any{
				"build_state":  "passed",
				"build_number": "2",
				"run_time":     "1236s",
			},
		},
		"links": []any{map[string]any{"href": "https://acme-pipeline.com/builds/2", "text": "View more details in Acme!"}},
	}
	r := e.pd(t, "/v2/change/enqueue", body)
	if r.status != http.StatusAccepted {
		t.Fatalf("change event: %s", r)
	}
	if m := r.obj(t); m["status"] != "success" || m["message"] == "" {
		t.Errorf("change event answer: %v", m)
	}
	if after := e.totals(t, ""); after != before {
		t.Errorf("a change event touched alerts: %+v → %+v", before, after)
	}
	for _, path := range []string{"/api/v1/change-events", "/api/v1/change-events?service=" + svc} {
		ces := list(t, e.ok(t, http.StatusOK, "GET", path, nil), "change_events")
		if len(ces) != 1 {
			t.Fatalf("%s: %v, want the one change event", path, ces)
		}
		ce := ces[0]
		if ce["service_id"] != svc || ce["summary"] != body["payload"].(map[string]any)["summary"] ||
			ce["source"] != "acme-build-pipeline-tool-default-i-9999" || ce["timestamp"] != "2020-07-17T08:42:58.315Z" {
			t.Errorf("%s: %v", path, ce)
		}
		hasKeys(t, "change event", ce, "id", "received_at", "details", "links")
		if d, _ := ce["details"].(map[string]any); d["build_number"] != "2" {
			t.Errorf("change details: %v", ce["details"])
		}
	}
	other := e.createService(t, "no-deploys")
	if ces := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/change-events?service="+other, nil), "change_events"); len(ces) != 0 {
		t.Errorf("change events of another service: %v", ces)
	}
	wantPDInvalid(t, e.pd(t, "/v2/change/enqueue", map[string]any{"routing_key": key, "payload": map[string]any{"source": "x"}}))
}

func contractAlerts(t *testing.T, e *env) {
	start := time.Now().Add(-time.Second).UTC()
	svc, key := e.serviceWithKey(t, "alerts")
	otherSvc, otherKey := e.serviceWithKey(t, "alerts-other")
	q := "service=" + svc
	a1 := e.trigger(t, key, "a1", "first")
	a2 := e.trigger(t, key, "a2", "second")
	a3 := e.trigger(t, key, "a3", "third")
	o1 := e.trigger(t, otherKey, "o1", "elsewhere")

	got := ids(t, e.alerts(t, q))
	if !slices.Equal(got, []string{a3, a2, a1}) {
		t.Errorf("alerts of service: %v, want newest first %v", got, []string{a3, a2, a1})
	}
	if got := ids(t, e.alerts(t, "service="+otherSvc)); !slices.Equal(got, []string{o1}) {
		t.Errorf("alerts of the other service: %v", got)
	}

	a := e.alert(t, a1)
	hasKeys(t, "alert", a, "id", "service_id", "dedup_key", "status", "severity", "urgency", "summary", "event_count",
		"created_at", "acknowledged_at", "resolved_at", "last_event_at", "events")
	if a["id"] != a1 || a["service_id"] != svc || a["dedup_key"] != "a1" || a["status"] != "triggered" ||
		a["severity"] != "error" || a["urgency"] != "high" || a["summary"] != "first" || num(t, a, "event_count") != 1 ||
		a["acknowledged_at"] != nil || a["resolved_at"] != nil {
		t.Errorf("alert: %v", a)
	}
	isTime(t, "created_at", a["created_at"])
	isTime(t, "last_event_at", a["last_event_at"])
	if evs := list(t, a, "events"); len(evs) != 1 || evs[0]["action"] != "trigger" || evs[0]["dedup_key"] != "a1" {
		t.Errorf("alert events: %v", evs)
	}

	// Acknowledge, resolve, notes.
	ack := e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+a1+"/acknowledge", nil)
	if ack["status"] != "acknowledged" || ack["acknowledged_at"] == nil || ack["id"] != a1 {
		t.Errorf("acknowledge answer: %v", ack)
	}
	again := e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+a1+"/acknowledge", nil)
	if again["status"] != "acknowledged" || again["acknowledged_at"] != ack["acknowledged_at"] {
		t.Errorf("acknowledging twice: %v, then %v", ack, again)
	}
	note := e.ok(t, http.StatusCreated, "POST", "/api/v1/alerts/"+a1+"/notes", map[string]any{"body": "Looking into it"})
	if note["kind"] != "note" || note["message"] != "Looking into it" || !strings.Contains(fmt.Sprint(note["actor"]), "bootstrap") {
		t.Errorf("note answer: %v", note)
	}
	res := e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+a1+"/resolve", nil)
	if res["status"] != "resolved" || res["resolved_at"] == nil {
		t.Errorf("resolve answer: %v", res)
	}
	e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+a1+"/resolve", nil) // resolving twice is harmless
	r := e.call(t, "POST", "/api/v1/alerts/"+a1+"/acknowledge", e.owner, nil)
	wantError(t, r, http.StatusConflict, "conflict", "")
	// Notes on a resolved alert are still welcome.
	e.ok(t, http.StatusCreated, "POST", "/api/v1/alerts/"+a1+"/notes", map[string]any{"body": "Post-mortem to follow"})
	// Resolving a triggered alert directly.
	if m := e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+a2+"/resolve", nil); m["status"] != "resolved" || m["acknowledged_at"] != nil {
		t.Errorf("resolve from triggered: %v", m)
	}

	d := e.alert(t, a1)
	if d["status"] != "resolved" || d["acknowledged_at"] == nil || d["resolved_at"] == nil {
		t.Errorf("alert after acknowledge and resolve: %v", d)
	}
	notes := list(t, d, "notes")
	if len(notes) != 2 || notes[0]["message"] != "Looking into it" || notes[1]["message"] != "Post-mortem to follow" {
		t.Errorf("notes: %v", notes)
	}
	var kinds []string
	for _, l := range list(t, d, "log") {
		kinds = append(kinds, fmt.Sprint(l["kind"]))
	}
	if !slices.Equal(kinds, []string{"acknowledged", "note", "resolved", "note"}) {
		t.Errorf("log kinds %v", kinds)
	}

	// Filters.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{q + "&status=triggered", []string{a3}},
		{q + "&status=resolved", []string{a2, a1}},
		{q + "&status=acknowledged", nil},
		{q + "&since=" + start.Format(time.RFC3339Nano), []string{a3, a2, a1}},
		{q + "&since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil},
		{"service=" + otherSvc + "&status=triggered", []string{o1}},
		{"service=999999", nil},
	} {
		if got := ids(t, e.alerts(t, tc.query)); !slices.Equal(got, tc.want) {
			t.Errorf("alerts?%s = %v, want %v", tc.query, got, tc.want)
		}
	}

	// Paging through alerts with limit and cursor.
	var paged []string
	cursor := ""
	for range 10 {
		path := "/api/v1/alerts?" + q + "&limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		m := e.ok(t, http.StatusOK, "GET", path, nil)
		paged = append(paged, ids(t, list(t, m, "alerts"))...)
		cursor, _ = m["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, []string{a3, a2, a1}) {
		t.Errorf("paged alerts %v", paged)
	}
}

func contractTokens(t *testing.T, e *env) {
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "ci", "role": "responder"})
	id, secret := str(t, m, "id"), str(t, m, "token")
	if !strings.HasPrefix(secret, "klx_") || m["name"] != "ci" || m["role"] != "responder" || m["hint"] != secret[len(secret)-4:] {
		t.Errorf("created token: %v", m)
	}
	isTime(t, "created_at", m["created_at"])

	lr := e.call(t, "GET", "/api/v1/tokens", e.owner, nil)
	if lr.status != http.StatusOK {
		t.Fatalf("list tokens: %s", lr)
	}
	if strings.Contains(string(lr.body), secret) || strings.Contains(string(lr.body), e.owner) {
		t.Errorf("token list shows a secret: %s", lr)
	}
	toks := list(t, lr.obj(t), "tokens")
	var names []string
	for _, tk := range toks {
		if _, has := tk["token"]; has {
			t.Errorf("listed token has a \"token\" field: %v", tk)
		}
		for _, k := range []string{"hash", "key", "secret"} {
			if _, has := tk[k]; has {
				t.Errorf("listed token has %q: %v", k, tk)
			}
		}
		names = append(names, fmt.Sprint(tk["name"]))
	}
	if !slices.Contains(names, "bootstrap") || !slices.Contains(names, "ci") {
		t.Errorf("token names %v", names)
	}

	// The new token works with its role, and stops working when revoked.
	if r := e.call(t, "GET", "/api/v1/services", secret, nil); r.status != http.StatusOK {
		t.Errorf("new token: %s", r)
	}
	rv := e.ok(t, http.StatusOK, "POST", "/api/v1/tokens/"+id+"/revoke", nil)
	if rv["status"] != "revoked" {
		t.Errorf("revoke answer: %v", rv)
	}
	wantError(t, e.call(t, "GET", "/api/v1/services", secret, nil), http.StatusUnauthorized, "unauthorized", "")
	e.ok(t, http.StatusOK, "POST", "/api/v1/tokens/"+id+"/revoke", nil) // twice is harmless
	for _, tk := range list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/tokens", nil), "tokens") {
		if tk["id"] == id {
			isTime(t, "revoked_at", tk["revoked_at"])
		} else if tk["revoked_at"] != nil {
			t.Errorf("token %v is revoked", tk)
		}
	}
}

func contractAudit(t *testing.T, e *env) {
	// Mutations by two tokens; the audit log must name each with its actor.
	ownerID := ""
	for _, tk := range list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/tokens", nil), "tokens") {
		if tk["name"] == "bootstrap" {
			ownerID = str(t, tk, "id")
		}
	}
	if ownerID == "" {
		t.Fatal("no bootstrap token in the list")
	}
	botID, bot := e.createToken(t, "pager-bot", "responder")
	svc := e.createService(t, "audited")
	intID, _ := e.createIntegration(t, svc, "api")
	e.ok(t, http.StatusOK, "PATCH", "/api/v1/services/"+svc, map[string]any{"description": "audited service"})
	key := str(t, e.ok(t, http.StatusOK, "POST", "/api/v1/services/"+svc+"/integrations/"+intID+"/rotate", nil), "key")
	alertID := e.trigger(t, key, "audit-1", "audited alert")
	for _, path := range []string{"/acknowledge", "/notes"} {
		var body any
		if path == "/notes" {
			body = map[string]any{"body": "bot was here"}
		}
		if r := e.call(t, "POST", "/api/v1/alerts/"+alertID+path, bot, body); r.status/100 != 2 {
			t.Fatalf("responder %s: %s", path, r)
		}
	}
	e.ok(t, http.StatusOK, "POST", "/api/v1/alerts/"+alertID+"/resolve", nil)
	e.ok(t, http.StatusOK, "POST", "/api/v1/tokens/"+botID+"/revoke", nil)

	m := e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil)
	entries := list(t, m, "entries")
	type want struct{ action, objectType, objectID, actorName, actorID string }
	for _, w := range []want{
		{"token.create", "token", botID, "bootstrap", ownerID},
		{"service.create", "service", svc, "bootstrap", ownerID},
		{"integration.create", "integration", intID, "bootstrap", ownerID},
		{"service.update", "service", svc, "bootstrap", ownerID},
		{"integration.rotate", "integration", intID, "bootstrap", ownerID},
		{"alert.acknowledge", "alert", alertID, "pager-bot", botID},
		{"alert.note", "alert", alertID, "pager-bot", botID},
		{"alert.resolve", "alert", alertID, "bootstrap", ownerID},
		{"token.revoke", "token", botID, "bootstrap", ownerID},
	} {
		found := false
		for _, en := range entries {
			if en["action"] != w.action || en["object_type"] != w.objectType || en["object_id"] != w.objectID {
				continue
			}
			found = true
			actor := fmt.Sprint(en["actor"])
			if !strings.Contains(actor, w.actorName) || !strings.Contains(actor, w.actorID) {
				t.Errorf("%s: actor %q, want one naming token %s (%s)", w.action, actor, w.actorID, w.actorName)
			}
			isTime(t, w.action+" at", en["at"])
			str(t, en, "id")
		}
		if !found {
			t.Errorf("no audit entry %s %s %s in %v", w.action, w.objectType, w.objectID, entries)
		}
	}
	// The log is newest first: the revocation came last.
	if len(entries) > 0 && entries[0]["action"] != "token.revoke" {
		t.Errorf("newest audit entry is %v, want token.revoke", entries[0])
	}
	// Paging.
	var paged []string
	cursor := ""
	for range len(entries) + 1 {
		path := "/api/v1/audit?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		pm := e.ok(t, http.StatusOK, "GET", path, nil)
		paged = append(paged, ids(t, list(t, pm, "entries"))...)
		if cursor, _ = pm["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, ids(t, entries)) {
		t.Errorf("paged audit %v, want %v", paged, ids(t, entries))
	}
	// Reads are not audited.
	n := len(entries)
	e.ok(t, http.StatusOK, "GET", "/api/v1/services", nil)
	e.ok(t, http.StatusOK, "GET", "/api/v1/alerts/"+alertID, nil)
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries")); got != n {
		t.Errorf("reads added audit entries: %d → %d", n, got)
	}
}

// contractAuth checks who may do what, with tokens of every role.
func contractAuth(t *testing.T, e *env) {
	_, viewer := e.createToken(t, "viewer", "viewer")
	_, responder := e.createToken(t, "responder", "responder")
	_, admin := e.createToken(t, "admin", "admin")
	svc, key := e.serviceWithKey(t, "auth")
	intID, _ := e.createIntegration(t, svc, "pagerduty") // rotated below; key stays valid
	alertID := e.trigger(t, key, "auth-1", "auth alert")
	newAlert := func(t *testing.T) string {
		return e.trigger(t, key, fmt.Sprint("auth-", time.Now().UnixNano()), "auth")
	}
	tokID, _ := e.createToken(t, "victim", "viewer")

	type row struct {
		name, method, path string
		body               any
		want               map[string]int // by token name; 403 unless listed
	}
	all := map[string]int{"viewer": 200, "responder": 200, "admin": 200, "owner": 200}
	responders := map[string]int{"responder": 200, "admin": 200, "owner": 200}
	admins := func(status int) map[string]int { return map[string]int{"admin": status, "owner": status} }
	rows := []row{
		{"list services", "GET", "/api/v1/services", nil, all},
		{"get service", "GET", "/api/v1/services/" + svc, nil, all},
		{"list integrations", "GET", "/api/v1/services/" + svc + "/integrations", nil, all},
		{"list alerts", "GET", "/api/v1/alerts", nil, all},
		{"get alert", "GET", "/api/v1/alerts/" + alertID, nil, all},
		{"list change events", "GET", "/api/v1/change-events", nil, all},
		{"create service", "POST", "/api/v1/services", "NAME", admins(201)},
		{"patch service", "PATCH", "/api/v1/services/" + svc, map[string]any{"description": "x"}, admins(200)},
		{"create integration", "POST", "/api/v1/services/" + svc + "/integrations", map[string]any{"kind": "api"}, admins(201)},
		{"rotate integration", "POST", "/api/v1/services/" + svc + "/integrations/" + intID + "/rotate", nil, admins(200)},
		{"acknowledge", "POST", "/api/v1/alerts/ALERT/acknowledge", nil, responders},
		{"resolve", "POST", "/api/v1/alerts/ALERT/resolve", nil, responders},
		{"note", "POST", "/api/v1/alerts/" + alertID + "/notes", map[string]any{"body": "hi"}, map[string]int{"responder": 201, "admin": 201, "owner": 201}},
		{"list tokens", "GET", "/api/v1/tokens", nil, admins(200)},
		{"create viewer token", "POST", "/api/v1/tokens", map[string]any{"name": "t", "role": "viewer"}, admins(201)},
		{"create responder token", "POST", "/api/v1/tokens", map[string]any{"name": "t", "role": "responder"}, admins(201)},
		{"create admin token", "POST", "/api/v1/tokens", map[string]any{"name": "t", "role": "admin"}, admins(201)},
		{"create owner token", "POST", "/api/v1/tokens", map[string]any{"name": "t", "role": "owner"}, map[string]int{"owner": 201}},
		{"revoke token", "POST", "/api/v1/tokens/" + fmt.Sprint(tokID) + "/revoke", nil, admins(200)},
		{"audit", "GET", "/api/v1/audit", nil, admins(200)},
	}
	tokens := []struct{ name, secret string }{{"viewer", viewer}, {"responder", responder}, {"admin", admin}, {"owner", e.owner}}
	n := 0
	for _, rw := range rows {
		for _, tk := range tokens {
			t.Run(rw.name+"/"+tk.name, func(t *testing.T) {
				n++
				path := rw.path
				if strings.Contains(path, "ALERT") {
					path = strings.Replace(path, "ALERT", newAlert(t), 1)
				}
				body := rw.body
				if body == "NAME" {
					body = map[string]any{"name": fmt.Sprintf("auth-svc-%d", n)}
				}
				r := e.call(t, rw.method, path, tk.secret, body)
				want, ok := rw.want[tk.name]
				if !ok {
					wantError(t, r, http.StatusForbidden, "forbidden", "")
					return
				}
				if r.status != want {
					t.Errorf("got %s, want %d", r, want)
				}
			})
		}
	}
}
