package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/notifytest"
)

func alertMessage() notify.Message {
	return notify.Message{
		IdempotencyKey: "job-42",
		Kind:           notify.KindAlert,
		To:             notify.Recipient{Name: "Ada", Type: klaxon.ContactSMS, Address: "+14155550123"},
		Service:        "payments-api",
		Alerts: []notify.Alert{{
			ID: 7, Number: 4, Summary: "Disk full on db-1", Severity: klaxon.SeverityCritical,
			Status: klaxon.AlertTriggered,
		}},
	}
}

func TestSMSSendsWhatTwilioDocuments(t *testing.T) {
	f := newFakeTwilio(t)
	m := alertMessage()
	rcpt, err := f.client(t).SMS().Notify(context.Background(), m)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].resource != "Messages" {
		t.Fatalf("requests = %+v, want one to Messages", reqs)
	}
	form := reqs[0].form
	want := map[string]string{
		"To":             "+14155550123",
		"From":           testFrom,
		"Body":           notify.ShortText(m, true),
		"StatusCallback": "https://klaxon.example.com/twilio/status",
	}
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(form.Get("Body"), "Reply ACK 4") {
		t.Errorf("Body %q does not teach the reply", form.Get("Body"))
	}
	if rcpt.ProviderID != fmt.Sprintf("SM%032x", 1) {
		t.Errorf("ProviderID = %q, want the answer's sid", rcpt.ProviderID)
	}
}

func TestSMSWithoutStatusCallback(t *testing.T) {
	f := newFakeTwilio(t)
	c := f.client(t, func(c *Config) { c.StatusCallbackURL = "" })
	if _, err := c.SMS().Notify(context.Background(), alertMessage()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if _, ok := f.requests()[0].form["StatusCallback"]; ok {
		t.Error("StatusCallback sent although none is configured")
	}
}

func TestSMSTruncatesLongBody(t *testing.T) {
	f := newFakeTwilio(t)
	m := alertMessage()
	m.Alerts = nil
	for i := range 40 {
		m.Alerts = append(m.Alerts, notify.Alert{Number: i + 1, Severity: klaxon.SeverityError,
			Summary: strings.Repeat("ü🔥", 30)})
	}
	if _, err := f.client(t).SMS().Notify(context.Background(), m); err != nil {
		t.Fatalf("Notify: %v", err) // the fake refuses bodies over 1,600 characters
	}
	body := f.requests()[0].form.Get("Body")
	if !utf8.ValidString(body) || !strings.HasSuffix(body, "…") {
		t.Errorf("truncated body is not valid UTF-8 ending in an ellipsis: %q", body[len(body)-20:])
	}
}

func TestTruncateBody(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "hello", 10, "hello"},
		{"exactly the limit", "hello", 5, "hello"},
		{"one over", "hello!", 5, "hell…"},
		{"multi-byte runes", "ééééé", 3, "éé…"},
		{"emoji counts two", "ab🔥cd", 4, "ab…"},
		{"emoji fits", "a🔥cd", 4, "a🔥…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncateBody(tt.in, tt.limit); got != tt.want {
				t.Errorf("truncateBody(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}

func TestRefusesBadRecipientWithoutAsking(t *testing.T) {
	f := newFakeTwilio(t)
	c := f.client(t)
	m := alertMessage()
	m.To.Address = "0415 555 0123"
	for name, n := range map[string]notify.Notifier{"sms": c.SMS(), "voice": c.Voice()} {
		if _, err := n.Notify(context.Background(), m); !notify.IsPermanent(err) {
			t.Errorf("%s: Notify to %q = %v, want a permanent error", name, m.To.Address, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent to Twilio, want none", n)
	}
}

// The answers Twilio may give, and what the engine must do about each: the
// same rows as every HTTP channel's table.
var answerTable = []struct {
	name       string
	status     int
	retryAfter string
	body       string
	wantErr    bool
	permanent  bool
	wantDelay  time.Duration
	wantInText string
}{
	{name: "201 created", status: 201, body: `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}`},
	{name: "400 invalid To", status: 400, wantErr: true, permanent: true, wantInText: "code 21211",
		body: `{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`},
	{name: "401 bad credentials", status: 401, wantErr: true, permanent: true, wantInText: "20003",
		body: `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`},
	{name: "404 unknown account", status: 404, wantErr: true, permanent: true, wantInText: "20404",
		body: `{"code":20404,"message":"The requested resource /2010-04-01/Accounts/` + testSID + `/Messages.json was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`},
	{name: "408 timeout", status: 408, wantErr: true, body: `{}`},
	{name: "429 too many requests", status: 429, retryAfter: "7", wantErr: true, wantDelay: 7 * time.Second,
		body: `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`},
	{name: "500 internal error", status: 500, wantErr: true, body: `{"code":20500,"message":"Internal Server Error","status":500}`},
	{name: "503 unavailable", status: 503, retryAfter: "3", wantErr: true, wantDelay: 3 * time.Second, body: "Service Unavailable"},
	{name: "201 with garbage", status: 201, wantErr: true, body: "<html>oops</html>", wantInText: "without a resource SID"},
	{name: "201 without sid", status: 201, wantErr: true, body: `{"status":"queued"}`},
}

func TestAnswers(t *testing.T) {
	for _, kind := range []string{"sms", "voice"} {
		for _, tt := range answerTable {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				f := newFakeTwilio(t)
				f.answer = func(w http.ResponseWriter, r *http.Request) {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					w.Write([]byte(tt.body))
				}
				c := f.client(t)
				n := notify.Notifier(c.SMS())
				if kind == "voice" {
					n = c.Voice()
				}
				rcpt, err := n.Notify(context.Background(), alertMessage())
				if !tt.wantErr {
					if err != nil || rcpt.ProviderID == "" {
						t.Fatalf("Notify = %+v, %v; want a receipt", rcpt, err)
					}
					return
				}
				if err == nil {
					t.Fatalf("Notify succeeded, want an error")
				}
				var ne *notify.Error
				if !errors.As(err, &ne) {
					t.Fatalf("error %v is not a *notify.Error", err)
				}
				if got := notify.IsPermanent(err); got != tt.permanent {
					t.Errorf("IsPermanent = %v, want %v (%v)", got, tt.permanent, err)
				}
				if d, _ := notify.RetryAfterOf(err); d != tt.wantDelay {
					t.Errorf("RetryAfter = %v, want %v", d, tt.wantDelay)
				}
				if !strings.Contains(err.Error(), tt.wantInText) {
					t.Errorf("error %q does not say %q", err, tt.wantInText)
				}
				if strings.Contains(err.Error(), testSID) || strings.Contains(err.Error(), testToken) {
					t.Errorf("error %q shows the account's credentials", err)
				}
			})
		}
	}
}

func TestStalledServerHonoursDeadline(t *testing.T) {
	f := newFakeTwilio(t)
	f.answer = notifytest.StalledHandler(t)
	c := f.client(t)
	for name, n := range map[string]notify.Notifier{"sms": c.SMS(), "voice": c.Voice()} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		_, err := n.Notify(ctx, alertMessage())
		cancel()
		notifytest.WantDeadline(t, name, err, time.Since(start), 2*time.Second, testSID)
	}
}

func TestUnreachableServerIsRetried(t *testing.T) {
	f := newFakeTwilio(t)
	c := f.client(t)
	f.srv.Close()
	_, err := c.SMS().Notify(context.Background(), alertMessage())
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("Notify = %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), testSID) || strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q shows the account's credentials", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	good := Config{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"empty sid", func(c *Config) { c.AccountSID = "" }, "AccountSID"},
		{"short sid", func(c *Config) { c.AccountSID = "AC0123" }, "AccountSID"},
		{"api key instead of sid", func(c *Config) { c.AccountSID = "SK" + testSID[2:] }, "AccountSID"},
		{"sid not hex", func(c *Config) { c.AccountSID = "AC" + strings.Repeat("z", 32) }, "AccountSID"},
		{"no token", func(c *Config) { c.AuthToken = "" }, "AuthToken"},
		{"token with newline", func(c *Config) { c.AuthToken = testToken + "\n" }, "AuthToken"},
		{"from not E.164", func(c *Config) { c.From = "5005550006" }, "From"},
		{"relative base URL", func(c *Config) { c.BaseURL = "/api" }, "BaseURL"},
		{"ftp base URL", func(c *Config) { c.BaseURL = "ftp://api.twilio.com" }, "BaseURL"},
		{"relative callback", func(c *Config) { c.StatusCallbackURL = "twilio/status" }, "StatusCallbackURL"},
		{"relative gather", func(c *Config) { c.GatherURL = "/twilio/gather" }, "GatherURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			_, err := New(cfg)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q shows the auth token", err)
			}
		})
	}
	c, err := New(good)
	if err != nil {
		t.Fatalf("New(good): %v", err)
	}
	if c.base != DefaultBaseURL {
		t.Errorf("base = %q, want %q", c.base, DefaultBaseURL)
	}
}

func TestStringsHideCredentials(t *testing.T) {
	cfg := Config{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.String(),
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.String(),
	} {
		if strings.Contains(s, testToken) || strings.Contains(s, testSID) {
			t.Errorf("%q shows the credentials", s)
		}
	}
}

func TestMessageTwiML(t *testing.T) {
	doc := MessageTwiML("Alert 4 acknowledged: <disk> & \"db\"")
	d := parseTwiML(t, doc)
	if len(d.Verbs) != 1 || d.Verbs[0].XMLName.Local != "Message" || d.Verbs[0].Text != "Alert 4 acknowledged: <disk> & \"db\"" {
		t.Errorf("MessageTwiML = %s", doc)
	}
	long := MessageTwiML(strings.Repeat("x", 2*MaxBodyChars))
	if d := parseTwiML(t, long); len([]rune(d.Verbs[0].Text)) != MaxBodyChars {
		t.Errorf("a long reply is %d characters, want %d", len([]rune(d.Verbs[0].Text)), MaxBodyChars)
	}
}
