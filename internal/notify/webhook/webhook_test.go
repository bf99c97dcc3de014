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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/notifytest"
)

// receiver is a webhook endpoint written the way Klaxon's documentation
// tells people to write one: check the signature with Verify over the raw
// body, then decode.
type receiver struct {
	t      *testing.T
	secret []byte
	now    func() time.Time

	mu       sync.Mutex
	requests []received
}

type received struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := Verify(rc.secret, r.Header.Get(SignatureHeader), body, rc.now(), 0); err != nil {
		rc.t.Errorf("receiver: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/hooks/klaxon" || r.URL.RawQuery != "token=receiver-own-token" {
		rc.t.Errorf("receiver: %s %s", r.Method, r.URL)
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, received{r.Header.Clone(), body})
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) last(t *testing.T) received {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.requests) == 0 {
		t.Fatal("nothing was received")
	}
	return rc.requests[len(rc.requests)-1]
}

var sentAt = time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)

func clock() time.Time { return sentAt }

func startReceiver(t *testing.T) (*receiver, string) {
	rc := &receiver{t: t, secret: []byte("whsec_alice"), now: clock}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/hooks/klaxon?token=receiver-own-token"
}

var diskFull = notify.Alert{
	ID: 42, Number: 4, Summary: "Disk full on db-1", Severity: klaxon.SeverityCritical,
	Status: klaxon.AlertTriggered, Source: "db-1", Component: "disk", EventCount: 3,
	CreatedAt:      time.Date(2026, 3, 1, 11, 58, 0, 0, time.FixedZone("CET", 3600)),
	AcknowledgeURL: "https://klaxon.example.com/a/ack-token",
	ResolveURL:     "https://klaxon.example.com/a/res-token",
}

func alertMessage(addr string, alerts ...notify.Alert) notify.Message {
	return notify.Message{
		IdempotencyKey: "notification-9001", Kind: notify.KindAlert, Service: "payments-api",
		To:     notify.Recipient{UserID: 7, Name: "Alice", Type: klaxon.ContactWebhook, Address: addr, SigningSecret: []byte("whsec_alice")},
		Alerts: alerts,
	}
}

func TestNotify(t *testing.T) {
	rc, addr := startReceiver(t)
	c, err := New(Config{UserAgent: "Klaxon/1.2 (+https://klaxon.example.com)", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	quiet := notify.Alert{ID: 43, Number: 5, Summary: "Slow", Severity: klaxon.SeverityInfo, Status: klaxon.AlertAcknowledged, EventCount: 1,
		CreatedAt: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)}
	if r, err := c.Notify(t.Context(), alertMessage(addr, diskFull, quiet)); err != nil || r != (notify.Receipt{}) {
		t.Fatalf("Notify = %+v, %v", r, err)
	}
	got := rc.last(t)
	for h, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "Klaxon/1.2 (+https://klaxon.example.com)",
		"X-Klaxon-Event":    "alert.notify",
		"X-Klaxon-Delivery": "notification-9001",
		"Idempotency-Key":   "notification-9001",
		SignatureHeader:     Sign([]byte("whsec_alice"), sentAt, got.body),
	} {
		if v := got.header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	if !strings.HasPrefix(got.header.Get(SignatureHeader), "t=1772366405,v1=") {
		t.Errorf("signature %q is not stamped with the send time", got.header.Get(SignatureHeader))
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(got.body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	dec = json.NewDecoder(strings.NewReader(`{
		"event": "alert.notify",
		"idempotency_key": "notification-9001",
		"sent_at": "2026-03-01T12:00:05Z",
		"service": "payments-api",
		"recipient": {"user_id": 7, "name": "Alice"},
		"alerts": [
			{"id": 42, "number": 4, "summary": "Disk full on db-1", "severity": "critical", "status": "triggered",
			 "source": "db-1", "component": "disk", "event_count": 3, "created_at": "2026-03-01T10:58:00Z",
			 "acknowledge_url": "https://klaxon.example.com/a/ack-token", "resolve_url": "https://klaxon.example.com/a/res-token"},
			{"id": 43, "number": 5, "summary": "Slow", "severity": "info", "status": "acknowledged",
			 "event_count": 1, "created_at": "2026-03-01T11:00:00Z"}
		]}`))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body\n%s\nwant the documented payload", got.body)
	}

	// What the receiver must refuse, starting from the real request.
	header := got.header.Get(SignatureHeader)
	altered := bytes.Replace(got.body, []byte(`"severity":"critical"`), []byte(`"severity":"info"`), 1)
	if bytes.Equal(altered, got.body) {
		t.Fatal("test did not alter the body")
	}
	forged := Sign([]byte("guessed secret"), sentAt, got.body)
	for name, tc := range map[string]struct {
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		"as received":              {header, got.body, sentAt, nil},
		"altered body":             {header, altered, sentAt, ErrSignatureMismatch},
		"forged signature":         {forged, got.body, sentAt, ErrSignatureMismatch},
		"replayed ten minutes on":  {header, got.body, sentAt.Add(10 * time.Minute), ErrStaleSignature},
		"signature header dropped": {"", got.body, sentAt, ErrNoSignature},
	} {
		if err := Verify([]byte("whsec_alice"), tc.header, tc.body, tc.now, 0); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", name, err, tc.want)
		}
	}
}

func TestNotifyVerification(t *testing.T) {
	rc, addr := startReceiver(t)
	c, _ := New(Config{Now: clock})
	m := notify.Message{IdempotencyKey: "verify-1", Kind: notify.KindVerification, Code: "481516",
		To: notify.Recipient{UserID: 7, Name: "Alice", Address: addr, SigningSecret: []byte("whsec_alice")}}
	if _, err := c.Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := rc.last(t)
	want := `{"event":"contact_method.verify","idempotency_key":"verify-1","sent_at":"2026-03-01T12:00:05Z","recipient":{"user_id":7,"name":"Alice"},"code":"481516"}`
	if string(got.body) != want {
		t.Errorf("body %s\nwant %s", got.body, want)
	}
	if ev, ua := got.header.Get("X-Klaxon-Event"), got.header.Get("User-Agent"); ev != "contact_method.verify" || ua != "Klaxon-Webhook/1" {
		t.Errorf("event %q, user agent %q", ev, ua)
	}
}

// TestSend is the path alert lifecycle webhooks take.
func TestSend(t *testing.T) {
	rc, addr := startReceiver(t)
	c, _ := New(Config{Now: clock})
	err := c.Send(t.Context(), Delivery{URL: addr, Secret: []byte("whsec_alice"), Event: "alert.resolved", ID: "alert-42-resolved",
		Payload: map[string]any{"event": "alert.resolved", "alert": map[string]any{"id": 42}}})
	if err != nil {
		t.Fatal(err)
	}
	got := rc.last(t)
	if string(got.body) != `{"alert":{"id":42},"event":"alert.resolved"}` || got.header.Get("X-Klaxon-Event") != "alert.resolved" ||
		got.header.Get("Idempotency-Key") != "alert-42-resolved" {
		t.Errorf("received %s with %v", got.body, got.header)
	}

	for name, d := range map[string]Delivery{
		"no secret":        {URL: addr, Event: "alert.resolved", ID: "x", Payload: 1},
		"bad URL":          {URL: "ftp://example.com/x", Secret: []byte("s"), Event: "alert.resolved", ID: "x", Payload: 1},
		"bad event":        {URL: addr, Secret: []byte("s"), Event: "Alert Resolved\r\n", ID: "x", Payload: 1},
		"no id":            {URL: addr, Secret: []byte("s"), Event: "alert.resolved", Payload: 1},
		"id with newline":  {URL: addr, Secret: []byte("s"), Event: "alert.resolved", ID: "x\ny", Payload: 1},
		"unencodable body": {URL: addr, Secret: []byte("s"), Event: "alert.resolved", ID: "x", Payload: func() {}},
	} {
		if err := c.Send(t.Context(), d); !notify.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
		}
	}
}

func TestNotifyRefusesBadMessages(t *testing.T) {
	_, addr := startReceiver(t)
	c, _ := New(Config{Now: clock})
	noSecret := alertMessage(addr, diskFull)
	noSecret.To.SigningSecret = nil
	noKey := alertMessage(addr, diskFull)
	noKey.IdempotencyKey = ""
	for name, m := range map[string]notify.Message{
		"bad address":           alertMessage("https://user:pw@example.com/x", diskFull),
		"no signing secret":     noSecret,
		"no idempotency key":    noKey,
		"no alerts":             alertMessage(addr),
		"verification, no code": {IdempotencyKey: "k", Kind: notify.KindVerification, To: noSecret.To},
		"unknown kind":          {IdempotencyKey: "k", Kind: "fax", To: noSecret.To},
	} {
		if _, err := c.Notify(t.Context(), m); !notify.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
		}
	}
	if _, err := New(Config{UserAgent: "Klaxon\r\nX-Evil: 1"}); err == nil {
		t.Error("New accepted a user agent with a line break")
	}
}

// TestAnswers is the webhook rule: 2xx delivered; 410 permanent; anything
// else retried, with Retry-After where the receiver gave one.
func TestAnswers(t *testing.T) {
	cases := []struct {
		status     int
		retryAfter string
		want       string // ok, retry, permanent
		after      time.Duration
	}{
		{200, "", "ok", 0}, {201, "", "ok", 0}, {202, "", "ok", 0}, {204, "", "ok", 0},
		{301, "", "retry", 0}, {302, "", "retry", 0}, {307, "", "retry", 0}, {308, "", "retry", 0},
		{400, "", "retry", 0}, {401, "", "retry", 0}, {403, "", "retry", 0}, {404, "", "retry", 0},
		{405, "", "retry", 0}, {413, "", "retry", 0}, {422, "", "retry", 0},
		{410, "", "permanent", 0},
		{429, "30", "retry", 30 * time.Second},
		{500, "", "retry", 0}, {502, "", "retry", 0},
		{503, sentAt.Add(time.Minute).Format(time.RFC1123), "retry", time.Minute},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			var redirected bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					redirected = true
					return
				}
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
			_, err := c.Notify(t.Context(), alertMessage(srv.URL+"/hooks/k?token=receiver-own-token", diskFull))
			if redirected {
				t.Error("a redirect was followed")
			}
			if tc.want == "ok" {
				if err != nil {
					t.Fatalf("Notify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Notify succeeded, want an error")
			}
			notifytest.WantFailure(t, err, tc.want == "permanent", tc.after, "receiver-own-token", "whsec")
		})
	}
}

func TestNotifyHonoursDeadline(t *testing.T) {
	srv := notifytest.StalledServer(t)
	c, _ := New(Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Notify(ctx, alertMessage(srv.URL+"/hooks/k?token=receiver-own-token", diskFull))
	notifytest.WantDeadline(t, "Notify", err, time.Since(start), 5*time.Second, "receiver-own-token")
}

func TestParseURL(t *testing.T) {
	for _, ok := range []string{
		"https://hooks.example.com/klaxon", "http://10.0.0.9:8080/hook?token=abc", "http://[::1]/x", "https://example.com",
	} {
		if _, err := ParseURL(ok); err != nil {
			t.Errorf("ParseURL(%q): %v", ok, err)
		}
	}
	for _, tc := range []struct{ addr, want string }{
		{"", "required"},
		{"hooks.example.com/SECRET", "http or https"},
		{"ftp://example.com/SECRET", "http or https"},
		{"https:///SECRET", "http or https"},
		{"https:example.com/SECRET", "http or https"},
		{"https://example.com:port/SECRET", "http or https"},
		{"https://example.com/%zzSECRET", "http or https"},
		{"https://user:SECRET@example.com/", "user name or password"},
		{"https://example.com/x#SECRET", "fragment"},
		{"https://example.com/SECRET x", "spaces"},
		{"https://example.com/SECRET\x00", "control"},
		{"https://example.com/\xffSECRET", "control"},
		{"https://example.com/SECRET" + strings.Repeat("a", klaxon.MaxURLLength), "too long"},
	} {
		_, err := ParseURL(tc.addr)
		if err == nil || !strings.Contains(err.Error(), tc.want) || klaxon.ErrorCodeOf(err) != klaxon.EINVALID {
			t.Errorf("ParseURL(%q) = %v, want a field error saying %q", tc.addr, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error %q repeats the address", err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.com/klaxon", "http://[::1]:80/x?y#z", "https://u@h/", "https:h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		u, err := ParseURL(addr)
		if err != nil {
			if klaxon.ErrorCodeOf(err) != klaxon.EINVALID {
				t.Fatalf("ParseURL(%q): %v is not a field error", addr, err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
			t.Fatalf("ParseURL(%q) accepted %#v", addr, u)
		}
		if _, err := http.NewRequest(http.MethodPost, addr, nil); err != nil {
			t.Fatalf("ParseURL(%q) accepted a URL net/http refuses: %v", addr, err)
		}
	})
}
