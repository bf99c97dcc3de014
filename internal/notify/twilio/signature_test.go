package twilio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Twilio's security documentation works one example through: this URL,
// these POST parameters and the auth token 12345 give this signature.
var (
	docURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docToken = "12345"
	docForm  = url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
	docSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
)

func TestSignMatchesTwilioDocumentedExample(t *testing.T) {
	if got := Sign(docToken, docURL, docForm); got != docSignature {
		t.Fatalf("Sign = %q, want Twilio's %q", got, docSignature)
	}
	if !ValidateSignature(docToken, docURL, docForm, docSignature) {
		t.Fatal("ValidateSignature refuses Twilio's documented example")
	}
}

func TestValidateSignatureRefusesChanges(t *testing.T) {
	changed := func(k, v string) url.Values {
		f := url.Values{}
		for name, vs := range docForm {
			f[name] = append([]string(nil), vs...)
		}
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name      string
		token     string
		url       string
		form      url.Values
		signature string
	}{
		{"changed param", docToken, docURL, changed("Digits", "1235"), docSignature},
		{"added param", docToken, docURL, changed("Extra", "x"), docSignature},
		{"removed param", docToken, docURL, url.Values{"CallSid": docForm["CallSid"]}, docSignature},
		{"changed query", docToken, "https://mycompany.com/myapp.php?foo=1&bar=3", docForm, docSignature},
		{"changed host", docToken, "https://evil.example.com/myapp.php?foo=1&bar=2", docForm, docSignature},
		{"http instead of https", docToken, "http://mycompany.com/myapp.php?foo=1&bar=2", docForm, docSignature},
		{"other token", "54321", docURL, docForm, docSignature},
		{"empty token", "", docURL, docForm, docSignature},
		{"empty signature", docToken, docURL, docForm, ""},
		{"truncated signature", docToken, docURL, docForm, docSignature[:20]},
		{"one bit off", docToken, docURL, docForm, "RSOYDt4T1cUTdK1PDd93/VVr8B9="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ValidateSignature(tt.token, tt.url, tt.form, tt.signature) {
				t.Error("ValidateSignature accepted it")
			}
		})
	}
}

func TestValidateSignatureDefaultPort(t *testing.T) {
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}}
	tests := []struct{ signed, seen string }{
		{"https://klaxon.example.com:443/twilio/sms", "https://klaxon.example.com/twilio/sms"},
		{"https://klaxon.example.com/twilio/sms", "https://klaxon.example.com:443/twilio/sms"},
		{"http://klaxon.example.com:80/twilio/sms", "http://klaxon.example.com/twilio/sms"},
	}
	for _, tt := range tests {
		if !ValidateSignature(testToken, tt.seen, form, Sign(testToken, tt.signed, form)) {
			t.Errorf("signed for %s, refused for %s", tt.signed, tt.seen)
		}
	}
	if ValidateSignature(testToken, "https://klaxon.example.com:8443/twilio/sms", form,
		Sign(testToken, "https://klaxon.example.com/twilio/sms", form)) {
		t.Error("a different port was accepted")
	}
}

func TestSignRepeatedParameters(t *testing.T) {
	a := url.Values{"StatusCallbackEvent": {"ringing", "answered"}}
	b := url.Values{"StatusCallbackEvent": {"answered", "ringing"}}
	if Sign(testToken, docURL, a) != Sign(testToken, docURL, b) {
		t.Error("the order of a repeated parameter's values changes the signature")
	}
}

// signedRequest is a callback as Twilio would post it to publicURL+target.
func signedRequest(t *testing.T, publicURL, target string, form url.Values) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(SignatureHeader, Sign(testToken, publicURL+target, form))
	return r
}

func TestVerifyRequest(t *testing.T) {
	const public = "https://klaxon.example.com"
	form := url.Values{"CallSid": {"CA0123456789abcdef0123456789abcdef"}, "Digits": {"4"}}
	r := signedRequest(t, public, "/twilio/gather?n=job-42", form)
	got, err := VerifyRequest(testToken, public+"/", r)
	if err != nil {
		t.Fatalf("VerifyRequest: %v", err)
	}
	if got.Get("Digits") != "4" || got.Get("n") != "job-42" {
		t.Errorf("VerifyRequest = %v, want the form and the query", got)
	}
	g, err := ParseGather(got)
	if err != nil || g.Key != "job-42" {
		t.Errorf("ParseGather(VerifyRequest(...)) = %+v, %v", g, err)
	}
}

func TestVerifyRequestRefuses(t *testing.T) {
	const public = "https://klaxon.example.com"
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"delivered"}}
	tests := []struct {
		name    string
		req     func() *http.Request
		wantSig bool // the error is ErrSignature
	}{
		{"missing signature", func() *http.Request {
			r := signedRequest(t, public, "/twilio/status", form)
			r.Header.Del(SignatureHeader)
			return r
		}, true},
		{"forged signature", func() *http.Request {
			r := signedRequest(t, public, "/twilio/status", form)
			r.Header.Set(SignatureHeader, Sign("not-the-token", public+"/twilio/status", form))
			return r
		}, true},
		{"changed form", func() *http.Request {
			r := signedRequest(t, public, "/twilio/status", form)
			changed := url.Values{"MessageSid": form["MessageSid"], "MessageStatus": {"failed"}}
			r.Body = httptest.NewRequest("POST", "/", strings.NewReader(changed.Encode())).Body
			return r
		}, true},
		{"signed for another path", func() *http.Request {
			r := signedRequest(t, public, "/twilio/status", form)
			r.URL.Path = "/twilio/sms"
			return r
		}, true},
		{"signed for another host", func() *http.Request {
			return signedRequest(t, "https://evil.example.com", "/twilio/status", form)
		}, true},
		{"GET", func() *http.Request {
			r := signedRequest(t, public, "/twilio/status", form)
			r.Method = http.MethodGet
			return r
		}, false},
		{"JSON body", func() *http.Request {
			r := signedRequest(t, public, "/twilio/status", form)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, false},
		{"oversized body", func() *http.Request {
			big := url.Values{"Body": {strings.Repeat("x", maxCallbackBytes)}}
			return signedRequest(t, public, "/twilio/sms", big)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := VerifyRequest(testToken, public, tt.req())
			if err == nil {
				t.Fatalf("VerifyRequest = %v, want an error", form)
			}
			if got := errors.Is(err, ErrSignature); got != tt.wantSig {
				t.Errorf("errors.Is(%v, ErrSignature) = %v, want %v", err, got, tt.wantSig)
			}
		})
	}
	if _, err := VerifyRequest(testToken, "klaxon.example.com", signedRequest(t, public, "/x", form)); err == nil {
		t.Error("a public URL without a scheme was accepted")
	}
}
