package store

import (
	"context"
	"fmt"
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
