package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// The status page benchmark (DESIGN.md §11): the public page and
// summary.json, each alone, as a browser or a widget asks for them
// (keep-alive, Accept-Encoding: gzip), at the throughput the server reaches
// with a fixed number of connections. Target: ≥ 20,000 requests/s with p99
// ≤ 10 ms. The server runs --demo, so the page has a group of ten
// components with 90-day uptime bars, a past incident with its updates and
// an upcoming maintenance.

type statusResult struct {
	Path        string  `json:"path"`
	Workers     int     `json:"workers"`
	Requests    int64   `json:"requests"`
	PerSec      float64 `json:"requests_per_s"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	BodyBytes   int     `json:"body_bytes"`
	ServerCPU   float64 `json:"server_cpu"`
	TargetPerS  float64 `json:"target_per_s"`
	TargetP99Ms float64 `json:"target_p99_ms"`
}

// statusPaths are what the benchmark asks for.
var statusPaths = []string{"/", "/api/v2/summary.json"}

func runStatusBench(c config, bin, tmp string) ([]statusResult, error) {
	ctx := context.Background()
	dataDir := filepath.Join(tmp, "data-status")
	srv, err := harness.Start(ctx, bin, harness.Options{DataDir: dataDir, Args: []string{"--demo", "--canary-interval", "0"}})
	if err != nil {
		return nil, err
	}
	defer srv.Kill()
	workers := c.concurrency
	if workers <= 0 {
		workers = 16
	}
	var out []statusResult
	for _, path := range statusPaths {
		r, err := statusLoad(c, srv, path, workers)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// statusLoad drives one path with workers keep-alive connections: a warm-up,
// then the measured phase, bounded in time and in requests.
func statusLoad(c config, srv *harness.Server, path string, workers int) (statusResult, error) {
	r := statusResult{Path: path, Workers: workers, TargetPerS: 20000, TargetP99Ms: 10}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: workers, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers,
		DisableCompression: true, // the benchmark asks for gzip itself and reads the compressed bytes, as a browser would receive them
	}}
	defer client.CloseIdleConnections()
	url := srv.URL + path
	get := func() (int, error) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: %s", path, resp.Status)
		}
		return int(n), nil
	}
	// The page is rendered in the background after start: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := get()
		if err == nil {
			r.BodyBytes = n
			break
		}
		if time.Now().After(deadline) {
			return r, err
		}
		time.Sleep(50 * time.Millisecond)
	}

	phase := func(d time.Duration, measure bool) (lat hist, requests, errs int64, firstErr string, elapsed time.Duration) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var count, failed atomic.Int64
		stop := time.Now().Add(d)
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var h hist
				var first string
				for time.Now().Before(stop) && count.Load() < c.maxRequests {
					t0 := time.Now()
					_, err := get()
					if err != nil {
						failed.Add(1)
						if first == "" {
							first = err.Error()
						}
						continue
					}
					count.Add(1)
					if measure {
						h.add(time.Since(t0))
					}
				}
				mu.Lock()
				lat.merge(&h)
				if firstErr == "" {
					firstErr = first
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		return lat, count.Load(), failed.Load(), firstErr, time.Since(start)
	}
	phase(c.warmup, false)
	cpu0 := procCPU(srv.PID())
	lat, n, errs, first, elapsed := phase(c.duration, true)
	r.ServerCPU = (procCPU(srv.PID()) - cpu0).Seconds() / elapsed.Seconds()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.Requests, r.Errors, r.FirstError = n, errs, first
	r.PerSec = float64(n) / elapsed.Seconds()
	r.P50Ms, r.P99Ms, r.MaxMs = ms(lat.quantile(0.5)), ms(lat.quantile(0.99)), ms(time.Duration(lat.max))
	return r, nil
}

func printStatus(rs []statusResult) {
	fmt.Println("\n== status page: GET with Accept-Encoding: gzip, keep-alive (target ≥ 20,000 requests/s, p99 ≤ 10 ms) ==")
	for _, r := range rs {
		met := "MET"
		if r.PerSec < r.TargetPerS || r.P99Ms > r.TargetP99Ms {
			met = "missed"
		}
		fmt.Printf("%-22s %2d workers  %8.0f req/s  p50 %.2f ms  p99 %.2f ms  max %.1f ms  %d bytes  server CPU %.2f  errors %d  target %s\n",
			r.Path, r.Workers, r.PerSec, r.P50Ms, r.P99Ms, r.MaxMs, r.BodyBytes, r.ServerCPU, r.Errors, met)
		if r.FirstError != "" {
			fmt.Println("  first error:", r.FirstError)
		}
	}
}
