package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// TestCanaryExercisesTheWholePath runs the real binary with a fast
// self-test: its synthetic events go in over HTTP, escalate, become a
// notification to the canary person (which never leaves the process) and
// are resolved; /readyz reports the canary ok; the objects it made for
// itself are there under their reserved names; and a restart finds them
// again instead of making new ones.
func TestCanaryExercisesTheWholePath(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		canary(t, func() *harness.Server { return startServer(t, harness.Options{DataDir: dir, Args: canaryArgs}) })
	})
	t.Run("postgres", func(t *testing.T) {
		db := storetest.PostgresURL(t)
		canary(t, func() *harness.Server {
			return startServer(t, harness.Options{Args: append([]string{"--db", db}, canaryArgs...)})
		})
	})
}

var canaryArgs = []string{"--canary-interval", "1s", "--canary-timeout", "5s", "--bundle-window", "0"}

func canary(t *testing.T, start func() *harness.Server) {
	ctx := context.Background()
	seen := 0 // resolved canary alerts from earlier runs
	for run := range 2 {
		srv := start()
		var services struct {
			Services []struct{ ID, Name string } `json:"services"`
		}
		resolved := 0
		deadline := time.Now().Add(20 * time.Second)
		for resolved < seen+2 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			if err := srv.Do(ctx, "GET", "/api/v1/services", nil, &services); err != nil {
				t.Fatal(err)
			}
			for _, s := range services.Services {
				if s.Name != "klaxon-canary" {
					continue
				}
				var alerts struct {
					Alerts []struct{ ID string } `json:"alerts"`
				}
				if err := srv.Do(ctx, "GET", "/api/v1/alerts?status=resolved&service="+s.ID, nil, &alerts); err != nil {
					t.Fatal(err)
				}
				resolved = len(alerts.Alerts)
			}
		}
		if resolved < seen+2 {
			t.Fatalf("run %d: after 20 s, %d resolved canary alerts (%d before this run); server output:\n%s", run, resolved, seen, tail(srv.Output(), 4000))
		}
		seen = resolved
		count := 0
		for _, s := range services.Services {
			if s.Name == "klaxon-canary" {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("run %d: %d canary services", run, count)
		}
		var ready struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&ready)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || ready.Checks["canary"] != "ok" {
			t.Fatalf("run %d: readyz %d %+v %v", run, resp.StatusCode, ready, err)
		}
		if err := srv.Stop(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
