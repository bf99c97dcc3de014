package ntfy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/notifytest"
)

// fakeNtfy speaks ntfy's publish-as-JSON API as documented at
// https://docs.ntfy.sh/publish/#publish-as-json: POST / with a JSON body
// whose only required field is topic; the answer is the stored message
// as JSON, and errors are {"code","http","error","link"} objects.
type fakeNtfy struct {
	t    *testing.T
	auth string // the Authorization header required, or "" for anonymous

	mu       sync.Mutex
	received []publishJSON
}

// publishJSON lists every field ntfy documents for a JSON publish, so that
// decoding with DisallowUnknownFields catches a field ntfy does not know.
type publishJSON struct {
	Topic    string           `json:"topic"`
	Message  *string          `json:"message"`
	Title    *string          `json:"title"`
	Tags     []string         `json:"tags"`
	Priority *int             `json:"priority"`
	Actions  []map[string]any `json:"actions"`
	Click    *string          `json:"click"`
	Attach   *string          `json:"attach"`
	Markdown *bool            `json:"markdown"`
	Icon     *string          `json:"icon"`
	Filename *string          `json:"filename"`
	Delay    *string          `json:"delay"`
	Email    *string          `json:"email"`
	Call     *string          `json:"call"`
}

func (f *fakeNtfy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"code":%d,"http":%d,"error":%q,"link":"https://ntfy.sh/docs/publish/"}`+"\n", code, status, msg)
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		fail(http.StatusNotFound, 40401, "page not found")
		return
	}
	if r.URL.Path != "/" {
		f.t.Errorf("published to %q; JSON must go to the server root", r.URL.Path)
		fail(http.StatusBadRequest, 40017, "invalid request: request body must be message JSON")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	switch got := r.Header.Get("Authorization"); {
	case f.auth != "" && got == "":
		fail(http.StatusForbidden, 40301, "forbidden")
		return
	case got != f.auth:
		fail(http.StatusUnauthorized, 40101, "unauthorized")
		return
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var p publishJSON
	if err := dec.Decode(&p); err != nil {
		f.t.Errorf("publish JSON: %v", err)
		fail(http.StatusBadRequest, 40024, "invalid request: request body must be valid JSON")
		return
	}
	if !ValidTopicName(p.Topic) {
		fail(http.StatusBadRequest, 40009, "invalid request: topic invalid")
		return
	}
	if p.Priority != nil && (*p.Priority < 1 || *p.Priority > 5) {
		fail(http.StatusBadRequest, 40007, "invalid priority parameter")
		return
	}
	if len(p.Actions) > 3 {
		fail(http.StatusBadRequest, 40018, "invalid request: actions invalid, too many actions")
		return
	}
	for _, a := range p.Actions {
		if a["action"] != "http" && a["action"] != "view" || a["label"] == "" || a["url"] == "" {
			fail(http.StatusBadRequest, 40018, "invalid request: actions invalid")
			return
		}
	}
	f.mu.Lock()
	f.received = append(f.received, p)
	n := len(f.received)
	f.mu.Unlock()
	msg := "triggered"
	if p.Message != nil && *p.Message != "" {
		msg = *p.Message
	}
	w.Header().Set("Content-Type", "application/json")
	now := time.Now().Unix()
	json.NewEncoder(w).Encode(map[string]any{
		"id": fmt.Sprintf("msg%07d", n), "time": now, "expires": now + 43200,
		"event": "message", "topic": p.Topic, "message": msg,
	})
}

func (f *fakeNtfy) last(t *testing.T) publishJSON {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) == 0 {
		t.Fatal("nothing was published")
	}
	return f.received[len(f.received)-1]
}

func startFake(t *testing.T, auth string) (*fakeNtfy, *httptest.Server) {
	f := &fakeNtfy{t: t, auth: auth}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func alertMessage(addr string, alerts ...notify.Alert) notify.Message {
	return notify.Message{
		IdempotencyKey: "job-1", Kind: notify.KindAlert, Service: "payments-api",
		To:         notify.Recipient{UserID: 7, Name: "Alice", Type: klaxon.ContactPush, Address: addr},
		Alerts:     alerts,
		ConsoleURL: "https://klaxon.example.com/alerts/42",
	}
}

var diskFull = notify.Alert{
	ID: 42, Number: 4, Summary: "Disk full on db-1", Severity: klaxon.SeverityCritical,
	Status: klaxon.AlertTriggered, Source: "db-1", EventCount: 3,
	CreatedAt:      time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	AcknowledgeURL: "https://klaxon.example.com/a/ack-token",
	ResolveURL:     "https://klaxon.example.com/a/res-token",
}

func TestNotifyOneAlert(t *testing.T) {
	fake, srv := startFake(t, "Bearer tk_secret0123456789")
	c, err := New(Config{Token: "tk_secret0123456789", Server: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Notify(t.Context(), alertMessage(srv.URL+"/klaxon-alice", diskFull))
	if err != nil {
		t.Fatal(err)
	}
	if r.ProviderID != "msg0000001" {
		t.Errorf("ProviderID = %q, want ntfy's id", r.ProviderID)
	}
	got := fake.last(t)
	want := publishJSON{
		Topic:    "klaxon-alice",
		Title:    ptr("CRITICAL: Disk full on db-1 [payments-api]"),
		Message:  ptr("Klaxon #4 CRITICAL: Disk full on db-1 [payments-api]"),
		Priority: ptr(5),
		Tags:     []string{"rotating_light"},
		Click:    ptr("https://klaxon.example.com/alerts/42"),
		Actions: []map[string]any{
			{"action": "http", "label": "Acknowledge", "url": "https://klaxon.example.com/a/ack-token", "method": "POST", "clear": true},
			{"action": "http", "label": "Resolve", "url": "https://klaxon.example.com/a/res-token", "method": "POST", "clear": true},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("published\n%s\nwant\n%s", dump(got), dump(want))
	}
}

func TestNotifyBundleAndPriorities(t *testing.T) {
	fake, srv := startFake(t, "")
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	warn := notify.Alert{ID: 43, Number: 5, Summary: "Slow queries", Severity: klaxon.SeverityWarning, Status: klaxon.AlertTriggered,
		AcknowledgeURL: "https://k/a/1", ResolveURL: "https://k/r/1"}
	m := alertMessage(srv.URL+"/oncall", warn, diskFull)
	m.ConsoleURL = ""
	if _, err := c.Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := fake.last(t)
	if *got.Priority != 5 || !reflect.DeepEqual(got.Tags, []string{"rotating_light"}) {
		t.Errorf("a bundle with a critical alert got priority %d, tags %v", *got.Priority, got.Tags)
	}
	if got.Actions != nil || got.Click != nil {
		t.Errorf("a bundle got actions %v and click %v; buttons are for one alert, click needs a console URL", got.Actions, got.Click)
	}
	if *got.Title != "2 new alerts on payments-api" || !strings.Contains(*got.Message, "#5 WARNING: Slow queries") {
		t.Errorf("title %q, message %q", *got.Title, *got.Message)
	}

	for sev, want := range map[klaxon.Severity]int{
		klaxon.SeverityCritical: 5, klaxon.SeverityError: 4, klaxon.SeverityWarning: 3, klaxon.SeverityInfo: 2,
	} {
		a := diskFull
		a.Severity, a.AcknowledgeURL, a.ResolveURL = sev, "", ""
		if _, err := c.Notify(t.Context(), alertMessage(srv.URL+"/oncall", a)); err != nil {
			t.Fatal(err)
		}
		if got := fake.last(t); *got.Priority != want || len(got.Tags) != 1 || got.Actions != nil {
			t.Errorf("%s: priority %d, tags %v, actions %v; want priority %d, one tag, no actions", sev, *got.Priority, got.Tags, got.Actions, want)
		}
	}
}

func TestNotifyVerificationWithBasicAuth(t *testing.T) {
	fake, srv := startFake(t, "Basic YWxpY2U6czNjcjN0OnBhc3M=") // alice:s3cr3t:pass
	c, err := New(Config{Username: "alice", Password: "s3cr3t:pass", Server: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := notify.Message{Kind: notify.KindVerification, Code: "481516", To: notify.Recipient{Address: srv.URL + "/alice-verify"}}
	if _, err := c.Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := fake.last(t)
	if *got.Priority != 4 || !strings.Contains(*got.Message, "481516") || *got.Title != "Klaxon verification code" || got.Actions != nil {
		t.Errorf("verification published as %s", dump(got))
	}
}

func TestNotifyRefusesBadMessages(t *testing.T) {
	_, srv := startFake(t, "")
	c, _ := New(Config{})
	for name, m := range map[string]notify.Message{
		"bad address":           alertMessage("https://ntfy.sh/a/b", diskFull),
		"no alerts":             alertMessage(srv.URL + "/x"),
		"verification, no code": {Kind: notify.KindVerification, To: notify.Recipient{Address: srv.URL + "/x"}},
		"unknown kind":          {Kind: "fax", To: notify.Recipient{Address: srv.URL + "/x"}},
	} {
		if _, err := c.Notify(t.Context(), m); !notify.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"token and user":        {Token: "tk_x", Username: "a", Password: "b"},
		"token and password":    {Token: "tk_x", Password: "b"},
		"user without password": {Username: "a"},
		"password without user": {Password: "b"},
		"colon in user":         {Username: "a:b", Password: "c"},
		"newline in password":   {Username: "a", Password: "b\nc"},
		"space in token":        {Token: "tk x"},
		"newline in token":      {Token: "tk\r\nX-Evil: 1", Server: "https://ntfy.example.com"},
		"token without server":  {Token: "tk_x"},
		"server not a URL":      {Token: "tk_x", Server: "ntfy.example.com"},
	} {
		c, err := New(cfg)
		if err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
			continue
		}
		for _, secret := range []string{"tk_x", "tk x", "b\nc", "X-Evil"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q repeats a credential", name, err)
			}
		}
	}
}

// TestAnswers is the table of ntfy's answers and what the engine is told.
func TestAnswers(t *testing.T) {
	const token = "tk_supersecret"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type answer struct {
		status     int
		retryAfter string
		location   string
		body       string
	}
	cases := []struct {
		name       string
		answer     answer
		wantID     string
		permanent  bool
		retryAfter time.Duration
	}{
		{"published", answer{200, "", "", `{"id":"hwQ2YpKdmg","time":1635528741,"expires":1635571941,"event":"message","topic":"klaxon-alice","message":"x"}`}, "hwQ2YpKdmg", false, 0},
		{"200 with a web page", answer{200, "", "", "<!DOCTYPE html><html><body>Sign in</body></html>"}, "", true, 0},
		{"200 with truncated JSON", answer{200, "", "", `{"id":"hwQ2`}, "", true, 0},
		{"200 without an id", answer{200, "", "", `{"event":"message"}`}, "", true, 0},
		{"200 empty", answer{200, "", "", ""}, "", true, 0},
		{"invalid topic", answer{400, "", "", `{"code":40009,"http":400,"error":"invalid request: topic invalid"}`}, "", true, 0},
		{"unauthorized", answer{401, "", "", `{"code":40101,"http":401,"error":"unauthorized"}`}, "", true, 0},
		{"forbidden", answer{403, "", "", `{"code":40301,"http":403,"error":"forbidden"}`}, "", true, 0},
		{"too large", answer{413, "", "", `{"code":41303,"http":413,"error":"JSON body too large"}`}, "", true, 0},
		{"redirect is not followed", answer{301, "", "https://elsewhere.example/", ""}, "", true, 0},
		{"rate limited", answer{429, "30", "", `{"code":42908,"http":429,"error":"limit reached: too many messages"}`}, "", false, 30 * time.Second},
		{"rate limited, no Retry-After", answer{429, "", "", `{"code":42901,"http":429,"error":"limit reached: too many requests, please be nice"}`}, "", false, 0},
		{"internal error", answer{500, "", "", `{"code":50001,"http":500,"error":"internal server error"}`}, "", false, 0},
		{"bad gateway", answer{502, "", "", "<html>502 Bad Gateway</html>"}, "", false, 0},
		{"unavailable until a date", answer{503, now.Add(2 * time.Minute).Format(time.RFC1123), "", ""}, "", false, 2 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.answer.retryAfter != "" {
					w.Header().Set("Retry-After", tc.answer.retryAfter)
				}
				if tc.answer.location != "" {
					w.Header().Set("Location", tc.answer.location)
				}
				w.WriteHeader(tc.answer.status)
				w.Write([]byte(tc.answer.body))
			}))
			defer srv.Close()
			c, err := New(Config{Token: token, Server: srv.URL, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Notify(t.Context(), alertMessage(srv.URL+"/klaxon-alice", diskFull))
			if tc.wantID != "" {
				if err != nil || r.ProviderID != tc.wantID {
					t.Fatalf("Notify = %+v, %v; want id %q", r, err, tc.wantID)
				}
				return
			}
			notifytest.WantFailure(t, err, tc.permanent, tc.retryAfter, token, "klaxon-alice")
		})
	}
}

func TestNotifyHonoursDeadline(t *testing.T) {
	srv := notifytest.StalledServer(t)
	c, _ := New(Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Notify(ctx, alertMessage(srv.URL+"/stalled-topic", diskFull))
	notifytest.WantDeadline(t, "Notify", err, time.Since(start), 5*time.Second, "stalled-topic")
}

func TestNotifyUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL + "/gone-topic"
	srv.Close()
	c, _ := New(Config{})
	_, err := c.Notify(t.Context(), alertMessage(addr, diskFull))
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "gone-topic") {
		t.Fatalf("err = %v, want a retryable error that does not name the topic", err)
	}
}

func ptr[T any](v T) *T { return &v }

func dump(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.Encode(v)
	return b.String()
}

// The server's credentials go only to topics on that server: a person's
// topic URL on another server gets the page without them.
func TestCredentialsGoOnlyToTheirServer(t *testing.T) {
	_, own := startFake(t, "Bearer tk_secret0123456789")
	_, other := startFake(t, "")
	c, err := New(Config{Token: "tk_secret0123456789", Server: own.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Notify(t.Context(), alertMessage(own.URL+"/klaxon-alice", diskFull)); err != nil {
		t.Fatalf("own server: %v", err)
	}
	if _, err := c.Notify(t.Context(), alertMessage(other.URL+"/attacker", diskFull)); err != nil {
		t.Fatalf("another server: %v", err)
	}
}
