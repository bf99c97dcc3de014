package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The one table of provider answers → what the engine does. Every HTTP
// channel classifies its answers with HTTPStatusError, so this table is the
// rule for all of them.
func TestHTTPStatusError(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		ok         bool
		permanent  bool
		wait       time.Duration
	}{
		{"200 OK", 200, "", true, false, 0},
		{"201 Created", 201, "", true, false, 0},
		{"202 Accepted", 202, "", true, false, 0},
		{"204 No Content", 204, "", true, false, 0},
		{"301 redirect is not delivery", 301, "", false, true, 0},
		{"400 malformed request", 400, "", false, true, 0},
		{"401 credentials refused", 401, "", false, true, 0},
		{"403 forbidden", 403, "", false, true, 0},
		{"404 unknown endpoint", 404, "", false, true, 0},
		{"408 request timeout", 408, "", false, false, 0},
		{"410 gone", 410, "", false, true, 0},
		{"413 too large", 413, "", false, true, 0},
		{"425 too early", 425, "", false, false, 0},
		{"429 with seconds", 429, "7", false, false, 7 * time.Second},
		{"429 with a date", 429, "Sun, 01 Mar 2026 12:00:30 GMT", false, false, 30 * time.Second},
		{"429 asking for too long is capped", 429, "86400", false, false, maxRetryAfter},
		{"429 with garbage", 429, "soon", false, false, 0},
		{"429 with a date in the past", 429, "Sun, 01 Mar 2026 11:00:00 GMT", false, false, 0},
		{"500 server error", 500, "", false, false, 0},
		{"502 bad gateway", 502, "", false, false, 0},
		{"503 with Retry-After", 503, "120", false, false, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := HTTPStatusError("provider", tc.status, tc.retryAfter, []byte("  an\nanswer  "), now)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if err == nil {
				return
			}
			if IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v", IsPermanent(err), tc.permanent)
			}
			wait, _ := RetryAfterOf(err)
			if wait != tc.wait {
				t.Errorf("retry after %v, want %v", wait, tc.wait)
			}
			if !strings.Contains(err.Error(), "an answer") {
				t.Errorf("error %q does not carry the answer on one line", err)
			}
		})
	}
}

func TestPlainErrorsAreRetried(t *testing.T) {
	err := errors.New("connection reset")
	if IsPermanent(err) {
		t.Fatal("a plain error must be retried")
	}
	if !IsPermanent(Permanent(err)) || !errors.Is(Permanent(err), err) {
		t.Fatal("Permanent must mark and wrap")
	}
}
