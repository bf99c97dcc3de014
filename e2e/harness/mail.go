package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// MailServer is an SMTP server on a loopback port that keeps every message
// it accepts, so that a test can wait for the email a page sends and read
// it. It can also refuse every recipient with a temporary failure (451), to
// stand in for a relay that is up but not accepting mail: the sender must
// retry, and nothing is recorded.
type MailServer struct {
	Addr string // host:port it listens on

	srv *smtp.Server

	mu      sync.Mutex
	mail    []Mail
	next    int           // the first message Next has not returned yet
	arrived chan struct{} // closed, and replaced, when a message arrives
	refuse  bool
	refused int
}

// Mail is one message the server accepted.
type Mail struct {
	From string   // the envelope sender (MAIL FROM)
	To   []string // the envelope recipients (RCPT TO)
	Data []byte   // the message as sent, headers and body
	At   time.Time
}

// StartMailServer listens on addr ("127.0.0.1:0" for any free port) and
// serves SMTP until Close. It offers neither STARTTLS nor AUTH: the sender
// must fall back to clear text, as it does for a relay on loopback.
func StartMailServer(addr string) (*MailServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("harness: mail server: %w", err)
	}
	m := &MailServer{Addr: ln.Addr().String(), arrived: make(chan struct{})}
	m.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailSession{m: m}, nil
	}))
	m.srv.Domain = "mail.test"
	m.srv.ReadTimeout = 10 * time.Second
	m.srv.WriteTimeout = 10 * time.Second
	m.srv.MaxMessageBytes = 1 << 20
	m.srv.ErrorLog = log.New(io.Discard, "", 0)
	go m.srv.Serve(ln)
	return m, nil
}

// URL is the server as klaxon's --smtp-url takes it.
func (m *MailServer) URL() string { return "smtp://" + m.Addr }

// Close stops listening and drops open sessions.
func (m *MailServer) Close() error { return m.srv.Close() }

// SetRefusing makes the server answer every RCPT with 451 (on) or accept
// mail again (off).
func (m *MailServer) SetRefusing(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuse = on
}

// Refused is how many recipients were refused with 451 so far.
func (m *MailServer) Refused() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refused
}

// Messages is every message accepted so far, oldest first.
func (m *MailServer) Messages() []Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mail(nil), m.mail...)
}

// Next returns the oldest message that Next has not returned yet, waiting
// up to timeout for one to arrive.
func (m *MailServer) Next(timeout time.Duration) (Mail, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		if m.next < len(m.mail) {
			msg := m.mail[m.next]
			m.next++
			m.mu.Unlock()
			return msg, nil
		}
		arrived := m.arrived
		m.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			return Mail{}, fmt.Errorf("harness: no email arrived at %s within %s", m.Addr, timeout)
		}
	}
}

// errRefused is the temporary failure a refusing server gives.
var errRefused = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "mail system temporarily unavailable, try again later"}

type mailSession struct {
	m    *MailServer
	from string
	to   []string
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.refuse {
		s.m.refused++
		return errRefused
	}
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.mail = append(s.m.mail, Mail{From: s.from, To: append([]string(nil), s.to...), Data: data, At: time.Now()})
	close(s.m.arrived)
	s.m.arrived = make(chan struct{})
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// Email is a message read the way a mail client reads it: its headers, with
// the subject decoded, and the text and HTML alternatives of its body,
// transfer encoding undone.
type Email struct {
	Header  mail.Header
	Subject string
	Text    string // the text/plain part; "" when there is none
	HTML    string // the text/html part; "" when there is none
	// Parts are the media types of the body's parts, in order.
	Parts []string
}

// Parse reads the message with net/mail and mime/multipart. A body that is
// not multipart is taken as one text part of its own type.
func (m Mail) Parse() (Email, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return Email{}, fmt.Errorf("harness: parse email: %w", err)
	}
	e := Email{Header: msg.Header}
	if e.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return e, fmt.Errorf("harness: email subject: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return e, fmt.Errorf("harness: email Content-Type: %w", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			return e, err
		}
		e.Parts = []string{mediaType}
		e.setPart(mediaType, string(body))
		return e, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // undoes quoted-printable
		if errors.Is(err, io.EOF) {
			return e, nil
		}
		if err != nil {
			return e, fmt.Errorf("harness: email part: %w", err)
		}
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return e, fmt.Errorf("harness: email part Content-Type: %w", err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return e, fmt.Errorf("harness: email part body: %w", err)
		}
		e.Parts = append(e.Parts, pt)
		e.setPart(pt, string(body))
	}
}

func (e *Email) setPart(mediaType, body string) {
	switch mediaType {
	case "text/plain":
		e.Text = body
	case "text/html":
		e.HTML = body
	}
}
