package store

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// Events stored several to a statement (storeEvents) keep their order, get
// the ids of their own rows, and join the right alert's list, whatever the
// mix of chunk sizes and however the alerts change inside one chunk.
func TestStoreEventsInChunks(t *testing.T) {
	ctx := context.Background()
	s, svc := openFoldStore(t, filepath.Join(t.TempDir(), "klaxon.db"))
	defer s.Close()
	for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 45, 77} {
		evs := make([]klaxon.Event, n)
		for i := range evs {
			key := fmt.Sprintf("n%d-k%d", n, i%3)
			evs[i] = foldEvent(svc, klaxon.ActionTrigger, key)
			evs[i].Summary = fmt.Sprintf("n%d-e%d", n, i)
			if i%11 == 10 { // a resolve mid-chunk: the next trigger opens a new alert
				evs[i].Action, evs[i].Summary = klaxon.ActionResolve, fmt.Sprintf("n%d-e%d", n, i)
			}
		}
		res, err := s.Ingest(ctx, evs)
		if err != nil {
			t.Fatalf("%d events: %v", n, err)
		}
		alerts := map[int64]bool{}
		for i, r := range res {
			var alertID int64
			var summary string
			if err := s.r.QueryRow(`SELECT alert_id, summary FROM events WHERE summary = $1`, evs[i].Summary).Scan(&alertID, &summary); err != nil {
				t.Fatalf("%d events: event %d: %v", n, i, err)
			}
			if alertID != r.AlertID {
				t.Fatalf("%d events: event %d stored on alert %d, answered %d", n, i, alertID, r.AlertID)
			}
			alerts[r.AlertID] = true
		}
		for id := range alerts {
			if id == 0 {
				continue
			}
			listed, scanned := alertEventIDsOf(t, s, id), eventIDsByScan(t, s, id)
			if !slices.Equal(listed, scanned) {
				t.Fatalf("%d events: alert %d lists %v, its rows are %v", n, id, listed, scanned)
			}
		}
	}
	var rows int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&rows); err != nil || rows != 1+7+8+9+31+32+33+45+77 {
		t.Fatalf("%d rows (%v)", rows, err)
	}
}

// Near the largest int64, SQLite gives new rows random rowids: events are
// then stored one to a statement, and every id listed is still its own.
func TestStoreEventsNearTheLargestID(t *testing.T) {
	for _, top := range []int64{math.MaxInt64, math.MaxInt64 - 5} {
		ctx := context.Background()
		s, svc := openFoldStore(t, filepath.Join(t.TempDir(), "klaxon.db"))
		if _, err := s.w.Exec(`INSERT INTO events (id, alert_id, service_id, integration_id, action, dedup_key, severity, summary, source, component, grp, class, extra, ts, received_at)
VALUES ($1, 0, $2, 1, 'trigger', 'hand', 'info', 'written by hand', '', '', '', '', '', 0, 0)`, top, svc.ID); err != nil {
			t.Fatal(err)
		}
		evs := make([]klaxon.Event, 40)
		for i := range evs {
			evs[i] = foldEvent(svc, klaxon.ActionTrigger, fmt.Sprintf("k%d", i%2))
		}
		res, err := s.Ingest(ctx, evs)
		if err != nil {
			t.Fatalf("top %d: %v", top, err)
		}
		for _, id := range []int64{res[0].AlertID, res[1].AlertID} {
			listed, scanned := alertEventIDsOf(t, s, id), eventIDsByScan(t, s, id)
			if len(scanned) != 20 || !slices.Equal(listed, scanned) {
				t.Fatalf("top %d: alert %d lists %v, its rows are %v", top, id, listed, scanned)
			}
		}
		s.Close()
	}
}
