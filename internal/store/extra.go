package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// eventExtra is the part of an event that no query filters or sorts on,
// kept as one JSON column: details, links and images. The caller's
// goroutine encodes it, off the one committer.
//
// Severity, summary, source, component, group and class are read from
// here too when their columns are empty: a later release will move them
// here, since binding them as six text columns costs the committer a
// microsecond of its 3.6 µs per event (measured: batch 159–166k →
// 177–186k events/s). This release only reads that layout, so that the
// previous release can be run again on what it writes (docs/operations.md,
// "Upgrades": nothing the previous release reads changes meaning); the
// release after it can then write it. Change events keep only details and
// links here.
type eventExtra struct {
	Severity  string          `json:"severity,omitempty"`
	Summary   string          `json:"summary,omitempty"`
	Source    string          `json:"source,omitempty"`
	Component string          `json:"component,omitempty"`
	Group     string          `json:"group,omitempty"`
	Class     string          `json:"class,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
	Links     []klaxon.Link   `json:"links,omitempty"`
	Images    []klaxon.Image  `json:"images,omitempty"`
}

// extraOf is what this release stores of ev in extra.
func extraOf(ev *klaxon.Event) *eventExtra {
	return &eventExtra{Details: ev.Details, Links: ev.Links, Images: ev.Images}
}

// encode writes JSON that decodes to what json.Marshal's would (strings
// escaped as it does, invalid UTF-8 as U+FFFD, details validated and
// compacted), without reflection: it runs once per event on the ingest
// path. An empty extra is "".
func (x *eventExtra) encode() (string, error) {
	b := make([]byte, 0, 64+len(x.Summary)+len(x.Details))
	b = append(b, '{')
	str := func(name, v string) {
		if v == "" {
			return
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = appendJSONString(b, v)
	}
	str("severity", x.Severity)
	str("summary", x.Summary)
	str("source", x.Source)
	str("component", x.Component)
	str("group", x.Group)
	str("class", x.Class)
	raw := func(name string, v []byte) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = append(b, v...)
	}
	if len(x.Details) > 0 {
		var compact bytes.Buffer
		if err := json.Compact(&compact, x.Details); err != nil {
			return "", fmt.Errorf("store: encode event details: %w", err)
		}
		raw("details", compact.Bytes())
	}
	for _, part := range []struct {
		name string
		v    any
		n    int
	}{{"links", x.Links, len(x.Links)}, {"images", x.Images, len(x.Images)}} {
		if part.n == 0 {
			continue
		}
		v, err := json.Marshal(part.v)
		if err != nil {
			return "", fmt.Errorf("store: encode event %s: %w", part.name, err)
		}
		raw(part.name, v)
	}
	if len(b) == 1 {
		return "", nil
	}
	return string(append(b, '}')), nil
}

func decodeExtra(s string) (eventExtra, error) {
	var x eventExtra
	if s == "" {
		return x, nil
	}
	err := json.Unmarshal([]byte(s), &x)
	return x, err
}

// readEvent completes an event read from its row: the fields in extra, and
// severity … class from their columns or, when those are empty, from extra
// (the layout of a later release).
func readEvent(ev *klaxon.Event, severity, extra string) error {
	x, err := decodeExtra(extra)
	if err != nil {
		return fmt.Errorf("store: event %d details: %w", ev.ID, err)
	}
	ev.Severity = klaxon.Severity(cmp.Or(severity, x.Severity))
	ev.Summary = cmp.Or(ev.Summary, x.Summary)
	ev.Source = cmp.Or(ev.Source, x.Source)
	ev.Component = cmp.Or(ev.Component, x.Component)
	ev.Group = cmp.Or(ev.Group, x.Group)
	ev.Class = cmp.Or(ev.Class, x.Class)
	ev.Details, ev.Links, ev.Images = x.Details, x.Links, x.Images
	return nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping as encoding/json
// does (including <, > and &, and U+2028/U+2029), so that the stored text is
// what json.Marshal wrote before.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
