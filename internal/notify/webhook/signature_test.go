package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte("whsec_test")
	testBody   = []byte(`{"hello":"world"}`)
	signedAt   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// The vector in SignatureHeader's documentation, computed independently
// (Python's hmac module).
const vector = "t=1772366400,v1=cb8b51811c980042b38a910cb3f5a7d4ba73d4902c13e312bf07845bb9da45ad"

func TestSign(t *testing.T) {
	if got := Sign(testSecret, signedAt, testBody); got != vector {
		t.Fatalf("Sign = %q, want %q", got, vector)
	}
	if got := Sign(testSecret, signedAt.Add(999*time.Millisecond), testBody); got != vector {
		t.Errorf("Sign does not use whole seconds: %q", got)
	}
}

func TestVerify(t *testing.T) {
	good := hex.EncodeToString(mac(testSecret, "1772366400", testBody))
	other := hex.EncodeToString(mac([]byte("old secret"), "1772366400", testBody))
	cases := []struct {
		name      string
		secret    []byte
		header    string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"valid", testSecret, vector, testBody, signedAt, 0, nil},
		{"valid, upper-case hex", testSecret, "t=1772366400,v1=" + strings.ToUpper(good), testBody, signedAt, 0, nil},
		{"valid, spaces", testSecret, " t=1772366400 , v1=" + good + " ", testBody, signedAt, 0, nil},
		{"valid, v1 first", testSecret, "v1=" + good + ",t=1772366400", testBody, signedAt, 0, nil},
		{"rotation, new secret second", testSecret, "t=1772366400,v1=" + other + ",v1=" + good, testBody, signedAt, 0, nil},
		{"rotation, old secret accepted", []byte("old secret"), "t=1772366400,v1=" + good + ",v1=" + other, testBody, signedAt, 0, nil},
		{"unknown scheme ignored", testSecret, "t=1772366400,v0=abc,v2=xyz,v1=" + good, testBody, signedAt, 0, nil},
		{"4 minutes late", testSecret, vector, testBody, signedAt.Add(4 * time.Minute), 0, nil},
		{"4 minutes early (clock skew)", testSecret, vector, testBody, signedAt.Add(-4 * time.Minute), 0, nil},
		{"late within a custom tolerance", testSecret, vector, testBody, signedAt.Add(20 * time.Minute), 30 * time.Minute, nil},

		{"no secret", nil, vector, testBody, signedAt, 0, ErrNoSecret},
		{"missing header", testSecret, "", testBody, signedAt, 0, ErrNoSignature},
		{"blank header", testSecret, "   ", testBody, signedAt, 0, ErrNoSignature},
		{"forged signature", testSecret, "t=1772366400,v1=" + strings.Repeat("ab", 32), testBody, signedAt, 0, ErrSignatureMismatch},
		{"wrong secret", []byte("whsec_other"), vector, testBody, signedAt, 0, ErrSignatureMismatch},
		{"altered body", testSecret, vector, []byte(`{"hello":"World"}`), signedAt, 0, ErrSignatureMismatch},
		{"body with a trailing newline", testSecret, vector, append(testBody, '\n'), signedAt, 0, ErrSignatureMismatch},
		{"timestamp moved", testSecret, "t=1772366401,v1=" + good, testBody, signedAt, 0, ErrSignatureMismatch},
		{"replay after 6 minutes", testSecret, vector, testBody, signedAt.Add(6 * time.Minute), 0, ErrStaleSignature},
		{"replay after a day", testSecret, vector, testBody, signedAt.Add(24 * time.Hour), time.Hour, ErrStaleSignature},
		{"from the future", testSecret, vector, testBody, signedAt.Add(-6 * time.Minute), 0, ErrStaleSignature},

		{"no t", testSecret, "v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"no v1", testSecret, "t=1772366400", testBody, signedAt, 0, ErrMalformedSignature},
		{"only other schemes", testSecret, "t=1772366400,v0=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"t twice", testSecret, "t=1772366400,t=1772366400,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"t not a number", testSecret, "t=yesterday,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"t negative", testSecret, "t=-1772366400,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"t zero", testSecret, "t=0,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"t with a plus", testSecret, "t=+1772366400,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"t overflowing", testSecret, "t=99999999999999999999,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"t in milliseconds", testSecret, "t=1772366400000,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"empty t", testSecret, "t=,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"v1 not hex", testSecret, "t=1772366400,v1=" + strings.Repeat("zz", 32), testBody, signedAt, 0, ErrMalformedSignature},
		{"v1 too short", testSecret, "t=1772366400,v1=" + good[:62], testBody, signedAt, 0, ErrMalformedSignature},
		{"v1 odd length", testSecret, "t=1772366400,v1=" + good + "a", testBody, signedAt, 0, ErrMalformedSignature},
		{"v1 base64", testSecret, "t=1772366400,v1=y4tRgRyYAEKzipELPzp9S6TUkCwT4xLz+nrUG7naRa0=", testBody, signedAt, 0, ErrMalformedSignature},
		{"part without =", testSecret, vector + ",junk", testBody, signedAt, 0, ErrMalformedSignature},
		{"empty part", testSecret, "t=1772366400,,v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"semicolons", testSecret, "t=1772366400;v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"too many signatures", testSecret, "t=1772366400" + strings.Repeat(",v1="+other, maxSignatures) + ",v1=" + good, testBody, signedAt, 0, ErrMalformedSignature},
		{"too long", testSecret, vector + ",x=" + strings.Repeat("a", maxHeaderLength), testBody, signedAt, 0, ErrMalformedSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, tc.body, tc.now, tc.tolerance)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzVerify feeds Verify arbitrary headers and bodies. It must never
// panic, and it may accept a header only if the header really carries the
// HMAC of the body under the secret, with a timestamp in tolerance.
func FuzzVerify(f *testing.F) {
	f.Add(vector, testBody)
	f.Add("t=1772366400,v1="+strings.Repeat("0", 64)+",v1="+vector[16:], testBody)
	f.Add("t=1772366400,v0=,v1=", []byte{})
	f.Add("t=1,t=2", []byte("x"))
	f.Add(" , = ,t==,v1==", []byte(nil))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(testSecret, header, body, signedAt, time.Hour)
		if err == nil {
			ts, sigs, perr := parseSignature(header)
			if perr != nil {
				t.Fatalf("Verify accepted %q, which does not parse: %v", header, perr)
			}
			want := hmac.New(sha256.New, testSecret)
			want.Write([]byte(strconv.FormatInt(ts, 10) + "."))
			want.Write(body)
			found := false
			for _, s := range sigs {
				found = found || hmac.Equal(s, want.Sum(nil))
			}
			if !found || signedAt.Sub(time.Unix(ts, 0)).Abs() > time.Hour {
				t.Fatalf("Verify accepted %q for body %q", header, body)
			}
			return
		}
		for _, known := range []error{ErrNoSignature, ErrMalformedSignature, ErrSignatureMismatch, ErrStaleSignature} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("Verify(%q) = %v, not one of the documented errors", header, err)
	})
}
