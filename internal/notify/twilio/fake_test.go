package twilio

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "f00dfacef00dfacef00dfacef00dface"
	testFrom  = "+15005550006"
)

// fakeTwilio is a local server that checks requests against what Twilio
// documents for creating Messages and Calls, and answers as Twilio does: 201
// with the new resource as JSON, or an error body with code, message,
// more_info and status.
type fakeTwilio struct {
	t   *testing.T
	srv *httptest.Server

	mu   sync.Mutex
	reqs []fakeRequest
	seq  int
	// answer, when set, replaces the normal answer after the checks.
	answer http.HandlerFunc
}

type fakeRequest struct {
	resource string // "Messages" or "Calls"
	form     url.Values
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a client of the fake account pointed at the fake server.
func (f *fakeTwilio) client(t *testing.T, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		AccountSID:        testSID,
		AuthToken:         testToken,
		From:              testFrom,
		BaseURL:           f.srv.URL,
		StatusCallbackURL: "https://klaxon.example.com/twilio/status",
		GatherURL:         "https://klaxon.example.com/twilio/gather",
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func (f *fakeTwilio) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	refuse := func(status, code int, format string, args ...any) {
		f.t.Errorf("fake twilio: "+format, args...)
		twilioError(w, status, code, fmt.Sprintf(format, args...))
	}
	if r.Method != http.MethodPost {
		refuse(405, 20004, "method %s, want POST", r.Method)
		return
	}
	prefix := "/2010-04-01/Accounts/" + testSID + "/"
	resource, ok := strings.CutPrefix(r.URL.Path, prefix)
	resource, ok2 := strings.CutSuffix(resource, ".json")
	if !ok || !ok2 || (resource != "Messages" && resource != "Calls") {
		refuse(404, 20404, "path %s, want %s{Messages,Calls}.json", r.URL.Path, prefix)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testSID || pass != testToken {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		refuse(400, 20001, "Content-Type %q, want application/x-www-form-urlencoded", ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		refuse(400, 20001, "form: %v", err)
		return
	}
	form := r.PostForm
	if len(r.URL.Query()) != 0 {
		refuse(400, 20001, "parameters in the query string: %s", r.URL.RawQuery)
		return
	}
	if form.Get("To") == "" || form.Get("From") == "" {
		refuse(400, 21201, "To and From are required")
		return
	}
	switch resource {
	case "Messages":
		body := form.Get("Body")
		if body == "" {
			refuse(400, 21602, "Message body is required")
			return
		}
		if n := len(utf16.Encode([]rune(body))); n > MaxBodyChars {
			refuse(400, 21617, "body is %d characters, more than %d", n, MaxBodyChars)
			return
		}
	case "Calls":
		twiml := form.Get("Twiml")
		if twiml == "" {
			refuse(400, 21205, "Twiml (or Url) is required")
			return
		}
		if n := len([]rune(twiml)); n > MaxTwiMLChars {
			refuse(400, 32018, "Twiml is %d characters, more than %d", n, MaxTwiMLChars)
			return
		}
		if err := wellFormed(twiml); err != nil {
			refuse(400, 12100, "Twiml does not parse: %v", err)
			return
		}
		for _, e := range form["StatusCallbackEvent"] {
			switch e {
			case "initiated", "ringing", "answered", "completed":
			default:
				refuse(400, 21626, "StatusCallbackEvent %q", e)
				return
			}
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, fakeRequest{resource: resource, form: form})
	f.seq++
	seq := f.seq
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	prefix2 := "SM"
	if resource == "Calls" {
		prefix2 = "CA"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"sid":         fmt.Sprintf("%s%032x", prefix2, seq),
		"account_sid": testSID,
		"to":          form.Get("To"),
		"from":        form.Get("From"),
		"status":      "queued",
		"api_version": "2010-04-01",
	})
}

// twilioError answers as Twilio does when it refuses a request.
func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

// wellFormed checks that s is one XML document.
func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// twimlDoc is a call script as encoding/xml reads it.
type twimlDoc struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []struct {
		XMLName   xml.Name
		NumDigits string   `xml:"numDigits,attr"`
		Action    string   `xml:"action,attr"`
		Method    string   `xml:"method,attr"`
		Text      string   `xml:",chardata"`
		Says      []string `xml:"Say"`
	} `xml:",any"`
}

func parseTwiML(t *testing.T, doc []byte) twimlDoc {
	t.Helper()
	if !strings.HasPrefix(string(doc), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("TwiML does not start with the XML declaration: %.60s", doc)
	}
	var d twimlDoc
	if err := xml.Unmarshal(doc, &d); err != nil {
		t.Fatalf("TwiML does not parse: %v\n%s", err, doc)
	}
	return d
}
