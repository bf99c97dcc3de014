// Package webhook posts signed JSON to URLs that people and systems run
// themselves, so that Klaxon can page anything that speaks HTTP: a home
// automation, a ticket system, a bot of one's own.
//
// Every request is a POST of JSON with these headers:
//
//	Content-Type:       application/json
//	User-Agent:         Config.UserAgent
//	X-Klaxon-Event:     alert.notify, contact_method.verify, alert.triggered...
//	X-Klaxon-Delivery:  the delivery id, the same on every retry
//	Idempotency-Key:    the same id, under the name receivers often look for
//	X-Klaxon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// The signature (see SignatureHeader) is keyed with the signing secret of
// the contact method (or webhook subscription); receivers check it with
// Verify. Any answer but a 2xx is a failure and is retried, except 410
// Gone, which says the endpoint is gone for good. Redirects are not
// followed: the signed body goes only to the URL that was configured.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// The event names Notify sends. Lifecycle webhooks (alert.triggered,
// alert.acknowledged, alert.resolved, alert.escalated, alert.unacknowledged) go through
// SendLifecycle with names of their own (klaxon.WebhookEvent).
const (
	EventNotify = "alert.notify"
	EventVerify = "contact_method.verify"
)

// Config configures the webhook channel.
type Config struct {
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Its redirect policy is replaced: redirects are never
	// followed.
	HTTPClient *http.Client
	// UserAgent names Klaxon to receivers; empty means "Klaxon-Webhook/1".
	UserAgent string
	// Now is the clock for signatures, sent_at and Retry-After dates; nil
	// means time.Now. Tests set it to make signatures reproducible.
	Now func() time.Time
}

// Client sends signed webhooks. It is safe for concurrent use.
type Client struct {
	http      *http.Client
	userAgent string
	now       func() time.Time
}

var _ notify.Notifier = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	c := &Client{userAgent: cfg.UserAgent, now: cfg.Now}
	if c.userAgent == "" {
		c.userAgent = "Klaxon-Webhook/1"
	}
	if !headerSafe(c.userAgent) {
		return nil, errors.New("webhook: the user agent must be printable ASCII")
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.http = notify.NoRedirects(cfg.HTTPClient)
	return c, nil
}

// Delivery is one webhook request, before it is signed.
type Delivery struct {
	// URL is where to POST; see ParseURL.
	URL string
	// Secret keys the signature. An empty secret is refused: an unsigned
	// webhook could be forged by anyone who finds the URL.
	Secret []byte
	// Event names what happened ("alert.resolved"): X-Klaxon-Event.
	Event string
	// ID identifies the delivery and must be the same on every retry, so
	// that a receiver can drop a duplicate: X-Klaxon-Delivery and
	// Idempotency-Key.
	ID string
	// Payload is marshalled to JSON as the body.
	Payload any
}

// Send signs and posts one delivery. It is what Notify uses, exported so
// that alert lifecycle webhooks share the signing, headers and retry rule.
// A nil error means the receiver answered 2xx; otherwise the error is a
// *notify.Error saying whether to retry.
func (c *Client) Send(ctx context.Context, d Delivery) error {
	return c.send(ctx, d, c.now())
}

func (c *Client) send(ctx context.Context, d Delivery, now time.Time) error {
	u, err := ParseURL(d.URL)
	if err != nil {
		return notify.Permanent(fmt.Errorf("webhook: %w", err))
	}
	switch {
	case len(d.Secret) == 0:
		return notify.Permanent(fmt.Errorf("webhook: %s: no signing secret; refusing to send unsigned", u.Host))
	case !validName(d.Event):
		return notify.Permanent(fmt.Errorf("webhook: event name %q is not lowercase letters, digits, '.' and '_'", klaxon.Truncate(d.Event, 40)))
	case d.ID == "" || len(d.ID) > 200 || !headerSafe(d.ID):
		return notify.Permanent(errors.New("webhook: the delivery id must be 1 to 200 printable ASCII characters"))
	}
	body, err := json.Marshal(d.Payload)
	if err != nil {
		return notify.Permanent(fmt.Errorf("webhook: encode %s payload: %w", d.Event, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("webhook: build request for %s: %w", u.Host, notify.WithoutURL(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("X-Klaxon-Event", d.Event)
	req.Header.Set("X-Klaxon-Delivery", d.ID)
	req.Header.Set("Idempotency-Key", d.ID)
	req.Header.Set(SignatureHeader, Sign(d.Secret, now, body))
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL (whose path or query may hold the receiver's own token)
		// stays out of the error; the host is enough to find it.
		return fmt.Errorf("webhook: post %s to %s: %w", d.Event, u.Host, notify.WithoutURL(err))
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return classify(u.Host, resp, excerpt, c.now())
}

// classify applies the webhook rule: 2xx is delivered; 410 Gone is
// permanent, because the receiver says the endpoint is gone for good; any
// other answer (4xx, 5xx, a 3xx that was not followed) is retried, since a
// receiver that rejects a request today is often fixed tomorrow, and a
// page is worth trying again. Retry-After is honoured where
// notify.HTTPStatusError reads it (408, 425, 429, 5xx).
func classify(host string, resp *http.Response, excerpt []byte, now time.Time) error {
	err := notify.HTTPStatusError("webhook receiver at "+host, resp.StatusCode, resp.Header.Get("Retry-After"), excerpt, now)
	if err == nil {
		return nil
	}
	var ne *notify.Error
	if !errors.As(err, &ne) {
		return err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		ne.Err = fmt.Errorf("%w (redirects are not followed; configure the final URL)", ne.Err)
	}
	return &notify.Error{Permanent: resp.StatusCode == http.StatusGone, RetryAfter: ne.RetryAfter, Err: ne.Err}
}

// ParseURL checks a webhook address: an http or https URL with a host,
// without a user name or password (the signature authenticates Klaxon; a
// password in the URL would show in the console) or fragment. A query is
// allowed. Errors are klaxon field errors on "address" that do not repeat
// the address, whose path or query may hold the receiver's own token.
func ParseURL(addr string) (*url.URL, error) {
	switch {
	case addr == "":
		return nil, bad("is required")
	case len(addr) > klaxon.MaxURLLength:
		return nil, bad("is too long for a URL")
	case !utf8Printable(addr):
		return nil, bad("must be a URL without spaces or control characters")
	}
	u, err := url.Parse(addr)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Opaque != "", u.Host == "", u.Hostname() == "":
		return nil, bad("must be an http or https URL with a host, such as https://hooks.example.com/klaxon")
	case u.User != nil:
		return nil, bad("must not contain a user name or password; receivers check the signature instead")
	case u.Fragment != "" || strings.Contains(addr, "#"):
		return nil, bad("must not have a fragment")
	}
	return u, nil
}

func bad(msg string) error { return klaxon.FieldError("address", "%s", msg) }

// validName reports whether an event name is a short dotted lowercase
// name, safe in a header and easy to switch on.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func utf8Printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}
