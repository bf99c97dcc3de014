// Package smsgateway sends pages as SMS through any HTTP SMS gateway, so
// that nobody is tied to Twilio: a phone running an SMS gateway app, a
// regional provider, a company relay. The request is described by
// templates (URL, body, headers), checked when the gateway is configured,
// and the answer is judged by its HTTP status like every other channel's.
package smsgateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Config describes one gateway's API.
type Config struct {
	// URL is a text/template for the request URL, such as
	// "https://sms.example.com/send?to={{query .To}}&text={{query .Text}}".
	// The template sees Data; see funcs for query, json and form.
	URL string
	// Method is GET, POST, PUT or PATCH; POST when empty.
	Method string
	// Body is a text/template for the request body, such as
	// `{"to": {{json .To}}, "text": {{json .Text}}}`; empty sends none.
	Body string
	// ContentType is the body's media type; required with a Body.
	ContentType string
	// Headers are sent as they are, typically an API key. Their values are
	// treated as secrets: they never appear in errors or in String.
	Headers map[string]string
	// MessageIDField, when set, is the dotted path of the gateway's message
	// id in its JSON answer ("data.id", "messages.0.id"). An answer without
	// it still counts as sent, with no id.
	MessageIDField string
	// HTTPClient sends the requests; when nil, a client with a 30 second
	// timeout is used.
	HTTPClient *http.Client
}

// String describes the configuration with header values hidden.
func (c Config) String() string {
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k+": [redacted]")
	}
	slices.Sort(names)
	return fmt.Sprintf("smsgateway.Config{Method: %s, ContentType: %s, Headers: [%s], MessageIDField: %s}",
		c.Method, c.ContentType, strings.Join(names, ", "), c.MessageIDField)
}

// GoString is String, so that %#v cannot print a header's secret either.
func (c Config) GoString() string { return c.String() }

// Gateway sends messages through one configured gateway. It is safe for
// concurrent use.
type Gateway struct {
	url, body   *template.Template // body is nil when there is none
	method      string
	contentType string
	headers     http.Header
	secrets     []string // header values and URL credentials, kept out of errors
	idPath      []string
	hc          *http.Client
	now         func() time.Time
}

var _ notify.Notifier = (*Gateway)(nil)

// maxAnswerBytes bounds how much of a gateway's answer is read.
const maxAnswerBytes = 64 << 10

// sampleData is what New renders the templates with, so that a template
// that names a field Data does not have fails at start and not at 3 a.m.
func sampleData() Data {
	return Data{To: "+15005550006", Text: "Klaxon test: \"quotes\" & <brackets>\nsecond line", IdempotencyKey: "klaxon-test"}
}

// New checks cfg, parses its templates, renders them once with sample data,
// and returns the gateway. Errors name the field that is wrong.
func New(cfg Config) (*Gateway, error) {
	g := &Gateway{method: strings.ToUpper(cfg.Method), contentType: cfg.ContentType, hc: cfg.HTTPClient, now: time.Now}
	if g.method == "" {
		g.method = http.MethodPost
	}
	switch g.method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil, configError("Method", "must be GET, POST, PUT or PATCH, not %q", klaxon.Truncate(cfg.Method, 20))
	}
	if cfg.URL == "" {
		return nil, configError("URL", "is required")
	}
	var err error
	if g.url, err = template.New("URL").Funcs(funcs()).Parse(cfg.URL); err != nil {
		return nil, configError("URL", "%v", err)
	}
	sample := sampleData()
	u, err := render(g.url, sample)
	if err != nil {
		return nil, configError("URL", "%v", err)
	}
	if err := checkURL(u); err != nil {
		return nil, configError("URL", "%v", err)
	}
	g.secrets = urlSecrets(u, sample)
	if cfg.Body != "" {
		if g.method == http.MethodGet {
			return nil, configError("Body", "must be empty with GET")
		}
		if g.body, err = template.New("Body").Funcs(funcs()).Parse(cfg.Body); err != nil {
			return nil, configError("Body", "%v", err)
		}
		if _, err := render(g.body, sample); err != nil {
			return nil, configError("Body", "%v", err)
		}
		if cfg.ContentType == "" {
			return nil, configError("ContentType", "is required with a Body, such as application/json")
		}
	}
	if cfg.ContentType != "" {
		if _, _, err := mime.ParseMediaType(cfg.ContentType); err != nil {
			return nil, configError("ContentType", "is not a media type: %v", err)
		}
	}
	g.headers = http.Header{}
	for name, value := range cfg.Headers {
		field := fmt.Sprintf("Headers[%q]", name)
		if !validHeaderName(name) {
			return nil, configError(field, "is not a valid header name")
		}
		switch http.CanonicalHeaderKey(name) {
		case "Content-Type", "Content-Length", "Host", "Idempotency-Key", "Transfer-Encoding":
			return nil, configError(field, "is set by Klaxon; use ContentType for the body's type")
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return nil, configError(field, "must not contain line breaks") // the value is a secret: not shown
		}
		g.headers.Set(name, value)
		g.secrets = append(g.secrets, secretParts(value)...)
	}
	var ok bool
	if g.idPath, ok = parsePath(cfg.MessageIDField); !ok {
		return nil, configError("MessageIDField", "must be a dotted path such as data.id, not %q", klaxon.Truncate(cfg.MessageIDField, 40))
	}
	if g.hc == nil {
		g.hc = &http.Client{Timeout: 30 * time.Second}
	}
	return g, nil
}

// Notify renders the request for m, sends it with an Idempotency-Key header
// (m.IdempotencyKey, for gateways that honour it), and judges the answer
// with notify.HTTPStatusError.
func (g *Gateway) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if err := klaxon.ValidatePhone("to", m.To.Address); err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("smsgateway: %w", err))
	}
	d := Data{To: m.To.Address, Text: notify.ShortText(m, false), IdempotencyKey: m.IdempotencyKey}
	target, err := render(g.url, d)
	if err == nil {
		err = checkURL(target)
	}
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("smsgateway: URL: %w", err))
	}
	var body io.Reader
	if g.body != nil {
		b, err := render(g.body, d)
		if err != nil {
			return notify.Receipt{}, notify.Permanent(fmt.Errorf("smsgateway: Body: %w", err))
		}
		body = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, g.method, target, body)
	if err != nil {
		return notify.Receipt{}, g.fail(true, err)
	}
	req.Header = g.headers.Clone()
	if g.contentType != "" && body != nil {
		req.Header.Set("Content-Type", g.contentType)
	}
	req.Header.Set("Idempotency-Key", m.IdempotencyKey)
	resp, err := g.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// The URL may carry an API key; name the host only.
			err = fmt.Errorf("%s %s: %w", g.method, req.URL.Host, ue.Err)
		}
		return notify.Receipt{}, g.fail(false, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return notify.Receipt{}, g.fail(false, fmt.Errorf("read answer: %w", err))
	}
	// Secrets leave the answer before it is cut to an excerpt, which could
	// otherwise leave half a key behind.
	excerpt := []byte(g.redact(string(answer)))
	if err := notify.HTTPStatusError("SMS gateway", resp.StatusCode, resp.Header.Get("Retry-After"), excerpt, g.now()); err != nil {
		var ne *notify.Error
		if errors.As(err, &ne) {
			ne.Err = redactedError{msg: "smsgateway: " + g.redact(ne.Err.Error()), err: ne.Err}
			return notify.Receipt{}, ne
		}
		return notify.Receipt{}, g.fail(false, err)
	}
	// A 2xx is the gateway's word that it took the message, whatever its
	// body says: sending again would page twice.
	return notify.Receipt{ProviderID: extractID(answer, g.idPath)}, nil
}

// fail wraps err for the engine with the gateway's secrets taken out.
func (g *Gateway) fail(permanent bool, err error) error {
	return &notify.Error{Permanent: permanent, Err: redactedError{msg: "smsgateway: " + g.redact(err.Error()), err: err}}
}

// redact takes the configuration's secrets out of s, so that an error, or
// a gateway answer that echoes the request, cannot leak them into logs.
func (g *Gateway) redact(s string) string {
	for _, secret := range g.secrets {
		if len(secret) >= 6 { // shorter values are words, not keys
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// urlSecrets are the parts of the URL, rendered with sample, that may be
// credentials: a password, and the query values that do not come from the
// message (an API key in "?key=...").
func urlSecrets(rendered string, sample Data) []string {
	u, err := url.Parse(rendered)
	if err != nil {
		return nil
	}
	var secrets []string
	if p, ok := u.User.Password(); ok {
		secrets = append(secrets, p)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if v != sample.To && v != sample.Text && v != sample.IdempotencyKey {
				secrets = append(secrets, v, url.QueryEscape(v))
			}
		}
	}
	return secrets
}

// redactedError carries a message with secrets taken out and still unwraps
// to the original error, so that errors.Is(err, context.DeadlineExceeded)
// keeps working.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// secretParts is a header value and, for "Bearer xyz" or "Basic xyz", its
// credential alone, which a gateway may echo without the scheme.
func secretParts(value string) []string {
	parts := []string{value}
	if _, cred, ok := strings.Cut(value, " "); ok {
		parts = append(parts, strings.TrimSpace(cred))
	}
	return parts
}

// checkURL requires an absolute http or https URL, without showing it: it
// may carry an API key.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("does not render to a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must render to an absolute http or https URL")
	}
	return nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func configError(field, format string, args ...any) error {
	return fmt.Errorf("smsgateway: %w", klaxon.FieldError(field, format, args...))
}
