package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// DecodeObject decodes one JSON object into the struct v as strictly as the
// native event format: every key must be one of the JSON field names of the
// struct that holds it (v, or a struct nested in v), spelled exactly and
// given once (encoding/json alone would take "NAME" for "name" and let a
// repeated key silently win), nothing may follow the object, and every error
// is an EINVALID naming the field. The management API decodes its request
// bodies with it, so that a misspelt setting is refused instead of lost.
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

// checkKeys refuses keys that are not v's field names exactly, and keys
// given twice, in the top-level object and in every object nested where v
// has a struct (a layer in a schedule, a target in a step): encoding/json
// would take "Users" for "users" there too, and its unknown-field error
// names no path. A body that is not a well-formed object is left to Decode,
// which says precisely what is wrong with it.
func checkKeys(body []byte, v any) error {
	return checkValueKeys(body, reflect.TypeOf(v), "")
}

// checkValueKeys checks the keys of the JSON value b, which a Go value of
// type t will hold; path names b in errors. It descends only where t does,
// so a body nested deeper than its type is not looked into (and no request
// type is recursive).
func checkValueKeys(b []byte, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !hasKeys(t) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		if tok != json.Delim('[') {
			return nil
		}
		for i := 0; dec.More(); i++ {
			var elem json.RawMessage
			if err := dec.Decode(&elem); err != nil {
				return nil
			}
			if err := checkValueKeys(elem, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	}
	if tok != json.Delim('{') {
		return nil
	}
	known := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			known[name] = t.Field(i).Type
		}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		at := string(appendKey([]byte(path), key))
		ft, ok := known[key]
		if !ok {
			return klaxon.FieldError(at, "is not a known field")
		}
		if seen[key] {
			return klaxon.FieldError(at, "appears more than once")
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
		if err := checkValueKeys(value, ft, at); err != nil {
			return err
		}
	}
	return nil
}

// hasKeys reports whether a value of type t can hold object keys that
// checkValueKeys checks: a struct, or a slice or array that holds them. A
// type that decodes itself (time.Time, json.RawMessage) is left to itself.
func hasKeys(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Slice, reflect.Array:
		return hasKeys(t.Elem())
	}
	return false
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
