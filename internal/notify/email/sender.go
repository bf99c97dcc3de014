package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// DefaultTimeout bounds a whole send (connect, TLS, every command, the
// message) when Config.Timeout is zero: well past a healthy relay's few
// hundred milliseconds, well short of a page going stale.
const DefaultTimeout = 30 * time.Second

// Config is what the email channel needs to know, gathered in one value so
// that cmd/klaxon builds it from flags and New checks all of it before the
// first page.
type Config struct {
	// URL is the SMTP server: smtp://[user:password@]host[:port][?...] or
	// smtps://...; see the package comment for the syntax and TLS rules.
	URL string
	// From is the sender of every message: an address, possibly with a
	// display name ("Klaxon <alerts@example.com>"). Its domain is also the
	// Message-ID's. It must be ASCII, so that no relay needs SMTPUTF8 for it.
	From string
	// TLSConfig, when set, is used for implicit TLS and STARTTLS: tests
	// trust a self-signed certificate with it, operators a private CA. Its
	// ServerName defaults to the URL's host. Nil means the system roots.
	TLSConfig *tls.Config
	// HelloName is the name given in EHLO. Some relays reject "localhost";
	// it defaults to this machine's host name.
	HelloName string
	// Now dates the messages; tests fix it. Nil means time.Now.
	Now func() time.Time
	// Timeout is an upper bound on one whole send, whatever the context
	// allows; zero means DefaultTimeout. The context's deadline, when
	// sooner, wins.
	Timeout time.Duration
}

// Sender sends notifications as email through one SMTP server. It holds no
// connection between sends: pages are rare, and a fresh session per message
// is one less thing to go stale. It is safe for concurrent use.
type Sender struct {
	url     URL
	from    *mail.Address
	tls     *tls.Config
	hello   string
	now     func() time.Time
	timeout time.Duration
	// dial is a field so that tests can reach a local server under a
	// non-loopback name.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ notify.Notifier = (*Sender)(nil)

// New checks cfg (the URL, the From address, the EHLO name, the timeout)
// and returns a Sender, so that a misconfiguration stops Klaxon at start-up
// rather than failing the first page.
func New(cfg Config) (*Sender, error) {
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("email: a From address is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: From address %q: %w", klaxon.Truncate(cfg.From, 100), err)
	}
	if !isASCII(from.Address) {
		return nil, fmt.Errorf("email: From address %q must be ASCII", from.Address)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("email: negative timeout %v", cfg.Timeout)
	}
	s := &Sender{
		url:     u,
		from:    from,
		hello:   cfg.HelloName,
		now:     cfg.Now,
		timeout: cfg.Timeout,
		dial:    (&net.Dialer{}).DialContext,
	}
	if s.hello == "" {
		s.hello = defaultHelloName()
	} else if !validHostname(s.hello) && !validAddressLiteral(s.hello) {
		return nil, fmt.Errorf("email: HelloName %q is not a host name or an address literal", klaxon.Truncate(s.hello, 60))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = u.Host
	}
	if s.tls.MinVersion == 0 {
		s.tls.MinVersion = tls.VersionTLS12
	}
	return s, nil
}

// URL is the server the Sender sends through, password redacted in its
// String, for start-up logs.
func (s *Sender) URL() URL { return s.url }

// Notify renders m and sends it to m.To.Address in one SMTP session. The
// receipt's ProviderID is the Message-ID, which is the same on every retry
// of the job. A message that cannot be rendered or addressed fails
// permanently without connecting.
func (s *Sender) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.To.Type != "" && m.To.Type != klaxon.ContactEmail {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("email: recipient is a %s contact, not email", m.To.Type))
	}
	msg, id, err := Render(m, s.from.String(), s.now())
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	to, _ := mail.ParseAddress(m.To.Address) // Render parsed it already
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.deliver(ctx, to.Address, msg); err != nil {
		return notify.Receipt{}, err
	}
	return notify.Receipt{ProviderID: id}, nil
}

func defaultHelloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && validHostname(h) {
		return h
	}
	return "localhost"
}

// validAddressLiteral accepts the EHLO forms "[192.0.2.1]" and
// "[IPv6:2001:db8::1]".
func validAddressLiteral(s string) bool {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	inner := s[1 : len(s)-1]
	if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
		ip := net.ParseIP(v6)
		return ip != nil && ip.To4() == nil
	}
	ip := net.ParseIP(inner)
	return ip != nil && ip.To4() != nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
