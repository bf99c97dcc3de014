package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/e2e/harness"
)

var adminTokenLine = regexp.MustCompile(`Admin API token \(shown once, keep it safe\): (klx_\S+)`)

// TestREADMECommands: README.md opens with exactly two commands, the first
// running Klaxon with no configuration and the second running the tests.
// The first is then run as a newcomer would: no flags (only the listen
// address, to stay off port 8080), no environment, in a directory of its
// own. It must create ./klaxon-data/klaxon.db there, print an admin token
// that works, print no token on the next start, and refuse a second process
// on the same data directory.
func TestREADMECommands(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if os.IsNotExist(err) {
		t.Fatal("README.md does not exist at the repository root: it must start with a fenced block of two commands, " +
			"`go run ./cmd/klaxon serve` and the command that runs the tests")
	}
	if err != nil {
		t.Fatal(err)
	}
	cmds := leadingCommands(t, string(readme))
	if len(cmds) != 2 {
		t.Fatalf("README.md must start with a fenced block of exactly two commands; its first block holds %d: %q", len(cmds), cmds)
	}
	if cmds[0] != "go run ./cmd/klaxon serve" {
		t.Errorf("the README's first command is %q; want %q (Klaxon with no configuration)", cmds[0], "go run ./cmd/klaxon serve")
	}
	if f := strings.Fields(cmds[1]); len(f) < 3 || f[0] != "go" || f[1] != "test" || f[len(f)-1] != "./..." {
		t.Errorf("the README's second command is %q; want the tests run, as go test … ./...", cmds[1])
	}

	// "klaxon serve" with no flags: the defaults it would use.
	help, _ := exec.Command(klaxonBin, "serve", "-h").CombinedOutput()
	for _, def := range []string{`"./klaxon-data"`, `"127.0.0.1:8080"`} {
		if !strings.Contains(string(help), def) {
			t.Errorf("klaxon serve -h does not show the default %s:\n%s", def, help)
		}
	}

	dir := t.TempDir()
	// A newcomer's start: no KLAXON_* settings, no bootstrap token, no --data.
	bare := harness.Options{Dir: dir, Bare: true}
	first := launch(t, bare)
	if first.URL == "" {
		t.Fatalf("klaxon serve exited before serving:\n%s", first.Output())
	}
	logReady(t, first.Output())
	if _, err := os.Stat(filepath.Join(dir, "klaxon-data", "klaxon.db")); err != nil {
		t.Errorf("klaxon serve with no --data did not create ./klaxon-data/klaxon.db in its working directory: %v", err)
	}
	m := adminTokenLine.FindStringSubmatch(first.Output())
	if m == nil {
		t.Fatalf("the first start did not print \"Admin API token (shown once, keep it safe): klx_…\":\n%s", first.Output())
	}
	token := m[1]
	if code := getStatus(t, first.URL+"/api/v1/services", token); code != http.StatusOK {
		t.Errorf("GET /api/v1/services with the printed admin token: %d, want 200", code)
	}
	if code := getStatus(t, first.URL+"/api/v1/services", "klx_not_the_token_0000000000"); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/services with a wrong token: %d, want 401", code)
	}

	// A second process on the same data directory while the first runs.
	second := launch(t, bare)
	if second.URL != "" {
		t.Errorf("a second klaxon serve on the same data directory started serving at %s", second.URL)
	}
	if code, err := second.Wait(10 * time.Second); err != nil || code == 0 {
		t.Errorf("a second klaxon serve on the same data directory: exit code %d (%v), want non-zero", code, err)
	}
	if out := second.Output(); !strings.Contains(out, "in use") {
		t.Errorf("a second klaxon serve on the same data directory did not say the directory is in use:\n%s", out)
	}
	if code := getStatus(t, first.URL+"/api/v1/services", token); code != http.StatusOK {
		t.Errorf("the first server stopped answering after the second was refused: %d", code)
	}

	if err := first.Stop(20 * time.Second); err != nil {
		t.Errorf("SIGTERM: %v, want exit code 0:\n%s", err, first.Output())
	}

	// The next start on the same directory: no new token, the old one works.
	again := launch(t, bare)
	if again.URL == "" {
		t.Fatalf("the second start exited before serving:\n%s", again.Output())
	}
	logReady(t, again.Output())
	if strings.Contains(again.Output(), "Admin API token") || strings.Contains(again.Output(), "klx_") {
		t.Errorf("the second start printed a token again:\n%s", again.Output())
	}
	if code := getStatus(t, again.URL+"/api/v1/services", token); code != http.StatusOK {
		t.Errorf("after a restart, the first start's admin token: %d, want 200", code)
	}
	if err := again.Stop(20 * time.Second); err != nil {
		t.Errorf("SIGTERM: %v, want exit code 0", err)
	}
}

// leadingCommands returns the lines of the fenced block README.md must open
// with (blank lines ignored), or fails the test.
func leadingCommands(t *testing.T, readme string) []string {
	t.Helper()
	lines := strings.Split(strings.ReplaceAll(readme, "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) || !strings.HasPrefix(lines[i], "```") {
		t.Fatalf("README.md must start with a fenced code block of two commands; it starts with %q", lines[min(i, len(lines)-1)])
	}
	var cmds []string
	for i++; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "```") {
			return cmds
		}
		if l != "" {
			cmds = append(cmds, strings.TrimPrefix(l, "$ "))
		}
	}
	t.Fatal("README.md's first fenced block is not closed")
	return nil
}

func getStatus(t *testing.T, url, bearer string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
