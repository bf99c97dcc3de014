package twilio

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/notify"
)

// The parsers below read the forms Twilio posts back, after VerifyRequest
// has checked their signature. They check every field they return, and
// name the field when one is missing or malformed: a callback is input from
// the network even when signed.

// Outcome is what a status callback says about a page: still on its way,
// delivered, or failed. The engine needs no more than this to decide
// whether to fall over to the next contact method.
type Outcome int

// The outcomes of a page.
const (
	// InProgress: queued, sending, ringing... or a status Twilio added
	// after this was written; a later callback will say more.
	InProgress Outcome = iota
	// Delivered: the phone has the message, or the call was answered.
	Delivered
	// Failed: the page did not reach the person and will not.
	Failed
)

// String names the outcome, for logs.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Failed:
		return "failed"
	default:
		return "in progress"
	}
}

// Status is a status callback for a message or a call: which one (the SID
// that Notify's receipt held), its status in Twilio's words, and Twilio's
// error code when it failed.
type Status struct {
	SID       string
	Status    string
	ErrorCode string
}

// Outcome maps Twilio's message and call statuses to what they mean for a
// page. A message is delivered when the carrier confirms it ("delivered",
// or "read" where the channel reports it); "sent" only means a carrier took
// it, so it stays in progress. A call is delivered once answered
// ("in-progress", "completed"). "partially_delivered" counts as failed: part
// of a page is not a page.
func (s Status) Outcome() Outcome {
	switch s.Status {
	case "delivered", "read", "in-progress", "completed":
		return Delivered
	case "failed", "undelivered", "canceled", "partially_delivered", "busy", "no-answer":
		return Failed
	default:
		return InProgress
	}
}

// ParseStatusCallback reads a status callback: a message's (MessageSid,
// MessageStatus, ErrorCode) or a call's (CallSid, CallStatus).
func ParseStatusCallback(form url.Values) (Status, error) {
	sidField, statusField, prefixes := "MessageSid", "MessageStatus", []string{"SM", "MM"}
	if _, ok := form["MessageSid"]; !ok {
		if _, ok := form["CallSid"]; !ok {
			return Status{}, fmt.Errorf("twilio: status callback: %w",
				klaxon.FieldError("MessageSid", "is required (or CallSid, for a call)"))
		}
		sidField, statusField, prefixes = "CallSid", "CallStatus", []string{"CA"}
	}
	var s Status
	var err error
	if s.SID, err = sidParam(form, sidField, prefixes...); err != nil {
		return Status{}, fmt.Errorf("twilio: status callback: %w", err)
	}
	if s.Status, err = param(form, statusField, true, 32); err != nil {
		return Status{}, fmt.Errorf("twilio: status callback: %w", err)
	}
	if strings.ContainsFunc(s.Status, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '-' || r == '_') }) {
		return Status{}, fmt.Errorf("twilio: status callback: %w",
			klaxon.FieldError(statusField, "must be a status word such as delivered, not %q", s.Status))
	}
	if s.ErrorCode, err = param(form, "ErrorCode", false, 10); err != nil {
		return Status{}, fmt.Errorf("twilio: status callback: %w", err)
	}
	if strings.ContainsFunc(s.ErrorCode, func(r rune) bool { return r < '0' || r > '9' }) {
		return Status{}, fmt.Errorf("twilio: status callback: %w",
			klaxon.FieldError("ErrorCode", "must be a number, not %q", s.ErrorCode))
	}
	return s, nil
}

// Inbound is a text message a person sent to the account's number: most
// often an answer to a page ("ACK 4"; see notify.ParseReply).
type Inbound struct {
	SID  string
	From string
	To   string
	Body string
}

// maxInboundBody bounds an incoming body: 1,600 characters of up to four
// bytes each.
const maxInboundBody = 4 * MaxBodyChars

// ParseInboundSMS reads the form Twilio posts for an incoming message
// (MessageSid, From, To, Body). Body may be empty (a picture without
// words); From and To are whatever Twilio sends, usually E.164 numbers.
func ParseInboundSMS(form url.Values) (Inbound, error) {
	var in Inbound
	var err error
	if in.SID, err = sidParam(form, "MessageSid", "SM", "MM"); err != nil {
		return Inbound{}, fmt.Errorf("twilio: inbound sms: %w", err)
	}
	if in.From, err = param(form, "From", true, 64); err != nil {
		return Inbound{}, fmt.Errorf("twilio: inbound sms: %w", err)
	}
	if in.To, err = param(form, "To", true, 64); err != nil {
		return Inbound{}, fmt.Errorf("twilio: inbound sms: %w", err)
	}
	if in.Body, err = text(form, "Body", maxInboundBody); err != nil {
		return Inbound{}, fmt.Errorf("twilio: inbound sms: %w", err)
	}
	return in, nil
}

// Gather is the key a person pressed during a page call, with the call and
// the notification (the "n" parameter CallTwiML put in the action URL) it
// answers.
type Gather struct {
	CallSID string
	Digits  string
	// Key is the notification's IdempotencyKey.
	Key    string
	Action notify.ReplyAction
}

// maxKeyBytes bounds the notification key a Gather callback carries; the
// engine's keys are far shorter.
const maxKeyBytes = 256

// ParseGather reads a Gather callback (CallSid, Digits, and n from the
// action URL) and maps the key to an action, as GatherInstructions tells:
// 4 acknowledges, 6 resolves, 8 escalates. Any other key is an error, for
// which the handler asks again with GatherTwiML.
func ParseGather(form url.Values) (Gather, error) {
	var g Gather
	var err error
	if g.CallSID, err = sidParam(form, "CallSid", "CA"); err != nil {
		return Gather{}, fmt.Errorf("twilio: gather: %w", err)
	}
	if g.Digits, err = param(form, "Digits", true, 16); err != nil {
		return Gather{}, fmt.Errorf("twilio: gather: %w", err)
	}
	switch g.Digits {
	case "4":
		g.Action = notify.ReplyAcknowledge
	case "6":
		g.Action = notify.ReplyResolve
	case "8":
		g.Action = notify.ReplyEscalate
	default:
		return Gather{}, fmt.Errorf("twilio: gather: %w",
			klaxon.FieldError("Digits", "must be 4, 6 or 8, not %q", g.Digits))
	}
	if g.Key, err = param(form, "n", true, maxKeyBytes); err != nil {
		return Gather{}, fmt.Errorf("twilio: gather: %w", err)
	}
	return g, nil
}

// param returns the one value of name: printable, at most limit bytes, and
// present when required. A name given twice is refused rather than one
// value picked.
func param(form url.Values, name string, required bool, limit int) (string, error) {
	v, err := text(form, name, limit)
	if err != nil {
		return "", err
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "", klaxon.FieldError(name, "must not contain control characters")
	}
	if required && v == "" {
		return "", klaxon.FieldError(name, "is required")
	}
	return v, nil
}

// text returns the one value of name, if any: valid UTF-8 of at most limit
// bytes.
func text(form url.Values, name string, limit int) (string, error) {
	values := form[name]
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1:
		return "", klaxon.FieldError(name, "is given %d times; once is expected", len(values))
	}
	v := values[0]
	if len(v) > limit {
		return "", klaxon.FieldError(name, "is %d bytes long; at most %d are expected", len(v), limit)
	}
	if !utf8.ValidString(v) {
		return "", klaxon.FieldError(name, "is not valid UTF-8")
	}
	return v, nil
}

// sidParam returns the SID in name: one of prefixes and 32 hex digits.
func sidParam(form url.Values, name string, prefixes ...string) (string, error) {
	v, err := param(form, name, true, 34)
	if err != nil {
		return "", err
	}
	for _, p := range prefixes {
		if strings.HasPrefix(v, p) && validResourceSID(v) {
			return v, nil
		}
	}
	return "", klaxon.FieldError(name, "must be %s followed by 32 hex digits, not %q",
		strings.Join(prefixes, " or "), klaxon.Truncate(v, 40))
}
