// Package harness builds the real klaxon binary and runs it as a child
// process on a loopback port, for the end-to-end tests and the benchmark.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RepoRoot finds the module root from the caller's working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles cmd/klaxon into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "klaxon")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/klaxon")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("harness: go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Options say how to start the server.
type Options struct {
	DataDir string   // --data; none when empty (the binary's default then)
	Args    []string // extra flags for "klaxon serve"
	Env     []string // extra environment, KEY=VALUE
	Token   string   // the bootstrap token; a fixed test token when empty
	Dir     string   // working directory; the caller's when empty
	// Bare starts the binary as a newcomer would: no KLAXON_* variable from
	// the caller's environment and no bootstrap token (Token is ignored).
	Bare bool
}

// CleanEnv is the caller's environment without any KLAXON_* variable (so
// that a developer's own settings cannot change what a test sees), plus
// extra.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KLAXON_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Server is a running klaxon serve process.
type Server struct {
	URL, Token, DataDir string
	cmd                 *exec.Cmd
	out                 *syncBuffer
	done                chan struct{}
	waitErr             error
}

var listening = regexp.MustCompile(`listening on (http://[^ ]+)`)

// Start runs "klaxon serve" on 127.0.0.1 port 0 and waits until it says
// where it listens; a process that exits first is an error.
func Start(ctx context.Context, bin string, o Options) (*Server, error) {
	s, err := Launch(ctx, bin, o)
	if err != nil {
		return nil, err
	}
	if s.URL == "" {
		return nil, fmt.Errorf("harness: klaxon exited before listening: %v\n%s", s.waitErr, s.Output())
	}
	return s, nil
}

// Launch runs "klaxon serve" on 127.0.0.1 port 0 and returns once it either
// listens (URL set) or has exited (URL empty; see ExitCode and Output), for
// tests of starts that must fail.
func Launch(ctx context.Context, bin string, o Options) (*Server, error) {
	args := []string{"serve", "--listen", "127.0.0.1:0"}
	if o.DataDir != "" {
		args = append(args, "--data", o.DataDir)
	}
	args = append(args, o.Args...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = o.Dir
	if o.Bare {
		o.Token = ""
		cmd.Env = CleanEnv(o.Env...)
	} else {
		if o.Token == "" {
			o.Token = "klx_e2e_bootstrap_token_0123456789"
		}
		cmd.Env = append(append(os.Environ(), "KLAXON_BOOTSTRAP_TOKEN="+o.Token), o.Env...)
	}
	out := &syncBuffer{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("harness: start klaxon: %w", err)
	}
	s := &Server{Token: o.Token, DataDir: o.DataDir, cmd: cmd, out: out, done: make(chan struct{})}
	urlCh := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			out.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case urlCh <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		<-scanned // all of stdout is in Output before Done is closed
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	select {
	case s.URL = <-urlCh:
		return s, nil
	case <-s.done:
		return s, nil
	case <-time.After(20 * time.Second):
		s.Kill()
		return nil, fmt.Errorf("harness: klaxon neither listened nor exited in 20s\n%s", out.String())
	case <-ctx.Done():
		s.Kill()
		return nil, ctx.Err()
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// code; a process still running then is killed and reported as an error.
func (s *Server) Wait(timeout time.Duration) (int, error) {
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		s.Kill()
		return -1, fmt.Errorf("harness: klaxon did not exit within %s", timeout)
	}
}

// PID is the server's process id, for reading its memory and CPU from /proc.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Output is everything the process printed so far (stdout and stderr).
func (s *Server) Output() string { return s.out.String() }

// Kill sends SIGKILL, as a crash would, and waits for the process to end.
func (s *Server) Kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Stop sends SIGTERM and waits up to timeout for a clean exit.
func (s *Server) Stop(timeout time.Duration) error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.waitErr
	case <-time.After(timeout):
		s.Kill()
		return fmt.Errorf("harness: klaxon did not stop within %s after SIGTERM", timeout)
	}
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Do sends a JSON request with the admin token and decodes a 2xx JSON
// answer into out.
func (s *Server) Do(ctx context.Context, method, path string, in, out any) error {
	return DoJSON(ctx, http.DefaultClient, method, s.URL+path, s.Token, in, out)
}

// CreateService creates a service with an api integration and returns the
// service id and the integration key.
func (s *Server) CreateService(ctx context.Context, name string) (serviceID, key string, err error) {
	var svc struct{ ID string }
	if err := s.Do(ctx, "POST", "/api/v1/services", map[string]string{"name": name}, &svc); err != nil {
		return "", "", err
	}
	var in struct{ Key string }
	if err := s.Do(ctx, "POST", "/api/v1/services/"+svc.ID+"/integrations", map[string]string{"kind": "api"}, &in); err != nil {
		return "", "", err
	}
	return svc.ID, in.Key, nil
}

// DoJSON sends a JSON request with a bearer secret and decodes a 2xx JSON
// answer into out; other answers are errors with the body.
func DoJSON(ctx context.Context, c *http.Client, method, url, bearer string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
