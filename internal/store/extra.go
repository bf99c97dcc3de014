package store

import (
	"cmp"
	"encoding/json"
	"fmt"

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

// encode is the column's text: "" for an empty extra, its JSON otherwise.
func (x *eventExtra) encode() (string, error) {
	if len(x.Details) == 0 && len(x.Links) == 0 && len(x.Images) == 0 &&
		x.Severity == "" && x.Summary == "" && x.Source == "" && x.Component == "" && x.Group == "" && x.Class == "" {
		return "", nil
	}
	b, err := json.Marshal(x)
	if err != nil {
		return "", fmt.Errorf("store: encode event details: %w", err)
	}
	return string(b), nil
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
