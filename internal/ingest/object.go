package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// DecodeObject decodes one JSON object into the struct v as strictly as the
// native event format: every top-level key must be one of v's JSON field
// names, spelled exactly and given once (encoding/json alone would take
// "NAME" for "name" and let a repeated key silently win), nothing may follow
// the object, and every error is an EINVALID naming the field. The
// management API decodes its request bodies with it, so that a misspelt
// setting is refused instead of lost.
func DecodeObject(body []byte, v any) error {
	switch c := firstByte(body); c {
	case 0:
		return klaxon.FieldError("body", "is empty; send a JSON object")
	case '{':
	default:
		if json.Valid(body) {
			return klaxon.FieldError("body", "must be a JSON object, not %s", jsonKind(c))
		}
	}
	if err := checkKeys(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if te := asTypeError(err); te != nil {
			return typeError(body, te)
		}
		return bodyError(body, err, "a JSON object")
	}
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return klaxon.FieldError("body", "has data after the JSON object")
	}
	return nil
}

// checkKeys refuses top-level keys that are not v's field names exactly, and
// keys given twice. A body that is not a well-formed object is left to
// Decode, which says precisely what is wrong with it.
func checkKeys(body []byte, v any) error {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	known := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			known[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		if !known[key] {
			return klaxon.FieldError(string(appendKey(nil, key)), "is not a known field")
		}
		if seen[key] {
			return klaxon.FieldError(string(appendKey(nil, key)), "appears more than once")
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}
