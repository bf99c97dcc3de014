package email

import (
	"context"
	"net"
)

// SetDial lets tests reach a local server under a name that is not
// loopback, to exercise the rule that credentials never travel in clear
// text to such a host.
func SetDial(s *Sender, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	s.dial = dial
}

// Password exposes the parsed password to tests, which check that it was
// decoded right and shown nowhere.
func Password(u URL) string { return u.password }
