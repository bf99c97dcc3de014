package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/engine"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/webhook"
	"github.com/klaxonhq/klaxon/internal/statuspage"
	"github.com/klaxonhq/klaxon/internal/store"
)

type serveConfig struct {
	dataDir, listen, db    string
	demo                   bool
	logLevel               slog.Level
	ratePerIntegration     float64
	rateBurst, maxQueued   int
	shutdownGrace          time.Duration
	debugListen, publicURL string
	bootstrapToken, email  string
	channels               channelConfig
}

func serveFlags(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dataDir, "data", envOr("KLAXON_DATA", "./klaxon-data"), "data directory for the embedded store (env KLAXON_DATA)")
	fs.StringVar(&c.listen, "listen", envOr("KLAXON_LISTEN", "127.0.0.1:8080"), "HTTP listen address (env KLAXON_LISTEN)")
	fs.StringVar(&c.db, "db", envOr("KLAXON_DB", ""), "postgres://… to use PostgreSQL instead of the embedded store (env KLAXON_DB)")
	fs.BoolVar(&c.demo, "demo", false, "load a demo organisation and print its integration keys")
	level := fs.String("log-level", envOr("KLAXON_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env KLAXON_LOG_LEVEL)")
	fs.Float64Var(&c.ratePerIntegration, "rate-limit", envFloat("KLAXON_RATE_LIMIT", 1000), "events per second each integration may send; 0 for no limit (env KLAXON_RATE_LIMIT)")
	fs.IntVar(&c.rateBurst, "rate-burst", envInt("KLAXON_RATE_BURST", 5000), "events an integration may send in a burst (at least 1000) (env KLAXON_RATE_BURST)")
	fs.IntVar(&c.maxQueued, "max-queued-events", envInt("KLAXON_MAX_QUEUED_EVENTS", 50000), "events that may wait for the store before new ones get 503 (env KLAXON_MAX_QUEUED_EVENTS)")
	fs.DurationVar(&c.shutdownGrace, "shutdown-grace", 30*time.Second, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&c.debugListen, "debug-listen", envOr("KLAXON_DEBUG_LISTEN", ""), "address for Go's pprof handlers, off when empty; keep it on loopback (env KLAXON_DEBUG_LISTEN)")
	fs.StringVar(&c.publicURL, "public-url", envOr("KLAXON_PUBLIC_URL", ""), "the server's URL as people reach it, for links in messages and calendar feeds; default: http:// and the listen address (env KLAXON_PUBLIC_URL)")
	fs.StringVar(&c.email, "admin-email", envOr("KLAXON_ADMIN_EMAIL", "admin@localhost"), "email of the first admin, created on first start")
	c.channels.flags(fs)
	configPath := fs.String("config", envOr("KLAXON_CONFIG", ""), "a YAML file of settings by flag name (smtp-url: …); flags and KLAXON_* variables win over it (env KLAXON_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return c, flagError(err)
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	if *configPath != "" {
		if err := applyConfigFile(fs, *configPath); err != nil {
			return c, err
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, usageError{fmt.Sprintf("--log-level: %v", err)}
	}
	c.bootstrapToken = os.Getenv("KLAXON_BOOTSTRAP_TOKEN")
	return c, nil
}

// serve runs the server until ctx ends (SIGTERM or SIGINT), then drains:
// in-flight requests finish, queued events commit, and only then does the
// process exit.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	c, err := serveFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))

	addr := c.db
	if addr == "" {
		if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		addr = filepath.Join(c.dataDir, "klaxon.db")
	}
	if !isPostgres(addr) {
		// One process per SQLite file, however it was named.
		unlock, err := lockDataDir(filepath.Dir(strings.TrimPrefix(addr, "sqlite://")))
		if err != nil {
			return err
		}
		defer unlock()
	}
	reg := prometheus.NewRegistry()
	st, err := store.Open(ctx, addr, store.Options{MaxQueuedEvents: c.maxQueued, OnCommit: commitMetrics(reg), Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()

	if err := bootstrap(ctx, st, c, stdout); err != nil {
		return err
	}
	if c.demo {
		if err := loadDemo(ctx, st, stdout); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	publicURL := c.publicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	// Built once the public URL is known: Twilio is told where to report.
	channels, err := c.channels.channels(publicURL)
	if err != nil {
		ln.Close()
		return err
	}
	keys, err := messageKeys(ctx, st, publicURL)
	if err != nil {
		return err
	}
	links := keys.links
	lifecycle, err := webhook.New(webhook.Config{}) // webhook subscriptions' own client
	if err != nil {
		return err
	}
	bundleWindow := c.channels.bundleWindow
	if bundleWindow <= 0 {
		bundleWindow = -1 // off; the engine reads 0 as "the default"
	}
	self := selfAlerts{st}
	var canary *engine.Canary
	if c.channels.canaryInterval > 0 {
		if bundleWindow > 0 && c.channels.canaryInterval <= bundleWindow+c.channels.canaryTimeout {
			return usageError{fmt.Sprintf("--canary-interval (%s) must be longer than --bundle-window plus --canary-timeout (%s): the canary's pages would wait to be bundled",
				c.channels.canaryInterval, bundleWindow+c.channels.canaryTimeout)}
		}
		canary = engine.NewCanary(engine.CanaryConfig{Interval: c.channels.canaryInterval, Timeout: c.channels.canaryTimeout,
			Inject: canaryInject(st, "http://"+ln.Addr().String()), Delivered: canarySent(st), Alarm: canaryAlarm(st, channels[klaxon.ContactEmail], self), Logger: log})
		channels[klaxon.ContactWebhook] = canary.Notifier(channels[klaxon.ContactWebhook])
	}
	eng := engine.New(st, engine.Config{Logger: log, Channels: channels, Links: links, WebhookSecret: keys.webhook,
		BundleWindow: bundleWindow, SelfAlerts: self, Lifecycle: lifecycle, WebhookSubscriptionSecret: keys.subscription})
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	engineDone := make(chan struct{})
	go func() { defer close(engineDone); eng.Run(engineCtx) }()
	defer func() { stopEngine(); <-engineDone }()
	// The workers beside the engine, stopped with it and waited for before
	// the store closes. Singleton duties run on one node of a cluster at a
	// time (on SQLite, the only node runs them).
	var workers sync.WaitGroup
	// Membership outlives the workers: a node stopping gracefully keeps
	// recording itself until its sends in flight have finished, so that
	// no other node takes it for dead and sends them again.
	memberCtx, stopMembership := context.WithCancel(context.WithoutCancel(ctx))
	var membership sync.WaitGroup
	defer func() { stopEngine(); <-engineDone; workers.Wait(); stopMembership(); membership.Wait() }()
	node := thisNode(eng.Owner(), start)
	heartbeat(ctx, st, node, log) // listed before the first request is served
	membership.Go(func() { heartbeats(memberCtx, st, node, log) })
	workers.Go(func() { takeOver(engineCtx, st, node.ID, log) })
	if canary != nil {
		workers.Go(func() { st.RunSingleton(engineCtx, "canary", canary.Run) })
	}

	// The public status page: rendered in the background on every change,
	// served from memory; its subscribers told by their own worker; its
	// maintenances and service-following components moved by the clock.
	pageURL := func(p klaxon.StatusPage) string {
		if p.URL != "" {
			return strings.TrimRight(p.URL, "/")
		}
		return publicURL
	}
	statusLinks := statuspage.Tokens{Key: keys.statusLinks}
	page := statuspage.New(statuspage.Config{Source: st, Subscriptions: st, Tokens: statusLinks, Logger: log, PublicURL: publicURL})
	statusMailer := engine.NewStatusMailer(st, engine.StatusMailerConfig{Logger: log,
		Email: channels[klaxon.ContactEmail], Webhook: lifecycle, WebhookBody: statuspage.WebhookBody,
		WebhookSecret: keys.statusSubscriber, PageURL: pageURL, Links: statusLinks, Owner: eng.Owner()})
	duties := &engine.StatusDuties{Store: st, Logger: log}
	for _, run := range []func(context.Context){page.Run, statusMailer.Run} {
		workers.Go(func() { run(engineCtx) })
	}
	workers.Go(func() { st.RunSingleton(engineCtx, "status-duties", duties.Run) })
	apiServer := api.New(api.Config{Store: st, Logger: log, Registry: reg, Version: version,
		RatePerIntegration: c.ratePerIntegration, RateBurst: c.rateBurst, PublicURL: publicURL, Links: links,
		WebhookSecret: keys.webhook, TwilioAuthToken: c.channels.twilioAuthToken(), SelfTest: selfTest(canary),
		WebhookSubscriptionSecret: keys.subscription, StatusWebhookSecret: keys.statusSubscriber, NodeAliveWithin: nodeAliveWithin})
	// The page's routes are served before the API sees a request: they are
	// public, and the hottest under an outage's traffic.
	root := http.NewServeMux()
	for _, rt := range page.Routes() {
		root.Handle(rt.Pattern, rt.Handler)
	}
	root.Handle("/", apiServer)

	srv := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	where := "embedded SQLite at " + addr
	if isPostgres(addr) {
		where = "PostgreSQL"
	}
	fmt.Fprintf(stdout, "Klaxon %s listening on http://%s (%s), ready in %s\n", version, ln.Addr(), where, time.Since(start).Round(time.Millisecond))
	log.Info("serving", "addr", ln.Addr().String(), "store", st.Dialect(), "startup_ms", time.Since(start).Milliseconds())

	if c.debugListen != "" {
		if err := serveDebug(c.debugListen, log); err != nil {
			return err
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests and pending commits")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown did not finish in time", "err", err)
	}
	stopEngine() // sends in flight finish; unsent jobs stay in the store for the next start
	<-engineDone
	workers.Wait()
	stopMembership()
	membership.Wait()
	if err := st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return nil
}

// Membership: every node records itself every heartbeatEvery, and is
// listed alive by GET /api/v1/cluster while it was seen within
// nodeAliveWithin (five heartbeats: a slow write or two does not make a
// node look dead). A node not seen for that long is taken for dead: the
// others end its leases and take its work over, so that a killed node's
// pages go out within about 6 s (DESIGN.md §11: ≤ 10 s).
const (
	heartbeatEvery  = time.Second
	nodeAliveWithin = 5 * time.Second
)

// thisNode is this process as the cluster's membership lists it; its id is
// the engine's lease owner, so that leases can be traced to their node.
func thisNode(id string, started time.Time) klaxon.Node {
	host, _ := os.Hostname()
	return klaxon.Node{ID: id, Version: version, Host: host, PID: os.Getpid(), StartedAt: started}
}

// heartbeat records the node once; a failure is logged, not fatal: the
// node still works, and is listed again after its next heartbeat.
func heartbeat(ctx context.Context, st *store.Store, n klaxon.Node, log *slog.Logger) {
	hctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
	defer cancel()
	if err := st.Heartbeat(hctx, n); err != nil && ctx.Err() == nil {
		log.Warn("cluster: could not record this node; it may be listed as not alive", "node", n.ID, "err", err)
	}
}

// heartbeats records the node every heartbeatEvery until ctx ends. It does
// nothing else, so that nothing slow delays it.
func heartbeats(ctx context.Context, st *store.Store, n klaxon.Node, log *slog.Logger) {
	everyBeat(ctx, func() { heartbeat(ctx, st, n, log) })
}

// takeOver ends, every heartbeatEvery, the leases of nodes not seen for
// nodeAliveWithin, so that this node and the others take their work over.
func takeOver(ctx context.Context, st *store.Store, self string, log *slog.Logger) {
	everyBeat(ctx, func() {
		rctx, cancel := context.WithTimeout(ctx, 2*heartbeatEvery)
		released, err := st.ReleaseLeasesOfDeadNodes(rctx, self, time.Now(), nodeAliveWithin)
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("cluster: could not release the leases of dead nodes", "err", err)
		} else if released > 0 {
			log.Info("cluster: took over the work of nodes not seen for a while", "leases", released, "dead_after", nodeAliveWithin.String())
		}
	})
}

// everyBeat runs f every heartbeatEvery until ctx ends.
func everyBeat(ctx context.Context, f func()) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// selfTest is the canary's state for /readyz; nil when the canary is off.
func selfTest(c *engine.Canary) func() error {
	if c == nil {
		return nil
	}
	return c.Healthy
}

// secretKeys are the keys derived from the store's secret feed key: the
// key that signs response links, the signing key of each webhook contact
// method, webhook subscription and status page webhook subscriber, and the
// key of status page subscription links. Deriving them from the store
// means that what one node (or the process before a restart) made works on
// every other.
type secretKeys struct {
	links            *notify.Linker
	webhook          func(contactMethodID int64) []byte
	subscription     func(subscriptionID int64) []byte
	statusSubscriber func(subscriberID int64) []byte
	statusLinks      []byte
}

func messageKeys(ctx context.Context, st *store.Store, publicURL string) (secretKeys, error) {
	key, err := st.FeedKey(ctx)
	if err != nil {
		return secretKeys{}, err
	}
	derive := func(purpose string) []byte {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(purpose))
		return mac.Sum(nil)
	}
	perID := func(purpose string) func(int64) []byte {
		return func(id int64) []byte { return derive(purpose + " " + strconv.FormatInt(id, 10)) }
	}
	return secretKeys{
		links:            notify.NewLinker(derive("klaxon response links"), publicURL),
		webhook:          perID("klaxon webhook contact method"),
		subscription:     perID("klaxon webhook subscription"),
		statusSubscriber: perID("klaxon status page webhook subscriber"),
		statusLinks:      derive("klaxon status page subscription links"),
	}, nil
}

// commitMetrics records each group commit: how many events it carried and
// how long it took, the two numbers that explain ingest throughput.
func commitMetrics(reg prometheus.Registerer) func(int, time.Duration, error) {
	size := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "klaxon_ingest_group_events", Help: "Events per group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 13),
	})
	took := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "klaxon_ingest_commit_seconds", Help: "Duration of a group transaction (apply and commit; the WAL fsync that follows overlaps the next group).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 15),
	})
	failed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "klaxon_ingest_commit_failures_total", Help: "Group commits that failed (their requests were retried alone).",
	})
	reg.MustRegister(size, took, failed)
	return func(events int, d time.Duration, err error) {
		size.Observe(float64(events))
		took.Observe(d.Seconds())
		if err != nil {
			failed.Inc()
		}
	}
}

// serveDebug serves Go's profiler on its own listener, never on the API's:
// profiles reveal internals and cost CPU.
func serveDebug(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	log.Info("pprof serving", "addr", ln.Addr().String())
	go http.Serve(ln, mux)
	return nil
}

// bootstrap creates the first admin on a fresh database and prints their
// API token once. KLAXON_BOOTSTRAP_TOKEN, when set, is that token (for
// automation); it is never printed back.
func bootstrap(ctx context.Context, st *store.Store, c serveConfig, stdout io.Writer) error {
	token := c.bootstrapToken
	if token == "" {
		token = klaxon.NewAPIToken()
	} else if len(token) < 16 {
		return errors.New("KLAXON_BOOTSTRAP_TOKEN must be at least 16 characters")
	}
	admin := klaxon.User{Name: "Admin", Email: c.email, Role: klaxon.RoleOwner}
	created, err := st.Bootstrap(ctx, &admin, token)
	if err != nil {
		return err
	}
	if !created {
		return nil
	}
	if c.bootstrapToken != "" {
		fmt.Fprintf(stdout, "First start: created admin %s with the API token from KLAXON_BOOTSTRAP_TOKEN.\n", admin.Email)
		return nil
	}
	fmt.Fprintf(stdout, "First start: created admin %s.\nAdmin API token (shown once, keep it safe): %s\n", admin.Email, token)
	return nil
}

// lockDataDir takes an exclusive lock on the data directory: two processes
// writing one SQLite file would each believe they own the group commit.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "klaxon.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another klaxon process", dir)
	}
	return func() { f.Close() }, nil
}

func isPostgres(addr string) bool {
	return strings.HasPrefix(addr, "postgres://") || strings.HasPrefix(addr, "postgresql://")
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
