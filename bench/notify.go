package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// The notify benchmark (DESIGN.md §11): from an event accepted (its 202
// read by the sender) to the first notification handed to its channel (the
// webhook request arriving at a receiver in this process), p50 and p99,
// alone and while 1,000 events/s of other load arrive. Target: p50 ≤ 5 ms,
// p99 ≤ 50 ms.
//
// One person has a webhook contact method with a rule at 0 minutes; the
// probed service's policy pages them at once. Each probe is a new alert
// (its own dedup key), sent one at a time. Bundling is off (--bundle-window
// 0): it holds back the pages that follow a first one by design, and the
// target is about the first.

type notifyResult struct {
	Probes      int     `json:"probes"`
	AloneP50Ms  float64 `json:"alone_p50_ms"`
	AloneP99Ms  float64 `json:"alone_p99_ms"`
	AloneMaxMs  float64 `json:"alone_max_ms"`
	LoadP50Ms   float64 `json:"load_p50_ms"`
	LoadP99Ms   float64 `json:"load_p99_ms"`
	LoadMaxMs   float64 `json:"load_max_ms"`
	LoadEvents  float64 `json:"load_events_per_s"`
	LoadErrors  int64   `json:"load_errors"`
	TargetP50Ms float64 `json:"target_p50_ms"`
	TargetP99Ms float64 `json:"target_p99_ms"`
	Missing     int     `json:"missing_notifications"`
}

// receiver records when each alert's first webhook arrived.
type receiver struct {
	mu      sync.Mutex
	arrived map[string]chan time.Time
}

func (rc *receiver) wait(alertID string) chan time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ch, ok := rc.arrived[alertID]
	if !ok {
		ch = make(chan time.Time, 1)
		rc.arrived[alertID] = ch
	}
	return ch
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var p struct {
		Alerts []struct {
			ID int64 `json:"id"`
		} `json:"alerts"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	for _, a := range p.Alerts {
		select {
		case rc.wait(fmt.Sprint(a.ID)) <- at:
		default: // a second page for the same alert: only the first counts
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// startReceiver serves a receiver on a loopback port: its webhook URL,
// and the function that stops it.
func startReceiver() (*receiver, string, func() error, error) {
	rc := &receiver{arrived: map[string]chan time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	hook := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go hook.Serve(ln)
	return rc, "http://" + ln.Addr().String() + "/hook", hook.Close, nil
}

func runNotifyBench(bin, tmp string, probes int) (notifyResult, error) {
	r := notifyResult{Probes: probes, TargetP50Ms: 5, TargetP99Ms: 50}
	ctx := context.Background()
	rc, hookURL, closeHook, err := startReceiver()
	if err != nil {
		return r, err
	}
	defer closeHook()

	dataDir := filepath.Join(tmp, "data-notify")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return r, err
	}
	srv, err := harness.Start(ctx, bin, harness.Options{DataDir: dataDir, Args: []string{"--rate-limit", "0", "--bundle-window", "0"}})
	if err != nil {
		return r, err
	}
	defer srv.Stop(30 * time.Second)

	pagedKey, err := setUpPaging(ctx, srv, hookURL)
	if err != nil {
		return r, err
	}
	_, loadKey, err := srv.CreateService(ctx, "background")
	if err != nil {
		return r, err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	probe := func(i int, h *hist) error {
		var ans struct {
			AlertID string `json:"alert_id"`
		}
		ev := map[string]any{"action": "trigger", "dedup_key": fmt.Sprintf("probe-%d", i), "summary": "probe", "severity": "critical", "source": "bench"}
		if err := harness.DoJSON(ctx, client, "POST", srv.URL+"/api/v1/events", pagedKey, ev, &ans); err != nil {
			return err
		}
		accepted := time.Now()
		select {
		case at := <-rc.wait(ans.AlertID):
			h.add(at.Sub(accepted))
		case <-time.After(5 * time.Second):
			r.Missing++
		}
		return nil
	}
	run := func(offset int) (*hist, error) {
		h := &hist{}
		for i := range probes {
			if err := probe(offset+i, h); err != nil {
				return nil, err
			}
			time.Sleep(10 * time.Millisecond)
		}
		return h, nil
	}
	// Warm up, then measure alone.
	if _, err := run(1_000_000); err != nil {
		return r, err
	}
	alone, err := run(0)
	if err != nil {
		return r, err
	}
	r.AloneP50Ms, r.AloneP99Ms, r.AloneMaxMs = ms(alone.quantile(0.5)), ms(alone.quantile(0.99)), ms(alone.quantile(1))

	// The same under 1,000 events/s of other traffic: triggers over 10,000
	// dedup keys on a service that pages nobody, paced by one ticker.
	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	const loaders = 10
	for w := range loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(10 * time.Millisecond) // 100/s per worker
			defer tick.Stop()
			for i := w; ; i += loaders {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				ev := map[string]any{"action": "trigger", "dedup_key": fmt.Sprintf("load-%d", i%10000), "summary": "background load", "severity": "warning"}
				if err := harness.DoJSON(ctx, client, "POST", srv.URL+"/api/v1/events", loadKey, ev, nil); err != nil {
					failed.Add(1)
				} else {
					sent.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	loaded, err := run(2_000_000)
	close(stop)
	wg.Wait()
	if err != nil {
		return r, err
	}
	r.LoadEvents = float64(sent.Load()) / time.Since(start).Seconds()
	r.LoadErrors = failed.Load()
	r.LoadP50Ms, r.LoadP99Ms, r.LoadMaxMs = ms(loaded.quantile(0.5)), ms(loaded.quantile(0.99)), ms(loaded.quantile(1))
	if r.Missing > 0 {
		// Say why, from the server's own warnings and errors.
		shown := 0
		for _, line := range strings.Split(srv.Output(), "\n") {
			if shown < 10 && (strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`)) {
				fmt.Println("  server:", line)
				shown++
			}
		}
	}
	return r, nil
}

// setUpPaging creates a person paged at once on a webhook, a policy that
// pages them, and a service with that policy; it returns the service's
// integration key.
func setUpPaging(ctx context.Context, srv *harness.Server, hookURL string) (string, error) {
	var user, cm, policy, svc, in struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	steps := func() error {
		if err := srv.Do(ctx, "POST", "/api/v1/users", map[string]any{"name": "Bench", "email": "bench@example.com", "role": "responder"}, &user); err != nil {
			return err
		}
		if err := srv.Do(ctx, "POST", "/api/v1/users/"+user.ID+"/contact-methods", map[string]any{"type": "webhook", "address": hookURL}, &cm); err != nil {
			return err
		}
		if err := srv.Do(ctx, "POST", "/api/v1/users/"+user.ID+"/notification-rules", map[string]any{"contact_method_id": cm.ID, "delay_minutes": 0, "urgency": "high"}, nil); err != nil {
			return err
		}
		if err := srv.Do(ctx, "POST", "/api/v1/escalation-policies", map[string]any{"name": "bench", "repeat": 0,
			"steps": []any{map[string]any{"delay_minutes": 30, "targets": []any{map[string]any{"type": "user", "id": user.ID}}}}}, &policy); err != nil {
			return err
		}
		if err := srv.Do(ctx, "POST", "/api/v1/services", map[string]any{"name": "paged", "escalation_policy_id": policy.ID}, &svc); err != nil {
			return err
		}
		return srv.Do(ctx, "POST", "/api/v1/services/"+svc.ID+"/integrations", map[string]any{"kind": "api"}, &in)
	}
	if err := steps(); err != nil {
		return "", fmt.Errorf("set up paging: %w", err)
	}
	return in.Key, nil
}

func printNotify(r notifyResult) {
	verdict := func(p50, p99 float64) string {
		if p50 <= r.TargetP50Ms && p99 <= r.TargetP99Ms && r.Missing == 0 {
			return "MET"
		}
		return "MISSED"
	}
	fmt.Printf("\nnotify: event accepted (202 read) → webhook notification received, %d probes each, bundling off\n", r.Probes)
	fmt.Printf("  alone:                  p50 %.2f ms, p99 %.2f ms, max %.2f ms (target p50 ≤ %.0f ms, p99 ≤ %.0f ms: %s)\n",
		r.AloneP50Ms, r.AloneP99Ms, r.AloneMaxMs, r.TargetP50Ms, r.TargetP99Ms, verdict(r.AloneP50Ms, r.AloneP99Ms))
	fmt.Printf("  under %s events/s:  p50 %.2f ms, p99 %.2f ms, max %.2f ms (%s; %d load errors)\n",
		strings.TrimSpace(thousands(r.LoadEvents)), r.LoadP50Ms, r.LoadP99Ms, r.LoadMaxMs, verdict(r.LoadP50Ms, r.LoadP99Ms), r.LoadErrors)
	if r.Missing > 0 {
		fmt.Printf("  MISSING: %d probes got no notification within 5 s\n", r.Missing)
	}
}
