package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signature of every webhook request:
//
//	X-Klaxon-Signature: t=1772366400,v1=cb8b51811c980042b38a910cb3f5a7d4ba73d4902c13e312bf07845bb9da45ad
//
// (the signature of the body {"hello":"world"} with the secret
// "whsec_test" at 2026-03-01T12:00:00Z).
//
// t is when the request was signed, in Unix seconds; v1 is the lowercase
// hex HMAC-SHA256, keyed with the contact method's signing secret, of t,
// a '.', and the raw request body. Signing the timestamp with the body
// lets a receiver refuse an old request replayed by someone who recorded
// it. A header may hold several v1 values (one per secret while a secret
// is rotated); a receiver accepts the request if any of them matches.
// Parts with other names are ignored, so a later scheme can be added
// beside v1 without breaking receivers.
const SignatureHeader = "X-Klaxon-Signature"

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance: long enough for
// clock skew and a slow network, short enough that a recorded request is
// soon useless.
const DefaultTolerance = 5 * time.Minute

// Limits that keep Verify cheap on a hostile header.
const (
	maxHeaderLength = 4096
	maxSignatures   = 8
)

// The errors Verify returns, so that a receiver can log why it refused a
// request (and answer 400 or 401 as it likes).
var (
	ErrNoSignature        = errors.New("webhook: no " + SignatureHeader + " header")
	ErrMalformedSignature = errors.New("webhook: malformed " + SignatureHeader + " header")
	ErrSignatureMismatch  = errors.New("webhook: no signature matches the body")
	ErrStaleSignature     = errors.New("webhook: signature timestamp is outside the tolerance (a replay, or a clock that is off)")
	ErrNoSecret           = errors.New("webhook: empty signing secret")
)

// Sign returns the SignatureHeader value for body sent at t: what Klaxon
// sends, and what a receiver's tests can use to make requests.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verify checks a request that claims to come from Klaxon: header is the
// SignatureHeader value, body the raw body as received (before any JSON
// decoding, which would change the bytes), now the receiver's clock, and
// tolerance how far the signed timestamp may be from now either way
// (DefaultTolerance when zero or negative).
//
// It refuses an empty secret, a missing or malformed header, a header with
// no v1 that matches (compared in constant time, so the time taken says
// nothing about how close a forgery came), and a timestamp outside the
// tolerance. The signature is checked before the timestamp, so a replayed
// request is reported as ErrStaleSignature and a forged one as
// ErrSignatureMismatch.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return err
	}
	want := mac(secret, strconv.FormatInt(ts, 10), body)
	matched := false
	for _, s := range sigs {
		// Every candidate is compared, not just up to the first match.
		matched = hmac.Equal(s, want) || matched
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStaleSignature
	}
	return nil
}

// parseSignature reads "t=<seconds>,v1=<hex>[,v1=<hex>...]": exactly one t,
// a positive decimal; at least one v1 of 64 hex digits; other name=value
// parts skipped; spaces around parts allowed.
func parseSignature(header string) (ts int64, sigs [][]byte, err error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0, nil, ErrNoSignature
	}
	if len(header) > maxHeaderLength {
		return 0, nil, ErrMalformedSignature
	}
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || value == "" {
			return 0, nil, ErrMalformedSignature
		}
		switch name {
		case "t":
			if seenT || len(value) > 12 || strings.TrimLeft(value, "0123456789") != "" {
				return 0, nil, ErrMalformedSignature
			}
			seenT = true
			ts, _ = strconv.ParseInt(value, 10, 64) // 12 digits cannot overflow
			if ts <= 0 {
				return 0, nil, ErrMalformedSignature
			}
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size || len(sigs) == maxSignatures {
				return 0, nil, ErrMalformedSignature
			}
			sigs = append(sigs, sig)
		}
	}
	if !seenT || len(sigs) == 0 {
		return 0, nil, ErrMalformedSignature
	}
	return ts, sigs, nil
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
