// Package twilio carries pages out as SMS and voice calls through Twilio's
// REST API, and reads what Twilio sends back: delivery callbacks, SMS
// replies and the keys pressed during a call.
//
// The client is written by hand against Twilio's documented 2010-04-01 API
// rather than taken from Twilio's SDK, whose base URL is fixed: here the base
// URL is configuration, so that tests and the end-to-end suite point it at a
// local server that speaks the same API.
package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// DefaultBaseURL is Twilio's REST API, used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.twilio.com"

// apiVersion is the version of Twilio's REST API that Messages and Calls
// live under.
const apiVersion = "2010-04-01"

// maxAnswerBytes bounds how much of Twilio's answer is read: a resource or
// an error is a few kilobytes, and a misbehaving server must not make a
// worker read forever.
const maxAnswerBytes = 64 << 10

// defaultTimeout bounds a request when the caller's context has no deadline.
const defaultTimeout = 30 * time.Second

// Config is what a Twilio account needs to send pages. AuthToken is a
// secret: Config's String and GoString leave it out, so that logging a
// Config cannot leak it.
type Config struct {
	// AccountSID ("AC" and 32 hex digits) and AuthToken authenticate every
	// request, as HTTP basic auth.
	AccountSID string
	AuthToken  string
	// From is the Twilio number pages come from, in E.164 form.
	From string
	// BaseURL is Twilio's API, DefaultBaseURL when empty; tests point it at
	// a local server.
	BaseURL string
	// HTTPClient sends the requests; when nil, a client with a 30 second
	// timeout is used.
	HTTPClient *http.Client
	// StatusCallbackURL, when set, is where Twilio reports the delivery of
	// each message and the progress of each call (see ParseStatusCallback).
	StatusCallbackURL string
	// GatherURL, when set, is where Twilio posts the key a person pressed
	// during a call (see ParseGather). Without it, calls read the alert but
	// cannot take an answer.
	GatherURL string
}

// String describes the configuration without its auth token.
func (c Config) String() string {
	return fmt.Sprintf("twilio.Config{AccountSID: %s, AuthToken: %s, From: %s, BaseURL: %s}",
		maskSID(c.AccountSID), maskToken(c.AuthToken), c.From, c.BaseURL)
}

// GoString is String, so that %#v cannot print the auth token either.
func (c Config) GoString() string { return c.String() }

// Client sends requests to one Twilio account. It is safe for concurrent
// use; SMS and Voice are the notifiers built on it.
type Client struct {
	sid, token, from string
	base             string // without a trailing slash
	hc               *http.Client
	statusCallback   string
	gatherURL        string
	now              func() time.Time
}

// New checks cfg and returns a client for it. Every mistake is reported with
// the name of the field, never with the auth token's value.
func New(cfg Config) (*Client, error) {
	if !validAccountSID(cfg.AccountSID) {
		return nil, fmt.Errorf("twilio: %w", klaxon.FieldError("AccountSID", "must be AC followed by 32 hex digits"))
	}
	if cfg.AuthToken == "" {
		return nil, fmt.Errorf("twilio: %w", klaxon.FieldError("AuthToken", "is required"))
	}
	if strings.ContainsFunc(cfg.AuthToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("twilio: %w", klaxon.FieldError("AuthToken", "must not contain spaces or control characters"))
	}
	if err := klaxon.ValidatePhone("From", cfg.From); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	for _, u := range []struct{ field, value string }{
		{"BaseURL", base}, {"StatusCallbackURL", cfg.StatusCallbackURL}, {"GatherURL", cfg.GatherURL},
	} {
		if u.value == "" {
			continue
		}
		if err := klaxon.ValidateURL(u.field, u.value); err != nil {
			return nil, fmt.Errorf("twilio: %w", err)
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{
		sid:            cfg.AccountSID,
		token:          cfg.AuthToken,
		from:           cfg.From,
		base:           strings.TrimRight(base, "/"),
		hc:             hc,
		statusCallback: cfg.StatusCallbackURL,
		gatherURL:      cfg.GatherURL,
		now:            time.Now,
	}, nil
}

// String names the account without its credentials, for logs.
func (c *Client) String() string {
	return fmt.Sprintf("twilio(%s from %s via %s)", maskSID(c.sid), c.from, c.base)
}

// GoString is String, so that %#v cannot print the auth token.
func (c *Client) GoString() string { return c.String() }

// create posts form to one of the account's list resources ("Messages",
// "Calls"), which creates a message or a call, and returns the new
// resource's SID. Every error it returns is a *notify.Error.
func (c *Client) create(ctx context.Context, resource string, form url.Values) (string, error) {
	path := "/" + apiVersion + "/Accounts/" + c.sid + "/" + resource + ".json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return "", c.fail(resource, true, err)
	}
	req.SetBasicAuth(c.sid, c.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// The URL names the account; say which resource instead.
			err = fmt.Errorf("%s: %w", strings.ToUpper(ue.Op), ue.Err)
		}
		return "", c.fail(resource, false, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return "", c.fail(resource, false, fmt.Errorf("read answer: %w", err))
	}
	if err := notify.HTTPStatusError("Twilio", resp.StatusCode, resp.Header.Get("Retry-After"),
		[]byte(c.redact(describeAPIError(body))), c.now()); err != nil {
		var ne *notify.Error
		if errors.As(err, &ne) {
			ne.Err = fmt.Errorf("twilio: create %s: %w", noun(resource), ne.Err)
			return "", ne
		}
		return "", c.fail(resource, false, err)
	}
	var created struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &created); err != nil || !validResourceSID(created.SID) {
		// Twilio said yes but not what it created: without a SID no
		// callback can be matched, so the send counts as failed and is
		// retried.
		return "", c.fail(resource, false, fmt.Errorf("answered HTTP %d without a resource SID: %s",
			resp.StatusCode, klaxon.Truncate(c.redact(string(bytes.TrimSpace(body))), 200)))
	}
	return created.SID, nil
}

// fail wraps err as a *notify.Error for the engine, with the account's
// credentials taken out of its text.
func (c *Client) fail(resource string, permanent bool, err error) error {
	return &notify.Error{Permanent: permanent, Err: redactedError{
		msg: "twilio: create " + noun(resource) + ": " + c.redact(err.Error()),
		err: err,
	}}
}

// noun names what a list resource creates, for error messages.
func noun(resource string) string {
	switch resource {
	case "Messages":
		return "message"
	case "Calls":
		return "call"
	}
	return resource
}

// redactedError carries a message whose secrets were taken out, and still
// unwraps to the original error so that errors.Is(err,
// context.DeadlineExceeded) keeps working.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// redact takes the account SID and auth token out of s: Twilio's 404 answer
// names the resource path, which holds the account SID.
func (c *Client) redact(s string) string {
	if len(c.token) >= 8 { // a shorter token would blank out ordinary words
		s = strings.ReplaceAll(s, c.token, "[redacted]")
	}
	return strings.ReplaceAll(s, c.sid, maskSID(c.sid))
}

// apiError is the JSON body of Twilio's error answers.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// describeAPIError renders Twilio's error body as "code 21211: The 'To'
// number is not a valid phone number (https://www.twilio.com/docs/errors/21211)";
// a body that is not Twilio's JSON is returned as it is.
func describeAPIError(body []byte) string {
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || (e.Code == 0 && e.Message == "") {
		return string(body)
	}
	var b strings.Builder
	if e.Code != 0 {
		b.WriteString("code " + strconv.Itoa(e.Code))
		if e.Message != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Message)
	if e.MoreInfo != "" {
		b.WriteString(" (" + e.MoreInfo + ")")
	}
	return b.String()
}

// validAccountSID reports whether s is an account SID: AC and 32 hex digits.
func validAccountSID(s string) bool {
	return len(s) == 34 && s[:2] == "AC" && isHex(s[2:])
}

// validResourceSID reports whether s looks like any Twilio SID: two capital
// letters and 32 hex digits.
func validResourceSID(s string) bool {
	return len(s) == 34 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && isHex(s[2:])
}

func isHex(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// maskSID shows enough of an account SID to tell accounts apart in logs.
func maskSID(s string) string {
	if len(s) < 8 {
		return "[redacted]"
	}
	return s[:2] + "…" + s[len(s)-4:]
}

func maskToken(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}
