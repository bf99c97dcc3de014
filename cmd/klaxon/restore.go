package main

// "klaxon restore": an SQLite backup put back in place of a data
// directory's database.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// restore puts an SQLite backup in place of a data directory's database.
// It holds the data directory's lock throughout (so it refuses while a
// server runs, and no server can start halfway), copies and checks the
// backup before touching anything, and moves the old files aside rather
// than deleting them.
func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("restore", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dataDir := flags.String("data", envOr("KLAXON_DATA", "./klaxon-data"), "data directory of the embedded store (env KLAXON_DATA); created if missing")
	db := flags.String("db", envOr("KLAXON_DB", ""), "the SQLite file, if serve is given one with --db (env KLAXON_DB)")
	from := flags.String("from", "", "the backup file to restore, made by klaxon backup (required)")
	if err := flags.Parse(args); err != nil {
		return flagError(err)
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Sprintf("restore takes no arguments, got %q (did you mean --from %s?)", flags.Args(), flags.Arg(0))}
	}
	if isPostgres(*db) {
		return usageError{"klaxon restore restores the embedded store only. For PostgreSQL, stop every klaxon node, then run\n" +
			"  pg_restore --clean --if-exists --no-owner -d 'postgres://…' FILE\n" +
			"and start the nodes again (see docs/operations.md)"}
	}
	if *from == "" {
		return usageError{"restore needs --from FILE, a backup made by klaxon backup"}
	}
	start := time.Now()
	src, err := filepath.Abs(*from)
	if err != nil {
		return err
	}
	if st, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup file: %w", err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("backup file %s is not a regular file", src)
	}
	if _, err := os.Stat(src + "-wal"); err == nil {
		return fmt.Errorf("%s has a %s-wal beside it: it is a live database, not a backup; make one with klaxon backup", src, filepath.Base(src))
	}
	dbPath, err := filepath.Abs(sqlitePath(*dataDir, *db))
	if err != nil {
		return err
	}
	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	unlock, err := lockDataDir(dir)
	if err != nil {
		return fmt.Errorf("%w: stop it before restoring; nothing was changed", err)
	}
	defer unlock()

	tmp := filepath.Join(dir, filepath.Base(dbPath)+".restore-partial-"+randomHex())
	placed := false
	defer func() {
		if !placed {
			os.Remove(tmp)
		}
	}()
	if err := copyFile(src, tmp); err != nil {
		return fmt.Errorf("copy %s into %s: %w; nothing was changed", src, dir, err)
	}
	sum, err := checkSQLite(ctx, tmp, src)
	if err != nil {
		return fmt.Errorf("cannot restore: %w; nothing was changed", err)
	}

	// Move the current database, with its WAL, shared memory and any
	// rollback journal (which would otherwise be replayed into the restored
	// file), aside under one name.
	aside := dbPath + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
	var moved []string
	putBack := func() {
		for _, suffix := range moved {
			os.Rename(aside+suffix, dbPath+suffix)
		}
	}
	for _, suffix := range sqliteFiles {
		if _, err := os.Lstat(dbPath + suffix); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if _, err := os.Lstat(aside + suffix); err == nil {
			putBack()
			return fmt.Errorf("%s already exists: wait a second and try again; nothing was changed", aside+suffix)
		}
		if err := os.Rename(dbPath+suffix, aside+suffix); err != nil {
			putBack()
			return fmt.Errorf("move %s aside: %w; nothing was changed", dbPath+suffix, err)
		}
		moved = append(moved, suffix)
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		putBack()
		return fmt.Errorf("put the backup in place: %w; nothing was changed", err)
	}
	placed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	fmt.Fprintf(stdout, "Restored %s into %s (%s) in %s.\n%s\n", src, dbPath, formatSize(sum.size),
		time.Since(start).Round(time.Millisecond), sum)
	if len(moved) > 0 {
		fmt.Fprintf(stdout, "The previous database was moved to %s*.\n", aside)
	}
	fmt.Fprintf(stdout, "Start the server with: klaxon serve --data %s\n", dir)
	return nil
}

// copyFile copies src into a new file dst (mode 0600) and fsyncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
