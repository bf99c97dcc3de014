package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// The cluster conformance tests: membership rows, and singleton duties as
// one node sees them (several nodes are tested in the store package, on
// PostgreSQL only).

func testClusterNodes(t *testing.T, open Opener) {
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clk})
	if list, err := s.ListNodes(ctx, clk.Now(), 15*time.Second); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("no nodes yet: %#v, %v (want an empty, non-nil list)", list, err)
	}
	for _, bad := range []struct {
		n     klaxon.Node
		field string
	}{
		{klaxon.Node{}, "id"},
		{klaxon.Node{ID: "  "}, "id"},
		{klaxon.Node{ID: strings.Repeat("x", 300)}, "id"},
		{klaxon.Node{ID: "a", Host: "h\x00"}, "host"},
		{klaxon.Node{ID: "a", PID: -1}, "pid"},
	} {
		err := s.Heartbeat(ctx, bad.n)
		if e, ok := klaxon.AsError(err); !ok || e.Field != bad.field {
			t.Errorf("heartbeat %+v: %v, want an error naming %q", bad.n, err, bad.field)
		}
	}

	started := clk.Now().Add(-time.Minute)
	old := klaxon.Node{ID: "host-a/100/aa", Version: "1.0.0", Host: "host-a", PID: 100, StartedAt: started}
	if err := s.Heartbeat(ctx, old); err != nil {
		t.Fatal(err)
	}
	clk.add(5 * time.Second)
	young := klaxon.Node{ID: "host-b/200/bb", Version: "1.1.0", Host: "host-b", PID: 200} // StartedAt: its first heartbeat
	if err := s.Heartbeat(ctx, young); err != nil {
		t.Fatal(err)
	}
	youngStart := clk.Now()
	clk.add(5 * time.Second)
	old.StartedAt = time.Time{} // a later heartbeat does not move the start
	old.Version = "1.0.1"
	if err := s.Heartbeat(ctx, old); err != nil {
		t.Fatal(err)
	}
	oldSeen := clk.Now()

	clk.add(12 * time.Second) // young last seen 17 s ago, old 12 s ago
	list, err := s.ListNodes(ctx, clk.Now(), 15*time.Second)
	if err != nil || len(list) != 2 {
		t.Fatalf("nodes = %+v, %v", list, err)
	}
	want := []klaxon.Node{
		{ID: young.ID, Version: "1.1.0", Host: "host-b", PID: 200, StartedAt: youngStart, LastSeen: youngStart, Alive: false},
		{ID: old.ID, Version: "1.0.1", Host: "host-a", PID: 100, StartedAt: started, LastSeen: oldSeen, Alive: true},
	}
	for i := range want {
		g, w := list[i], want[i]
		if g.ID != w.ID || g.Version != w.Version || g.Host != w.Host || g.PID != w.PID ||
			!g.StartedAt.Equal(w.StartedAt) || !g.LastSeen.Equal(w.LastSeen) || g.Alive != w.Alive {
			t.Errorf("node %d = %+v, want %+v (newest started first)", i, g, w)
		}
	}
	// Alive is relative to the window asked for.
	if list, _ := s.ListNodes(ctx, clk.Now(), time.Minute); len(list) != 2 || !list[0].Alive || !list[1].Alive {
		t.Errorf("with a one-minute window both are alive: %+v", list)
	}

	// A node gone for a week is left out, and the next heartbeat of any
	// node deletes its row.
	clk.add(7*24*time.Hour - 15*time.Second) // young: 7 days and 2 s; old: 6 days 23:59:57
	if list, _ := s.ListNodes(ctx, clk.Now(), 15*time.Second); len(list) != 1 || list[0].ID != old.ID || list[0].Alive {
		t.Fatalf("after a week: %+v, want only %s, not alive", list, old.ID)
	}
	clk.add(10 * time.Second)
	third := klaxon.Node{ID: "host-c/300/cc", Host: "host-c", PID: 300}
	if err := s.Heartbeat(ctx, third); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListNodes(ctx, clk.Now().Add(-8*24*time.Hour), 15*time.Second); len(list) != 1 || list[0].ID != third.ID {
		t.Errorf("rows of nodes gone for a week should be deleted; listing from long ago finds %+v", list)
	}
}

// testSingletonRuns: on one node a singleton duty runs at once, its
// context ends with RunSingleton's, and RunSingleton returns after it.
func testSingletonRuns(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx, cancel := context.WithCancel(ctx)
	started, finished, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(returned)
		s.RunSingleton(ctx, "test-duty", func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			close(finished)
		})
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the duty did not start on the only node")
	}
	cancel()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("RunSingleton did not return after its context ended")
	}
	select {
	case <-finished:
	default:
		t.Fatal("RunSingleton returned before the duty did")
	}
}
