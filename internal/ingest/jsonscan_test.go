package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

func TestValueEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want int // index just past the value starting at 0, or -1
	}{
		{"string", `"abc" tail`, 5},
		{"string with escaped quote", `"a\"b" tail`, 6},
		{"string ending in escaped backslash", `"a\\" tail`, 5},
		{"unterminated string", `"abc`, -1},
		{"number", `-12.5e3,`, 7},
		{"literal at end", `true`, 4},
		{"null before brace", `null}`, 4},
		{"object", `{"a":[1,{"b":"}"}]} x`, 19},
		{"array with brackets in strings", `["]","[",{}] x`, 12},
		{"unclosed object", `{"a":1`, -1},
		{"closing brace", `}`, -1},
		{"comma", `,`, -1},
		{"empty", ``, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := valueEnd([]byte(tc.in), 0); got != tc.want {
				t.Errorf("valueEnd(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestObjectIter(t *testing.T) {
	b := []byte(` { "a" : 1 , "b\"c":{"x":[1,2]}, "d":"e" } `)
	it := newObjectIter(b, 1)
	var keys, values []string
	for m, ok := it.next(); ok; m, ok = it.next() {
		keys = append(keys, m.keyString(b))
		values = append(values, string(b[m.valueStart:m.valueEnd]))
	}
	if it.failed {
		t.Fatal("iteration failed")
	}
	if got, want := strings.Join(keys, "|"), `a|b"c|d`; got != want {
		t.Errorf("keys = %s, want %s", got, want)
	}
	if got, want := strings.Join(values, "|"), `1|{"x":[1,2]}|"e"`; got != want {
		t.Errorf("values = %s, want %s", got, want)
	}
	for _, bad := range []string{`{"a" 1}`, `{"a":1 "b":2}`, `{a:1}`, `{"a":}`, `{"a":1,}`, `{"a":1`, `[1]`} {
		it := newObjectIter([]byte(bad), 0)
		for _, ok := it.next(); ok; _, ok = it.next() {
		}
		if !it.failed {
			t.Errorf("%s: iteration did not fail", bad)
		}
	}
}

func TestArrayIter(t *testing.T) {
	b := []byte(`[ 1 , "two" , {"three":[3]} , [] ]`)
	it := newArrayIter(b, 0)
	var elems []string
	for start, end, ok := it.next(); ok; start, end, ok = it.next() {
		elems = append(elems, string(b[start:end]))
	}
	if it.failed {
		t.Fatal("iteration failed")
	}
	if got, want := strings.Join(elems, "|"), `1|"two"|{"three":[3]}|[]`; got != want {
		t.Errorf("elements = %s, want %s", got, want)
	}
	for _, bad := range []string{`[1 2]`, `[1,]`, `[1`, `[,1]`, `{}`} {
		it := newArrayIter([]byte(bad), 0)
		for _, _, ok := it.next(); ok; _, _, ok = it.next() {
		}
		if !it.failed {
			t.Errorf("%s: iteration did not fail", bad)
		}
	}
}

func TestPathAt(t *testing.T) {
	b := `{"summary":"abc","links":[{"href":"h0"},{"href":"h1","text":"t1"}],"details":{"a":{"b\u002ec":[0,1,"x"]}}}`
	for _, tc := range []struct {
		find string // the byte sought is the first byte of this text
		want string
	}{
		{`abc`, "summary"},
		{`h1`, "links[1].href"},
		{`t1`, "links[1].text"},
		{`{"href":"h0"}`, "links[0]"},
		{`"x"`, "details.a.b.c[2]"},
		{`"summary"`, ""}, // a key names no field
		{`{"summary"`, ""},
	} {
		off := strings.Index(b, tc.find)
		if got := pathAt([]byte(b), off); got != tc.want {
			t.Errorf("pathAt(%q) = %q, want %q", tc.find, got, tc.want)
		}
	}
}

func TestClipAndTruncate(t *testing.T) {
	if got := clip("ééééé", 3); got != "ééé…" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("abc", 3); got != "abc" {
		t.Errorf("clip = %q", got)
	}
	if got := truncateRunes("ééééé", 3); got != "ééé" {
		t.Errorf("truncateRunes = %q", got)
	}
	if got := truncateRunes("abc", 5); got != "abc" {
		t.Errorf("truncateRunes = %q", got)
	}
}

func TestHasNULEscape(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":"\u0000"}`:       true,
		`{"a":"x\u0000y"}`:     true,
		`{"\u0000":1}`:         true,
		`{"a":"\\u0000"}`:      false, // an escaped backslash, then text
		`{"a":"\\\u0000"}`:     true,
		`{"a":"\u00000"}`:      true,
		`{"a":"\u0001"}`:       false,
		`{"a":"u0000"}`:        false,
		`{"a":"\"\\u0000\""}`:  false,
		`{"a":"\\\\\\u0000x"}`: false,
	} {
		if got := hasNULEscape([]byte(in)); got != want {
			t.Errorf("hasNULEscape(%s) = %v, want %v", in, got, want)
		}
	}
}

// A body nested as deep as encoding/json allows, with its bad byte at the
// bottom, must cost one pass, not one pass per level.
func TestDeepNestingStaysCheap(t *testing.T) {
	const depth = 9000
	body := `{"action":"trigger","summary":"s","severity":"info","details":{"a":` +
		strings.Repeat("[", depth) + `"` + strings.Repeat("x", 400<<10) + "\xff" + `"` + strings.Repeat("]", depth) + `}}`
	start := time.Now()
	_, err := DecodeNative([]byte(body))
	elapsed := time.Since(start)
	checkError(t, err, klaxon.EINVALID, "details.a"+strings.Repeat("[0]", depth), "is not valid UTF-8")
	if elapsed > time.Second {
		t.Errorf("decoding took %v", elapsed)
	}
	_, _, problems := DecodePagerDuty([]byte(strings.Replace(body, `"details"`, `"custom_details"`, 1)))
	if len(problems) == 0 {
		t.Error("no problems")
	}
}
