package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The tests of triggers folded into open alerts in memory (folds.go),
// which only the embedded store does.

func openFoldStore(t *testing.T, path string) (*Store, klaxon.Service) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := s.ListServices(ctx, klaxon.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) > 0 {
		return s, svcs[0]
	}
	svc := klaxon.Service{Name: "api", State: klaxon.ServiceActive}
	if err := s.CreateService(ctx, "test", &svc); err != nil {
		t.Fatal(err)
	}
	return s, svc
}

func foldEvent(svc klaxon.Service, action klaxon.Action, key string) klaxon.Event {
	return klaxon.Event{ServiceID: svc.ID, IntegrationID: 1, Action: action, DedupKey: key, Summary: key,
		Severity: klaxon.SeverityCritical}
}

func ingestOne(t *testing.T, s *Store, ev klaxon.Event) klaxon.IngestResult {
	t.Helper()
	res, err := s.Ingest(context.Background(), []klaxon.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// rowCount is the event_count in the alert's row, without the sums in
// memory.
func rowCount(t *testing.T, s *Store, id int64) int64 {
	t.Helper()
	var n int64
	if err := s.r.QueryRow(`SELECT event_count FROM alerts WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Repeated triggers are counted at once by every reader, reach the row
// by close, and the row's count survives a restart.
func TestFoldedCountsAreReadAtOnceAndWrittenByClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, svc := openFoldStore(t, path)
	first := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "disk"))
	for range 9 {
		if r := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "disk")); r.AlertID != first.AlertID || r.Created {
			t.Fatalf("a repeated trigger went to %+v, want alert %d", r, first.AlertID)
		}
	}
	if n := rowCount(t, s, first.AlertID); n == 10 {
		t.Fatalf("the row already counts all 10 events: the triggers were not folded in memory")
	}
	a, err := s.Alert(ctx, first.AlertID)
	if err != nil || a.EventCount != 10 {
		t.Fatalf("Alert: event_count %d (%v), want 10", a.EventCount, err)
	}
	list, err := s.ListAlerts(ctx, klaxon.AlertFilter{})
	if err != nil || len(list) != 1 || list[0].EventCount != 10 {
		t.Fatalf("ListAlerts: %+v (%v), want one alert with 10 events", list, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openFoldStore(t, path)
	defer s.Close()
	if n := rowCount(t, s, first.AlertID); n != 10 {
		t.Errorf("after close and open the row counts %d events, want 10", n)
	}
}

// A process that dies with sums only in memory loses nothing: Open
// recounts the alerts of the events past the last write.
func TestFoldedCountsRecountedAfterACrash(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, svc := openFoldStore(t, path)
	ids := map[string]int64{}
	for i := range 30 {
		key := fmt.Sprintf("k%d", i%3)
		ids[key] = ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, key)).AlertID
	}
	folded := false
	for _, id := range ids {
		folded = folded || rowCount(t, s, id) < 10
	}
	if !folded {
		t.Fatal("every row already counts its events: nothing was folded in memory")
	}
	s.ingest.crashed.Store(true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openFoldStore(t, path)
	defer s.Close()
	for key, id := range ids {
		if n := rowCount(t, s, id); n != 10 {
			t.Errorf("alert %s: the row counts %d events after the crash, want 10", key, n)
		}
		a, err := s.Alert(ctx, id)
		if err != nil || a.EventCount != 10 {
			t.Errorf("alert %s: event_count %d (%v), want 10", key, a.EventCount, err)
		}
	}
}

// A resolved alert is never folded into: the next trigger with its key
// opens a new alert, whether an event or a person resolved it.
func TestFoldingStopsAtResolve(t *testing.T) {
	ctx := context.Background()
	s, svc := openFoldStore(t, filepath.Join(t.TempDir(), "klaxon.db"))
	defer s.Close()

	byEvent := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "by-event"))
	ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "by-event"))
	ingestOne(t, s, foldEvent(svc, klaxon.ActionResolve, "by-event"))
	if again := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "by-event")); !again.Created || again.AlertID == byEvent.AlertID {
		t.Errorf("a trigger after a resolve event: %+v, want a new alert (not %d)", again, byEvent.AlertID)
	}

	byPerson := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "by-person"))
	ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "by-person"))
	if _, err := s.ResolveAlert(ctx, "user:1", byPerson.AlertID); err != nil {
		t.Fatal(err)
	}
	if again := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "by-person")); !again.Created || again.AlertID == byPerson.AlertID {
		t.Errorf("a trigger after a person resolved the alert: %+v, want a new alert (not %d)", again, byPerson.AlertID)
	}
	old, err := s.Alert(ctx, byPerson.AlertID)
	if err != nil || old.Status != klaxon.AlertResolved || old.EventCount != 2 {
		t.Errorf("the resolved alert: %+v (%v), want resolved with its 2 events", old, err)
	}
}

// An alert opened by a transaction that then failed does not exist, and
// must not be remembered: SQLite hands its id to the next alert, and a
// trigger with the failed one's key would fold into that one.
func TestFailedGroupLeavesNoAlertRemembered(t *testing.T) {
	ctx := context.Background()
	s, svc := openFoldStore(t, filepath.Join(t.TempDir(), "klaxon.db"))
	defer s.Close()
	bad := foldEvent(svc, "explode", "doomed")
	if _, err := s.Ingest(ctx, []klaxon.Event{foldEvent(svc, klaxon.ActionTrigger, "doomed"), bad}); err == nil {
		t.Fatal("a request with an event that cannot be applied was stored")
	}
	other := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "other"))
	doomed := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "doomed"))
	if !doomed.Created || doomed.AlertID == other.AlertID {
		t.Fatalf("the failed request's key went to %+v; alert %d is another key's", doomed, other.AlertID)
	}
	a, err := s.Alert(ctx, other.AlertID)
	if err != nil || a.DedupKey != "other" || a.EventCount != 1 {
		t.Errorf("alert %d: %+v (%v), want key other with 1 event", other.AlertID, a, err)
	}
}

// Readers never count an event twice or not at all while rounds write the
// sums out under them: the count a reader sees only grows, and ends at the
// number of events.
func TestFoldedCountsStayExactWhileWrittenOut(t *testing.T) {
	ctx := context.Background()
	s, svc := openFoldStore(t, filepath.Join(t.TempDir(), "klaxon.db"))
	defer s.Close()
	s.folds.every.Store(int64(time.Millisecond)) // a round in almost every group
	id := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "storm")).AlertID
	const batches, size = 200, 10
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last int64
		for {
			select {
			case <-done:
				return
			default:
			}
			a, err := s.Alert(ctx, id)
			if err != nil {
				t.Error(err)
				return
			}
			if a.EventCount < last || a.EventCount > 1+batches*size {
				t.Errorf("a reader saw %d events after %d (at most %d exist)", a.EventCount, last, 1+batches*size)
				return
			}
			last = a.EventCount
		}
	}()
	events := make([]klaxon.Event, size)
	for i := range events {
		events[i] = foldEvent(svc, klaxon.ActionTrigger, "storm")
	}
	for range batches {
		if _, err := s.Ingest(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	a, err := s.Alert(ctx, id)
	if err != nil || a.EventCount != 1+batches*size {
		t.Errorf("event_count %d (%v), want %d", a.EventCount, err, 1+batches*size)
	}
}

// A clean close leaves the mark at the newest event even when no sums
// were waiting (only new alerts, ack and resolve events, which write their
// rows at once), so that the next Open recounts nothing.
func TestCleanCloseMarksEveryEventCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, svc := openFoldStore(t, path)
	for _, key := range []string{"a", "b", "c"} {
		ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, key))
	}
	ingestOne(t, s, foldEvent(svc, klaxon.ActionResolve, "a"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mark, newest int64
	if err := db.QueryRow(`SELECT (SELECT flushed_through FROM ingest_folds), (SELECT MAX(id) FROM events)`).Scan(&mark, &newest); err != nil {
		t.Fatal(err)
	}
	if mark != newest {
		t.Errorf("after a clean close the mark is %d, the newest event %d", mark, newest)
	}
}

// eventIDsByScan is what AlertEvents must answer, found the slow way.
func eventIDsByScan(t *testing.T, s *Store, alertID int64) []int64 {
	t.Helper()
	rows, err := s.r.Query(`SELECT id FROM events WHERE alert_id = $1 ORDER BY id DESC LIMIT $2`, alertID, MaxAlertEvents)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func alertEventIDsOf(t *testing.T, s *Store, alertID int64) []int64 {
	t.Helper()
	evs, err := s.AlertEvents(context.Background(), alertID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, ev := range evs {
		if ev.AlertID != alertID {
			t.Fatalf("AlertEvents(%d) returned event %d of alert %d", alertID, ev.ID, ev.AlertID)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

// checkLists fails if an event is in two lists, or a list's n is wrong.
func checkLists(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.r.Query(`SELECT alert_id, n, ids FROM alert_event_ids`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[int64]bool{}
	for rows.Next() {
		var alertID, n int64
		var list string
		if err := rows.Scan(&alertID, &n, &list); err != nil {
			t.Fatal(err)
		}
		ids, err := decodeIDs(list)
		if err != nil || int64(len(ids)) != n {
			t.Fatalf("alert %d: list %s says n=%d (%v)", alertID, list, n, err)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("event %d is listed twice", id)
			}
			seen[id] = true
		}
	}
}

// An alert's events come from memory and from its lists, newest first,
// across rounds, after a clean close, and after a crash in the middle of
// a round; every event is listed once.
func TestAlertEventsFromListsAndMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, svc := openFoldStore(t, path)
	s.folds.every.Store(int64(time.Millisecond))
	var ids []int64
	for i := range 260 {
		key := "busy"
		if i%3 == 0 {
			key = "other"
		}
		res := ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, key))
		if key == "busy" {
			ids = append(ids, res.AlertID)
		}
		if i == 130 {
			s.folds.every.Store(int64(time.Hour)) // the rest stays in memory
		}
	}
	busy := ids[0]
	check := func(when string) {
		t.Helper()
		want := eventIDsByScan(t, s, busy)
		if got := alertEventIDsOf(t, s, busy); !slices.Equal(got, want) || len(got) != MaxAlertEvents {
			t.Errorf("%s: AlertEvents ids\n%v\nwant\n%v", when, got, want)
		}
		checkLists(t, s)
	}
	check("lists and memory")

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openFoldStore(t, path)
	check("after a clean close")

	// Sums for three alerts wait in memory; then a round starts and writes
	// them one alert per group: the crash comes with it half written.
	s.folds.every.Store(int64(time.Hour))
	s.folds.minSlice.Store(1)
	for i := range 39 {
		ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, []string{"busy", "other", "third"}[i%3]))
	}
	s.ingest.crashed.Store(true) // from here the committer writes nothing on its own
	s.folds.every.Store(0)
	ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, "busy"))
	var unfinished int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM alert_event_ids WHERE first_id > (SELECT flushed_through FROM ingest_folds)`).Scan(&unfinished); err != nil {
		t.Fatal(err)
	}
	if unfinished != 1 {
		t.Fatalf("%d lists of the round written at the crash, want 1 of 3", unfinished)
	}
	s.ingest.crashed.Store(true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openFoldStore(t, path)
	defer s.Close()
	check("after a crash")
	a, err := s.Alert(context.Background(), busy)
	if want := int64(173 + 14); err != nil || a.EventCount != want {
		t.Errorf("event_count %d (%v), want %d", a.EventCount, err, want)
	}
}

// A store from before the lists (an index on events (alert_id)) gets its
// lists from the migration, also when the process before it died with
// counts in memory (the recount then lists and counts the rest).
func TestMigrationListsEarlierEvents(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crashed=%v", crashed), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "klaxon.db")
			s, svc := openFoldStore(t, path)
			var busy int64
			for i := range 150 {
				busy = ingestOne(t, s, foldEvent(svc, klaxon.ActionTrigger, fmt.Sprintf("k%d", i%2))).AlertID
			}
			s.ingest.crashed.Store(crashed)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{`DROP TABLE alert_event_ids`, `CREATE INDEX events_alert ON events (alert_id)`,
				`DELETE FROM schema_migrations WHERE version = 11`} {
				if _, err := db.Exec(stmt); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			s, _ = openFoldStore(t, path)
			defer s.Close()
			if got, want := alertEventIDsOf(t, s, busy), eventIDsByScan(t, s, busy); !slices.Equal(got, want) || len(got) != 75 {
				t.Errorf("after the migration AlertEvents ids\n%v\nwant\n%v", got, want)
			}
			checkLists(t, s)
			if a, err := s.Alert(context.Background(), busy); err != nil || a.EventCount != 75 || rowCount(t, s, busy) != 75 {
				t.Errorf("after the migration: event_count %d (%v), row %d; want 75", a.EventCount, err, rowCount(t, s, busy))
			}
		})
	}
}

// A round with more events of one alert than a list holds writes several
// lists.
func TestLongListsAreSplit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	s, svc := openFoldStore(t, path)
	batch := make([]klaxon.Event, 1000)
	for i := range batch {
		batch[i] = foldEvent(svc, klaxon.ActionTrigger, "hot")
	}
	var id int64
	for range 5 {
		res, err := s.Ingest(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		id = res[0].AlertID
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openFoldStore(t, path)
	defer s.Close()
	checkLists(t, s)
	var lists, longest int
	if err := s.r.QueryRow(`SELECT COUNT(*), MAX(n) FROM alert_event_ids WHERE alert_id = $1`, id).Scan(&lists, &longest); err != nil {
		t.Fatal(err)
	}
	if lists != 2 || longest != maxListIDs {
		t.Errorf("5,000 events in %d lists, the longest %d; want 2, %d", lists, longest, maxListIDs)
	}
	if got, want := alertEventIDsOf(t, s, id), eventIDsByScan(t, s, id); !slices.Equal(got, want) {
		t.Errorf("AlertEvents ids\n%v\nwant\n%v", got, want)
	}
	if a, err := s.Alert(context.Background(), id); err != nil || a.EventCount != 5000 {
		t.Errorf("event_count %d (%v), want 5000", a.EventCount, err)
	}
}
