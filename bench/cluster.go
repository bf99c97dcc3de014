package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make and drop the benchmark's schema

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// The cluster benchmark (issue 6): Klaxon on PostgreSQL with 1, 2 and 3
// nodes on one machine and one database. For each size, a fresh schema and
// fresh nodes; ingestion with one event per request (64 workers) and with
// batches of 100 (16 workers), the workers spread evenly over the nodes,
// as a load balancer would; then event accepted → page handed to its
// webhook, probes sent round-robin through the nodes (so a page is often
// decided and sent by a node other than the one that took the event). All
// of it shares the machine's two cores with PostgreSQL and the load
// generator: the figures show what more nodes cost or bring on one
// machine, not on several.

type clusterResult struct {
	Nodes       int     `json:"nodes"`
	SinglePerS  float64 `json:"single_events_per_s"`
	SingleP99Ms float64 `json:"single_p99_ms"`
	BatchPerS   float64 `json:"batch_events_per_s"`
	BatchP99Ms  float64 `json:"batch_p99_ms"`
	NotifyP50Ms float64 `json:"notify_p50_ms"`
	NotifyP99Ms float64 `json:"notify_p99_ms"`
	Missing     int     `json:"notify_missing"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	ServerError string  `json:"server_error,omitempty"`
}

func runClusterBench(c config, bin string) ([]clusterResult, error) {
	var out []clusterResult
	for n := 1; n <= 3; n++ {
		r, err := clusterSize(c, bin, n)
		if err != nil {
			return nil, fmt.Errorf("%d nodes: %w", n, err)
		}
		printCluster([]clusterResult{r})
		out = append(out, r)
	}
	return out, nil
}

// benchSchema makes a schema of its own on the server at base and returns
// a URL that uses it, and a function that drops it.
func benchSchema(base string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "klaxon_bench_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		return "", nil, fmt.Errorf("postgres at %s: %w", base, err)
	}
	drop := func() {
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func clusterSize(c config, bin string, n int) (clusterResult, error) {
	r := clusterResult{Nodes: n}
	ctx := context.Background()
	db, drop, err := benchSchema(c.postgres)
	if err != nil {
		return r, err
	}
	defer drop()
	var nodes []*harness.Server
	defer func() {
		for _, s := range nodes {
			s.Stop(30 * time.Second)
		}
	}()
	for range n {
		s, err := harness.Start(ctx, bin, harness.Options{Args: []string{"--db", db, "--rate-limit", "0", "--bundle-window", "0", "--canary-interval", "0"}})
		if err != nil {
			return r, err
		}
		nodes = append(nodes, s)
	}
	_, key, err := nodes[0].CreateService(ctx, "bench")
	if err != nil {
		return r, err
	}

	for _, mode := range []struct {
		batch, workers int
	}{{0, 64}, {c.batchSize, 16}} {
		bodies, eventsPer, _ := makeBodies(mode.batch, c.distinctKeys)
		var loads []*load
		for _, s := range nodes {
			u, err := url.Parse(s.URL + "/api/v1/events")
			if err != nil {
				return r, err
			}
			if mode.batch > 0 {
				u.Path += "/batch"
			}
			per := mode.workers / n
			client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
				MaxIdleConns: per, MaxIdleConnsPerHost: per, MaxConnsPerHost: per, DisableCompression: true}}
			loads = append(loads, &load{url: u, key: "Bearer " + key, client: client, bodies: bodies,
				eventsPer: eventsPer, batch: mode.batch > 0, maxRequests: c.maxRequests})
		}
		phase := func(d time.Duration) *tally {
			var wg sync.WaitGroup
			parts := make([]*tally, len(loads))
			for i, l := range loads {
				wg.Go(func() { parts[i] = l.phase(mode.workers/n, d, true) })
			}
			wg.Wait()
			total := &tally{}
			for _, p := range parts {
				total.add(p)
				total.elapsed = max(total.elapsed, p.elapsed)
			}
			return total
		}
		phase(c.warmup)
		t := phase(c.duration)
		perS := float64(t.events) / t.elapsed.Seconds()
		p99 := ms(t.lat.quantile(0.99))
		r.Errors += t.netErr + t.other + t.s503 + t.s429
		if r.FirstError == "" {
			r.FirstError = t.firstErr
		}
		if mode.batch == 0 {
			r.SinglePerS, r.SingleP99Ms = perS, p99
		} else {
			r.BatchPerS, r.BatchP99Ms = perS, p99
		}
		for _, l := range loads {
			l.client.CloseIdleConnections()
		}
	}

	if r.Errors > 0 { // say why, from the nodes' own logs
		for _, s := range nodes {
			for _, line := range strings.Split(s.Output(), "\n") {
				if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
					r.ServerError = line
					break
				}
			}
			if r.ServerError != "" {
				break
			}
		}
	}

	// Event accepted → page at the webhook, through every node in turn.
	rc, hookURL, closeHook, err := startReceiver()
	if err != nil {
		return r, err
	}
	defer closeHook()
	pagedKey, err := setUpPaging(ctx, nodes[0], hookURL)
	if err != nil {
		return r, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	h := &hist{}
	for i := range 400 {
		var ans struct {
			AlertID string `json:"alert_id"`
		}
		ev := map[string]any{"action": "trigger", "dedup_key": fmt.Sprintf("probe-%d", i), "summary": "probe", "severity": "critical", "source": "bench"}
		if err := harness.DoJSON(ctx, client, "POST", nodes[i%n].URL+"/api/v1/events", pagedKey, ev, &ans); err != nil {
			return r, err
		}
		accepted := time.Now()
		select {
		case at := <-rc.wait(ans.AlertID):
			if i >= 100 { // the first 100 warm up
				h.add(at.Sub(accepted))
			}
		case <-time.After(5 * time.Second):
			r.Missing++
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.NotifyP50Ms, r.NotifyP99Ms = ms(h.quantile(0.5)), ms(h.quantile(0.99))
	return r, nil
}

func printCluster(rs []clusterResult) {
	for _, r := range rs {
		fmt.Printf("PostgreSQL, %d node(s): single %8.0f events/s (p99 %.1f ms)  batch %8.0f events/s (p99 %.1f ms)  notify p50 %.2f ms p99 %.2f ms  missing %d  errors %d\n",
			r.Nodes, r.SinglePerS, r.SingleP99Ms, r.BatchPerS, r.BatchP99Ms, r.NotifyP50Ms, r.NotifyP99Ms, r.Missing, r.Errors)
		if r.FirstError != "" {
			fmt.Println("  first error:", strings.TrimSpace(r.FirstError))
		}
		if r.ServerError != "" {
			fmt.Println("  a node logged:", r.ServerError)
		}
	}
}

// defaultPostgres is the benchmark's PostgreSQL: KLAXON_TEST_POSTGRES, as
// the tests use, or the local server.
func defaultPostgres() string {
	if v := os.Getenv("KLAXON_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test"
}

// redactURL is u without its password, for printing.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(unparsable URL)"
}
