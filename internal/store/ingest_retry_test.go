package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// TestIngestGroupRetriedAlone: when a group's transaction fails because of
// one request (on PostgreSQL, a deadlock with another node's group does
// this), every request is applied again alone; the others are stored and
// answered with their alerts, and only the failing one gets the error.
func TestIngestGroupRetriedAlone(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "klaxon.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := klaxon.Service{Name: "api", State: klaxon.ServiceActive}
	if err := s.CreateService(ctx, "test", &svc); err != nil {
		t.Fatal(err)
	}
	event := func(key string) klaxon.Event {
		return klaxon.Event{ServiceID: svc.ID, IntegrationID: 1, Action: klaxon.ActionTrigger, DedupKey: key,
			Summary: key, Severity: klaxon.SeverityCritical}
	}
	bad := errors.New("this request cannot be applied")
	s.ingest.failRequest = func(r *ingestRequest) error {
		if r.events[0].DedupKey == "bad" {
			return bad
		}
		return nil
	}
	var group []*ingestRequest
	for _, key := range []string{"one", "bad", "two"} {
		r := &ingestRequest{events: []klaxon.Event{event(key)}, extras: []string{""}, done: make(chan struct{})}
		group = append(group, r)
	}
	if err := s.ingest.commit(group); !errors.Is(err, bad) {
		t.Fatalf("the group's error = %v, want the failing request's", err)
	}
	for _, r := range group {
		key := r.events[0].DedupKey
		switch {
		case key == "bad" && (!errors.Is(r.err, bad) || r.results != nil):
			t.Errorf("the failing request: results %v, err %v", r.results, r.err)
		case key != "bad" && (r.err != nil || len(r.results) != 1 || r.results[0].AlertID == 0):
			t.Errorf("request %q retried alone: results %v, err %v; want its alert", key, r.results, r.err)
		}
	}
	alerts, err := s.ListAlerts(ctx, klaxon.AlertFilter{})
	if err != nil || len(alerts) != 2 {
		t.Errorf("stored alerts %d (%v), want the two good ones", len(alerts), err)
	}
}
