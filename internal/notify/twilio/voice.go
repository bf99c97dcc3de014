package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// Voice calls a person and reads the page to them: the call that wakes
// someone when a text does not. The call's script travels inline with the
// request (Twilio's Twiml parameter), so no page text has to be served to
// Twilio from a public URL.
type Voice struct{ c *Client }

var _ notify.Notifier = (*Voice)(nil)

// Voice returns the phone-call notifier of the account.
func (c *Client) Voice() *Voice { return &Voice{c: c} }

// Notify creates a Call resource: POST
// /2010-04-01/Accounts/{AccountSid}/Calls.json with To, From, the script as
// Twiml and, when configured, StatusCallback with every StatusCallbackEvent
// (initiated, ringing, answered, completed), so that the engine learns
// whether the call was answered. The receipt holds the Call SID.
func (v *Voice) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if err := klaxon.ValidatePhone("to", m.To.Address); err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("twilio: voice: %w", err))
	}
	twiml, err := CallTwiML(m, v.c.gatherURL)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("twilio: voice: %w", err))
	}
	form := url.Values{
		"To":    {m.To.Address},
		"From":  {v.c.from},
		"Twiml": {string(twiml)},
	}
	if v.c.statusCallback != "" {
		form.Set("StatusCallback", v.c.statusCallback)
		form["StatusCallbackEvent"] = []string{"initiated", "ringing", "answered", "completed"}
	}
	sid, err := v.c.create(ctx, "Calls", form)
	if err != nil {
		return notify.Receipt{}, err
	}
	return notify.Receipt{ProviderID: sid}, nil
}

// MaxTwiMLChars is the longest script Twilio accepts inline with a call
// (error 32018 past it).
const MaxTwiMLChars = 4000

// GatherInstructions is what a call asks the person to do. The keys match
// ParseGather's mapping.
const GatherInstructions = "Press 4 to acknowledge, 6 to resolve, 8 to escalate."

// maxSpokenAlerts bounds how many alerts of a bundle a call reads: past a
// few, a listener no longer follows, and the script must fit MaxTwiMLChars.
const maxSpokenAlerts = 5

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>`

// SayTwiML is a script that says text and hangs up: the answer to a Gather
// callback ("Alert 4 acknowledged. Goodbye.").
func SayTwiML(text string) []byte {
	var b strings.Builder
	b.WriteString(xmlHeader + "<Response>")
	say(&b, text)
	b.WriteString("</Response>")
	return []byte(b.String())
}

// GatherTwiML is a script that says prompt and GatherInstructions while
// waiting for one key, twice, and then says goodbye. Twilio posts the key to
// actionURL (see ParseGather). Calls use it to read the page; the Gather
// callback's handler uses it to ask again after a key that does nothing.
func GatherTwiML(prompt, actionURL string) []byte {
	var b strings.Builder
	b.WriteString(xmlHeader + "<Response>")
	for range 2 {
		b.WriteString(`<Gather numDigits="1" action="` + escape(actionURL) + `" method="POST">`)
		if prompt != "" {
			say(&b, prompt)
		}
		say(&b, GatherInstructions)
		b.WriteString("</Gather>")
	}
	say(&b, "Goodbye.")
	b.WriteString("</Response>")
	return []byte(b.String())
}

// CallTwiML is the script of a call for m. An alert call reads notify.Title
// of each alert inside a Gather whose action is gatherURL with the
// notification's IdempotencyKey added as the "n" parameter, so that the
// answer can be tied to the notification; without a gatherURL it reads the
// alert twice. A verification call reads the code digit by digit, twice.
// Long bundles are shortened to fit MaxTwiMLChars.
func CallTwiML(m notify.Message, gatherURL string) ([]byte, error) {
	if m.Kind == notify.KindVerification {
		code := spell(m.Code)
		if code == "" {
			return nil, errors.New("verification message without a code")
		}
		text := "Your Klaxon verification code is " + code + ". Again, your code is " + code + "."
		return fit(SayTwiML(text + " Goodbye."))
	}
	if len(m.Alerts) == 0 {
		return nil, errors.New("alert message without alerts")
	}
	action := ""
	if gatherURL != "" {
		if len(m.IdempotencyKey) > maxKeyBytes {
			return nil, fmt.Errorf("idempotency key is %d bytes; a Gather callback carries at most %d", len(m.IdempotencyKey), maxKeyBytes)
		}
		var err error
		if action, err = gatherAction(gatherURL, m.IdempotencyKey); err != nil {
			return nil, err
		}
	}
	script := func(intro string) []byte {
		if action != "" {
			return GatherTwiML(intro, action)
		}
		return SayTwiML(intro + " Again: " + intro + " Goodbye.")
	}
	intro := alertScript(m)
	for {
		doc := script(intro)
		if len(doc) <= MaxTwiMLChars { // bytes: never fewer than characters
			return doc, nil
		}
		n := utf8.RuneCountInString(intro)
		if n <= 40 {
			return nil, fmt.Errorf("call script is %d bytes, more than Twilio's %d even with the alert cut short", len(doc), MaxTwiMLChars)
		}
		intro = truncateRunes(intro, n*3/4)
	}
}

// alertScript is what a call says about the alerts of m: who is calling,
// then each alert's title in words a text-to-speech voice reads plainly.
func alertScript(m notify.Message) string {
	if len(m.Alerts) == 1 {
		return "This is Klaxon. " + spoken(notify.Title(m)) + "."
	}
	var b strings.Builder
	b.WriteString("This is Klaxon. " + spoken(notify.Title(m)) + ".")
	for i, a := range m.Alerts {
		if i == maxSpokenAlerts {
			fmt.Fprintf(&b, " And %d more.", len(m.Alerts)-i)
			break
		}
		one := notify.Message{Kind: m.Kind, Service: m.Service, Alerts: []notify.Alert{a}}
		fmt.Fprintf(&b, " Alert %d: %s.", a.Number, spoken(klaxon.Truncate(notify.Title(one), 200)))
	}
	fmt.Fprintf(&b, " Your answer applies to all %d alerts.", len(m.Alerts))
	return b.String()
}

// gatherAction adds the notification's key to the Gather callback URL.
func gatherAction(gatherURL, key string) (string, error) {
	u, err := url.Parse(gatherURL)
	if err != nil {
		return "", fmt.Errorf("gather URL: %w", err)
	}
	q := u.Query()
	q.Set("n", key)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// fit refuses a script Twilio would refuse.
func fit(doc []byte) ([]byte, error) {
	if len(doc) > MaxTwiMLChars {
		return nil, fmt.Errorf("call script is %d bytes, more than Twilio's %d", len(doc), MaxTwiMLChars)
	}
	return doc, nil
}

// spoken turns a title into plain words: the service in brackets becomes a
// clause, markup and control characters become spaces, and runs of spaces
// become one. "CRITICAL: Disk full on db-1 [payments-api]" is read as
// "CRITICAL: Disk full on db-1, payments-api".
func spoken(s string) string {
	s = strings.NewReplacer(" [", ", ", "[", ", ", "]", " ").Replace(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune("<>{}*_~|\\`^", r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(strings.Join(strings.Fields(s), " "))
}

// spell reads a code one character at a time: "1, 2, 3, 4".
func spell(code string) string {
	var parts []string
	for _, r := range code {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			parts = append(parts, string(r))
		}
	}
	return strings.Join(parts, ", ")
}

func say(b *strings.Builder, text string) {
	b.WriteString("<Say>" + escape(text) + "</Say>")
}

// escape makes s safe as XML text or as a quoted attribute value; characters
// XML cannot carry become U+FFFD.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
