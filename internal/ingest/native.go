package ingest

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// nativeEvent is one event in Klaxon's native JSON format, as sent. Meaning
// is given in toEvent and checked by klaxon's Validate.
type nativeEvent struct {
	Action    string          `json:"action"`
	DedupKey  string          `json:"dedup_key"`
	Summary   string          `json:"summary"`
	Severity  string          `json:"severity"`
	Source    string          `json:"source"`
	Component string          `json:"component"`
	Group     string          `json:"group"`
	Class     string          `json:"class"`
	Details   json.RawMessage `json:"details"`
	Links     []wireLink      `json:"links"`
	Images    []wireImage     `json:"images"`
	Timestamp string          `json:"timestamp"`
}

// wireLink and wireImage are the link and image objects shared by the native
// and PagerDuty formats. They convert to klaxon.Link and klaxon.Image.
type wireLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

type wireImage struct {
	Src  string `json:"src"`
	Href string `json:"href"`
	Alt  string `json:"alt"`
}

// nativeShape lists the native fields and their JSON types. The native format
// is Klaxon's own, so it is strict: a field it does not list is a mistake
// worth reporting (a misspelt "severty" would otherwise vanish).
var nativeShape = &shape{kind: kindObject, fields: []field{
	{"action", textShape},
	{"dedup_key", textShape},
	{"summary", textShape},
	{"severity", textShape},
	{"source", textShape},
	{"component", textShape},
	{"group", textShape},
	{"class", textShape},
	{"details", openObjectShape},
	{"links", linksShape},
	{"images", imagesShape},
	{"timestamp", textShape},
}}

// DecodeNative decodes one event in Klaxon's native JSON format: one JSON
// object with the fields action, dedup_key, summary, severity, source,
// component, group, class, details, links, images and timestamp.
//
// It is the whole check of a native event, so that the API can answer 400
// naming the field before anything is stored: every error is a *klaxon.Error
// of code EINVALID (ETOOLARGE for a body over klaxon.MaxEventBytes) whose
// Field is the sender's JSON path ("severity", "links[2].href", "timestamp",
// or "body" when the body as a whole is wrong). A trigger without a dedup_key
// is valid and keeps DedupKey empty: the caller generates the key, since this
// package neither generates IDs nor reads the clock.
func DecodeNative(body []byte) (klaxon.Event, error) {
	if len(body) > klaxon.MaxEventBytes {
		return klaxon.Event{}, tooLarge("body", len(body), klaxon.MaxEventBytes)
	}
	if ev, ok := fastNative(body); ok {
		return ev, nil
	}
	return decodeNative(body)
}

// DecodeNativeBatch decodes a JSON array of native events, so that a sender
// can deliver up to klaxon.MaxBatchEvents events in one request.
//
// A body that is not a JSON array, an empty array, more than
// klaxon.MaxBatchEvents elements or more than klaxon.MaxBatchBytes bytes fail
// the whole batch (err != nil, Field "body"). Otherwise each element stands
// alone, so that one bad event does not cost the sender the good ones:
// events[i] is valid when errs[i] is nil, and errs[i] is a *klaxon.Error
// whose Field starts with the element's index ("[3].severity", or "[3]" for
// the element as a whole). An element larger than klaxon.MaxEventBytes gets
// code ETOOLARGE.
func DecodeNativeBatch(body []byte) (events []klaxon.Event, errs []error, err error) {
	if len(body) > klaxon.MaxBatchBytes {
		return nil, nil, tooLarge("body", len(body), klaxon.MaxBatchBytes)
	}
	if events, ok := fastNativeBatch(body); ok {
		return events, make([]error, len(events)), nil
	}
	return decodeNativeBatchFull(body)
}

// decodeNativeBatchFull is DecodeNativeBatch without the fast path.
func decodeNativeBatchFull(body []byte) (events []klaxon.Event, errs []error, err error) {
	if !json.Valid(body) {
		var v struct{}
		return nil, nil, bodyError(body, json.Unmarshal(body, &v), "a JSON array of events")
	}
	start := skipSpace(body, 0)
	if c := firstByte(body); c != '[' {
		return nil, nil, klaxon.FieldError("body", "must be a JSON array of events, not %s", jsonKind(c))
	}
	// One walk finds every element; only the count is needed before any
	// element is decoded.
	// Spans are kept only up to the limit, so that 8 MiB of "[1,1,1,…" costs
	// no more memory than a full batch.
	var spans [][2]int
	n := 0
	it := newArrayIter(body, start)
	for from, to, ok := it.next(); ok; from, to, ok = it.next() {
		if n++; n <= klaxon.MaxBatchEvents {
			spans = append(spans, [2]int{from, to})
		}
	}
	switch {
	case n == 0:
		return nil, nil, klaxon.FieldError("body", "must hold at least one event")
	case n > klaxon.MaxBatchEvents:
		return nil, nil, klaxon.FieldError("body", "holds %d events; at most %d are allowed", n, klaxon.MaxBatchEvents)
	}
	events, errs = make([]klaxon.Event, n), make([]error, n)
	for i, span := range spans {
		from, to := span[0], span[1]
		if to-from > klaxon.MaxEventBytes {
			errs[i] = tooLarge(elementField(i, ""), to-from, klaxon.MaxEventBytes)
			continue
		}
		ev, err := decodeNative(body[from:to])
		if err != nil {
			errs[i] = inElement(i, err)
			continue
		}
		events[i] = ev
	}
	return events, errs, nil
}

// decodeNative decodes and checks one native event. Checks run from the
// coarsest to the finest, so that the error names the real mistake: not
// JSON, not an object, unknown or wrong-typed fields, bytes that are not
// UTF-8, then the meaning of the values.
func decodeNative(body []byte) (klaxon.Event, error) {
	var w nativeEvent
	err := json.Unmarshal(body, &w)
	typeErr := asTypeError(err)
	if err != nil && typeErr == nil {
		return klaxon.Event{}, bodyError(body, err, "one JSON object")
	}
	if c := firstByte(body); c != '{' {
		return klaxon.Event{}, klaxon.FieldError("body", "must be a JSON object, not %s", jsonKind(c))
	}
	if p := checkShape(body, nativeShape, true, 1); len(p) > 0 {
		return klaxon.Event{}, nativeShapeError(p[0])
	}
	if typeErr != nil {
		return klaxon.Event{}, typeError(body, typeErr)
	}
	if !utf8.Valid(body) {
		return klaxon.Event{}, invalidUTF8Error(body, invalidUTF8At(body))
	}
	ev, err := w.toEvent()
	if err != nil {
		return klaxon.Event{}, err
	}
	// Text fields are checked for NUL by Validate; details is raw JSON, where
	// a NUL can only hide as an escape.
	if hasNULEscape(ev.Details) {
		return klaxon.Event{}, klaxon.FieldError("details", "must not contain NUL characters (\\u0000)")
	}
	if err := ev.Validate(klaxon.NativeFieldNames); err != nil {
		return klaxon.Event{}, err
	}
	return ev, nil
}

// toEvent gives the wire values their meaning. The shape check has already
// made sure that details, if present, is an object.
func (w *nativeEvent) toEvent() (klaxon.Event, error) {
	ev := klaxon.Event{
		Action:    klaxon.Action(w.Action),
		DedupKey:  w.DedupKey,
		Summary:   w.Summary,
		Severity:  klaxon.Severity(w.Severity),
		Source:    w.Source,
		Component: w.Component,
		Group:     w.Group,
		Class:     w.Class,
	}
	if len(w.Details) > 0 && string(w.Details) != "null" {
		ev.Details = w.Details
	}
	if len(w.Links) > 0 {
		ev.Links = make([]klaxon.Link, len(w.Links))
		for i, l := range w.Links {
			ev.Links[i] = klaxon.Link(l)
		}
	}
	if len(w.Images) > 0 {
		ev.Images = make([]klaxon.Image, len(w.Images))
		for i, im := range w.Images {
			ev.Images[i] = klaxon.Image(im)
		}
	}
	if w.Timestamp != "" { // "" is "not given", as null is: the caller stamps the time of receipt
		t, err := time.Parse(time.RFC3339Nano, w.Timestamp)
		if err != nil {
			return klaxon.Event{}, klaxon.FieldError("timestamp",
				"must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\", not %q", clip(w.Timestamp, maxNameInError))
		}
		ev.Timestamp = t.UTC()
	}
	return ev, nil
}

// nativeShapeError turns the first shape problem into the native error.
func nativeShapeError(p shapeProblem) *klaxon.Error {
	switch p.what {
	case unknownField:
		return klaxon.FieldError(p.path, "is not a known field")
	case duplicateField:
		return klaxon.FieldError(p.path, "is given more than once")
	}
	return klaxon.FieldError(p.path, "must be %s, not %s", p.want.want(), p.got)
}

// invalidUTF8Error names the field holding the invalid byte at off.
func invalidUTF8Error(body []byte, off int) *klaxon.Error {
	field := pathAt(body, off)
	if field == "" {
		field = "body"
	}
	return klaxon.FieldError(field, "is not valid UTF-8 (at byte %d)", off)
}

// tooLarge is the error for a body or batch element over its size limit.
func tooLarge(field string, n, limit int) *klaxon.Error {
	return &klaxon.Error{
		Code:    klaxon.ETOOLARGE,
		Field:   field,
		Message: "is " + strconv.Itoa(n) + " bytes; at most " + strconv.Itoa(limit) + " are allowed",
	}
}

// elementField prefixes a field with its batch element's index: "[3].severity".
// The body of one element is the element itself: "[3]".
func elementField(i int, field string) string {
	prefix := "[" + strconv.Itoa(i) + "]"
	if field == "" || field == "body" {
		return prefix
	}
	return prefix + "." + field
}

// inElement re-addresses an element's error to the batch.
func inElement(i int, err error) error {
	e, ok := klaxon.AsError(err)
	if !ok {
		return err
	}
	out := *e
	out.Field = elementField(i, e.Field)
	return &out
}
