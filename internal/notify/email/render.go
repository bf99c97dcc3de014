package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// maxSubject bounds the subject: a page is read on a lock screen, and a
// huge summary must not make a huge header.
const maxSubject = 250

// Render turns m into an RFC 5322 message from from (an address, possibly
// with a display name) dated date, with CRLF line endings: a
// multipart/alternative with a text/plain and a text/html part, both UTF-8
// and quoted-printable. It is a pure function of its arguments, so that the
// golden files under testdata/ pin the whole message.
//
// messageID is the Message-ID header's value, angle brackets included. It
// depends only on m.IdempotencyKey and from's domain, so that a retried job
// sends the same Message-ID and a receiver can drop the duplicate.
//
// Every text that comes from an alert is made one line before it reaches a
// header, so that a summary holding CR or LF cannot add headers, and is
// escaped by html/template in the HTML part.
func Render(m notify.Message, from string, date time.Time) (msg []byte, messageID string, err error) {
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return nil, "", fmt.Errorf("email: from address: %w", err)
	}
	to, err := mail.ParseAddress(m.To.Address)
	if err != nil {
		return nil, "", fmt.Errorf("email: recipient address: %w", err)
	}
	if m.IdempotencyKey == "" {
		return nil, "", errors.New("email: message has no idempotency key")
	}
	switch {
	case m.Kind == notify.KindVerification && m.Code == "":
		return nil, "", errors.New("email: verification message without a code")
	case m.Kind == notify.KindAlert && len(m.Alerts) == 0:
		return nil, "", errors.New("email: alert message without alerts")
	case isStatus(m.Kind):
		if err := checkStatus(m); err != nil {
			return nil, "", err
		}
	case m.Kind != notify.KindVerification && m.Kind != notify.KindAlert:
		return nil, "", fmt.Errorf("email: unknown message kind %q", klaxon.Truncate(string(m.Kind), 20))
	}
	messageID = MessageID(m.IdempotencyKey, domainOf(sender.Address))
	var text, html func(*bytes.Buffer) error
	if isStatus(m.Kind) {
		text, html = statusBodies(m)
	} else {
		v := newView(m)
		text = func(b *bytes.Buffer) error { return renderText(b, v) }
		html = func(b *bytes.Buffer) error { return renderHTML(b, v) }
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// "=_" cannot occur in quoted-printable text, so no alert text can
	// forge the boundary; deriving it from the Message-ID keeps goldens
	// stable.
	sum := sha256.Sum256([]byte(messageID))
	if err := mw.SetBoundary("=_klaxon_" + hex.EncodeToString(sum[:12])); err != nil {
		return nil, "", fmt.Errorf("email: boundary: %w", err)
	}
	for _, part := range []struct {
		contentType string
		render      func(*bytes.Buffer) error
	}{
		{"text/plain; charset=UTF-8", text},
		{"text/html; charset=UTF-8", html},
	} {
		var content bytes.Buffer
		if err := part.render(&content); err != nil {
			return nil, "", err
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, "", fmt.Errorf("email: mime part: %w", err)
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(content.Bytes()); err != nil {
			return nil, "", fmt.Errorf("email: quoted-printable: %w", err)
		}
		if err := qp.Close(); err != nil {
			return nil, "", fmt.Errorf("email: quoted-printable: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("email: mime: %w", err)
	}

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(fold(name+": "+value) + "\r\n") }
	header("Date", date.Format(time.RFC1123Z))
	header("From", sender.String())
	header("To", (&mail.Address{Name: oneLine(m.To.Name), Address: to.Address}).String())
	header("Subject", encodeWords(subject(m)))
	header("Message-ID", messageID)
	header("MIME-Version", "1.0")
	// RFC 3834: a machine sent this, so auto-responders must stay quiet;
	// Exchange honours only its own header for out-of-office replies.
	header("Auto-Submitted", "auto-generated")
	header("X-Auto-Response-Suppress", "All")
	for _, h := range statusHeaders(m) {
		header(h[0], h[1])
	}
	if len(m.Alerts) > 0 {
		ids := make([]string, len(m.Alerts))
		for i, a := range m.Alerts {
			ids[i] = strconv.FormatInt(a.ID, 10)
		}
		header("X-Klaxon-Alert-Ids", strings.Join(ids, ", "))
	}
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	b.Write(body.Bytes())
	return b.Bytes(), messageID, nil
}

// MessageID is the Message-ID of the job with idempotency key key, for mail
// from domain: "<key@domain>", with every byte outside [A-Za-z0-9_-]
// written as =XX so that any key makes a valid, distinct id. A key too long
// for a header line is replaced by its SHA-256 (marked by a leading '+',
// which no escaped key has). Exported so that the notification log and
// bounce handling can compute the id of a job without sending it.
func MessageID(key, domain string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	left := b.String()
	if len(left) > 128 {
		sum := sha256.Sum256([]byte(key))
		left = "+" + hex.EncodeToString(sum[:])
	}
	if domain == "" {
		domain = "klaxon.invalid"
	}
	return "<" + left + "@" + domain + ">"
}

// subject is the message's title on one line, cut at maxSubject bytes
// with an ASCII ellipsis, so that an ASCII title stays unencoded.
func subject(m notify.Message) string {
	title := oneLine(headline(m))
	if cut := klaxon.Truncate(title, maxSubject); cut != title {
		return strings.TrimSuffix(cut, "…") + "..."
	}
	return title
}

// domainOf is the domain of a parsed address, or "" when it has none a
// Message-ID can carry (an address literal, say).
func domainOf(addr string) string {
	d := strings.ToLower(addr[strings.LastIndex(addr, "@")+1:])
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return ""
		}
	}
	return d
}

// oneLine makes text safe for one header line and tidy for a list item:
// control characters (CR and LF among them) and Unicode line separators
// become spaces, runs of spaces become one, invalid UTF-8 becomes U+FFFD.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// encodeWords returns a one-line header value as is when it is plain
// ASCII, and otherwise as RFC 2047 base64 encoded-words short enough to
// fold. Text that merely looks like an encoded-word ("=?") or has a word
// too long to fold is encoded too, so that what the reader sees is what the
// alert said.
func encodeWords(s string) string {
	plain := true
	for _, w := range strings.Fields(s) {
		if len(w) > 69 {
			plain = false
		}
	}
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain && !strings.Contains(s, "=?") {
		return s
	}
	// 36 bytes make 48 base64 characters, a 60-character word.
	var words []string
	for len(s) > 0 {
		n := min(len(s), 36)
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// fold breaks a header line at spaces so that each line stays within the
// 78 characters RFC 5322 asks for (longer words are left whole; encodeWords
// keeps them rare).
func fold(line string) string {
	var b strings.Builder
	width := 0
	for i, w := range strings.Split(line, " ") {
		if i > 0 {
			if width+1+len(w) > 78 {
				b.WriteString("\r\n")
				width = 0
			}
			b.WriteByte(' ')
			width++
		}
		b.WriteString(w)
		width += len(w)
	}
	return b.String()
}
