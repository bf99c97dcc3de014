package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to ask the server its version and schema
	_ "modernc.org/sqlite"             // the "sqlite" driver, for VACUUM INTO and the checks
)

// backupCommand runs "klaxon backup" and "klaxon restore".
func backupCommand(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	if cmd == "restore" {
		return restore(ctx, args, stdout, stderr)
	}
	return backup(ctx, args, stdout, stderr)
}

// backup copies the store to a file while a server may be running on it:
// SQLite with VACUUM INTO from a read-only connection (a consistent snapshot
// that neither takes the data directory's lock nor stops the writer),
// PostgreSQL with pg_dump's custom format. The copy is written under a
// temporary name beside the output, checked, fsynced and only then given
// its name, so that FILE is either a complete, checked backup or absent.
func backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("backup", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dataDir := flags.String("data", envOr("KLAXON_DATA", "./klaxon-data"), "data directory of the embedded store (env KLAXON_DATA)")
	db := flags.String("db", envOr("KLAXON_DB", ""), "postgres://… to back up PostgreSQL with pg_dump instead (env KLAXON_DB)")
	out := flags.String("out", "", "the backup file to write (required; never replaced without --force)")
	force := flags.Bool("force", false, "replace --out if it exists")
	pgDump := flags.String("pg-dump", "", "the pg_dump to run for PostgreSQL; default: pg_dump on PATH if at least the server's major version, else the newest in /usr/lib/postgresql/*/bin or /usr/pgsql-*/bin")
	if err := flags.Parse(args); err != nil {
		return flagError(err)
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Sprintf("backup takes no arguments, got %q (did you mean --out %s?)", flags.Args(), flags.Arg(0))}
	}
	if *out == "" {
		return usageError{"backup needs --out FILE, the file to write"}
	}
	if isPostgres(*db) {
		return backupPostgres(ctx, *db, *out, *force, *pgDump, stdout, stderr)
	}
	return backupSQLite(ctx, sqlitePath(*dataDir, *db), *out, *force, stdout)
}

// sqlitePath is the SQLite file serve would use for these flags.
func sqlitePath(dataDir, db string) string {
	if db != "" {
		return strings.TrimPrefix(db, "sqlite://")
	}
	return filepath.Join(dataDir, "klaxon.db")
}

func backupSQLite(ctx context.Context, dbPath, out string, force bool, stdout io.Writer) error {
	start := time.Now()
	dbPath, err := filepath.Abs(dbPath)
	if err != nil {
		return err
	}
	dir := filepath.Dir(dbPath)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data directory %s does not exist (pass --data or set KLAXON_DATA)", dir)
		}
		return fmt.Errorf("data directory: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if st, err := os.Stat(dbPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no %s in %s: is it a Klaxon data directory? (pass --data or set KLAXON_DATA)", filepath.Base(dbPath), dir)
		}
		return fmt.Errorf("database: %w", err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a database file", dbPath)
	}
	o, err := newOutput(out, force, dbPath)
	if err != nil {
		return err
	}
	defer o.discard()

	// mode=ro: a reader in WAL mode, which sees one committed snapshot while
	// the server goes on writing, and which never checkpoints or changes the
	// database. query_only would refuse VACUUM INTO; mode=ro does not.
	src, err := sql.Open("sqlite", sqliteDSN(dbPath, "mode=ro&_pragma=busy_timeout(10000)"))
	if err != nil {
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	src.SetMaxOpenConns(1)
	_, err = src.ExecContext(ctx, `VACUUM INTO ?`, o.tmp)
	src.Close()
	if err != nil {
		return fmt.Errorf("copy %s into %s: %w", dbPath, o.path, err)
	}
	sum, err := checkSQLite(ctx, o.tmp, "the copy")
	if err != nil {
		return fmt.Errorf("%w; nothing was written", err)
	}
	if err := o.publish(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Backed up %s to %s (%s) in %s.\n%s\n", dbPath, o.path, formatSize(sum.size),
		time.Since(start).Round(time.Millisecond), sum)
	return nil
}

// sqliteDSN is the driver's address of an SQLite file with query options.
func sqliteDSN(path, query string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + query
}

// sqliteSummary is what checkSQLite found in a database file.
type sqliteSummary struct {
	size                  int64
	tables                int
	version, alerts, evts int64
}

func (s sqliteSummary) String() string {
	return fmt.Sprintf("integrity ok; schema version %d; %d tables; %d alerts, %d events.", s.version, s.tables, s.alerts, s.evts)
}

// checkSQLite runs PRAGMA integrity_check on a file no one else uses and
// makes sure it is a Klaxon database, and counts what it holds. name is the
// file as the messages call it (the temporary copy is nobody's concern).
func checkSQLite(ctx context.Context, path, name string) (sqliteSummary, error) {
	var sum sqliteSummary
	st, err := os.Stat(path)
	if err != nil {
		return sum, err
	}
	sum.size = st.Size()
	// immutable: no locks, no -shm or -wal beside the file; it is ours.
	db, err := sql.Open("sqlite", sqliteDSN(path, "mode=ro&immutable=1"))
	if err != nil {
		return sum, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	problems, err := queryStrings(ctx, db, `PRAGMA integrity_check`)
	if err != nil {
		return sum, fmt.Errorf("integrity check of %s: %w", name, err)
	}
	problems = slices.DeleteFunc(problems, func(s string) bool { return s == "ok" })
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return sum, fmt.Errorf("integrity check of %s failed: %s", name, strings.Join(problems, "; "))
	}
	tables, err := queryStrings(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", name, err)
	}
	for _, want := range []string{"schema_migrations", "alerts", "events"} {
		if !slices.Contains(tables, want) {
			return sum, fmt.Errorf("%s is not a Klaxon database (it has no %s table)", name, want)
		}
	}
	sum.tables = len(tables)
	for q, dst := range map[string]*int64{
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`: &sum.version,
		`SELECT COUNT(*) FROM alerts`:                             &sum.alerts,
		`SELECT COUNT(*) FROM events`:                             &sum.evts,
	} {
		if err := db.QueryRowContext(ctx, q).Scan(dst); err != nil {
			return sum, fmt.Errorf("read %s: %w", name, err)
		}
	}
	return sum, nil
}

// queryStrings runs a query of one text column and returns its rows.
func queryStrings(ctx context.Context, db *sql.DB, query string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil { // a failure part-way is not the end of the rows
		rows.Close()
		return nil, err
	}
	return out, rows.Close()
}

// sqliteFiles are the suffixes of an SQLite database's files: the database,
// its WAL, its shared memory and its rollback journal.
var sqliteFiles = []string{"", "-wal", "-shm", "-journal"}

// output is a backup being written: a temporary file beside its final
// name, created empty (VACUUM INTO accepts an empty file), with mode 0600
// because a backup holds secrets (key hashes, signing keys).
type output struct {
	path, tmp string
	force     bool
	done      bool
}

// newOutput checks where a backup goes and creates its temporary file, so
// that a missing or unwritable directory is reported before any work.
// avoid is the live database, which --force must never replace.
func newOutput(path string, force bool, avoid string) (*output, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot write the backup: directory %s does not exist", dir)
		}
		return nil, fmt.Errorf("cannot write the backup: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("cannot write the backup: %s is not a directory", dir)
	}
	if st, err := os.Stat(abs); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("--out %s is a directory: name the backup file", abs)
		}
		if avoid != "" {
			for _, suffix := range sqliteFiles {
				if live, err := os.Stat(avoid + suffix); err == nil && os.SameFile(st, live) {
					return nil, fmt.Errorf("--out %s is the live database: write the backup somewhere else", abs)
				}
			}
		}
		if !force {
			return nil, fmt.Errorf("%s already exists: choose another name, or pass --force to replace it", abs)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot write the backup: %w", err)
	}
	tmp := filepath.Join(dir, "."+filepath.Base(abs)+".partial-"+randomHex())
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot write the backup in %s: %w", dir, errors.Unwrap(err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("cannot write the backup in %s: %w", dir, err)
	}
	return &output{path: abs, tmp: tmp, force: force}, nil
}

// publish fsyncs the temporary file, gives it its name (never replacing a
// file that appeared meanwhile, unless --force) and fsyncs the directory.
func (o *output) publish() error {
	if err := syncFile(o.tmp); err != nil {
		return fmt.Errorf("fsync %s: %w", o.tmp, err)
	}
	if o.force {
		if err := os.Rename(o.tmp, o.path); err != nil {
			return fmt.Errorf("cannot write the backup: %w", err)
		}
	} else {
		// A hard link fails if the name exists; where links are not
		// supported, a rename after one more look has to do.
		err := os.Link(o.tmp, o.path)
		switch {
		case errors.Is(err, fs.ErrExist):
			return fmt.Errorf("%s appeared while the backup ran: not replaced (pass --force to replace it)", o.path)
		case err != nil:
			if _, serr := os.Lstat(o.path); serr == nil {
				return fmt.Errorf("%s appeared while the backup ran: not replaced (pass --force to replace it)", o.path)
			}
			if err := os.Rename(o.tmp, o.path); err != nil {
				return fmt.Errorf("cannot write the backup: %w", err)
			}
		default:
			os.Remove(o.tmp)
		}
	}
	o.done = true
	if err := syncDir(filepath.Dir(o.path)); err != nil {
		return fmt.Errorf("fsync %s: %w", filepath.Dir(o.path), err)
	}
	return nil
}

// discard removes the temporary file of a backup that did not finish.
func (o *output) discard() {
	if o.done {
		return
	}
	for _, suffix := range sqliteFiles {
		os.Remove(o.tmp + suffix)
	}
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

func randomHex() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
