// Package fake holds test servers that speak providers' documented APIs, so
// that the engine, the API and the end-to-end suite can send real requests
// to a provider and play the provider's side back: what it received, and
// the signed callbacks it sends.
package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon/internal/notify/twilio"
)

// Twilio is a local server for one Twilio account: it creates Messages and
// Calls as Twilio's 2010-04-01 REST API does (basic auth with the account's
// SID and auth token, a form body, 201 with the new resource's SID) and
// records them, and it signs callbacks as Twilio does.
type Twilio struct {
	// URL is the server's base URL: twilio.Config's BaseURL.
	URL string
	// SID, Token and From are the fake account's.
	SID, Token, From string

	mu       sync.Mutex
	messages []Created
	calls    []Created
	// Fail, when set, answers a create request with this status and a
	// Twilio error body instead of creating anything.
	fail int
}

// Created is a message or a call the fake created: its SID, and the form
// Klaxon posted.
type Created struct {
	SID  string
	Form url.Values
}

// NewTwilio starts a fake Twilio account, stopped when the test ends.
func NewTwilio(t testing.TB) *Twilio {
	t.Helper()
	f := &Twilio{SID: "AC" + randomHex(16), Token: randomHex(16), From: "+15005550006"}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Config is a twilio.Config for the fake account; the callback URLs are
// the caller's to add.
func (f *Twilio) Config() twilio.Config {
	return twilio.Config{AccountSID: f.SID, AuthToken: f.Token, From: f.From, BaseURL: f.URL}
}

// Messages returns the messages created so far, oldest first.
func (f *Twilio) Messages() []Created {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Created(nil), f.messages...)
}

// Calls returns the calls created so far, oldest first.
func (f *Twilio) Calls() []Created {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Created(nil), f.calls...)
}

// FailWith makes every following create request fail with status (429,
// 500, 400...); 0 restores success.
func (f *Twilio) FailWith(status int) {
	f.mu.Lock()
	f.fail = status
	f.mu.Unlock()
}

func (f *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	refuse := func(status, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
			"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
	}
	prefix := "/2010-04-01/Accounts/" + f.SID + "/"
	resource, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || r.Method != http.MethodPost || (resource != "Messages.json" && resource != "Calls.json") {
		refuse(http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if sid, token, ok := r.BasicAuth(); !ok || sid != f.SID || token != f.Token {
		refuse(http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		refuse(http.StatusBadRequest, 20001, "the body must be a form")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		refuse(http.StatusBadRequest, 20001, "unreadable body")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		refuse(http.StatusBadRequest, 20001, "malformed form")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != 0 {
		refuse(f.fail, 20500, "the fake was told to fail")
		return
	}
	if form.Get("To") == "" || form.Get("From") != f.From {
		refuse(http.StatusBadRequest, 21604, "A 'To' phone number and the account's 'From' number are required.")
		return
	}
	c := Created{Form: form}
	if resource == "Messages.json" {
		if form.Get("Body") == "" {
			refuse(http.StatusBadRequest, 21602, "Message body is required.")
			return
		}
		c.SID = "SM" + randomHex(16)
		f.messages = append(f.messages, c)
	} else {
		if form.Get("Twiml") == "" && form.Get("Url") == "" {
			refuse(http.StatusBadRequest, 21205, "Url or Twiml is required.")
			return
		}
		c.SID = "CA" + randomHex(16)
		f.calls = append(f.calls, c)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"sid": c.SID, "account_sid": f.SID, "to": form.Get("To"),
		"from": form.Get("From"), "status": "queued"})
}

// Callback posts form to fullURL signed as Twilio signs its callbacks with
// the account's auth token: what Twilio does to report a delivery, pass on
// an incoming text, or hand over a key pressed during a call.
func (f *Twilio) Callback(ctx context.Context, client *http.Client, fullURL string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fullURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, twilio.Sign(f.Token, fullURL, form))
	return client.Do(req)
}

// MessageSID and CallSID make SIDs of the shape Twilio's are, for callbacks
// about messages and calls the fake did not create (an incoming text).
func MessageSID() string { return "SM" + randomHex(16) }

// CallSID makes a call's SID.
func CallSID() string { return "CA" + randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
