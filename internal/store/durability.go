package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/klaxonhq/klaxon"
)

// walSyncer makes SQLite commits durable by fsyncing the write-ahead log
// itself. SQLite runs with synchronous=NORMAL, so COMMIT writes the WAL but
// does not wait for the disk; the group committer then calls sync once for
// any number of commits and answers them only after it returns. This lets
// the fsync of one group overlap the work on the next (pipelined group
// commit) with the same guarantee as synchronous=FULL: a commit that was
// answered is on disk. SQLite itself still syncs the WAL before every
// checkpoint and the database after it.
type walSyncer struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// sync fsyncs the WAL file. SQLite keeps the file while any connection is
// open (the store's writer always is), but if it was ever replaced the new
// file is opened and synced.
func (w *walSyncer) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.reopenIfReplaced(); err != nil {
		return err
	}
	if w.f == nil {
		return nil // no WAL yet: nothing was written that needs syncing
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("store: fsync %s: %w", w.path, err)
	}
	return nil
}

func (w *walSyncer) reopenIfReplaced() error {
	onDisk, err := os.Stat(w.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: stat %s: %w", w.path, err)
	}
	if w.f != nil {
		if open, err := w.f.Stat(); err == nil && sameFile(open, onDisk) {
			return nil
		}
		w.f.Close()
		w.f = nil
	}
	f, err := os.OpenFile(w.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", w.path, err)
	}
	w.f = f
	// A new WAL file's directory entry must be durable too, or the file
	// could vanish with everything in it.
	dir, err := os.Open(filepath.Dir(w.path))
	if err != nil {
		return fmt.Errorf("store: open data directory: %w", err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("store: fsync data directory: %w", err)
	}
	return nil
}

func sameFile(a, b os.FileInfo) bool {
	as, ok1 := a.Sys().(*syscall.Stat_t)
	bs, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && as.Dev == bs.Dev && as.Ino == bs.Ino
}

func (w *walSyncer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// syncWAL makes every commit so far durable. On PostgreSQL the commit
// already was, and this does nothing.
//
// A failed fsync stops the store from writing for good. After one, Linux may
// have marked the unwritten pages clean, so a later fsync can succeed while
// earlier frames never reached the disk; SQLite's recovery stops at the first
// bad frame and would drop everything after it, acknowledged or not. As
// PostgreSQL does, Klaxon refuses further writes (and fails /readyz) until it
// is restarted and SQLite has recovered from what is really on disk.
func (s *Store) syncWAL() error {
	if s.wal == nil {
		return nil
	}
	if err := s.failure(); err != nil {
		return err
	}
	if err := s.wal.sync(); err != nil {
		failed := fmt.Errorf("%w: %v", &klaxon.Error{Code: klaxon.EUNAVAILABLE,
			Message: "the store could not make writes durable and has stopped accepting them; restart Klaxon"}, err)
		s.failed.CompareAndSwap(nil, &failed)
		return *s.failed.Load()
	}
	return nil
}

// failure is the error that stopped the store, or nil.
func (s *Store) failure() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}
