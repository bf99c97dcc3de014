// Command klaxon is Klaxon in one binary: the server (klaxon serve) and the
// command-line client for everyday work. This package only wires: flags and
// environment in, adapters built and connected, nothing else.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Klaxon: incident alerting, on-call and status, in one binary.

Usage:
  klaxon serve [flags]              run the server (embedded store in ./klaxon-data by default)
  klaxon inject [flags]             send an event with an integration key
  klaxon alerts [flags]             list alerts
  klaxon ack ID                     acknowledge an alert
  klaxon resolve ID                 resolve an alert
  klaxon oncall [--schedule NAME] [--at TIME]
                                    who is on call now (or at TIME)
  klaxon apply -f FILE|DIR [--dry-run]
                                    make the server match YAML files (Klaxon as code)
  klaxon status post|update|resolve|maintenance|postmortem|incidents|components|component|page
                                    the public status page (klaxon status help)
  klaxon backup --out FILE [--data DIR | --db URL] [--force]
                                    copy the store while it runs (SQLite; pg_dump for PostgreSQL)
  klaxon restore --from FILE [--data DIR]
                                    put an SQLite backup in place (server stopped)
  klaxon users|teams|schedules|policies|services
                                    list people and configuration
  klaxon version                    print the version

The client commands read the server from --url or KLAXON_URL (default
http://127.0.0.1:8080) and the API token from --token or KLAXON_TOKEN.
Run 'klaxon COMMAND -h' for a command's flags.
`

// usageError marks mistakes in how a command was called (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// flagError keeps flag.ErrHelp recognisable (-h is not a mistake) and makes
// every other flag problem a usage error.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err.Error()}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the default handling comes back, so that a
	// second SIGTERM or Ctrl-C ends a drain that is taking too long.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "klaxon: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "klaxon: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "inject":
		return inject(ctx, rest, stdout, stderr)
	case "alerts":
		return alerts(ctx, rest, stdout, stderr)
	case "ack", "acknowledge":
		return changeAlert(ctx, "acknowledge", rest, stdout, stderr)
	case "resolve":
		return changeAlert(ctx, "resolve", rest, stdout, stderr)
	case "oncall":
		return oncall(ctx, rest, stdout, stderr)
	case "status":
		return statusCommand(ctx, rest, stdout, stderr)
	case "apply":
		return applyFiles(ctx, rest, stdout, stderr)
	case "backup", "restore":
		return backupCommand(ctx, cmd, rest, stdout, stderr)
	case "users", "teams", "schedules", "policies", "services":
		return list(ctx, cmd, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "klaxon", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// printJSON writes v as indented JSON, for --json.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printList prints a listing the API answered: its JSON with asJSON,
// otherwise empty when there is nothing, or a table under header with one
// line per row, each decoded into T (what names it in errors).
func printList[T any](w io.Writer, rows []json.RawMessage, asJSON bool, empty, what, header string, line func(*T) string) error {
	if asJSON {
		return printJSON(w, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, empty)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, raw := range rows {
		var row T
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("unexpected %s from server: %w", what, err)
		}
		fmt.Fprintln(tw, line(&row))
	}
	return tw.Flush()
}
