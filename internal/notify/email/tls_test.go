package email_test

import (
	"context"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/notify"
	"github.com/klaxonhq/klaxon/internal/notify/email"
)

func TestNotifySTARTTLS(t *testing.T) {
	serverTLS, pool := selfSigned(t, "127.0.0.1")
	ts := startServer(t, serverConfig{startTLS: serverTLS, users: map[string]string{"klaxon": "s3cret"}})
	s := newSender(t, "smtp://klaxon:s3cret@"+ts.addr, trusting(pool))
	if _, err := notifyWithin(t, s, oneAlert(), 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if r := one(t, ts); !r.TLS || r.User != "klaxon" || r.Hello != "klaxon-test.example" {
		t.Errorf("tls %v, user %q, hello %q; want TLS, klaxon, klaxon-test.example", r.TLS, r.User, r.Hello)
	}
}

func TestNotifyImplicitTLS(t *testing.T) {
	serverTLS, pool := selfSigned(t, "127.0.0.1")
	ts := startServer(t, serverConfig{implicitTLS: serverTLS, users: map[string]string{"klaxon": "s3cret"}})
	s := newSender(t, "smtps://klaxon:s3cret@"+ts.addr, trusting(pool))
	if _, err := notifyWithin(t, s, oneAlert(), 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if r := one(t, ts); !r.TLS || r.User != "klaxon" {
		t.Errorf("tls %v, user %q", r.TLS, r.User)
	}
}

// TestNotifyTLSFailures: TLS that cannot work fails permanently and never
// falls back to clear text.
func TestNotifyTLSFailures(t *testing.T) {
	serverTLS, _ := selfSigned(t, "127.0.0.1")
	_, otherPool := selfSigned(t, "127.0.0.1")
	tests := []struct {
		name    string
		server  serverConfig
		scheme  string
		wantErr string
	}{
		{"STARTTLS with an untrusted certificate", serverConfig{startTLS: serverTLS}, "smtp", "certificate"},
		{"smtps with an untrusted certificate", serverConfig{implicitTLS: serverTLS}, "smtps", "certificate"},
		{"smtps to a clear-text port", serverConfig{}, "smtps", "did not answer in TLS"},
		{"starttls=required, not offered", serverConfig{}, "smtp", "does not offer STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.server)
			s := newSender(t, tt.scheme+"://"+ts.addr+map[string]string{"smtp": "?starttls=required", "smtps": ""}[tt.scheme], trusting(otherPool))
			_, err := notifyWithin(t, s, oneAlert(), 5*time.Second)
			if !notify.IsPermanent(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Notify = %v, want a permanent error about %q", err, tt.wantErr)
			}
			if n := len(ts.received()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
		})
	}
}

func TestNotifyStartTLSNever(t *testing.T) {
	serverTLS, _ := selfSigned(t, "127.0.0.1")
	ts := startServer(t, serverConfig{startTLS: serverTLS})
	s := newSender(t, "smtp://"+ts.addr+"?starttls=never", nil)
	if _, err := notifyWithin(t, s, oneAlert(), 5*time.Second); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if one(t, ts).TLS {
		t.Errorf("starttls=never upgraded")
	}
}

// TestNotifyCredentialsNeedTLS reaches a local server under a name that is
// not loopback: without STARTTLS the password must not be sent at all;
// with it, it is sent over TLS.
func TestNotifyCredentialsNeedTLS(t *testing.T) {
	serverTLS, pool := selfSigned(t, "mail.example.test")
	users := map[string]string{"klaxon": "s3cret"}
	for _, offerTLS := range []bool{false, true} {
		cfg := serverConfig{users: users, insecureAuth: true}
		if offerTLS {
			cfg.startTLS = serverTLS
		}
		ts := startServer(t, cfg)
		_, port, _ := net.SplitHostPort(ts.addr)
		s := newSender(t, "smtp://klaxon:s3cret@mail.example.test:"+port, trusting(pool))
		email.SetDial(s, func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ts.addr)
		})
		_, err := notifyWithin(t, s, oneAlert(), 5*time.Second)
		if !offerTLS {
			if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
				t.Errorf("without STARTTLS: Notify = %v, want a permanent error", err)
			}
			if tries := ts.authAttempts(); len(tries) != 0 {
				t.Errorf("credentials sent in clear text (AUTH %v)", tries)
			}
			continue
		}
		if err != nil {
			t.Fatalf("with STARTTLS: Notify: %v", err)
		}
		if r := one(t, ts); !r.TLS || r.User != "klaxon" {
			t.Errorf("with STARTTLS: tls %v, user %q", r.TLS, r.User)
		}
	}
}

// TestNotifySTARTTLSProtocol runs scripted servers through the STARTTLS
// exchange that the Sender drives itself (go-smtp cannot start TLS on a
// client it has already greeted).
func TestNotifySTARTTLSProtocol(t *testing.T) {
	tests := []struct {
		name      string
		reply     string // to STARTTLS, sent in one write
		permanent bool
		wantErr   string
	}{
		{"454 TLS not available now", "454 4.7.0 TLS not available\r\n", false, "454"},
		{"502 not implemented", "502 5.5.1 Not implemented\r\n", true, "502"},
		{"plain text injected after 220", "220 2.0.0 Go ahead\r\n250 injected\r\n", false, "before the TLS handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := scriptedServer(t, func(c *textproto.Conn) {
				c.PrintfLine("220 mx.test ESMTP")
				c.ReadLine() // EHLO
				c.PrintfLine("250-mx.test\r\n250 STARTTLS")
				c.ReadLine() // STARTTLS
				c.W.WriteString(tt.reply)
				c.W.Flush()
				c.ReadLine() // until the client hangs up
			})
			_, err := notifyWithin(t, newSender(t, "smtp://"+addr, nil), oneAlert(), 5*time.Second)
			if err == nil || notify.IsPermanent(err) != tt.permanent || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Notify = %v (permanent %v), want permanent=%v and %q", err, notify.IsPermanent(err), tt.permanent, tt.wantErr)
			}
		})
	}
}

// scriptedServer serves one connection with script, speaking raw SMTP.
func scriptedServer(t *testing.T, script func(*textproto.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		script(textproto.NewConn(c))
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}
