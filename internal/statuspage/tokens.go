package statuspage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// Tokens makes and checks the links in subscription emails. The link is
// the credential (a subscriber has no account), so it is signed with
// HMAC-SHA256 under a key only this Klaxon holds, and names one subscriber
// and one purpose: a confirmation token does not unsubscribe, nor the
// reverse. The links do not expire: an unsubscribe link in a years-old email
// must still work.
//
// An empty Key makes no links and accepts no token.
type Tokens struct {
	Key []byte
}

// The purposes a token is signed for.
const (
	purposeConfirm     = "confirm"
	purposeUnsubscribe = "unsubscribe"
)

// The paths the links open; the routes serve them.
const (
	confirmPath     = "/subscriptions/confirm/"
	unsubscribePath = "/subscriptions/unsubscribe/"
)

// tokenVersion leads every payload, so that the format can change without
// old links being read the new way.
const tokenVersion = 1

// sigLen is how much of the MAC a token carries: 144 bits, far beyond
// guessing.
const sigLen = 18

// ConfirmURL is the link that confirms subscriber id's address, under the
// page's public URL base; "" when no key is set.
func (t Tokens) ConfirmURL(base string, id int64) string {
	return t.url(base, confirmPath, purposeConfirm, id)
}

// UnsubscribeURL is the link (for the email's footer and its
// List-Unsubscribe header) that ends subscriber id's subscription; "" when
// no key is set.
func (t Tokens) UnsubscribeURL(base string, id int64) string {
	return t.url(base, unsubscribePath, purposeUnsubscribe, id)
}

func (t Tokens) url(base, path, purpose string, id int64) string {
	if len(t.Key) == 0 || id <= 0 {
		return ""
	}
	return strings.TrimRight(base, "/") + path + t.token(purpose, id)
}

// token encodes and signs id for purpose: base64url(payload) "."
// base64url(mac).
func (t Tokens) token(purpose string, id int64) string {
	payload := binary.AppendUvarint([]byte{tokenVersion}, uint64(id))
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(t.sign(purpose, payload))
}

func (t Tokens) sign(purpose string, payload []byte) []byte {
	m := hmac.New(sha256.New, t.Key)
	m.Write([]byte("klaxon status subscriber\x00"))
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:sigLen]
}

// maxTokenLen bounds what verify reads; real tokens are about 30 bytes.
const maxTokenLen = 100

// verify checks token for purpose and returns the subscriber id it names.
// Decoding is strict, so that a token has exactly one spelling.
func (t Tokens) verify(purpose, token string) (int64, bool) {
	if len(t.Key) == 0 || len(token) > maxTokenLen || strings.ContainsFunc(token, notTokenRune) {
		return 0, false
	}
	p64, s64, ok := strings.Cut(token, ".")
	if !ok {
		return 0, false
	}
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(s64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, t.sign(purpose, payload)) {
		return 0, false
	}
	if len(payload) < 2 || payload[0] != tokenVersion {
		return 0, false
	}
	id, n := binary.Uvarint(payload[1:])
	if n <= 0 || n != len(payload)-1 || id == 0 || id > 1<<63-1 {
		return 0, false
	}
	return int64(id), true
}

// notTokenRune is true for anything outside the base64url alphabet and the
// dot: the decoder would skip line breaks, giving a token a second spelling.
func notTokenRune(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}
