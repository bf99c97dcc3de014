package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// demoServiceNames are the demo services DESIGN §10 names (cmd/klaxon/demo.go
// creates them): the parts of a real notification service.
var demoServiceNames = []string{
	"Web Interface", "Mobile Interface", "Email Notifications", "SMS Notifications", "Voice Notifications",
	"Mobile Push Notifications", "Conferencing", "Integration Platform", "REST API", "Email Initiation",
}

// TestDemo: serve --demo prints one integration key per demo service, each of
// which works as a PagerDuty routing key; a later start with --demo rotates
// them: new keys printed and working, the old ones refused with 401.
func TestDemo(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, harness.Options{DataDir: dataDir, Args: []string{"--demo"}})
	first := demoKeys(t, srv.Output())
	for name, key := range first {
		if code, body := pdTrigger(t, srv.URL, key, "demo-"+name); code != http.StatusAccepted {
			t.Errorf("demo key for %q on /v2/enqueue: %d %s", name, code, body)
		}
	}
	var services struct {
		Services []struct{ Name string } `json:"services"`
	}
	getJSON(t, srv, "/api/v1/services", &services)
	if len(services.Services) != len(demoServiceNames) {
		t.Errorf("the demo has %d services, want %d: %+v", len(services.Services), len(demoServiceNames), services.Services)
	}
	if err := srv.Stop(20 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}

	srv = startServer(t, harness.Options{DataDir: dataDir, Args: []string{"--demo"}})
	second := demoKeys(t, srv.Output())
	for name, key := range second {
		if key == first[name] {
			t.Errorf("the second --demo start printed the same key for %q", name)
		}
		if code, body := pdTrigger(t, srv.URL, key, "demo2-"+name); code != http.StatusAccepted {
			t.Errorf("new demo key for %q on /v2/enqueue: %d %s", name, code, body)
		}
		if code, body := pdTrigger(t, srv.URL, first[name], "demo-old-"+name); code != http.StatusUnauthorized {
			t.Errorf("old demo key for %q after rotation on /v2/enqueue: %d %s, want 401", name, code, body)
		}
	}
	getJSON(t, srv, "/api/v1/services", &services)
	if len(services.Services) != len(demoServiceNames) {
		t.Errorf("after a second --demo start there are %d services, want %d", len(services.Services), len(demoServiceNames))
	}
}

// demoKeys reads the "Integration keys" block that serve --demo prints: one
// line per service, "  <name>  <key>". It is printed before the listening
// line, so the output the harness has so far holds it all.
func demoKeys(t *testing.T, out string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Demo organisation loaded") {
			start = i + 1
		}
	}
	if start < 0 {
		t.Fatalf("serve --demo did not print \"Demo organisation loaded\":\n%s", out)
	}
	for _, l := range lines[start:] {
		if strings.HasPrefix(l, "{") {
			// A log line (stderr) read in between: the harness reads
			// stdout and stderr through different paths.
			continue
		}
		if !strings.HasPrefix(l, "  ") {
			break
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		keys[strings.Join(f[:len(f)-1], " ")] = f[len(f)-1]
	}
	for _, name := range demoServiceNames {
		if keys[name] == "" {
			t.Errorf("serve --demo printed no key for %q", name)
		}
	}
	if len(keys) != len(demoServiceNames) {
		t.Errorf("serve --demo printed %d keys, want %d: %v", len(keys), len(demoServiceNames), keys)
	}
	seen := map[string]string{}
	for name, k := range keys {
		if other, dup := seen[k]; dup {
			t.Errorf("%q and %q got the same key", name, other)
		}
		seen[k] = name
	}
	if t.Failed() {
		t.FailNow()
	}
	return keys
}

// pdTrigger sends a minimal PagerDuty Events v2 trigger.
func pdTrigger(t *testing.T, url, routingKey, dedupKey string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, raw, err := post(ctx, http.DefaultClient, url+"/v2/enqueue", "", map[string]any{
		"routing_key": routingKey, "event_action": "trigger", "dedup_key": dedupKey,
		"payload": map[string]any{"summary": "demo check " + dedupKey, "source": "e2e", "severity": "warning"},
	})
	if err != nil {
		t.Fatalf("POST /v2/enqueue: %v", err)
	}
	var a map[string]any
	if code == http.StatusAccepted && (json.Unmarshal(raw, &a) != nil || a["status"] != "success") {
		return 0, fmt.Sprintf("202 with body %s", raw)
	}
	return code, string(raw)
}
