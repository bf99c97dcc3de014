package ingest

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// Translation of encoding/json's errors into errors a sender can act on:
// the field is the sender's JSON path, the message says what was expected
// and what came, and nothing mentions Go types.

// maxNameInError bounds how much of a sender's field name or value an error
// repeats, so that a 100 KB key does not make a 100 KB error.
const maxNameInError = 64

// clip shortens s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i, runes := 0, 0
	for i < len(s) && runes < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		runes++
	}
	if i >= len(s) {
		return s
	}
	return s[:i] + "…"
}

// jsonKind names the JSON type of the value whose first byte is c.
func jsonKind(c byte) string {
	switch c {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case 0:
		return "nothing"
	}
	return "number"
}

// bodyError explains why body is not the JSON value expected; want says what
// was expected ("one JSON object").
func bodyError(body []byte, err error, want string) *klaxon.Error {
	if firstByte(body) == 0 {
		return klaxon.FieldError("body", "is empty; send %s", want)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return klaxon.FieldError("body", "is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	return klaxon.FieldError("body", "is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// asTypeError returns err as a wrong-type error from encoding/json, or nil.
// It is a function of its own so that the happy path, where err is nil, does
// not pay for the heap variable errors.As needs.
func asTypeError(err error) *json.UnmarshalTypeError {
	if err == nil {
		return nil
	}
	var e *json.UnmarshalTypeError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// typeError translates a wrong-typed value reported by encoding/json. The
// shape checks normally find these first, with the same result; this is the
// fallback for what they do not cover (a key encoding/json matched without
// regard to case).
func typeError(body []byte, e *json.UnmarshalTypeError) *klaxon.Error {
	// encoding/json's Field path has no array indexes; its Offset points
	// just inside or just past the bad value, so the path of the byte
	// before it is the value's own.
	field := pathAt(body, int(e.Offset)-1)
	if field == "" {
		field = e.Field
	}
	if field == "" {
		field = "body"
	}
	got, _, _ := strings.Cut(e.Value, " ") // "number 1e999" -> "number"
	return klaxon.FieldError(field, "must be %s, not %s", goTypeWant(e.Type), got)
}

// goTypeWant names the JSON type a Go type decodes from.
func goTypeWant(t reflect.Type) string {
	if t == nil {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a JSON value"
}

// invalidUTF8At returns the offset of the first byte of b that is not part
// of valid UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
