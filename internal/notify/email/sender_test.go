package email_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/email"
)

func newSender(t *testing.T, url string, edit func(*email.Config)) *email.Sender {
	t.Helper()
	cfg := email.Config{
		URL:       url,
		From:      testFrom,
		HelloName: "klaxon-test.example",
		Now:       func() time.Time { return fixedDate },
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := email.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func trusting(pool *x509.CertPool) func(*email.Config) {
	return func(c *email.Config) { c.TLSConfig = &tls.Config{RootCAs: pool} }
}

func notifyWithin(t *testing.T, s *email.Sender, m notify.Message, d time.Duration) (notify.Receipt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Notify(ctx, m)
}

// one returns the only message ts received.
func one(t *testing.T, ts *testServer) received {
	t.Helper()
	got := ts.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	return got[0]
}

func TestNotifyPlainLoopback(t *testing.T) {
	ts := startServer(t, serverConfig{})
	s := newSender(t, "smtp://"+ts.addr, nil)
	m := oneAlert()
	receipt, err := notifyWithin(t, s, m, 5*time.Second)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	r := one(t, ts)
	if r.From != "alerts@klaxon.example.com" || len(r.To) != 1 || r.To[0] != "ada@example.com" {
		t.Errorf("envelope from %q to %q", r.From, r.To)
	}
	if r.TLS || r.User != "" || r.Hello != "klaxon-test.example" {
		t.Errorf("tls %v, user %q, hello %q", r.TLS, r.User, r.Hello)
	}
	want := render(t, m)
	if string(r.Data) != string(want) {
		t.Errorf("server received a different message:\n%s", r.Data)
	}
	p := parse(t, r.Data)
	if receipt.ProviderID != p.header.Get("Message-Id") || receipt.ProviderID != "<notif-1042@klaxon.example.com>" {
		t.Errorf("ProviderID %q, Message-ID %q", receipt.ProviderID, p.header.Get("Message-Id"))
	}
	for _, link := range []string{m.Alerts[0].AcknowledgeURL, m.Alerts[0].ResolveURL} {
		if !strings.Contains(p.text, link) || !strings.Contains(p.html, strings.ReplaceAll(link, "&", "&amp;")) {
			t.Errorf("link %s missing from a part", link)
		}
	}
}

func TestNotifyAuth(t *testing.T) {
	serverTLS, pool := selfSigned(t, "127.0.0.1")
	users := map[string]string{"klaxon": "s3cret"}
	tests := []struct {
		name      string
		server    serverConfig
		userinfo  string
		query     string
		wantMech  string
		permanent bool // else success
	}{
		{"PLAIN accepted", serverConfig{startTLS: serverTLS, users: users}, "klaxon:s3cret", "", sasl.Plain, false},
		{"LOGIN asked for", serverConfig{startTLS: serverTLS, users: users}, "klaxon:s3cret", "?auth=login", sasl.Login, false},
		{"LOGIN when PLAIN is not offered", serverConfig{startTLS: serverTLS, users: users, mechs: []string{sasl.Login}}, "klaxon:s3cret", "", sasl.Login, false},
		{"PLAIN rejected with 535", serverConfig{startTLS: serverTLS, users: users}, "klaxon:wrong", "", sasl.Plain, true},
		{"LOGIN rejected with 535", serverConfig{startTLS: serverTLS, users: users}, "klaxon:wrong", "?auth=login", sasl.Login, true},
		{"no AUTH offered", serverConfig{startTLS: serverTLS}, "klaxon:s3cret", "", "", true},
		{"clear text to loopback", serverConfig{users: users, insecureAuth: true}, "klaxon:s3cret", "", sasl.Plain, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.server)
			s := newSender(t, "smtp://"+tt.userinfo+"@"+ts.addr+tt.query, trusting(pool))
			_, err := notifyWithin(t, s, oneAlert(), 5*time.Second)
			if tries := ts.authAttempts(); tt.wantMech != "" && (len(tries) != 1 || tries[0] != tt.wantMech) {
				t.Errorf("client tried %v, want %s", tries, tt.wantMech)
			}
			if tt.permanent {
				if !notify.IsPermanent(err) {
					t.Fatalf("Notify = %v, want a permanent error", err)
				}
				if strings.Contains(err.Error(), "wrong") {
					t.Errorf("error shows the password: %v", err)
				}
				if len(ts.received()) != 0 {
					t.Errorf("message sent despite the failure")
				}
				return
			}
			if err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if r := one(t, ts); r.User != "klaxon" {
				t.Errorf("user %q", r.User)
			}
		})
	}
}

// TestNotifyServerAnswers is the table of SMTP answers -> retry or not.
func TestNotifyServerAnswers(t *testing.T) {
	reply := func(code int, msg string) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
	}
	tests := []struct {
		name      string
		server    serverConfig
		permanent bool
	}{
		{"RCPT 450 mailbox busy", serverConfig{rcptErr: reply(450, "Mailbox busy")}, false},
		{"RCPT 452 too many recipients", serverConfig{rcptErr: reply(452, "Insufficient storage")}, false},
		{"RCPT 550 unknown recipient", serverConfig{rcptErr: reply(550, "No such user")}, true},
		{"RCPT 553 mailbox name not allowed", serverConfig{rcptErr: reply(553, "Bad mailbox")}, true},
		{"MAIL 421 shutting down", serverConfig{mailErr: reply(421, "Try later")}, false},
		{"MAIL 451 local error", serverConfig{mailErr: reply(451, "Local error")}, false},
		{"MAIL 550 sender rejected", serverConfig{mailErr: reply(550, "Sender not allowed")}, true},
		{"DATA 452 storage", serverConfig{dataErr: reply(452, "Disk full")}, false},
		{"DATA 554 rejected as spam", serverConfig{dataErr: reply(554, "Spam")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.server)
			_, err := notifyWithin(t, newSender(t, "smtp://"+ts.addr, nil), oneAlert(), 5*time.Second)
			if err == nil {
				t.Fatal("Notify succeeded")
			}
			if notify.IsPermanent(err) != tt.permanent {
				t.Errorf("Notify = %v, permanent %v, want %v", err, notify.IsPermanent(err), tt.permanent)
			}
		})
	}
}

func TestNotifyConnectionRefused(t *testing.T) {
	_, err := notifyWithin(t, newSender(t, "smtp://"+closedPort(t), nil), oneAlert(), 5*time.Second)
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("Notify = %v, want a retryable error", err)
	}
}

// TestNotifySilentServer: a server that accepts and never answers must not
// hold a worker past the context's deadline or Config.Timeout, and the
// failure is worth retrying.
func TestNotifySilentServer(t *testing.T) {
	addr := silentServer(t)
	tests := []struct {
		name    string
		timeout time.Duration // Config.Timeout
		ctx     func() (context.Context, context.CancelFunc)
		want    error
	}{
		{"context deadline", 0, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
		{"Config.Timeout", 300 * time.Millisecond, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, context.DeadlineExceeded},
		{"cancelled", 0, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(t, "smtp://"+addr, func(c *email.Config) { c.Timeout = tt.timeout })
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := s.Notify(ctx, oneAlert())
			// Without deadline handling go-smtp would wait five minutes; the
			// slack is for a loaded CI machine.
			if elapsed := time.Since(start); elapsed > 4*time.Second {
				t.Errorf("Notify took %v", elapsed)
			}
			if err == nil || notify.IsPermanent(err) || !errors.Is(err, tt.want) {
				t.Errorf("Notify = %v, want a retryable %v", err, tt.want)
			}
		})
	}
}

func TestNotifyRefusesBadMessages(t *testing.T) {
	s := newSender(t, "smtp://"+closedPort(t), nil) // a connection attempt would be retryable
	tests := map[string]func(*notify.Message){
		"bad address":    func(m *notify.Message) { m.To.Address = "ada" },
		"injected RCPT":  func(m *notify.Message) { m.To.Address = "ada@example.com>\r\nRCPT TO:<eve@example.net" },
		"not email":      func(m *notify.Message) { m.To.Type = klaxon.ContactSMS },
		"no alerts":      func(m *notify.Message) { m.Alerts = nil },
		"no idempotency": func(m *notify.Message) { m.IdempotencyKey = "" },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			m := oneAlert()
			edit(&m)
			if _, err := notifyWithin(t, s, m, 5*time.Second); !notify.IsPermanent(err) {
				t.Errorf("Notify = %v, want a permanent error", err)
			}
		})
	}
}

func TestNotifyNonASCIIRecipient(t *testing.T) {
	m := oneAlert()
	m.To.Address = "jürgen@example.com"
	for _, utf8 := range []bool{false, true} {
		ts := startServer(t, serverConfig{smtpUTF8: utf8})
		_, err := notifyWithin(t, newSender(t, "smtp://"+ts.addr, nil), m, 5*time.Second)
		switch {
		case utf8 && err != nil:
			t.Errorf("with SMTPUTF8: %v", err)
		case utf8 && one(t, ts).To[0] != m.To.Address:
			t.Errorf("with SMTPUTF8: sent to %q", one(t, ts).To)
		case !utf8 && !notify.IsPermanent(err):
			t.Errorf("without SMTPUTF8: Notify = %v, want a permanent error", err)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     email.Config
		wantErr string
	}{
		{"bad URL, password hidden", email.Config{URL: "smtp://u:topsecret@host:99999", From: testFrom}, "port"},
		{"no From", email.Config{URL: "smtp://localhost"}, "From address is required"},
		{"bad From", email.Config{URL: "smtp://localhost", From: "Klaxon alerts@"}, "From address"},
		{"From with CRLF", email.Config{URL: "smtp://localhost", From: "a@b.c\r\nBcc: d@e.f"}, "From address"},
		{"non-ASCII From", email.Config{URL: "smtp://localhost", From: "alärm@example.com"}, "must be ASCII"},
		{"negative timeout", email.Config{URL: "smtp://localhost", From: testFrom, Timeout: -time.Second}, "negative timeout"},
		{"bad HelloName", email.Config{URL: "smtp://localhost", From: testFrom, HelloName: "a b\r\nMAIL"}, "HelloName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := email.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	for _, ok := range []email.Config{
		{URL: "smtps://u:p@smtp.example.com", From: "alerts@example.com"},
		{URL: "smtp://localhost:25", From: `"Klaxon (prod)" <alerts@example.com>`, HelloName: "[192.0.2.1]"},
		{URL: "smtp://localhost:25", From: "Klaxon <alerts@example.com>", HelloName: "[IPv6:2001:db8::1]"},
	} {
		s, err := email.New(ok)
		if err != nil {
			t.Errorf("New(%+v): %v", ok, err)
			continue
		}
		if strings.Contains(s.URL().String(), ":p@") {
			t.Errorf("URL() shows the password: %s", s.URL())
		}
	}
}
