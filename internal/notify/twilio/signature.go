package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// SignatureHeader is the header in which Twilio signs every request it
// sends: status callbacks, incoming messages, Gather answers.
const SignatureHeader = "X-Twilio-Signature"

// maxCallbackBytes bounds a callback's form: Twilio's callbacks are a few
// dozen short parameters and an SMS body of at most 1,600 characters.
const maxCallbackBytes = 64 << 10

// ErrSignature is the error VerifyRequest returns when a request is not
// signed by Twilio with the account's auth token. Handlers answer it with
// 403 and act on nothing in the request.
var ErrSignature = errors.New("twilio: request signature missing or wrong")

// Sign computes the signature Twilio sends in X-Twilio-Signature for a form
// POST: the HMAC-SHA1, keyed with the auth token, of the full URL (query
// string included) followed by each POST parameter's name and value, sorted
// by name, base64-encoded. A name given several times adds each of its
// values, in sorted order. Sign is exported for test servers that must
// sign callbacks as Twilio does.
func Sign(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		values := slices.Clone(form[name])
		slices.Sort(values)
		for _, v := range values {
			mac.Write([]byte(name))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidateSignature reports whether signature is Twilio's signature of a
// form POST to fullURL with the POST parameters form. The comparison takes
// the same time whatever the signature, so that it cannot be guessed a byte
// at a time. Like Twilio's own libraries, it accepts the URL with or without
// the scheme's default port (":443"), which proxies add or drop.
func ValidateSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	ok := false
	for _, u := range urlVariants(fullURL) {
		// Every variant is checked, so that the time taken does not say
		// which one matched.
		if hmac.Equal([]byte(Sign(authToken, u, form)), []byte(signature)) {
			ok = true
		}
	}
	return ok
}

// urlVariants is fullURL, and fullURL with its scheme's default port added
// when absent or removed when present.
func urlVariants(fullURL string) []string {
	u, err := url.Parse(fullURL)
	if err != nil || u.Host == "" {
		return []string{fullURL}
	}
	var port string
	switch u.Scheme {
	case "https":
		port = "443"
	case "http":
		port = "80"
	default:
		return []string{fullURL}
	}
	other := *u
	switch u.Port() {
	case "":
		other.Host = net.JoinHostPort(u.Hostname(), port)
	case port:
		other.Host = strings.TrimSuffix(u.Host, ":"+port)
	default:
		return []string{fullURL}
	}
	return []string{fullURL, other.String()}
}

// VerifyRequest checks that r is a callback signed by Twilio and returns its
// parameters: the POST form and the URL's query (a Gather callback's "n"),
// all covered by the signature. publicURL is the scheme and host (and any
// path prefix) under which Twilio reaches Klaxon, as written in the callback
// URLs Twilio was given; the URL Twilio signed is rebuilt from it and
// r.URL.RequestURI(), because behind a proxy the request's own host and
// scheme are not the ones Twilio used. The body is read up to 64 KiB.
//
// A request without a signature, or with one that does not match, fails
// with ErrSignature.
func VerifyRequest(authToken, publicURL string, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("twilio: callback must be a POST, not %s", r.Method)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("twilio: callback must be a form (application/x-www-form-urlencoded)")
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("twilio: public URL must be an absolute http or https URL")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxCallbackBytes)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("twilio: read callback form: %w", err)
	}
	signature := r.Header.Get(SignatureHeader)
	if signature == "" {
		return nil, fmt.Errorf("%w: no %s header", ErrSignature, SignatureHeader)
	}
	fullURL := strings.TrimRight(publicURL, "/") + r.URL.RequestURI()
	if !ValidateSignature(authToken, fullURL, r.PostForm, signature) {
		return nil, fmt.Errorf("%w: it does not match the request", ErrSignature)
	}
	return r.Form, nil
}
