package ingest

import "strconv"

// Shapes: which JSON type each wire format expects where. encoding/json
// reports only the first wrong-typed field, without array indexes, and cannot
// name an unknown field's path; checking the raw body against its shape can,
// in one pass that allocates nothing until it finds a problem.

// kind is the JSON type a shape expects.
type kind uint8

const (
	kindAny        kind = iota // any JSON value; not looked into
	kindString                 // a string
	kindObject                 // an object whose fields the shape lists
	kindOpenObject             // any object; not looked into (free-form details)
	kindArray                  // an array whose elements all have the shape elem
)

// want names what the kind expects, for messages: "must be a string".
func (k kind) want() string {
	switch k {
	case kindString:
		return "a string"
	case kindObject, kindOpenObject:
		return "an object"
	case kindArray:
		return "an array"
	}
	return "a JSON value"
}

// shape describes the JSON a wire format expects. The tables built from it
// are never changed after package initialisation.
type shape struct {
	kind   kind
	fields []field // kindObject: the known fields; at most 64
	elem   *shape  // kindArray: the shape of every element
}

type field struct {
	name  string
	shape *shape
}

// lookup returns the index of the field named by m's key, or -1.
func (s *shape) lookup(b []byte, m member) int {
	if m.escaped {
		key := m.keyString(b)
		for i, f := range s.fields {
			if f.name == key {
				return i
			}
		}
		return -1
	}
	for i, f := range s.fields {
		if f.name == string(m.key) {
			return i
		}
	}
	return -1
}

// The shapes shared by the wire formats.
var (
	textShape       = &shape{kind: kindString}
	anyShape        = &shape{kind: kindAny}
	openObjectShape = &shape{kind: kindOpenObject}
	linkShape       = &shape{kind: kindObject, fields: []field{
		{"href", textShape}, {"text", textShape},
	}}
	imageShape = &shape{kind: kindObject, fields: []field{
		{"src", textShape}, {"href", textShape}, {"alt", textShape},
	}}
	linksShape  = &shape{kind: kindArray, elem: linkShape}
	imagesShape = &shape{kind: kindArray, elem: imageShape}
)

// problemKind says what checkShape found wrong.
type problemKind uint8

const (
	unknownField problemKind = iota + 1
	duplicateField
	wrongKind
)

// shapeProblem is one thing checkShape found wrong, at path ("links[2].href").
type shapeProblem struct {
	path string
	what problemKind
	want kind   // wrongKind: what the shape expects
	got  string // wrongKind: the JSON type found ("number")
}

// maxShapeDepth bounds the path a check keeps. Shapes are at most three
// levels deep (links[2].href); values deeper than this are not looked into.
const maxShapeDepth = 8

// segment is one step of a path: an object member or an array index.
type segment struct {
	m     member
	index int // array index, or -1 for an object member
}

type shapeCheck struct {
	b      []byte
	strict bool // unknown and repeated fields are problems
	limit  int  // stop after this many problems
	path   [maxShapeDepth]segment
	depth  int
	found  []shapeProblem
}

// checkShape checks the JSON value in b (already known to be valid JSON)
// against s and returns up to limit problems, in document order. JSON null
// fits every shape: it means "not given", as it does for encoding/json. When
// strict is false, fields the shape does not list are ignored.
func checkShape(b []byte, s *shape, strict bool, limit int) []shapeProblem {
	c := shapeCheck{b: b, strict: strict, limit: limit}
	c.value(skipSpace(b, 0), s)
	return c.found
}

// value checks the value at b[i]; it returns false once the limit is reached.
func (c *shapeCheck) value(i int, s *shape) bool {
	if i >= len(c.b) || s.kind == kindAny || c.b[i] == 'n' {
		return true
	}
	v := c.b[i]
	switch s.kind {
	case kindString:
		if v != '"' {
			return c.report(wrongKind, s.kind, v)
		}
	case kindOpenObject:
		if v != '{' {
			return c.report(wrongKind, s.kind, v)
		}
	case kindArray:
		if v != '[' {
			return c.report(wrongKind, s.kind, v)
		}
		if c.depth == maxShapeDepth {
			return true
		}
		it := newArrayIter(c.b, i)
		for start, _, ok := it.next(); ok; start, _, ok = it.next() {
			c.path[c.depth] = segment{index: it.n - 1}
			c.depth++
			more := c.value(start, s.elem)
			c.depth--
			if !more {
				return false
			}
		}
	case kindObject:
		if v != '{' {
			return c.report(wrongKind, s.kind, v)
		}
		if c.depth == maxShapeDepth {
			return true
		}
		var seen uint64
		it := newObjectIter(c.b, i)
		for m, ok := it.next(); ok; m, ok = it.next() {
			f := s.lookup(c.b, m)
			c.path[c.depth] = segment{m: m, index: -1}
			c.depth++
			more := true
			switch {
			case f < 0:
				if c.strict {
					more = c.report(unknownField, 0, 0)
				}
			case seen&(1<<f) != 0:
				if c.strict {
					more = c.report(duplicateField, 0, 0)
				}
			default:
				seen |= 1 << f
				more = c.value(m.valueStart, s.fields[f].shape)
			}
			c.depth--
			if !more {
				return false
			}
		}
	}
	return true
}

// report records a problem at the current path and says whether to go on.
func (c *shapeCheck) report(what problemKind, want kind, got byte) bool {
	p := shapeProblem{path: c.pathString(), what: what}
	if what == wrongKind {
		p.want, p.got = want, jsonKind(got)
	}
	c.found = append(c.found, p)
	return len(c.found) < c.limit
}

// pathString renders the current path: "links[2].href".
func (c *shapeCheck) pathString() string {
	var p []byte
	for _, s := range c.path[:c.depth] {
		if s.index >= 0 {
			p = append(p, '[')
			p = strconv.AppendInt(p, int64(s.index), 10)
			p = append(p, ']')
			continue
		}
		p = appendKey(p, s.m.keyString(c.b))
	}
	return string(p)
}
