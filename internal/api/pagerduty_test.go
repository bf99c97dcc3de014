package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// pdBody renders a PagerDuty body with key put in for ROUTING_KEY.
func pdBody(key, body string) string { return strings.ReplaceAll(body, "ROUTING_KEY", key) }

// TestPagerDutyBadInput sends invalid bodies to /v2/enqueue and
// /v2/change/enqueue: each is 400 in PagerDuty's shape, with a problem that
// names the field, and nothing is stored.
func TestPagerDutyBadInput(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	_, key := e.serviceWithKey(t, "pd-bad")
	e.pd(t, "/v2/enqueue", pdTrigger(key, "keep"))
	before := e.totals(t, "")
	changesBefore := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/change-events", nil), "change_events"))

	trigger := `{"routing_key":"ROUTING_KEY","event_action":"trigger","payload":{"summary":"s","source":"src","severity":"info"}}`
	for _, tc := range []struct {
		name, path, body string
		mention          string // some problem must contain this
	}{
		{"empty", "/v2/enqueue", ``, "JSON"},
		{"not JSON", "/v2/enqueue", `routing_key=x`, "JSON parse error"},
		{"truncated", "/v2/enqueue", trigger[:40], "JSON parse error"},
		{"array", "/v2/enqueue", `[` + trigger + `]`, "unrecognized"},
		{"string", "/v2/enqueue", `"trigger"`, "unrecognized"},
		{"null", "/v2/enqueue", `null`, "unrecognized"},
		{"trailing garbage", "/v2/enqueue", trigger + `x`, "JSON"},
		{"routing_key missing", "/v2/enqueue", `{"event_action":"trigger","payload":{"summary":"s","source":"src","severity":"info"}}`, "routing_key"},
		{"routing_key short", "/v2/enqueue", strings.Replace(trigger, "ROUTING_KEY", "abc", 1), "routing_key"},
		{"routing_key number", "/v2/enqueue", `{"routing_key":12,"event_action":"trigger","payload":{"summary":"s","source":"src","severity":"info"}}`, "routing_key"},
		{"event_action missing", "/v2/enqueue", `{"routing_key":"ROUTING_KEY","payload":{"summary":"s","source":"src","severity":"info"}}`, "event_action"},
		{"event_action bogus", "/v2/enqueue", strings.Replace(trigger, `"trigger"`, `"explode"`, 1), "event_action"},
		{"event_action number", "/v2/enqueue", strings.Replace(trigger, `"trigger"`, `1`, 1), "event_action"},
		{"payload missing", "/v2/enqueue", `{"routing_key":"ROUTING_KEY","event_action":"trigger"}`, "payload.summary"},
		{"payload string", "/v2/enqueue", `{"routing_key":"ROUTING_KEY","event_action":"trigger","payload":"s"}`, "payload"},
		{"summary missing", "/v2/enqueue", strings.Replace(trigger, `"summary":"s",`, ``, 1), "payload.summary"},
		{"summary number", "/v2/enqueue", strings.Replace(trigger, `"summary":"s"`, `"summary":1`, 1), "payload.summary"},
		{"summary too long", "/v2/enqueue", strings.Replace(trigger, `"summary":"s"`, `"summary":"`+strings.Repeat("s", 1025)+`"`, 1), "payload.summary"},
		{"source missing", "/v2/enqueue", strings.Replace(trigger, `"source":"src",`, ``, 1), "payload.source"},
		{"severity missing", "/v2/enqueue", strings.Replace(trigger, `,"severity":"info"`, ``, 1), "payload.severity"},
		{"severity bogus", "/v2/enqueue", strings.Replace(trigger, `"info"`, `"high"`, 1), "payload.severity"},
		{"severity number", "/v2/enqueue", strings.Replace(trigger, `"info"`, `3`, 1), "payload.severity"},
		{"dedup_key too long", "/v2/enqueue", strings.Replace(trigger, `"event_action"`, `"dedup_key":"`+strings.Repeat("k", 256)+`","event_action"`, 1), "dedup_key"},
		{"dedup_key number", "/v2/enqueue", strings.Replace(trigger, `"event_action"`, `"dedup_key":5,"event_action"`, 1), "dedup_key"},
		{"acknowledge without dedup_key", "/v2/enqueue", `{"routing_key":"ROUTING_KEY","event_action":"acknowledge"}`, "dedup_key"},
		{"resolve with blank dedup_key", "/v2/enqueue", `{"routing_key":"ROUTING_KEY","event_action":"resolve","dedup_key":"  "}`, "dedup_key"},
		{"links object", "/v2/enqueue", strings.Replace(trigger, `"event_action"`, `"links":{"href":"h"},"event_action"`, 1), "links"},
		{"images src number", "/v2/enqueue", strings.Replace(trigger, `"event_action"`, `"images":[{"src":1}],"event_action"`, 1), "images[0].src"},
		{"NUL in summary", "/v2/enqueue", strings.Replace(trigger, `"summary":"s"`, `"summary":"a\u0000b"`, 1), "payload.summary"},
		{"change: empty", "/v2/change/enqueue", ``, "JSON"},
		{"change: not JSON", "/v2/change/enqueue", `{`, "JSON parse error"},
		{"change: array", "/v2/change/enqueue", `[]`, "unrecognized"},
		{"change: routing_key missing", "/v2/change/enqueue", `{"payload":{"summary":"deploy"}}`, "routing_key"},
		{"change: routing_key short", "/v2/change/enqueue", `{"routing_key":"abc","payload":{"summary":"deploy"}}`, "routing_key"},
		{"change: summary missing", "/v2/change/enqueue", `{"routing_key":"ROUTING_KEY","payload":{"source":"ci"}}`, "payload.summary"},
		{"change: summary number", "/v2/change/enqueue", `{"routing_key":"ROUTING_KEY","payload":{"summary":5}}`, "payload.summary"},
		{"change: payload missing", "/v2/change/enqueue", `{"routing_key":"ROUTING_KEY"}`, "payload.summary"},
		{"change: links string", "/v2/change/enqueue", `{"routing_key":"ROUTING_KEY","payload":{"summary":"d"},"links":"x"}`, "links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send(t, request{method: "POST", path: tc.path, body: pdBody(key, tc.body)})
			errs := wantPDInvalid(t, r)
			if !slices.ContainsFunc(errs, func(s string) bool { return strings.Contains(s, tc.mention) }) {
				t.Errorf("no problem mentions %q: %q", tc.mention, errs)
			}
			if after := e.totals(t, ""); after != before {
				t.Errorf("alerts changed: %+v → %+v", before, after)
			}
		})
	}
	if got := len(list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/change-events", nil), "change_events")); got != changesBefore {
		t.Errorf("change events: %d → %d", changesBefore, got)
	}
}

// TestPagerDutyKeysAndLimits covers unknown routing keys, oversized bodies
// and PagerDuty's leniency (unknown fields ignored).
func TestPagerDutyKeysAndLimits(t *testing.T) {
	t.Parallel()
	e := sqliteEnv(t)
	svc, key := e.serviceWithKey(t, "pd-keys")
	intID := str(t, list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+svc+"/integrations", nil), "integrations")[0], "id")
	rotated := key
	key = str(t, e.ok(t, http.StatusOK, "POST", "/api/v1/services/"+svc+"/integrations/"+intID+"/rotate", nil), "key")
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", pdTrigger(key, "keep")), "keep")
	before := e.totals(t, "")

	for _, tc := range []struct{ name, path, key string }{
		{"unknown key", "/v2/enqueue", "0123456789abcdef0123456789abcdef"},
		{"rotated key", "/v2/enqueue", rotated},
		{"change: unknown key", "/v2/change/enqueue", "0123456789abcdef0123456789abcdef"},
		{"change: rotated key", "/v2/change/enqueue", rotated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := pdTrigger(tc.key, "nope")
			if strings.Contains(tc.path, "change") {
				body = map[string]any{"routing_key": tc.key, "payload": map[string]any{"summary": "deploy"}}
			}
			r := e.pd(t, tc.path, body)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("got %s, want 401", r)
			}
			m := r.obj(t)
			if m["status"] != "invalid event" || m["message"] != "Event object is invalid" || len(m["errors"].([]any)) == 0 {
				t.Errorf("401 body is not PagerDuty-shaped: %v", m)
			}
		})
	}
	// The routing key in the body is what counts, not a bearer header.
	r := e.send(t, request{method: "POST", path: "/v2/enqueue", auth: "Bearer " + key, body: pdTrigger("0123456789abcdef0123456789abcdef", "x")})
	if r.status != http.StatusUnauthorized {
		t.Errorf("bearer key with a wrong routing_key: %s, want 401", r)
	}

	big := pdTrigger(key, "big")
	big["payload"].(map[string]any)["custom_details"] = map[string]any{"blob": strings.Repeat("x", 600<<10)}
	for _, path := range []string{"/v2/enqueue", "/v2/change/enqueue"} {
		r := e.pd(t, path, big)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s oversized: %s, want 413", path, r)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil || m["status"] == nil || m["message"] == nil || m["errors"] == nil {
			t.Errorf("%s 413 body is not PagerDuty-shaped: %s", path, r)
		}
	}
	if after := e.totals(t, ""); after != before {
		t.Errorf("alerts changed: %+v → %+v", before, after)
	}

	// PagerDuty ignores fields it does not know; so does Klaxon on /v2.
	lenient := pdTrigger(key, "lenient")
	lenient["payload"].(map[string]any)["mystery"] = 1
	lenient["extra"] = map[string]any{"a": 1}
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", lenient), "lenient")
	// Acknowledge and resolve may carry a payload, even a sloppy one.
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", map[string]any{"routing_key": key, "event_action": "resolve", "dedup_key": "lenient",
		"payload": map[string]any{"summary": strings.Repeat("s", 2000), "severity": "bogus"}}), "lenient")
	as := e.alerts(t, "status=resolved")
	if len(as) != 1 || as[0]["dedup_key"] != "lenient" {
		t.Errorf("resolved alerts: %v", as)
	}
	// An acknowledge for a dedup key with no open alert is still a success.
	wantPDSuccess(t, e.pd(t, "/v2/enqueue", map[string]any{"routing_key": key, "event_action": "acknowledge", "dedup_key": "never"}), "never")
}
