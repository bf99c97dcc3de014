package email

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// StartTLS is whether an smtp:// session upgrades to TLS. It is a named
// type so that the three policies documented in the package comment are
// the only values a URL can hold.
type StartTLS string

const (
	// StartTLSOpportunistic upgrades when the server offers STARTTLS and
	// otherwise sends in clear text (but never credentials, unless the host
	// is loopback).
	StartTLSOpportunistic StartTLS = "opportunistic"
	// StartTLSRequired fails the send when the server does not offer
	// STARTTLS, so that a stripped offer cannot downgrade the session.
	StartTLSRequired StartTLS = "required"
	// StartTLSNever stays in clear text, for a local relay whose TLS
	// certificate cannot be verified.
	StartTLSNever StartTLS = "never"
)

// Default ports: message submission with STARTTLS (RFC 6409) and
// submission over implicit TLS (RFC 8314).
const (
	DefaultPort    = 587
	DefaultTLSPort = 465
)

// redacted stands for the password wherever a URL is shown, as
// net/url.URL.Redacted does.
const redacted = "xxxxx"

// URL is a parsed SMTP server URL. The password is kept unexported, so that
// printing a URL (%v, %+v, %#v) or marshalling it (JSON) cannot reveal it;
// String shows it as xxxxx.
type URL struct {
	// Scheme is "smtp" (STARTTLS) or "smtps" (implicit TLS).
	Scheme string
	// Host is a lower-cased DNS name or an IP address, without brackets.
	Host string
	Port int
	// Username is empty when the URL carries no credentials.
	Username string
	password string
	// StartTLS is the upgrade policy of an smtp:// URL; empty for smtps://.
	StartTLS StartTLS
	// Auth is the SASL mechanism asked for ("plain" or "login"), or empty to
	// choose from what the server offers.
	Auth string
}

// ParseURL parses an SMTP server URL (see the package comment). Its errors
// name the problem and quote only the parts after the credentials; they
// never contain the password.
func ParseURL(raw string) (URL, error) {
	fail := func(format string, args ...any) (URL, error) {
		return URL{}, fmt.Errorf("email: server url: "+format, args...)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return fail("missing scheme: want smtp://host or smtps://host")
	}
	u := URL{Scheme: strings.ToLower(scheme)}
	switch u.Scheme {
	case "smtp":
		u.Port, u.StartTLS = DefaultPort, StartTLSOpportunistic
	case "smtps":
		u.Port = DefaultTLSPort
	default:
		return fail("unsupported scheme %q: want smtp or smtps", klaxon.Truncate(scheme, 16))
	}

	// The credentials run to the last '@', so that an unencoded '@', '/' or
	// '?' in a password stays in the password and out of every message.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if err := u.setCredentials(rest[:at]); err != nil {
			return URL{}, fmt.Errorf("email: server url: %w", err)
		}
		rest = rest[at+1:]
	}
	if strings.Contains(rest, "#") {
		return fail("a fragment (#) is not allowed")
	}
	hostport, query, hasQuery := strings.Cut(rest, "?")
	hostport, path, _ := strings.Cut(hostport, "/")
	if path != "" {
		return fail("a path (/%s) is not allowed", klaxon.Truncate(path, 40))
	}
	if err := u.setHostPort(hostport); err != nil {
		return URL{}, fmt.Errorf("email: server url: %w", err)
	}
	if hasQuery {
		if err := u.setQuery(query); err != nil {
			return URL{}, fmt.Errorf("email: server url: %w", err)
		}
	}
	if u.Username != "" && u.StartTLS == StartTLSNever && !u.Loopback() {
		return fail("starttls=never would send the password in clear text to %s, which is not a loopback host", u.Host)
	}
	return u, nil
}

// setCredentials parses "user:password". Its errors quote nothing: any of
// it may be secret.
func (u *URL) setCredentials(userinfo string) error {
	if userinfo == "" {
		return fmt.Errorf("empty credentials before '@'")
	}
	user, pass, _ := strings.Cut(userinfo, ":")
	var err error
	if u.Username, err = url.PathUnescape(user); err != nil {
		return fmt.Errorf("bad percent-encoding in the user name")
	}
	if u.password, err = url.PathUnescape(pass); err != nil {
		return fmt.Errorf("bad percent-encoding in the password")
	}
	switch {
	case u.Username == "":
		return fmt.Errorf("a password without a user name")
	case u.password == "":
		return fmt.Errorf("a user name without a password")
	case hasControl(u.Username):
		return fmt.Errorf("control characters in the user name")
	case hasControl(u.password):
		return fmt.Errorf("control characters in the password")
	}
	return nil
}

func (u *URL) setHostPort(hostport string) error {
	host, port := hostport, ""
	hasPort := false
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return fmt.Errorf("missing ']' after the IPv6 address in %q", klaxon.Truncate(hostport, 60))
		}
		host = hostport[1:end]
		after := hostport[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return fmt.Errorf("%q is not an IPv6 address", klaxon.Truncate(host, 60))
		}
		switch {
		case after == "":
		case after[0] == ':':
			port, hasPort = after[1:], true
		default:
			return fmt.Errorf("unexpected %q after the IPv6 address", klaxon.Truncate(after, 20))
		}
	} else {
		host, port, hasPort = strings.Cut(hostport, ":")
		if strings.Contains(port, ":") {
			return fmt.Errorf("an IPv6 address must be in brackets: [%s]", klaxon.Truncate(hostport, 60))
		}
		if host == "" {
			return fmt.Errorf("missing host")
		}
		if !validHostname(host) {
			return fmt.Errorf("%q is not a valid host name", klaxon.Truncate(host, 60))
		}
	}
	u.Host = strings.ToLower(host)
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] < '0' || port[0] > '9' {
			return fmt.Errorf("port %q is not a number from 1 to 65535", klaxon.Truncate(port, 20))
		}
		u.Port = n
	}
	return nil
}

func (u *URL) setQuery(query string) error {
	values, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("malformed query %q", klaxon.Truncate(query, 60))
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(values[k]) > 1 {
			return fmt.Errorf("parameter %q given more than once", klaxon.Truncate(k, 20))
		}
		v := strings.ToLower(values[k][0])
		switch k {
		case "starttls":
			if u.Scheme == "smtps" {
				return fmt.Errorf("starttls does not apply to smtps://, which is TLS from the first byte")
			}
			switch s := StartTLS(v); s {
			case StartTLSOpportunistic, StartTLSRequired, StartTLSNever:
				u.StartTLS = s
			default:
				return fmt.Errorf("starttls=%q: want opportunistic, required or never", klaxon.Truncate(v, 20))
			}
		case "auth":
			if v != "plain" && v != "login" {
				return fmt.Errorf("auth=%q: want plain or login", klaxon.Truncate(v, 20))
			}
			u.Auth = v
		default:
			return fmt.Errorf("unknown parameter %q: want starttls or auth", klaxon.Truncate(k, 20))
		}
	}
	if u.Auth != "" && u.Username == "" {
		return fmt.Errorf("auth=%s without credentials", u.Auth)
	}
	return nil
}

// String is the URL with its password replaced by xxxxx and its defaults
// spelled out, fit for logs and error messages.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.Username != "" {
		b.WriteString(url.User(u.Username).String())
		if u.password != "" {
			b.WriteString(":" + redacted)
		}
		b.WriteString("@")
	}
	b.WriteString(u.Addr())
	sep := "?"
	if u.StartTLS != "" && u.StartTLS != StartTLSOpportunistic {
		b.WriteString(sep + "starttls=" + string(u.StartTLS))
		sep = "&"
	}
	if u.Auth != "" {
		b.WriteString(sep + "auth=" + u.Auth)
	}
	return b.String()
}

// GoString makes %#v redact the password too.
func (u URL) GoString() string { return fmt.Sprintf("email.URL(%q)", u.String()) }

// Addr is host:port for dialling.
func (u URL) Addr() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// Loopback reports whether the host is this machine (localhost or a
// loopback address), the one case where credentials may travel without
// TLS: they never reach a network.
func (u URL) Loopback() bool {
	if u.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Host)
	return ip != nil && ip.IsLoopback()
}

// validHostname accepts DNS names (letters, digits, '-', '_' and dots) and
// IPv4 addresses, which cannot carry anything into an SMTP command line.
func validHostname(h string) bool {
	if len(h) > 253 || h[0] == '.' || h[0] == '-' || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}
