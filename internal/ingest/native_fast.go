package ingest

import (
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// The fast path for native events.
//
// decodeNative checks an event in several passes (encoding/json's validity
// scan and decoding, the shape check, UTF-8) so that a bad event's error
// names the real mistake. Those passes cost about 8 µs for a 400-byte
// event, more than storing it. Almost every event is plain: known fields in
// their types, strings without escapes, valid UTF-8. parseNativeAt reads
// such an event in one pass, validating the JSON as it goes, and gives up
// (ok false) at the first thing it does not handle: an escape in a text
// field or key, null, an unknown or repeated key, anything malformed. Giving up is never an error: the caller then runs the full
// decoder on the same bytes, which either accepts the event or says what is
// wrong. What the fast path accepts it must read exactly as the full
// decoder would; FuzzNativeFastPath holds it to that.

// fastMaxDepth bounds the nesting the fast path follows inside details;
// deeper values go to the full decoder.
const fastMaxDepth = 64

// parseNativeAt reads the native event object that starts at or after
// b[i] (after spaces) into w, and returns the index just past it.
func parseNativeAt(b []byte, i int, w *nativeEvent) (end int, ok bool) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	var seen uint16
	for {
		var key []byte
		var ok bool
		if key, i, ok = plainKey(b, i); !ok {
			return 0, false
		}
		f, known := nativeFieldIndex[string(key)]
		if !known || seen&(1<<f) != 0 {
			return 0, false
		}
		seen |= 1 << f
		name := nativeShape.fields[f].name
		if name == "links" || name == "images" {
			end, ok := parseLinksAt(b, i, w, name == "images")
			if !ok {
				return 0, false
			}
			i = end
		} else if name == "details" {
			if i >= len(b) || b[i] != '{' {
				return 0, false
			}
			end, ok := validValueEnd(b, i, 0)
			if !ok {
				return 0, false
			}
			w.Details = append([]byte(nil), b[i:end]...)
			i = end
		} else {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			end, ok := plainStringEnd(b, i)
			if !ok {
				return 0, false
			}
			*w.text(name) = string(b[i+1 : end-1])
			i = end
		}
		next, done, ok := nextMember(b, i, '}')
		if !ok || done {
			return next, ok
		}
		i = next
	}
}

// plainKey reads the object key at b[i] (a plain string) and the colon
// after it, and returns the key and the index of the value.
func plainKey(b []byte, i int) (key []byte, value int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	end, ok := plainStringEnd(b, i)
	if !ok {
		return nil, 0, false
	}
	key = b[i+1 : end-1]
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, 0, false
	}
	return key, skipSpace(b, i+1), true
}

// nextMember moves past the spaces after a member or element ending at
// b[i]: to the next one after a comma (done false), or past closer (done
// true).
func nextMember(b []byte, i int, closer byte) (next int, done, ok bool) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, false, false
	}
	switch b[i] {
	case ',':
		return skipSpace(b, i+1), false, true
	case closer:
		return i + 1, true, true
	}
	return 0, false, false
}

// nativeFieldIndex gives each native field's index in nativeShape, which
// is also its bit in parseNativeAt's record of the fields seen.
var nativeFieldIndex = func() map[string]int {
	m := make(map[string]int, len(nativeShape.fields))
	for i, f := range nativeShape.fields {
		m[f.name] = i
	}
	return m
}()

// parseLinksAt reads the array of links (or images) at b[i]: objects whose
// members are all plain strings of the link's (or image's) fields.
func parseLinksAt(b []byte, i int, w *nativeEvent, images bool) (int, bool) {
	if i >= len(b) || b[i] != '[' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '{' {
			return 0, false
		}
		i = skipSpace(b, i+1)
		var link wireLink
		var image wireImage
		var seen uint8
		closed := i < len(b) && b[i] == '}'
		if closed {
			i++
		}
		for !closed {
			key, value, ok := plainKey(b, i)
			if !ok {
				return 0, false
			}
			i = value
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			end, ok := plainStringEnd(b, i)
			if !ok {
				return 0, false
			}
			text := string(b[i+1 : end-1])
			var bit uint8
			switch k := string(key); {
			case images && k == "src":
				image.Src, bit = text, 1
			case images && k == "href":
				image.Href, bit = text, 2
			case images && k == "alt":
				image.Alt, bit = text, 4
			case !images && k == "href":
				link.Href, bit = text, 1
			case !images && k == "text":
				link.Text, bit = text, 2
			}
			if bit == 0 || seen&bit != 0 {
				return 0, false
			}
			seen |= bit
			if i, closed, ok = nextMember(b, end, '}'); !ok {
				return 0, false
			}
		}
		if images {
			w.Images = append(w.Images, image)
		} else {
			w.Links = append(w.Links, link)
		}
		next, done, ok := nextMember(b, i, ']')
		if !ok || done {
			return next, ok
		}
		i = next
	}
}

// text is where the fast path puts the text field called name.
func (w *nativeEvent) text(name string) *string {
	switch name {
	case "action":
		return &w.Action
	case "dedup_key":
		return &w.DedupKey
	case "summary":
		return &w.Summary
	case "severity":
		return &w.Severity
	case "source":
		return &w.Source
	case "component":
		return &w.Component
	case "group":
		return &w.Group
	case "class":
		return &w.Class
	}
	return &w.Timestamp
}

// plainStringEnd returns the index just past the string at b[i] (a quote)
// when it has no escapes, no control characters and is valid UTF-8: then
// its bytes between the quotes are its value.
func plainStringEnd(b []byte, i int) (int, bool) {
	ascii := true
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[i+1:j]) {
				return 0, false
			}
			return j + 1, true
		case c == '\\' || c < 0x20:
			return 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, false
}

// validValueEnd returns the index just past the JSON value at b[i], which
// it checks against the JSON grammar (and UTF-8) on the way.
func validValueEnd(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return validStringEnd(b, i)
	case c == '{' || c == '[':
		if depth >= fastMaxDepth {
			return 0, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				end, ok := validStringEnd(b, i)
				if !ok {
					return 0, false
				}
				i = skipSpace(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipSpace(b, i+1)
			}
			end, ok := validValueEnd(b, i, depth+1)
			if !ok {
				return 0, false
			}
			next, done, ok := nextMember(b, end, closer)
			if !ok || done {
				return next, ok
			}
			i = next
		}
	case c == 't':
		return literalEnd(b, i, "true")
	case c == 'f':
		return literalEnd(b, i, "false")
	case c == 'n':
		return literalEnd(b, i, "null")
	default:
		return numberEnd(b, i)
	}
}

func literalEnd(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// numberEnd checks a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	return i, true
}

// validStringEnd returns the index just past the string at b[i] (a quote),
// checking its escapes, control characters and UTF-8.
func validStringEnd(b []byte, i int) (int, bool) {
	ascii := true
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[i+1:j]) {
				return 0, false
			}
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '\\':
			if j+1 >= len(b) {
				return 0, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+6 > len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return 0, false
				}
				j += 5
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// fastNative decodes a plain native event in one pass, with the same
// checks of meaning as decodeNative; ok false sends the caller to
// decodeNative (also for an event that is wrong in meaning, so that its
// error is the full decoder's).
func fastNative(body []byte) (klaxon.Event, bool) {
	var w nativeEvent
	end, ok := parseNativeAt(body, 0, &w)
	if !ok || skipSpace(body, end) != len(body) {
		return klaxon.Event{}, false
	}
	return w.checked()
}

// checked gives a fast-parsed event its meaning, as decodeNative does
// after its passes; ok false on any error.
func (w *nativeEvent) checked() (klaxon.Event, bool) {
	ev, err := w.toEvent()
	if err != nil || hasNULEscape(ev.Details) || ev.Validate(klaxon.NativeFieldNames) != nil {
		return klaxon.Event{}, false
	}
	return ev, true
}

// fastNativeBatch decodes a batch whose every element is a plain, valid
// native event, in one pass; ok false sends the caller to the full batch
// decoder, which reports each element's problem.
func fastNativeBatch(body []byte) ([]klaxon.Event, bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '[' {
		return nil, false
	}
	i = skipSpace(body, i+1)
	var events []klaxon.Event
	for {
		if len(events) == klaxon.MaxBatchEvents {
			return nil, false
		}
		start := i
		var w nativeEvent
		end, ok := parseNativeAt(body, i, &w)
		if !ok || end-start > klaxon.MaxEventBytes {
			return nil, false
		}
		ev, ok := w.checked()
		if !ok {
			return nil, false
		}
		events = append(events, ev)
		next, done, ok := nextMember(body, end, ']')
		switch {
		case !ok:
			return nil, false
		case done:
			return events, skipSpace(body, next) == len(body)
		}
		i = next
	}
}
