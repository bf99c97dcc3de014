package twilio

import (
	"context"
	"fmt"
	"net/url"
	"unicode/utf16"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// MaxBodyChars is the longest message body Twilio accepts: 1,600
// characters, sent as several segments and joined again on the phone.
const MaxBodyChars = 1600

// SMS sends pages as text messages. Its body is notify.ShortText with the
// reply instructions, so that a person can answer "ACK 4" from the phone
// (see ParseInboundSMS and notify.ParseReply).
type SMS struct{ c *Client }

var _ notify.Notifier = (*SMS)(nil)

// SMS returns the text-message notifier of the account.
func (c *Client) SMS() *SMS { return &SMS{c: c} }

// Notify creates a Message resource: POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json with To, From, Body and,
// when configured, StatusCallback. The receipt holds the Message SID that
// delivery callbacks name.
func (s *SMS) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if err := klaxon.ValidatePhone("to", m.To.Address); err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("twilio: sms: %w", err))
	}
	form := url.Values{
		"To":   {m.To.Address},
		"From": {s.c.from},
		"Body": {truncateBody(notify.ShortText(m, true), MaxBodyChars)},
	}
	if s.c.statusCallback != "" {
		form.Set("StatusCallback", s.c.statusCallback)
	}
	sid, err := s.c.create(ctx, "Messages", form)
	if err != nil {
		return notify.Receipt{}, err
	}
	return notify.Receipt{ProviderID: sid}, nil
}

// truncateBody shortens s to at most limit characters, ending it with "…"
// when it had to be cut. It counts UTF-16 code units, so that a character
// outside the Basic Multilingual Plane (an emoji) counts as the two that an
// SMS encoding spends on it, and it never cuts a character in half.
func truncateBody(s string, limit int) string {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	if n <= limit {
		return s
	}
	budget := limit - 1 // room for the ellipsis
	n = 0
	for i, r := range s {
		w := utf16.RuneLen(r) // an invalid byte ranges as U+FFFD: one unit
		if n+w > budget {
			return s[:i] + "…"
		}
		n += w
	}
	return s
}

// MessageTwiML is the answer to an incoming SMS that replies with text: a
// confirmation ("Alert 4 acknowledged") or what went wrong. The reply is
// cut to MaxBodyChars.
func MessageTwiML(text string) []byte {
	return []byte(xmlHeader + "<Response><Message>" + escape(truncateBody(text, MaxBodyChars)) + "</Message></Response>")
}
