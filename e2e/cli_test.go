package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

// cliResult is what one run of a client command did.
type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// runCLI runs the binary with args and only the given KLAXON_* environment.
func runCLI(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, klaxonBin, args...)
	cmd.Env = harness.CleanEnv(env...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("klaxon %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("klaxon %v did not finish in 30 s", args)
	}
	return cliResult{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

var injectedAlert = regexp.MustCompile(`alert (\d+)`)

// TestCLI drives the everyday client commands against a running server:
// inject, alerts, ack and resolve, and their exit codes (2 for a usage
// mistake, 1 for a failure) and messages.
func TestCLI(t *testing.T) {
	srv := startServer(t, harness.Options{DataDir: t.TempDir()})
	serviceID, key := createService(t, srv, "cli-test")
	url := "KLAXON_URL=" + srv.URL
	tok := "KLAXON_TOKEN=" + srv.Token

	const summary = "Disk full on db-7 (cli e2e)"
	r := runCLI(t, []string{url}, "inject", "--key", key, "--summary", summary, "--dedup-key", "cli-disk-db7")
	if r.code != 0 {
		t.Fatalf("klaxon inject: %s", r)
	}
	m := injectedAlert.FindStringSubmatch(r.stdout)
	if m == nil || !strings.Contains(r.stdout, "cli-disk-db7") {
		t.Fatalf("klaxon inject did not name the alert and dedup key: %q", r.stdout)
	}
	id := m[1]
	var a apiAlert
	getJSON(t, srv, "/api/v1/alerts/"+id, &a)
	if a.Status != "triggered" || a.Summary != summary || a.DedupKey != "cli-disk-db7" || a.ServiceID != serviceID || a.Severity != "critical" {
		t.Errorf("alert %s after inject: %+v", id, a)
	}
	// The same dedup key again folds into the alert.
	r = runCLI(t, []string{url, "KLAXON_INTEGRATION_KEY=" + key}, "inject", "--summary", summary, "--dedup-key", "cli-disk-db7")
	if r.code != 0 || !strings.Contains(r.stdout, "alert "+id+",") {
		t.Errorf("second inject (key from KLAXON_INTEGRATION_KEY) with the same dedup key: want alert %s: %s", id, r)
	}

	r = runCLI(t, []string{url, tok}, "alerts")
	if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, summary) || !strings.Contains(r.stdout, "triggered") {
		t.Errorf("klaxon alerts does not list alert %s as triggered: %s", id, r)
	}
	r = runCLI(t, []string{url, tok}, "alerts", "--status", "resolved")
	if r.code != 0 || strings.Contains(r.stdout, summary) {
		t.Errorf("klaxon alerts --status resolved lists the open alert %s: %s", id, r)
	}

	r = runCLI(t, []string{url, tok}, "ack", id)
	if r.code != 0 || !strings.Contains(r.stdout, "acknowledged") {
		t.Errorf("klaxon ack %s: %s", id, r)
	}
	getJSON(t, srv, "/api/v1/alerts/"+id, &a)
	if a.Status != "acknowledged" {
		t.Errorf("after klaxon ack, alert %s is %s", id, a.Status)
	}
	r = runCLI(t, []string{url, tok}, "resolve", id)
	if r.code != 0 || !strings.Contains(r.stdout, "resolved") {
		t.Errorf("klaxon resolve %s: %s", id, r)
	}
	getJSON(t, srv, "/api/v1/alerts/"+id, &a)
	if a.Status != "resolved" {
		t.Errorf("after klaxon resolve, alert %s is %s", id, a.Status)
	}
	r = runCLI(t, []string{url, tok}, "alerts", "--status", "resolved")
	if r.code != 0 || !strings.Contains(r.stdout, id) {
		t.Errorf("klaxon alerts --status resolved does not list the resolved alert %s: %s", id, r)
	}

	down := "KLAXON_URL=http://" + freeAddr(t)
	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		want []string // in stderr, case-insensitive
	}{
		{"ack without id", []string{url, tok}, []string{"ack"}, 2, []string{"exactly one alert id"}},
		{"ack not a number", []string{url, tok}, []string{"ack", "abc"}, 2, []string{`"abc"`, "not an alert id"}},
		{"ack unknown alert", []string{url, tok}, []string{"ack", "99999"}, 1, []string{"not found"}},
		{"resolve unknown alert", []string{url, tok}, []string{"resolve", "99999"}, 1, []string{"not found"}},
		{"wrong token", []string{url, "KLAXON_TOKEN=klx_wrong_token_0000000000000000"}, []string{"alerts"}, 1, []string{"401"}},
		{"wrong token ack", []string{url, "KLAXON_TOKEN=klx_wrong_token_0000000000000000"}, []string{"ack", id}, 1, []string{"401"}},
		{"no token", []string{url}, []string{"alerts"}, 2, []string{"token"}},
		{"server down", []string{down, tok}, []string{"alerts"}, 1, []string{"cannot reach"}},
		{"server down inject", []string{down}, []string{"inject", "--key", key, "--summary", "x"}, 1, []string{"cannot reach"}},
		{"inject without key", []string{url}, []string{"inject", "--summary", "x"}, 2, []string{"key"}},
		{"inject wrong key", []string{url}, []string{"inject", "--key", "0123456789abcdef0123456789abcdef", "--summary", "x"}, 1, []string{"401"}},
		{"unknown command", []string{url, tok}, []string{"bogus"}, 2, []string{`"bogus"`}},
		{"no command", nil, nil, 2, []string{"usage"}},
	} {
		r := runCLI(t, c.env, c.args...)
		if r.code != c.code {
			t.Errorf("%s: klaxon %v: exit %d, want %d\nstdout: %s\nstderr: %s", c.name, c.args, r.code, c.code, r.stdout, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(w)) {
				t.Errorf("%s: klaxon %v: stderr does not mention %q:\n%s", c.name, c.args, w, r.stderr)
			}
		}
	}
}
