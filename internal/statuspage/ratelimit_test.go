package statuspage

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// postFrom posts the subscribe form from remoteAddr, as the page's own
// form does.
func postFrom(h http.Handler, remoteAddr, email string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/subscribe", strings.NewReader(url.Values{"email": {email}}.Encode()))
	r.RemoteAddr = remoteAddr
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// limited checks that w is the rate limit's answer, with Retry-After
// retry.
func limited(t *testing.T, what string, w *httptest.ResponseRecorder, retry string) {
	t.Helper()
	body := w.Body.String()
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != retry ||
		!strings.Contains(body, "Please try again later") || !strings.Contains(body, "<title>Try again later - Klaxon Status</title>") ||
		w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("%s: %d Retry-After %q, want 429 Retry-After %q and the page\n%s", what, w.Code, w.Header().Get("Retry-After"), retry, body)
	}
}

func TestSubscribeLimitDefaults(t *testing.T) {
	h, subs := subscriptionHandlerWith(t, Config{Logger: slog.New(slog.DiscardHandler)})
	for i := range 5 {
		if w := postFrom(h, "198.51.100.7:4000", fmt.Sprintf("a%d@example.com", i)); w.Code != 200 {
			t.Fatalf("request %d: %d", i+1, w.Code)
		}
	}
	// The sixth within 10 minutes: one more every 2 minutes.
	limited(t, "the sixth from one client", postFrom(h, "198.51.100.7:4000", "a6@example.com"), "120")
	if subs.created != 5 {
		t.Errorf("%d subscribers stored", subs.created)
	}

	// 60 a minute from everyone together.
	h, subs = subscriptionHandlerWith(t, Config{Logger: slog.New(slog.DiscardHandler)})
	for i := range 60 {
		if w := postFrom(h, fmt.Sprintf("10.0.%d.%d:1", i/256, i%256), fmt.Sprintf("b%d@example.com", i)); w.Code != 200 {
			t.Fatalf("client %d: %d", i+1, w.Code)
		}
	}
	limited(t, "the 61st client", postFrom(h, "10.1.0.1:1", "b61@example.com"), "1")
	if subs.created != 60 {
		t.Errorf("%d subscribers stored", subs.created)
	}
	if n := h.limits.maxClients; n != 10_000 {
		t.Errorf("MaxClients %d", n)
	}
}

func TestSubscribeLimitPerClient(t *testing.T) {
	clock := &fixedClock{t: fixtureNow}
	h, subs := subscriptionHandlerWith(t, Config{Logger: slog.New(slog.DiscardHandler), Clock: clock,
		SubscribeLimit: SubscribeLimit{PerClient: Rate{Requests: 2, Per: time.Minute}, Global: Rate{Requests: 1000, Per: time.Minute}}})
	for i := range 2 {
		if w := postFrom(h, "192.0.2.1:1234", fmt.Sprintf("a%d@example.com", i)); w.Code != 200 {
			t.Fatalf("request %d: %d", i+1, w.Code)
		}
	}
	limited(t, "third", postFrom(h, "192.0.2.1:1234", "a3@example.com"), "30")
	// Another port is the same client; a forwarded-for header is not
	// believed.
	limited(t, "another port", postFrom(h, "192.0.2.1:9999", "a3@example.com"), "30")
	limited(t, "X-Forwarded-For", postFrom(h, "192.0.2.1:1234", "a3@example.com",
		"X-Forwarded-For", "203.0.113.9", "X-Real-IP", "203.0.113.9", "Forwarded", "for=203.0.113.9"), "30")
	// An invalid form counts too, and bad ones are refused before reading.
	limited(t, "invalid form", postFrom(h, "192.0.2.1:1234", "not an address"), "30")
	if subs.created != 2 {
		t.Errorf("%d subscribers stored past the limit", subs.created)
	}
	// Other clients are not held up.
	if w := postFrom(h, "192.0.2.2:1234", "b@example.com"); w.Code != 200 {
		t.Errorf("another client: %d", w.Code)
	}
	// IPv6: one /64 is one client.
	for _, addr := range []string{"[2001:db8::1]:1", "[2001:db8::2]:1"} {
		if w := postFrom(h, addr, "c@example.com"); w.Code != 200 {
			t.Errorf("%s: %d", addr, w.Code)
		}
	}
	limited(t, "a third address in the /64", postFrom(h, "[2001:db8::ffff:1]:1", "c@example.com"), "30")
	if w := postFrom(h, "[2001:db8:0:1::1]:1", "c@example.com"); w.Code != 200 {
		t.Errorf("another /64: %d", w.Code)
	}
	// The bucket refills.
	clock.set(fixtureNow.Add(30 * time.Second))
	if w := postFrom(h, "192.0.2.1:1234", "a4@example.com"); w.Code != 200 {
		t.Errorf("after 30s: %d", w.Code)
	}
	limited(t, "again", postFrom(h, "192.0.2.1:1234", "a5@example.com"), "30")
	// The cross-origin guard still comes first.
	if w := postFrom(h, "192.0.2.1:1234", "a5@example.com", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); w.Code != 403 {
		t.Errorf("cross-site: %d", w.Code)
	}
}

func TestSubscribeLimitGlobal(t *testing.T) {
	clock := &fixedClock{t: fixtureNow}
	h, subs := subscriptionHandlerWith(t, Config{Logger: slog.New(slog.DiscardHandler), Clock: clock,
		SubscribeLimit: SubscribeLimit{PerClient: Rate{Requests: 1, Per: time.Hour}, Global: Rate{Requests: 3, Per: time.Minute}}})
	if w := postFrom(h, "192.0.2.1:1", "a@example.com"); w.Code != 200 {
		t.Fatalf("first: %d", w.Code)
	}
	// A client over its own limit takes nothing from everyone's.
	for range 10 {
		limited(t, "one client again", postFrom(h, "192.0.2.1:1", "a@example.com"), "3600")
	}
	for _, addr := range []string{"192.0.2.2:1", "192.0.2.3:1"} {
		if w := postFrom(h, addr, "b@example.com"); w.Code != 200 {
			t.Fatalf("%s: %d", addr, w.Code)
		}
	}
	limited(t, "fourth client", postFrom(h, "192.0.2.4:1", "d@example.com"), "20")
	// Refused by everyone's bucket, the client keeps its own token.
	clock.set(fixtureNow.Add(20 * time.Second))
	if w := postFrom(h, "192.0.2.4:1", "d@example.com"); w.Code != 200 {
		t.Errorf("fourth client 20s later: %d", w.Code)
	}
	if subs.created != 3 {
		t.Errorf("%d subscribers stored", subs.created)
	}
}

// TestSubscribeLimitBounded checks that the table of clients stays within
// MaxClients, forgetting idle clients first.
func TestSubscribeLimitBounded(t *testing.T) {
	l := newSubscribeLimiter(SubscribeLimit{PerClient: Rate{Requests: 1, Per: time.Hour}, Global: Rate{Requests: -1}, MaxClients: 10})
	addr := func(i int) string { return fmt.Sprintf("192.0.2.%d:80", i) }
	now := fixtureNow
	for i := range 5 {
		if ok, _ := l.allow(addr(i), now); !ok {
			t.Fatalf("client %d refused", i)
		}
	}
	// An hour later clients 0-4 are idle (their bucket is full again).
	now = now.Add(time.Hour)
	for i := 5; i < 10; i++ {
		l.allow(addr(i), now)
	}
	if len(l.clients) != 10 {
		t.Fatalf("%d clients", len(l.clients))
	}
	// The table is full: a new client makes room by forgetting the idle.
	if ok, _ := l.allow(addr(10), now); !ok || len(l.clients) != 6 {
		t.Errorf("new client: %v, %d clients", ok, len(l.clients))
	}
	if ok, _ := l.allow(addr(5), now); ok {
		t.Error("an active client was forgotten")
	}
	// Full of active clients: all are forgotten.
	for i := 11; i < 15; i++ {
		l.allow(addr(i), now)
	}
	if ok, _ := l.allow(addr(15), now); !ok || len(l.clients) != 1 {
		t.Errorf("new client in a busy table: %v, %d clients", ok, len(l.clients))
	}
	// However many clients come, the table stays bounded.
	for i := range 100_000 {
		l.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()+":1", now)
		if len(l.clients) > 10 {
			t.Fatalf("%d clients", len(l.clients))
		}
	}
}

func TestClientKey(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.1:1234", "192.0.2.1/32"},
		{"[::ffff:192.0.2.1]:1234", "192.0.2.1/32"},
		{"[2001:db8:1:2:3:4:5:6]:1", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:1", "fe80::/64"},
		{"192.0.2.1", "192.0.2.1/32"},
		{"@", "invalid Prefix"},
		{"", "invalid Prefix"},
	} {
		if got := clientKey(c.addr).String(); got != c.want {
			t.Errorf("%q: %s, want %s", c.addr, got, c.want)
		}
	}
}
