package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// TestClusterNodes: GET /api/v1/cluster lists the nodes that recorded
// themselves, newest started first, alive when seen within the window, in
// the documented shape; any token may read it, none may not.
func TestClusterNodes(t *testing.T) {
	clk := &movableClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	e := newEnv(t, storetest.OpenSQLite, store.Options{Clock: clk}, api.Config{Clock: clk, NodeAliveWithin: 15 * time.Second})
	ctx := context.Background()
	_, viewer := e.createToken(t, "dashboard", klaxon.RoleViewer)

	if r := e.call(t, "GET", "/api/v1/cluster", viewer, nil); r.status != http.StatusOK || string(r.body) != `{"nodes":[]}`+"\n" {
		t.Fatalf("no nodes yet: %s", r)
	}
	started := clk.Now()
	if err := e.store.Heartbeat(ctx, klaxon.Node{ID: "host-a/10/aa", Version: "1.2.0", Host: "host-a", PID: 10, StartedAt: started}); err != nil {
		t.Fatal(err)
	}
	clk.add(20 * time.Second)
	if err := e.store.Heartbeat(ctx, klaxon.Node{ID: "host-b/20/bb", Version: "1.3.0", Host: "host-b", PID: 20, StartedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}

	if r := e.call(t, "GET", "/api/v1/cluster", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %s, want 401", r)
	}
	r := e.call(t, "GET", "/api/v1/cluster", viewer, nil)
	if r.status != http.StatusOK {
		t.Fatalf("as viewer: %s", r)
	}
	conforms(t, e, "NodeList", r.obj(t))
	var got struct {
		Nodes []map[string]any `json:"nodes"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"id": "host-b/20/bb", "version": "1.3.0", "host": "host-b", "pid": json.Number("20"),
			"started_at": "2026-05-01T10:00:20Z", "last_seen": "2026-05-01T10:00:20Z", "alive": true},
		{"id": "host-a/10/aa", "version": "1.2.0", "host": "host-a", "pid": json.Number("10"),
			"started_at": "2026-05-01T10:00:00Z", "last_seen": "2026-05-01T10:00:00Z", "alive": false},
	}
	if len(got.Nodes) != len(want) {
		t.Fatalf("nodes = %v, want %v", got.Nodes, want)
	}
	for i := range want {
		if len(got.Nodes[i]) != len(want[i]) {
			t.Errorf("node %d has fields %v, want exactly %v", i, got.Nodes[i], want[i])
		}
		for k, v := range want[i] {
			if got.Nodes[i][k] != v {
				t.Errorf("node %d: %s = %v, want %v", i, k, got.Nodes[i][k], v)
			}
		}
	}
}
