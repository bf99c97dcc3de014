package ingest

import (
	"encoding/json"
	"strconv"
)

// Raw JSON navigation. encoding/json tells whether a body is valid and fills
// the wire structs; it does not tell where things are. The functions here walk
// bytes that encoding/json has already accepted to answer "which keys does
// this object hold", "where does array element i start" and "which field holds
// byte n", without allocating on the way. On malformed input they stop and
// report failure rather than panic, and the fuzz targets hold them to that.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isDelimiter reports whether c ends a number or a literal.
func isDelimiter(c byte) bool {
	switch c {
	case ',', ':', '{', '}', '[', ']', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// firstByte returns the first non-space byte of b, or 0 when there is none.
func firstByte(b []byte) byte {
	if i := skipSpace(b, 0); i < len(b) {
		return b[i]
	}
	return 0
}

// stringEnd returns the index just past the string that starts at b[i] (a
// quote), and whether the string holds escapes. It returns -1 when the string
// is not terminated.
func stringEnd(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// valueEnd returns the index just past the JSON value that starts at b[i], or
// -1 when there is no well-formed value there.
func valueEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	case '}', ']', ',', ':':
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && !isDelimiter(b[j]) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// member is one key and value of a JSON object, as offsets into the body.
type member struct {
	key        []byte // the key's bytes between the quotes, still escaped
	escaped    bool   // the key holds escapes; use keyString to read it
	keyStart   int    // offset of the key's opening quote
	valueStart int
	valueEnd   int
}

// keyString returns the member's key with escapes resolved. Only keys with
// escapes allocate.
func (m member) keyString(b []byte) string {
	if !m.escaped {
		return string(m.key)
	}
	var s string
	if err := json.Unmarshal(b[m.keyStart:m.keyStart+len(m.key)+2], &s); err != nil {
		return string(m.key)
	}
	return s
}

// objectIter walks the members of the object that starts at b[start].
type objectIter struct {
	b      []byte
	i      int
	n      int  // members returned so far
	failed bool // the object was malformed; iteration stopped early
}

func newObjectIter(b []byte, start int) objectIter {
	if start < 0 || start >= len(b) || b[start] != '{' {
		return objectIter{b: b, i: -1, failed: true}
	}
	return objectIter{b: b, i: start + 1}
}

// next returns the next member; ok is false at the end of the object or when
// it is malformed.
func (it *objectIter) next() (m member, ok bool) {
	if it.i < 0 {
		return member{}, false
	}
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == '}' {
		it.i = -1
		return member{}, false
	}
	if it.n > 0 {
		if i >= len(b) || b[i] != ',' {
			return it.fail()
		}
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return it.fail()
	}
	keyEnd, escaped := stringEnd(b, i)
	if keyEnd < 0 {
		return it.fail()
	}
	m = member{key: b[i+1 : keyEnd-1], escaped: escaped, keyStart: i}
	i = skipSpace(b, keyEnd)
	if i >= len(b) || b[i] != ':' {
		return it.fail()
	}
	m.valueStart = skipSpace(b, i+1)
	m.valueEnd = valueEnd(b, m.valueStart)
	if m.valueEnd < 0 {
		return it.fail()
	}
	it.i = m.valueEnd
	it.n++
	return m, true
}

func (it *objectIter) fail() (member, bool) {
	it.i = -1
	it.failed = true
	return member{}, false
}

// arrayIter walks the elements of the array that starts at b[start].
type arrayIter struct {
	b      []byte
	i      int
	n      int  // elements returned so far
	failed bool // the array was malformed; iteration stopped early
}

func newArrayIter(b []byte, start int) arrayIter {
	if start < 0 || start >= len(b) || b[start] != '[' {
		return arrayIter{b: b, i: -1, failed: true}
	}
	return arrayIter{b: b, i: start + 1}
}

// next returns the offsets of the next element; ok is false at the end of the
// array or when it is malformed.
func (it *arrayIter) next() (start, end int, ok bool) {
	if it.i < 0 {
		return 0, 0, false
	}
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ']' {
		it.i = -1
		return 0, 0, false
	}
	if it.n > 0 {
		if i >= len(b) || b[i] != ',' {
			it.i, it.failed = -1, true
			return 0, 0, false
		}
		i = skipSpace(b, i+1)
	}
	end = valueEnd(b, i)
	if end < 0 {
		it.i, it.failed = -1, true
		return 0, 0, false
	}
	it.i = end
	it.n++
	return i, end, true
}

// appendKey adds an object key to a path for an error. The key is clipped, so
// that a 100 KB key does not make a 100 KB error, and an empty key is written
// "" so that it still names something.
func appendKey(path []byte, key string) []byte {
	if len(path) > 0 {
		path = append(path, '.')
	}
	if key == "" {
		return append(path, `""`...)
	}
	return append(path, clip(key, maxNameInError)...)
}

// pathAt names the field that holds byte off of the JSON value in b, in the
// form the errors use: "summary", "links[2].href", "details.host". Inside a
// key it names the object holding the key; outside every field it returns "".
// It reads b once, up to off, so that its cost does not grow with nesting
// depth (a body nested 10,000 deep must not cost 10,000 passes). It is for
// error paths only: it allocates.
func pathAt(b []byte, off int) string {
	var stack []pathFrame
	for i := 0; i < len(b) && i <= off; {
		var top *pathFrame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch c := b[i]; c {
		case '"':
			end, escaped := stringEnd(b, i)
			if end < 0 {
				end = len(b)
			}
			isKey := top != nil && !top.array && !top.inValue
			if isKey && end-1 > i {
				top.key = member{key: b[i+1 : end-1], escaped: escaped, keyStart: i}
			}
			if off < end {
				if isKey {
					return renderPath(b, stack[:len(stack)-1])
				}
				return renderPath(b, stack)
			}
			i = end
			continue
		case '{', '[':
			if i == off {
				return renderPath(b, stack)
			}
			stack = append(stack, pathFrame{array: c == '['})
		case '}', ']':
			if top != nil {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if top != nil && top.array {
				top.index++
			} else if top != nil {
				top.inValue = false
			}
		case ':':
			if top != nil && !top.array {
				top.inValue = true
			}
		}
		i++
	}
	return renderPath(b, stack)
}

// pathFrame is one open container on pathAt's way to its byte.
type pathFrame struct {
	array   bool
	index   int    // array: the current element
	key     member // object: the current key
	inValue bool   // object: past the key's colon
}

// renderPath writes the path of the open containers: "links[2].href".
func renderPath(b []byte, stack []pathFrame) string {
	var path []byte
	for _, f := range stack {
		if f.array {
			path = append(path, '[')
			path = strconv.AppendInt(path, int64(f.index), 10)
			path = append(path, ']')
			continue
		}
		if !f.inValue {
			break
		}
		path = appendKey(path, f.key.keyString(b))
	}
	return string(path)
}
