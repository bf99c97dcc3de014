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
