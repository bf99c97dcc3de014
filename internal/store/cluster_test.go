package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// Several nodes on one PostgreSQL schema, each a Store of its own, as
// several klaxon processes would be: wake-ups across nodes (LISTEN/NOTIFY),
// singleton duties (advisory locks), and starting together.

// openNode opens one more node on the database at url.
func openNode(t *testing.T, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// adminDB is a plain connection to the test database, for what an
// operator (or a failure) does behind the nodes' backs.
func adminDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func drain(cs ...<-chan struct{}) {
	for _, c := range cs {
		select {
		case <-c:
		default:
		}
	}
}

// heard waits up to within for a signal on c and says how long it took.
func heard(c <-chan struct{}, within time.Duration) (time.Duration, bool) {
	start := time.Now()
	select {
	case <-c:
		return time.Since(start), true
	case <-time.After(within):
		return within, false
	}
}

// silent fails the test if c is signalled within d.
func silent(t *testing.T, what string, c <-chan struct{}, d time.Duration) {
	t.Helper()
	if took, ok := heard(c, d); ok {
		t.Errorf("%s: signalled after %s, want no signal", what, took)
	}
}

func serviceOn(t *testing.T, s *store.Store, name string) klaxon.Service {
	t.Helper()
	svc := klaxon.Service{Name: name}
	if err := s.CreateService(context.Background(), "test", &svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

func ingestOn(t *testing.T, s *store.Store, svc klaxon.Service, dedup string) klaxon.IngestResult {
	t.Helper()
	res, err := s.Ingest(context.Background(), []klaxon.Event{{ServiceID: svc.ID, IntegrationID: 1, Action: klaxon.ActionTrigger,
		DedupKey: dedup, Summary: "disk full", Severity: klaxon.SeverityCritical}})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res[0]
}

// TestPostgresWakeUpsAcrossNodes: a commit on one node that made work
// wakes the matching worker on the other within a second, and nothing
// else does: not a group that only folded events, not another schema's.
// (That a node ignores its own notifications is TestListenerDelivers.)
func TestPostgresWakeUpsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	url := storetest.PostgresURL(t)
	a, b := openNode(t, url), openNode(t, url)
	svc := serviceOn(t, a, "checkout")
	var slowest time.Duration
	expect := func(what string, c <-chan struct{}) {
		t.Helper()
		took, ok := heard(c, time.Second)
		if !ok {
			t.Fatalf("%s: the other node was not woken within 1 s", what)
		}
		slowest = max(slowest, took)
		t.Logf("%s: other node woken after %s", what, took)
	}

	drain(a.Work(), b.Work())
	first := ingestOn(t, a, svc, "disk")
	if !first.Created {
		t.Fatalf("first event did not create an alert: %+v", first)
	}
	expect("new alert ingested", b.Work())
	if _, ok := heard(a.Work(), time.Second); !ok {
		t.Fatal("the ingesting node's own engine was not signalled")
	}

	drain(b.Work())
	if again := ingestOn(t, a, svc, "disk"); again.Created {
		t.Fatalf("a repeat created an alert: %+v", again)
	}
	silent(t, "a group that only folded into an open alert", b.Work(), 300*time.Millisecond)

	drain(b.Work())
	if _, err := a.AcknowledgeAlert(ctx, "test", first.AlertID); err != nil {
		t.Fatal(err)
	}
	expect("alert acknowledged by hand", b.Work())

	drain(b.StatusChanges(), b.StatusWork())
	name := "Acme status"
	if _, err := a.UpdateStatusPage(ctx, "test", klaxon.StatusPagePatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	expect("status page changed", b.StatusChanges())
	silent(t, "status deliveries after a change that made none", b.StatusWork(), 200*time.Millisecond)

	drain(b.StatusChanges(), b.StatusWork())
	sub := klaxon.StatusSubscriber{Kind: klaxon.SubscriberEmail, Address: "ops@example.com"}
	if _, err := a.CreateStatusSubscriber(ctx, "test", &sub); err != nil {
		t.Fatal(err)
	}
	expect("subscriber's confirmation queued", b.StatusWork())
	silent(t, "the page after a subscriber (not on the page)", b.StatusChanges(), 200*time.Millisecond)

	// Another schema on the same database is another cluster.
	other := openNode(t, storetest.PostgresURL(t))
	drain(b.Work())
	ingestOn(t, other, serviceOn(t, other, "elsewhere"), "x")
	silent(t, "a node of another schema's cluster", b.Work(), 300*time.Millisecond)
	t.Logf("slowest wake-up across nodes: %s", slowest)
}

// TestPostgresListenerReconnects kills the listening connection of a node:
// it comes back on its own, looks for the work it may have missed, and is
// woken by the other node again.
func TestPostgresListenerReconnects(t *testing.T) {
	url := storetest.PostgresURL(t)
	a, b := openNode(t, url), openNode(t, url)
	svc := serviceOn(t, a, "checkout")
	pid := store.ListenerPID(b)
	if pid == 0 {
		t.Fatal("no listener connection on PostgreSQL")
	}
	drain(b.Work(), b.StatusChanges(), b.StatusWork())
	if _, err := adminDB(t, url).Exec(`SELECT pg_terminate_backend($1)`, int64(pid)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for store.ListenerPID(b) == 0 || store.ListenerPID(b) == pid {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the listener did not reconnect within 5 s (pid %d)", store.ListenerPID(b))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("listener reconnected after %s", time.Since(start))
	for what, c := range map[string]<-chan struct{}{"Work": b.Work(), "StatusChanges": b.StatusChanges(), "StatusWork": b.StatusWork()} {
		select {
		case <-c:
		default:
			t.Errorf("%s was not signalled after reconnecting: work committed meanwhile would wait for a timed pass", what)
		}
	}
	drain(b.Work())
	ingestOn(t, a, svc, "after-reconnect")
	took, ok := heard(b.Work(), time.Second)
	if !ok {
		t.Fatal("after reconnecting, the node is not woken by the other")
	}
	t.Logf("woken after reconnecting in %s", took)
}

// duty records who runs a singleton duty, and the most that ever ran it
// at once.
type duty struct {
	running, most atomic.Int32
	who           atomic.Value // string
}

func (d *duty) run(node string) func(context.Context) {
	return func(ctx context.Context) {
		n := d.running.Add(1)
		for {
			m := d.most.Load()
			if n <= m || d.most.CompareAndSwap(m, n) {
				break
			}
		}
		d.who.Store(node)
		<-ctx.Done()
		d.who.Store("")
		d.running.Add(-1)
	}
}

func (d *duty) holder() string { s, _ := d.who.Load().(string); return s }

// waitHolder waits up to within for some node other than not to run the
// duty, and says which and after how long.
func (d *duty) waitHolder(t *testing.T, not string, within time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		if h := d.holder(); h != "" && h != not {
			return h, time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("no node other than %q took the duty within %s", not, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockHolderPID is the backend that holds the singleton duty's advisory
// lock, as the server sees it.
func lockHolderPID(t *testing.T, db *sql.DB, name string) int64 {
	t.Helper()
	rows, err := db.Query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('klaxon.singleton.' || current_schema() || '.' || $1, 0)`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 1 {
		t.Fatalf("%d sessions hold duty %q, want 1: %v", len(pids), name, pids)
	}
	return pids[0]
}

// TestPostgresSingletonOneAtATime runs one duty on two nodes: exactly one
// runs it; when its session is killed, or its node stops, the other takes
// it over within seconds, never both at once.
func TestPostgresSingletonOneAtATime(t *testing.T) {
	url := storetest.PostgresURL(t)
	db := adminDB(t, url)
	nodes := map[string]*store.Store{"a": openNode(t, url), "b": openNode(t, url)}
	var d duty
	stop := map[string]context.CancelFunc{}
	returned := map[string]chan struct{}{}
	for name, s := range nodes {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		stop[name], returned[name] = cancel, done
		go func() {
			defer close(done)
			s.RunSingleton(ctx, "duty", d.run(name))
		}()
	}
	t.Cleanup(func() {
		for name, cancel := range stop {
			cancel()
			<-returned[name]
		}
	})

	first, took := d.waitHolder(t, "", 3*time.Second)
	t.Logf("node %s took the duty after %s", first, took)
	time.Sleep(2*time.Second + 500*time.Millisecond) // the other has tried again meanwhile
	if d.holder() != first || d.running.Load() != 1 {
		t.Fatalf("after a retry period: holder %q, %d running", d.holder(), d.running.Load())
	}

	// A different duty is not held by this one's lock.
	var other duty
	otherCtx, stopOther := context.WithCancel(context.Background())
	otherDone := make(chan struct{})
	go func() { defer close(otherDone); nodes["b"].RunSingleton(otherCtx, "other-duty", other.run("b")) }()
	other.waitHolder(t, "", 3*time.Second)
	stopOther()
	<-otherDone

	// The server ends the holder's session (as when a node is cut off, or
	// an operator kills it): the other node takes over.
	if _, err := db.Exec(`SELECT pg_terminate_backend($1)`, lockHolderPID(t, db, "duty")); err != nil {
		t.Fatal(err)
	}
	second, took := d.waitHolder(t, first, 5*time.Second)
	t.Logf("session killed: node %s took over after %s", second, took)

	// The node whose session was killed tries again, and waits.
	time.Sleep(2*time.Second + 500*time.Millisecond)
	if d.holder() != second || d.running.Load() != 1 {
		t.Fatalf("after the killed node retried: holder %q, %d running", d.holder(), d.running.Load())
	}

	// The holder stops (its context ends, as in a graceful shutdown): it
	// returns once run has, and the other takes over.
	stop[second]()
	select {
	case <-returned[second]:
	case <-time.After(2 * time.Second):
		t.Fatal("RunSingleton did not return within 2 s of its context ending")
	}
	third, took := d.waitHolder(t, second, 5*time.Second)
	t.Logf("holder stopped: node %s took over after %s", third, took)
	if m := d.most.Load(); m != 1 {
		t.Errorf("%d nodes ran the duty at once", m)
	}
	lockHolderPID(t, db, "duty") // exactly one session holds it
}

// TestPostgresNodesStartTogether starts several nodes at once on an empty
// schema: every one migrates (or waits for the one migrating), exactly one
// creates the first admin, and all agree on the shared secrets.
func TestPostgresNodesStartTogether(t *testing.T) {
	ctx := context.Background()
	url := storetest.PostgresURL(t)
	const n = 5
	nodes := make([]*store.Store, n)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			s, err := store.Open(ctx, url, store.Options{})
			if err != nil {
				t.Errorf("node %d: open: %v", i, err)
				return
			}
			nodes[i] = s
		})
	}
	wg.Wait()
	for _, s := range nodes {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	var created atomic.Int32
	keys := make([]string, n)
	start := make(chan struct{})
	for i, s := range nodes {
		wg.Go(func() {
			<-start
			admin := klaxon.User{Name: "Admin", Email: "admin@localhost", Role: klaxon.RoleOwner}
			ok, err := s.Bootstrap(ctx, &admin, fmt.Sprintf("klx_bootstrap_token_%d", i))
			if err != nil {
				t.Errorf("node %d: bootstrap: %v", i, err)
			}
			if ok {
				created.Add(1)
			}
			key, err := s.FeedKey(ctx)
			if err != nil {
				t.Errorf("node %d: feed key: %v", i, err)
			}
			keys[i] = fmt.Sprintf("%x", key)
		})
	}
	close(start)
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d nodes created the first admin, want exactly 1", created.Load())
	}
	users, err := nodes[0].ListUsers(ctx, klaxon.Page{})
	if err != nil || len(users) != 1 {
		t.Fatalf("users = %+v, %v; want one admin", users, err)
	}
	tokens, err := nodes[n-1].ListAPITokens(ctx)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens = %+v, %v; want one bootstrap token", tokens, err)
	}
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatalf("node %d's feed key differs from node 0's: links signed on one would fail on the other", i)
		}
	}
}

// TestPostgresMembershipUsesTheDatabaseClock: nodes record and judge
// liveness by the database's clock, so a node whose own clock is off (here:
// asked with a "now" a minute ahead or behind) still sees the others alive,
// and does not release their leases.
func TestPostgresMembershipUsesTheDatabaseClock(t *testing.T) {
	url := storetest.PostgresURL(t)
	a, b := openNode(t, url), openNode(t, url)
	ctx := context.Background()
	for _, n := range []klaxon.Node{{ID: "a", Version: "t", Host: "h", PID: 1}, {ID: "b", Version: "t", Host: "h", PID: 2}} {
		if err := a.Heartbeat(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, skew := range []time.Duration{time.Minute, -time.Minute} {
		nodes, err := b.ListNodes(ctx, time.Now().Add(skew), 5*time.Second)
		if err != nil || len(nodes) != 2 || !nodes[0].Alive || !nodes[1].Alive {
			t.Errorf("with a clock %s off: %+v, %v; want both alive", skew, nodes, err)
		}
		if n, err := b.ReleaseLeasesOfDeadNodes(ctx, "b", time.Now().Add(skew), 5*time.Second); err != nil || n != 0 {
			t.Errorf("with a clock %s off: released %d leases (%v)", skew, n, err)
		}
	}
}
