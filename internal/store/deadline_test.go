package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// A group whose deadline passes inside its last statement. The statements
// run without the deadline (apply), so the statement finishes, database/sql
// rolls the transaction back, and no COMMIT is sent: that is a known
// failure, and each request is retried alone, so the innocent one is
// stored. (Found in review: it was taken for a COMMIT of unknown outcome,
// and every request of the group failed.)
func TestDeadlineInsideTheLastStatement(t *testing.T) {
	defer func(d time.Duration) { commitTimeout = d }(commitTimeout)
	commitTimeout = 200 * time.Millisecond
	ctx := context.Background()
	s, svc := openFoldStore(t, filepath.Join(t.TempDir(), "klaxon.db"))
	defer s.Close()
	// Storing the event with dedup key "slow" runs a trigger that takes
	// far longer than the deadline (a 3,000 × 3,000 join), every time.
	for _, q := range []string{
		`CREATE TABLE nums (n INTEGER)`,
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 3000) INSERT INTO nums SELECT x FROM c`,
		`CREATE TRIGGER slow_insert AFTER INSERT ON events WHEN NEW.dedup_key = 'slow' BEGIN
  UPDATE nums SET n = n WHERE n = (SELECT count(*) FROM nums a, nums b WHERE a.n + b.n = -1); END`,
	} {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The first group ("gate") holds the committer until "one" and then
	// "slow" wait behind it, so that they make the next group, in order.
	var once sync.Once
	var opened atomic.Bool
	s.ingest.failRequest = func(r *ingestRequest) error {
		if r.events[0].DedupKey == "gate" {
			once.Do(func() {
				for s.ingest.queued.Load() < 3 {
					time.Sleep(time.Millisecond)
				}
				opened.Store(true)
			})
		}
		return nil
	}
	errs := make(map[string]error)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, key := range []string{"gate", "one", "slow"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Ingest(ctx, []klaxon.Event{foldEvent(svc, klaxon.ActionTrigger, key)})
			mu.Lock()
			errs[key] = err
			mu.Unlock()
		}()
		// Each waits for the one before it to be queued (once all three
		// are, the gate opens and the count falls again).
		for s.ingest.queued.Load() < int64(i+1) && !opened.Load() {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	if errs["gate"] != nil || errs["one"] != nil {
		t.Fatalf("gate: %v; one: %v (outcome unknown: %v); both should be stored", errs["gate"], errs["one"], errors.Is(errs["one"], outcomeUnknown))
	}
	if errs["slow"] == nil || errors.Is(errs["slow"], outcomeUnknown) {
		t.Fatalf("slow: %v; want a known failure (its transaction was rolled back)", errs["slow"])
	}
	var stored int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM events WHERE dedup_key IN ('gate', 'one', 'slow')`).Scan(&stored); err != nil || stored != 2 {
		t.Fatalf("%d events stored (%v), want gate and one", stored, err)
	}
}
