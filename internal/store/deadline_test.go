package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sqlite "modernc.org/sqlite"

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
	registerTestSleep() // before the store opens its connections
	ctx := context.Background()
	s, svc := openFoldStore(t, filepath.Join(t.TempDir(), "klaxon.db"))
	defer s.Close()
	// Storing the event with dedup key "slow" runs a trigger that sleeps
	// three times the deadline.
	if _, err := s.w.Exec(`CREATE TRIGGER slow_insert AFTER INSERT ON events WHEN NEW.dedup_key = 'slow' BEGIN
  SELECT klaxon_test_sleep(600); END`); err != nil {
		t.Fatal(err)
	}
	// The first group ("gate") holds the committer until "one" and "slow"
	// both wait in the queue, so that they make the next group, in order.
	var gateIn, opened atomic.Bool
	s.ingest.failRequest = func(r *ingestRequest) error {
		if r.events[0].DedupKey == "gate" && !opened.Load() {
			gateIn.Store(true)
			for len(s.ingest.queue) < 2 {
				time.Sleep(time.Millisecond)
			}
			opened.Store(true)
		}
		return nil
	}
	errs := make(map[string]error)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, key := range []string{"gate", "one", "slow"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Ingest(ctx, []klaxon.Event{foldEvent(svc, klaxon.ActionTrigger, key)})
			mu.Lock()
			errs[key] = err
			mu.Unlock()
		}()
		// The next is sent once this one is held: "gate" in the
		// committer, "one" in the queue.
		for (key == "gate" && !gateIn.Load()) || (key == "one" && len(s.ingest.queue) < 1) {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	if errs["gate"] != nil || errs["one"] != nil {
		t.Fatalf("gate: %v; one: %v (outcome unknown: %v); both should be stored", errs["gate"], errs["one"], errors.Is(errs["one"], outcomeUnknown))
	}
	if !opened.Load() {
		t.Fatal("the gate never saw one and slow queued together")
	}
	if errs["slow"] == nil || errors.Is(errs["slow"], outcomeUnknown) {
		t.Fatalf("slow: %v; want a known failure (its transaction was rolled back)", errs["slow"])
	}
	var stored int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM events WHERE dedup_key IN ('gate', 'one', 'slow')`).Scan(&stored); err != nil || stored != 2 {
		t.Fatalf("%d events stored (%v), want gate and one", stored, err)
	}
}

var registerSleep sync.Once

// registerTestSleep adds klaxon_test_sleep(ms) to SQLite connections opened
// after it: a statement as slow as a test needs, on any machine.
func registerTestSleep() {
	registerSleep.Do(func() {
		sqlite.MustRegisterScalarFunction("klaxon_test_sleep", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			ms, _ := args[0].(int64)
			time.Sleep(time.Duration(ms) * time.Millisecond)
			return nil, nil
		})
	})
}
