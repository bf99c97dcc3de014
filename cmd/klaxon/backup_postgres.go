package main

// "klaxon backup --db postgres://…": pg_dump, found and fed safely.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// libpqParams are the connection parameters pg_dump (libpq) understands in
// a URL; pgx takes others (search_path, pool_max_conns, …) that libpq
// would refuse.
var libpqParams = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "channel_binding": true, "connect_timeout": true, "client_encoding": true,
	"options": true, "application_name": true, "fallback_application_name": true, "keepalives": true,
	"keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true,
	"sslmode": true, "sslnegotiation": true, "sslcompression": true, "sslcert": true, "sslkey": true,
	"sslpassword": true, "sslcertmode": true, "sslrootcert": true, "sslcrl": true, "sslcrldir": true,
	"sslsni": true, "requirepeer": true, "require_auth": true, "ssl_min_protocol_version": true,
	"ssl_max_protocol_version": true, "krbsrvname": true, "gsslib": true, "gssdelegation": true,
	"gssencmode": true, "service": true, "target_session_attrs": true, "load_balance_hosts": true,
}

// pgDumpTarget turns Klaxon's PostgreSQL URL into what pg_dump is given:
// the URL without the password (passed in PGPASSWORD, out of the process
// list) and without parameters libpq does not know, which are named in
// dropped. A search_path is honoured by dumping only Klaxon's schema.
func pgDumpTarget(dbURL string) (conn, password string, dropped []string, err error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		// Multi-host URLs and the like: libpq parses them itself, but only
		// from the command line, where a password would show in the
		// process list.
		if strings.Contains(dbURL, "@") {
			return "", "", nil, errors.New("this PostgreSQL URL cannot be taken apart to keep its password off pg_dump's command line; " +
				"give one without the password and set PGPASSWORD (or use ~/.pgpass)")
		}
		return dbURL, "", nil, nil
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			password = p
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	for name := range q {
		if !libpqParams[name] {
			if name != "search_path" {
				dropped = append(dropped, name)
			}
			q.Del(name)
		}
	}
	if p := q.Get("password"); p != "" {
		password = p
		q.Del("password")
	}
	slices.Sort(dropped)
	u.RawQuery = q.Encode()
	return u.String(), password, dropped, nil
}

// redactURL is a database URL fit for a message.
func redactURL(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "the PostgreSQL at --db"
	}
	return u.Redacted()
}

var pgVersion = regexp.MustCompile(`\)\s+(\d+)(?:\.(\d+))?`)

// pgDumpBinary is a pg_dump found on this machine.
type pgDumpBinary struct {
	path    string
	major   int
	version string
}

// findPgDumps lists the pg_dump binaries to choose from, best first: the
// one named by --pg-dump alone, else the one on PATH and then those of
// Debian's and the PGDG RPMs' versioned directories, newest first.
func findPgDumps(ctx context.Context, explicit string) ([]pgDumpBinary, error) {
	probe := func(p string) (pgDumpBinary, bool) {
		out, err := exec.CommandContext(ctx, p, "--version").Output()
		if err != nil {
			return pgDumpBinary{}, false
		}
		m := pgVersion.FindStringSubmatch(string(out))
		if m == nil {
			return pgDumpBinary{}, false
		}
		major, _ := strconv.Atoi(m[1])
		return pgDumpBinary{path: p, major: major, version: strings.TrimSpace(string(out))}, true
	}
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return nil, fmt.Errorf("pg_dump %q not found: install the PostgreSQL client tools (postgresql-client, of the server's major version or newer), or rely on your provider's backups", explicit)
		}
		d, ok := probe(p)
		if !ok {
			return nil, fmt.Errorf("%s does not run as pg_dump (pg_dump --version fails or says no version)", p)
		}
		return []pgDumpBinary{d}, nil
	}
	var found, versioned []pgDumpBinary
	if p, err := exec.LookPath("pg_dump"); err == nil {
		if d, ok := probe(p); ok {
			found = append(found, d)
		}
	}
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin/pg_dump", "/usr/pgsql-*/bin/pg_dump"} {
		m, _ := filepath.Glob(pattern)
		for _, p := range m {
			if d, ok := probe(p); ok {
				versioned = append(versioned, d)
			}
		}
	}
	slices.SortStableFunc(versioned, func(a, b pgDumpBinary) int { return b.major - a.major })
	found = append(found, versioned...)
	if len(found) == 0 {
		return nil, errors.New("pg_dump not found (on PATH or in /usr/lib/postgresql/*/bin): install the PostgreSQL client tools " +
			"(Debian/Ubuntu: apt install postgresql-client; of the server's major version or newer), " +
			"or rely on your provider's backups (see docs/operations.md)")
	}
	return found, nil
}

func backupPostgres(ctx context.Context, dbURL, out string, force bool, pgDump string, stdout, stderr io.Writer) error {
	start := time.Now()
	dumps, err := findPgDumps(ctx, pgDump)
	if err != nil {
		return err
	}
	// The server's major version (pg_dump refuses newer servers) and
	// Klaxon's schema, as the URL's search_path makes it.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", redactURL(dbURL), err)
	}
	var versionNum int
	var schema string
	err = db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int, COALESCE(current_schema(), '')`).Scan(&versionNum, &schema)
	db.Close()
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL at %s: %w", redactURL(dbURL), err)
	}
	serverMajor := versionNum / 10000
	var dump pgDumpBinary
	for _, d := range dumps {
		if d.major >= serverMajor {
			dump = d
			break
		}
	}
	if dump.path == "" {
		return fmt.Errorf("%s is %s, older than the PostgreSQL %d server: install postgresql-client-%d or newer "+
			"(pg_dump must be at least the server's major version), or name one with --pg-dump", dumps[0].path, dumps[0].version, serverMajor, serverMajor)
	}

	conn, password, dropped, err := pgDumpTarget(dbURL)
	if err != nil {
		return err
	}
	scoped := setsSearchPath(dbURL)
	if len(dropped) > 0 {
		fmt.Fprintf(stderr, "klaxon: pg_dump is not given these connection parameters, which only Klaxon's driver knows: %s\n", strings.Join(dropped, ", "))
	}
	o, err := newOutput(out, force, "")
	if err != nil {
		return err
	}
	defer o.discard()
	args := []string{"--format=custom", "--no-password", "--file=" + o.tmp}
	if scoped && schema != "" {
		args = append(args, "--schema="+pgIdent(schema))
	}
	args = append(args, conn)
	cmd := exec.CommandContext(ctx, dump.path, args...)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed (%v): its message is above; nothing was written", dump.path, err)
	}
	// The archive's table of contents, read back as a check that it is
	// whole: pg_restore beside pg_dump, if there is one.
	tables := -1
	if pgRestore, err := exec.LookPath(filepath.Join(filepath.Dir(dump.path), "pg_restore")); err == nil {
		toc, err := exec.CommandContext(ctx, pgRestore, "--list", o.tmp).Output()
		if err != nil {
			return fmt.Errorf("pg_restore --list cannot read the dump (%v); nothing was written", err)
		}
		tables = 0
		sc := bufio.NewScanner(bytes.NewReader(toc))
		for sc.Scan() {
			if strings.Contains(sc.Text(), " TABLE DATA ") {
				tables++
			}
		}
	}
	st, err := os.Stat(o.tmp)
	if err != nil {
		return err
	}
	if err := o.publish(); err != nil {
		return err
	}
	what := "the whole database"
	if scoped && schema != "" {
		what = "schema " + schema
	}
	fmt.Fprintf(stdout, "Backed up %s of %s (PostgreSQL %d) to %s (%s, pg_dump custom format) in %s.\n",
		what, redactURL(dbURL), serverMajor, o.path, formatSize(st.Size()), time.Since(start).Round(time.Millisecond))
	if tables >= 0 {
		fmt.Fprintf(stdout, "pg_restore --list reads it: %d tables with data. Made by %s.\n", tables, dump.version)
	} else {
		fmt.Fprintf(stdout, "Made by %s.\n", dump.version)
	}
	fmt.Fprintf(stdout, "Restore with the nodes stopped: pg_restore --clean --if-exists --no-owner -d 'postgres://…' %s\n", o.path)
	return nil
}

// setsSearchPath reports whether a URL names Klaxon's schema, with a
// search_path parameter or in options (-c search_path=…): then only that
// schema is dumped, as it alone is Klaxon's.
func setsSearchPath(dbURL string) bool {
	u, err := url.Parse(dbURL)
	if err != nil {
		return false
	}
	q := u.Query()
	return q.Has("search_path") || strings.Contains(q.Get("options"), "search_path")
}

var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// pgIdent quotes a schema name for pg_dump's --schema pattern when it is
// not a plain lower-case identifier.
func pgIdent(name string) string {
	if plainIdent.MatchString(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
