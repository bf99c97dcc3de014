package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Response links let the person paged act on an alert from the message
// itself, without logging in: the link is the credential. So it is signed
// (HMAC-SHA256 under a key only this Klaxon holds), names one alert, one
// person and one action, expires, and works once (the store records every
// link used). Opening it shows a confirmation page; only the page's POST
// acts, because mail scanners fetch every link in a message.

// Link is what a response link authorises.
type Link struct {
	AlertID        int64
	UserID         int64
	NotificationID int64
	Action         ReplyAction
	Expires        time.Time
}

// LinkTTL is how long a response link works: long enough for a page sent at
// night to be answered in the morning, short enough that an old email in a
// forwarded thread cannot act.
const LinkTTL = 24 * time.Hour

// Linker makes and checks response links.
type Linker struct {
	key  []byte
	base string // public URL without a trailing slash
}

// NewLinker returns a Linker signing with key, making links under
// publicURL. With an empty publicURL it makes no links (Message fields stay
// empty) but still checks tokens.
func NewLinker(key []byte, publicURL string) *Linker {
	return &Linker{key: key, base: strings.TrimRight(publicURL, "/")}
}

// LinkPath is where response links are served.
const LinkPath = "/r/"

// URL returns the link for l, or "" without a public URL.
func (k *Linker) URL(l Link) string {
	if k.base == "" {
		return ""
	}
	return k.base + LinkPath + k.Token(l)
}

var actionCodes = map[ReplyAction]byte{ReplyAcknowledge: 'a', ReplyResolve: 'r', ReplyEscalate: 'e'}

// Token encodes and signs l.
func (k *Linker) Token(l Link) string {
	payload := make([]byte, 0, 32)
	payload = append(payload, 1, actionCodes[l.Action])
	payload = binary.AppendUvarint(payload, uint64(l.AlertID))
	payload = binary.AppendUvarint(payload, uint64(l.UserID))
	payload = binary.AppendUvarint(payload, uint64(l.NotificationID))
	payload = binary.AppendUvarint(payload, uint64(l.Expires.Unix()))
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(k.sign(payload))
}

func (k *Linker) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte("klaxon response link\x00"))
	m.Write(payload)
	return m.Sum(nil)[:18]
}

// The ways a token can be refused. The confirmation page says which, in
// words a person can act on.
var (
	ErrLinkInvalid = errors.New("this link is not valid; it may have been cut short or changed")
	ErrLinkExpired = errors.New("this link has expired; open the alert in Klaxon instead")
)

// notTokenRune is true for anything the base64url alphabet and the dot do
// not hold; the decoder would skip line breaks, which would give a link a
// second spelling.
func notTokenRune(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// Parse checks a token's signature and expiry at now and returns what it
// authorises.
//
// Decoding is strict (no stray bits in the last base64 character), so that
// one link has exactly one spelling: the store spends links by their hash,
// and a second spelling of a spent link would otherwise work again.
func (k *Linker) Parse(token string, now time.Time) (Link, error) {
	enc := base64.RawURLEncoding.Strict()
	p64, s64, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 || strings.ContainsFunc(token, notTokenRune) {
		return Link{}, ErrLinkInvalid
	}
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(s64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, k.sign(payload)) {
		return Link{}, ErrLinkInvalid
	}
	if len(payload) < 2 || payload[0] != 1 {
		return Link{}, ErrLinkInvalid
	}
	var l Link
	for action, code := range actionCodes {
		if payload[1] == code {
			l.Action = action
		}
	}
	rest := payload[2:]
	var fields [4]uint64
	for i := range fields {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return Link{}, ErrLinkInvalid
		}
		fields[i], rest = v, rest[n:]
	}
	if l.Action == "" || len(rest) != 0 {
		return Link{}, ErrLinkInvalid
	}
	l.AlertID, l.UserID, l.NotificationID = int64(fields[0]), int64(fields[1]), int64(fields[2])
	l.Expires = time.Unix(int64(fields[3]), 0).UTC()
	if !now.Before(l.Expires) {
		return l, ErrLinkExpired
	}
	return l, nil
}
