// Package ntfy sends push notifications through an ntfy server
// (https://ntfy.sh or a self-hosted one), so that a phone can be paged
// without a vendor's push cloud or an app store account.
//
// A push contact method's address is a topic URL, "https://ntfy.sh/alice"
// (see ParseTopicURL). Messages are published as JSON to the server's root
// URL, as ntfy documents (https://docs.ntfy.sh/publish/#publish-as-json):
// the title and text every channel uses, a priority from the worst
// severity, an emoji tag, a click URL to the console and, for one alert,
// Acknowledge and Resolve buttons that POST to the alert's signed links.
package ntfy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Config configures the ntfy channel. The zero Config publishes
// anonymously, which is what ntfy.sh and an open self-hosted server accept.
type Config struct {
	// Token is an ntfy access token ("tk_..."), sent as
	// "Authorization: Bearer". Use it or Username and Password, not both.
	Token string
	// Username and Password log in with HTTP basic auth, for servers whose
	// access control has users but no tokens issued for Klaxon.
	Username string
	Password string
	// Server is the ntfy server the credentials belong to ("https://ntfy.
	// example.com"); required with them. They are sent only to topics on
	// it: a topic URL is whatever a person typed into their contact
	// method, and the server's token must not go to a server of theirs.
	Server string
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout. Redirects are never followed, whatever the client says: a
	// moved server is an address to fix, and credentials must not follow a
	// redirect somewhere else.
	HTTPClient *http.Client
	// Now tells the time for Retry-After dates; nil means time.Now.
	Now func() time.Time
}

// Client publishes Klaxon messages to ntfy topics. It is safe for
// concurrent use.
type Client struct {
	auth   string // the Authorization header value, or ""
	server string // where auth may be sent: a topic's Server
	http   *http.Client
	now    func() time.Time
}

var _ notify.Notifier = (*Client)(nil)

// New checks cfg and returns a Client. It refuses half-set or conflicting
// credentials rather than guessing which one was meant.
func New(cfg Config) (*Client, error) {
	c := &Client{now: cfg.Now}
	if c.now == nil {
		c.now = time.Now
	}
	switch {
	case cfg.Token != "" && (cfg.Username != "" || cfg.Password != ""):
		return nil, errors.New("ntfy: set an access token or a username and password, not both")
	case cfg.Token != "":
		if !headerSafe(cfg.Token) || strings.ContainsRune(cfg.Token, ' ') {
			return nil, errors.New("ntfy: the access token must be printable ASCII without spaces")
		}
		c.auth = "Bearer " + cfg.Token
	case cfg.Username != "" || cfg.Password != "":
		if cfg.Username == "" || cfg.Password == "" {
			return nil, errors.New("ntfy: basic auth needs both a username and a password")
		}
		if strings.ContainsRune(cfg.Username, ':') || hasControl(cfg.Username) || hasControl(cfg.Password) {
			return nil, errors.New("ntfy: the username must not contain ':', and neither it nor the password may contain control characters")
		}
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(cfg.Username, cfg.Password)
		c.auth = req.Header.Get("Authorization")
	}
	switch {
	case c.auth != "" && cfg.Server == "":
		return nil, errors.New("ntfy: credentials need the server they belong to (its base URL), so that they go to no other")
	case cfg.Server != "":
		t, err := ParseTopicURL(strings.TrimRight(cfg.Server, "/") + "/t")
		if err != nil {
			return nil, fmt.Errorf("ntfy: server %q must be a base URL such as https://ntfy.example.com", cfg.Server)
		}
		c.server = t.Server
	}
	c.http = notify.NoRedirects(cfg.HTTPClient)
	return c, nil
}

// Limits on what is sent. ntfy turns a message longer than its limit
// (4,096 bytes by default) into an attachment, which a phone shows as a
// file rather than as the page; a title has no documented limit but a
// lock screen shows one line.
const (
	maxMessageBytes = 4000
	maxTitleBytes   = 250
	maxAnswerBytes  = 64 << 10
)

// Priorities are ntfy's 1 (min) to 5 (max, "urgent": long vibration,
// bypasses Do Not Disturb where the phone allows it).
const (
	priorityLow     = 2
	priorityDefault = 3
	priorityHigh    = 4
	priorityUrgent  = 5
)

// message is ntfy's documented publish JSON; only the fields Klaxon uses.
type message struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	Priority int      `json:"priority"`
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
	Actions  []action `json:"actions,omitempty"`
}

// action is an ntfy "http" action button: tapping it sends the request
// from the phone and, with Clear, dismisses the notification.
type action struct {
	Action string `json:"action"`
	Label  string `json:"label"`
	URL    string `json:"url"`
	Method string `json:"method"`
	Clear  bool   `json:"clear"`
}

// answer is what an ntfy server returns for a published message; the id
// is what its message cache and subscribers know the message by.
type answer struct {
	ID    string `json:"id"`
	Event string `json:"event"`
}

// Notify publishes m to the topic in m.To.Address. The receipt's
// ProviderID is the id ntfy gave the message.
func (c *Client) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	topic, err := ParseTopicURL(m.To.Address)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("ntfy: contact method address: %w", err))
	}
	msg, err := render(topic.Name, m)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("ntfy: encode message: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, topic.Server+"/", bytes.NewReader(body))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("ntfy: build request for %s: %v", topic.Server, notify.WithoutURL(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	if c.auth != "" && strings.EqualFold(topic.Server, c.server) {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("ntfy: publish to %s: %w", topic.Server, notify.WithoutURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("ntfy: read answer from %s: %w", topic.Server, notify.WithoutURL(err))
	}
	if err := notify.HTTPStatusError("ntfy", resp.StatusCode, resp.Header.Get("Retry-After"), data, c.now()); err != nil {
		return notify.Receipt{}, err
	}
	var a answer
	if err := json.Unmarshal(data, &a); err != nil || a.ID == "" {
		// Not ntfy's answer: a proxy's login page or some other web server
		// took the request, and the phone got nothing. The same URL will
		// answer the same way, so fail over now.
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("ntfy: %s answered HTTP %d without a message id; is it an ntfy server? %s",
			topic.Server, resp.StatusCode, klaxon.Truncate(strings.Join(strings.Fields(string(data)), " "), 120)))
	}
	return notify.Receipt{ProviderID: a.ID}, nil
}

// render turns m into ntfy's publish JSON.
func render(topic string, m notify.Message) (message, error) {
	msg := message{
		Topic:   topic,
		Title:   klaxon.Truncate(notify.Title(m), maxTitleBytes),
		Message: klaxon.Truncate(notify.ShortText(m, false), maxMessageBytes),
		Click:   m.ConsoleURL,
	}
	switch m.Kind {
	case notify.KindVerification:
		if m.Code == "" {
			return message{}, errors.New("ntfy: verification message without a code")
		}
		msg.Priority = priorityHigh
		msg.Tags = []string{"key"}
		return msg, nil
	case notify.KindAlert:
		if len(m.Alerts) == 0 {
			return message{}, errors.New("ntfy: alert message without alerts")
		}
	default:
		return message{}, fmt.Errorf("ntfy: unknown message kind %q", klaxon.Truncate(string(m.Kind), 40))
	}
	worst := m.Alerts[0].Severity
	for _, a := range m.Alerts[1:] {
		if a.Severity.Rank() > worst.Rank() {
			worst = a.Severity
		}
	}
	msg.Priority, msg.Tags = severityStyle(worst)
	if len(m.Alerts) == 1 {
		a := m.Alerts[0]
		// ntfy allows three actions; the click URL already opens the console.
		if a.AcknowledgeURL != "" {
			msg.Actions = append(msg.Actions, action{Action: "http", Label: "Acknowledge", URL: a.AcknowledgeURL, Method: http.MethodPost, Clear: true})
		}
		if a.ResolveURL != "" {
			msg.Actions = append(msg.Actions, action{Action: "http", Label: "Resolve", URL: a.ResolveURL, Method: http.MethodPost, Clear: true})
		}
	}
	return msg, nil
}

// severityStyle maps a severity to ntfy's priority and an emoji tag, so
// that a critical page is loud and an info one waits in the drawer.
func severityStyle(s klaxon.Severity) (priority int, tags []string) {
	switch s {
	case klaxon.SeverityCritical:
		return priorityUrgent, []string{"rotating_light"}
	case klaxon.SeverityError:
		return priorityHigh, []string{"red_circle"}
	case klaxon.SeverityWarning:
		return priorityDefault, []string{"warning"}
	case klaxon.SeverityInfo:
		return priorityLow, []string{"information_source"}
	}
	return priorityDefault, nil
}

// hasControl reports whether s holds an ASCII control character, which no
// real credential does and which would only garble basic auth.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// headerSafe reports whether s can go into an HTTP header unchanged.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
