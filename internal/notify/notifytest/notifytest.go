// Package notifytest holds what every channel's tests share: a provider
// that never answers, and the checks of what a failed send tells the
// engine (retry or not, after how long) without leaking credentials. Each
// channel keeps its own table of its provider's documented answers; these
// helpers make every table judge them the same way.
package notifytest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/notify"
)

// StalledHandler holds every request until the client gives up, or until
// the test ends. A server using it must be closed after that: register its
// Close before calling StalledHandler (t.Cleanup runs last-in, first-out).
func StalledHandler(t testing.TB) http.HandlerFunc {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before a server started earlier closes
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

// StalledServer is a provider on 127.0.0.1 that accepts connections and
// never answers.
func StalledServer(t testing.TB) *httptest.Server {
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	// The handler's cleanup, registered after the server's, runs before
	// it: Close waits for handlers, so they must be released first.
	srv.Config.Handler = StalledHandler(t)
	srv.Start()
	return srv
}

// WantDeadline checks what a send to a stalled provider returned, after
// took with a deadline far below limit: a retryable error that wraps
// context.DeadlineExceeded, in time, naming none of secrets.
func WantDeadline(t testing.TB, what string, err error, took, limit time.Duration, secrets ...string) {
	t.Helper()
	if err == nil || notify.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: err = %v, want a retryable error wrapping the context's deadline", what, err)
	}
	if took > limit {
		t.Errorf("%s: the send took %v, past its deadline", what, took)
	}
	WantNoSecrets(t, what, err, secrets...)
}

// WantFailure checks what a failed send tells the engine: whether to retry,
// and after how long the provider asked for, naming none of secrets.
func WantFailure(t testing.TB, err error, permanent bool, retryAfter time.Duration, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("the send succeeded, want an error")
	}
	if got := notify.IsPermanent(err); got != permanent {
		t.Errorf("IsPermanent(%v) = %v, want %v", err, got, permanent)
	}
	if got, _ := notify.RetryAfterOf(err); got != retryAfter {
		t.Errorf("RetryAfterOf(%v) = %v, want %v", err, got, retryAfter)
	}
	WantNoSecrets(t, "error", err, secrets...)
}

// WantNoSecrets fails if err's text holds any of secrets (tokens, keys,
// URLs that work as credentials).
func WantNoSecrets(t testing.TB, what string, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("%s %q shows %q, a credential", what, err, s)
		}
	}
}
