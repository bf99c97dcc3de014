package klaxon

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Action is what an event asks of the alert its dedup key names.
type Action string

// The actions an event can carry.
const (
	ActionTrigger     Action = "trigger"
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
)

// Severity is how bad the sender says things are. It decides the default
// urgency of the alert.
type Severity string

// The severities, worst first.
const (
	SeverityCritical Severity = "critical"
	SeverityError    Severity = "error"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Limits on event fields. They follow PagerDuty's documented limits, so a
// payload PagerDuty accepts is accepted here too.
const (
	MaxSummaryLength  = 1024
	MaxDedupKeyLength = 255
	MaxFieldLength    = 1024 // source, component, group, class
	MaxLinks          = 50
	MaxEventBytes     = 512 << 10 // one event, as sent
	MaxBatchBytes     = 8 << 20   // one batch request body
	MaxBatchEvents    = 1000
)

// Link is a URL attached to an event, shown with the alert.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Image is an image attached to an event (PagerDuty's "images").
type Image struct {
	Src  string `json:"src"`
	Href string `json:"href,omitempty"`
	Alt  string `json:"alt,omitempty"`
}

// Event is one thing a sender said about a service. Events are immutable once
// stored: they are the audit trail behind every alert.
type Event struct {
	ID            int64
	ServiceID     int64
	IntegrationID int64
	AlertID       int64 // the alert the event folded into; 0 when it matched none
	Action        Action
	DedupKey      string
	Summary       string
	Severity      Severity
	Source        string
	Component     string
	Group         string
	Class         string
	Details       json.RawMessage // a JSON value, or nil
	Links         []Link
	Images        []Image
	Timestamp     time.Time // when the sender says it happened; zero when not given
	ReceivedAt    time.Time // when Klaxon accepted it
}

// Validate checks an event as a decoder produced it. It names the first bad
// field with the sender's field name as given by names (which lets the
// PagerDuty decoder say "payload.summary" where the native one says
// "summary").
func (e *Event) Validate(names FieldNames) error {
	switch e.Action {
	case ActionTrigger, ActionAcknowledge, ActionResolve:
	case "":
		return FieldError(names.Action, "is required (trigger, acknowledge or resolve)")
	default:
		return FieldError(names.Action, "must be trigger, acknowledge or resolve, not %q", Truncate(string(e.Action), 40))
	}
	if err := checkText(names.DedupKey, e.DedupKey, MaxDedupKeyLength); err != nil {
		return err
	}
	if e.Action != ActionTrigger && e.DedupKey == "" {
		return FieldError(names.DedupKey, "is required to %s an alert", e.Action)
	}
	if e.Action == ActionTrigger {
		if strings.TrimSpace(e.Summary) == "" {
			return FieldError(names.Summary, "is required for a trigger")
		}
		switch e.Severity {
		case SeverityCritical, SeverityError, SeverityWarning, SeverityInfo:
		case "":
			return FieldError(names.Severity, "is required for a trigger (critical, error, warning or info)")
		default:
			return FieldError(names.Severity, "must be critical, error, warning or info, not %q", Truncate(string(e.Severity), 40))
		}
	} else if e.Severity != "" && !e.Severity.Valid() {
		return FieldError(names.Severity, "must be critical, error, warning or info, not %q", Truncate(string(e.Severity), 40))
	}
	if err := checkText(names.Summary, e.Summary, MaxSummaryLength); err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{
		{names.Source, e.Source}, {names.Component, e.Component},
		{names.Group, e.Group}, {names.Class, e.Class},
	} {
		if err := checkText(f.name, f.value, MaxFieldLength); err != nil {
			return err
		}
	}
	if len(e.Links) > MaxLinks {
		return FieldError(names.Links, "has %d entries; at most %d are allowed", len(e.Links), MaxLinks)
	}
	for i, l := range e.Links {
		at := names.Links + "[" + itoa(i) + "]."
		if strings.TrimSpace(l.Href) == "" {
			return FieldError(at+"href", "is required")
		}
		if err := checkParts(at, "href", l.Href, "text", l.Text); err != nil {
			return err
		}
	}
	if len(e.Images) > MaxLinks {
		return FieldError(names.Images, "has %d entries; at most %d are allowed", len(e.Images), MaxLinks)
	}
	for i, im := range e.Images {
		at := names.Images + "[" + itoa(i) + "]."
		if strings.TrimSpace(im.Src) == "" {
			return FieldError(at+"src", "is required")
		}
		if err := checkParts(at, "src", im.Src, "href", im.Href, "alt", im.Alt); err != nil {
			return err
		}
	}
	return nil
}

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool {
	switch s {
	case SeverityCritical, SeverityError, SeverityWarning, SeverityInfo:
		return true
	}
	return false
}

// Rank orders severities: critical is 4, info is 1, unknown is 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// FieldNames are the names a wire format uses for the event fields, so that
// validation errors speak the sender's language.
type FieldNames struct {
	Action, DedupKey, Summary, Severity, Source, Component, Group, Class, Links, Images string
}

// NativeFieldNames are the field names of Klaxon's own event API.
var NativeFieldNames = FieldNames{
	Action: "action", DedupKey: "dedup_key", Summary: "summary", Severity: "severity",
	Source: "source", Component: "component", Group: "group", Class: "class",
	Links: "links", Images: "images",
}

func checkText(field, value string, max int) error {
	if !utf8.ValidString(value) {
		return FieldError(field, "is not valid UTF-8")
	}
	if strings.IndexByte(value, 0) >= 0 {
		return FieldError(field, "must not contain NUL characters")
	}
	if n := utf8.RuneCountInString(value); n > max {
		return FieldError(field, "is %d characters long; at most %d are allowed", n, max)
	}
	return nil
}

// checkParts checks the text parts of a link or image (name, value pairs
// under the prefix at): valid UTF-8 and no NUL. Their length is bounded by
// the event's size limit.
func checkParts(at string, parts ...string) error {
	for i := 0; i+1 < len(parts); i += 2 {
		if err := checkText(at+parts[i], parts[i+1], MaxEventBytes); err != nil {
			return err
		}
	}
	return nil
}

// Truncate shortens text quoted back in an error message to about n bytes,
// cutting between characters, so that an error never echoes a whole
// oversized value.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// ChangeEvent is a PagerDuty-style change event: a deploy, a config push. It
// is stored and listed for context; it never creates an alert or notifies.
type ChangeEvent struct {
	ID            int64
	ServiceID     int64
	IntegrationID int64
	Summary       string
	Source        string
	Details       json.RawMessage
	Links         []Link
	Timestamp     time.Time
	ReceivedAt    time.Time
}
