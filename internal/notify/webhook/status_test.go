package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/notifytest"
)

// statusBody is a status page update as the page renders it: Statuspage's
// webhook shape, pretty-printed, with text that JSON may escape.
const statusBody = `{
  "meta": {"unsubscribe": "https://status.acme.example/subscriptions/unsubscribe/NDI.abc",
           "documentation": "https://status.acme.example/api/v2/", "generated_at": "2026-03-01T12:00:04Z"},
  "page": {"id": "acme", "status_indicator": "major", "status_description": "Partial System Outage"},
  "incident": {"id": "12", "name": "Checkout <errors> & timeouts", "status": "identified", "impact": "major",
               "incident_updates": [{"id": "31", "status": "identified", "body": "Rolling back.\nNext update soon."}]}
}`

func statusPost(addr string) notify.StatusPost {
	return notify.StatusPost{DeliveryID: "status-77", URL: addr, Secret: []byte("whsec_alice"), Body: []byte(statusBody)}
}

func TestSendStatus(t *testing.T) {
	rc, addr := startReceiver(t)
	c, err := New(Config{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendStatus(t.Context(), statusPost(addr)); err != nil {
		t.Fatalf("SendStatus: %v", err)
	}
	got := rc.last(t)
	for h, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "Klaxon-Webhook/1",
		"X-Klaxon-Event":    "status.incident_update",
		"X-Klaxon-Delivery": "status-77",
		"Idempotency-Key":   "status-77",
		SignatureHeader:     Sign([]byte("whsec_alice"), sentAt, got.body),
	} {
		if v := got.header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	// The receiver reads the page's document, value for value.
	var body, want any
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got.body)
	}
	if err := json.Unmarshal([]byte(statusBody), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body\n%s\nwant the page's document\n%s", got.body, statusBody)
	}
	// The signature covers exactly the bytes sent: any change is refused.
	altered := bytes.Replace(got.body, []byte(`"identified"`), []byte(`"resolved"`), 1)
	if bytes.Equal(altered, got.body) {
		t.Fatal("test did not alter the body")
	}
	if err := Verify([]byte("whsec_alice"), got.header.Get(SignatureHeader), altered, sentAt, 0); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("altered body: Verify = %v, want ErrSignatureMismatch", err)
	}
}

// What cannot be sent as it should is refused for good, before any request.
func TestSendStatusRefuses(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	addr := srv.URL + "/hooks/k?token=receiver-own-token"
	c, _ := New(Config{Now: clock})
	edit := func(f func(*notify.StatusPost)) notify.StatusPost {
		p := statusPost(addr)
		f(&p)
		return p
	}
	for name, p := range map[string]notify.StatusPost{
		"no secret":       edit(func(p *notify.StatusPost) { p.Secret = nil }),
		"no delivery id":  edit(func(p *notify.StatusPost) { p.DeliveryID = "" }),
		"id with newline": edit(func(p *notify.StatusPost) { p.DeliveryID = "status-1\r\nX-Evil: 1" }),
		"body not JSON":   edit(func(p *notify.StatusPost) { p.Body = []byte(`{"incident":`) }),
		"empty body":      edit(func(p *notify.StatusPost) { p.Body = nil }),
		"bad URL":         edit(func(p *notify.StatusPost) { p.URL = "https://user:receiver-own-token@example.com/x" }),
	} {
		err := c.SendStatus(t.Context(), p)
		if !notify.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
		}
		notifytest.WantNoSecrets(t, name, err, "receiver-own-token", "whsec")
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

// TestSendStatusAnswers: the webhook rule, the same as for pages and
// lifecycle events.
func TestSendStatusAnswers(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       string // ok, retry, permanent
		after      time.Duration
	}{
		{200, "", "ok", 0}, {202, "", "ok", 0}, {204, "", "ok", 0},
		{302, "", "retry", 0}, {400, "", "retry", 0}, {404, "", "retry", 0},
		{410, "", "permanent", 0},
		{429, "7", "retry", 7 * time.Second},
		{500, "", "retry", 0},
		{503, sentAt.Add(2 * time.Minute).Format(time.RFC1123), "retry", 2 * time.Minute},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				if tc.status >= 300 && tc.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, `{"error":"nope"}`)
			}))
			defer srv.Close()
			c, _ := New(Config{Now: clock})
			err := c.SendStatus(t.Context(), statusPost(srv.URL+"/hooks/k?token=receiver-own-token"))
			if tc.want == "ok" {
				if err != nil {
					t.Fatalf("SendStatus: %v", err)
				}
				return
			}
			notifytest.WantFailure(t, err, tc.want == "permanent", tc.after, "receiver-own-token", "whsec")
		})
	}
}

func TestSendStatusHonoursDeadline(t *testing.T) {
	srv := notifytest.StalledServer(t)
	c, _ := New(Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.SendStatus(ctx, statusPost(srv.URL+"/hooks/k?token=receiver-own-token"))
	notifytest.WantDeadline(t, "SendStatus", err, time.Since(start), 5*time.Second, "receiver-own-token")
}
