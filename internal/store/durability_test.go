package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/klaxonhq/klaxon"
)

func TestWALSyncerFollowsReplacedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db-wal")
	w := &walSyncer{path: path}
	defer w.close()
	if err := w.sync(); err != nil || w.f != nil {
		t.Fatalf("no WAL yet: err=%v, opened=%v", err, w.f != nil)
	}
	if err := os.WriteFile(path, []byte("frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err != nil || w.f == nil {
		t.Fatalf("sync existing WAL: err=%v", err)
	}
	first, _ := w.f.Stat()
	// Replace the file (as SQLite would if every connection had closed).
	os.Remove(path)
	if err := os.WriteFile(path, []byte("new frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	second, _ := w.f.Stat()
	if sameFile(first, second) {
		t.Fatal("kept syncing the replaced file")
	}
}

func TestSyncFailureIsUnavailable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the WAL should be cannot be opened for writing.
	s := &Store{wal: &walSyncer{path: dir}}
	err := s.syncWAL()
	if klaxon.ErrorCodeOf(err) != klaxon.EUNAVAILABLE {
		t.Fatalf("got %v (%s), want EUNAVAILABLE", err, klaxon.ErrorCodeOf(err))
	}
}

// After one failed fsync the store accepts no more writes, of any kind, and
// Ping (so /readyz) fails: a later fsync could succeed without the earlier
// frames being on disk.
func TestFailedSyncStopsWrites(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "klaxon.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := klaxon.Service{Name: "api"}
	if err := s.CreateService(ctx, "test", &svc); err != nil {
		t.Fatal(err)
	}
	ev := klaxon.Event{ServiceID: svc.ID, IntegrationID: 1, Action: klaxon.ActionTrigger, DedupKey: "k",
		Summary: "s", Severity: klaxon.SeverityInfo}
	if _, err := s.Ingest(ctx, []klaxon.Event{ev}); err != nil {
		t.Fatal(err)
	}
	// Point the syncer at something that cannot be synced, as a failing
	// disk would.
	s.wal.mu.Lock()
	s.wal.path = t.TempDir()
	s.wal.mu.Unlock()
	if _, err := s.Ingest(ctx, []klaxon.Event{ev}); klaxon.ErrorCodeOf(err) != klaxon.EUNAVAILABLE {
		t.Fatalf("ingest during the failed sync: %v", err)
	}
	if _, err := s.Ingest(ctx, []klaxon.Event{ev}); klaxon.ErrorCodeOf(err) != klaxon.EUNAVAILABLE {
		t.Fatalf("ingest after the failed sync: %v", err)
	}
	if err := s.CreateService(ctx, "test", &klaxon.Service{Name: "other"}); klaxon.ErrorCodeOf(err) != klaxon.EUNAVAILABLE {
		t.Fatalf("management write after the failed sync: %v", err)
	}
	if err := s.Ping(ctx); klaxon.ErrorCodeOf(err) != klaxon.EUNAVAILABLE {
		t.Fatalf("ping after the failed sync: %v", err)
	}
}
