// Command bench measures Klaxon's durable event ingestion, the way DESIGN.md
// §11 states its targets: it builds the real binary, runs it on loopback
// with the embedded SQLite store, drives it with concurrent keep-alive HTTP
// clients for a fixed time, and then checks on disk that every event that
// was answered 202 is there.
//
//	go run ./bench                      # both scenarios, 10 s each
//	go run ./bench -duration 30s -out results.json
//	go run ./bench -scenarios batch -concurrency 8
//
// Each scenario gets a fresh data dir and a fresh server. The per-integration
// rate limit is switched off (--rate-limit 0), since the benchmark is one
// integration sending as fast as it can. The load generator runs on the same
// machine as the server and competes with it for the CPUs.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to count rows on disk

	"github.com/klaxonhq/klaxon/e2e/harness"
)

type config struct {
	duration, warmup time.Duration
	concurrency      int
	maxRequests      int64
	batchSize        int
	distinctKeys     int
	maxQueued        int
	scenarios        []string
	out, cpuprofile  string
	keep             bool
	postgres         string
	client           string
}

// scenario is one way of sending events.
type scenario struct {
	name        string
	batch       int     // events per request; 0 for the single-event endpoint
	concurrency int     // default number of workers
	target      float64 // events/s, from DESIGN.md §11
	targetText  string
}

var allScenarios = []scenario{
	{name: "single", batch: 0, concurrency: 64, target: 20000, targetText: "≥ 20,000 events/s"},
	{name: "batch", batch: 100, concurrency: 16, target: 150000, targetText: "≥ 150,000 events/s"},
}

func main() {
	var c config
	var scen string
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measured time per scenario")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up per scenario, before the measurement")
	flag.IntVar(&c.concurrency, "concurrency", 0, "concurrent workers (keep-alive connections); 0 means the scenario's default: 64 for single, 16 for batch")
	flag.Int64Var(&c.maxRequests, "max-requests", 5_000_000, "stop a scenario's measurement after this many requests even if -duration has not passed")
	flag.StringVar(&c.client, "client", clientRaw, "load generator's HTTP client: raw (a minimal HTTP/1.1 writer and reader, light on the shared CPUs) or std (net/http)")
	flag.IntVar(&c.batchSize, "batch-size", 100, "events per request in the batch scenario")
	flag.IntVar(&c.distinctKeys, "keys", 10000, "distinct dedup keys cycled over, so that alerts are both created and deduplicated")
	flag.IntVar(&c.maxQueued, "max-queued-events", 0, "passed to klaxon serve --max-queued-events when > 0 (server default otherwise)")
	flag.StringVar(&scen, "scenarios", "single,batch,oncall,notify,status", "comma-separated scenarios to run: single, batch, oncall, notify, status, cluster (PostgreSQL, 1–3 nodes; not in the default set)")
	flag.StringVar(&c.postgres, "postgres", defaultPostgres(), "PostgreSQL server for the cluster scenario (a schema of its own is made and dropped)")
	flag.StringVar(&c.out, "out", "", "also write the results as JSON to this file")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the load generator (not the server) to this file")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary data dirs and binary")
	flag.Parse()
	for _, s := range strings.Split(scen, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.scenarios = append(c.scenarios, s)
		}
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report is the whole run, as written by -out.
type report struct {
	Date      string          `json:"date"`
	Machine   machineInfo     `json:"machine"`
	Code      string          `json:"code"`
	Config    reportConfig    `json:"config"`
	Scenarios []result        `json:"scenarios"`
	OnCall    *oncallResult   `json:"oncall,omitempty"`
	Notify    *notifyResult   `json:"notify,omitempty"`
	Status    []statusResult  `json:"status,omitempty"`
	Cluster   []clusterResult `json:"cluster,omitempty"`
}

type reportConfig struct {
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	MaxRequests int64   `json:"max_requests"`
	Keys        int     `json:"distinct_dedup_keys"`
	ServerArgs  string  `json:"server_args"`
}

func run(c config) error {
	var scens []scenario
	withOnCall, withNotify, withStatus, withCluster := false, false, false, false
	for _, name := range c.scenarios {
		switch name {
		case "cluster":
			withCluster = true
			continue
		case "oncall":
			withOnCall = true
			continue
		case "status":
			withStatus = true
			continue
		case "notify":
			withNotify = true
			continue
		}
		found := false
		for _, s := range allScenarios {
			if s.name == name {
				if s.batch > 0 {
					s.batch = c.batchSize
				}
				if c.concurrency > 0 {
					s.concurrency = c.concurrency
				}
				scens = append(scens, s)
				found = true
			}
		}
		if !found {
			return fmt.Errorf("unknown scenario %q (have: single, batch, oncall, notify, status, cluster)", name)
		}
	}
	if len(scens) == 0 && !withOnCall && !withNotify && !withStatus && !withCluster {
		return errors.New("no scenario to run")
	}
	if c.client != clientRaw && c.client != clientStd {
		return fmt.Errorf("-client must be %s or %s, not %q", clientRaw, clientStd, c.client)
	}
	if c.distinctKeys < 1 || c.batchSize < 1 {
		return errors.New("-keys and -batch-size must be at least 1")
	}

	tmp, err := os.MkdirTemp("", "klaxon-bench-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Printf("keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	machine := readMachine(tmp)
	serverArgs := []string{"--rate-limit", "0"}
	if c.maxQueued > 0 {
		serverArgs = append(serverArgs, "--max-queued-events", strconv.Itoa(c.maxQueued))
	}

	fmt.Println("Klaxon durable event ingestion benchmark (DESIGN.md §11)")
	code := codeVersion()
	fmt.Println("machine:   ", machine)
	fmt.Println("code:      ", code)
	fmt.Println("server:     klaxon serve", strings.Join(serverArgs, " "), "— embedded SQLite (WAL, fsynced before each answer), fresh data dir and process per scenario")
	fmt.Println("note:       the per-integration rate limit is OFF (--rate-limit 0): the benchmark is one integration sending at full speed")
	fmt.Printf("note:       the load generator runs on the same %d CPUs as the server\n", machine.CPUs)
	fmt.Printf("load:       %s warm-up (not counted) + %s measured per scenario, at most %d requests; %d distinct dedup keys; %s HTTP client\n",
		c.warmup, c.duration, c.maxRequests, c.distinctKeys, c.client)

	var bin string
	if len(scens) > 0 || withNotify || withStatus || withCluster { // the oncall scenario needs no server
		fmt.Print("building klaxon… ")
		t0 := time.Now()
		if bin, err = harness.Build(tmp); err != nil {
			return err
		}
		fmt.Printf("done in %s\n", time.Since(t0).Round(time.Millisecond))
	}

	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	rep := report{
		Date: time.Now().UTC().Format(time.RFC3339), Machine: machine, Code: code,
		Config: reportConfig{DurationS: c.duration.Seconds(), WarmupS: c.warmup.Seconds(),
			MaxRequests: c.maxRequests, Keys: c.distinctKeys, ServerArgs: strings.Join(serverArgs, " ")},
	}
	var failed []string
	for i, s := range scens {
		dataDir := filepath.Join(tmp, fmt.Sprintf("data-%d-%s", i, s.name))
		fmt.Printf("\n== %s: %s, %d workers ==\n", s.name, s.describe(), s.concurrency)
		r, err := runScenario(c, s, bin, dataDir, serverArgs)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		r.print()
		if !r.Durable.OK {
			failed = append(failed, s.name)
		}
		rep.Scenarios = append(rep.Scenarios, r)
	}

	if len(rep.Scenarios) > 0 {
		fmt.Println()
		printSummary(machine, rep.Scenarios)
	}
	if withOnCall {
		r, err := runOnCallBench(200)
		if err != nil {
			return fmt.Errorf("oncall: %w", err)
		}
		printOnCall(r)
		rep.OnCall = &r
	}

	if withNotify {
		r, err := runNotifyBench(bin, tmp, 300)
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		printNotify(r)
		rep.Notify = &r
	}

	if withStatus {
		r, err := runStatusBench(c, bin, tmp)
		if err != nil {
			return fmt.Errorf("status: %w", err)
		}
		printStatus(r)
		rep.Status = r
	}

	if withCluster {
		fmt.Printf("\n== cluster: PostgreSQL at %s, 1, 2 and 3 nodes on this machine ==\n", redactURL(c.postgres))
		r, err := runClusterBench(c, bin)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		rep.Cluster = r
	}

	if c.out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nresults written to %s\n", c.out)
	}
	if len(failed) > 0 {
		return fmt.Errorf("DURABILITY CHECK FAILED in %s: events answered 202 do not match the rows on disk", strings.Join(failed, ", "))
	}
	return nil
}

// codeVersion names the commit being measured, and says when the work tree
// differs from it.
func codeVersion() string {
	root, err := harness.RepoRoot()
	if err != nil {
		return "unknown"
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	v := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		v += " plus uncommitted changes"
	}
	return v
}

func (s scenario) describe() string {
	if s.batch == 0 {
		return "one event per request, POST /api/v1/events"
	}
	return fmt.Sprintf("batches of %d events, POST /api/v1/events/batch", s.batch)
}

// result is one scenario's outcome.
type result struct {
	Scenario     string  `json:"scenario"`
	Concurrency  int     `json:"concurrency"`
	BatchSize    int     `json:"batch_size"`
	EventBytes   int     `json:"avg_event_bytes"`
	MeasuredS    float64 `json:"measured_s"`
	Requests     int64   `json:"requests"`
	Accepted     int64   `json:"accepted_requests"` // 202s
	Events       int64   `json:"accepted_events"`   // events in 202'd requests
	Status429    int64   `json:"status_429"`        // rate limited
	Status503    int64   `json:"status_503"`        // overloaded
	OtherStatus  int64   `json:"other_status"`      // any other HTTP status
	NetErrors    int64   `json:"transport_errors"`  // no answer: outcome unknown
	FirstError   string  `json:"first_error,omitempty"`
	EventsPerSec float64 `json:"events_per_s"`
	RequestsPerS float64 `json:"requests_per_s"`
	P50ms        float64 `json:"p50_ms"`
	P90ms        float64 `json:"p90_ms"`
	P99ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	Target       float64 `json:"target_events_per_s"`
	TargetText   string  `json:"target"`
	TargetMet    bool    `json:"target_met"`
	Durable      durable `json:"durable"`
	StartupMs    float64 `json:"server_startup_ms"`
	RSSMB        float64 `json:"server_rss_mb"`
	PeakRSSMB    float64 `json:"server_peak_rss_mb"`
	ServerCPU    float64 `json:"server_cpu_cores"`    // CPU cores the server used, on average, while measured
	GenCPU       float64 `json:"generator_cpu_cores"` // same for the load generator
	OtherCPU     float64 `json:"other_cpu_cores"`     // same for every other process on the machine
	FsyncP50ms   float64 `json:"fsync_p50_ms"`        // one 4 KiB write+fsync in the data dir, just before the run
	Groups       int64   `json:"group_commits"`       // group transactions while measured, from the server's metrics
	GroupEvents  float64 `json:"events_per_group"`    // their average size
	FsyncMaxMs   float64 `json:"fsync_max_ms"`
	Alerts       int64   `json:"alerts_on_disk"`
}

type durable struct {
	AcceptedEvents int64  `json:"accepted_events"` // 202'd events, warm-up included
	UnknownEvents  int64  `json:"unknown_events"`  // events in requests that got no answer
	RowsOnDisk     int64  `json:"rows_on_disk"`
	AlertEvents    int64  `json:"alert_event_count_sum"`
	OK             bool   `json:"ok"`
	Message        string `json:"message"`
}

func runScenario(c config, s scenario, bin, dataDir string, serverArgs []string) (result, error) {
	r := result{Scenario: s.name, Concurrency: s.concurrency, BatchSize: s.batch, Target: s.target, TargetText: s.targetText}
	ctx := context.Background()
	bodies, eventsPer, avg := makeBodies(s.batch, c.distinctKeys)
	r.EventBytes = avg

	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return r, err
	}
	fp50, fmax, err := fsyncProbe(dataDir, 200)
	if err != nil {
		return r, fmt.Errorf("fsync probe: %w", err)
	}
	r.FsyncP50ms, r.FsyncMaxMs = float64(fp50.Microseconds())/1000, float64(fmax.Microseconds())/1000
	fmt.Printf("disk:       one 4 KiB write+fsync in the data dir takes %.2f ms (median of 200; worst %.2f ms)\n", r.FsyncP50ms, r.FsyncMaxMs)

	srv, err := harness.Start(ctx, bin, harness.Options{DataDir: dataDir, Args: serverArgs})
	if err != nil {
		return r, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Kill()
		}
	}()
	r.StartupMs = float64(startupTime(srv.Output()).Microseconds()) / 1000
	pid := srv.PID()
	_, key, err := srv.CreateService(ctx, "bench")
	if err != nil {
		return r, err
	}

	u, err := url.Parse(srv.URL + "/api/v1/events")
	if err != nil {
		return r, err
	}
	if s.batch > 0 {
		u.Path += "/batch"
	}
	client := &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        s.concurrency,
			MaxIdleConnsPerHost: s.concurrency,
			MaxConnsPerHost:     s.concurrency,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
	defer client.CloseIdleConnections()
	ld := &load{
		url: u, key: "Bearer " + key, client: client, clientKind: c.client, bodies: bodies,
		eventsPer: eventsPer, batch: s.batch > 0, maxRequests: c.maxRequests,
	}

	fmt.Printf("server ready in %.1f ms (pid %d); events of %d bytes on average; warming up for %s…\n", r.StartupMs, pid, r.EventBytes, c.warmup)
	warm := ld.phase(s.concurrency, c.warmup, false)

	fmt.Printf("measuring for %s…\n", c.duration)
	groups0, grouped0, _ := groupCommits(srv.URL)
	srvCPU0, genCPU0, allCPU0 := procCPU(pid), selfCPU(), cpuBusy()
	meas := ld.phase(s.concurrency, c.duration, true)
	srvCPU1, genCPU1, allCPU1 := procCPU(pid), selfCPU(), cpuBusy()
	if groups1, grouped1, err := groupCommits(srv.URL); err == nil && groups1 > groups0 {
		r.Groups, r.GroupEvents = groups1-groups0, (grouped1-grouped0)/float64(groups1-groups0)
	}
	rss, peak := procMem(pid)
	r.RSSMB, r.PeakRSSMB = float64(rss)/1024, float64(peak)/1024
	r.ServerCPU = (srvCPU1 - srvCPU0).Seconds() / meas.elapsed.Seconds()
	r.GenCPU = (genCPU1 - genCPU0).Seconds() / meas.elapsed.Seconds()
	r.OtherCPU = max(0, (allCPU1-allCPU0).Seconds()/meas.elapsed.Seconds()-r.ServerCPU-r.GenCPU)

	r.MeasuredS = meas.elapsed.Seconds()
	r.Requests, r.Accepted, r.Events = meas.requests, meas.ok, meas.events
	r.Status429, r.Status503, r.OtherStatus, r.NetErrors = meas.s429, meas.s503, meas.other, meas.netErr
	r.FirstError = meas.firstErr
	if r.FirstError == "" {
		r.FirstError = warm.firstErr
	}
	r.EventsPerSec = float64(meas.events) / meas.elapsed.Seconds()
	r.RequestsPerS = float64(meas.requests) / meas.elapsed.Seconds()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.P50ms, r.P90ms, r.P99ms = ms(meas.lat.quantile(0.50)), ms(meas.lat.quantile(0.90)), ms(meas.lat.quantile(0.99))
	r.MaxMs = ms(time.Duration(meas.lat.max))
	r.TargetMet = r.EventsPerSec >= r.Target

	// Durability: stop the server cleanly and count what is on disk.
	client.CloseIdleConnections()
	stopped = true
	if err := srv.Stop(2 * time.Minute); err != nil {
		return r, fmt.Errorf("stopping the server: %w\n%s", err, srv.Output())
	}
	d := durable{
		AcceptedEvents: warm.events + meas.events,
		UnknownEvents:  (warm.netErr + meas.netErr) * int64(eventsPer),
	}
	d.RowsOnDisk, r.Alerts, d.AlertEvents, err = countOnDisk(filepath.Join(dataDir, "klaxon.db"))
	if err != nil {
		return r, err
	}
	switch {
	case d.RowsOnDisk == d.AcceptedEvents:
		d.OK = true
		d.Message = fmt.Sprintf("durable: %d of %d accepted events found on disk", d.RowsOnDisk, d.AcceptedEvents)
	case d.RowsOnDisk < d.AcceptedEvents:
		d.Message = fmt.Sprintf("NOT DURABLE: only %d of %d accepted events found on disk (%d lost)",
			d.RowsOnDisk, d.AcceptedEvents, d.AcceptedEvents-d.RowsOnDisk)
	case d.RowsOnDisk <= d.AcceptedEvents+d.UnknownEvents:
		// Requests that got no answer may have been stored: the sender
		// would retry them with the same dedup key.
		d.OK = true
		d.Message = fmt.Sprintf("durable: %d of %d accepted events found on disk, plus %d from requests whose answer never arrived",
			d.AcceptedEvents, d.AcceptedEvents, d.RowsOnDisk-d.AcceptedEvents)
	default:
		d.Message = fmt.Sprintf("MISMATCH: %d events on disk but only %d were accepted", d.RowsOnDisk, d.AcceptedEvents)
	}
	if d.AlertEvents != d.RowsOnDisk {
		d.OK = false
		d.Message += fmt.Sprintf("; MISMATCH: alerts count %d events but the events table has %d rows", d.AlertEvents, d.RowsOnDisk)
	}
	r.Durable = d
	return r, nil
}

// countOnDisk counts the events and alerts in a stopped server's database.
func countOnDisk(path string) (events, alerts, alertEvents int64, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&events); err != nil {
		return 0, 0, 0, fmt.Errorf("counting events in %s: %w", path, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(event_count), 0) FROM alerts`).Scan(&alerts, &alertEvents); err != nil {
		return 0, 0, 0, fmt.Errorf("counting alerts in %s: %w", path, err)
	}
	return events, alerts, alertEvents, nil
}

// makeBodies pre-encodes every request body. Event i has dedup key i mod
// keys, so the first pass over the keys creates alerts and later passes
// fold into them. A batch holds consecutive keys, so no batch repeats one.
func makeBodies(batch, keys int) (bodies [][]byte, eventsPer, avgEventBytes int) {
	events := make([][]byte, keys)
	total := 0
	for i := range events {
		events[i] = eventBody(i)
		total += len(events[i])
	}
	avgEventBytes = total / keys
	if batch == 0 {
		return events, 1, avgEventBytes
	}
	n := max(keys/batch, 1)
	bodies = make([][]byte, n)
	for j := range bodies {
		var b bytes.Buffer
		b.WriteByte('[')
		for k := range batch {
			if k > 0 {
				b.WriteByte(',')
			}
			b.Write(events[(j*batch+k)%keys])
		}
		b.WriteByte(']')
		bodies[j] = b.Bytes()
	}
	return bodies, batch, avgEventBytes
}

var (
	checks = []struct{ class, component, summary, metric string }{
		{"disk", "postgres", "Disk usage on %s above 90%% on /var/lib/postgresql", "used_pct"},
		{"cpu", "api", "CPU saturated on %s for 5 minutes", "cpu_pct"},
		{"memory", "worker", "Memory pressure on %s: OOM kills in the last 10 minutes", "rss_pct"},
		{"latency", "checkout", "p99 latency of checkout on %s above 800 ms", "p99_ms"},
		{"http", "nginx", "5xx ratio on %s above 2%%", "error_ratio"},
	}
	severities = []string{"critical", "error", "warning", "critical", "info"}
)

// eventBody is a realistic native trigger event of about 300 bytes.
func eventBody(i int) []byte {
	c := checks[i%len(checks)]
	host := fmt.Sprintf("web-%03d.prod", (i/len(checks))%400)
	ev := map[string]any{
		"action":    "trigger",
		"dedup_key": fmt.Sprintf("%s/%s/%05d", c.class, host, i),
		"summary":   fmt.Sprintf(c.summary, host),
		"severity":  severities[i%len(severities)],
		"source":    host,
		"component": c.component,
		"group":     "prod-eu-west-1",
		"class":     c.class,
		"details":   map[string]any{c.metric: 90 + i%10, "threshold": 90},
		"timestamp": "2026-11-23T10:15:00Z",
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// load drives the server; phase runs it once.
type load struct {
	url         *url.URL
	key         string
	client      *http.Client // for the std client
	clientKind  string
	bodies      [][]byte
	eventsPer   int
	batch       bool
	maxRequests int64
	next        atomic.Int64 // body index, shared by the workers of all phases
}

// tally is what a worker (and then a phase) counted.
type tally struct {
	requests, ok, events, s429, s503, other, netErr int64
	firstErr                                        string
	lat                                             hist
	elapsed                                         time.Duration
}

func (t *tally) add(o *tally) {
	t.requests += o.requests
	t.ok += o.ok
	t.events += o.events
	t.s429 += o.s429
	t.s503 += o.s503
	t.other += o.other
	t.netErr += o.netErr
	if t.firstErr == "" {
		t.firstErr = o.firstErr
	}
	t.lat.merge(&o.lat)
}

// phase runs workers for d (or until maxRequests requests, when bounded) and
// waits for every request in flight to be answered.
func (l *load) phase(workers int, d time.Duration, bounded bool) *tally {
	var stop atomic.Bool
	var issued atomic.Int64
	limit := int64(-1)
	if bounded {
		limit = l.maxRequests
	}
	tallies := make([]*tally, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range tallies {
		t := new(tally)
		tallies[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.worker(t, &stop, &issued, limit)
		}()
	}
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	wg.Wait()
	timer.Stop()
	total := &tally{elapsed: time.Since(start)}
	for _, t := range tallies {
		total.add(t)
	}
	return total
}

// worker sends requests one after another on its keep-alive connection. The
// loop allocates nothing of its own: bodies are pre-encoded and the answer
// is read into a reused buffer.
func (l *load) worker(t *tally, stop *atomic.Bool, issued *atomic.Int64, limit int64) {
	snd := newSender(l.clientKind, l.url, l.key, l.client)
	defer snd.close()
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	nb := int64(len(l.bodies))
	for !stop.Load() {
		if limit >= 0 && issued.Add(1) > limit {
			stop.Store(true)
			return
		}
		body := l.bodies[l.next.Add(1)%nb]
		t.requests++
		t0 := time.Now()
		status, err := snd.post(body, &buf)
		lat := time.Since(t0)
		if err != nil {
			t.netErr++
			if t.firstErr == "" {
				t.firstErr = err.Error()
			}
			continue
		}
		switch status {
		case http.StatusAccepted:
			n := int64(1)
			if l.batch {
				n = acceptedCount(buf.Bytes())
				if n != int64(l.eventsPer) && t.firstErr == "" {
					t.firstErr = "batch partly rejected: " + string(buf.Bytes()[:min(buf.Len(), 300)])
				}
			}
			t.ok++
			t.events += n
			t.lat.add(lat)
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if status == http.StatusTooManyRequests {
				t.s429++
			} else {
				t.s503++
			}
			if t.firstErr == "" {
				t.firstErr = strconv.Itoa(status) + ": " + string(buf.Bytes()[:min(buf.Len(), 300)])
			}
			// A real sender would honour Retry-After; a short pause keeps
			// a refused worker from spinning on the shared CPUs.
			time.Sleep(time.Millisecond)
		default:
			t.other++
			if t.firstErr == "" {
				t.firstErr = strconv.Itoa(status) + ": " + string(buf.Bytes()[:min(buf.Len(), 300)])
			}
		}
	}
}

// groupCommits reads the server's count of group commits and the events
// they carried from /metrics (klaxon_ingest_group_events).
func groupCommits(base string) (groups int64, events float64, err error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch name {
		case "klaxon_ingest_group_events_count":
			groups, err = strconv.ParseInt(value, 10, 64)
		case "klaxon_ingest_group_events_sum":
			events, err = strconv.ParseFloat(value, 64)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("metrics: %s: %w", name, err)
		}
	}
	return groups, events, nil
}

var acceptedKey = []byte(`"accepted":`)

// acceptedCount reads "accepted":N from a batch answer without decoding the
// whole answer.
func acceptedCount(b []byte) int64 {
	i := bytes.Index(b, acceptedKey)
	if i < 0 {
		return 0
	}
	var n int64
	for _, c := range b[i+len(acceptedKey):] {
		if c == ' ' {
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func (r result) print() {
	fmt.Printf("events/s:   %s  (target %s: %s)\n", thousands(r.EventsPerSec), r.TargetText, metText(r.TargetMet))
	fmt.Printf("requests:   %d in %.2f s = %s req/s; 202: %d, 429: %d, 503: %d, other status: %d, no answer: %d\n",
		r.Requests, r.MeasuredS, thousands(r.RequestsPerS), r.Accepted, r.Status429, r.Status503, r.OtherStatus, r.NetErrors)
	if r.FirstError != "" {
		fmt.Printf("first error: %s\n", r.FirstError)
	}
	fmt.Printf("latency:    p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (request sent → 202 read)\n", r.P50ms, r.P90ms, r.P99ms, r.MaxMs)
	fmt.Printf("server:     ready in %.1f ms; RSS %.1f MiB at the end (peak %.1f MiB); %d group commits of %.1f events on average\n",
		r.StartupMs, r.RSSMB, r.PeakRSSMB, r.Groups, r.GroupEvents)
	fmt.Printf("CPU:        server %.2f cores, load generator %.2f cores, other processes %.2f cores (of %d)\n",
		r.ServerCPU, r.GenCPU, r.OtherCPU, runtime.NumCPU())
	if r.OtherCPU > 0.2 {
		fmt.Printf("warning:    other processes used %.2f cores during the measurement: this result is disturbed\n", r.OtherCPU)
	}
	fmt.Printf("disk:       %s; %d alerts\n", r.Durable.Message, r.Alerts)
}

func printSummary(m machineInfo, rs []result) {
	fmt.Printf("Summary — %d CPUs (%s), %s/%s, %s; server and load generator share the CPUs\n", m.CPUs, m.CPUModel, m.OS, m.Arch, m.GoVersion)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tworkers\tevents/s\ttarget\t\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tdurable\tRSS MiB\tstartup ms\tfsync ms\tother CPU\t")
	for _, r := range rs {
		errs := r.Status429 + r.Status503 + r.OtherStatus + r.NetErrors
		dur := "yes"
		if !r.Durable.OK {
			dur = "NO"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t\n",
			r.Scenario, r.Concurrency, thousands(r.EventsPerSec), r.TargetText, metText(r.TargetMet),
			r.P50ms, r.P90ms, r.P99ms, r.MaxMs, errs, dur, r.RSSMB, r.StartupMs, r.FsyncP50ms, r.OtherCPU)
	}
	tw.Flush()
}

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// thousands formats a rate with thousands separators: 123,456.
func thousands(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
