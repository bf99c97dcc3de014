package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// Klaxon as a cluster (issue 6): three real nodes on one PostgreSQL
// database, on loopback. What one node makes, the others see; events go in
// through all of them; a node killed while it holds notification leases
// has its pages sent by the others within 10 s; a rolling restart of every
// node under load fails no injection.

// pageReceiver is a webhook contact method's receiver that can hold
// requests open (a stuck provider), and records which alerts it has
// answered.
type pageReceiver struct {
	mu        sync.Mutex
	holding   bool
	release   chan struct{}
	inFlight  atomic.Int64
	delivered map[int64]int // alert id → answered requests
}

func newPageReceiver() *pageReceiver {
	return &pageReceiver{release: make(chan struct{}), delivered: map[int64]int{}}
}

func (p *pageReceiver) hold() { p.mu.Lock(); p.holding = true; p.mu.Unlock() }

func (p *pageReceiver) let() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holding {
		p.holding = false
		close(p.release)
	}
}

func (p *pageReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Alerts []struct {
			ID json.Number `json:"id"`
		} `json:"alerts"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	holding, release := p.holding, p.release
	p.mu.Unlock()
	if holding {
		p.inFlight.Add(1)
		select {
		case <-release:
		case <-r.Context().Done(): // the sender died or gave up: not delivered
			p.inFlight.Add(-1)
			return
		}
		p.inFlight.Add(-1)
	}
	p.mu.Lock()
	for _, a := range body.Alerts {
		id, _ := a.ID.Int64()
		p.delivered[id]++
	}
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (p *pageReceiver) count(id int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delivered[id]
}

// clusterNode starts one node of a cluster on db.
func clusterNode(t *testing.T, db string) *harness.Server {
	t.Helper()
	return startServer(t, harness.Options{Args: []string{"--db", db, "--bundle-window", "0", "--canary-interval", "0"}})
}

// setUpWebhookPaging makes a person paged at once on a webhook contact
// method pointing at url, by the policy of a new service; it returns the
// service's integration key.
func setUpWebhookPaging(t *testing.T, srv *harness.Server, url string) string {
	t.Helper()
	a := statusAPI{t, srv}
	user := a.id("POST", "/api/v1/users", map[string]any{"name": "Ada Oncall", "email": "ada@example.com", "role": "responder"})
	cm := a.id("POST", "/api/v1/users/"+user+"/contact-methods", map[string]any{"type": "webhook", "address": url})
	a.do("POST", "/api/v1/users/"+user+"/notification-rules", map[string]any{"contact_method_id": cm, "delay_minutes": 0, "urgency": "high"})
	policy := a.id("POST", "/api/v1/escalation-policies", map[string]any{"name": "Now", "steps": []any{
		map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "user", "id": user}}}}})
	svc := a.id("POST", "/api/v1/services", map[string]any{"name": "payments", "escalation_policy_id": policy})
	out := a.do("POST", "/api/v1/services/"+svc+"/integrations", map[string]any{"kind": "api"})
	return out["key"].(string)
}

func TestClusterSharesWorkAndSurvivesAKill(t *testing.T) {
	db := storetest.PostgresURL(t)
	recv := newPageReceiver()
	hook := httptest.NewServer(recv)
	defer hook.Close()
	defer recv.let()

	first := clusterNode(t, db)
	key := setUpWebhookPaging(t, first, hook.URL)

	// While the receiver is stuck, the first node alone takes the pages:
	// it holds their leases when it is killed.
	recv.hold()
	var alerts []int64
	for i := range 4 {
		ev := sendOne(t, first.URL, key, map[string]any{"action": "trigger", "dedup_key": fmt.Sprintf("stuck-%d", i),
			"summary": "Payments failing", "severity": "critical"})
		alerts = append(alerts, ev.alertID)
	}
	eventually(t, "the first node sending the pages", 10*time.Second, func() error {
		if n := recv.inFlight.Load(); n < int64(len(alerts)) {
			return fmt.Errorf("%d pages in flight", n)
		}
		return nil
	})
	second, third := clusterNode(t, db), clusterNode(t, db)
	nodes := []*harness.Server{first, second, third}
	eventually(t, "three nodes alive", 15*time.Second, func() error {
		for _, n := range nodes {
			var c struct {
				Nodes []struct {
					ID    string `json:"id"`
					Alive bool   `json:"alive"`
				} `json:"nodes"`
			}
			getJSON(t, n, "/api/v1/cluster", &c)
			alive := 0
			for _, x := range c.Nodes {
				if x.Alive {
					alive++
				}
			}
			if alive != 3 {
				return fmt.Errorf("%s sees %d alive nodes: %+v", n.URL, alive, c.Nodes)
			}
		}
		return nil
	})

	// What one node made, the others see.
	svcID, _ := createService(t, second, "search")
	for _, n := range []*harness.Server{first, third} {
		var got struct{ ID, Name string }
		getJSON(t, n, "/api/v1/services/"+svcID, &got)
		if got.Name != "search" {
			t.Errorf("%s: service %s is %+v", n.URL, svcID, got)
		}
	}

	// Events go in through every node while the first is killed.
	_, loadKey := createService(t, third, "ingest")
	var mu sync.Mutex
	live := []string{first.URL, second.URL, third.URL}
	ld := startInjecting(loadKey, func() []string { mu.Lock(); defer mu.Unlock(); return live })
	time.Sleep(300 * time.Millisecond)
	first.Kill()
	killed := time.Now()
	mu.Lock()
	live = []string{second.URL, third.URL}
	mu.Unlock()
	recv.let()
	for _, id := range alerts {
		eventually(t, fmt.Sprintf("alert %d's page sent by another node", id), 12*time.Second, func() error {
			if recv.count(id) == 0 {
				return fmt.Errorf("not delivered %s after the kill", time.Since(killed).Round(time.Millisecond))
			}
			return nil
		})
	}
	if took := time.Since(killed); took > 10*time.Second {
		t.Errorf("the killed node's pages took %s to be sent by the others; want ≤ 10 s", took)
	}
	accepted := ld.stop(t, "the kill")
	// Every event a node acknowledged is stored, the killed node's
	// included; the first alerts' events are the 4 stuck pages' triggers.
	if stored := storedEvents(t, second); stored < accepted+int64(len(alerts)) {
		t.Errorf("%d events accepted during the kill (plus %d before), %d stored", accepted, len(alerts), stored)
	}

	// A page created through one node is sent at once by whichever claims it.
	ev := sendOne(t, third.URL, key, map[string]any{"action": "trigger", "dedup_key": "fresh", "summary": "New failure", "severity": "critical"})
	start := time.Now()
	eventually(t, "a new page through the third node", 5*time.Second, func() error {
		if recv.count(ev.alertID) == 0 {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a new page took %s; nodes should wake each other at once", took)
	}
}

// TestClusterRollingRestart: while events flow in through every node, each
// node in turn is stopped (SIGTERM) and started again; a sender that finds
// a node gone tries the next, as a load balancer would. Every event ends
// accepted, and every accepted event is stored.
func TestClusterRollingRestart(t *testing.T) {
	db := storetest.PostgresURL(t)
	nodes := []*harness.Server{clusterNode(t, db), clusterNode(t, db), clusterNode(t, db)}
	_, key := createService(t, nodes[0], "ingest")
	var mu sync.Mutex
	urls := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, n := range nodes {
			out = append(out, n.URL)
		}
		return out
	}

	ld := startInjecting(key, urls)
	for i := range nodes {
		time.Sleep(500 * time.Millisecond)
		if err := nodes[i].Stop(30 * time.Second); err != nil {
			t.Errorf("stopping node %d: %v", i, err)
		}
		n := clusterNode(t, db)
		mu.Lock()
		nodes[i] = n
		mu.Unlock()
	}
	time.Sleep(500 * time.Millisecond)
	accepted := ld.stop(t, "the rolling restart")
	if stored := storedEvents(t, nodes[0]); stored < accepted {
		t.Errorf("%d events accepted, %d stored", accepted, stored)
	}
	if !strings.HasPrefix(nodes[0].URL, "http://127.0.0.1:") {
		t.Errorf("node URL %q is not on loopback", nodes[0].URL)
	}
}

// injector sends events through every node while a test disturbs them; a
// sender that finds a node gone (or answering 503) tries the next, as a
// load balancer would.
type injector struct {
	cancel           context.CancelFunc
	wg               sync.WaitGroup
	accepted, failed atomic.Int64
	firstFailure     atomic.Value
}

func startInjecting(key string, urls func() []string) *injector {
	ctx, cancel := context.WithCancel(context.Background())
	in := &injector{cancel: cancel}
	client := newClient(8)
	for w := range 4 {
		in.wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 5000; i++ {
				body := map[string]any{"action": "trigger", "dedup_key": fmt.Sprintf("w%d-%d", w, i), "summary": "load", "severity": "warning"}
				ok := false
				for attempt := range 6 { // each node twice
					all := urls()
					u := all[(i+attempt)%len(all)]
					status, raw, err := post(context.Background(), client, u+"/api/v1/events", key, body)
					if err == nil && status == http.StatusAccepted {
						ok = true
						break
					}
					if err == nil && status != http.StatusServiceUnavailable {
						in.firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s", status, raw))
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if ok {
					in.accepted.Add(1)
				} else {
					in.failed.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	return in
}

// stop ends the injection and fails the test if any event could not be
// injected through any node; it returns how many were accepted.
func (in *injector) stop(t *testing.T, during string) int64 {
	t.Helper()
	in.cancel()
	in.wg.Wait()
	if in.failed.Load() > 0 {
		t.Errorf("%d injections failed during %s (first: %v)", in.failed.Load(), during, in.firstFailure.Load())
	}
	if in.accepted.Load() == 0 {
		t.Fatalf("nothing was injected during %s", during)
	}
	return in.accepted.Load()
}

// storedEvents counts the events stored in all alerts, through the API.
func storedEvents(t *testing.T, srv *harness.Server) int64 {
	t.Helper()
	var stored int64
	var page struct {
		Alerts []struct {
			ID         string `json:"id"`
			EventCount int64  `json:"event_count"`
		} `json:"alerts"`
		NextCursor string `json:"next_cursor"`
	}
	path := "/api/v1/alerts?limit=1000"
	for {
		getJSON(t, srv, path, &page)
		for _, a := range page.Alerts {
			stored += a.EventCount
		}
		if page.NextCursor == "" || len(page.Alerts) == 0 {
			break
		}
		path = "/api/v1/alerts?limit=1000&cursor=" + page.NextCursor
		page.Alerts, page.NextCursor = nil, ""
	}
	return stored
}
