package smsgateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

const secretKey = "sk_live_0123456789abcdef"

func alertMessage() notify.Message {
	return notify.Message{
		IdempotencyKey: "job-42",
		Kind:           notify.KindAlert,
		To:             notify.Recipient{Name: "Ada", Type: klaxon.ContactSMS, Address: "+14155550123"},
		Service:        "payments-api",
		Alerts: []notify.Alert{{ID: 7, Number: 4, Summary: "Disk full on db-1",
			Severity: klaxon.SeverityCritical, Status: klaxon.AlertTriggered}},
	}
}

// recorder is a local gateway: it keeps each request and answers with
// handle, or 200 {"data":{"id":"msg-1"}}.
type recorder struct {
	bodies []string
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	handle http.HandlerFunc
}

// recorded is a copy of what the gateway received: the server owns the
// *http.Request itself.
type recorded struct {
	Method string
	URL    *url.URL
	Header http.Header
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		u := *r.URL
		rec.reqs = append(rec.reqs, recorded{Method: r.Method, URL: &u, Header: r.Header.Clone()})
		rec.bodies = append(rec.bodies, string(body))
		handle := rec.handle
		rec.mu.Unlock()
		if handle != nil {
			handle(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"id":"msg-1"}}`)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) last(t *testing.T) (recorded, string) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("no request reached the gateway")
	}
	return rec.reqs[len(rec.reqs)-1], rec.bodies[len(rec.bodies)-1]
}

func jsonConfig(base string) Config {
	return Config{
		URL:            base + "/v1/messages",
		Body:           `{"to": {{json .To}}, "text": {{json .Text}}, "reference": {{json .IdempotencyKey}}}`,
		ContentType:    "application/json",
		Headers:        map[string]string{"Authorization": "Bearer " + secretKey},
		MessageIDField: "data.id",
	}
}

func mustNew(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

func TestJSONGateway(t *testing.T) {
	rec := newRecorder(t)
	m := alertMessage()
	rcpt, err := mustNew(t, jsonConfig(rec.srv.URL)).Notify(context.Background(), m)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if rcpt.ProviderID != "msg-1" {
		t.Errorf("ProviderID = %q, want msg-1", rcpt.ProviderID)
	}
	r, body := rec.last(t)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	for k, want := range map[string]string{
		"Content-Type":    "application/json",
		"Authorization":   "Bearer " + secretKey,
		"Idempotency-Key": "job-42",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var got map[string]string
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	want := map[string]string{"to": "+14155550123", "text": notify.ShortText(m, false), "reference": "job-42"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("body = %v, want %v", got, want)
	}
}

func TestGETQueryGateway(t *testing.T) {
	rec := newRecorder(t)
	rec.handle = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") }
	g := mustNew(t, Config{
		URL:            rec.srv.URL + "/send?user=klaxon&key=" + secretKey + "&to={{query .To}}&msg={{query .Text}}",
		Method:         "get",
		MessageIDField: "id",
	})
	m := alertMessage()
	m.Alerts[0].Summary = "50% & rising: a=b?c#d"
	rcpt, err := g.Notify(context.Background(), m)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if rcpt.ProviderID != "" {
		t.Errorf("ProviderID = %q from a plain-text answer", rcpt.ProviderID)
	}
	r, body := rec.last(t)
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("to") != "+14155550123" || q.Get("msg") != notify.ShortText(m, false) || q.Get("user") != "klaxon" {
		t.Errorf("request %s %s", r.Method, r.URL)
	}
	if body != "" || r.Header.Get("Content-Type") != "" {
		t.Errorf("GET sent a body %q of type %q", body, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("Idempotency-Key") != "job-42" {
		t.Errorf("Idempotency-Key = %q", r.Header.Get("Idempotency-Key"))
	}
}

func TestFormGateway(t *testing.T) {
	rec := newRecorder(t)
	rec.handle = func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"messages":[{"id":12345}]}`)
	}
	g := mustNew(t, Config{
		URL:            rec.srv.URL + "/sms",
		Body:           `{{form "to" .To "text" .Text "ref" .IdempotencyKey}}`,
		ContentType:    "application/x-www-form-urlencoded",
		MessageIDField: "messages.0.id",
	})
	m := alertMessage()
	m.Alerts[0].Summary = "a&b=c+d"
	rcpt, err := g.Notify(context.Background(), m)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if rcpt.ProviderID != "12345" {
		t.Errorf("ProviderID = %q, want 12345", rcpt.ProviderID)
	}
	r, body := rec.last(t)
	form, err := url.ParseQuery(body)
	if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("body %q of type %q: %v", body, r.Header.Get("Content-Type"), err)
	}
	if form.Get("text") != notify.ShortText(m, false) || form.Get("to") != "+14155550123" || form.Get("ref") != "job-42" {
		t.Errorf("form = %v", form)
	}
}

func TestJSONStaysValidWhateverTheSummary(t *testing.T) {
	for _, summary := range []string{
		`He said "stop" \ then left`,
		"line one\nline two\r\n\ttabbed",
		"</script><script>alert(1)</script> & \u2028\u2029",
		"\x00\x01\x1f control",
		`"}, "to": "+19999999999", "x": {"`,
	} {
		rec := newRecorder(t)
		m := alertMessage()
		m.Alerts[0].Summary = summary
		if _, err := mustNew(t, jsonConfig(rec.srv.URL)).Notify(context.Background(), m); err != nil {
			t.Fatalf("Notify: %v", err)
		}
		_, body := rec.last(t)
		var got struct{ To, Text, Reference string }
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("summary %q made the body invalid JSON: %v\n%s", summary, err, body)
		}
		if got.To != "+14155550123" || got.Text != notify.ShortText(m, false) {
			t.Errorf("summary %q changed the fields: %+v", summary, got)
		}
	}
}

func TestNewNamesTheWrongField(t *testing.T) {
	base := "https://sms.example.com"
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no URL", Config{}, "URL"},
		{"URL does not parse", Config{URL: base + "/send?to={{.To"}, "URL"},
		{"URL names a missing field", Config{URL: base + "/send?to={{.Phone}}"}, "URL"},
		{"URL uses an unknown function", Config{URL: base + "/send?to={{urlquery2 .To}}"}, "URL"},
		{"URL is relative", Config{URL: "/send?to={{query .To}}"}, "URL"},
		{"URL is not http", Config{URL: "ftp://sms.example.com/{{.To}}"}, "URL"},
		{"bad method", Config{URL: base, Method: "DELETE"}, "Method"},
		{"body does not parse", Config{URL: base, Body: `{"to": {{json .To}`, ContentType: "application/json"}, "Body"},
		{"body names a missing field", Config{URL: base, Body: `{{json .Message}}`, ContentType: "application/json"}, "Body"},
		{"form with odd arguments", Config{URL: base, Body: `{{form "to"}}`, ContentType: "application/x-www-form-urlencoded"}, "Body"},
		{"body with GET", Config{URL: base, Method: "GET", Body: "x", ContentType: "text/plain"}, "Body"},
		{"body without type", Config{URL: base, Body: `{{json .To}}`}, "ContentType"},
		{"bad type", Config{URL: base, Body: "x", ContentType: "json;;"}, "ContentType"},
		{"bad header name", Config{URL: base, Headers: map[string]string{"X Key": "v"}}, `Headers["X Key"]`},
		{"header value with newline", Config{URL: base, Headers: map[string]string{"X-Key": secretKey + "\r\nX-Evil: 1"}}, `Headers["X-Key"]`},
		{"header set by Klaxon", Config{URL: base, Headers: map[string]string{"idempotency-key": "x"}}, `Headers["idempotency-key"]`},
		{"bad id path", Config{URL: base, MessageIDField: "data..id"}, "MessageIDField"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Errorf("error %q shows a header's secret", err)
			}
		})
	}
}

func TestErrorsHideURLSecrets(t *testing.T) {
	rec := newRecorder(t)
	g := mustNew(t, Config{URL: rec.srv.URL + "/send?key=" + secretKey + "&to={{query .To}}", Method: "GET"})
	rec.handle = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		io.WriteString(w, "bad request "+r.URL.String()) // a gateway echoing the request
	}
	_, err := g.Notify(context.Background(), alertMessage())
	if err == nil || strings.Contains(err.Error(), secretKey) {
		t.Errorf("error %v shows the URL's key", err)
	}
	if !strings.Contains(err.Error(), "14155550123") {
		t.Errorf("error %v hides the recipient, which is no secret", err)
	}
	rec.srv.Close()
	_, err = g.Notify(context.Background(), alertMessage())
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), secretKey) {
		t.Errorf("unreachable gateway: %v, want a retryable error without the key", err)
	}
}

func TestRefusesBadRecipient(t *testing.T) {
	rec := newRecorder(t)
	m := alertMessage()
	m.To.Address = "555-0123"
	if _, err := mustNew(t, jsonConfig(rec.srv.URL)).Notify(context.Background(), m); !notify.IsPermanent(err) {
		t.Errorf("Notify = %v, want a permanent error", err)
	}
}

func TestConfigStringHidesHeaders(t *testing.T) {
	cfg := jsonConfig("https://sms.example.com")
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, secretKey) || !strings.Contains(s, "Authorization") {
			t.Errorf("%q shows the secret or hides the header's name", s)
		}
	}
}

func FuzzJSONBody(f *testing.F) {
	f.Add("Disk full", "job-42")
	f.Add(`"}\`+"\n\x00\u2028", `"`)
	f.Fuzz(func(t *testing.T, summary, key string) {
		g, err := New(jsonConfig("https://sms.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		m := alertMessage()
		m.Alerts[0].Summary, m.IdempotencyKey = summary, key
		body, err := render(g.body, Data{To: m.To.Address, Text: notify.ShortText(m, false), IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 3 || got["to"] != m.To.Address {
			t.Fatalf("body %q: %v %v", body, got, err)
		}
	})
}
