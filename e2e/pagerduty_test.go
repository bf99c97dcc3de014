package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// pdSend posts a body to a PagerDuty Events v2 path the way PagerDuty client
// libraries do: JSON, no Authorization header (the routing key is in the
// body), and returns the status and the decoded answer.
func pdSend(t *testing.T, base, path string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pdpyras/5.1.0 (e2e)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: %d, answer is not a JSON object: %v: %s", path, resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out, resp.Header
}

// checkPDSuccess asserts PagerDuty's exact success answer.
func checkPDSuccess(t *testing.T, what string, code int, got map[string]any, want map[string]any) {
	t.Helper()
	if code != http.StatusAccepted {
		t.Errorf("%s: status %d, want 202: %v", what, code, got)
	}
	if len(got) != len(want) {
		t.Errorf("%s: answer %v, want exactly %v", what, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: answer %q = %v, want %v (answer %v)", what, k, got[k], v, got)
		}
	}
}

// TestPagerDutyClientByURLOnly: a tool built for PagerDuty works by changing
// only its base URL. The requests below are what PagerDuty client libraries
// (go-pagerduty, pdpyras, pagerduty-client) send to /v2/enqueue and
// /v2/change/enqueue, with every documented field.
func TestPagerDutyClientByURLOnly(t *testing.T) {
	srv := startServer(t, harness.Options{DataDir: t.TempDir()})
	serviceID, key := createService(t, srv, "pagerduty-client")

	const dedup = "srv01/HTTP-5xx"
	trigger := map[string]any{
		"routing_key":  key,
		"event_action": "trigger",
		"dedup_key":    dedup,
		"payload": map[string]any{
			"summary":   "Example alert on host1.example.com",
			"source":    "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
			"severity":  "critical",
			"timestamp": "2015-07-17T08:42:58.315+0000",
			"component": "postgres",
			"group":     "prod-datapipe",
			"class":     "deploy",
			"custom_details": map[string]any{
				"ping time": "1500ms",
				"load avg":  0.75,
			},
		},
		"images": []map[string]any{{
			"src":  "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
			"href": "https://example.com/",
			"alt":  "Example text",
		}},
		"links": []map[string]any{{
			"href": "https://example.com/",
			"text": "Link text",
		}},
		"client":     "Sample Monitoring Service",
		"client_url": "https://monitoring.example.com",
	}
	code, got, hdr := pdSend(t, srv.URL, "/v2/enqueue", trigger)
	checkPDSuccess(t, "trigger", code, got, map[string]any{"status": "success", "message": "Event processed", "dedup_key": dedup})
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("trigger answer Content-Type %q, want application/json", ct)
	}

	id := alertByDedupKey(t, srv, serviceID, dedup)
	var a apiAlert
	getJSON(t, srv, "/api/v1/alerts/"+id, &a)
	if a.Status != "triggered" || a.Summary != "Example alert on host1.example.com" || a.Severity != "critical" ||
		a.Component != "postgres" || a.Group != "prod-datapipe" || a.Class != "deploy" || !strings.HasPrefix(a.Source, "monitoringtool:") {
		t.Errorf("alert after the PagerDuty trigger: %+v", a)
	}
	if len(a.Events) != 1 {
		t.Fatalf("alert %s has %d events after one trigger", id, len(a.Events))
	}
	ev := a.Events[0]
	var details map[string]any
	if err := json.Unmarshal(ev.Details, &details); err != nil || details["ping time"] != "1500ms" || details["load avg"] != 0.75 {
		t.Errorf("custom_details not kept as the event's details: %s (%v)", ev.Details, err)
	}
	if len(ev.Images) != 1 || ev.Images[0].Src != "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png" || ev.Images[0].Alt != "Example text" {
		t.Errorf("images not kept: %+v", ev.Images)
	}
	hrefs := map[string]bool{}
	for _, l := range ev.Links {
		hrefs[l.Href] = true
	}
	if !hrefs["https://example.com/"] || !hrefs["https://monitoring.example.com"] {
		t.Errorf("links (and client_url) not kept: %+v", ev.Links)
	}
	if want := time.Date(2015, 7, 17, 8, 42, 58, 315e6, time.UTC); ev.Timestamp == nil || !ev.Timestamp.Equal(want) {
		t.Errorf("payload.timestamp %q became %v, want %v", "2015-07-17T08:42:58.315+0000", ev.Timestamp, want)
	}

	// Acknowledge and resolve carry only routing_key, dedup_key and
	// event_action, as in PagerDuty's examples.
	for _, step := range []struct{ action, status string }{{"acknowledge", "acknowledged"}, {"resolve", "resolved"}} {
		code, got, _ := pdSend(t, srv.URL, "/v2/enqueue", map[string]any{"routing_key": key, "dedup_key": dedup, "event_action": step.action})
		checkPDSuccess(t, step.action, code, got, map[string]any{"status": "success", "message": "Event processed", "dedup_key": dedup})
		getJSON(t, srv, "/api/v1/alerts/"+id, &a)
		if a.Status != step.status {
			t.Errorf("after a PagerDuty %s, alert %s is %s, want %s", step.action, id, a.Status, step.status)
		}
	}
	if a.EventCount != 3 || len(a.Events) != 3 {
		t.Errorf("alert %s: event_count %d, %d events; want the trigger, acknowledge and resolve on it", id, a.EventCount, len(a.Events))
	}

	// A trigger without dedup_key: PagerDuty makes one up and returns it;
	// resolving with it acts on that alert.
	noKey := map[string]any{"routing_key": key, "event_action": "trigger",
		"payload": map[string]any{"summary": "No dedup key given", "source": "e2e", "severity": "info"}}
	code, got, _ = pdSend(t, srv.URL, "/v2/enqueue", noKey)
	generated, _ := got["dedup_key"].(string)
	if code != http.StatusAccepted || got["status"] != "success" || generated == "" {
		t.Fatalf("trigger without dedup_key: %d %v; want 202 with a generated dedup_key", code, got)
	}
	genID := alertByDedupKey(t, srv, serviceID, generated)
	code, got, _ = pdSend(t, srv.URL, "/v2/enqueue", map[string]any{"routing_key": key, "dedup_key": generated, "event_action": "resolve"})
	checkPDSuccess(t, "resolve with the generated dedup_key", code, got, map[string]any{"status": "success", "message": "Event processed", "dedup_key": generated})
	getJSON(t, srv, "/api/v1/alerts/"+genID, &a)
	if a.Status != "resolved" {
		t.Errorf("alert %s with the generated dedup key is %s after resolve", genID, a.Status)
	}

	// Change events: 202, PagerDuty's answer, no alert.
	before := alertCount(t, srv, serviceID)
	code, got, _ = pdSend(t, srv.URL, "/v2/change/enqueue", map[string]any{
		"routing_key": key,
		"payload": map[string]any{
			"summary":        "Build Success: Increase snapshot create timeout to 30 seconds",
			"timestamp":      "2020-07-17T08:42:58.315+0000",
			"source":         "acme-build-pipeline-tool-default-i-9999",
			"custom_details": map[string]any{"build_state": "passed", "build_number": "2", "run_time": "1236s"},
		},
		"links": []map[string]any{{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}},
	})
	if code != http.StatusAccepted || got["status"] != "success" {
		t.Errorf("change event: %d %v, want 202 success", code, got)
	}
	if after := alertCount(t, srv, serviceID); after != before {
		t.Errorf("a change event changed the service's alerts from %d to %d", before, after)
	}
	var ces struct {
		ChangeEvents []struct{ Summary string } `json:"change_events"`
	}
	getJSON(t, srv, "/api/v1/change-events?service="+serviceID, &ces)
	if len(ces.ChangeEvents) != 1 || !strings.HasPrefix(ces.ChangeEvents[0].Summary, "Build Success") {
		t.Errorf("change events on the service: %+v", ces.ChangeEvents)
	}

	// An unknown routing key is refused, in PagerDuty's body shape.
	code, got, _ = pdSend(t, srv.URL, "/v2/enqueue", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef",
		"event_action": "trigger", "payload": map[string]any{"summary": "x", "source": "e2e", "severity": "info"}})
	if code != http.StatusUnauthorized || got["status"] == "success" || got["message"] == nil {
		t.Errorf("unknown routing key: %d %v, want 401 with status and message", code, got)
	}
}

// alertByDedupKey finds a service's alert (the newest) by dedup key.
func alertByDedupKey(t *testing.T, srv *harness.Server, serviceID, dedup string) string {
	t.Helper()
	var list struct{ Alerts []apiAlert }
	getJSON(t, srv, "/api/v1/alerts?limit=1000&service="+serviceID, &list)
	for _, a := range list.Alerts {
		if a.DedupKey == dedup {
			return a.ID
		}
	}
	t.Fatalf("no alert with dedup key %q on service %s: %+v", dedup, serviceID, list.Alerts)
	return ""
}

func alertCount(t *testing.T, srv *harness.Server, serviceID string) int {
	t.Helper()
	var list struct{ Alerts []apiAlert }
	getJSON(t, srv, "/api/v1/alerts?limit=1000&service="+serviceID, &list)
	return len(list.Alerts)
}
