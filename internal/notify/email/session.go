package email

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/klaxonhq/klaxon/internal/notify"
)

// deliver runs one SMTP session: connect, TLS, EHLO, AUTH, MAIL, RCPT,
// DATA, QUIT. ctx carries the deadline of the whole session.
func (s *Sender) deliver(ctx context.Context, rcpt string, msg []byte) error {
	raw, err := s.dial(ctx, "tcp", s.url.Addr())
	if err != nil {
		return classify(ctx, "connect to "+s.url.Addr(), err)
	}
	defer raw.Close()
	// Cancelling ctx closes the connection, which unblocks any read or
	// write; the deadline is also set on the socket, so that a silent
	// server times out even inside go-smtp, which resets deadlines per
	// command.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	deadline, _ := ctx.Deadline() // Notify always sets one
	conn := &deadlineConn{Conn: raw, limit: deadline}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return classify(ctx, "connect to "+s.url.Addr(), err)
	}

	var c net.Conn = conn
	secure := s.url.Scheme == "smtps"
	if secure {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return classify(ctx, "tls handshake", err)
		}
		c = tc
	}
	client := smtp.NewClient(c)
	if err := client.Hello(s.hello); err != nil {
		return classify(ctx, "hello", err)
	}
	if !secure {
		if client, secure, err = s.startTLS(ctx, client, conn); err != nil {
			return err
		}
	}
	if s.url.Username != "" {
		if err := s.authenticate(client, secure); err != nil {
			return classify(ctx, "auth", err)
		}
	}
	var opts *smtp.MailOptions
	if !isASCII(rcpt) {
		if ok, _ := client.Extension("SMTPUTF8"); !ok {
			return notify.Permanent(fmt.Errorf("email: %s is not ASCII and the server does not offer SMTPUTF8", rcpt))
		}
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := client.Mail(s.from.Address, opts); err != nil {
		return classify(ctx, "mail from <"+s.from.Address+">", err)
	}
	if err := client.Rcpt(rcpt, nil); err != nil {
		return classify(ctx, "rcpt to <"+rcpt+">", err)
	}
	w, err := client.Data()
	if err != nil {
		return classify(ctx, "data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify(ctx, "data", err)
	}
	if err := w.Close(); err != nil {
		return classify(ctx, "data", err)
	}
	// The server has taken responsibility for the message: a failing QUIT
	// must not make the engine send it again.
	_ = client.Quit()
	return nil
}

// startTLS applies the URL's STARTTLS policy to a session whose EHLO has
// been answered, and returns the client to go on with and whether the
// session is now encrypted.
func (s *Sender) startTLS(ctx context.Context, client *smtp.Client, conn net.Conn) (*smtp.Client, bool, error) {
	offered, _ := client.Extension("STARTTLS")
	mustTLS := s.url.StartTLS == StartTLSRequired || (s.url.Username != "" && !s.url.Loopback())
	switch {
	case s.url.StartTLS == StartTLSNever:
		return client, false, nil
	case !offered && mustTLS:
		why := "starttls=required"
		if s.url.StartTLS != StartTLSRequired {
			why = "the credentials must not travel in clear text to a non-loopback host"
		}
		return nil, false, notify.Permanent(fmt.Errorf("email: %s does not offer STARTTLS (%s)", s.url.Addr(), why))
	case !offered:
		return client, false, nil
	}

	// go-smtp v0.25 starts TLS only in a client it creates
	// (NewClientStartTLS), before we could read the EHLO answer. So the
	// command is sent here, and go-smtp is handed the TLS connection as if
	// it had just connected, behind a replayed greeting; it then says EHLO
	// again, as RFC 3207 requires.
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return nil, false, classify(ctx, "starttls", err)
	}
	br := bufio.NewReader(conn)
	if _, _, err := textproto.NewReader(br).ReadResponse(220); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			err = &smtp.SMTPError{Code: te.Code, Message: te.Msg}
		}
		return nil, false, classify(ctx, "starttls", err)
	}
	if br.Buffered() > 0 {
		// Plain text sent after the 220 would be read as if it came over
		// TLS (CVE-2011-0411 and kin).
		return nil, false, &notify.Error{Err: errors.New("email: starttls: server sent data before the TLS handshake")}
	}
	tc := tls.Client(conn, s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, false, classify(ctx, "starttls handshake", err)
	}
	client = smtp.NewClient(&greetedConn{Conn: tc, r: io.MultiReader(strings.NewReader("220 TLS started\r\n"), tc)})
	if err := client.Hello(s.hello); err != nil {
		return nil, false, classify(ctx, "hello after starttls", err)
	}
	return client, true, nil
}

// authenticate logs in with the URL's credentials, by the mechanism the URL
// names or else PLAIN, else LOGIN, whichever the server offers.
func (s *Sender) authenticate(client *smtp.Client, secure bool) error {
	if !secure && !s.url.Loopback() {
		// startTLS refuses this case already; this keeps the rule true
		// whatever changes there.
		return notify.Permanent(errors.New("refusing to send credentials without TLS to a non-loopback host"))
	}
	mech := s.url.Auth
	if mech == "" {
		switch {
		case client.SupportsAuth(sasl.Plain):
			mech = "plain"
		case client.SupportsAuth(sasl.Login):
			mech = "login"
		default:
			ok, offered := client.Extension("AUTH")
			if !ok {
				return notify.Permanent(errors.New("the server offers no AUTH, but the URL has credentials"))
			}
			return notify.Permanent(fmt.Errorf("the server offers AUTH %s; Klaxon speaks PLAIN and LOGIN", offered))
		}
	}
	if mech == "login" {
		return client.Auth(sasl.NewLoginClient(s.url.Username, s.url.password))
	}
	return client.Auth(sasl.NewPlainClient("", s.url.Username, s.url.password))
}

// classify wraps err from stage as a *notify.Error: permanent for a 5xx
// reply and for TLS that cannot succeed (an untrusted certificate, a server
// that does not speak TLS); retryable for 4xx replies, network failures and
// timeouts. An error already classified is kept as it is.
func classify(ctx context.Context, stage string, err error) error {
	var ne *notify.Error
	if errors.As(err, &ne) {
		return &notify.Error{Permanent: ne.Permanent, RetryAfter: ne.RetryAfter, Err: fmt.Errorf("email: %s: %w", stage, ne.Err)}
	}
	if cerr := ctx.Err(); cerr != nil {
		// The connection was closed under go-smtp; say why, not how.
		return &notify.Error{Err: fmt.Errorf("email: %s: %w", stage, cerr)}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The socket's deadline is the context's, and may fire first.
		return &notify.Error{Err: fmt.Errorf("email: %s: no answer before the deadline: %w", stage, context.DeadlineExceeded)}
	}
	wrapped := fmt.Errorf("email: %s: %w", stage, err)
	var se *smtp.SMTPError
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &se):
		return &notify.Error{Permanent: se.Code >= 500 && se.Code < 600, Err: wrapped}
	case errors.As(err, &cv):
		return &notify.Error{Permanent: true, Err: wrapped}
	case errors.As(err, &rh):
		return &notify.Error{Permanent: true, Err: fmt.Errorf("%w (the server did not answer in TLS: is the port right for the scheme?)", wrapped)}
	}
	return &notify.Error{Err: wrapped}
}

// deadlineConn keeps every deadline set on it at or before limit. go-smtp
// sets a fresh deadline for each command (five minutes by default) and
// clears it afterwards; clamped, those deadlines all end with the send's.
type deadlineConn struct {
	net.Conn
	limit time.Time
}

func (c *deadlineConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.limit) {
		return c.limit
	}
	return t
}

func (c *deadlineConn) SetDeadline(t time.Time) error     { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *deadlineConn) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// greetedConn is a TLS connection that reads, first, the greeting a new
// go-smtp client waits for; see startTLS.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func (c *greetedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
