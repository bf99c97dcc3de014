// Package chat posts Klaxon messages into Slack, Mattermost and Microsoft
// Teams channels through their incoming webhooks, so that a team can be
// paged where it already talks.
//
// A chat contact method's address is the channel's webhook URL; its host
// or an explicit prefix says which flavour it is (see ParseAddress). Each
// flavour gets the JSON its server documents: Block Kit for Slack, text and
// attachments for Mattermost, an Adaptive Card for Teams Workflows. User
// text (summaries, service names) is escaped for each, so an alert cannot
// add links, mentions or formatting of its own.
//
// Acknowledge and Resolve are link buttons to the alert's signed URLs: they
// open Klaxon's confirmation page in a browser, because an incoming webhook
// cannot receive button clicks.
package chat

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

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Config configures the chat channel. Webhook URLs carry their own
// credentials, so there are none here.
type Config struct {
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Redirects are never followed: a webhook URL that redirects
	// is an address to fix, and a POST turned into a GET posts nothing.
	HTTPClient *http.Client
	// Now tells the time for Retry-After dates; nil means time.Now.
	Now func() time.Time
}

// Client posts to chat webhooks. It is safe for concurrent use.
type Client struct {
	http *http.Client
	now  func() time.Time
}

var _ notify.Notifier = (*Client)(nil)

// New returns a Client for cfg. It cannot fail today; it returns an error
// so that every channel is built the same way.
func New(cfg Config) (*Client, error) {
	c := &Client{now: cfg.Now, http: notify.NoRedirects(cfg.HTTPClient)}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// maxAnswerBytes bounds what is read of an answer: chat servers answer
// "ok" or a short error.
const maxAnswerBytes = 16 << 10

// Notify posts m to the webhook in m.To.Address. Chat webhooks give no
// message id, so the receipt is empty.
func (c *Client) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	addr, err := ParseAddress(m.To.Address)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("chat: contact method address: %w", err))
	}
	if err := checkMessage(m); err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	var payload any
	switch addr.Flavor {
	case Slack:
		payload = slackPayload(m)
	case Teams:
		payload = teamsPayload(m)
	default:
		payload = mattermostPayload(m)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("chat: encode %s message: %w", addr.Flavor, err))
	}
	return notify.Receipt{}, c.post(ctx, addr, body)
}

// post sends body and classifies the answer. Errors name the flavour and
// the host, never the URL: its path is the webhook's secret.
func (c *Client) post(ctx context.Context, addr Address, body []byte) error {
	u, err := url.Parse(addr.URL)
	if err != nil {
		return notify.Permanent(fmt.Errorf("chat: %s webhook URL does not parse", addr.Flavor))
	}
	where := fmt.Sprintf("%s webhook at %s", providerName(addr.Flavor), u.Host)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("chat: build request for %s: %w", where, notify.WithoutURL(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("chat: post to %s: %w", where, notify.WithoutURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("chat: read answer from %s: %w", where, notify.WithoutURL(err))
	}
	if err := notify.HTTPStatusError(providerName(addr.Flavor), resp.StatusCode, resp.Header.Get("Retry-After"), data, c.now()); err != nil {
		return err
	}
	return checkSuccess(addr.Flavor, where, resp.StatusCode, data)
}

// checkSuccess looks at a 2xx answer's body. Slack documents "ok" as its
// only success answer; for the others, which vary between servers, only a
// web page is refused. Either way a wrong 2xx means something other than a
// chat server took the message (a proxy's sign-in page, a parked domain),
// no one saw it, and the same URL will do the same again: permanent.
func checkSuccess(f Flavor, where string, status int, data []byte) error {
	trimmed := strings.TrimSpace(string(data))
	wrong := f == Slack && trimmed != "ok" || looksLikeHTML(trimmed)
	if !wrong {
		return nil
	}
	return notify.Permanent(fmt.Errorf("chat: %s answered HTTP %d with %q, not a webhook's answer; is the URL right?",
		where, status, klaxon.Truncate(strings.Join(strings.Fields(trimmed), " "), 80)))
}

func looksLikeHTML(s string) bool {
	s = strings.ToLower(s)
	return strings.HasPrefix(s, "<!doctype") || strings.HasPrefix(s, "<html") || strings.HasPrefix(s, "<?xml")
}

func providerName(f Flavor) string {
	switch f {
	case Slack:
		return "Slack"
	case Teams:
		return "Teams"
	}
	return "Mattermost"
}

// checkMessage refuses a message no flavour can render.
func checkMessage(m notify.Message) error {
	switch m.Kind {
	case notify.KindVerification:
		if m.Code == "" {
			return errors.New("chat: verification message without a code")
		}
	case notify.KindAlert:
		if len(m.Alerts) == 0 {
			return errors.New("chat: alert message without alerts")
		}
	default:
		return fmt.Errorf("chat: unknown message kind %q", klaxon.Truncate(string(m.Kind), 40))
	}
	return nil
}

// maxAlerts is how many alerts of a bundle are listed one by one; the rest
// are counted. It keeps a Slack message within its 50 blocks; Teams, whose
// messages must stay under about 28 KB, lists fewer (maxTeamsAlerts).
const maxAlerts = 20

// maxSummaryBytes and maxFactsBytes bound an alert's summary and its facts
// line before escaping, which can make text five times longer ("&" is
// "&amp;" for Slack): together they stay within the 3,000 characters of a
// Slack section.
const (
	maxSummaryBytes = 300
	maxFactsBytes   = 240
)

// oneLine makes user text fit on one line of a chat message.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return klaxon.Truncate(s, n)
}

// facts is the line under an alert's summary.
func facts(a notify.Alert, service string) string {
	s := fmt.Sprintf("Severity: %s · Status: %s · Service: %s", strings.ToUpper(string(a.Severity)), a.Status, service)
	if a.Source != "" {
		s += " · Source: " + a.Source
	}
	return oneLine(s, maxFactsBytes)
}

// label names a button: "Acknowledge", or "Acknowledge #4" in a bundle,
// where several alerts have buttons.
func label(verb string, a notify.Alert, bundle bool) string {
	if bundle {
		return fmt.Sprintf("%s #%d", verb, a.Number)
	}
	return verb
}
